// Package budget holds one process's share of a BC budget that every process on the
// database spends: BC allows one Entra app 5 requests in processing and 6,000 per 5-minute
// window per environment (bc-entra-facts §5), however many serve instances and CLI
// commands call it. A [Budget] leases processing slots from a store.BudgetStore for a
// short TTL, renews the lease by a heartbeat while it uses them and gives them back when
// it is idle, when other processes wait (down to its fair share) and when it closes; it
// reserves requests of the rate window in blocks and gives back the unused ones. A
// process that dies keeps its slots only until its lease expires, one TTL.
//
// A Budget is a bc.SharedLimit: bc.LimiterOptions.Shared makes a Client's limiter wait
// for it after the process's own limits.
package budget

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/bizzjoiner/bcconnector/bc"
	"github.com/bizzjoiner/bcconnector/store"
)

// Defaults of Options.
const (
	// DefaultTTL is how long a lease of slots lasts without renewal: a dead process's
	// slots come back after at most this long.
	DefaultTTL = 10 * time.Second
	// DefaultBlock is how many requests a Budget reserves from the window at once: one
	// store transaction per 50 requests.
	DefaultBlock = 50
	// DefaultHold is how long reserved requests may wait to be sent; unsent ones are
	// given back after it.
	DefaultHold = 10 * time.Second
	// DefaultPoll is how often a Budget whose requests wait for slots other processes
	// hold asks the store again.
	DefaultPoll = 100 * time.Millisecond
)

// ErrClosed is what Acquire returns after Close.
var ErrClosed = errors.New("budget: closed")

// Options configures a Budget; zero fields take the defaults.
type Options struct {
	// Holder names this process in the store's leases; default host name, process ID and
	// a random part, unique per process run.
	Holder string
	// MaxInFlight is the budget's processing slots; default 5 (bc.DefaultMaxInFlight).
	MaxInFlight int
	// RateLimit is how many requests the budget allows per Window; default 5,400
	// (bc.DefaultRateLimit, 10% below BC's 6,000 for clock skew).
	RateLimit int
	// Window is BC's sliding window; default 5 minutes (bc.DefaultWindow).
	Window time.Duration
	// TTL is how long a lease lasts; it is renewed every TTL/3 while held, and a request
	// starts only in the first two thirds of it. Default 10 s (DefaultTTL).
	TTL time.Duration
	// Block is how many requests are reserved at once; default 50 (DefaultBlock).
	Block int
	// Hold is how long reserved requests may wait before they are sent; default 10 s
	// (DefaultHold). The store counts a reservation for Window + Hold + 1 s, so it counts
	// each request at least as long as BC does.
	Hold time.Duration
	// Poll is how often requests short of slots ask the store again; default 100 ms
	// (DefaultPoll).
	Poll time.Duration
	// Logger receives a warning when the store fails; default discard.
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.Holder == "" {
		o.Holder = DefaultHolder()
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = bc.DefaultMaxInFlight
	}
	if o.RateLimit <= 0 {
		o.RateLimit = bc.DefaultRateLimit
	}
	if o.Window <= 0 {
		o.Window = bc.DefaultWindow
	}
	if o.TTL <= 0 {
		o.TTL = DefaultTTL
	}
	if o.Block <= 0 {
		o.Block = DefaultBlock
	}
	if o.Hold <= 0 {
		o.Hold = DefaultHold
	}
	if o.Poll <= 0 {
		o.Poll = DefaultPoll
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// DefaultHolder returns a name for this process run: host name, process ID and a random
// part, so that a restarted process never takes over the lease of the one before.
func DefaultHolder() string {
	host, _ := os.Hostname()
	var r [4]byte
	_, _ = rand.Read(r[:])
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(r[:]))
}

// Budget is one process's share of a budget: the slots its lease holds and the requests
// it reserved. It is safe for concurrent use; one goroutine of its own talks to the store.
type Budget struct {
	st   store.BudgetStore
	key  store.BudgetKey
	opt  Options
	wake chan struct{} // tells run to look again (capacity 1)
	done chan struct{} // closed when run has returned

	mu      sync.Mutex
	changed chan struct{} // closed (and replaced) when waiters should look again
	closed  bool
	inUse   int // requests holding a slot
	waiting int // Acquire calls waiting
	peak    int // highest inUse+waiting since the last lease

	leasedAt  time.Time // when the live lease was taken; zero: none
	held      int       // slots the lease holds
	share     int       // the fair share the store gave
	contended bool      // other holders want slots
	pollAt    time.Time // earliest next lease while requests are short of slots
	// leasing is set while a LeaseSlots call is in flight, and leaseKeep is the Keep it
	// reported: the store may hand every slot above Keep to another process, so no request
	// may start beyond it until the answer is in (else both processes would use them).
	leasing   bool
	leaseKeep int

	permits      int       // reserved requests not yet sent
	permitsAt    time.Time // the reservation's time in the store
	permitsUntil time.Time // the permits may be sent until then
	reserveAt    time.Time // earliest next reservation after the window was full

	errGen int   // counts failed store calls
	err    error // the last failure
}

// Stats is a snapshot of a Budget.
type Stats struct {
	Held    int // slots the lease holds
	InUse   int // requests holding a slot
	Waiting int // Acquire calls waiting
	Permits int // reserved requests not yet sent
}

// New returns the process's share of the budget key in st and starts its goroutine;
// Close stops it and gives everything back.
func New(st store.BudgetStore, key store.BudgetKey, opt Options) (*Budget, error) {
	if err := key.Validate(); err != nil {
		return nil, err
	}
	b := &Budget{
		st: st, key: key, opt: opt.withDefaults(),
		wake: make(chan struct{}, 1), done: make(chan struct{}), changed: make(chan struct{}),
	}
	go b.run()
	return b, nil
}

// Key returns the budget's key.
func (b *Budget) Key() store.BudgetKey { return b.key }

// Stats returns a snapshot.
func (b *Budget) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	return Stats{Held: b.held, InUse: b.inUse, Waiting: b.waiting, Permits: b.permits}
}

