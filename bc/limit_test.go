package bc

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

func TestLimiterSixthWaitsForASlot(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter(LimiterOptions{})
		var releases []func()
		for range 5 {
			r, err := l.Acquire(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			releases = append(releases, r)
		}
		got := make(chan time.Time, 1)
		sixth := make(chan func(), 1)
		go func() {
			r, err := l.Acquire(context.Background())
			if err != nil {
				r = func() {}
			}
			got <- time.Now()
			sixth <- r
		}()
		synctest.Wait()
		if s := l.Stats(); s.InFlight != 5 || s.Waiting != 1 {
			t.Fatalf("stats = %+v, want 5 in flight and 1 waiting", s)
		}
		time.Sleep(time.Second)
		start := time.Now()
		releases[0]()
		releases[0]() // releasing twice frees one slot only
		if at := <-got; at.Sub(start) != 0 {
			t.Errorf("the 6th call started %v after the first slot freed", at.Sub(start))
		}
		if s := l.Stats(); s.InFlight != 5 {
			t.Errorf("in flight = %d after a double release, want 5", s.InFlight)
		}
		for _, r := range releases[1:] {
			r()
		}
		(<-sixth)()
	})
}

func TestLimiterSlidingWindow(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter(LimiterOptions{MaxInFlight: 10, RateLimit: 3, Window: time.Minute})
		start := time.Now()
		for range 3 {
			r, err := l.Acquire(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			r()
			time.Sleep(10 * time.Second) // starts at 0s, 10s, 20s
		}
		// The 4th start must wait until the first leaves the window: 60s after it.
		r, err := l.Acquire(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		r()
		if got := time.Since(start); got != time.Minute {
			t.Errorf("4th start after %v, want 1m0s", got)
		}
		// The 5th waits for the second start (10s) to leave: at 70s.
		r, _ = l.Acquire(t.Context())
		r()
		if got := time.Since(start); got != 70*time.Second {
			t.Errorf("5th start after %v, want 1m10s", got)
		}
		if s := l.Stats(); s.InWindow != 3 {
			t.Errorf("in window = %d, want 3", s.InWindow)
		}
	})
}

func TestLimiterPauseAndCancel(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter(LimiterOptions{MaxInFlight: 1})
		start := time.Now()
		l.pause(3 * time.Second)
		l.pause(time.Second) // a shorter pause does not cut the longer one
		r, err := l.Acquire(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if got := time.Since(start); got != 3*time.Second {
			t.Errorf("acquired after %v, want 3s", got)
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		if _, err := l.Acquire(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Acquire with a full limiter and an ending context = %v", err)
		}
		r()
		// Cancelled while waiting for the window: the slot is given back.
		l2 := NewLimiter(LimiterOptions{MaxInFlight: 1, RateLimit: 1, Window: time.Hour})
		r2, _ := l2.Acquire(t.Context())
		r2()
		ctx2, cancel2 := context.WithTimeout(t.Context(), time.Second)
		defer cancel2()
		if _, err := l2.Acquire(ctx2); err == nil {
			t.Fatal("Acquire past the rate limit succeeded")
		}
		if s := l2.Stats(); s.InFlight != 0 || s.Waiting != 0 {
			t.Errorf("after a cancelled wait: %+v", s)
		}
	})
}

// sharedLimit is a SharedLimit with n slots that fails when err is set.
type sharedLimit struct {
	slots    chan struct{}
	err      error
	released int
}

func (s *sharedLimit) Acquire(ctx context.Context) (func(), error) {
	if s.err != nil {
		return nil, s.err
	}
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return func() { s.released++; <-s.slots }, nil
}

func TestLimiterShared(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		shared := &sharedLimit{slots: make(chan struct{}, 2)}
		l := NewLimiter(LimiterOptions{Shared: shared})
		r1, err := l.Acquire(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		r2, _ := l.Acquire(t.Context())
		// Room here (5) but not in the shared limit (2): the third waits for it.
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		if _, err := l.Acquire(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("a third request with 2 shared slots = %v, want it to wait", err)
		}
		if s := l.Stats(); s.InFlight != 2 {
			t.Errorf("in flight after the wait for the shared limit ended = %d, want 2", s.InFlight)
		}
		r1()
		r1()
		if shared.released != 1 || l.Stats().InFlight != 1 {
			t.Errorf("after releasing twice: shared released %d, in flight %d; want 1 and 1", shared.released, l.Stats().InFlight)
		}
		r2()
		shared.err = errors.New("database down")
		if _, err := l.Acquire(t.Context()); !errors.Is(err, shared.err) {
			t.Errorf("Acquire with the shared limit failing = %v", err)
		}
		if s := l.Stats(); s.InFlight != 0 || s.Waiting != 0 {
			t.Errorf("after a failed shared acquire: %+v, want nothing held", s)
		}
	})
}
