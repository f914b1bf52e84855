package storetest

import (
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/store"
)

// MarksOpener returns a new, empty store whose clock is now, and a function that counts
// the marks it keeps (store.ReadMark); both are store-specific, so RunMarksPruned is not
// part of Run.
type MarksOpener func(t *testing.T, now func() time.Time) (s store.ReplicaStore, marks func() int)

// RunMarksPruned checks that marks older than store.MarkRetention are deleted by a later
// batch that marks, at most every PruneEvery (10 minutes), and younger ones stay.
func RunMarksPruned(t *testing.T, open MarksOpener) {
	t.Helper()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s, marks := open(t, func() time.Time { return now })
	ensure(t, s, "customers")
	put := func(n, etag int) {
		t.Helper()
		apply(t, s, store.ReplicaBatch{Key: Key("customers"), Upserts: []store.ReplicaRow{Customer(GUID(n), ETag(etag), "C", now)}})
	}
	want := func(n int, what string) {
		t.Helper()
		if got := marks(); got != n {
			t.Fatalf("%d marks, want %d (%s)", got, n, what)
		}
	}
	put(1, 1)
	now = now.Add(store.MarkRetention / 2)
	put(2, 1) // prunes (10 minutes passed), but 1 is younger than MarkRetention
	want(2, "ids 1 and 2")
	now = now.Add(store.MarkRetention/2 + time.Minute)
	put(3, 1) // 1 is older than MarkRetention now, 2 is not
	want(2, "ids 2 and 3")
	now = now.Add(store.MarkRetention)
	put(3, 2) // marks 3 again; prunes 2
	put(4, 1) // within 10 minutes of that prune: prunes nothing
	want(2, "ids 3 and 4")
}
