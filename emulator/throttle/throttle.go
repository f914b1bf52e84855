// Package throttle enforces Business Central's per-user OData/API limits for the emulator.
//
// BC online counts limits per user, and every Entra application (service principal) counts as
// its own user, so the emulator keys a [Limiter] by the token's client ID (appid). Per key
// (bc-entra-facts §5, §11 item 15):
//
//   - 5 requests are processed at once; up to 95 more wait in a FIFO queue (100 connections).
//     The 101st concurrent request gets 429 at once.
//   - 6,000 requests per 5-minute sliding window; the next one gets 429.
//   - A request that waits in the queue longer than 8 minutes gets 503 with Retry-After.
//
// The 408 (operation over 8 minutes) and 504 (request over 10 minutes) limits bound the time a
// request spends *processing*; they belong to the handler that holds the slot, not to this
// package.
//
// The package also holds the emulator's latency model ([Latency]): a per-request overhead plus
// a per-row cost that the caller sleeps while it holds a processing slot, so that a benchmark
// against the emulator feels BC's server time and concurrency limit together.
package throttle

import (
	"container/list"
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults from BC's documented per-user limits (bc-entra-facts §5).
const (
	DefaultMaxConcurrent  = 5
	DefaultMaxQueue       = 95
	DefaultWindowRequests = 6000
	DefaultWindow         = 5 * time.Minute
	DefaultMaxQueueWait   = 8 * time.Minute

	// DefaultQueueFullRetryAfter is the Retry-After sent with a "queue full" 429. BC's value
	// (and whether it sends the header at all) is UNCONFIRMED (bc-entra-facts §5).
	DefaultQueueFullRetryAfter = time.Second
	// DefaultQueueTimeoutRetryAfter is the Retry-After sent with the 503 for a request that
	// waited in the queue too long. BC documents the header for 503 but not its value
	// (bc-entra-facts §3.3, §5): UNCONFIRMED.
	DefaultQueueTimeoutRetryAfter = 30 * time.Second
)

// StatusClientClosedRequest is the Status of a [Rejection] for a request whose context ended
// while it waited in the queue (nginx's convention). Nothing reaches a client that has gone;
// the value only keeps logs and metrics honest and is safe to pass to WriteHeader.
const StatusClientClosedRequest = 499

// Error codes of the rejections. BC's 429 body is UNCONFIRMED in Microsoft's docs
// (bc-entra-facts §5); Application_TooManyRequests with "Too many requests reached. Actual
// (101). Maximum (100)." is the body third-party material shows for BC's older limits, so the
// emulator answers in that shape. The 503 code is a guess in the gateway style BC uses for
// "Unauthorized" (bc-entra-facts §3.4): UNCONFIRMED.
const (
	CodeTooManyRequests    = "Application_TooManyRequests"
	CodeServiceUnavailable = "ServiceUnavailable"
)

// Config holds the limits of a [Limiter]. The zero value means BC's documented limits.
type Config struct {
	// MaxConcurrent is how many requests per key are processed at once. Zero or negative
	// means 5.
	MaxConcurrent int

	// MaxQueue is how many requests per key may wait for a processing slot. Zero means 95, so
	// that the 101st concurrent request gets 429; negative means no queue (every request
	// beyond MaxConcurrent gets 429).
	MaxQueue int

	// WindowRequests is how many requests per key the sliding window admits. Zero means
	// 6,000; negative disables the rate limit. Memory per key is one int64 per request of the
	// window (48 KB at 6,000).
	WindowRequests int

	// Window is the length of the sliding window. Zero or negative means 5 minutes.
	Window time.Duration

	// MaxQueueWait is how long a request may wait in the queue before it gets 503. Zero means
	// 8 minutes; negative means it waits until a slot frees or its context ends. The wait is
	// timed with time.NewTimer (so testing/synctest controls it), not with Now.
	MaxQueueWait time.Duration

	// RetryAfter is the Retry-After of a 429 from the rate window. Zero means the time until
	// the oldest request of the window leaves it, rounded up to whole seconds (at least 1 s);
	// negative means no Retry-After. BC's value and whether it sends the header on 429 are
	// UNCONFIRMED (bc-entra-facts §5); the default is the most helpful honest value.
	RetryAfter time.Duration

	// QueueFullRetryAfter is the Retry-After of a 429 because processing slots and queue are
	// all taken. Zero means 1 s; negative means no Retry-After (UNCONFIRMED, as RetryAfter).
	QueueFullRetryAfter time.Duration

	// QueueTimeoutRetryAfter is the Retry-After of the 503 for a request that waited longer
	// than MaxQueueWait. Zero means 30 s; negative means no Retry-After (BC documents the
	// header on 503 but not its value: UNCONFIRMED).
	QueueTimeoutRetryAfter time.Duration

	// CountRejected makes requests rejected with 429 count towards the rate window. BC's
	// behaviour is UNCONFIRMED; the default (false) follows the best guess that only admitted
	// requests (processed or queued) count. A request counts when it is admitted, so one that
	// later gets 503 from the queue, or whose client gives up while queued, has counted.
	CountRejected bool

	// Now returns the current time for the rate window. Nil means time.Now.
	Now func() time.Time
}

// Rejection tells why a request was not admitted and how to answer it.
type Rejection struct {
	// Status is the HTTP status: 429, 503, or StatusClientClosedRequest when the caller's
	// context ended while queued.
	Status int
	// RetryAfter is the Retry-After to send; zero means send none.
	RetryAfter time.Duration
	// Code and Message are the BC error code and message for the body
	// {"error":{"code","message"}} (bc-entra-facts §3.2); the caller appends BC's
	// "  CorrelationId:  <guid>." suffix.
	Code, Message string
	// Err is the context's error when Status is StatusClientClosedRequest, otherwise nil.
	Err error
}

// Error returns the status, code and message, so a Rejection can travel as an error.
func (r *Rejection) Error() string {
	return fmt.Sprintf("throttle: %d %s: %s", r.Status, r.Code, r.Message)
}

// Unwrap returns Err, so errors.Is(rej, context.Canceled) works.
func (r *Rejection) Unwrap() error { return r.Err }

// RetryAfterSeconds returns RetryAfter as the value of a Retry-After header: whole seconds,
// rounded up, or "" when no header should be sent.
func (r *Rejection) RetryAfterSeconds() string {
	if r.RetryAfter <= 0 {
		return ""
	}
	return fmt.Sprint(ceilSeconds(r.RetryAfter))
}

// Stats is a snapshot of one key's state and counters.
type Stats struct {
	InFlight    int   // requests holding a processing slot
	Queued      int   // requests waiting for a slot
	InWindow    int   // requests counted in the current sliding window
	Admitted    int64 // requests that got a processing slot, ever
	Rejected429 int64 // requests rejected with 429 (queue full or window exceeded), ever
	Rejected503 int64 // requests rejected with 503 after waiting too long, ever
	Canceled    int64 // requests whose context ended while queued, ever
	// MaxOpen is the most requests the key had admitted at once, processing or queued,
	// ever: how many requests of the app BC held at one moment (what a client that keeps
	// within BC's limits holds at 5).
	MaxOpen int
	// Busy is the processing-slot time the key's requests held, ever, summed over its
	// slots: BC's server time of the app (a run that kept all 5 slots busy for 10 s used
	// 50 s).
	Busy time.Duration
}

// Limiter enforces the limits of its Config per key (the Entra client ID). It is safe for
// concurrent use. Keys are never forgotten: the emulator keys by registered applications,
// which are few, and each key's memory is bounded by WindowRequests.
type Limiter struct {
	cfg Config
	now func() time.Time

	mu   sync.Mutex
	keys map[string]*keyState
}

type keyState struct {
	inFlight int
	queue    list.List // of *waiter, FIFO

	// ring holds the admission times (Unix nanoseconds) of the last WindowRequests counted
	// requests, oldest at ring[head] once the ring is full.
	ring []int64
	head int

	admitted, rejected429, rejected503, canceled int64
	maxOpen                                      int

	// busy is the slot time held up to busySince (Unix nanoseconds), when inFlight last
	// changed.
	busy, busySince int64
}

// setInFlight changes inFlight by d at now, adding the slot time held since its last
// change to busy.
func (ks *keyState) setInFlight(d int, now int64) {
	ks.busy += int64(ks.inFlight) * (now - ks.busySince)
	ks.busySince = now
	ks.inFlight += d
}

type waiter struct {
	ready   chan struct{} // closed when the waiter is granted a slot
	granted bool          // guarded by Limiter.mu
	elem    *list.Element
}

// New returns a Limiter for cfg, with zero fields set to BC's limits.
func New(cfg Config) *Limiter {
	if cfg.MaxConcurrent <= 0 {
		cfg.MaxConcurrent = DefaultMaxConcurrent
	}
	switch {
	case cfg.MaxQueue == 0:
		cfg.MaxQueue = DefaultMaxQueue
	case cfg.MaxQueue < 0:
		cfg.MaxQueue = 0
	}
	if cfg.WindowRequests == 0 {
		cfg.WindowRequests = DefaultWindowRequests
	}
	if cfg.Window <= 0 {
		cfg.Window = DefaultWindow
	}
	if cfg.MaxQueueWait == 0 {
		cfg.MaxQueueWait = DefaultMaxQueueWait
	}
	if cfg.QueueFullRetryAfter == 0 {
		cfg.QueueFullRetryAfter = DefaultQueueFullRetryAfter
	}
	if cfg.QueueTimeoutRetryAfter == 0 {
		cfg.QueueTimeoutRetryAfter = DefaultQueueTimeoutRetryAfter
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Limiter{cfg: cfg, now: now, keys: make(map[string]*keyState)}
}

// Config returns the limits in force, with defaults filled in.
func (l *Limiter) Config() Config { return l.cfg }

// Acquire admits one request for key. It returns at once with a 429 Rejection when the key's
// processing slots and queue are all taken or its rate window is exhausted; otherwise it
// takes a free slot, or waits in FIFO order for one. A queued request gets a 503 Rejection
// after MaxQueueWait, and a StatusClientClosedRequest Rejection when ctx ends first (its
// queue place is freed).
//
// release is never nil. When rej is nil the caller holds a slot and must call release once
// it is done (further calls do nothing); when rej is non-nil release does nothing.
func (l *Limiter) Acquire(ctx context.Context, key string) (release func(), rej *Rejection) {
	if err := ctx.Err(); err != nil {
		return noop, canceled(err)
	}
	l.mu.Lock()
	ks := l.state(key)
	now := l.now().UnixNano()
	if ks.inFlight+ks.queue.Len() >= l.cfg.MaxConcurrent+l.cfg.MaxQueue {
		ks.rejected429++
		if l.cfg.CountRejected {
			l.record(ks, now)
		}
		l.mu.Unlock()
		limit := l.cfg.MaxConcurrent + l.cfg.MaxQueue
		return noop, &Rejection{
			Status:     http.StatusTooManyRequests,
			RetryAfter: positive(l.cfg.QueueFullRetryAfter),
			Code:       CodeTooManyRequests,
			Message:    fmt.Sprintf("Too many requests reached. Actual (%d). Maximum (%d).", limit+1, limit),
		}
	}
	if wait, full := l.windowFull(ks, now); full {
		ks.rejected429++
		if l.cfg.CountRejected {
			l.record(ks, now)
		}
		l.mu.Unlock()
		ra := l.cfg.RetryAfter
		if ra == 0 {
			ra = time.Duration(ceilSeconds(wait)) * time.Second
		}
		return noop, &Rejection{
			Status:     http.StatusTooManyRequests,
			RetryAfter: positive(ra),
			Code:       CodeTooManyRequests,
			Message: fmt.Sprintf("Too many requests reached. Actual (%d). Maximum (%d).",
				l.cfg.WindowRequests+1, l.cfg.WindowRequests),
		}
	}
	l.record(ks, now)
	ks.maxOpen = max(ks.maxOpen, ks.inFlight+ks.queue.Len()+1)
	if ks.inFlight < l.cfg.MaxConcurrent && ks.queue.Len() == 0 {
		ks.setInFlight(1, now)
		ks.admitted++
		l.mu.Unlock()
		return l.releaser(ks), nil
	}
	w := &waiter{ready: make(chan struct{})}
	w.elem = ks.queue.PushBack(w)
	l.mu.Unlock()

	var timeout <-chan time.Time
	if l.cfg.MaxQueueWait > 0 {
		t := time.NewTimer(l.cfg.MaxQueueWait)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-w.ready:
		return l.releaser(ks), nil
	case <-ctx.Done():
		l.mu.Lock()
		if w.granted {
			// The slot arrived together with the cancellation: hand it on.
			l.releaseLocked(ks)
		} else {
			ks.queue.Remove(w.elem)
		}
		ks.canceled++
		l.mu.Unlock()
		return noop, canceled(ctx.Err())
	case <-timeout:
		l.mu.Lock()
		if w.granted {
			l.mu.Unlock()
			return l.releaser(ks), nil
		}
		ks.queue.Remove(w.elem)
		ks.rejected503++
		l.mu.Unlock()
		return noop, &Rejection{
			Status:     http.StatusServiceUnavailable,
			RetryAfter: positive(l.cfg.QueueTimeoutRetryAfter),
			Code:       CodeServiceUnavailable,
			Message: fmt.Sprintf("The request waited more than %s for one of the %d processing slots of this user. "+
				"Send fewer requests at once and retry after the Retry-After interval.",
				l.cfg.MaxQueueWait, l.cfg.MaxConcurrent),
		}
	}
}

// Stats returns a snapshot of key's state; an unknown key has zero Stats.
func (l *Limiter) Stats(key string) Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	ks, ok := l.keys[key]
	if !ok {
		return Stats{}
	}
	now := l.now().UnixNano()
	return Stats{
		Busy:        time.Duration(ks.busy + int64(ks.inFlight)*(now-ks.busySince)),
		InFlight:    ks.inFlight,
		Queued:      ks.queue.Len(),
		InWindow:    l.inWindow(ks, now),
		Admitted:    ks.admitted,
		Rejected429: ks.rejected429,
		Rejected503: ks.rejected503,
		Canceled:    ks.canceled,
		MaxOpen:     ks.maxOpen,
	}
}

// Keys returns the keys the Limiter has seen, sorted.
func (l *Limiter) Keys() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	keys := make([]string, 0, len(l.keys))
	for k := range l.keys {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func (l *Limiter) state(key string) *keyState {
	ks, ok := l.keys[key]
	if !ok {
		ks = &keyState{}
		l.keys[key] = ks
	}
	return ks
}

// record counts a request admitted at now in the window ring.
func (l *Limiter) record(ks *keyState, now int64) {
	if l.cfg.WindowRequests < 0 {
		return
	}
	if len(ks.ring) < l.cfg.WindowRequests {
		ks.ring = append(ks.ring, now)
		return
	}
	ks.ring[ks.head] = now
	ks.head = (ks.head + 1) % len(ks.ring)
}

// windowFull reports whether the window already holds WindowRequests requests at now, and
// if so how long until the oldest of them leaves it. The ring keeps the last WindowRequests
// admissions, so the window is full exactly when the oldest of them is still inside it.
func (l *Limiter) windowFull(ks *keyState, now int64) (time.Duration, bool) {
	if l.cfg.WindowRequests < 0 || len(ks.ring) < l.cfg.WindowRequests {
		return 0, false
	}
	leaves := ks.ring[ks.head] + int64(l.cfg.Window)
	if leaves <= now {
		return 0, false
	}
	return time.Duration(leaves - now), true
}

func (l *Limiter) inWindow(ks *keyState, now int64) int {
	n := 0
	for _, t := range ks.ring {
		if now-t < int64(l.cfg.Window) {
			n++
		}
	}
	return n
}

// releaser returns the idempotent release function for a slot of ks.
func (l *Limiter) releaser(ks *keyState) func() {
	var done atomic.Bool
	return func() {
		if done.Swap(true) {
			return
		}
		l.mu.Lock()
		l.releaseLocked(ks)
		l.mu.Unlock()
	}
}

// releaseLocked hands a freed slot to the head of the queue, or frees it.
func (l *Limiter) releaseLocked(ks *keyState) {
	if e := ks.queue.Front(); e != nil {
		w := ks.queue.Remove(e).(*waiter)
		w.granted = true
		ks.admitted++
		close(w.ready)
		return
	}
	ks.setInFlight(-1, l.now().UnixNano())
}

func canceled(err error) *Rejection {
	return &Rejection{
		Status:  StatusClientClosedRequest,
		Code:    "ClientClosedRequest",
		Message: "The client gave up while the request was queued: " + err.Error(),
		Err:     err,
	}
}

func noop() {}

func positive(d time.Duration) time.Duration { return max(d, 0) }

// ceilSeconds rounds d up to whole seconds, at least 1.
func ceilSeconds(d time.Duration) int64 {
	s := int64((d + time.Second - 1) / time.Second)
	return max(s, 1)
}
