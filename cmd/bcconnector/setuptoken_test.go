package main

import (
	"context"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/bizzjoiner/bcconnector/internal/testlog"
)

// TestServeSetupToken: serve without an admin prints a one-time setup token on its
// standard output (not in the log); /setup creates the first admin only with it
// (issue 9.8).
func TestServeSetupToken(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("BCC_MASTER_KEY", "")
	var out, errb testlog.Buffer
	g := &Globals{DB: filepath.Join(dir, "bcc.db"), KeyFile: filepath.Join(dir, "master.key"), LogLevel: "debug", Stdout: &out, Stderr: &errb}
	s := NewServer(testServeCmd(), g)
	if err := s.Open(t.Context()); err != nil {
		t.Fatalf("open: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		if tok := setupTokenFrom(out.String()); tok != "" && strings.Contains(errb.String(), tok) {
			t.Error("the setup token is in the log")
		}
	}()
	tok := setupTokenFrom(out.String())
	if tok == "" {
		t.Fatalf("no setup token printed: %q", out.String())
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	post := func(v url.Values) int {
		resp, err := c.PostForm(s.URL()+"/setup", v)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := post(url.Values{"name": {"admin"}, "password": {"correct horse battery staple"}}); st != 403 {
		t.Errorf("setup from 127.0.0.1 without the token: %d, want 403", st)
	}
	if st := post(url.Values{"token": {tok}, "name": {"admin"}, "password": {"correct horse battery staple"}}); st != 303 {
		t.Errorf("setup with the printed token: %d, want 303", st)
	}
}

var setupTokenLine = regexp.MustCompile(`one-time setup token (\S+),`)

func setupTokenFrom(out string) string {
	m := setupTokenLine.FindStringSubmatch(out)
	if m == nil {
		return ""
	}
	return m[1]
}
