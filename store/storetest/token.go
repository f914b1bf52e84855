package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/store"
)

// RunTokens runs the conformance suite of store.TokenStore.
func RunTokens(t *testing.T, open func(t *testing.T) store.TokenStore) {
	t.Helper()
	runTests(t, open, []test[store.TokenStore]{
		{"Lifecycle", testTokenLifecycle},
		{"Scopes", testTokenScopes},
		{"Names", testTokenNames},
		{"Invalid", testTokenInvalid},
		{"ConcurrentSameName", testTokenConcurrentSameName},
	})
}

// tokenHash returns a distinct valid token hash for n.
func tokenHash(n int) string { return store.HashToken(fmt.Sprintf("bcc_test-token-%d", n)) }

func testTokenLifecycle(t *testing.T, s store.TokenStore) {
	ctx := t.Context()
	before := time.Now().Add(-time.Second)
	tok, err := s.CreateToken(ctx, "  platform-prod  ", nil, tokenHash(1))
	if err != nil {
		t.Fatal(err)
	}
	if tok.ID == "" || tok.Name != "platform-prod" || tok.Connections != nil || tok.CreatedAt.Before(before) ||
		tok.CreatedAt.Location() != time.UTC || !tok.LastUsedAt.IsZero() || !tok.RevokedAt.IsZero() {
		t.Fatalf("CreateToken = %+v", tok)
	}
	got, err := s.AuthenticateToken(ctx, tokenHash(1))
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != tok.ID || got.Name != tok.Name || !got.CreatedAt.Equal(tok.CreatedAt) || got.LastUsedAt.IsZero() {
		t.Fatalf("AuthenticateToken = %+v, want %+v with LastUsedAt stamped", got, tok)
	}
	list, err := s.ListTokens(ctx)
	if err != nil || len(list) != 1 || list[0].LastUsedAt.IsZero() {
		t.Fatalf("ListTokens = %+v, %v; want the token with LastUsedAt", list, err)
	}
	_, err = s.AuthenticateToken(ctx, tokenHash(2))
	wantErr(t, "AuthenticateToken(unknown)", err, store.ErrNotFound)

	if err := s.RevokeToken(ctx, tok.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.AuthenticateToken(ctx, tokenHash(1))
	wantErr(t, "AuthenticateToken(revoked)", err, store.ErrNotFound)
	if err := s.RevokeToken(ctx, tok.ID); err != nil {
		t.Fatalf("revoking a revoked token by ID: %v, want no-op", err)
	}
	wantErr(t, "RevokeToken(revoked, by name)", s.RevokeToken(ctx, "platform-prod"), store.ErrNotFound)
	wantErr(t, "RevokeToken(unknown)", s.RevokeToken(ctx, "nope"), store.ErrNotFound)
	list, _ = s.ListTokens(ctx)
	if len(list) != 1 || list[0].RevokedAt.IsZero() {
		t.Fatalf("revoked token listed as %+v, want it with RevokedAt", list)
	}
}

func testTokenScopes(t *testing.T, s store.TokenStore) {
	ctx := t.Context()
	for i, conns := range [][]string{nil, {}, {"c2", "c1"}} {
		tok, err := s.CreateToken(ctx, fmt.Sprint("t", i), conns, tokenHash(i))
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.AuthenticateToken(ctx, tokenHash(i))
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range []store.Token{tok, got} {
			if !slices.Equal(x.Connections, conns) || (x.Connections == nil) != (conns == nil) {
				t.Errorf("token %d: Connections = %#v, want %#v", i, x.Connections, conns)
			}
		}
		// nil means every connection, an empty list none.
		if got.Allows("c1") != (conns == nil || len(conns) > 0) {
			t.Errorf("token %d with %#v: Allows(c1) = %v", i, conns, got.Allows("c1"))
		}
	}
	list, err := s.ListTokens(ctx)
	if err != nil || len(list) != 3 || !slices.Equal(list[2].Connections, []string{"c2", "c1"}) || list[1].Connections == nil {
		t.Fatalf("ListTokens = %+v, %v", list, err)
	}
}

func testTokenNames(t *testing.T, s store.TokenStore) {
	ctx := t.Context()
	for i, name := range []string{"zeta", "alpha", "mid"} {
		if _, err := s.CreateToken(ctx, name, nil, tokenHash(i)); err != nil {
			t.Fatal(err)
		}
	}
	_, err := s.CreateToken(ctx, "alpha", nil, tokenHash(10))
	wantErr(t, "CreateToken(taken name)", err, store.ErrConflict)
	if !strings.Contains(err.Error(), "alpha") {
		t.Errorf("conflict does not name the token: %v", err)
	}
	_, err = s.CreateToken(ctx, "other", nil, tokenHash(0))
	wantErr(t, "CreateToken(taken hash)", err, store.ErrConflict)

	// Revoked by name, the name is free again; the revoked token stays listed.
	if err := s.RevokeToken(ctx, "alpha"); err != nil {
		t.Fatal(err)
	}
	again, err := s.CreateToken(ctx, "alpha", []string{"c1"}, tokenHash(11))
	if err != nil {
		t.Fatalf("CreateToken with a revoked token's name: %v", err)
	}
	list, err := s.ListTokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, x := range list {
		names = append(names, x.Name)
	}
	if !slices.Equal(names, []string{"alpha", "alpha", "mid", "zeta"}) {
		t.Fatalf("ListTokens names = %v, want ordered by name, revoked included", names)
	}
	if got, err := s.AuthenticateToken(ctx, tokenHash(11)); err != nil || got.ID != again.ID {
		t.Fatalf("new alpha: %+v %v", got, err)
	}
	// Revoking by name finds the live token of that name.
	if err := s.RevokeToken(ctx, "alpha"); err != nil {
		t.Fatal(err)
	}
	_, err = s.AuthenticateToken(ctx, tokenHash(11))
	wantErr(t, "AuthenticateToken(revoked by name)", err, store.ErrNotFound)
}

func testTokenInvalid(t *testing.T, s store.TokenStore) {
	ctx := t.Context()
	_, err := s.CreateToken(ctx, " ", nil, tokenHash(1))
	wantErr(t, "CreateToken(blank name)", err, store.ErrInvalid)
	_, err = s.CreateToken(ctx, "x", nil, "abc")
	wantErr(t, "CreateToken(short hash)", err, store.ErrInvalid)
	if list, _ := s.ListTokens(ctx); len(list) != 0 {
		t.Fatalf("invalid tokens stored: %+v", list)
	}
}

func testTokenConcurrentSameName(t *testing.T, s store.TokenStore) {
	raceForOne(t, 8, "CreateToken", func(i int) error {
		_, err := s.CreateToken(t.Context(), "contested", nil, tokenHash(i))
		return err
	})
}
