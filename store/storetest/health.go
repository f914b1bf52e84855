package storetest

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/store"
)

// RunHealth runs the conformance suite of store.HealthStore.
func RunHealth(t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()
	runTests(t, open, []test[store.Store]{
		{"Versions", testHealthVersions},
		{"ConcurrentChange", testHealthConcurrent},
	})
}

func testHealthVersions(t *testing.T, s store.Store) {
	ctx := t.Context()
	c := mustCreate(t, s, NewConnection("h"))
	at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	h := store.HealthState{ConnectionID: c.ID, Kind: "sync", Subject: "co/customers", State: "failing", Version: 1, Since: at}
	if err := s.SetHealthState(ctx, h); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "SetHealthState(version 1 again)", s.SetHealthState(ctx, h), store.ErrConflict)
	h.Version, h.State = 3, "ok"
	wantErr(t, "SetHealthState(version skipped)", s.SetHealthState(ctx, h), store.ErrConflict)
	h.Version, h.Since = 2, at.Add(time.Hour)
	if err := s.SetHealthState(ctx, h); err != nil {
		t.Fatal(err)
	}
	other := store.HealthState{ConnectionID: c.ID, Kind: "credential", Subject: "s1", State: "30", Version: 1, Since: at}
	if err := s.SetHealthState(ctx, other); err != nil {
		t.Fatal(err)
	}
	got, err := s.HealthStates(ctx, c.ID)
	if err != nil || len(got) != 2 || got[0] != other || got[1] != h {
		t.Fatalf("HealthStates = %+v, %v; want %+v and %+v", got, err, other, h)
	}
	if all, _ := s.HealthStates(ctx, ""); len(all) != 2 {
		t.Fatalf("HealthStates(all) = %+v", all)
	}
	wantErr(t, "SetHealthState(unknown connection)", s.SetHealthState(ctx, store.HealthState{ConnectionID: "nope", Kind: "setup", State: "ok", Version: 1}), store.ErrNotFound)
	wantErr(t, "SetHealthState(no state)", s.SetHealthState(ctx, store.HealthState{ConnectionID: c.ID, Kind: "setup", Version: 1}), store.ErrInvalid)
	if err := s.DeleteConnection(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.HealthStates(ctx, c.ID); len(got) != 0 {
		t.Fatalf("a deleted connection's health states remain: %+v", got)
	}
}

// testHealthConcurrent: instances that see the same change store it once.
func testHealthConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	c := mustCreate(t, s, NewConnection("h"))
	const n = 8
	var won atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			err := s.SetHealthState(ctx, store.HealthState{ConnectionID: c.ID, Kind: "setup", State: "failed", Version: 1, Since: time.Now()})
			switch {
			case err == nil:
				won.Add(1)
			case !isConflict(err):
				errs <- err
			}
		})
	}
	wg.Wait()
	collect(t, errs)
	if won.Load() != 1 {
		t.Fatalf("%d of %d concurrent first changes were stored, want 1", won.Load(), n)
	}
}

func isConflict(err error) bool { return errors.Is(err, store.ErrConflict) }
