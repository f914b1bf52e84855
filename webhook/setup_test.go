package webhook_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/bc"
	"github.com/bizzjoiner/bcconnector/conn"
	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/emulator/emulatortest"
	"github.com/bizzjoiner/bcconnector/internal/testlog"
	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/webhook"
)

const connID = "conn-1"

// env is a Manager whose receiver runs behind a real TLS server, subscribed against an
// emulator behind another one: the emulator's notifier calls the receiver over HTTPS.
type env struct {
	t       *testing.T
	sb      *emulatortest.Sandbox
	emu     *emulator.Emulator
	recv    *httptest.Server
	m       *webhook.Manager
	store   *webhook.MemoryStore
	client  *bc.Client
	company string
	hints   chan webhook.Hint
	logs    *testlog.Buffer
	clock   *emulatortest.Clock // nil unless the test asked for one

	rejectPosts      atomic.Int32 // answer the next n notification POSTs with 404 (before the Manager)
	rejectHandshakes atomic.Bool  // answer handshakes with 404 (before the Manager)
}

type envConfig struct {
	emu   emulator.Config
	opt   webhook.Options // Store, Hint, PublicURL, Logger are set by setup when empty
	clock bool            // share a fake clock between the emulator and the Manager
}

func setup(t *testing.T, cfg envConfig) *env {
	t.Helper()
	e := &env{t: t, hints: make(chan webhook.Hint, 1000), logs: &testlog.Buffer{}, store: &webhook.MemoryStore{}}
	if cfg.clock {
		e.clock = emulatortest.NewClock(time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC))
		cfg.emu.Now = e.clock.Now
		cfg.opt.Now = e.clock.Now
	}

	// The receiver's address is known before it starts, so the Manager (which needs it as
	// PublicURL) exists before the first request can arrive.
	e.recv = httptest.NewUnstartedServer(nil)
	opt := cfg.opt
	opt.PublicURL = "https://" + e.recv.Listener.Addr().String() + "/webhooks/bc"
	if opt.Store == nil {
		opt.Store = e.store
	}
	opt.Hint = func(ctx context.Context, h webhook.Hint) { e.hints <- h }
	opt.Logger = e.logs.Logger()
	m, err := webhook.NewManager(opt)
	if err != nil {
		t.Fatal(err)
	}
	e.m = m
	e.recv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, handshake := r.URL.Query()["validationToken"]
		if handshake && e.rejectHandshakes.Load() {
			http.NotFound(w, r)
			return
		}
		if !handshake && r.Method == http.MethodPost && e.rejectPosts.Add(-1) >= 0 {
			http.NotFound(w, r) // §7.4: BC deletes the subscriptions on this URL
			return
		}
		m.ServeHTTP(w, r)
	})
	e.recv.StartTLS()

	cfg.emu.WebhookClient = e.recv.Client()
	if cfg.emu.WebhookDelay == 0 {
		cfg.emu.WebhookDelay = -1 // send at once
	}
	e.sb = emulatortest.Start(t, cfg.emu)
	e.emu = e.sb.Emulator
	e.company = e.sb.Company().CompanyID
	cr := e.sb.Creds
	// Tokens and BC share the test clock, so a clock that jumps days ahead gets a fresh
	// token after BC's 401.
	cn, err := conn.Open(store.Connection{TenantID: cr.TenantID, ClientID: cr.ClientID, Environment: cr.Environment,
		AuthorityHost: e.sb.AuthorityHost(), BCBaseURL: e.sb.BCBaseURL()}, secret.Credential{Secret: secret.Secret(cr.ClientSecret)},
		conn.Options{HTTPClient: e.sb.Client(), Now: cfg.emu.Now, Retry: bc.RetryOptions{BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	e.client = cn.BC
	t.Cleanup(func() {
		e.sb.Close()
		e.recv.Close()
		m.Close()
	})
	return e
}

func (e *env) ensure(sets ...string) webhook.EnsureResult {
	e.t.Helper()
	res, err := e.m.Ensure(context.Background(), e.client, connID, e.company, sets)
	if err != nil {
		e.t.Fatalf("Ensure(%v): %v", sets, err)
	}
	return res
}

// remote lists BC's subscriptions as raw JSON objects.
func (e *env) remote() []map[string]any {
	e.t.Helper()
	var out []map[string]any
	for rec, err := range e.client.List(context.Background(), bc.Ref{Path: "subscriptions"}, &bc.Query{Primary: true}) {
		if err != nil {
			e.t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(rec.Raw, &m); err != nil {
			e.t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func (e *env) companyRef() emulator.CompanyRef { return e.emu.DemoCompanyRef() }

// ids returns the first n record ids of an entity set.
func (e *env) ids(set string, n int) []string {
	var out []string
	for row := range e.emu.Rows(e.companyRef(), set) {
		out = append(out, row["id"].(string))
		if len(out) == n {
			break
		}
	}
	return out
}

// hint waits for the next hint.
func (e *env) hint() webhook.Hint {
	e.t.Helper()
	select {
	case h := <-e.hints:
		return h
	case <-time.After(5 * time.Second):
		e.t.Fatal("no hint within 5s")
		return webhook.Hint{}
	}
}

// noHint asserts that no hint arrives within d.
func (e *env) noHint(d time.Duration) {
	e.t.Helper()
	select {
	case h := <-e.hints:
		e.t.Fatalf("unexpected hint %+v", h)
	case <-time.After(d):
	}
}

// post sends a notification body to the receiver like BC would and returns the status.
func (e *env) post(body string) int {
	e.t.Helper()
	resp, err := e.recv.Client().Post(e.m.PublicURL(), "application/json", strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// waitFor polls cond until it holds or 5 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
