package throttle

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

const key = "11111111-2222-3333-4444-555555555555"

// manualClock is a settable clock for the rate window.
type manualClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *manualClock {
	return &manualClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func mustAcquire(t *testing.T, l *Limiter, k string) func() {
	t.Helper()
	release, rej := l.Acquire(context.Background(), k)
	if rej != nil {
		t.Fatalf("Acquire(%q) rejected: %v", k, rej)
	}
	return release
}

// result is what a background Acquire returned.
type result struct {
	release func()
	rej     *Rejection
}

func acquireAsync(ctx context.Context, l *Limiter, k string) <-chan result {
	ch := make(chan result, 1)
	go func() {
		release, rej := l.Acquire(ctx, k)
		ch <- result{release, rej}
	}()
	return ch
}

func TestSixthConcurrentRequestWaitsForARelease(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		l := New(Config{})
		var releases []func()
		for range 5 {
			releases = append(releases, mustAcquire(t, l, key))
		}
		sixth := acquireAsync(t.Context(), l, key)
		synctest.Wait()
		select {
		case r := <-sixth:
			t.Fatalf("6th request returned while 5 are in flight: rej=%v", r.rej)
		default:
		}
		if s := l.Stats(key); s.InFlight != 5 || s.Queued != 1 {
			t.Fatalf("Stats = %+v, want InFlight 5, Queued 1", s)
		}
		releases[2]()
		synctest.Wait()
		r := <-sixth
		if r.rej != nil {
			t.Fatalf("6th request rejected after a release: %v", r.rej)
		}
		if s := l.Stats(key); s.InFlight != 5 || s.Queued != 0 || s.Admitted != 6 {
			t.Fatalf("Stats = %+v, want InFlight 5, Queued 0, Admitted 6", s)
		}
		r.release()
		for i, rel := range releases {
			if i != 2 {
				rel()
			}
		}
		if s := l.Stats(key); s.InFlight != 0 || s.MaxOpen != 6 {
			t.Fatalf("after all releases: %+v, want InFlight 0 and MaxOpen 6 (5 processing and 1 queued at once)", s)
		}
		if keys := l.Keys(); len(keys) != 1 || keys[0] != key {
			t.Errorf("Keys() = %v, want [%s]", keys, key)
		}
	})
}

func TestHundredAndFirstConcurrentRequestGets429(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		l := New(Config{})
		var releases []func()
		for range 5 {
			releases = append(releases, mustAcquire(t, l, key))
		}
		var queued []<-chan result
		for range 95 {
			queued = append(queued, acquireAsync(t.Context(), l, key))
		}
		synctest.Wait()
		if s := l.Stats(key); s.InFlight != 5 || s.Queued != 95 {
			t.Fatalf("Stats = %+v, want InFlight 5, Queued 95", s)
		}
		release, rej := l.Acquire(t.Context(), key)
		if rej == nil {
			release()
			t.Fatal("101st concurrent request admitted, want 429")
		}
		if rej.Status != http.StatusTooManyRequests || rej.Code != CodeTooManyRequests {
			t.Errorf("rejection = %d %s, want 429 %s", rej.Status, rej.Code, CodeTooManyRequests)
		}
		if want := "Too many requests reached. Actual (101). Maximum (100)."; rej.Message != want {
			t.Errorf("message = %q, want %q", rej.Message, want)
		}
		if rej.RetryAfter != DefaultQueueFullRetryAfter || rej.RetryAfterSeconds() != "1" {
			t.Errorf("RetryAfter = %v (%q), want 1s", rej.RetryAfter, rej.RetryAfterSeconds())
		}
		release() // no-op on rejection
		// Another app is its own user: its requests are not affected.
		mustAcquire(t, l, "other-app")()

		s := l.Stats(key)
		if s.Rejected429 != 1 || s.InWindow != 100 {
			t.Errorf("Stats = %+v, want Rejected429 1 and InWindow 100 (rejections don't count)", s)
		}
		// Drain: each queued request releases as soon as it gets a slot, whatever the order.
		var rejected atomic.Int64
		var wg sync.WaitGroup
		for _, q := range queued {
			wg.Go(func() {
				r := <-q
				if r.rej != nil {
					rejected.Add(1)
					return
				}
				r.release()
			})
		}
		for _, rel := range releases {
			rel()
		}
		wg.Wait()
		if n := rejected.Load(); n != 0 {
			t.Fatalf("%d queued requests rejected, want 0", n)
		}
		if s := l.Stats(key); s.InFlight != 0 || s.Queued != 0 || s.Admitted != 100 {
			t.Errorf("final Stats = %+v, want all released and 100 admitted", s)
		}
	})
}

