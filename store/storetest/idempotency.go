package storetest

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/bizzjoiner/bcconnector/store"
)

// RunIdempotency runs the conformance suite of store.IdempotencyStore. Keys belong to a
// connection, so the stores must keep connections too.
func RunIdempotency(t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()
	runTests(t, open, []test[store.Store]{
		{"Lifecycle", testIdempotencyLifecycle},
		{"PerConnection", testIdempotencyPerConnection},
		{"ConcurrentBegin", testIdempotencyConcurrentBegin},
	})
}

func testIdempotencyLifecycle(t *testing.T, s store.Store) {
	ctx := t.Context()
	c := mustCreate(t, s, NewConnection("c"))
	state, rec, err := s.BeginIdempotent(ctx, c.ID, "key-1", "hash-a")
	if err != nil || state != store.IdempotencyNew || rec.RequestHash != "hash-a" || rec.CreatedAt.IsZero() {
		t.Fatalf("first Begin = %v %+v %v, want New", state, rec, err)
	}
	if state, _, err := s.BeginIdempotent(ctx, c.ID, "key-1", "hash-a"); err != nil || state != store.IdempotencyInProgress {
		t.Fatalf("Begin while in progress = %v %v, want InProgress", state, err)
	}
	if state, _, err := s.BeginIdempotent(ctx, c.ID, "key-1", "hash-b"); err != nil || state != store.IdempotencyMismatch {
		t.Fatalf("Begin with another request = %v %v, want Mismatch", state, err)
	}
	body := json.RawMessage(`{"id":"x", "number" : "S-1"}`)
	if err := s.FinishIdempotent(ctx, c.ID, "key-1", 201, body); err != nil {
		t.Fatal(err)
	}
	state, rec, err = s.BeginIdempotent(ctx, c.ID, "key-1", "hash-a")
	if err != nil || state != store.IdempotencyDone || rec.Status != 201 || string(rec.Body) != string(body) ||
		rec.ConnectionID != c.ID || rec.Key != "key-1" {
		t.Fatalf("Begin after Finish = %v %+v %v, want Done with the stored result", state, rec, err)
	}
	// Abandoning a finished request changes nothing.
	if err := s.AbandonIdempotent(ctx, c.ID, "key-1"); err != nil {
		t.Fatal(err)
	}
	if state, _, _ := s.BeginIdempotent(ctx, c.ID, "key-1", "hash-a"); state != store.IdempotencyDone {
		t.Fatalf("Begin after abandoning a finished request = %v, want Done", state)
	}
	// An abandoned reservation can be taken again.
	if state, _, _ := s.BeginIdempotent(ctx, c.ID, "key-2", "hash-a"); state != store.IdempotencyNew {
		t.Fatalf("Begin key-2 = %v", state)
	}
	if err := s.AbandonIdempotent(ctx, c.ID, "key-2"); err != nil {
		t.Fatal(err)
	}
	if state, _, _ := s.BeginIdempotent(ctx, c.ID, "key-2", "hash-b"); state != store.IdempotencyNew {
		t.Fatalf("Begin after Abandon = %v, want New", state)
	}
	wantErr(t, "FinishIdempotent(status 0)", s.FinishIdempotent(ctx, c.ID, "key-2", 0, nil), store.ErrInvalid)
	_, _, err = s.BeginIdempotent(ctx, "missing", "key-1", "hash-a")
	wantErr(t, "BeginIdempotent(unknown connection)", err, store.ErrNotFound)
}

func testIdempotencyPerConnection(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := mustCreate(t, s, NewConnection("a"))
	b := mustCreate(t, s, NewConnection("b"))
	for _, c := range []store.Connection{a, b} {
		if state, _, err := s.BeginIdempotent(ctx, c.ID, "same-key", "hash-"+c.Name); err != nil || state != store.IdempotencyNew {
			t.Fatalf("%s: Begin = %v %v, want New (keys are per connection)", c.Name, state, err)
		}
	}
	if err := s.FinishIdempotent(ctx, a.ID, "same-key", 200, json.RawMessage(`{}`)); err != nil {
		t.Fatal(err)
	}
	if state, _, _ := s.BeginIdempotent(ctx, b.ID, "same-key", "hash-b"); state != store.IdempotencyInProgress {
		t.Fatalf("b's key after finishing a's = %v, want InProgress", state)
	}
	// A deleted connection takes its keys with it.
	if err := s.DeleteConnection(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	again := NewConnection("a")
	again.ID = a.ID
	mustCreate(t, s, again)
	if state, _, _ := s.BeginIdempotent(ctx, a.ID, "same-key", "hash-a"); state != store.IdempotencyNew {
		t.Fatalf("key of a re-created connection = %v, want New", state)
	}
}

// testIdempotencyConcurrentBegin: retries racing with the same key: exactly one gets to
// run the request.
func testIdempotencyConcurrentBegin(t *testing.T, s store.Store) {
	ctx := t.Context()
	c := mustCreate(t, s, NewConnection("c"))
	const n = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	states := map[store.IdempotencyState]int{}
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			state, _, err := s.BeginIdempotent(ctx, c.ID, "raced", "hash")
			if err != nil {
				errs <- fmt.Errorf("BeginIdempotent: %w", err)
				return
			}
			mu.Lock()
			states[state]++
			mu.Unlock()
		})
	}
	wg.Wait()
	collect(t, errs)
	if states[store.IdempotencyNew] != 1 || states[store.IdempotencyInProgress] != n-1 {
		t.Fatalf("concurrent Begin states = %v, want one New and %d InProgress", states, n-1)
	}
}
