-- The audit log (store.AuditStore): who did what to a connection, a credential, an
-- outbound endpoint, an API token or an admin, written in the transaction of the change.
-- connection_id is kept after the connection is deleted (its entry names it).
CREATE TABLE audit_log (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at            TIMESTAMPTZ NOT NULL,
    actor_kind    TEXT NOT NULL,
    actor_name    TEXT NOT NULL DEFAULT '',
    action        TEXT NOT NULL,
    connection_id TEXT NOT NULL DEFAULT '',
    target        TEXT NOT NULL DEFAULT '',
    detail        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_connection ON audit_log (connection_id, id);