// Acquire waits until the process holds a free slot and a reserved request, takes both,
// and returns the function that gives the slot back (call it once the response body is
// closed; later calls are no-ops). It fails when ctx ends, after Close, and when the
// store fails while it waits. It implements bc.SharedLimit.
func (b *Budget) Acquire(ctx context.Context) (release func(), err error) {
	b.mu.Lock()
	b.waiting++
	b.peak = max(b.peak, b.inUse+b.waiting)
	gen := b.errGen
	for {
		switch {
		case b.closed:
			b.waiting--
			b.mu.Unlock()
			return nil, ErrClosed
		case b.free(time.Now()) > 0 && b.permits > 0:
			b.waiting--
			b.inUse++
			b.permits--
			b.mu.Unlock()
			var once sync.Once
			return func() { once.Do(b.release) }, nil
		case b.errGen != gen:
			err := b.err
			b.waiting--
			b.mu.Unlock()
			return nil, fmt.Errorf("BC budget shared with the other processes on the database: %w", err)
		}
		ch := b.changed
		b.mu.Unlock()
		b.kick()
		select {
		case <-ch:
		case <-ctx.Done():
			b.mu.Lock()
			b.waiting--
			b.mu.Unlock()
			b.kick()
			return nil, ctx.Err()
		}
		b.mu.Lock()
	}
}

func (b *Budget) release() {
	b.mu.Lock()
	b.inUse--
	if b.waiting > 0 {
		b.broadcast()
	}
	contended := b.contended
	b.mu.Unlock()
	if contended {
		// Others wait: the slot may have to go back to the store now.
		b.kick()
	}
}

// free returns how many more requests may start now: under a lease in the first two
// thirds of its TTL (the heartbeat renews it after one third), within the slots it holds
// and the fair share. Called with mu held.
func (b *Budget) free(now time.Time) int {
	if b.leasedAt.IsZero() || !now.Before(b.leasedAt.Add(b.opt.TTL*2/3)) || now.Before(b.leasedAt) {
		return 0
	}
	limit := min(b.held, b.share)
	if b.leasing {
		limit = min(limit, b.leaseKeep)
	}
	return limit - b.inUse
}

// broadcast wakes every waiter. Called with mu held.
func (b *Budget) broadcast() {
	close(b.changed)
	b.changed = make(chan struct{})
}

func (b *Budget) kick() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// Close gives the slots and the unsent requests back and stops the Budget; requests
// waiting in Acquire fail with ErrClosed. It waits for the store until ctx ends.
func (b *Budget) Close(ctx context.Context) error {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		b.broadcast()
	}
	b.mu.Unlock()
	b.kick()
	select {
	case <-b.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// step is what run does next.
type step struct {
	lease      bool
	keep, want int
	reserve    bool
	giveBack   int       // unsent requests to return
	giveBackAt time.Time // of their reservation
	exit       bool
	wait       time.Duration // until the next thing to do; 0: only when woken
}

// next decides the next step at now. Called with mu held.
func (b *Budget) next(now time.Time) step {
	var s step
	if b.permits > 0 && (b.closed || !now.Before(b.permitsUntil)) {
		s.giveBack, s.giveBackAt = b.permits, b.permitsAt
		b.permits = 0
	}
	if b.closed {
		s.lease = !b.leasedAt.IsZero()
		s.exit = true
		return s
	}
	demand := min(b.inUse+b.waiting, b.opt.MaxInFlight)
	s.keep = min(b.inUse, demand)
	s.want = demand
	if !b.contended {
		// Alone: keep the slots used since the last lease until the next heartbeat, so a
		// steady stream of requests does not lease and give back all the time.
		s.want = max(demand, min(b.peak, b.opt.MaxInFlight))
	}
	leased := !b.leasedAt.IsZero()
	renewAt := b.leasedAt.Add(b.opt.TTL / 3)
	short := b.waiting > 0 && b.free(now) <= 0
	wakeAt := time.Time{}
	soonest := func(t time.Time) {
		if wakeAt.IsZero() || t.Before(wakeAt) {
			wakeAt = t
		}
	}
	// Ask the store when requests wait for slots, when the heartbeat is due, and when
	// others wait while this process holds slots it does not use; after a failure or a
	// refusal not before pollAt.
	due := short || (leased && !now.Before(renewAt)) || (leased && b.contended && b.held > s.want)
	if due {
		if !now.Before(b.pollAt) {
			s.lease = true
		} else {
			soonest(b.pollAt)
		}
	}
	if leased && now.Before(renewAt) {
		soonest(renewAt)
	}
	if b.permits > 0 {
		soonest(b.permitsUntil)
	}
	if b.waiting > 0 && b.permits == 0 {
		if !now.Before(b.reserveAt) {
			s.reserve = true
		} else {
			soonest(b.reserveAt)
		}
	}
	if !wakeAt.IsZero() {
		s.wait = max(wakeAt.Sub(now), time.Millisecond)
	}
	return s
}

func (b *Budget) run() {
	defer close(b.done)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		b.mu.Lock()
		s := b.next(time.Now())
		b.mu.Unlock()
		if s.giveBack > 0 {
			b.giveBack(s.giveBackAt, s.giveBack)
		}
		if s.lease {
			b.lease(s.keep, s.want)
		}
		if s.reserve {
			b.reserve()
		}
		if s.exit {
			return
		}
		if s.lease || s.reserve || s.giveBack > 0 {
			continue
		}
		if s.wait > 0 {
			timer.Reset(s.wait)
		}
		select {
		case <-timer.C:
		case <-b.wake:
			timer.Stop()
		}
	}
}

