package outbound_test

import (
	"context"
	"database/sql"
	"net/http"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/bizzjoiner/bcconnector/outbound"
	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/store/sqlite"
	"github.com/bizzjoiner/bcconnector/store/storetest"
)

// riverClient starts a River client with the delivery worker on the SQLite file (as
// serve does) and returns it, and the events of completed jobs; stop stops it gracefully.
func riverClient(t *testing.T, db *sqlite.DB, svc *outbound.Service) (rc *river.Client[*sql.Tx], completed <-chan *river.Event, stop func()) {
	t.Helper()
	pool, err := sql.Open("sqlite", "file:"+db.Path()+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	pool.SetMaxOpenConns(1)
	t.Cleanup(func() { pool.Close() })
	driver := riversqlite.New(pool)
	mig, err := rivermigrate.New(driver, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mig.Migrate(t.Context(), rivermigrate.DirectionUp, nil); err != nil {
		t.Fatal(err)
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, &outbound.DeliverWorker{Service: svc})
	river.AddWorker(workers, &outbound.DeliverBatchWorker{Service: svc})
	rc, err = river.NewClient(driver, &river.Config{
		Queues:            map[string]river.QueueConfig{outbound.QueueDeliver: {MaxWorkers: 2}},
		Workers:           workers,
		FetchCooldown:     20 * time.Millisecond,
		FetchPollInterval: 50 * time.Millisecond,
		TestOnly:          true,
	})
	if err != nil {
		t.Fatal(err)
	}
	completed, cancel := rc.Subscribe(river.EventKindJobCompleted)
	t.Cleanup(cancel)
	if err := rc.Start(context.WithoutCancel(t.Context())); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			if err := rc.Stop(context.Background()); err != nil {
				t.Error(err)
			}
		}
	}
	t.Cleanup(stop)
	return rc, completed, stop
}

func waitHit(t *testing.T, r *receiver) received {
	t.Helper()
	select {
	case h := <-r.hits:
		return h
	case <-time.After(20 * time.Second):
		t.Fatal("no delivery arrived within 20s")
		return received{}
	}
}

// TestRiverRetrySurvivesRestart: a delivery runs as a River job; after its first attempt
// fails the job waits in the database for its retry; the process's River client stops
// and a new one (another instance, or the same after a restart) makes the retry with the
// same webhook-id, once.
func TestRiverRetrySurvivesRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	kr := secret.GenerateKeyring()
	db, err := sqlite.Open(t.Context(), dir+"/bcc.db", kr, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	rcv := newReceiver(t, 503) // the first attempt fails
	tlsCfg := rcv.srv.Client().Transport.(*http.Transport).TLSClientConfig
	newSvc := func() *outbound.Service {
		return outbound.New(outbound.Options{Store: db, AllowPrivate: true, TLS: tlsCfg, Schedule: []time.Duration{300 * time.Millisecond}})
	}
	svc1 := newSvc()
	rc1, _, stop1 := riverClient(t, db, svc1)
	svc1.SetQueue(outbound.RiverQueue{Client: rc1})
	ep, sec, err := svc1.CreateEndpoint(t.Context(), outbound.EndpointInput{URL: rcv.srv.URL + "/hooks", EventTypes: []string{"*"}})
	if err != nil {
		t.Fatal(err)
	}
	d, err := svc1.SendTest(t.Context(), ep.ID)
	if err != nil {
		t.Fatal(err)
	}
	first := waitHit(t, rcv)
	stop1() // waits for the job in flight: the failure is recorded and the job snoozed
	got, err := db.Delivery(t.Context(), d.ID)
	if err != nil || got.State != store.DeliveryPending || got.Attempts != 1 || got.LastStatus != 503 {
		t.Fatalf("after the first attempt and the stop: %+v, %v", got, err)
	}

	svc2 := newSvc()
	rc2, done, _ := riverClient(t, db, svc2)
	svc2.SetQueue(outbound.RiverQueue{Client: rc2})
	second := waitHit(t, rcv)
	if first.ID != d.ID || second.ID != d.ID || second.Status != 200 {
		t.Fatalf("attempts %s (%d) and %s (%d), want %s twice", first.ID, first.Status, second.ID, second.Status, d.ID)
	}
	if err := verify(sec.Reveal(), second.header(), second.Body, time.Now()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("the job did not complete")
	}
	got, _ = db.Delivery(t.Context(), d.ID)
	if got.State != store.DeliverySucceeded || got.Attempts != 2 {
		t.Fatalf("after the retry: %+v", got)
	}
	select {
	case h := <-rcv.hits:
		t.Fatalf("a third request arrived: %+v", h)
	default:
	}
}

// TestRiverBatchFirstAttempts: a page of changes becomes one batch job for the first
// attempts; the one that fails gets a job of its own and arrives on retry.
func TestRiverBatchFirstAttempts(t *testing.T) {
	t.Parallel()
	db, err := sqlite.Open(t.Context(), t.TempDir()+"/bcc.db", secret.GenerateKeyring(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.EnsureReplica(t.Context(), storetest.Entity(t, "customers")); err != nil {
		t.Fatal(err)
	}
	rcv := newReceiver(t, 503) // the first request fails
	svc := outbound.New(outbound.Options{Store: db, AllowPrivate: true, Schedule: []time.Duration{200 * time.Millisecond},
		TLS: rcv.srv.Client().Transport.(*http.Transport).TLSClientConfig})
	rc, _, _ := riverClient(t, db, svc)
	svc.SetQueue(outbound.RiverQueue{Client: rc})
	if _, _, err := svc.CreateEndpoint(t.Context(), outbound.EndpointInput{URL: rcv.srv.URL + "/hooks", EventTypes: []string{"*"}}); err != nil {
		t.Fatal(err)
	}
	var rows []store.ReplicaRow
	for i := range 5 {
		rows = append(rows, storetest.Customer(storetest.GUID(i), storetest.ETag(1), "C", lm))
	}
	if _, err := db.ApplyBatch(t.Context(), store.ReplicaBatch{Key: storetest.Key("customers"), Upserts: rows}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Dispatch(t.Context()); err != nil {
		t.Fatal(err)
	}
	ok := map[string]bool{}
	for len(ok) < 5 {
		if h := waitHit(t, rcv); h.Status == 200 {
			ok[h.ID] = true
		}
	}
	// The receiver answers before the attempt is recorded: wait for the records.
	var list []store.Delivery
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		list, _ = db.Deliveries(t.Context(), store.DeliveryQuery{State: store.DeliverySucceeded})
		if len(list) == 5 {
			break
		}
	}
	attempts := 0
	for _, d := range list {
		attempts += d.Attempts
		if d.State != store.DeliverySucceeded {
			t.Errorf("delivery %s is %s", d.ID, d.State)
		}
	}
	if len(list) != 5 || attempts != 6 {
		t.Fatalf("%d deliveries with %d attempts, want 5 with 6 (one retry)", len(list), attempts)
	}
}
