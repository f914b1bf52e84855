package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/store"
)

// RunSyncState runs the conformance suite of store.ReplicaStore's sync state and
// checkpoints.
func RunSyncState(t *testing.T, open ReplicaOpener) {
	t.Helper()
	runTests(t, open, []test[store.ReplicaStore]{
		{"RoundTrip", testSyncStateRoundTrip},
		{"Checkpoints", testCheckpoints},
		{"ConcurrentUpdates", testSyncStateConcurrent},
		{"AllSyncStates", testAllSyncStates},
	})
}

func testCheckpoints(t *testing.T, s store.ReplicaStore) {
	ctx := t.Context()
	ensure(t, s, "customers")
	key := Key("customers")
	lm := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	cp := json.RawMessage(`{"nextLink":"https://api.businesscentral.dynamics.com/v2.0/x?$skiptoken=abc","n": 1}`)
	apply(t, s, store.ReplicaBatch{Key: key, Upserts: []store.ReplicaRow{Customer(GUID(1), ETag(1), "A", lm)}, CheckpointName: "p0", Checkpoint: cp})
	apply(t, s, store.ReplicaBatch{Key: key, CheckpointName: "p1", Checkpoint: json.RawMessage(`"x"`)})
	st, err := s.SyncState(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Checkpoints) != 2 || string(st.Checkpoints["p0"]) != string(cp) || string(st.Checkpoints["p1"]) != `"x"` {
		t.Fatalf("checkpoints = %s, want p0 and p1", fmtCheckpoints(st.Checkpoints))
	}
	// Replaced, then removed with the batch that finishes the partition.
	apply(t, s, store.ReplicaBatch{Key: key, CheckpointName: "p0", Checkpoint: json.RawMessage(`2`)})
	st, _ = s.SyncState(ctx, key)
	if string(st.Checkpoints["p0"]) != `2` {
		t.Fatalf("checkpoint p0 = %s, want 2", st.Checkpoints["p0"])
	}
	apply(t, s, store.ReplicaBatch{Key: key, Upserts: []store.ReplicaRow{Customer(GUID(2), ETag(1), "B", lm)}, CheckpointName: "p0", CheckpointDone: true})
	st, _ = s.SyncState(ctx, key)
	if _, ok := st.Checkpoints["p0"]; ok || len(st.Checkpoints) != 1 {
		t.Fatalf("checkpoints after done = %s, want only p1", fmtCheckpoints(st.Checkpoints))
	}
	// Checkpoints are per key.
	other := Key("customers")
	other.CompanyID = Company2
	if st, _ := s.SyncState(ctx, other); len(st.Checkpoints) != 0 {
		t.Fatalf("other company sees checkpoints %s", fmtCheckpoints(st.Checkpoints))
	}
	_, err = s.ApplyBatch(ctx, store.ReplicaBatch{Key: key, CheckpointName: "p2", Checkpoint: json.RawMessage(`{bad`)})
	wantErr(t, "invalid checkpoint JSON", err, store.ErrInvalid)
}

func fmtCheckpoints(m map[string]json.RawMessage) string {
	b, _ := json.Marshal(m)
	return string(b)
}

