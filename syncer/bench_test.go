package syncer_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/emulator/datagen"
	"github.com/bizzjoiner/bcconnector/emulator/throttle"
	"github.com/bizzjoiner/bcconnector/syncer"
)

func peakRSSMB() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Maxrss) / 1024
}

// benchFullSync syncs n G/L entries from the emulator (latency off) into SQLite, then
// bulk-inserts the same rows into a plain table of the same file, and reports both rates,
// their ratio and the process's peak RSS (issue 4, target 1). Run each size in its own
// process: peak RSS only grows.
func benchFullSync(b *testing.B, n int) {
	for i := 0; i < b.N; i++ {
		w := newWorld(b, emulator.Config{}, fmt.Sprintf("small,generalLedgerEntries=%d", n), syncer.Options{PageSize: 5000})
		ctx := context.Background()
		start := time.Now()
		res, err := w.sync.Full(ctx, w.client, w.target("generalLedgerEntries"), false)
		if err != nil {
			b.Fatal(err)
		}
		syncDur := time.Since(start)
		if res.Rows != int64(n) {
			b.Fatalf("synced %d rows, want %d", res.Rows, n)
		}
		rss := peakRSSMB()
		bulkDur := plainBulkInsert(b, w, n)
		b.ReportMetric(float64(n)/syncDur.Seconds(), "sync-rows/s")
		b.ReportMetric(float64(n)/bulkDur.Seconds(), "bulk-rows/s")
		b.ReportMetric(bulkDur.Seconds()/syncDur.Seconds(), "ratio")
		b.ReportMetric(rss, "peak-RSS-MB")
	}
}

