-- Connections to customers' Business Central and their sealed client secrets.
-- Times are TEXT in UTC, fixed-width RFC 3339 with microseconds (sortable).

CREATE TABLE connections (
    id             TEXT PRIMARY KEY,
    name           TEXT NOT NULL UNIQUE,
    tenant_id      TEXT NOT NULL,
    client_id      TEXT NOT NULL,
    environment    TEXT NOT NULL,
    company_id     TEXT NOT NULL DEFAULT '',
    company_name   TEXT NOT NULL DEFAULT '',
    authority_host TEXT NOT NULL DEFAULT '',
    bc_base_url    TEXT NOT NULL DEFAULT '',
    ca_file        TEXT NOT NULL DEFAULT '',
    entities       TEXT,             -- JSON array of entity set names; NULL = none
    write_entities TEXT,             -- JSON array; NULL = none
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
) STRICT;

-- sealed = secret.Keyring.Seal(value, aad = purpose || connection_id || id); NULL once retired.
CREATE TABLE client_secrets (
    id            TEXT PRIMARY KEY,
    connection_id TEXT NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    state         TEXT NOT NULL CHECK (state IN ('pending', 'active', 'retired')),
    key_id        TEXT NOT NULL DEFAULT '',
    sealed        BLOB,
    end_date      TEXT,
    created_at    TEXT NOT NULL,
    verified_at   TEXT,
    retired_at    TEXT,
    CHECK ((state = 'retired') = (sealed IS NULL))
) STRICT;

CREATE INDEX client_secrets_connection ON client_secrets (connection_id, created_at);
CREATE UNIQUE INDEX client_secrets_one_active ON client_secrets (connection_id) WHERE state = 'active';
CREATE UNIQUE INDEX client_secrets_one_pending ON client_secrets (connection_id) WHERE state = 'pending';
