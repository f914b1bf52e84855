package webhook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/bc"
	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/webhook"
)

const connID = "conn-1"

// env is a Manager whose receiver runs behind a real TLS server, subscribed against an
// emulator behind another one: the emulator's notifier calls the receiver over HTTPS.
type env struct {
	t       *testing.T
	emu     *emulator.Emulator
	bcSrv   *httptest.Server
	recv    *httptest.Server
	m       *webhook.Manager
	store   *webhook.MemoryStore
	client  *bc.Client
	company string
	hints   chan webhook.Hint
	logs    *syncBuffer
	clock   *fakeClock // nil unless the test asked for one

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
	e := &env{t: t, hints: make(chan webhook.Hint, 1000), logs: &syncBuffer{}, store: &webhook.MemoryStore{}}
	if cfg.clock {
		e.clock = &fakeClock{t: time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)}
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
	opt.Logger = slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
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
	e.emu, err = emulator.New(cfg.emu)
	if err != nil {
		t.Fatal(err)
	}
	e.bcSrv = httptest.NewTLSServer(e.emu)
	creds := e.emu.Credentials()
	e.company = e.emu.DemoCompanyRef().CompanyID
	e.client, err = bc.New(bc.Options{
		BaseURL:     e.bcSrv.URL + "/v2.0",
		TenantID:    creds.TenantID,
		Environment: creds.Environment,
		Tokens: &testTokens{url: e.bcSrv.URL + "/" + creds.TenantID + "/oauth2/v2.0/token",
			clientID: creds.ClientID, secret: creds.ClientSecret, http: e.bcSrv.Client()},
		HTTPClient: e.bcSrv.Client(),
		Retry:      bc.RetryOptions{BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		e.bcSrv.Close()
		e.emu.Close()
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

// fakeClock is a settable clock shared by the emulator and the Manager.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// syncBuffer collects log output from concurrent goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testTokens is a client-credentials TokenSource against the emulator's Entra endpoint. It
// caches one token and drops it on Invalidate, so a test clock that jumps days ahead gets a
// fresh token after BC's 401.
type testTokens struct {
	url, clientID, secret string
	http                  *http.Client

	mu  sync.Mutex
	tok string
}

func (s *testTokens) Token(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok != "" {
		return s.tok, nil
	}
	form := url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {s.clientID},
		"client_secret": {s.secret},
		"scope":         {"https://api.businesscentral.dynamics.com/.default"},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := s.http.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", errors.New("token request failed: " + resp.Status)
	}
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(body, &tr); err != nil {
		return "", err
	}
	s.tok = tr.AccessToken
	return s.tok, nil
}

func (s *testTokens) Invalidate() {
	s.mu.Lock()
	s.tok = ""
	s.mu.Unlock()
}