func TestRateWindow(t *testing.T) {
	t.Parallel()
	clock := newClock()
	start := clock.Now()
	l := New(Config{Now: clock.Now})
	// 6,000 requests, one every 40 ms: the first at start, the last at start+239.96s.
	for i := range 6000 {
		if i > 0 {
			clock.Advance(40 * time.Millisecond)
		}
		mustAcquire(t, l, key)()
	}
	if s := l.Stats(key); s.InWindow != 6000 {
		t.Fatalf("InWindow = %d, want 6000", s.InWindow)
	}
	// The 6,001st: the oldest request leaves the window at start+5m, 60.04 s from now.
	clock.Advance(10 * time.Millisecond)
	release, rej := l.Acquire(context.Background(), key)
	if rej == nil {
		release()
		t.Fatal("6,001st request in the window admitted, want 429")
	}
	if rej.Status != http.StatusTooManyRequests || rej.Code != CodeTooManyRequests {
		t.Fatalf("rejection = %d %s, want 429 %s", rej.Status, rej.Code, CodeTooManyRequests)
	}
	if want := "Too many requests reached. Actual (6001). Maximum (6000)."; rej.Message != want {
		t.Errorf("message = %q, want %q", rej.Message, want)
	}
	wantWait := start.Add(5 * time.Minute).Sub(clock.Now()) // 60.03s
	if rej.RetryAfter != 61*time.Second || rej.RetryAfterSeconds() != "61" {
		t.Errorf("RetryAfter = %v, want %v rounded up to 61s", rej.RetryAfter, wantWait)
	}
	// Rejected requests do not count, so the window still holds exactly 6,000.
	if s := l.Stats(key); s.InWindow != 6000 || s.Rejected429 != 1 {
		t.Errorf("Stats = %+v, want InWindow 6000, Rejected429 1", s)
	}

	// One nanosecond before the oldest leaves: still 429.
	clock.Advance(wantWait - time.Nanosecond)
	if _, rej := l.Acquire(context.Background(), key); rej == nil || rej.RetryAfter != time.Second {
		t.Fatalf("just before the window slides: rej = %v, want 429 with Retry-After 1s", rej)
	}
	// When it leaves, exactly one request is admitted again.
	clock.Advance(time.Nanosecond)
	mustAcquire(t, l, key)()
	if _, rej := l.Acquire(context.Background(), key); rej == nil {
		t.Fatal("second request after one slot slid out admitted, want 429")
	}
	// 40 ms later the second-oldest has left too.
	clock.Advance(40 * time.Millisecond)
	mustAcquire(t, l, key)()
}

func TestRateWindowRetryAfterOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		cfg       Config
		wantAfter time.Duration
	}{
		{"computed", Config{}, 5 * time.Minute},
		{"fixed", Config{RetryAfter: 7 * time.Second}, 7 * time.Second},
		{"none", Config{RetryAfter: -1}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := newClock()
			tt.cfg.Now = clock.Now
			tt.cfg.WindowRequests = 3
			l := New(tt.cfg)
			for range 3 {
				mustAcquire(t, l, key)()
			}
			_, rej := l.Acquire(context.Background(), key)
			if rej == nil {
				t.Fatal("4th request admitted with WindowRequests 3")
			}
			if rej.RetryAfter != tt.wantAfter {
				t.Errorf("RetryAfter = %v, want %v", rej.RetryAfter, tt.wantAfter)
			}
			if tt.wantAfter == 0 && rej.RetryAfterSeconds() != "" {
				t.Errorf("RetryAfterSeconds = %q, want none", rej.RetryAfterSeconds())
			}
		})
	}
}

