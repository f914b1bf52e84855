package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/store/postgres"
	"github.com/bizzjoiner/bcconnector/store/postgres/pgtest"
	"github.com/bizzjoiner/bcconnector/store/sqlite"
	"github.com/bizzjoiner/bcconnector/web"
)

// benchSets is how many entity sets each connection of the scrape benchmark syncs.
const benchSets = 5

// BenchmarkScrape measures one /metrics scrape with 1 and 1,000 connections of 5 synced
// sets each, on SQLite and (with BCC_TEST_DATABASE_URL) PostgreSQL: the database is read
// with one query whatever the number of connections, so what grows is only the series
// written (3 per set). It reports the database queries and the series per scrape.
func BenchmarkScrape(b *testing.B) {
	for _, dbName := range []string{"sqlite", "postgres"} {
		for _, conns := range []int{1, 1000} {
			b.Run(fmt.Sprintf("%s/connections=%d", dbName, conns), func(b *testing.B) {
				var st store.ReplicaStore
				switch dbName {
				case "sqlite":
					db, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "m.db"), secret.GenerateKeyring(), sqlite.Options{})
					if err != nil {
						b.Fatal(err)
					}
					b.Cleanup(func() { db.Close() })
					st = db
				case "postgres":
					if pgtest.URL(b) == "" {
						b.Skip("BCC_TEST_DATABASE_URL not set")
					}
					db, err := postgres.Open(context.Background(), pgtest.SchemaURL(b), secret.GenerateKeyring(), postgres.Options{})
					if err != nil {
						b.Fatal(err)
					}
					b.Cleanup(func() { db.Close() })
					st = db
				}
				ok := time.Now().UTC()
				for i := range conns {
					for j := range benchSets {
						key := store.ReplicaKey{ConnectionID: fmt.Sprintf("conn%06d", i), CompanyID: "5d115c9c-44e3-ea11-bb43-000d3a2feef8", EntitySet: fmt.Sprintf("set%d", j)}
						if err := st.UpdateSyncState(context.Background(), key, func(s *store.SyncState) { s.LastSuccessAt, s.Throttled = ok, int64(j) }); err != nil {
							b.Fatal(err)
						}
					}
				}
				counted := &countingStore{ReplicaStore: st}
				m := web.NewMetrics(web.MetricsOptions{Store: counted})
				h := m.Handler()
				req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
				var series int
				b.ResetTimer()
				for b.Loop() {
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					if rec.Code != 200 {
						b.Fatalf("scrape: %d", rec.Code)
					}
					series = strings.Count(rec.Body.String(), "\nbcc_sync_")
				}
				b.ReportMetric(float64(counted.n)/float64(b.N), "queries/scrape")
				b.ReportMetric(float64(series), "sync-series")
				if series != 3*benchSets*conns {
					b.Fatalf("%d sync series, want %d", series, 3*benchSets*conns)
				}
			})
		}
	}
}

// countingStore counts the metrics' database reads.
type countingStore struct {
	store.ReplicaStore
	n int
}

func (c *countingStore) AllSyncStates(ctx context.Context) ([]store.SyncState, error) {
	c.n++
	return c.ReplicaStore.AllSyncStates(ctx)
}
