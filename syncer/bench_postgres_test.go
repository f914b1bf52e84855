package syncer_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bizzjoiner/bcconnector/conn"
	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/emulator/emulatortest"
	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store/postgres"
	"github.com/bizzjoiner/bcconnector/store/postgres/pgtest"
	"github.com/bizzjoiner/bcconnector/syncer"
)

// BenchmarkFullSyncPostgres is issue 10's first benchmark: a full sync of G/L entries
// from the emulator (latency off) into PostgreSQL (BCC_TEST_DATABASE_URL, a schema of its
// own), then a plain COPY of the same rows, as the API sends them, into a plain table of
// the same server, one COPY per 5,000 rows; it reports both rates and their ratio (goal
// ≥ 0.6). BCC_BENCH_ROWS sets the count (default 1,000,000):
//
//	BCC_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable \
//	  go test -run x -bench FullSyncPostgres -benchtime 1x -timeout 30m ./syncer/
func BenchmarkFullSyncPostgres(b *testing.B) {
	n := 1_000_000
	if v := os.Getenv("BCC_BENCH_ROWS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			b.Fatalf("BCC_BENCH_ROWS=%q: want a positive row count", v)
		}
	}
	url := pgtest.URL(b)
	ctx := context.Background()
	for range b.N {
		sb := emulatortest.Start(b, emulator.Config{}, emulatortest.Sizes(fmt.Sprintf("small,generalLedgerEntries=%d", n)))
		db, err := postgres.Open(ctx, url, secret.GenerateKeyring(), postgres.Options{Schema: pgtest.Schema(b, url)})
		if err != nil {
			b.Fatal(err)
		}
		s, err := syncer.New(syncer.Options{Store: db, PageSize: 5000})
		if err != nil {
			b.Fatal(err)
		}
		w := &world{t: b, sb: sb, emu: sb.Emulator, ref: sb.Company(), sync: s, connID: "conn1"}
		w.client = w.open(conn.Options{Retry: fastRetry}).BC
		start := time.Now()
		res, err := s.Full(ctx, w.client, w.target("generalLedgerEntries"), false)
		if err != nil {
			b.Fatal(err)
		}
		syncDur := time.Since(start)
		if res.Rows != int64(n) {
			b.Fatalf("synced %d rows, want %d", res.Rows, n)
		}
		copyDur := plainCopy(b, w, db, n)
		db.Close()
		b.ReportMetric(float64(n)/syncDur.Seconds(), "sync-rows/s")
		b.ReportMetric(float64(n)/copyDur.Seconds(), "copy-rows/s")
		b.ReportMetric(copyDur.Seconds()/syncDur.Seconds(), "ratio")
		b.ReportMetric(peakRSSMB(), "peak-RSS-MB")
	}
}

// plainCopy COPYs the rows the emulator serves into a plain (id, raw) table of the
// store's schema, 5,000 rows per COPY and transaction; rendering the rows is not timed.
func plainCopy(b *testing.B, w *world, db *postgres.DB, n int) time.Duration {
	ctx := context.Background()
	if _, err := db.Pool().Exec(ctx, `CREATE TABLE plain (id text COLLATE "C" PRIMARY KEY, raw text NOT NULL)`); err != nil {
		b.Fatal(err)
	}
	var took time.Duration
	batch := make([][]any, 0, 5000)
	count := 0
	flush := func() {
		start := time.Now()
		if _, err := db.Pool().CopyFrom(ctx, pgx.Identifier{"plain"}, []string{"id", "raw"}, pgx.CopyFromRows(batch)); err != nil {
			b.Fatal(err)
		}
		took += time.Since(start)
		count += len(batch)
		batch = batch[:0]
	}
	for row := range w.emu.Rows(w.ref, "generalLedgerEntries") {
		raw, _ := json.Marshal(row)
		batch = append(batch, []any{row["id"].(string), string(raw)})
		if len(batch) == cap(batch) {
			flush()
		}
	}
	if len(batch) > 0 {
		flush()
	}
	if count != n {
		b.Fatalf("copied %d rows, want %d", count, n)
	}
	return took
}