func testSyncStateRoundTrip(t *testing.T, s store.ReplicaStore) {
	ctx := t.Context()
	key := Key("customers")
	st, err := s.SyncState(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if st.Key != key || st.FullSyncDone || !st.Watermark.IsZero() || st.Checkpoints != nil {
		t.Fatalf("never-synced state = %+v, want zero with Key", st)
	}
	at := func(s string) time.Time {
		v, _ := time.Parse(time.RFC3339Nano, s)
		return v
	}
	want := store.SyncState{
		Key:               key,
		FullSyncDone:      true,
		FullSyncStartedAt: at("2025-01-02T03:04:05.123456Z"),
		Watermark:         at("2025-01-02T03:04:05.999Z"),
		LastRunAt:         at("2025-02-01T00:00:00Z"),
		LastSuccessAt:     at("2025-02-01T00:00:01.5Z"),
		LastError:         "429 Too Many Requests",
		LastReconcileAt:   at("2025-01-31T12:00:00Z"),
		Throttled:         7,
		Requests:          12345,
		Checkpoints:       map[string]json.RawMessage{"p0": json.RawMessage(`{"skip":"a b"}`), "p1": json.RawMessage(`null`)},
		Paused:            true,
		Dirty:             true,
	}
	if err := s.UpdateSyncState(ctx, key, func(st *store.SyncState) {
		if st.Key != key {
			t.Errorf("fn got Key %+v", st.Key)
		}
		*st = want
		st.Key = store.ReplicaKey{EntitySet: "ignored"} // Key cannot be changed
	}); err != nil {
		t.Fatal(err)
	}
	got, err := s.SyncState(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if d := diffSyncState(got, want); d != "" {
		t.Fatalf("round trip: %s", d)
	}

	// fn sees the stored state; a removed checkpoint is deleted.
	if err := s.UpdateSyncState(ctx, key, func(st *store.SyncState) {
		if d := diffSyncState(*st, want); d != "" {
			t.Errorf("fn saw: %s", d)
		}
		delete(st.Checkpoints, "p1")
		st.Requests++
		st.LastError = ""
		st.Paused = false
		st.Dirty = false
	}); err != nil {
		t.Fatal(err)
	}
	got, _ = s.SyncState(ctx, key)
	want.Requests++
	want.LastError = ""
	want.Paused = false
	want.Dirty = false
	delete(want.Checkpoints, "p1")
	if d := diffSyncState(got, want); d != "" {
		t.Fatalf("after update: %s", d)
	}

	// SyncStates lists the connection's sets, including one with only a checkpoint.
	ensure(t, s, "items")
	apply(t, s, store.ReplicaBatch{Key: Key("items"), CheckpointName: "p", Checkpoint: json.RawMessage(`1`)})
	other := key
	other.CompanyID = Company2
	if err := s.UpdateSyncState(ctx, other, func(st *store.SyncState) { st.Requests = 1 }); err != nil {
		t.Fatal(err)
	}
	foreign := key
	foreign.ConnectionID = "ffff000000000000"
	if err := s.UpdateSyncState(ctx, foreign, func(st *store.SyncState) {}); err != nil {
		t.Fatal(err)
	}
	list, err := s.SyncStates(ctx, Conn)
	if err != nil {
		t.Fatal(err)
	}
	var keys []store.ReplicaKey
	for _, st := range list {
		keys = append(keys, st.Key)
	}
	wantKeys := []store.ReplicaKey{key, Key("items"), other}
	if !slices.Equal(keys, wantKeys) {
		t.Fatalf("SyncStates keys = %+v, want %+v", keys, wantKeys)
	}
	if d := diffSyncState(list[0], want); d != "" {
		t.Fatalf("SyncStates[0]: %s", d)
	}
	if string(list[1].Checkpoints["p"]) != "1" {
		t.Fatalf("SyncStates[1] checkpoints = %s", fmtCheckpoints(list[1].Checkpoints))
	}

	err = s.UpdateSyncState(ctx, key, func(st *store.SyncState) { st.Checkpoints["bad"] = json.RawMessage(`{`) })
	wantErr(t, "invalid checkpoint", err, store.ErrInvalid)
	if got, _ := s.SyncState(ctx, key); got.Requests != want.Requests {
		t.Fatalf("failed update changed the state: %+v", got)
	}
}

func diffSyncState(a, b store.SyncState) string {
	var d []string
	add := func(f string, x, y any) { d = append(d, fmt.Sprintf("%s: %v != %v", f, x, y)) }
	if a.Key != b.Key {
		add("Key", a.Key, b.Key)
	}
	if a.FullSyncDone != b.FullSyncDone {
		add("FullSyncDone", a.FullSyncDone, b.FullSyncDone)
	}
	for _, f := range []struct {
		n    string
		x, y time.Time
	}{{"FullSyncStartedAt", a.FullSyncStartedAt, b.FullSyncStartedAt}, {"Watermark", a.Watermark, b.Watermark},
		{"LastRunAt", a.LastRunAt, b.LastRunAt}, {"LastSuccessAt", a.LastSuccessAt, b.LastSuccessAt},
		{"LastReconcileAt", a.LastReconcileAt, b.LastReconcileAt}} {
		if !f.x.Equal(f.y) {
			add(f.n, f.x, f.y)
		}
	}
	if a.LastError != b.LastError {
		add("LastError", a.LastError, b.LastError)
	}
	if a.Throttled != b.Throttled || a.Requests != b.Requests || a.Paused != b.Paused || a.Dirty != b.Dirty {
		add("Throttled/Requests/Paused/Dirty", fmt.Sprint(a.Throttled, a.Requests, a.Paused, a.Dirty), fmt.Sprint(b.Throttled, b.Requests, b.Paused, b.Dirty))
	}
	if fmtCheckpoints(a.Checkpoints) != fmtCheckpoints(b.Checkpoints) {
		add("Checkpoints", fmtCheckpoints(a.Checkpoints), fmtCheckpoints(b.Checkpoints))
	}
	return strings.Join(d, "; ")
}

// testSyncStateConcurrent: UpdateSyncState is a read-modify-write in one transaction, so
// concurrent increments are never lost.
func testSyncStateConcurrent(t *testing.T, s store.ReplicaStore) {
	key := Key("customers")
	const writers, each = 6, 10
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				err := s.UpdateSyncState(context.Background(), key, func(st *store.SyncState) {
					st.Requests++
					if st.Checkpoints == nil {
						st.Checkpoints = map[string]json.RawMessage{}
					}
					st.Checkpoints[fmt.Sprintf("w%d", w)] = json.RawMessage(fmt.Sprint(i))
				})
				if err != nil {
					errs <- fmt.Errorf("writer %d: %w", w, err)
					return
				}
			}
		})
	}
	wg.Wait()
	collect(t, errs)
	st, err := s.SyncState(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	if st.Requests != writers*each || len(st.Checkpoints) != writers {
		t.Fatalf("after %d concurrent increments: Requests = %d, checkpoints %s", writers*each, st.Requests, fmtCheckpoints(st.Checkpoints))
	}
	for name, v := range st.Checkpoints {
		if string(v) != fmt.Sprint(each-1) {
			t.Errorf("checkpoint %s = %s, want %d", name, v, each-1)
		}
	}
}

