package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/store"
)

// RunBudget runs the conformance tests of store.BudgetStore: slots never exceed the
// budget's Max across holders (also when they ask at once), an expired lease's slots come
// back, renewing keeps them, waiting holders get their fair share, the request window
// grants exactly its limit (also to concurrent callers) and frees reservations as they
// leave the span, returned requests count no more, budgets of other apps or environments
// are separate, and bad input is ErrInvalid.
func RunBudget(t *testing.T, open func(*testing.T) store.BudgetStore) {
	t.Helper()
	runTests(t, open, []test[store.BudgetStore]{
		{"SlotsNeverExceedMax", testSlotsNeverExceedMax},
		{"ConcurrentHoldersShareMax", testConcurrentHoldersShareMax},
		{"ExpiredLeaseComesBack", testExpiredLeaseComesBack},
		{"RenewKeepsLease", testRenewKeepsLease},
		{"ReleaseGivesSlotsBack", testReleaseGivesSlotsBack},
		{"WaitingHolderGetsFairShare", testWaitingHolderGetsFairShare},
		{"RequestWindow", testRequestWindow},
		{"ConcurrentReservationsGrantLimit", testConcurrentReservationsGrantLimit},
		{"ReturnedRequestsFreeBudget", testReturnedRequestsFreeBudget},
		{"BudgetsAreSeparate", testBudgetsAreSeparate},
		{"BudgetInvalidInput", testBudgetInvalidInput},
	})
}

// budgetT0 is a fixed time with a fraction of a second, so rounding shows.
var budgetT0 = time.Date(2026, 12, 2, 10, 0, 0, 500_000_000, time.UTC)

var budgetKey = store.BudgetKey{TenantID: Tenant, ClientID: Client, Environment: "Production"}

func lease(t *testing.T, s store.BudgetStore, holder string, keep, want int, now time.Time) store.SlotGrant {
	t.Helper()
	g, err := s.LeaseSlots(t.Context(), store.SlotLease{Key: budgetKey, Holder: holder, Keep: keep, Want: want, Max: 5, Now: now, TTL: 6 * time.Second})
	if err != nil {
		t.Fatalf("LeaseSlots(%s, keep %d, want %d): %v", holder, keep, want, err)
	}
	if g.Slots < 0 || g.Slots > want {
		t.Fatalf("LeaseSlots(%s, want %d) granted %d", holder, want, g.Slots)
	}
	return g
}

func wantSlots(t *testing.T, s store.BudgetStore, holder string, keep, want int, now time.Time, slots int) {
	t.Helper()
	if g := lease(t, s, holder, keep, want, now); g.Slots != slots {
		t.Fatalf("%s at +%s (keep %d, want %d) got %d slots, want %d", holder, now.Sub(budgetT0), keep, want, g.Slots, slots)
	}
}

func testSlotsNeverExceedMax(t *testing.T, s store.BudgetStore) {
	wantSlots(t, s, "a", 0, 3, budgetT0, 3)
	g := lease(t, s, "b", 0, 5, budgetT0)
	if g.Slots != 2 || g.Holders != 2 {
		t.Fatalf("b got %+v, want the 2 slots a left and 2 holders", g)
	}
	wantSlots(t, s, "c", 0, 5, budgetT0, 0)
	// a renews asking for all 5: the others hold 2, so it keeps 3.
	wantSlots(t, s, "a", 3, 5, budgetT0.Add(time.Second), 3)
}

func testConcurrentHoldersShareMax(t *testing.T, s store.BudgetStore) {
	const holders = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	errs := make(chan error, holders)
	for i := range holders {
		wg.Go(func() {
			g, err := s.LeaseSlots(t.Context(), store.SlotLease{Key: budgetKey, Holder: fmt.Sprintf("h%d", i), Want: 5, Max: 5, Now: budgetT0, TTL: time.Minute})
			if err != nil {
				errs <- err
				return
			}
			mu.Lock()
			total += g.Slots
			mu.Unlock()
		})
	}
	wg.Wait()
	collect(t, errs)
	if total != 5 {
		t.Fatalf("%d holders asking at once were granted %d slots in all, want exactly the budget's 5", holders, total)
	}
}

func testExpiredLeaseComesBack(t *testing.T, s store.BudgetStore) {
	wantSlots(t, s, "a", 0, 5, budgetT0, 5)
	// The lease lasts 6 s: a millisecond before it ends, nothing is free.
	wantSlots(t, s, "b", 0, 5, budgetT0.Add(6*time.Second-time.Millisecond), 0)
	// a crashed and never renewed: at the end of its lease b gets everything.
	wantSlots(t, s, "b", 0, 5, budgetT0.Add(6*time.Second), 5)
	// a comes back late: its slots are gone.
	wantSlots(t, s, "a", 0, 5, budgetT0.Add(7*time.Second), 0)
}

