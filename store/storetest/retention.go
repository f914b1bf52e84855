package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/store"
)

// RunChangeRetention runs the conformance suite of the change log's retention
// (ReplicaStore.PruneChanges): only a prefix of whole segments goes, each bound (age,
// size, floor) holds, a reader behind what was pruned gets store.ErrCursorExpired, and
// pruners at once (instances) never prune a change twice.
func RunChangeRetention(t *testing.T, open ReplicaOpener) {
	t.Helper()
	runTests(t, open, []test[store.ReplicaStore]{
		{"Bounds", testRetentionBounds},
		{"ExpiredCursor", testRetentionExpiredCursor},
		{"Concurrent", testRetentionConcurrent},
	})
}

// logSegments writes n batches of per changes each, the i-th at t0 + i hours, and
// returns t0 (each batch is one segment).
func logSegments(t *testing.T, s store.ReplicaStore, from, n, per int) time.Time {
	t.Helper()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	lm := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := from; i < from+n; i++ {
		var rows []store.ReplicaRow
		for j := range per {
			rows = append(rows, Customer(GUID(i*1000+j), ETag(1), "x", lm))
		}
		apply(t, s, store.ReplicaBatch{Key: Key("customers"), Upserts: rows, Now: t0.Add(time.Duration(i) * time.Hour)})
	}
	return t0
}

func prune(t *testing.T, s store.ReplicaStore, p store.ChangePrune) store.ChangePruneResult {
	t.Helper()
	res, err := s.PruneChanges(t.Context(), p)
	if err != nil {
		t.Fatalf("PruneChanges(%+v): %v", p, err)
	}
	return res
}

// testRetentionBounds: 5 segments of 10 changes written an hour apart (1-10 … 41-50).
func testRetentionBounds(t *testing.T, s store.ReplicaStore) {
	ensure(t, s, "customers")
	t0 := logSegments(t, s, 0, 5, 10)
	const all = 1 << 40
	if res := prune(t, s, store.ChangePrune{Floor: all}); res != (store.ChangePruneResult{}) {
		t.Fatalf("no bound pruned %+v", res)
	}
	// Age: the segments written before t0+1h30m (1-10, 11-20).
	if res := prune(t, s, store.ChangePrune{Before: t0.Add(90 * time.Minute), Floor: all}); res != (store.ChangePruneResult{Changes: 20, Segments: 2, PrunedThrough: 20}) {
		t.Fatalf("age bound: %+v, want 20 changes in 2 segments", res)
	}
	// Size: keep the newest 25 changes: 21-30 holds changes older than those (21-25),
	// but also newer ones, so only whole segments before 26 go: none more.
	if res := prune(t, s, store.ChangePrune{MaxEntries: 25, Floor: all}); res != (store.ChangePruneResult{PrunedThrough: 20}) {
		t.Fatalf("size bound 25: %+v, want nothing more pruned", res)
	}
	if res := prune(t, s, store.ChangePrune{MaxEntries: 20, Floor: all}); res != (store.ChangePruneResult{Changes: 10, Segments: 1, PrunedThrough: 30}) {
		t.Fatalf("size bound 20: %+v, want 21-30 pruned", res)
	}
	// Floor: everything is old, but the floor is in 41-50 and 31-40 is the last whole
	// segment at or before it.
	if res := prune(t, s, store.ChangePrune{Before: t0.Add(100 * time.Hour), Floor: 45}); res != (store.ChangePruneResult{Changes: 10, Segments: 1, PrunedThrough: 40}) {
		t.Fatalf("floor 45: %+v, want 31-40 pruned", res)
	}
	if got, err := s.ChangesPrunedThrough(t.Context()); err != nil || got != 40 {
		t.Fatalf("ChangesPrunedThrough = %d, %v; want 40", got, err)
	}
	page, err := s.Changes(t.Context(), 40, 100)
	if err != nil || len(page) != 10 || page[0].Seq != 41 {
		t.Fatalf("Changes(40) after pruning = %d changes, %v; want 41-50", len(page), err)
	}
	// Everything: the log is empty, its numbers go on.
	if res := prune(t, s, store.ChangePrune{Before: t0.Add(100 * time.Hour), Floor: all}); res.PrunedThrough != 50 || res.Changes != 10 {
		t.Fatalf("prune all: %+v", res)
	}
	if page, err := s.Changes(t.Context(), 50, 100); err != nil || len(page) != 0 {
		t.Fatalf("Changes(50) of an empty, pruned log = %v, %v; want none, no error", page, err)
	}
	logSegments(t, s, 5, 1, 3)
	if page, err := s.Changes(t.Context(), 50, 100); err != nil || len(page) != 3 || page[0].Seq != 51 {
		t.Fatalf("Changes(50) after a new batch = %v, %v; want 51-53", page, err)
	}
}

// testRetentionExpiredCursor: a cursor before the pruned position is refused with its
// numbers, one at or after it reads on.
func testRetentionExpiredCursor(t *testing.T, s store.ReplicaStore) {
	ensure(t, s, "customers")
	t0 := logSegments(t, s, 0, 3, 4) // 1-4, 5-8, 9-12
	prune(t, s, store.ChangePrune{Before: t0.Add(90 * time.Minute), Floor: 12})
	for _, since := range []int64{0, 3, 7} {
		_, err := s.Changes(t.Context(), since, 10)
		var ce *store.CursorExpiredError
		if !errors.As(err, &ce) || !errors.Is(err, store.ErrCursorExpired) || ce.After != since || ce.PrunedThrough != 8 {
			t.Fatalf("Changes(%d) = %v; want a CursorExpiredError{After: %d, PrunedThrough: 8}", since, err, since)
		}
	}
	for _, since := range []int64{8, 10, 12} {
		if _, err := s.Changes(t.Context(), since, 10); err != nil {
			t.Fatalf("Changes(%d) = %v; the log keeps the changes after 8", since, err)
		}
	}
}

// testRetentionConcurrent: 4 pruners at once with growing bounds, and a reader: every
// change is pruned by exactly one call (the counts add up to the pruned position), the
// position only grows, and the reader sees either pages or ErrCursorExpired.
func testRetentionConcurrent(t *testing.T, s store.ReplicaStore) {
	ensure(t, s, "customers")
	const segs, per = 40, 3
	logSegments(t, s, 0, segs, per)
	var mu sync.Mutex
	var total int64
	var wg sync.WaitGroup
	errs := make(chan error, 5)
	for w := range 4 {
		wg.Go(func() {
			for keep := int64(segs * per); keep >= int64(w*per); keep -= 7 {
				res, err := s.PruneChanges(context.Background(), store.ChangePrune{MaxEntries: max(keep, 1), Floor: 1 << 40})
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				total += res.Changes
				mu.Unlock()
			}
		})
	}
	wg.Go(func() {
		var since int64
		for since < segs*per {
			page, err := s.Changes(context.Background(), since, 5)
			var ce *store.CursorExpiredError
			switch {
			case errors.As(err, &ce):
				if ce.PrunedThrough <= since {
					errs <- err
					return
				}
				since = ce.PrunedThrough
			case err != nil:
				errs <- err
				return
			case len(page) == 0:
				errs <- errors.New("an empty page before the end of the log")
				return
			case page[0].Seq != since+1:
				errs <- errors.New("a page that does not start right after the cursor, without ErrCursorExpired")
				return
			default:
				since = page[len(page)-1].Seq
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	through, err := s.ChangesPrunedThrough(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if through != segs*per-per || total != through {
		t.Fatalf("pruned through %d, the calls counted %d; want %d both (all but the last segment)", through, total, segs*per-per)
	}
}
