-- Express setup (issue 13): Bizzjoiner's own multi-tenant app with its credential (one row;
-- sealed = secret.Keyring.Seal(value, aad = "bcconnector/operator-app"), a client secret or
-- a certificate's PKCS #8 private key), and the admin-consent record whose presence makes a
-- connection express.
CREATE TABLE operator_app (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    client_id   TEXT NOT NULL,
    tenant_id   TEXT NOT NULL DEFAULT '',
    redirect_uri TEXT NOT NULL DEFAULT '',
    kind        TEXT NOT NULL CHECK (kind IN ('secret', 'certificate')),
    certificate BLOB CHECK ((kind = 'certificate') = (certificate IS NOT NULL)),
    key_id      TEXT NOT NULL,
    sealed      BLOB NOT NULL,
    end_date    TEXT,
    updated_at  TEXT NOT NULL
) STRICT;

CREATE TABLE express_consents (
    connection_id     TEXT PRIMARY KEY REFERENCES connections (id) ON DELETE CASCADE,
    state             TEXT NOT NULL CHECK (state IN ('pending', 'granted', 'refused')),
    nonce             TEXT NOT NULL,
    error             TEXT NOT NULL DEFAULT '',
    error_description TEXT NOT NULL DEFAULT '',
    tenant            TEXT NOT NULL DEFAULT '',
    updated_at        TEXT NOT NULL
) STRICT;