func testRenewKeepsLease(t *testing.T, s store.BudgetStore) {
	wantSlots(t, s, "a", 0, 5, budgetT0, 5)
	wantSlots(t, s, "a", 5, 5, budgetT0.Add(5*time.Second), 5)
	wantSlots(t, s, "b", 0, 5, budgetT0.Add(10*time.Second), 0)
	wantSlots(t, s, "b", 0, 5, budgetT0.Add(11*time.Second), 5)
}

func testReleaseGivesSlotsBack(t *testing.T, s store.BudgetStore) {
	wantSlots(t, s, "a", 0, 5, budgetT0, 5)
	wantSlots(t, s, "b", 0, 5, budgetT0, 0)
	if g := lease(t, s, "a", 0, 0, budgetT0); g.Slots != 0 || g.Holders != 1 {
		t.Fatalf("release: %+v, want 0 slots and 1 holder left (b)", g)
	}
	wantSlots(t, s, "b", 0, 5, budgetT0, 5)
}

func testWaitingHolderGetsFairShare(t *testing.T, s store.BudgetStore) {
	wantSlots(t, s, "a", 0, 5, budgetT0, 5)
	// b waits: while a uses all 5 it gets none, but a learns that b waits.
	if g := lease(t, s, "b", 0, 5, budgetT0); g.Slots != 0 || g.Holders != 2 {
		t.Fatalf("b: %+v, want 0 slots, 2 holders", g)
	}
	// a still uses all 5 and may keep them, but learns that its share is 3.
	if g := lease(t, s, "a", 5, 5, budgetT0.Add(time.Second)); g.Slots != 5 || g.Share != 3 {
		t.Fatalf("a using 5 while b waits: %+v, want 5 slots and a share of 3", g)
	}
	// Once a uses only 2, it is cut to its fair share: 3 of 5 (it holds more, so it keeps
	// the odd slot), and b gets the other 2.
	wantSlots(t, s, "a", 2, 5, budgetT0.Add(2*time.Second), 3)
	wantSlots(t, s, "b", 0, 5, budgetT0.Add(2*time.Second), 2)
	// A third holder: shares become 2, 2, 1, as the holders give slots back.
	wantSlots(t, s, "c", 0, 5, budgetT0.Add(3*time.Second), 0)
	wantSlots(t, s, "a", 0, 5, budgetT0.Add(3*time.Second), 2)
	wantSlots(t, s, "c", 0, 5, budgetT0.Add(3*time.Second), 1)
	// A holder that wants only one slot leaves the rest to the others.
	wantSlots(t, s, "c", 0, 1, budgetT0.Add(4*time.Second), 1)
	wantSlots(t, s, "a", 0, 5, budgetT0.Add(4*time.Second), 2)
	wantSlots(t, s, "b", 0, 5, budgetT0.Add(4*time.Second), 2)
}

func reserve(t *testing.T, s store.BudgetStore, want int, now time.Time) store.RequestGrant {
	t.Helper()
	g, err := s.ReserveRequests(t.Context(), store.RequestReservation{Key: budgetKey, Want: want, Limit: 100, Span: 5 * time.Minute, Now: now})
	if err != nil {
		t.Fatalf("ReserveRequests(%d at +%s): %v", want, now.Sub(budgetT0), err)
	}
	return g
}

func testRequestWindow(t *testing.T, s store.BudgetStore) {
	first := reserve(t, s, 60, budgetT0)
	if first.Granted != 60 || !first.At.Equal(budgetT0.Truncate(time.Second).Add(time.Second)) || !first.RetryAt.IsZero() {
		t.Fatalf("first reservation: %+v, want 60 counted at the next whole second", first)
	}
	second := reserve(t, s, 60, budgetT0.Add(time.Second))
	wantLeave := first.At.Add(5 * time.Minute)
	if second.Granted != 40 || !second.RetryAt.Equal(wantLeave) {
		t.Fatalf("second reservation: %+v, want the 40 left of 100 and RetryAt %s (when the first leaves the span)", second, wantLeave)
	}
	if g := reserve(t, s, 1, wantLeave.Add(-time.Millisecond)); g.Granted != 0 {
		t.Fatalf("just before the first reservation leaves the span: granted %d, want 0", g.Granted)
	}
	if g := reserve(t, s, 80, wantLeave); g.Granted != 60 {
		t.Fatalf("when the first reservation left the span: granted %d, want its 60", g.Granted)
	}
}

func testConcurrentReservationsGrantLimit(t *testing.T, s store.BudgetStore) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			for {
				g, err := s.ReserveRequests(t.Context(), store.RequestReservation{Key: budgetKey, Want: 7, Limit: 100, Span: 5 * time.Minute, Now: budgetT0})
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				total += g.Granted
				mu.Unlock()
				if g.Granted < 7 {
					return
				}
			}
		})
	}
	wg.Wait()
	collect(t, errs)
	if total != 100 {
		t.Fatalf("concurrent reservations granted %d requests, want exactly the limit of 100", total)
	}
}

