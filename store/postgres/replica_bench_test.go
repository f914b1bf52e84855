package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/store/internal/benchrows"
	"github.com/bizzjoiner/bcconnector/store/postgres/pgtest"
	"github.com/bizzjoiner/bcconnector/store/storetest"
)

// BenchmarkFullSyncVsCopy writes the same G/L entries twice in one run, each into a
// fresh schema of the server at BCC_TEST_DATABASE_URL, batch by batch as a full sync
// pages (benchrows.Batch rows per transaction):
//
//   - copy: the yardstick, COPY of (id, raw) into a plain table, one COPY and one
//     transaction per batch;
//   - apply: ApplyBatch as the syncer's first full sync calls it (AssumeNew, pages in id
//     order, a checkpoint per page): the typed table, the scope lock, the change log.
//
// It reports both rates and apply/copy (issue 10's goal: at least 0.6). Rows are
// generated with the clock stopped. BCC_BENCH_ROWS sets the count (default 200,000):
//
//	BCC_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable \
//	  go test ./store/postgres/ -run '^$' -bench FullSyncVsCopy -benchtime 1x -timeout 30m
func BenchmarkFullSyncVsCopy(b *testing.B) {
	n := benchrows.Rows(b, 200_000)
	url := pgtest.URL(b)
	ctx := context.Background()
	key := store.ReplicaKey{ConnectionID: storetest.Conn, CompanyID: benchrows.Company, EntitySet: "generalLedgerEntries"}
	ent := storetest.Entity(b, "generalLedgerEntries")
	var copyTime, applyTime time.Duration
	var rows []store.ReplicaRow
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		plain, err := Open(ctx, url, secret.GenerateKeyring(), Options{Schema: pgtest.Schema(b, url)})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := plain.pool.Exec(ctx, `CREATE TABLE plain (id text COLLATE "C" PRIMARY KEY, raw text NOT NULL)`); err != nil {
			b.Fatal(err)
		}
		db, err := Open(ctx, url, secret.GenerateKeyring(), Options{Schema: pgtest.Schema(b, url)})
		if err != nil {
			b.Fatal(err)
		}
		if err := db.EnsureReplica(ctx, ent); err != nil {
			b.Fatal(err)
		}
		src := benchrows.NewGL(n)
		for lo := 0; lo < n; lo += benchrows.Batch {
			rows = src.Batch(rows, lo)
			b.StartTimer()
			start := time.Now()
			err := pgx.BeginFunc(ctx, plain.pool, func(tx pgx.Tx) error {
				i := 0
				_, err := tx.CopyFrom(ctx, pgx.Identifier{"plain"}, []string{"id", "raw"}, pgx.CopyFromFunc(func() ([]any, error) {
					if i == len(rows) {
						return nil, nil
					}
					i++
					return []any{rows[i-1].ID, string(rows[i-1].Raw)}, nil
				}))
				return err
			})
			copyTime += time.Since(start)
			if err != nil {
				b.Fatal(err)
			}
			start = time.Now()
			res, err := db.ApplyBatch(ctx, store.ReplicaBatch{Key: key, Upserts: rows, AssumeNew: true,
				CheckpointName: "p", Checkpoint: json.RawMessage(fmt.Sprintf(`{"lo":%d}`, lo))})
			applyTime += time.Since(start)
			b.StopTimer()
			if err != nil {
				b.Fatal(err)
			}
			if res.Inserted != len(rows) {
				b.Fatalf("batch at %d: %+v", lo, res)
			}
		}
		var got int64
		if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM change_log`).Scan(&got); err != nil || got != int64(n) {
			b.Fatalf("change log has %d entries (%v), want %d", got, err, n)
		}
		plain.Close()
		db.Close()
	}
	total := float64(n * b.N)
	b.ReportMetric(total/copyTime.Seconds(), "copy-rows/s")
	b.ReportMetric(total/applyTime.Seconds(), "apply-rows/s")
	b.ReportMetric(copyTime.Seconds()/applyTime.Seconds(), "apply/copy")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkBrowsePage reads one page of 50 G/L entries the way the data browser does
// (ReplicaQueryOrdered by entryNumber, the set's natural key, from its index) next to the
// API's id order, from the first page and from the middle (benchrows.BrowsePages);
// BCC_BENCH_ROWS rows (default 100,000):
//
//	BCC_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable \
//	  go test ./store/postgres/ -run '^$' -bench BrowsePage
func BenchmarkBrowsePage(b *testing.B) {
	ctx := context.Background()
	url := pgtest.URL(b)
	db, err := Open(ctx, url, secret.GenerateKeyring(), Options{Schema: pgtest.Schema(b, url)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if err := db.EnsureReplica(ctx, storetest.Entity(b, "generalLedgerEntries")); err != nil {
		b.Fatal(err)
	}
	key := store.ReplicaKey{ConnectionID: storetest.Conn, CompanyID: benchrows.Company, EntitySet: "generalLedgerEntries"}
	// Statistics as autovacuum would gather them after a first full sync.
	benchrows.BrowsePages(b, db, key, benchrows.Rows(b, 100_000), func() {
		if _, err := db.pool.Exec(ctx, `ANALYZE`); err != nil {
			b.Fatal(err)
		}
	})
}
