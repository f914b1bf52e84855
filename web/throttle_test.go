package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/store/postgres"
	"github.com/bizzjoiner/bcconnector/store/postgres/pgtest"
	"github.com/bizzjoiner/bcconnector/store/sqlite"
	"github.com/bizzjoiner/bcconnector/web"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *fakeClock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

const adminPassword = "correct horse battery staple"

// loginEnv is the server with one admin, a fake clock, and a sign-in from any address.
func loginEnv(t *testing.T, opt web.AuthOptions) (*fakeClock, func(remote, password string, hdr ...string) (int, int)) {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "w.db"), secret.GenerateKeyring(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	createAdmin(t, db)
	clock := &fakeClock{t: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	opt.Users, opt.Now = db, clock.Now
	return clock, newLogin(t, opt)
}

func createAdmin(t *testing.T, db store.UserStore) {
	t.Helper()
	hash, _ := web.HashPassword(adminPassword)
	if err := db.CreateUser(context.Background(), "admin", hash); err != nil {
		t.Fatal(err)
	}
}

// newLogin is one server's sign-in: it posts the admin's name and password from remote
// and answers the status and, for 429, Retry-After in seconds.
func newLogin(t *testing.T, opt web.AuthOptions) func(remote, password string, hdr ...string) (int, int) {
	h := web.New(web.Options{Auth: web.NewAuth(opt)})
	return func(remote, password string, hdr ...string) (int, int) {
		t.Helper()
		req := httptest.NewRequest("POST", "/login", strings.NewReader(url.Values{"name": {"admin"}, "password": {password}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		req.RemoteAddr = remote
		rr := httptest.NewRecorder()
		h.ServeHTTP(rr, req)
		ra, _ := strconv.Atoi(rr.Header().Get("Retry-After"))
		if rr.Code == http.StatusTooManyRequests && ra <= 0 {
			t.Errorf("429 without Retry-After")
		}
		return rr.Code, ra
	}
}

// TestLoginThrottleAcrossInstances: two servers on one database (two processes on one
// SQLite file, two instances on one PostgreSQL schema) with the store as their
// AttemptStore: failures made at one count at the other, so spreading guesses over the
// instances behind a load balancer gains nothing; a success at one clears the source at
// both.
func TestLoginThrottleAcrossInstances(t *testing.T) {
	t.Parallel()
	kr := secret.GenerateKeyring()
	for _, tc := range []struct {
		name string
		open func(t *testing.T) (a, b store.Store)
	}{
		{"sqlite", func(t *testing.T) (store.Store, store.Store) {
			path := filepath.Join(t.TempDir(), "w.db")
			return openSQLite(t, path, kr), openSQLite(t, path, kr)
		}},
		{"postgres", func(t *testing.T) (store.Store, store.Store) {
			u := pgtest.SchemaURL(t)
			return openPostgres(t, u, kr), openPostgres(t, u, kr)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a, b := tc.open(t)
			createAdmin(t, a)
			clock := &fakeClock{t: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
			loginA := newLogin(t, web.AuthOptions{Users: a, Attempts: a, Now: clock.Now})
			loginB := newLogin(t, web.AuthOptions{Users: b, Attempts: b, Now: clock.Now})
			const attacker = "203.0.113.9:4000"
			for i := range 5 {
				if st, _ := loginA(attacker, "wrong password "+strconv.Itoa(i)); st != 401 {
					t.Fatalf("failure %d at A: %d", i, st)
				}
			}
			if st, ra := loginB(attacker, adminPassword); st != 429 || ra != 1 {
				t.Fatalf("sixth attempt, at B: %d, Retry-After %d; want 429 after 1s", st, ra)
			}
			clock.Add(time.Second)
			if st, _ := loginB(attacker, adminPassword); st != 303 {
				t.Fatalf("right password at B after the wait: %d", st)
			}
			// B's success cleared the source for A too: five free failures again.
			for i := range 5 {
				if st, _ := loginA(attacker, "wrong"); st != 401 {
					t.Fatalf("after the success, failure %d at A: %d", i, st)
				}
			}
		})
	}
}

func openSQLite(t *testing.T, path string, kr *secret.Keyring) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), path, kr, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func openPostgres(t *testing.T, url string, kr *secret.Keyring) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), url, kr, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestLoginThrottlePerSource: wrong passwords from one source make that source wait,
// with delays that grow, and never lock the real admin out from another source
// (issue 9.7). The clock is fake: nothing sleeps.
func TestLoginThrottlePerSource(t *testing.T) {
	t.Parallel()
	clock, login := loginEnv(t, web.AuthOptions{})
	const attacker, admin = "203.0.113.9:4000", "198.51.100.7:5000"
	for i := range 5 {
		if st, _ := login(attacker, "wrong password "+strconv.Itoa(i)); st != 401 {
			t.Fatalf("failure %d: %d", i, st)
		}
	}
	if st, ra := login(attacker, adminPassword); st != 429 || ra != 1 {
		t.Errorf("sixth attempt from the attacker: %d, Retry-After %d; want 429 after 1s", st, ra)
	}
	// The real admin, elsewhere, signs in at once.
	if st, _ := login(admin, adminPassword); st != 303 {
		t.Fatalf("the real admin from another address: %d, want 303 (signed in)", st)
	}
	// The attacker's delays double: 1s, 2s, 4s, … up to 15 minutes.
	want := 1
	for i := range 14 {
		clock.Add(time.Duration(want) * time.Second)
		if st, _ := login(attacker, "wrong again"); st != 401 {
			t.Fatalf("attempt after waiting %ds: %d", want, st)
		}
		want = min(want*2, 900)
		st, ra := login(attacker, "too soon")
		if st != 429 || ra != want {
			t.Fatalf("round %d: %d, Retry-After %d; want 429 after %ds", i, st, ra, want)
		}
		// A 429 does not count: waiting the delay is enough.
		clock.Add(time.Duration(ra-1) * time.Second)
		if st, _ := login(attacker, "still too soon"); st != 429 {
			t.Fatalf("round %d, 1s before the end of the wait: %d", i, st)
		}
		clock.Add(-time.Duration(ra-1) * time.Second)
	}
	if want != 900 {
		t.Errorf("the delay did not reach its cap: %ds", want)
	}
	// The real admin still signs in, from anywhere else.
	if st, _ := login("192.0.2.50:1", adminPassword); st != 303 {
		t.Errorf("the real admin during the attack: %d", st)
	}
	// A success from a source clears it.
	clock.Add(900 * time.Second)
	if st, _ := login(attacker, adminPassword); st != 303 {
		t.Fatalf("right password after the wait: %d", st)
	}
	for i := range 5 {
		if st, _ := login(attacker, "wrong"); st != 401 {
			t.Fatalf("after a success, failure %d: %d", i, st)
		}
	}
	if st, _ := login(attacker, "wrong"); st != 429 {
		t.Errorf("after a success and 5 failures: %d", st)
	}
	// A quiet day forgets the source.
	clock.Add(25 * time.Hour)
	if st, _ := login(attacker, adminPassword); st != 303 {
		t.Errorf("a day later: %d", st)
	}
}

// TestLoginThrottleSources: an IPv6 source is its /64; behind a trusted proxy the source
// is the client that X-Forwarded-For names, not the proxy.
func TestLoginThrottleSources(t *testing.T) {
	t.Parallel()
	_, login := loginEnv(t, web.AuthOptions{FreeFailures: 2, TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	for range 2 {
		login("[2001:db8:0:1::1]:1", "wrong")
	}
	if st, _ := login("[2001:db8:0:1::ffff]:1", "wrong"); st != 429 {
		t.Errorf("same /64: %d, want 429", st)
	}
	if st, _ := login("[2001:db8:0:2::1]:1", adminPassword); st != 303 {
		t.Errorf("another /64: %d, want 303", st)
	}
	// Through the proxy: the attacker is 203.0.113.9, the admin 198.51.100.7.
	for range 2 {
		login("127.0.0.1:1", "wrong", "X-Forwarded-For", "10.9.9.9, 203.0.113.9")
	}
	if st, _ := login("127.0.0.1:1", "wrong", "X-Forwarded-For", "203.0.113.9"); st != 429 {
		t.Errorf("attacker through the proxy: %d, want 429", st)
	}
	if st, _ := login("127.0.0.1:2", adminPassword, "X-Forwarded-For", "198.51.100.7"); st != 303 {
		t.Errorf("admin through the proxy: %d, want 303", st)
	}
	// A peer that is not a trusted proxy cannot choose its source.
	for range 2 {
		login("192.0.2.1:1", "wrong", "X-Forwarded-For", "198.51.100.1")
	}
	if st, _ := login("192.0.2.1:1", "wrong", "X-Forwarded-For", "198.51.100.2"); st != 429 {
		t.Errorf("untrusted peer with a forged X-Forwarded-For: %d, want 429", st)
	}
}

// TestLoginThrottleParallel: guesses sent at once from one source cannot all pass
// before the failures are counted.
func TestLoginThrottleParallel(t *testing.T) {
	t.Parallel()
	_, login := loginEnv(t, web.AuthOptions{FreeFailures: 3})
	var wg sync.WaitGroup
	var mu sync.Mutex
	checked := 0
	for i := range 12 {
		wg.Go(func() {
			st, _ := login("203.0.113.9:1", "wrong "+strconv.Itoa(i))
			if st == 401 {
				mu.Lock()
				checked++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if checked != 3 {
		t.Errorf("%d of 12 parallel guesses were checked, want 3", checked)
	}
}