func testReturnedRequestsFreeBudget(t *testing.T, s store.BudgetStore) {
	g := reserve(t, s, 100, budgetT0)
	if err := s.ReturnRequests(t.Context(), budgetKey, g.At, 30); err != nil {
		t.Fatal(err)
	}
	if again := reserve(t, s, 50, budgetT0.Add(time.Second)); again.Granted != 30 {
		t.Fatalf("after returning 30: granted %d, want 30", again.Granted)
	}
	// Returning more than is left never makes room that was not reserved.
	if err := s.ReturnRequests(t.Context(), budgetKey, g.At, 500); err != nil {
		t.Fatal(err)
	}
	if again := reserve(t, s, 200, budgetT0.Add(2*time.Second)); again.Granted != 70 {
		t.Fatalf("after returning everything of the first block: granted %d, want its 70", again.Granted)
	}
}

func testBudgetsAreSeparate(t *testing.T, s store.BudgetStore) {
	wantSlots(t, s, "a", 0, 5, budgetT0, 5)
	reserve(t, s, 100, budgetT0)
	sandbox := budgetKey
	sandbox.Environment = "Sandbox"
	g, err := s.LeaseSlots(t.Context(), store.SlotLease{Key: sandbox, Holder: "b", Want: 5, Max: 5, Now: budgetT0, TTL: time.Minute})
	if err != nil || g.Slots != 5 {
		t.Fatalf("another environment's slots: %+v, %v; want all 5", g, err)
	}
	r, err := s.ReserveRequests(t.Context(), store.RequestReservation{Key: sandbox, Want: 100, Limit: 100, Span: time.Minute, Now: budgetT0})
	if err != nil || r.Granted != 100 {
		t.Fatalf("another environment's requests: %+v, %v; want all 100", r, err)
	}
	// GUIDs and environment names are case-insensitive: the same budget.
	upper := store.BudgetKey{TenantID: "72f988bf-86f1-41af-91ab-2d7cd011db47", ClientID: Client, Environment: "PRODUCTION"}
	g, err = s.LeaseSlots(t.Context(), store.SlotLease{Key: upper, Holder: "c", Want: 5, Max: 5, Now: budgetT0, TTL: time.Minute})
	if err != nil || g.Slots != 0 {
		t.Fatalf("the same budget spelt in other case: %+v, %v; want 0 slots (a holds them)", g, err)
	}
}

func testBudgetInvalidInput(t *testing.T, s store.BudgetStore) {
	ok := store.SlotLease{Key: budgetKey, Holder: "a", Want: 1, Max: 5, Now: budgetT0, TTL: time.Second}
	for _, tc := range []struct {
		name string
		edit func(*store.SlotLease)
	}{
		{"no environment", func(l *store.SlotLease) { l.Key.Environment = "" }},
		{"no holder", func(l *store.SlotLease) { l.Holder = " " }},
		{"want above max", func(l *store.SlotLease) { l.Want = 6 }},
		{"keep above want", func(l *store.SlotLease) { l.Keep = 2 }},
		{"no TTL", func(l *store.SlotLease) { l.TTL = 0 }},
		{"no max", func(l *store.SlotLease) { l.Max, l.Want = 0, 0 }},
		{"no time", func(l *store.SlotLease) { l.Now = time.Time{} }},
	} {
		l := ok
		tc.edit(&l)
		_, err := s.LeaseSlots(t.Context(), l)
		wantErr(t, "LeaseSlots with "+tc.name, err, store.ErrInvalid)
	}
	okR := store.RequestReservation{Key: budgetKey, Want: 1, Limit: 5, Span: time.Minute, Now: budgetT0}
	for _, tc := range []struct {
		name string
		edit func(*store.RequestReservation)
	}{
		{"no client", func(r *store.RequestReservation) { r.Key.ClientID = "" }},
		{"want 0", func(r *store.RequestReservation) { r.Want = 0 }},
		{"no limit", func(r *store.RequestReservation) { r.Limit = 0 }},
		{"short span", func(r *store.RequestReservation) { r.Span = time.Millisecond }},
		{"no time", func(r *store.RequestReservation) { r.Now = time.Time{} }},
	} {
		r := okR
		tc.edit(&r)
		_, err := s.ReserveRequests(t.Context(), r)
		wantErr(t, "ReserveRequests with "+tc.name, err, store.ErrInvalid)
	}
	wantErr(t, "ReturnRequests without tenant", s.ReturnRequests(t.Context(), store.BudgetKey{ClientID: Client, Environment: "x"}, budgetT0, 1), store.ErrInvalid)
}
