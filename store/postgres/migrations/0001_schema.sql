-- The whole bcconnector schema on PostgreSQL, the same tables as store/sqlite's
-- migrations 0001-0004 with PostgreSQL's types: times are timestamptz (microseconds, UTC),
-- lists text[], sealed values and hashes bytea. Text that is compared or ordered uses the
-- "C" collation, so that the database orders ids and names byte by byte, as Go and SQLite do.

CREATE TABLE connections (
    id             text COLLATE "C" PRIMARY KEY,
    name           text COLLATE "C" NOT NULL UNIQUE,
    tenant_id      text NOT NULL,
    client_id      text NOT NULL,
    environment    text NOT NULL,
    company_id     text NOT NULL DEFAULT '',
    company_name   text NOT NULL DEFAULT '',
    authority_host text NOT NULL DEFAULT '',
    bc_base_url    text NOT NULL DEFAULT '',
    ca_file        text NOT NULL DEFAULT '',
    entities       text[],           -- NULL = none
    write_entities text[],           -- NULL = none
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL
);

-- sealed = secret.Keyring.Seal(value, aad = purpose || connection_id || id); NULL once retired.
CREATE TABLE client_secrets (
    id            text COLLATE "C" PRIMARY KEY,
    seq           bigint GENERATED ALWAYS AS IDENTITY,
    connection_id text COLLATE "C" NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    state         text NOT NULL CHECK (state IN ('pending', 'active', 'retired')),
    key_id        text NOT NULL DEFAULT '',
    sealed        bytea,
    end_date      timestamptz,
    created_at    timestamptz NOT NULL,
    verified_at   timestamptz,
    retired_at    timestamptz,
    CHECK ((state = 'retired') = (sealed IS NULL))
);

CREATE INDEX client_secrets_connection ON client_secrets (connection_id, created_at);
CREATE UNIQUE INDEX client_secrets_one_active ON client_secrets (connection_id) WHERE state = 'active';
CREATE UNIQUE INDEX client_secrets_one_pending ON client_secrets (connection_id) WHERE state = 'pending';

-- scopes numbers the replicated sets; rows and change log segments carry the number.
-- ApplyBatch locks the scope rows it writes (FOR UPDATE), so writers of one set take turns.
CREATE TABLE scopes (
    scope         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    connection_id text COLLATE "C" NOT NULL,
    company_id    text COLLATE "C" NOT NULL,
    entity_set    text COLLATE "C" NOT NULL,
    UNIQUE (connection_id, company_id, entity_set)
);

