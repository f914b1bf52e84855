package syncer_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/bc"
	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/emulator/fault"
	"github.com/bizzjoiner/bcconnector/syncer"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	_ "modernc.org/sqlite"
)

type fixedClients struct{ c *bc.Client }

func (f fixedClients) Client(context.Context, string) (*bc.Client, error) { return f.c, nil }

// startRiver runs a River client with the sync worker on the world's SQLite file.
func startRiver(t *testing.T, w *world, client *bc.Client) (*river.Client[*sql.Tx], *syncer.Worker) {
	t.Helper()
	ctx := context.Background()
	pool, err := sql.Open("sqlite", "file:"+w.db.Path()+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
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
	if _, err := mig.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		t.Fatal(err)
	}
	worker := &syncer.Worker{Syncer: w.sync, Clients: fixedClients{client}}
	workers := river.NewWorkers()
	river.AddWorker(workers, worker)
	rc, err := river.NewClient(driver, &river.Config{
		Queues:            map[string]river.QueueConfig{syncer.QueueSync: {MaxWorkers: 4}},
		Workers:           workers,
		FetchCooldown:     50 * time.Millisecond,
		FetchPollInterval: 50 * time.Millisecond,
		TestOnly:          true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = rc.Stop(ctx)
	})
	return rc, worker
}

// TestRiverJobSnoozesOn429: a 429 storm longer than the client will wait snoozes the job
// for BC's Retry-After instead of failing it; the job completes on its first attempt and
// the replica equals BC. A duplicate job for the same target is not inserted.
func TestRiverJobSnoozesOn429(t *testing.T) {
	w := newWorld(t, emulator.Config{}, "", syncer.Options{})
	// A client that refuses to sleep through a Retry-After above 100 ms.
	impatient, err := bc.New(bc.Options{BaseURL: w.srv.URL + "/v2.0", TenantID: w.emu.Credentials().TenantID, Environment: "Production",
		Tokens: tokenOf(t, w), HTTPClient: w.srv.Client(), Retry: bc.RetryOptions{MaxRetryAfter: 100 * time.Millisecond, BaseDelay: time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	rules, err := fault.Parse("seq(2s):bc=429,429,ok")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rules {
		_ = w.emu.Faults().Add(r)
	}
	rc, worker := startRiver(t, w, impatient)
	events, cancel := rc.Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed)
	defer cancel()
	args := syncer.SyncArgs{ConnectionID: w.connID, CompanyID: w.ref.CompanyID, EntitySet: "customers"}
	res, err := rc.Insert(context.Background(), args, nil)
	if err != nil {
		t.Fatal(err)
	}
	dup, err := rc.Insert(context.Background(), args, nil)
	if err != nil || !dup.UniqueSkippedAsDuplicate {
		t.Errorf("second insert for the same target: %+v %v", dup, err)
	}
	select {
	case ev := <-events:
		if ev.Kind != river.EventKindJobCompleted || ev.Job.ID != res.Job.ID {
			t.Fatalf("job ended with %s: %v", ev.Kind, ev.Job.Errors)
		}
		if ev.Job.Attempt != 1 {
			t.Errorf("throttling burned attempts: attempt %d", ev.Job.Attempt)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("job did not complete")
	}
	if worker.Snoozes() == 0 {
		t.Error("the job was never snoozed")
	}
	w.assertEqual("customers")
}
