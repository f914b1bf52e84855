-- A credential is a client secret or a certificate (issue 15). For a certificate, sealed
-- holds its private key (PKCS #8 DER) and certificate the public X.509 certificate (DER),
-- which is kept after retirement as history.
ALTER TABLE client_secrets ADD COLUMN kind TEXT NOT NULL DEFAULT 'secret' CHECK (kind IN ('secret', 'certificate'));
ALTER TABLE client_secrets ADD COLUMN certificate BLOB CHECK ((kind = 'certificate') = (certificate IS NOT NULL));