-- replicas lists the entity sets EnsureReplica created a table and a view for, with the
-- view's definition as created (to tell when the fields changed).
CREATE TABLE replicas (
    entity_set text COLLATE "C" PRIMARY KEY,
    table_name text NOT NULL UNIQUE, -- replica_<set>_rows
    view_name  text NOT NULL UNIQUE, -- replica_<set>
    view_sql   text NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

-- The change log in segments, as in SQLite: the changes of one scope made by one
-- ApplyBatch, numbered first_seq..last_seq, as a JSON array of [op, id, etag]. The numbers
-- come from change_seq, advanced by the last statement of the batch's transaction
-- (UPDATE ... RETURNING), so the row lock on the counter orders the commits: a batch that
-- takes numbers commits before the next one can take any, and a follower never sees a
-- later number before an earlier one.
CREATE TABLE change_batches (
    first_seq bigint PRIMARY KEY,
    last_seq  bigint NOT NULL,
    scope     bigint NOT NULL REFERENCES scopes (scope),
    at        timestamptz NOT NULL,
    changes   text NOT NULL,
    CHECK (last_seq >= first_seq)
);

CREATE TABLE change_seq (
    one      integer PRIMARY KEY CHECK (one = 1),
    last_seq bigint NOT NULL
);

INSERT INTO change_seq (one, last_seq) VALUES (1, 0);

-- change_log is the change log one entry per row, for SQL.
CREATE VIEW change_log AS
SELECT b.first_seq + e.n - 1 AS seq,
       s.connection_id,
       s.company_id,
       s.entity_set,
       e.value ->> 1 AS id,
       e.value ->> 0 AS op,
       b.at,
       e.value ->> 2 AS etag
FROM change_batches AS b
JOIN scopes AS s ON s.scope = b.scope
CROSS JOIN LATERAL json_array_elements(b.changes::json) WITH ORDINALITY AS e(value, n);

-- sync_state is store.SyncState without its checkpoints.
CREATE TABLE sync_state (
    connection_id        text COLLATE "C" NOT NULL,
    company_id           text COLLATE "C" NOT NULL,
    entity_set           text COLLATE "C" NOT NULL,
    full_sync_done       boolean NOT NULL DEFAULT false,
    full_sync_started_at timestamptz,
    watermark            timestamptz,
    last_run_at          timestamptz,
    last_success_at      timestamptz,
    last_error           text NOT NULL DEFAULT '',
    last_reconcile_at    timestamptz,
    throttled            bigint NOT NULL DEFAULT 0,
    requests             bigint NOT NULL DEFAULT 0,
    paused               boolean NOT NULL DEFAULT false,
    updated_at           timestamptz NOT NULL,
    PRIMARY KEY (connection_id, company_id, entity_set)
);

-- sync_checkpoints are the named resume points of unfinished runs (value: JSON text as given).
CREATE TABLE sync_checkpoints (
    connection_id text COLLATE "C" NOT NULL,
    company_id    text COLLATE "C" NOT NULL,
    entity_set    text COLLATE "C" NOT NULL,
    name          text COLLATE "C" NOT NULL,
    value         text NOT NULL,
    updated_at    timestamptz NOT NULL,
    PRIMARY KEY (connection_id, company_id, entity_set, name)
);

-- Our BC webhook subscriptions; client_state_hash is the SHA-256 of the clientState.
-- connection_id has no foreign key on purpose (see store/sqlite 0003).
CREATE TABLE webhook_subscriptions (
    id                   text COLLATE "C" PRIMARY KEY,
    connection_id        text COLLATE "C" NOT NULL,
    company_id           text NOT NULL,
    entity_set           text NOT NULL,
    resource             text NOT NULL,
    notification_url     text NOT NULL,
    client_state_hash    bytea NOT NULL CHECK (length(client_state_hash) = 32),
    expires_at           timestamptz,
    etag                 text NOT NULL,
    created_at           timestamptz,
    renewed_at           timestamptz,
    last_notification_at timestamptz,
    state                text NOT NULL CHECK (state IN ('active', 'removing')),
    last_error           text NOT NULL
);

CREATE INDEX webhook_subscriptions_connection ON webhook_subscriptions (connection_id, id);

-- API tokens, admins and sessions (bearer values only as SHA-256 hex), idempotent writes
-- and the last doctor report per connection.
CREATE TABLE api_tokens (
    id           text COLLATE "C" PRIMARY KEY,
    name         text COLLATE "C" NOT NULL,
    hash         text NOT NULL UNIQUE,
    connections  text[],            -- NULL = all
    created_at   timestamptz NOT NULL,
    last_used_at timestamptz,
    revoked_at   timestamptz
);

CREATE UNIQUE INDEX api_tokens_live_name ON api_tokens (name) WHERE revoked_at IS NULL;

CREATE TABLE admin_users (
    name          text COLLATE "C" PRIMARY KEY,
    password_hash text NOT NULL,
    created_at    timestamptz NOT NULL
);

CREATE TABLE admin_sessions (
    hash       text PRIMARY KEY,
    user_name  text COLLATE "C" NOT NULL REFERENCES admin_users (name) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);

CREATE TABLE idempotency_keys (
    connection_id text COLLATE "C" NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    key           text NOT NULL,
    request_hash  text NOT NULL,
    status        integer NOT NULL DEFAULT 0,   -- 0 while in progress
    body          bytea,
    created_at    timestamptz NOT NULL,
    PRIMARY KEY (connection_id, key)
);

CREATE TABLE doctor_reports (
    connection_id text COLLATE "C" PRIMARY KEY REFERENCES connections (id) ON DELETE CASCADE,
    report        text NOT NULL,
    created_at    timestamptz NOT NULL
);
