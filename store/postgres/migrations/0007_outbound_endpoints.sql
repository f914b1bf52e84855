-- Outbound webhook endpoints of the platform (store.OutboundStore) and their signing
-- secrets, sealed like client secrets (AAD: endpoint ID + secret ID). A secret with
-- expires_at NULL is the current one; a rotated-out one signs until expires_at.

CREATE TABLE outbound_endpoints (
    id             text PRIMARY KEY,
    url            text NOT NULL,
    event_types    text[] NOT NULL,
    connection_id  text NOT NULL DEFAULT '',   -- '' = every connection
    include_record boolean NOT NULL DEFAULT false,
    description    text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL
);

CREATE TABLE outbound_secrets (
    id          text PRIMARY KEY,
    endpoint_id text NOT NULL REFERENCES outbound_endpoints (id) ON DELETE CASCADE,
    key_id      text NOT NULL,
    sealed      bytea NOT NULL,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz
);

CREATE INDEX outbound_secrets_endpoint ON outbound_secrets (endpoint_id);