func TestCountRejected(t *testing.T) {
	t.Parallel()
	clock := newClock()
	l := New(Config{Now: clock.Now, WindowRequests: 2, Window: time.Minute, CountRejected: true})
	mustAcquire(t, l, key)()   // t=0
	clock.Advance(time.Second) //
	mustAcquire(t, l, key)()   // t=1s
	clock.Advance(30 * time.Second)
	if _, rej := l.Acquire(context.Background(), key); rej == nil { // t=31s, counts
		t.Fatal("3rd request admitted with WindowRequests 2")
	}
	// Without CountRejected the request at t=0 would leave at t=60s and admit one. With it,
	// the two most recent are at t=1s and t=31s, so the window stays full until t=61s.
	clock.Advance(29 * time.Second) // t=60s
	_, rej := l.Acquire(context.Background(), key)
	if rej == nil {
		t.Fatal("request at t=60s admitted, want 429 because the rejected one counted")
	}
	if rej.RetryAfter != time.Second {
		t.Errorf("RetryAfter = %v, want 1s", rej.RetryAfter)
	}
	clock.Advance(31 * time.Second) // t=91s: t=60s (rejected) still in window, t=31s left
	mustAcquire(t, l, key)()
}

func TestDisabledWindow(t *testing.T) {
	t.Parallel()
	l := New(Config{WindowRequests: -1})
	for range 7000 {
		mustAcquire(t, l, key)()
	}
	if s := l.Stats(key); s.InWindow != 0 || s.Admitted != 7000 {
		t.Errorf("Stats = %+v, want nothing in the window and 7000 admitted", s)
	}
}

func TestQueueWaitTimeout(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		l := New(Config{}) // 8 minutes, in the bubble's fake time
		var releases []func()
		for range 5 {
			releases = append(releases, mustAcquire(t, l, key))
		}
		start := time.Now()
		queued := acquireAsync(t.Context(), l, key)
		time.Sleep(8*time.Minute - time.Second)
		synctest.Wait()
		select {
		case r := <-queued:
			t.Fatalf("queued request returned before 8 minutes: %v", r.rej)
		default:
		}
		r := <-queued
		if waited := time.Since(start); waited != 8*time.Minute {
			t.Errorf("waited %v, want 8m", waited)
		}
		if r.rej == nil || r.rej.Status != http.StatusServiceUnavailable || r.rej.Code != CodeServiceUnavailable {
			t.Fatalf("rejection = %v, want 503 %s", r.rej, CodeServiceUnavailable)
		}
		if r.rej.RetryAfterSeconds() != "30" {
			t.Errorf("Retry-After = %q, want 30", r.rej.RetryAfterSeconds())
		}
		s := l.Stats(key)
		if s.Queued != 0 || s.Rejected503 != 1 || s.InFlight != 5 {
			t.Errorf("Stats = %+v, want Queued 0, Rejected503 1, InFlight 5", s)
		}
		// The slot released after the timeout is not handed to the gone waiter.
		releases[0]()
		if s := l.Stats(key); s.InFlight != 4 {
			t.Errorf("InFlight = %d after a release, want 4", s.InFlight)
		}
		for _, rel := range releases[1:] {
			rel()
		}
	})
}

func TestQueueWaitTimeoutSmallDurations(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		l := New(Config{MaxConcurrent: 1, MaxQueue: 2, MaxQueueWait: 50 * time.Millisecond, QueueTimeoutRetryAfter: 2 * time.Second})
		rel := mustAcquire(t, l, key)
		a := acquireAsync(t.Context(), l, key)
		time.Sleep(30 * time.Millisecond)
		b := acquireAsync(t.Context(), l, key)
		time.Sleep(20 * time.Millisecond) // a times out at 50ms
		synctest.Wait()
		if r := <-a; r.rej == nil || r.rej.Status != 503 || r.rej.RetryAfter != 2*time.Second {
			t.Fatalf("a = %v, want 503 with Retry-After 2s", r.rej)
		}
		rel() // b gets the slot at t=50ms, before its own timeout at 80ms
		r := <-b
		if r.rej != nil {
			t.Fatalf("b rejected: %v", r.rej)
		}
		time.Sleep(time.Second) // b's timer must not fire into anything
		r.release()
		if s := l.Stats(key); s.InFlight != 0 || s.Queued != 0 || s.Rejected503 != 1 || s.Admitted != 2 {
			t.Errorf("Stats = %+v", s)
		}
	})
}

