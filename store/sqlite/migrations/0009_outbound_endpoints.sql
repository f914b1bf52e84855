-- Outbound webhook endpoints of the platform (store.OutboundStore) and their signing
-- secrets, sealed like client secrets (AAD: endpoint ID + secret ID). A secret with
-- expires_at NULL is the current one; a rotated-out one signs until expires_at.
-- Times are TEXT in UTC (see 0001).

CREATE TABLE outbound_endpoints (
    id             TEXT PRIMARY KEY,
    url            TEXT NOT NULL,
    event_types    TEXT NOT NULL,              -- JSON array
    connection_id  TEXT NOT NULL DEFAULT '',   -- '' = every connection
    include_record INTEGER NOT NULL DEFAULT 0,
    description    TEXT NOT NULL DEFAULT '',
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
) STRICT;

CREATE TABLE outbound_secrets (
    id          TEXT PRIMARY KEY,
    endpoint_id TEXT NOT NULL REFERENCES outbound_endpoints (id) ON DELETE CASCADE,
    key_id      TEXT NOT NULL,
    sealed      BLOB NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT
) STRICT;

CREATE INDEX outbound_secrets_endpoint ON outbound_secrets (endpoint_id);
