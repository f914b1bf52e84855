-- Deliveries of outbound webhooks (store.DeliveryStore): one row per event and endpoint
-- with the exact body sent, its attempt log, and the change-log cursor up to which record
-- events were turned into deliveries. pos orders deliveries (creation order); deliveries
-- of one endpoint with the same non-empty order_key are attempted one at a time in pos
-- order. Times are TEXT in UTC (see 0001).

ALTER TABLE outbound_endpoints ADD COLUMN after_seq INTEGER NOT NULL DEFAULT 0;

CREATE TABLE outbound_cursor (
    name TEXT PRIMARY KEY,
    seq  INTEGER NOT NULL
) STRICT;

-- Record events start at the head of the change log as it is now.
INSERT INTO outbound_cursor (name, seq) SELECT 'changes', last_seq FROM change_seq;

CREATE TABLE outbound_deliveries (
    pos             INTEGER PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    endpoint_id     TEXT NOT NULL REFERENCES outbound_endpoints (id) ON DELETE CASCADE,
    event_type      TEXT NOT NULL,
    connection_id   TEXT NOT NULL DEFAULT '',
    order_key       TEXT NOT NULL DEFAULT '',
    seq             INTEGER NOT NULL DEFAULT 0,
    replay_of       TEXT NOT NULL DEFAULT '',
    payload         BLOB NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('queued', 'pending', 'succeeded', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    last_attempt_at TEXT,
    last_status     INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL
) STRICT;

CREATE INDEX outbound_deliveries_open ON outbound_deliveries (endpoint_id, order_key, pos)
    WHERE state IN ('queued', 'pending');
CREATE INDEX outbound_deliveries_due ON outbound_deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX outbound_deliveries_endpoint ON outbound_deliveries (endpoint_id, pos);

CREATE TABLE outbound_attempts (
    delivery_pos INTEGER NOT NULL REFERENCES outbound_deliveries (pos) ON DELETE CASCADE,
    n            INTEGER NOT NULL,
    at           TEXT NOT NULL,
    status       INTEGER NOT NULL,
    duration_us  INTEGER NOT NULL,
    error        TEXT NOT NULL,
    response     TEXT NOT NULL,
    PRIMARY KEY (delivery_pos, n)
) STRICT;
