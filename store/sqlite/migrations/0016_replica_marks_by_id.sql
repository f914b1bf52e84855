-- A batch looks up the marks of its own ids (the primary key) instead of every mark above
-- its read mark, so the seq index only cost every mark a second index entry.
DROP INDEX replica_marks_seq;
