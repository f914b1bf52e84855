package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/store/sqlite"
	"github.com/bizzjoiner/bcconnector/store/storetest"
	"github.com/bizzjoiner/bcconnector/web"
)

// TestMetricsGaugesReportedOnce: two instances on one database report the per-connection
// figures read from it once, from the instance holding the gauges lease; when that
// instance is no longer scraped, the other takes over after the lease's TTL. Both report
// their own process figures.
func TestMetricsGaugesReportedOnce(t *testing.T) {
	t.Parallel()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "m.db"), secret.GenerateKeyring(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	c, err := db.CreateConnection(t.Context(), storetest.NewConnection("metrics"))
	if err != nil {
		t.Fatal(err)
	}
	key := store.ReplicaKey{ConnectionID: c.ID, CompanyID: c.CompanyID, EntitySet: "customers"}
	if err := db.UpdateSyncState(t.Context(), key, func(st *store.SyncState) { st.Throttled = 3 }); err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{t: time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)}
	scrape := map[string]func() string{}
	for _, name := range []string{"a", "b"} {
		m := web.NewMetrics(web.MetricsOptions{Store: db, Gauges: web.GaugesLease(db, name, time.Minute, clock.Now)})
		srv := httptest.NewServer(web.MetricsServer(m, nil))
		t.Cleanup(srv.Close)
		scrape[name] = func() string {
			resp, err := http.Get(srv.URL + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return string(b)
		}
	}
	const gauge = `bcc_sync_throttled_total{`
	reports := func(name string) bool {
		body := scrape[name]()
		if !strings.Contains(body, "go_goroutines") {
			t.Fatalf("instance %s: no process metrics", name)
		}
		return strings.Contains(body, gauge)
	}
	if !reports("a") || reports("b") || !reports("a") {
		t.Fatal("the first instance scraped (a) should report the gauges, and only it")
	}
	clock.Add(30 * time.Second)
	if reports("b") {
		t.Fatal("b reported the gauges while a's lease runs")
	}
	clock.Add(31 * time.Second) // a was last scraped 61 s ago
	if !reports("b") || reports("a") {
		t.Fatal("after a's lease lapsed, b should report the gauges, and only it")
	}
}
