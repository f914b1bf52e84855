package syncer_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/internal/testlog"
	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/store/sqlite"
	"github.com/bizzjoiner/bcconnector/store/storetest"
	"github.com/bizzjoiner/bcconnector/syncer"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
)

// retentionStore is a SQLite store with 4 batches of 5 changes (1-5 … 16-20), written a
// day apart from t0.
func retentionStore(t *testing.T) (*sqlite.DB, time.Time) {
	t.Helper()
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "t.db"), secret.GenerateKeyring(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.EnsureReplica(t.Context(), storetest.Entity(t, "customers")); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for b := range 4 {
		var rows []store.ReplicaRow
		for i := range 5 {
			rows = append(rows, storetest.Customer(storetest.GUID(b*10+i), storetest.ETag(1), "x", t0))
		}
		if _, err := db.ApplyBatch(t.Context(), store.ReplicaBatch{Key: storetest.Key("customers"), Upserts: rows, Now: t0.Add(time.Duration(b) * 24 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	return db, t0
}

// moveCursor moves outbound webhooks' dispatch cursor to seq.
func moveCursor(t *testing.T, db *sqlite.DB, seq int64) {
	t.Helper()
	from, err := db.ChangeCursor(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddDeliveries(t.Context(), &store.ChangeCursor{From: from, To: seq}, nil); err != nil {
		t.Fatal(err)
	}
}

// TestRetentionBounds: the age and size bounds, each alone, and the dispatch cursor of
// outbound webhooks holding both back.
func TestRetentionBounds(t *testing.T) {
	t.Parallel()
	db, t0 := retentionStore(t)
	moveCursor(t, db, 20)
	now := t0.Add(3*24*time.Hour + time.Hour) // the batches are 3d1h, 2d1h, 1d1h and 1h old
	r, err := syncer.NewRetention(syncer.RetentionOptions{Store: db, MaxAge: 36 * time.Hour, MaxEntries: -1, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := r.Prune(t.Context()); err != nil || res.PrunedThrough != 10 {
		t.Fatalf("age 36h: %+v, %v; want the two batches older than that (through 10)", res, err)
	}
	r, _ = syncer.NewRetention(syncer.RetentionOptions{Store: db, MaxAge: -1, MaxEntries: 5, Now: func() time.Time { return now }})
	if res, err := r.Prune(t.Context()); err != nil || res.PrunedThrough != 15 {
		t.Fatalf("5 entries: %+v, %v; want through 15", res, err)
	}
	// A dispatch cursor behind: nothing it has not passed goes, however old.
	db2, _ := retentionStore(t)
	moveCursor(t, db2, 7)
	r, _ = syncer.NewRetention(syncer.RetentionOptions{Store: db2, MaxAge: time.Hour, MaxEntries: 1, Now: func() time.Time { return now.Add(time.Hour) }})
	if res, err := r.Prune(t.Context()); err != nil || res.PrunedThrough != 5 {
		t.Fatalf("dispatch cursor at 7: %+v, %v; want through 5 (6-10 holds 8)", res, err)
	}
	if _, err := db2.Changes(t.Context(), 3, 10); !errors.Is(err, store.ErrCursorExpired) {
		t.Fatalf("Changes(3) after pruning through 5 = %v, want ErrCursorExpired", err)
	}
}

// TestRetentionRiverJob: serve's periodic job, run by a real River client on the same
// SQLite file at start, prunes by the defaults' age and logs what it did.
func TestRetentionRiverJob(t *testing.T) {
	t.Parallel()
	db, t0 := retentionStore(t)
	moveCursor(t, db, 20)
	logs := &testlog.Buffer{}
	now := t0.Add(syncer.DefaultChangeRetention + 36*time.Hour) // the first two batches are older than 30 days
	r, err := syncer.NewRetention(syncer.RetentionOptions{Store: db, Logger: logs.Logger(), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
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
	river.AddWorker(workers, r)
	rc, err := river.NewClient(driver, &river.Config{
		Queues:            map[string]river.QueueConfig{syncer.QueueMaintenance: {MaxWorkers: 1}},
		Workers:           workers,
		PeriodicJobs:      []*river.PeriodicJob{r.PeriodicJob()},
		FetchCooldown:     50 * time.Millisecond,
		FetchPollInterval: 50 * time.Millisecond,
		TestOnly:          true,
	})
	if err != nil {
		t.Fatal(err)
	}
	events, cancel := rc.Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed)
	defer cancel()
	if err := rc.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = rc.Stop(ctx)
	})
	select {
	case ev := <-events:
		if ev.Kind != river.EventKindJobCompleted || ev.Job.Kind != (syncer.PruneChangesArgs{}).Kind() {
			t.Fatalf("event %s of %s, want the retention job completed", ev.Kind, ev.Job.Kind)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the retention job did not run at start within 30s")
	}
	if through, err := db.ChangesPrunedThrough(t.Context()); err != nil || through != 10 {
		t.Fatalf("pruned through %d, %v; want 10", through, err)
	}
	if out := logs.String(); !strings.Contains(out, `"msg":"change log pruned"`) || !strings.Contains(out, `"changes":10`) {
		t.Fatalf("log = %s; want a line of 10 changes pruned", out)
	}
}
