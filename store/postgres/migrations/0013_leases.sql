-- Named leases (store.LeaseStore): the one instance among several that does some work
-- (serve's per-connection metrics gauges) until expires_at, renewed while it lives.
CREATE TABLE leases (
    name       text PRIMARY KEY,
    holder     text NOT NULL,
    expires_at timestamptz NOT NULL
);
