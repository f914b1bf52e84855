-- Express setup (issue 13): Bizzjoiner's own multi-tenant app with its credential (one row;
-- sealed = secret.Keyring.Seal(value, aad = 'bcconnector/operator-app'), a client secret or
-- a certificate's PKCS #8 private key), and the admin-consent record whose presence makes a
-- connection express.
CREATE TABLE operator_app (
    id          integer PRIMARY KEY CHECK (id = 1),
    client_id   text NOT NULL,
    tenant_id   text NOT NULL DEFAULT '',
    redirect_uri text NOT NULL DEFAULT '',
    kind        text NOT NULL CHECK (kind IN ('secret', 'certificate')),
    certificate bytea CHECK ((kind = 'certificate') = (certificate IS NOT NULL)),
    key_id      text NOT NULL,
    sealed      bytea NOT NULL,
    end_date    timestamptz,
    updated_at  timestamptz NOT NULL
);

CREATE TABLE express_consents (
    connection_id     text PRIMARY KEY REFERENCES connections (id) ON DELETE CASCADE,
    state             text NOT NULL CHECK (state IN ('pending', 'granted', 'refused')),
    nonce             text NOT NULL,
    error             text NOT NULL DEFAULT '',
    error_description text NOT NULL DEFAULT '',
    tenant            text NOT NULL DEFAULT '',
    updated_at        timestamptz NOT NULL
);
