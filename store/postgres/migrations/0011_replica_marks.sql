-- The marks of the replica's changed and deleted ids (store.ReadMark): for each id of a
-- scope's entity set that a batch changed or deleted (a document also when its lines
-- changed), the change log number the batch committed under, written after the batch
-- takes its numbers. A batch read from BC before a later write leaves out the ids marked
-- after its read mark, so it cannot put back an older version or a deleted record. Marks
-- older than store.MarkRetention are pruned.
CREATE TABLE replica_marks (
    scope bigint NOT NULL,
    id    text COLLATE "C" NOT NULL,
    seq   bigint NOT NULL,
    at    timestamptz NOT NULL,
    PRIMARY KEY (scope, id)
);

CREATE INDEX replica_marks_seq ON replica_marks (scope, seq);
