package web

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/bizzjoiner/bcconnector/store"
)

// LoginAttempts is what the sign-in remembers about one source: how many sign-ins failed
// since its last success, and when the last one counted was made.
type LoginAttempts = store.LoginAttempts

// AttemptStore keeps LoginAttempts by source key. MemoryAttempts is the default for one
// process; serve gives the database (store.AttemptStore), so every instance behind a
// load balancer counts the same failures.
type AttemptStore = store.AttemptStore

// maxAttemptKeys bounds MemoryAttempts under a spray of source addresses.
const maxAttemptKeys = 100000

// MemoryAttempts is an AttemptStore in memory, for one process. The zero value is ready.
type MemoryAttempts struct {
	mu sync.Mutex
	m  map[string]LoginAttempts
}

// UpdateAttempts implements AttemptStore.
func (s *MemoryAttempts) UpdateAttempts(_ context.Context, key string, f func(LoginAttempts) LoginAttempts) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]LoginAttempts{}
	}
	a := f(s.m[key])
	if a == (LoginAttempts{}) {
		delete(s.m, key)
		return nil
	}
	if _, ok := s.m[key]; !ok && len(s.m) >= maxAttemptKeys {
		s.evict(a.Last)
	}
	s.m[key] = a
	return nil
}

// evict drops the records older than a day before now, or all of them if that frees
// nothing (memory stays bounded; the sources start again with their free attempts).
func (s *MemoryAttempts) evict(now time.Time) {
	for k, a := range s.m {
		if now.Sub(a.Last) > 24*time.Hour {
			delete(s.m, k)
		}
	}
	if len(s.m) >= maxAttemptKeys {
		clear(s.m)
	}
}

// throttle is the sign-in policy: every source has FreeFailures attempts, then each
// further attempt waits BaseDelay, doubled per failure up to MaxDelay, after the previous
// one. A success from the source clears it; so does a quiet ForgetAfter. Other sources are
// not affected, so an attacker cannot lock the real admin out.
type throttle struct {
	store             AttemptStore
	free              int
	base, max, forget time.Duration
	now               func() time.Time
	trusted           []netip.Prefix
}

// delay is how long a source with n counted failures waits after its last attempt.
func (t *throttle) delay(n int) time.Duration {
	if n < t.free {
		return 0
	}
	d := t.base
	for i := t.free; i < n && d < t.max; i++ {
		d *= 2
	}
	return min(d, t.max)
}

// begin counts an attempt of key before the password is checked (so parallel guesses
// cannot pass together), or returns how long the source must still wait.
func (t *throttle) begin(ctx context.Context, key string) (wait time.Duration, err error) {
	now := t.now()
	err = t.store.UpdateAttempts(ctx, key, func(a LoginAttempts) LoginAttempts {
		wait = 0
		if !a.Last.IsZero() && now.Sub(a.Last) > t.forget {
			a = LoginAttempts{}
		}
		if next := a.Last.Add(t.delay(a.Failures)); a.Failures > 0 && now.Before(next) {
			wait = next.Sub(now)
			return a
		}
		a.Failures++
		a.Last = now
		return a
	})
	return wait, err
}

// succeeded clears key; undo takes back the attempt begin counted (the check could not
// be made).
func (t *throttle) succeeded(ctx context.Context, key string) error {
	return t.store.UpdateAttempts(ctx, key, func(LoginAttempts) LoginAttempts { return LoginAttempts{} })
}

func (t *throttle) undo(ctx context.Context, key string) error {
	return t.store.UpdateAttempts(ctx, key, func(a LoginAttempts) LoginAttempts {
		if a.Failures > 0 {
			a.Failures--
		}
		if a.Failures == 0 {
			return LoginAttempts{}
		}
		return a
	})
}

// source is the throttle's key for a request: the client's IPv4 address, or the /64 of
// an IPv6 address (one subscriber's network). The peer address is the client unless it
// is a trusted proxy; then the right-most address of X-Forwarded-For that is not a trusted
// proxy is.
func (t *throttle) source(r *http.Request) string {
	ip := peerAddr(r)
	if ip.IsValid() && t.isTrusted(ip) {
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				break
			}
			ip = a.Unmap()
			if !t.isTrusted(ip) {
				break
			}
		}
	}
	if !ip.IsValid() {
		return "peer:" + r.RemoteAddr
	}
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return "ip:" + p.String()
	}
	return "ip:" + ip.String()
}

func (t *throttle) isTrusted(ip netip.Addr) bool {
	for _, p := range t.trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// peerAddr is the address of the connection's other end.
func peerAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return ip.Unmap()
}
