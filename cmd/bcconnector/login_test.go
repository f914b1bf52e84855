package main

import (
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bizzjoiner/bcconnector/internal/testlog"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/web"
)

// TestServeCountsSignInFailuresInTheStore: serve's sign-in throttle keeps its counts in
// the database, where every instance on it reads them, not in the process.
func TestServeCountsSignInFailuresInTheStore(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("BCC_MASTER_KEY", "")
	var out, errb testlog.Buffer
	g := &Globals{DB: filepath.Join(dir, "bcc.db"), KeyFile: filepath.Join(dir, "master.key"), LogLevel: "info", Stdout: &out, Stderr: &errb}
	s := runServer(t, testServeCmd(), g)
	hash, _ := web.HashPassword("correct horse battery staple")
	if err := s.app.db.CreateUser(t.Context(), "admin", hash); err != nil {
		t.Fatal(err)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for i := range 3 {
		resp, err := client.PostForm(s.URL()+"/login", url.Values{"name": {"admin"}, "password": {"wrong " + strings.Repeat("x", i)}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong password %d: %d", i, resp.StatusCode)
		}
	}
	var got store.LoginAttempts
	if err := s.app.db.UpdateAttempts(t.Context(), "ip:127.0.0.1", func(a store.LoginAttempts) store.LoginAttempts { got = a; return a }); err != nil {
		t.Fatal(err)
	}
	if got.Failures != 3 {
		t.Fatalf("the store holds %d failures of 127.0.0.1, want 3", got.Failures)
	}
}
