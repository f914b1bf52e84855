package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/store"
)

// RunUsers runs the conformance suite of store.UserStore: admins and their sessions.
func RunUsers(t *testing.T, open func(t *testing.T) store.UserStore) {
	t.Helper()
	runTests(t, open, []test[store.UserStore]{
		{"Users", testUsers},
		{"Sessions", testSessions},
		{"ConcurrentSameName", testUserConcurrentSameName},
	})
}

const phc = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"

func testUsers(t *testing.T, s store.UserStore) {
	ctx := t.Context()
	if n, err := s.CountUsers(ctx); err != nil || n != 0 {
		t.Fatalf("CountUsers on an empty store = %d, %v", n, err)
	}
	if err := s.CreateUser(ctx, "admin", phc); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "CreateUser(taken)", s.CreateUser(ctx, "admin", phc+"x"), store.ErrConflict)
	wantErr(t, "CreateUser(blank name)", s.CreateUser(ctx, " ", phc), store.ErrInvalid)
	wantErr(t, "CreateUser(no password)", s.CreateUser(ctx, "bob", ""), store.ErrInvalid)
	if err := s.CreateUser(ctx, "Admin", phc+"2"); err != nil {
		t.Fatalf("names differing in case are different admins: %v", err)
	}
	if h, err := s.UserPasswordHash(ctx, "admin"); err != nil || h != phc {
		t.Fatalf("UserPasswordHash = %q, %v", h, err)
	}
	_, err := s.UserPasswordHash(ctx, "nobody")
	wantErr(t, "UserPasswordHash(unknown)", err, store.ErrNotFound)
	if n, err := s.CountUsers(ctx); err != nil || n != 2 {
		t.Fatalf("CountUsers = %d, %v; want 2", n, err)
	}
}

func testSessions(t *testing.T, s store.UserStore) {
	ctx := t.Context()
	if err := s.CreateUser(ctx, "admin", phc); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	live := store.Session{Hash: store.HashToken("session-1"), User: "admin", CreatedAt: now.Add(-time.Minute), ExpiresAt: now.Add(time.Hour)}
	expired := store.Session{Hash: store.HashToken("session-2"), User: "admin", CreatedAt: now.Add(-2 * time.Hour), ExpiresAt: now.Add(-time.Hour)}
	stamped := store.Session{Hash: store.HashToken("session-3"), User: "admin", ExpiresAt: now.Add(time.Hour)}
	for _, x := range []store.Session{live, expired, stamped} {
		if err := s.CreateSession(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.GetSession(ctx, live.Hash)
	if err != nil {
		t.Fatal(err)
	}
	if got.Hash != live.Hash || got.User != "admin" || !got.CreatedAt.Equal(live.CreatedAt) || !got.ExpiresAt.Equal(live.ExpiresAt) {
		t.Fatalf("GetSession = %+v, want %+v", got, live)
	}
	_, err = s.GetSession(ctx, expired.Hash)
	wantErr(t, "GetSession(expired)", err, store.ErrNotFound)
	_, err = s.GetSession(ctx, store.HashToken("unknown"))
	wantErr(t, "GetSession(unknown)", err, store.ErrNotFound)
	if got, err := s.GetSession(ctx, stamped.Hash); err != nil || got.CreatedAt.IsZero() {
		t.Fatalf("session without CreatedAt: %+v, %v; want it stamped", got, err)
	}
	if err := s.DeleteSession(ctx, live.Hash); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetSession(ctx, live.Hash)
	wantErr(t, "GetSession(deleted)", err, store.ErrNotFound)
	if err := s.DeleteSession(ctx, live.Hash); err != nil {
		t.Fatalf("deleting a missing session: %v, want nil", err)
	}
}

func testUserConcurrentSameName(t *testing.T, s store.UserStore) {
	raceForOne(t, 8, "CreateUser", func(i int) error { return s.CreateUser(t.Context(), "admin", fmt.Sprint(phc, i)) })
	if n, err := s.CountUsers(t.Context()); err != nil || n != 1 {
		t.Fatalf("CountUsers = %d, %v; want 1", n, err)
	}
}
