-- The last known state of each watched condition of a connection (store.HealthStore),
-- from which connection health events are made. Times are TEXT in UTC (see 0001).

CREATE TABLE outbound_health (
    connection_id TEXT NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    kind          TEXT NOT NULL,
    subject       TEXT NOT NULL,
    state         TEXT NOT NULL,
    version       INTEGER NOT NULL,
    since         TEXT NOT NULL,
    PRIMARY KEY (connection_id, kind, subject)
) STRICT;
