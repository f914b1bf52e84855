package storetest

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/store"
)

// RunLeases runs the conformance suite of store.LeaseStore.
func RunLeases(t *testing.T, open func(t *testing.T) store.LeaseStore) {
	t.Helper()
	runTests(t, open, []test[store.LeaseStore]{
		{"HolderAndExpiry", testLeaseHolderAndExpiry},
		{"ConcurrentGrab", testLeaseConcurrentGrab},
	})
}

func testLeaseHolderAndExpiry(t *testing.T, s store.LeaseStore) {
	ctx := t.Context()
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	try := func(name, holder string, at time.Time, want bool) {
		t.Helper()
		got, err := s.TryLease(ctx, name, holder, at, time.Minute)
		if err != nil || got != want {
			t.Fatalf("TryLease(%s, %s, +%s) = %v, %v; want %v", name, holder, at.Sub(now), got, err, want)
		}
	}
	try("gauges", "a", now, true)
	try("gauges", "b", now.Add(30*time.Second), false)  // a holds it
	try("gauges", "a", now.Add(50*time.Second), true)   // a renews: until +110 s
	try("gauges", "b", now.Add(70*time.Second), false)  // still a's
	try("other", "b", now.Add(70*time.Second), true)    // leases are by name
	try("gauges", "b", now.Add(110*time.Second), true)  // a's lapsed
	try("gauges", "a", now.Add(111*time.Second), false) // now b's
	try("gauges", "a", now.Add(110*time.Second+time.Minute), true)
	if _, err := s.TryLease(ctx, "", "a", now, time.Minute); err == nil {
		t.Error("TryLease without a name: no error")
	}
	if _, err := s.TryLease(ctx, "x", "a", now, 0); err == nil {
		t.Error("TryLease with a zero TTL: no error")
	}
}

// testLeaseConcurrentGrab: of many holders grabbing a free lease at once, exactly one
// gets it.
func testLeaseConcurrentGrab(t *testing.T, s store.LeaseStore) {
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	var won atomic.Int64
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Go(func() {
			ok, err := s.TryLease(t.Context(), "gauges", fmt.Sprint("holder-", i), now, time.Minute)
			if err != nil {
				errs <- err
			}
			if ok {
				won.Add(1)
			}
		})
	}
	wg.Wait()
	collect(t, errs)
	if won.Load() != 1 {
		t.Fatalf("%d holders got the lease, want 1", won.Load())
	}
}
