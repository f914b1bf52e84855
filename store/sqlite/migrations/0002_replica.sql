-- The replica: per entity set a table of rows and a view with typed columns (both created
-- by EnsureReplica and listed in replicas), the change log, the sync state and the
-- checkpoints of unfinished runs. See replica.go for why the layout is what it is.
-- Times are TEXT in UTC, fixed-width RFC 3339 with microseconds (sortable).

-- scopes numbers the replicated sets: (connection, company, entity set) -> scope. Rows and
-- change log entries carry the number instead of the three strings. Scopes are never
-- deleted or renumbered.
CREATE TABLE scopes (
    scope         INTEGER PRIMARY KEY,
    connection_id TEXT NOT NULL,
    company_id    TEXT NOT NULL,
    entity_set    TEXT NOT NULL,
    UNIQUE (connection_id, company_id, entity_set)
) STRICT;

-- replicas lists the entity sets EnsureReplica created a table and a view for. Names are
-- unique without regard to case because SQLite's table names are case-insensitive.
CREATE TABLE replicas (
    entity_set TEXT PRIMARY KEY,
    table_name TEXT NOT NULL UNIQUE COLLATE NOCASE, -- replica_<set>_rows
    view_name  TEXT NOT NULL UNIQUE COLLATE NOCASE, -- replica_<set>
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;

-- change_batches holds the change log in segments: the changes of one scope made by one
-- ApplyBatch, numbered first_seq..last_seq, as a JSON array of [op, id, etag] (at most
-- 1,000 per segment). Numbers are assigned from change_seq inside the write transaction,
-- so they have no gaps (a rolled-back batch takes its numbers with it) and never go back,
-- even if old segments are pruned.
CREATE TABLE change_batches (
    first_seq INTEGER PRIMARY KEY,
    last_seq  INTEGER NOT NULL,
    scope     INTEGER NOT NULL REFERENCES scopes (scope),
    at        TEXT NOT NULL,
    changes   TEXT NOT NULL,
    CHECK (last_seq >= first_seq)
) STRICT;

CREATE TABLE change_seq (
    one      INTEGER PRIMARY KEY CHECK (one = 1),
    last_seq INTEGER NOT NULL
) STRICT;

INSERT INTO change_seq (one, last_seq) VALUES (1, 0);

-- change_log is the change log one entry per row, for SQL.
CREATE VIEW change_log AS
SELECT b.first_seq + e.key AS seq,
       s.connection_id,
       s.company_id,
       s.entity_set,
       e.value ->> 1 AS id,
       e.value ->> 0 AS op,
       b.at,
       e.value ->> 2 AS etag
FROM change_batches AS b
JOIN scopes AS s ON s.scope = b.scope, json_each(b.changes) AS e;

-- sync_state is store.SyncState without its checkpoints.
CREATE TABLE sync_state (
    connection_id        TEXT NOT NULL,
    company_id           TEXT NOT NULL,
    entity_set           TEXT NOT NULL,
    full_sync_done       INTEGER NOT NULL DEFAULT 0,
    full_sync_started_at TEXT,
    watermark            TEXT,
    last_run_at          TEXT,
    last_success_at      TEXT,
    last_error           TEXT NOT NULL DEFAULT '',
    last_reconcile_at    TEXT,
    throttled            INTEGER NOT NULL DEFAULT 0,
    requests             INTEGER NOT NULL DEFAULT 0,
    paused               INTEGER NOT NULL DEFAULT 0,
    updated_at           TEXT NOT NULL,
    PRIMARY KEY (connection_id, company_id, entity_set)
) STRICT;

-- sync_checkpoints are the named resume points of unfinished runs (value: JSON).
CREATE TABLE sync_checkpoints (
    connection_id TEXT NOT NULL,
    company_id    TEXT NOT NULL,
    entity_set    TEXT NOT NULL,
    name          TEXT NOT NULL,
    value         TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    PRIMARY KEY (connection_id, company_id, entity_set, name)
) STRICT;
