-- An express connection's consent can be seen revoked (by the doctor or a token request):
-- state 'revoked', updated_at when it was first seen, error/error_description what was
-- seen. SQLite cannot change a CHECK in place, so the table is rebuilt.
CREATE TABLE express_consents_new (
    connection_id     TEXT PRIMARY KEY REFERENCES connections (id) ON DELETE CASCADE,
    state             TEXT NOT NULL CHECK (state IN ('pending', 'granted', 'refused', 'revoked')),
    nonce             TEXT NOT NULL,
    error             TEXT NOT NULL DEFAULT '',
    error_description TEXT NOT NULL DEFAULT '',
    tenant            TEXT NOT NULL DEFAULT '',
    updated_at        TEXT NOT NULL
) STRICT;
INSERT INTO express_consents_new (connection_id, state, nonce, error, error_description, tenant, updated_at)
    SELECT connection_id, state, nonce, error, error_description, tenant, updated_at FROM express_consents;
DROP TABLE express_consents;
ALTER TABLE express_consents_new RENAME TO express_consents;