func TestNoQueueWaitLimit(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		l := New(Config{MaxConcurrent: 1, MaxQueueWait: -1})
		rel := mustAcquire(t, l, key)
		q := acquireAsync(t.Context(), l, key)
		time.Sleep(24 * time.Hour)
		synctest.Wait()
		select {
		case r := <-q:
			t.Fatalf("request with no queue wait limit returned: %v", r.rej)
		default:
		}
		rel()
		if r := <-q; r.rej != nil {
			t.Fatalf("rejected: %v", r.rej)
		} else {
			r.release()
		}
	})
}

func TestCancelWhileQueuedFreesTheQueuePlace(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		l := New(Config{MaxConcurrent: 2, MaxQueue: 2})
		r1, r2 := mustAcquire(t, l, key), mustAcquire(t, l, key)
		ctx, cancel := context.WithCancel(t.Context())
		doomed := acquireAsync(ctx, l, key)
		synctest.Wait()
		survivor := acquireAsync(t.Context(), l, key)
		synctest.Wait()
		if _, rej := l.Acquire(t.Context(), key); rej == nil || rej.Status != 429 {
			t.Fatalf("5th request with 2+2 taken: rej = %v, want 429", rej)
		}
		cancel()
		synctest.Wait()
		r := <-doomed
		if r.rej == nil || r.rej.Status != StatusClientClosedRequest || !errors.Is(r.rej, context.Canceled) {
			t.Fatalf("canceled request: rej = %v, want %d wrapping context.Canceled", r.rej, StatusClientClosedRequest)
		}
		if s := l.Stats(key); s.Queued != 1 || s.Canceled != 1 {
			t.Fatalf("Stats = %+v, want Queued 1, Canceled 1", s)
		}
		// The freed place takes a new request instead of a 429.
		late := acquireAsync(t.Context(), l, key)
		synctest.Wait()
		if s := l.Stats(key); s.Queued != 2 {
			t.Fatalf("Queued = %d, want 2 (survivor and late)", s.Queued)
		}
		r1()
		if r := <-survivor; r.rej != nil {
			t.Fatalf("survivor rejected: %v", r.rej)
		} else {
			r.release()
		}
		r2()
		if r := <-late; r.rej != nil {
			t.Fatalf("late rejected: %v", r.rej)
		} else {
			r.release()
		}
		if s := l.Stats(key); s.InFlight != 0 || s.Queued != 0 {
			t.Errorf("Stats = %+v, want empty", s)
		}
	})
}

func TestCanceledContextBeforeAcquire(t *testing.T) {
	t.Parallel()
	l := New(Config{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	release, rej := l.Acquire(ctx, key)
	release()
	if rej == nil || !errors.Is(rej, context.Canceled) {
		t.Fatalf("rej = %v, want context.Canceled", rej)
	}
	if s := l.Stats(key); s.InWindow != 0 || s.InFlight != 0 {
		t.Errorf("Stats = %+v, want nothing counted", s)
	}
}

func TestFIFO(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		l := New(Config{MaxConcurrent: 1})
		first := mustAcquire(t, l, key)
		const n = 20
		var (
			mu    sync.Mutex
			order []int
			wg    sync.WaitGroup
		)
		for i := range n {
			wg.Go(func() {
				release, rej := l.Acquire(t.Context(), key)
				if rej != nil {
					t.Errorf("waiter %d rejected: %v", i, rej)
					return
				}
				mu.Lock()
				order = append(order, i)
				mu.Unlock()
				time.Sleep(time.Millisecond)
				release()
			})
			synctest.Wait() // waiter i is queued before waiter i+1 starts
		}
		first()
		wg.Wait()
		for i, got := range order {
			if got != i {
				t.Fatalf("admission order = %v, want 0..%d", order, n-1)
			}
		}
		if len(order) != n {
			t.Fatalf("%d admitted, want %d", len(order), n)
		}
	})
}

