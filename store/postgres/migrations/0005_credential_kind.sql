-- A credential is a client secret or a certificate (issue 15). For a certificate, sealed
-- holds its private key (PKCS #8 DER) and certificate the public X.509 certificate (DER),
-- which is kept after retirement as history.
ALTER TABLE client_secrets ADD COLUMN kind text NOT NULL DEFAULT 'secret' CHECK (kind IN ('secret', 'certificate'));
ALTER TABLE client_secrets ADD COLUMN certificate bytea;
ALTER TABLE client_secrets ADD CONSTRAINT client_secrets_certificate_kind CHECK ((kind = 'certificate') = (certificate IS NOT NULL));
