-- The change log's retention (ReplicaStore.PruneChanges) deletes its oldest segments; the
-- last change it deleted is kept here, so a reader whose cursor is older is told that
-- changes were pruned (store.ErrCursorExpired) instead of skipping them silently.
CREATE TABLE change_pruned (
    one     INTEGER PRIMARY KEY CHECK (one = 1),
    through INTEGER NOT NULL
) STRICT;

INSERT INTO change_pruned (one, through) VALUES (1, 0);
