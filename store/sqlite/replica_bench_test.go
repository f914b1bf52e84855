package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/store/internal/benchrows"
	"github.com/bizzjoiner/bcconnector/store/storetest"
)

// The replica benchmarks write G/L entries from package benchrows in batches of
// benchrows.Batch rows, generating each batch with the timer stopped. BCC_BENCH_ROWS sets
// the row count (default 100,000):
//
//	go test ./store/sqlite/ -run '^$' -bench 'ApplyBatch|PlainBulkInsert' -benchtime 1x
//	BCC_BENCH_ROWS=1000000 go test ./store/sqlite/ -run '^$' -bench 'ApplyBatch/full|PlainBulkInsert' -benchtime 1x -timeout 30m
const benchBatch = benchrows.Batch

func benchRows(b *testing.B) int { return benchrows.Rows(b, 100_000) }

const benchCompany = benchrows.Company

func benchDB(b *testing.B) *DB {
	b.Helper()
	db, err := Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"), secret.GenerateKeyring(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

// BenchmarkPlainBulkInsert is the yardstick: INSERT of (id, raw) into a plain table, one
// prepared statement, benchBatch rows per transaction.
func BenchmarkPlainBulkInsert(b *testing.B) {
	n := benchRows(b)
	src := benchrows.NewGL(n)
	ctx := context.Background()
	var rows []store.ReplicaRow
	heap0 := benchrows.LiveHeap()
	b.ResetTimer()
	c := benchrows.NewCPUTimer(b)
	for range b.N {
		c.Stop()
		db := benchDB(b)
		if _, err := db.write.ExecContext(ctx, `CREATE TABLE plain (id TEXT PRIMARY KEY, raw TEXT NOT NULL) STRICT`); err != nil {
			b.Fatal(err)
		}
		c.Start()
		for lo := 0; lo < n; lo += benchBatch {
			c.Stop()
			rows = src.Batch(rows, lo)
			c.Start()
			tx, err := db.write.BeginTx(ctx, nil)
			if err != nil {
				b.Fatal(err)
			}
			stmt, err := tx.PrepareContext(ctx, `INSERT INTO plain (id, raw) VALUES (?, ?)`)
			if err != nil {
				b.Fatal(err)
			}
			for _, r := range rows {
				if _, err := stmt.ExecContext(ctx, r.ID, string(r.Raw)); err != nil {
					b.Fatal(err)
				}
			}
			stmt.Close()
			if err := tx.Commit(); err != nil {
				b.Fatal(err)
			}
		}
		c.Stop()
		db.Close()
		c.Start()
	}
	benchrows.Report(b, c, n, heap0)
}

// BenchmarkApplyBatch measures ApplyBatch on G/L entries:
//
//   - full: the first full sync, pages in id order into an empty replica (the fast path
//     skips the ETag look-up);
//   - full-lookup: the same with the look-up forced (pages not in id order);
//   - resync-unchanged: the same rows again, all unchanged (look-up only);
//   - resync-changed: the same rows with new ETags (look-up and update).
func BenchmarkApplyBatch(b *testing.B) {
	n := benchRows(b)
	ctx := context.Background()
	key := store.ReplicaKey{ConnectionID: storetest.Conn, CompanyID: benchCompany, EntitySet: "generalLedgerEntries"}
	ent := storetest.Entity(b, "generalLedgerEntries")

	setup := func(b *testing.B, fill bool) *DB {
		db := benchDB(b)
		if err := db.EnsureReplica(ctx, ent); err != nil {
			b.Fatal(err)
		}
		if fill {
			src := benchrows.NewGL(n)
			var rows []store.ReplicaRow
			for lo := 0; lo < n; lo += benchBatch {
				rows = src.Batch(rows, lo)
				if _, err := db.ApplyBatch(ctx, store.ReplicaBatch{Key: key, Upserts: rows}); err != nil {
					b.Fatal(err)
				}
			}
		}
		return db
	}
	run := func(b *testing.B, fill bool, gen int, reverse bool, want func(store.ApplyResult) bool) {
		src := benchrows.NewGL(n)
		src.Gen = gen
		var rows []store.ReplicaRow
		heap0 := benchrows.LiveHeap()
		b.ResetTimer()
		c := benchrows.NewCPUTimer(b)
		for range b.N {
			c.Stop()
			db := setup(b, fill)
			c.Start()
			for k := 0; k < n; k += benchBatch {
				lo := k
				if reverse {
					lo = (n-1)/benchBatch*benchBatch - k
				}
				c.Stop()
				rows = src.Batch(rows, lo)
				c.Start()
				res, err := db.ApplyBatch(ctx, store.ReplicaBatch{Key: key, Upserts: rows,
					CheckpointName: "p", Checkpoint: json.RawMessage(fmt.Sprintf(`{"lo":%d}`, lo))})
				if err != nil {
					b.Fatal(err)
				}
				if !want(res) {
					b.Fatalf("batch at %d: unexpected %+v", lo, res)
				}
			}
			c.Stop()
			db.Close()
			c.Start()
		}
		benchrows.Report(b, c, n, heap0)
	}
	b.Run("full", func(b *testing.B) {
		run(b, false, 0, false, func(r store.ApplyResult) bool { return r.Inserted > 0 && r.Updated == 0 })
	})
	b.Run("full-lookup", func(b *testing.B) {
		run(b, false, 0, true, func(r store.ApplyResult) bool { return r.Inserted > 0 && r.Updated == 0 })
	})
	b.Run("resync-unchanged", func(b *testing.B) {
		run(b, true, 0, false, func(r store.ApplyResult) bool { return r.Unchanged > 0 && r.Inserted+r.Updated == 0 })
	})
	b.Run("resync-changed", func(b *testing.B) {
		run(b, true, 1, false, func(r store.ApplyResult) bool { return r.Updated > 0 && r.Inserted+r.Unchanged == 0 })
	})
}

// BenchmarkBrowsePage reads one page of 50 G/L entries the way the data browser does
// (ReplicaQueryOrdered by entryNumber, the set's natural key, from its index) next to the
// API's id order, from the first page and from the middle (benchrows.BrowsePages):
//
//	go test ./store/sqlite/ -run '^$' -bench BrowsePage
func BenchmarkBrowsePage(b *testing.B) {
	key := store.ReplicaKey{ConnectionID: storetest.Conn, CompanyID: benchCompany, EntitySet: "generalLedgerEntries"}
	db := benchDB(b)
	if err := db.EnsureReplica(context.Background(), storetest.Entity(b, "generalLedgerEntries")); err != nil {
		b.Fatal(err)
	}
	benchrows.BrowsePages(b, db, key, benchRows(b), nil)
}
