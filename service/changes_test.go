package service

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/store/storetest"
)

// countingStore counts the change log reads of a service and tells each one's number
// once it has returned.
type countingStore struct {
	Store
	reads    atomic.Int64
	returned chan int64
}

func (c *countingStore) Changes(ctx context.Context, since int64, limit int) ([]store.Change, error) {
	n := c.reads.Add(1)
	defer func() { c.returned <- n }()
	return c.Store.Changes(ctx, since, limit)
}

// TestChangesWaitIsWokenNotPolled: a change-feed reader that waits does not read the
// database while nothing happens, and is woken at once when another instance (another
// store on the same database; on SQLite, the process's one store) logs a change. The
// recheck is an hour, so only the wake-up can end the second wait early.
func TestChangesWaitIsWokenNotPolled(t *testing.T) {
	t.Parallel()
	onTwoInstances(t, testChangesWoken)
}

func testChangesWoken(t *testing.T, mine, theirs Store) {
	ctx := t.Context()
	cs := &countingStore{Store: mine, returned: make(chan int64, 100)}
	svc, err := New(Options{Store: cs, ChangesRecheck: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	if err := theirs.EnsureReplica(ctx, storetest.Entity(t, "customers")); err != nil {
		t.Fatal(err)
	}
	// Nothing happens for half a second: one read before the wait, one when it ends (a
	// 200 ms poll would make four).
	got, _, err := svc.Changes(ctx, 0, 10, 500*time.Millisecond, nil)
	if err != nil || len(got) != 0 {
		t.Fatalf("quiet wait: %v, %v", got, err)
	}
	if n := cs.reads.Load(); n > 2 {
		t.Errorf("a quiet half-second wait read the change log %d times, want at most 2", n)
	}
	// A long wait ends as soon as the other instance logs a change.
	done := make(chan []store.Change, 1)
	go func() {
		got, _, err := svc.Changes(ctx, 0, 10, time.Minute, nil)
		if err != nil {
			t.Error(err)
		}
		done <- got
	}()
	for n := range cs.returned { // the waiter's first read found nothing: it waits
		if n == 3 {
			break
		}
	}
	lm := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	if _, err := theirs.ApplyBatch(ctx, store.ReplicaBatch{Key: storetest.Key("customers"),
		Upserts: []store.ReplicaRow{storetest.Customer(storetest.GUID(1), storetest.ETag(1), "Woken", lm)}}); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-done:
		if len(got) != 1 || got[0].ID != storetest.GUID(1) {
			t.Fatalf("woken reader got %+v, want the one change", got)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the waiting reader was not woken by the change (its recheck is an hour)")
	}
}
