-- Deliveries of outbound webhooks (store.DeliveryStore): one row per event and endpoint
-- with the exact body sent, its attempt log, and the change-log cursor up to which record
-- events were turned into deliveries. pos orders deliveries; it is assigned while the
-- cursor row is locked (every AddDeliveries and ReplayDelivery takes that lock), so pos
-- order is commit order. Deliveries of one endpoint with the same non-empty order_key
-- are attempted one at a time in pos order.

ALTER TABLE outbound_endpoints ADD COLUMN after_seq bigint NOT NULL DEFAULT 0;

CREATE TABLE outbound_cursor (
    name text PRIMARY KEY,
    seq  bigint NOT NULL
);

-- Record events start at the head of the change log as it is now.
INSERT INTO outbound_cursor (name, seq) SELECT 'changes', last_seq FROM change_seq;

CREATE TABLE outbound_deliveries (
    pos             bigserial PRIMARY KEY,
    id              text NOT NULL UNIQUE,
    endpoint_id     text NOT NULL REFERENCES outbound_endpoints (id) ON DELETE CASCADE,
    event_type      text NOT NULL,
    connection_id   text NOT NULL DEFAULT '',
    order_key       text NOT NULL DEFAULT '',
    seq             bigint NOT NULL DEFAULT 0,
    replay_of       text NOT NULL DEFAULT '',
    payload         bytea NOT NULL,
    state           text NOT NULL CHECK (state IN ('queued', 'pending', 'succeeded', 'dead')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz,
    last_attempt_at timestamptz,
    last_status     integer NOT NULL DEFAULT 0,
    last_error      text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL
);

CREATE INDEX outbound_deliveries_open ON outbound_deliveries (endpoint_id, order_key, pos)
    WHERE state IN ('queued', 'pending');
CREATE INDEX outbound_deliveries_due ON outbound_deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX outbound_deliveries_endpoint ON outbound_deliveries (endpoint_id, pos);

CREATE TABLE outbound_attempts (
    delivery_pos bigint NOT NULL REFERENCES outbound_deliveries (pos) ON DELETE CASCADE,
    n            integer NOT NULL,
    at           timestamptz NOT NULL,
    status       integer NOT NULL,
    duration_us  bigint NOT NULL,
    error        text NOT NULL,
    response     text NOT NULL,
    PRIMARY KEY (delivery_pos, n)
);
