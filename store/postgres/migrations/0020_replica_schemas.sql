-- The schema of each replicated set as BC's $metadata last described it (store.SetSchema as
-- JSON), with a version that grows by one with every change (issue 12: schema discovery).
CREATE TABLE replica_schemas (
	connection_id text NOT NULL,
	company_id    text NOT NULL,
	entity_set    text NOT NULL,
	version       integer NOT NULL,
	schema        text NOT NULL,
	added         text NOT NULL DEFAULT '[]',
	removed       text NOT NULL DEFAULT '[]',
	changed_at    timestamptz NOT NULL,
	PRIMARY KEY (connection_id, company_id, entity_set)
);
