package main

import (
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/internal/testlog"
	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/store/postgres/pgtest"
)

// testServeCmd is ServeCmd with the defaults kong would fill in.
func testServeCmd() ServeCmd {
	return ServeCmd{Listen: "127.0.0.1:0", Interval: time.Minute, Workers: 4, Grace: 10 * time.Second, Slice: 15 * time.Second}
}

// TestServeSandbox starts the serve program with --sandbox, waits for /readyz, and sees
// the demo connection's rows arrive through the API with a token created in the store;
// then shuts down.
func TestServeSandbox(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "bcc.db")
	t.Setenv("BCC_MASTER_KEY", "")
	g := &Globals{DB: db, KeyFile: filepath.Join(dir, "master.key"), LogLevel: "info"}
	testServeSandbox(t, g)
}

// TestServeSandboxPostgres is TestServeSandbox on PostgreSQL (--database-url): the store,
// River's tables and jobs in one schema of the test server.
func TestServeSandboxPostgres(t *testing.T) {
	dbURL := pgtest.SchemaURL(t)
	t.Setenv("BCC_MASTER_KEY", "")
	g := &Globals{DatabaseURL: dbURL, KeyFile: filepath.Join(t.TempDir(), "master.key"), LogLevel: "info"}
	testServeSandbox(t, g)
}

// testServeSandbox runs the sandbox server on the database g names.
func testServeSandbox(t *testing.T, g *Globals) {
	var out, errb testlog.Buffer
	g.Stdout, g.Stderr = &out, &errb
	cfg := testServeCmd()
	cfg.Sandbox = true
	s := NewServer(cfg, g)
	if err := s.Open(t.Context()); err != nil {
		t.Fatalf("open: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	base := s.URL()
	get := func(path, token string) (int, string) {
		req, _ := http.NewRequest("GET", base+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if st, _ := get("/readyz", ""); st != 200 {
		t.Fatalf("readyz: %d", st)
	}
	if st, _ := get("/healthz", ""); st != 200 {
		t.Fatalf("healthz: %d", st)
	}
	// A token made through the store, as an operator's tooling would.
	st, err := openStore(context.Background(), g.DatabaseURL, g.DB, secret.GenerateKeyring(), nil)
	if err != nil {
		t.Fatal(err)
	}
	tok := store.NewToken()
	if _, err := st.CreateToken(context.Background(), "smoke", nil, store.HashToken(tok.Reveal())); err != nil {
		t.Fatal(err)
	}
	st.Close()
	var rows int64
	for deadline := time.Now().Add(10 * time.Second); rows == 0 && time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		code, body := get("/api/v1/connections", tok.Reveal())
		if code != 200 {
			t.Fatalf("connections: %d %s", code, body)
		}
		var list struct {
			Connections []struct{ Counts map[string]int64 }
		}
		_ = json.Unmarshal([]byte(body), &list)
		for _, c := range list.Connections {
			rows += c.Counts["customers"]
		}
	}
	if rows == 0 {
		t.Fatalf("no customers synced within 10 s; log: %.2000s", errb.String())
	}
	code, body := get("/metrics", tok.Reveal())
	if code != 200 {
		t.Errorf("metrics: %d %.500s", code, body)
	}
	for _, want := range []string{"bcc_bc_requests_total", `bcc_queue_jobs{queue="bc_sync",state="available"}`, `bcc_build_info{goversion=`, `bcc_bc_request_duration_seconds_count{outcome="ok"}`} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s: %.3000s", want, body)
		}
	}
	// The first pass ends: River's event counts the job, the worker the pass, the store the success.
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		_, body = get("/metrics", tok.Reveal())
		if strings.Contains(body, `bcc_jobs_total{kind="bc_sync",outcome="completed"}`) && strings.Contains(body, `bcc_sync_pass_duration_seconds_count{mode="full",outcome="ok"}`) &&
			strings.Contains(body, `bcc_sync_last_success_timestamp_seconds{`) {
			break
		}
	}
	for _, want := range []string{`bcc_jobs_total{kind="bc_sync",outcome="completed"}`, `bcc_sync_pass_duration_seconds_count{mode="full",outcome="ok"}`, `bcc_sync_last_success_timestamp_seconds{`} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s after the first sync: %.3000s", want, body)
		}
	}
	if code, _ := get("/", ""); code != 200 { // redirected to the login page
		t.Errorf("ui: %d", code)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	// One key style, durations in one unit, no empty errors, River quiet at info, and
	// every sync line names its connection, company and entity set.
	if n := checkLogLines(t, errb.String()); n == 0 {
		t.Errorf("no sync line in the log: %.3000s", errb.String())
	}
	// The sandbox secret and the printed token never reach the log.
	logText := errb.String()
	if strings.Contains(logText, tok.Reveal()) || regexp.MustCompile(`bcc_[A-Za-z0-9_-]{43}`).MatchString(logText) {
		t.Error("a token is in the log")
	}
	emu, _ := emulator.New(emulator.Config{}) // same seed: same sandbox secret
	if sec := emu.Credentials().ClientSecret; sec == "" || strings.Contains(logText, sec) || strings.Contains(out.String(), sec) {
		t.Error("the sandbox client secret is printed or logged")
	}
}

// TestServeSandboxLeavesNoKey: serve --sandbox without --db keeps its master key with its
// throw-away database (nothing under the user's config or data directory), and prints what
// the wizard needs to connect to the sandbox, without its secret.
func TestServeSandboxLeavesNoKey(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, "config"))
	t.Setenv("XDG_DATA_HOME", filepath.Join(home, "data"))
	t.Setenv("BCC_MASTER_KEY", "")
	var out, errb testlog.Buffer
	g := &Globals{Stdout: &out, Stderr: &errb, LogLevel: "info"}
	s := NewServer(func() ServeCmd { c := testServeCmd(); c.Sandbox = true; return c }(), g)
	if err := s.Open(t.Context()); err != nil {
		t.Fatalf("open: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	_ = filepath.WalkDir(home, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			t.Errorf("serve --sandbox left %s", path)
		}
		return nil
	})
	emu, _ := emulator.New(emulator.Config{}) // same seed: same sandbox credentials
	cr := emu.Credentials()
	printed := out.String()
	for _, want := range []string{"/wizard", "tenant " + cr.TenantID, "client ID " + cr.ClientID, "pre-filled"} {
		if !strings.Contains(printed, want) {
			t.Errorf("serve --sandbox does not print %q:\n%s", want, printed)
		}
	}
	if strings.Contains(printed, cr.ClientSecret) {
		t.Error("the sandbox client secret is printed")
	}
}
