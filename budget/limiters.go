package budget

import (
	"context"
	"errors"
	"sync"

	"github.com/bizzjoiner/bcconnector/bc"
	"github.com/bizzjoiner/bcconnector/store"
)

// Limiters hands out one bc.Limiter per budget (Entra app and BC environment) for a whole
// process, each waiting for the process's share of the budget in the store, so that every
// client of one app in one environment, in this process and in the others on the
// database, stays within BC's limits together. It is safe for concurrent use.
type Limiters struct {
	st  store.BudgetStore
	opt Options

	mu     sync.Mutex
	closed bool
	byKey  map[string]limiter
}

type limiter struct {
	lim *bc.Limiter
	b   *Budget // nil: the limits are this process's alone
}

// NewLimiters returns the process's limiters on st. A nil st gives limiters of this
// process alone (tests, and code with no database). Every Budget shares opt, and one
// Holder name for the process (default DefaultHolder).
func NewLimiters(st store.BudgetStore, opt Options) *Limiters {
	if opt.Holder == "" {
		opt.Holder = DefaultHolder()
	}
	return &Limiters{st: st, opt: opt, byKey: map[string]limiter{}}
}

// Limiter returns the limiter of an app (tenant and client ID) in an environment, made on
// first use. When the key is incomplete (a connection still being typed in), or after
// Close, the limiter is this process's alone.
func (s *Limiters) Limiter(key store.BudgetKey) *bc.Limiter {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := key.String()
	if l, ok := s.byKey[k]; ok {
		return l.lim
	}
	lopt := bc.LimiterOptions{MaxInFlight: s.opt.MaxInFlight, RateLimit: s.opt.RateLimit, Window: s.opt.Window}
	var l limiter
	if s.st != nil && !s.closed && key.Validate() == nil {
		b, err := New(s.st, key, s.opt)
		if err == nil {
			l.b = b
			lopt.Shared = b
		}
	}
	l.lim = bc.NewLimiter(lopt)
	s.byKey[k] = l
	return l.lim
}

// Close closes every Budget, giving the slots and unsent requests back (until ctx ends).
func (s *Limiters) Close(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	var bs []*Budget
	for k, l := range s.byKey {
		if l.b != nil {
			bs = append(bs, l.b)
		}
		delete(s.byKey, k)
	}
	s.mu.Unlock()
	var errs []error
	for _, b := range bs {
		errs = append(errs, b.Close(ctx))
	}
	return errors.Join(errs...)
}
