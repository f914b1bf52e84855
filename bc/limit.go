package bc

import (
	"context"
	"sync"
	"time"
)

// Defaults of BC's per-app limits as the client applies them (bc-entra-facts §5: BC allows
// 5 requests in processing and 6,000 per 5-minute sliding window per user, and every Entra
// app is its own user).
const (
	DefaultMaxInFlight = 5
	// DefaultRateLimit stays 10% below BC's 6,000 so that clock skew and requests BC counts
	// that we do not (the token endpoint does not count, but a second process might) leave
	// headroom.
	DefaultRateLimit = 5400
	DefaultWindow    = 5 * time.Minute
)

// LimiterOptions configures a Limiter; zero fields take the defaults.
type LimiterOptions struct {
	// MaxInFlight is how many requests may be in flight at once, from sending the request
	// until its response body is read to its end or closed. Default 5 (DefaultMaxInFlight).
	MaxInFlight int
	// RateLimit is how many requests may start within any Window. Default 5,400
	// (DefaultRateLimit).
	RateLimit int
	// Window is the sliding window of RateLimit. Default 5 minutes (DefaultWindow).
	Window time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Shared, when set, is the share of the app's limits that other processes spend too
	// (package budget keeps it in the database): each request also waits for one of its
	// slots and requests, after this Limiter's own. Default none: the limits are this
	// process's alone.
	Shared SharedLimit
}

// SharedLimit is BC's per-app budget as several processes share it: BC counts every
// request of the app in the environment, whichever process sends it (bc-entra-facts §5).
// Acquire waits for one processing slot and one request of the rate window, or until ctx
// ends; release (called once) gives the slot back. Implementations must be safe for
// concurrent use.
type SharedLimit interface {
	Acquire(ctx context.Context) (release func(), err error)
}

// Limiter keeps one Entra app's requests within BC's per-app limits: at most MaxInFlight in
// flight and at most RateLimit started in any sliding Window. After a 429 it holds every
// request back until the server's Retry-After has passed, so one throttled call does not
// turn into a storm from the others.
//
// BC counts limits per app and environment (bc-entra-facts §5); Clients of the same app in
// the same environment should share one Limiter (Options.Limiter). It is safe for
// concurrent use.
type Limiter struct {
	slots  chan struct{}
	window time.Duration
	now    func() time.Time
	shared SharedLimit

	mu          sync.Mutex
	starts      []time.Time // ring of the last RateLimit start times
	next        int         // index of the oldest start once the ring is full
	filled      int
	pausedUntil time.Time
	waiting     int
}

// NewLimiter returns a Limiter with the options' limits.
func NewLimiter(opt LimiterOptions) *Limiter {
	if opt.MaxInFlight <= 0 {
		opt.MaxInFlight = DefaultMaxInFlight
	}
	if opt.RateLimit <= 0 {
		opt.RateLimit = DefaultRateLimit
	}
	if opt.Window <= 0 {
		opt.Window = DefaultWindow
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &Limiter{
		now:    opt.Now,
		slots:  make(chan struct{}, opt.MaxInFlight),
		window: opt.Window,
		starts: make([]time.Time, opt.RateLimit),
		shared: opt.Shared,
	}
}

// LimiterStats is a snapshot of a Limiter.
type LimiterStats struct {
	InFlight int // requests holding a slot
	Waiting  int // requests waiting for a slot, the window or a pause
	InWindow int // requests started within the current window
}

// Stats returns a snapshot.
func (l *Limiter) Stats() LimiterStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	in := 0
	for i := range l.filled {
		if now.Sub(l.starts[i]) < l.window {
			in++
		}
	}
	return LimiterStats{InFlight: len(l.slots), Waiting: l.waiting, InWindow: in}
}

// Acquire waits for a slot and for room in the window (then for the Shared limit's slot
// and request, if any), or until ctx ends. The caller must call release (once is enough;
// more calls are no-ops) when the response body is closed.
func (l *Limiter) Acquire(ctx context.Context) (release func(), err error) {
	l.setWaiting(1)
	defer l.setWaiting(-1)
	select {
	case l.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	var once sync.Once
	local := func() { once.Do(func() { <-l.slots }) }
	for {
		wait := l.reserve()
		if wait <= 0 {
			break
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			local()
			return nil, ctx.Err()
		}
	}
	if l.shared == nil {
		return local, nil
	}
	shared, err := l.shared.Acquire(ctx)
	if err != nil {
		local()
		return nil, err
	}
	var both sync.Once
	return func() {
		both.Do(func() {
			shared()
			local()
		})
	}, nil
}

func (l *Limiter) setWaiting(d int) {
	l.mu.Lock()
	l.waiting += d
	l.mu.Unlock()
}

// reserve records a start now and returns 0, or returns how long to wait.
func (l *Limiter) reserve() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if d := l.pausedUntil.Sub(now); d > 0 {
		return d
	}
	if l.filled == len(l.starts) {
		// The ring holds the last RateLimit starts; the oldest must have left the window.
		if d := l.starts[l.next].Add(l.window).Sub(now); d > 0 {
			return d
		}
	} else {
		l.filled++
	}
	l.starts[l.next] = now
	l.next = (l.next + 1) % len(l.starts)
	return 0
}

// pause holds back every new request for d (after a 429 with Retry-After).
func (l *Limiter) pause(d time.Duration) {
	if d <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if until := l.now().Add(d); until.After(l.pausedUntil) {
		l.pausedUntil = until
	}
}
