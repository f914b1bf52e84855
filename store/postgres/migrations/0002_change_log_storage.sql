-- The change log's segments hold up to 1,000 changes, about 100 kB of JSON each: keep them
-- out of line without compressing. pglz compression of every segment cost more CPU than
-- it saved (BenchmarkFullSyncVsCopy, 100,000 rows: ApplyBatch 67-81k rows/s before,
-- 84-97k after, on the shared 2-core machine).
ALTER TABLE change_batches ALTER COLUMN changes SET STORAGE EXTERNAL;
