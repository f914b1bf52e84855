-- The schema of each replicated set as BC's $metadata last described it (store.SetSchema as
-- JSON), with a version that grows by one with every change (issue 12: schema discovery).
CREATE TABLE replica_schemas (
	connection_id TEXT NOT NULL,
	company_id    TEXT NOT NULL,
	entity_set    TEXT NOT NULL,
	version       INTEGER NOT NULL,
	schema        TEXT NOT NULL,
	added         TEXT NOT NULL DEFAULT '[]',
	removed       TEXT NOT NULL DEFAULT '[]',
	changed_at    TEXT NOT NULL,
	PRIMARY KEY (connection_id, company_id, entity_set)
) STRICT;