func TestReleaseIsIdempotent(t *testing.T) {
	t.Parallel()
	l := New(Config{MaxConcurrent: 1})
	rel := mustAcquire(t, l, key)
	rel()
	rel()
	if s := l.Stats(key); s.InFlight != 0 {
		t.Fatalf("InFlight = %d after double release, want 0", s.InFlight)
	}
	rel2 := mustAcquire(t, l, key)
	rel() // a stale release must not free the new holder's slot
	if s := l.Stats(key); s.InFlight != 1 {
		t.Fatalf("InFlight = %d, want 1", s.InFlight)
	}
	rel2()
}

func TestNoQueue(t *testing.T) {
	t.Parallel()
	l := New(Config{MaxConcurrent: 1, MaxQueue: -1})
	rel := mustAcquire(t, l, key)
	_, rej := l.Acquire(context.Background(), key)
	if rej == nil || rej.Message != "Too many requests reached. Actual (2). Maximum (1)." {
		t.Fatalf("rej = %v, want 429 Actual (2). Maximum (1).", rej)
	}
	rel()
}

// TestConcurrentStress runs many goroutines against real time under the race detector and
// checks the concurrency bound is never exceeded.
func TestConcurrentStress(t *testing.T) {
	t.Parallel()
	l := New(Config{MaxConcurrent: 3, MaxQueue: 5, MaxQueueWait: 20 * time.Millisecond})
	var inFlight, peak, ok, rejected atomic.Int64
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			k := key
			if g%4 == 0 {
				k = "second-app"
			}
			for range 50 {
				ctx, cancel := context.WithTimeout(context.Background(), time.Duration(g%3+1)*5*time.Millisecond)
				release, rej := l.Acquire(ctx, k)
				cancel()
				if rej != nil {
					rejected.Add(1)
					continue
				}
				if k == key {
					n := inFlight.Add(1)
					for {
						p := peak.Load()
						if n <= p || peak.CompareAndSwap(p, n) {
							break
						}
					}
					time.Sleep(100 * time.Microsecond)
					inFlight.Add(-1)
				}
				ok.Add(1)
				release()
			}
		})
	}
	wg.Wait()
	if p := peak.Load(); p > 3 {
		t.Errorf("peak in flight = %d, want <= 3", p)
	}
	if ok.Load()+rejected.Load() != 16*50 {
		t.Errorf("ok %d + rejected %d != %d", ok.Load(), rejected.Load(), 16*50)
	}
	for _, k := range []string{key, "second-app"} {
		if s := l.Stats(k); s.InFlight != 0 || s.Queued != 0 {
			t.Errorf("Stats(%s) = %+v, want drained", k, s)
		}
	}
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	c := New(Config{}).Config()
	if c.MaxConcurrent != 5 || c.MaxQueue != 95 || c.WindowRequests != 6000 || c.Window != 5*time.Minute ||
		c.MaxQueueWait != 8*time.Minute || c.QueueFullRetryAfter != time.Second || c.QueueTimeoutRetryAfter != 30*time.Second {
		t.Errorf("defaults = %+v", c)
	}
}

// TestBusy: Busy sums the slot time held, over all slots, including a slot handed from a
// released request to a queued one, and the time of the slots still held.
func TestBusy(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		l := New(Config{MaxConcurrent: 2})
		a := mustAcquire(t, l, key)
		time.Sleep(time.Second) // synctest's clock
		b := mustAcquire(t, l, key)
		queued := acquireAsync(t.Context(), l, key)
		synctest.Wait()
		time.Sleep(2 * time.Second)
		a() // its slot goes to the queued request: still two held
		synctest.Wait()
		c := <-queued
		time.Sleep(3 * time.Second)
		b()
		time.Sleep(4 * time.Second)
		if got, want := l.Stats(key).Busy, (1+2*2+2*3+4)*time.Second; got != want {
			t.Errorf("Busy = %v with one slot still held, want %v", got, want)
		}
		c.release()
		time.Sleep(time.Hour)
		if got, want := l.Stats(key).Busy, 15*time.Second; got != want {
			t.Errorf("Busy = %v after every release, want %v", got, want)
		}
	})
}
