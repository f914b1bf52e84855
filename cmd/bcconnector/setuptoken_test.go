package main

import (
	"context"
	"fmt"
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
// (issue 9.8). /metrics needs a token on --listen and none on --metrics-listen (9.9).
func TestServeSetupToken(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("BCC_MASTER_KEY", "")
	var out, errb testlog.Buffer
	g := &Globals{DB: filepath.Join(dir, "bcc.db"), KeyFile: filepath.Join(dir, "master.key"), LogLevel: "debug", Stdout: &out, Stderr: &errb}
	cfg := testServeCmd()
	cfg.MetricsListen = "127.0.0.1:0"
	cfg.TrustedProxies = []string{"127.0.0.1", "10.0.0.0/8"}
	s := NewServer(cfg, g)
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
	for _, c := range []struct {
		url  string
		want int
	}{{s.URL() + "/metrics", 401}, {s.MetricsURL() + "/metrics", 200}, {s.MetricsURL() + "/api/v1/connections", 404}} {
		resp, err := http.Get(c.url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("GET %s without a token: %d, want %d", c.url, resp.StatusCode, c.want)
		}
	}
}

func TestParsePrefixes(t *testing.T) {
	got, err := parsePrefixes([]string{"127.0.0.1", " 10.1.2.3/8", "::1", "fd00::/8"})
	if err != nil || fmt.Sprint(got) != "[127.0.0.1/32 10.0.0.0/8 ::1/128 fd00::/8]" {
		t.Errorf("%v %v", got, err)
	}
	if _, err := parsePrefixes([]string{"proxy.local"}); err == nil || !strings.Contains(err.Error(), "proxy.local") {
		t.Errorf("a name: %v", err)
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
