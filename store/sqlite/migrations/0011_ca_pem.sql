-- connections.ca_pem is store.Connection.CAPEM: the extra CA certificates a connection
-- trusts, kept in the database so every process trusts the same CAs. ca_file (a path on
-- one machine) stays for the connections stored before; it is read only while ca_pem is
-- empty.
ALTER TABLE connections ADD COLUMN ca_pem TEXT NOT NULL DEFAULT '';
