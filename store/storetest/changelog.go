package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/store"
)

// RunChangeLog runs the conformance suite of store.ReplicaStore's change log: every
// change numbered once, without gaps, in commit order, whatever the number of writers.
func RunChangeLog(t *testing.T, open ReplicaOpener) {
	t.Helper()
	runTests(t, open, []test[store.ReplicaStore]{
		{"Concurrent", testChangeLogConcurrent},
		{"Paging", testChangesPaging},
		{"ReadersSeeCommitOrder", testChangeLogCommitOrder},
	})
}

// testChangeLogConcurrent runs 4 writers at once: the change log numbers every change
// exactly once, without gaps, and each writer's changes in its own order.
func testChangeLogConcurrent(t *testing.T, s store.ReplicaStore) {
	ensure(t, s, "customers", "vendors")
	const writers, batches, perBatch = 4, 15, 12
	lm := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		key := Key([]string{"customers", "vendors"}[w%2])
		if w >= 2 {
			key.CompanyID = Company2
		}
		wg.Go(func() {
			var prev int64
			for b := range batches {
				var rows []store.ReplicaRow
				for i := range perBatch {
					n := w*1_000_000 + b*1000 + i
					rows = append(rows, Customer(GUID(n), ETag(1), "x", lm))
				}
				// Each batch also updates the previous batch's first row.
				if b > 0 {
					rows = append(rows, Customer(GUID(w*1_000_000+(b-1)*1000), ETag(2), "y", lm))
				}
				res, err := s.ApplyBatch(context.Background(), store.ReplicaBatch{Key: key, Upserts: rows})
				if err != nil {
					errs <- err
					return
				}
				want := perBatch + min(b, 1)
				if res.Inserted+res.Updated != want || res.LastSeq < prev+int64(want) {
					errs <- fmt.Errorf("writer %d batch %d: %+v after LastSeq %d", w, b, res, prev)
					return
				}
				prev = res.LastSeq
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	all := allChanges(t, s, 0)
	total := writers * (batches*perBatch + batches - 1)
	if len(all) != total {
		t.Fatalf("%d changes, want %d", len(all), total)
	}
	last := map[string]int{} // writer -> last row number seen
	for i, c := range all {
		if c.Seq != int64(i+1) {
			t.Fatalf("change %d has seq %d: the log has a gap or is out of order", i, c.Seq)
		}
		var n int
		fmt.Sscanf(c.ID[:8], "%x", &n)
		w := fmt.Sprint(c.CompanyID, c.EntitySet)
		if c.Op == store.OpInsert {
			if prev, ok := last[w]; ok && n <= prev {
				t.Fatalf("writer %s: insert of %d logged after %d", w, n, prev)
			}
			last[w] = n
		}
	}
	if len(last) != writers {
		t.Fatalf("changes from %d writers, want %d", len(last), writers)
	}
}

func testChangesPaging(t *testing.T, s store.ReplicaStore) {
	ctx := t.Context()
	ensure(t, s, "customers")
	lm := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var rows []store.ReplicaRow
	for i := range 23 {
		rows = append(rows, Customer(GUID(i), ETag(1), "x", lm))
	}
	apply(t, s, store.ReplicaBatch{Key: Key("customers"), Upserts: rows})
	var seqs []int64
	for since := int64(0); ; {
		page, err := s.Changes(ctx, since, 5)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) > 5 {
			t.Fatalf("page of %d, limit 5", len(page))
		}
		if len(page) == 0 {
			break
		}
		for _, c := range page {
			seqs = append(seqs, c.Seq)
		}
		since = page[len(page)-1].Seq
	}
	if len(seqs) != 23 || seqs[0] != 1 || seqs[22] != 23 || !slices.IsSorted(seqs) {
		t.Fatalf("paged seqs = %v", seqs)
	}
	if page, _ := s.Changes(ctx, 20, 100); len(page) != 3 || page[0].Seq != 21 {
		t.Fatalf("Changes(20) = %+v", page)
	}
	if page, _ := s.Changes(ctx, 23, 100); len(page) != 0 {
		t.Fatalf("Changes(23) = %+v, want none", page)
	}
	_, err := s.Changes(ctx, 0, 0)
	wantErr(t, "Changes limit 0", err, store.ErrInvalid)
}

// testChangeLogCommitOrder: while writers commit batches, a follower reading the change
// log from where it stopped never sees a gap: a change becomes visible only after every
// change with a smaller Seq is. (A store that numbers changes early and commits late would
// let a follower skip a change for good.)
func testChangeLogCommitOrder(t *testing.T, s store.ReplicaStore) {
	ensure(t, s, "customers")
	const writers, batches, perBatch = 4, 12, 5
	lm := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	var done atomic.Bool
	errs := make(chan error, writers+1)
	for w := range writers {
		key := Key("customers")
		key.CompanyID = GUID(w)
		wg.Go(func() {
			for b := range batches {
				var rows []store.ReplicaRow
				for i := range perBatch {
					rows = append(rows, Customer(GUID(b*1000+i), ETag(1), "x", lm))
				}
				if _, err := s.ApplyBatch(context.Background(), store.ReplicaBatch{Key: key, Upserts: rows}); err != nil {
					errs <- fmt.Errorf("writer %d: %w", w, err)
					return
				}
			}
		})
	}
	var follower sync.WaitGroup
	var seen int64
	follower.Go(func() {
		for {
			finished := done.Load() // read before the page, so the last page is complete
			page, err := s.Changes(context.Background(), seen, 7)
			if err != nil {
				errs <- err
				return
			}
			for _, c := range page {
				if c.Seq != seen+1 {
					errs <- fmt.Errorf("follower at %d read seq %d: a later change was visible before an earlier one", seen, c.Seq)
					return
				}
				seen = c.Seq
			}
			if finished && len(page) == 0 {
				return
			}
		}
	})
	wg.Wait()
	done.Store(true)
	follower.Wait()
	collect(t, errs)
	if want := int64(writers * batches * perBatch); seen != want {
		t.Fatalf("follower read up to %d, want %d", seen, want)
	}
}
