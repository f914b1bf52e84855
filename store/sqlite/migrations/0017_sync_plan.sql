-- connections.sync_plan holds, as JSON (package sqlstore's EncodePlan), what a connection
-- syncs beyond its entity sets: its companies (store.Connection.Companies, AllCompanies).
-- Empty for a connection of one company, as every connection stored before.
ALTER TABLE connections ADD COLUMN sync_plan TEXT NOT NULL DEFAULT '';