// storeCtx bounds one store call: a hung database must not keep a lease past its TTL
// unnoticed.
func (b *Budget) storeCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), b.opt.TTL/3)
}

func (b *Budget) lease(keep, want int) {
	ctx, cancel := b.storeCtx()
	defer cancel()
	b.mu.Lock()
	// keep was inUse when next ran and inUse may have grown since: report what is in use
	// now, and start nothing more until the store has answered.
	// (On Close everything goes back: Acquire fails from then on.)
	if !b.closed {
		keep = min(max(keep, b.inUse), b.opt.MaxInFlight)
		want = max(want, keep)
	}
	b.leasing, b.leaseKeep = true, keep
	b.mu.Unlock()
	now := time.Now()
	g, err := b.st.LeaseSlots(ctx, store.SlotLease{
		Key: b.key, Holder: b.opt.Holder, Keep: keep, Want: want, Max: b.opt.MaxInFlight, Now: now, TTL: b.opt.TTL,
	})
	b.mu.Lock()
	defer b.mu.Unlock()
	b.leasing = false
	if err != nil {
		b.fail(now, "lease BC processing slots", err)
		return
	}
	if want == 0 {
		b.leasedAt, b.held, b.share = time.Time{}, 0, 0
	} else {
		b.leasedAt, b.held, b.share = now, g.Slots, g.Share
	}
	b.contended = g.Holders > 1 || (want == 0 && g.Holders > 0)
	b.peak = b.inUse + b.waiting
	b.pollAt = time.Time{}
	if b.waiting > 0 && b.free(now) <= 0 {
		b.pollAt = now.Add(b.opt.Poll)
	}
	b.broadcast()
}

func (b *Budget) reserve() {
	ctx, cancel := b.storeCtx()
	defer cancel()
	now := time.Now()
	g, err := b.st.ReserveRequests(ctx, store.RequestReservation{
		Key: b.key, Want: b.opt.Block, Limit: b.opt.RateLimit, Span: b.opt.Window + b.opt.Hold + time.Second, Now: now,
	})
	b.mu.Lock()
	defer b.mu.Unlock()
	if err != nil {
		b.fail(now, "reserve BC requests", err)
		return
	}
	b.permits, b.permitsAt, b.permitsUntil = g.Granted, g.At, now.Add(b.opt.Hold)
	if g.Granted < b.opt.Block {
		b.reserveAt = g.RetryAt
	}
	if g.Granted > 0 {
		b.broadcast()
	}
}

func (b *Budget) giveBack(at time.Time, n int) {
	ctx, cancel := b.storeCtx()
	defer cancel()
	if err := b.st.ReturnRequests(ctx, b.key, at, n); err != nil {
		// Harmless: the requests count until they leave the window.
		b.opt.Logger.Warn("BC budget: could not give back unsent requests", slog.Int("requests", n), slog.String("err", err.Error()))
	}
}

// fail records a failed store call: waiters that cannot go on fail with it, and the call
// is tried again after Poll. Called with mu held.
func (b *Budget) fail(now time.Time, what string, err error) {
	b.opt.Logger.Warn("BC budget: "+what+" failed", slog.String("budget", b.key.String()), slog.String("err", err.Error()))
	b.errGen++
	b.err = err
	b.pollAt = now.Add(b.opt.Poll)
	b.reserveAt = now.Add(b.opt.Poll)
	b.broadcast()
}

var _ bc.SharedLimit = (*Budget)(nil)
