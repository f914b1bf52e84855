package outbound_test

import (
	"context"
	"crypto/tls"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/bizzjoiner/bcconnector/outbound"
	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/store/postgres"
	"github.com/bizzjoiner/bcconnector/store/postgres/pgtest"
	"github.com/bizzjoiner/bcconnector/store/sqlite"
	"github.com/bizzjoiner/bcconnector/store/storetest"
)

// The delivery benchmarks run what serve runs: the store, River with the delivery worker
// (serve's fetch settings), outbound.Run woken by the change log, and an HTTPS receiver
// in the same process answering 204.

type benchQueue interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	InsertMany(ctx context.Context, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error)
}

type benchEnv struct {
	db interface {
		outbound.Store
		ApplyBatch(ctx context.Context, b store.ReplicaBatch) (store.ApplyResult, error)
	}
	svc  *outbound.Service
	rc   benchQueue
	hits chan int64 // seq of each delivered record event
}

func riverConfig(workers int, svc *outbound.Service) *river.Config {
	w := river.NewWorkers()
	river.AddWorker(w, &outbound.DeliverWorker{Service: svc})
	river.AddWorker(w, &outbound.DeliverBatchWorker{Service: svc})
	return &river.Config{Queues: map[string]river.QueueConfig{outbound.QueueDeliver: {MaxWorkers: workers}}, Workers: w,
		FetchCooldown: 100 * time.Millisecond, FetchPollInterval: 500 * time.Millisecond} // as serve
}

func benchSetup(b *testing.B, dialect string, workers int, plainHTTP bool) *benchEnv {
	b.Helper()
	ctx := context.Background()
	e := &benchEnv{hits: make(chan int64, 1<<20)}
	rcv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var ev struct{ Data struct{ Seq int64 } }
		_ = json.Unmarshal(body, &ev)
		w.WriteHeader(http.StatusNoContent)
		e.hits <- ev.Data.Seq
	}))
	var tlsCfg *tls.Config
	if plainHTTP { // the receiver's TLS off the shared CPU: our side's cost alone
		rcv.Start()
	} else {
		rcv.StartTLS()
		tlsCfg = rcv.Client().Transport.(*http.Transport).TLSClientConfig
	}
	b.Cleanup(rcv.Close)
	kr := secret.GenerateKeyring()
	switch dialect {
	case "sqlite":
		db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "bench.db"), kr, sqlite.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		e.db = db
		e.svc = outbound.New(outbound.Options{Store: db, AllowPrivate: true, TLS: tlsCfg})
		pool, err := sql.Open("sqlite", "file:"+db.Path()+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
		if err != nil {
			b.Fatal(err)
		}
		pool.SetMaxOpenConns(1)
		b.Cleanup(func() { pool.Close() })
		driver := riversqlite.New(pool)
		mig, _ := rivermigrate.New(driver, nil)
		if _, err := mig.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
			b.Fatal(err)
		}
		rc, err := river.NewClient(driver, riverConfig(workers, e.svc))
		if err != nil {
			b.Fatal(err)
		}
		e.rc = rc
	case "postgres":
		db, err := postgres.Open(ctx, pgtest.SchemaURL(b), kr, postgres.Options{MaxConns: 10})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		e.db = db
		e.svc = outbound.New(outbound.Options{Store: db, AllowPrivate: true, TLS: tlsCfg})
		driver := riverpgxv5.New(db.Pool())
		mig, _ := rivermigrate.New(driver, nil)
		if _, err := mig.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
			b.Fatal(err)
		}
		rc, err := river.NewClient(driver, riverConfig(workers, e.svc))
		if err != nil {
			b.Fatal(err)
		}
		e.rc = rc
	}
	e.svc.SetQueue(outbound.RiverQueue{Client: e.rc})
	if err := e.db.EnsureReplica(ctx, storetest.Entity(b, "customers")); err != nil {
		b.Fatal(err)
	}
	if _, _, err := e.svc.CreateEndpoint(ctx, outbound.EndpointInput{URL: rcv.URL + "/hooks", EventTypes: []string{"record.*"}}); err != nil {
		b.Fatal(err)
	}
	return e
}

func (e *benchEnv) start(b *testing.B) {
	b.Helper()
	runCtx, cancel := context.WithCancel(context.Background())
	if err := e.rc.Start(runCtx); err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { e.svc.Run(runCtx, 0) })
	b.Cleanup(func() {
		cancel()
		wg.Wait()
		sctx, c := context.WithTimeout(context.Background(), 10*time.Second)
		defer c()
		_ = e.rc.Stop(sctx)
	})
}

func (e *benchEnv) apply(b *testing.B, from, n, version int) {
	b.Helper()
	rows := make([]store.ReplicaRow, n)
	for i := range rows {
		rows[i] = storetest.Customer(storetest.GUID(from+i), storetest.ETag(version), fmt.Sprint("C", from+i), lm)
	}
	if _, err := e.db.ApplyBatch(context.Background(), store.ReplicaBatch{Key: storetest.Key("customers"), Upserts: rows}); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkDeliveryLatency: a change committed to the change log (what a webhook-driven
// sync or a write-through does) until the platform's endpoint has received its signed
// event, one change at a time.
func BenchmarkDeliveryLatency(b *testing.B) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		b.Run(dialect, func(b *testing.B) {
			e := benchSetup(b, dialect, 8, false)
			e.start(b)
			const n = 200
			for b.Loop() {
				var lat []time.Duration
				for i := range n {
					t0 := time.Now()
					e.apply(b, i, 1, 1+int(time.Now().UnixNano()%1000))
					select {
					case <-e.hits:
					case <-time.After(30 * time.Second):
						b.Fatal("no delivery within 30s")
					}
					lat = append(lat, time.Since(t0))
				}
				slices.Sort(lat)
				b.ReportMetric(float64(lat[n/2].Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(lat[n*99/100].Microseconds())/1000, "p99-ms")
				b.ReportMetric(float64(lat[n-1].Microseconds())/1000, "max-ms")
			}
		})
	}
}

// BenchmarkDeliveryThroughput: 5,000 changes in the change log, then dispatch and
// delivery to one endpoint until all have arrived; /http runs the receiver without TLS,
// so the figure is the sender's side alone.
func BenchmarkDeliveryThroughput(b *testing.B) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		for _, c := range []struct {
			workers   int
			plainHTTP bool
		}{{8, false}, {32, false}, {8, true}} {
			// Short names: River's notification channels carry the test's schema name.
			name := fmt.Sprintf("%s/w%d", dialect[:2], c.workers)
			if c.plainHTTP {
				name += "/http"
			}
			b.Run(name, func(b *testing.B) {
				const n = 5000
				e := benchSetup(b, dialect, c.workers, c.plainHTTP)
				for i := 0; i < n; i += 500 {
					e.apply(b, i, 500, 1)
				}
				for b.Loop() {
					t0 := time.Now()
					e.start(b)
					for range n {
						select {
						case <-e.hits:
						case <-time.After(60 * time.Second):
							b.Fatal("deliveries stalled for 60s")
						}
					}
					el := time.Since(t0)
					b.ReportMetric(float64(n)/el.Seconds(), "events/s")
				}
			})
		}
	}
}
