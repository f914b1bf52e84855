-- Named leases (store.LeaseStore): the one process among several that does some work
-- (serve's per-connection metrics gauges) until expires_at, renewed while it lives.
CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at TEXT NOT NULL
) STRICT;
