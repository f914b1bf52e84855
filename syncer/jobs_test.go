package syncer_test

import (
	"context"
	"database/sql"
	"sync"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/bc"
	"github.com/bizzjoiner/bcconnector/conn"
	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/syncer"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	_ "modernc.org/sqlite"
)

type fixedClients struct{ c *bc.Client }

func (f fixedClients) Client(context.Context, string) (*bc.Client, error) { return f.c, nil }

// startRiver runs a River client with the sync worker on the world's SQLite file.
func startRiver(t *testing.T, w *world, client *bc.Client, snooze func(time.Duration) time.Duration) (*river.Client[*sql.Tx], *syncer.Worker) {
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
	worker := &syncer.Worker{Syncer: w.sync, Clients: fixedClients{client}, Snooze: snooze}
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
// the replica equals BC. A duplicate job for the same target is not inserted. The snooze
// asked for is BC's Retry-After (2 s); River gets a millisecond of it, so the test does not
// wait it out.
func TestRiverJobSnoozesOn429(t *testing.T) {
	t.Parallel()
	w := newWorld(t, emulator.Config{}, "", syncer.Options{})
	// A client that refuses to sleep through a Retry-After above 100 ms.
	impatient := w.open(conn.Options{Retry: bc.RetryOptions{MaxRetryAfter: 100 * time.Millisecond, BaseDelay: time.Millisecond}}).BC
	w.sb.AddFaults("seq(2s):bc=429,429,ok")
	var mu sync.Mutex
	var asked []time.Duration
	snooze := func(d time.Duration) time.Duration {
		mu.Lock()
		defer mu.Unlock()
		asked = append(asked, d)
		return time.Millisecond
	}
	rc, worker := startRiver(t, w, impatient, snooze)
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
	mu.Lock()
	defer mu.Unlock()
	if worker.Snoozes() != 2 || len(asked) != 2 {
		t.Errorf("snoozes %d (asked %v), want 2: one per 429", worker.Snoozes(), asked)
	}
	for _, d := range asked {
		if d != 2*time.Second {
			t.Errorf("snooze asked for %v, want BC's Retry-After of 2s", d)
		}
	}
	w.assertEqual("customers")
}