// plainBulkInsert inserts the same rows (as the API sends them) into a plain table:
// prepared statement, 5,000 rows per transaction.
func plainBulkInsert(b *testing.B, w *world, n int) time.Duration {
	db, err := sql.Open("sqlite", "file:"+w.db.Path()+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE bulk (id TEXT PRIMARY KEY, raw TEXT NOT NULL) STRICT`); err != nil {
		b.Fatal(err)
	}
	// Render the rows first so only the insert is timed.
	rows := make(chan [2]string, 5000)
	go func() {
		for row, etag := range w.emu.Rows(w.ref, "generalLedgerEntries") {
			raw, _ := json.Marshal(row)
			_ = etag
			rows <- [2]string{row["id"].(string), string(raw)}
		}
		close(rows)
	}()
	start := time.Now()
	var tx *sql.Tx
	var stmt *sql.Stmt
	count := 0
	for r := range rows {
		if count%5000 == 0 {
			if tx != nil {
				if err := tx.Commit(); err != nil {
					b.Fatal(err)
				}
			}
			tx, _ = db.Begin()
			stmt, _ = tx.Prepare(`INSERT INTO bulk (id, raw) VALUES (?, ?)`)
		}
		if _, err := stmt.Exec(r[0], r[1]); err != nil {
			b.Fatal(err)
		}
		count++
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	if count != n {
		b.Fatalf("bulk inserted %d rows", count)
	}
	return time.Since(start)
}

// BenchmarkFullSync100k: target 1's reference size for memory.
func BenchmarkFullSync100k(b *testing.B) { benchFullSync(b, 100_000) }

// BenchmarkFullSync1M: target 1 (ratio ≥ 0.6, peak RSS ≤ 150 MB).
func BenchmarkFullSync1M(b *testing.B) { benchFullSync(b, 1_000_000) }

// BenchmarkScaledLatency200k: target 2. 200,000 G/L entries with the emulator's `scaled`
// latency and BC's limits; reports the partitioned full sync's time against the ceiling
// 5 busy slots allow, and against sequential @odata.nextLink paging at 5,000 rows per page.
func BenchmarkScaledLatency200k(b *testing.B) {
	const n = 200_000
	lat, _ := throttle.ParseLatencyProfile("scaled")
	for i := 0; i < b.N; i++ {
		run := func(opt syncer.Options) (time.Duration, *world) {
			w := newWorld(b, emulator.Config{Latency: lat}, fmt.Sprintf("small,generalLedgerEntries=%d", n), opt)
			start := time.Now()
			if _, err := w.sync.Full(context.Background(), w.client, w.target("generalLedgerEntries"), false); err != nil {
				b.Fatal(err)
			}
			return time.Since(start), w
		}
		par, w := run(syncer.Options{PageSize: parallelPageSize})
		st := w.client.Stats()
		seq, _ := run(syncer.Options{PageSize: 5000, Workers: 1, Partitions: 1})
		pages := (n + parallelPageSize - 1) / parallelPageSize
		slotTime := time.Duration(pages)*lat.Overhead + time.Duration(n)*lat.PerRow
		ceiling := slotTime / 5
		b.ReportMetric(par.Seconds(), "parallel-s")
		b.ReportMetric(ceiling.Seconds(), "ceiling-s")
		b.ReportMetric(par.Seconds()/ceiling.Seconds(), "x-ceiling")
		b.ReportMetric(seq.Seconds(), "sequential-s")
		b.ReportMetric(seq.Seconds()/par.Seconds(), "speedup")
		b.ReportMetric(float64(st.Throttled), "429s")
		b.ReportMetric(float64(st.ServerErrors+st.TransportErrors), "failed-requests")
	}
}

// BenchmarkIncremental1000: target 3. After 1,000 changes in BC, the time for incremental
// runs plus id reconciliation (for deletes) of the changed sets to bring the replica level.
func BenchmarkIncremental1000(b *testing.B) {
	sizes, _ := datagen.ParseSizes("medium")
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		w := newWorld(b, emulator.Config{Sizes: sizes}, "", syncer.Options{})
		ctx := context.Background()
		sets := []string{"customers", "vendors", "items", "contacts", "generalLedgerEntries"}
		for _, s := range sets {
			if _, err := w.sync.Full(ctx, w.client, w.target(s), false); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.emu.Mutate(1000, emulator.MutatorConfig{}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		for _, s := range sets {
			if _, err := w.sync.Incremental(ctx, w.client, w.target(s)); err != nil {
				b.Fatal(err)
			}
			// Deletes are only visible by listing ids (ledger sets are skipped).
			if _, err := w.sync.Reconcile(ctx, w.client, w.target(s)); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(time.Since(start).Seconds(), "incremental-s")
		b.StopTimer()
		w.assertEqual(sets...) // the replica is level again
		runtime.GC()
	}
}

// parallelPageSize is the page size of the partitioned sync in BenchmarkScaledLatency200k
// (the sequential baseline keeps the tap's 5,000).
const parallelPageSize = 5000

// BenchmarkIdleIncremental: issue 14's "incremental passes of 1,000 connections with
// nothing changed cost ≤ 1 request per set per pass and no writes". BCC_BENCH_CONNECTIONS
// (default 1,000) connections each replicate customers (fully synced first); then every
// connection's incremental pass runs BCC_BENCH_PASSES (default 3) times with nothing
// changed in BC. It reports BC's requests per set per pass (the emulator's own count)
// and the change log entries and replica rows written (0 expected), and fails above. The
// syncer runs as serve runs it: Sync with extension fields followed, so $metadata is read
// by each connection's first pass and then only when its cache expires (10 minutes,
// longer than the passes measured; see "The $metadata cache" in discovered.go).
func BenchmarkIdleIncremental(b *testing.B) {
	n := benchEnv(b, "BCC_BENCH_CONNECTIONS", 1000)
	passes := benchEnv(b, "BCC_BENCH_PASSES", 3)
	for range b.N {
		b.StopTimer()
		w := newWorld(b, emulator.Config{}, "small", syncer.Options{ExtensionFields: true, ReconcileEvery: -1, ReconcileInterval: -1})
		ctx := context.Background()
		targets := make([]syncer.Target, n)
		for i := range targets {
			targets[i] = syncer.Target{ConnectionID: fmt.Sprintf("conn%04d", i), CompanyID: w.ref.CompanyID, EntitySet: "customers"}
			if _, err := w.sync.Sync(ctx, w.client, targets[i]); err != nil {
				b.Fatal(err)
			}
		}
		mark0, err := w.db.ReadMark(ctx)
		if err != nil {
			b.Fatal(err)
		}
		req0 := w.emu.Stats().Requests
		b.StartTimer()
		start := time.Now()
		var rows int64
		for range passes {
			for _, t := range targets {
				res, err := w.sync.Sync(ctx, w.client, t)
				if err != nil {
					b.Fatal(err)
				}
				if res.Mode != syncer.ModeIncremental {
					b.Fatalf("%s: a %s pass, want incremental", t.ConnectionID, res.Mode)
				}
				rows += res.Inserted + res.Updated + res.Deleted
			}
		}
		elapsed := time.Since(start)
		b.StopTimer()
		mark1, err := w.db.ReadMark(ctx)
		if err != nil {
			b.Fatal(err)
		}
		perSet := float64(w.emu.Stats().Requests-req0) / float64(n*passes)
		writes := mark1.Seq - mark0.Seq
		b.ReportMetric(perSet, "requests/set/pass")
		b.ReportMetric(float64(writes), "change-log-entries")
		b.ReportMetric(float64(rows), "rows-written")
		b.ReportMetric(elapsed.Seconds()/float64(passes), "s/pass")
		if perSet > 1 || writes != 0 || rows != 0 {
			b.Errorf("idle passes: %.2f requests per set per pass, %d change log entries, %d rows written; want ≤ 1, 0, 0", perSet, writes, rows)
		}
	}
}

func benchEnv(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		b.Fatalf("%s=%q: want a positive number", name, v)
	}
	return n
}
