-- Our Business Central webhook subscriptions (store.WebhookSubscription), keyed by BC's
-- subscriptionId. The clientState is a secret and is never stored: client_state_hash is
-- its SHA-256 (32 bytes). Times are TEXT in UTC (see 0001); NULL means zero.
--
-- connection_id has no foreign key on purpose: a subscription outlives its connection row
-- until the webhook manager has deleted it in BC (or found it orphaned there).

CREATE TABLE webhook_subscriptions (
    id                   TEXT PRIMARY KEY,
    connection_id        TEXT NOT NULL,
    company_id           TEXT NOT NULL,
    entity_set           TEXT NOT NULL,
    resource             TEXT NOT NULL,
    notification_url     TEXT NOT NULL,
    client_state_hash    BLOB NOT NULL CHECK (length(client_state_hash) = 32),
    expires_at           TEXT,
    etag                 TEXT NOT NULL,
    created_at           TEXT,
    renewed_at           TEXT,
    last_notification_at TEXT,
    state                TEXT NOT NULL CHECK (state IN ('active', 'removing')),
    last_error           TEXT NOT NULL
) STRICT;

CREATE INDEX webhook_subscriptions_connection ON webhook_subscriptions (connection_id, id);
