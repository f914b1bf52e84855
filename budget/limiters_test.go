package budget_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bizzjoiner/bcconnector/budget"
	"github.com/bizzjoiner/bcconnector/store"
)

// TestLimitersShareTheBudget gives two processes their Limiters on one SQLite file: one
// limiter per app and environment in a process, whose requests count against the budget
// of every process, and Close gives the process's share back.
func TestLimitersShareTheBudget(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		stores, closeStores := sqliteFile(t)(t, 2)
		defer closeStores()
		a := budget.NewLimiters(stores[0], budget.Options{})
		b := budget.NewLimiters(stores[1], budget.Options{})
		defer b.Close(context.Background())
		la := a.Limiter(key)
		if again := a.Limiter(store.BudgetKey{TenantID: key.TenantID, ClientID: key.ClientID, Environment: "PRODUCTION"}); again != la {
			t.Error("the same app and environment (names in other case) got a second limiter")
		}
		if other := a.Limiter(store.BudgetKey{TenantID: key.TenantID, ClientID: key.ClientID, Environment: "Sandbox"}); other == la {
			t.Error("another environment shares the limiter; BC counts per environment")
		}
		for range 5 {
			if _, err := la.Acquire(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
		lb := b.Limiter(key)
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		if _, err := lb.Acquire(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("the other process's request while all 5 slots are used = %v, want it to wait", err)
		}
		if err := a.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		release, err := lb.Acquire(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		release()
		if d := time.Since(start); d > budget.DefaultPoll {
			t.Errorf("the other process waited %v after the first closed; want its next poll (%v)", d, budget.DefaultPoll)
		}
		// An incomplete key (a connection still being typed in) gets a limiter of this
		// process alone.
		if l := b.Limiter(store.BudgetKey{TenantID: key.TenantID}); l == nil {
			t.Error("no limiter for an incomplete key")
		}
	})
}
