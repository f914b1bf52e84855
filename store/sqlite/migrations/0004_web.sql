-- What the web server keeps: API tokens, admin accounts and their sessions, idempotent
-- writes and the last doctor report per connection. Bearer values (tokens, session IDs)
-- are stored only as their SHA-256 hash. Times are TEXT in UTC (see 0001).

CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    hash         TEXT NOT NULL UNIQUE,
    connections  TEXT,              -- JSON array of connection IDs; NULL = all
    created_at   TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at   TEXT
) STRICT;

CREATE UNIQUE INDEX api_tokens_live_name ON api_tokens (name) WHERE revoked_at IS NULL;

CREATE TABLE admin_users (
    name          TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    created_at    TEXT NOT NULL
) STRICT;

CREATE TABLE admin_sessions (
    hash       TEXT PRIMARY KEY,
    user_name  TEXT NOT NULL REFERENCES admin_users (name) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
) STRICT;

CREATE TABLE idempotency_keys (
    connection_id TEXT NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    key           TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    status        INTEGER NOT NULL DEFAULT 0,   -- 0 while in progress
    body          BLOB,
    created_at    TEXT NOT NULL,
    PRIMARY KEY (connection_id, key)
) STRICT;

CREATE TABLE doctor_reports (
    connection_id TEXT PRIMARY KEY REFERENCES connections (id) ON DELETE CASCADE,
    report        TEXT NOT NULL,
    created_at    TEXT NOT NULL
) STRICT;
