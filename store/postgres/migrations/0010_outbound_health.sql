-- The last known state of each watched condition of a connection (store.HealthStore),
-- from which connection health events are made.

CREATE TABLE outbound_health (
    connection_id text NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    kind          text NOT NULL,
    subject       text NOT NULL,
    state         text NOT NULL,
    version       bigint NOT NULL,
    since         timestamptz NOT NULL,
    PRIMARY KEY (connection_id, kind, subject)
);