// testAllSyncStates: every connection's states in one list, in key order, without
// checkpoints; a set that has only a checkpoint has no state yet and is not listed.
func testAllSyncStates(t *testing.T, s store.ReplicaStore) {
	ctx := t.Context()
	if got, err := s.AllSyncStates(ctx); err != nil || len(got) != 0 {
		t.Fatalf("empty store: %d states, %v", len(got), err)
	}
	ok := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	for _, k := range []store.ReplicaKey{
		{ConnectionID: "c2", CompanyID: Company, EntitySet: "vendors"},
		{ConnectionID: "c1", CompanyID: Company2, EntitySet: "customers"},
		{ConnectionID: "c1", CompanyID: Company, EntitySet: "items"},
		{ConnectionID: "c1", CompanyID: Company, EntitySet: "customers"},
	} {
		if err := s.UpdateSyncState(ctx, k, func(st *store.SyncState) {
			st.LastSuccessAt = ok
			st.Throttled = int64(len(k.EntitySet))
			st.LastError = k.ConnectionID
			st.Checkpoints["p"] = json.RawMessage(`1`)
		}); err != nil {
			t.Fatal(err)
		}
	}
	want := []store.ReplicaKey{ // Company sorts before Company2
		{ConnectionID: "c1", CompanyID: Company, EntitySet: "customers"},
		{ConnectionID: "c1", CompanyID: Company, EntitySet: "items"},
		{ConnectionID: "c1", CompanyID: Company2, EntitySet: "customers"},
		{ConnectionID: "c2", CompanyID: Company, EntitySet: "vendors"},
	}
	got, err := s.AllSyncStates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var keys []store.ReplicaKey
	for _, st := range got {
		keys = append(keys, st.Key)
		if !st.LastSuccessAt.Equal(ok) || st.Throttled != int64(len(st.Key.EntitySet)) || st.LastError != st.Key.ConnectionID {
			t.Errorf("%+v: state not as stored: %+v", st.Key, st)
		}
		if st.Checkpoints != nil {
			t.Errorf("%+v: checkpoints listed: %s", st.Key, fmtCheckpoints(st.Checkpoints))
		}
	}
	if !slices.Equal(keys, want) {
		t.Fatalf("keys = %+v, want %+v", keys, want)
	}
}
