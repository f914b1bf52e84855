package budget_test

import (
	"context"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/bc"
	"github.com/bizzjoiner/bcconnector/budget"
)

// BenchmarkLimiter measures what a BC request pays to pass the limiter: the process's own
// limits alone, and with the budget shared on a SQLite file or PostgreSQL (one store
// transaction per Block of 50 requests; the slots stay leased while requests keep
// coming). The rate limits are set out of reach: the cost is measured, not the waiting.
func BenchmarkLimiter(b *testing.B) {
	local := bc.LimiterOptions{RateLimit: 1 << 20, Window: time.Millisecond}
	run := func(b *testing.B, lim *bc.Limiter) {
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			release, err := lim.Acquire(ctx)
			if err != nil {
				b.Fatal(err)
			}
			release()
		}
	}
	b.Run("local", func(b *testing.B) { run(b, bc.NewLimiter(local)) })
	for _, db := range []struct {
		name string
		open func(testing.TB) database
	}{{"sqlite", sqliteFile}, {"postgres", postgresSchema}} {
		b.Run(db.name, func(b *testing.B) {
			stores, closeStores := db.open(b)(b, 1)
			defer closeStores()
			bud, err := budget.New(stores[0], key, budget.Options{RateLimit: 1 << 30})
			if err != nil {
				b.Fatal(err)
			}
			defer bud.Close(context.Background())
			opt := local
			opt.Shared = bud
			run(b, bc.NewLimiter(opt))
		})
	}
}
