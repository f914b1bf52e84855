-- The change log's retention (ReplicaStore.PruneChanges) deletes its oldest segments; the
-- last change it deleted is kept here, so a reader whose cursor is older is told that
-- changes were pruned (store.ErrCursorExpired) instead of skipping them silently. Its own
-- row, not a column of change_seq: pruners lock it to take turns without holding up the
-- writers, who lock change_seq.
CREATE TABLE change_pruned (
    one     integer PRIMARY KEY CHECK (one = 1),
    through bigint NOT NULL
);

INSERT INTO change_pruned (one, through) VALUES (1, 0);
