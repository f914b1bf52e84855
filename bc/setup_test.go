package bc

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
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

	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/emulator/fault"
)

// testEnv is one emulator behind a real TLS server, with a handler in front that records
// what the client sent.
type testEnv struct {
	t     testing.TB
	emu   *emulator.Emulator
	srv   *httptest.Server
	creds emulator.Credentials

	mu          sync.Mutex
	seen        []seenRequest
	lose        map[string]int // method → how many answers to drop after BC processed them
	inFlight    atomic.Int64
	maxInFlight atomic.Int64
	bcRequests  atomic.Int64
}

// seenRequest is a BC request as it arrived.
type seenRequest struct {
	Method     string
	RequestURI string
	Header     http.Header
	At         time.Time
}

func setup(t testing.TB, cfg emulator.Config) *testEnv {
	t.Helper()
	emu, err := emulator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e := &testEnv{t: t, emu: emu, creds: emu.Credentials()}
	e.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v2.0/") {
			e.bcRequests.Add(1)
			n := e.inFlight.Add(1)
			defer e.inFlight.Add(-1)
			for {
				m := e.maxInFlight.Load()
				if n <= m || e.maxInFlight.CompareAndSwap(m, n) {
					break
				}
			}
			e.mu.Lock()
			e.seen = append(e.seen, seenRequest{Method: r.Method, RequestURI: r.RequestURI, Header: r.Header.Clone(), At: time.Now()})
			lost := e.lose[r.Method] > 0
			if lost {
				e.lose[r.Method]--
			}
			e.mu.Unlock()
			if lost {
				// BC processes the request, but its answer never reaches the client.
				emu.ServeHTTP(httptest.NewRecorder(), r)
				panic(http.ErrAbortHandler)
			}
		}
		emu.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		e.srv.Close()
		emu.Close()
	})
	return e
}

// loseAnswers makes the next n requests with method reach BC but lose their answer.
func (e *testEnv) loseAnswers(method string, n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.lose == nil {
		e.lose = map[string]int{}
	}
	e.lose[method] = n
}

// requests returns the BC requests seen so far.
func (e *testEnv) requests() []seenRequest {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]seenRequest(nil), e.seen...)
}

// addFaults scripts faults from now on, in the --faults syntax.
func (e *testEnv) addFaults(spec string) {
	e.t.Helper()
	rules, err := fault.Parse(spec)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, r := range rules {
		if err := e.emu.Faults().Add(r); err != nil {
			e.t.Fatal(err)
		}
	}
}

func (e *testEnv) tokens() *testTokens {
	return &testTokens{
		url:      e.srv.URL + "/" + e.creds.TenantID + "/oauth2/v2.0/token",
		clientID: e.creds.ClientID,
		secret:   e.creds.ClientSecret,
		http:     e.srv.Client(),
	}
}

// client returns a Client for the scenario's connection. Fields of opt that are set win;
// retries back off by a millisecond so tests stay fast.
func (e *testEnv) client(opt Options) *Client {
	e.t.Helper()
	if opt.BaseURL == "" {
		opt.BaseURL = e.srv.URL + "/v2.0"
	}
	if opt.TenantID == "" {
		opt.TenantID = e.creds.TenantID
	}
	if opt.Environment == "" {
		opt.Environment = e.creds.Environment
	}
	if opt.Tokens == nil {
		opt.Tokens = e.tokens()
	}
	if opt.HTTPClient == nil {
		opt.HTTPClient = e.srv.Client()
	}
	if opt.Retry.BaseDelay == 0 {
		opt.Retry.BaseDelay = time.Millisecond
		opt.Retry.MaxDelay = 5 * time.Millisecond
	}
	c, err := New(opt)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *testEnv) companyID() string { return e.emu.DemoCompanyRef().CompanyID }

func (e *testEnv) set(name string) Ref { return Set(e.companyID(), name) }

// testTokens is a minimal client-credentials TokenSource against the emulator's Entra
// endpoint, with Invalidate.
type testTokens struct {
	url, clientID, secret string
	http                  *http.Client

	mu            sync.Mutex
	tok           string
	fetches       int
	invalidations int
	fail          error
}

func (s *testTokens) Token(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return "", s.fail
	}
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
		return "", fmt.Errorf("token endpoint answered %d", resp.StatusCode)
	}
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(body, &tr); err != nil {
		return "", err
	}
	s.tok = tr.AccessToken
	s.fetches++
	return s.tok, nil
}

func (s *testTokens) Invalidate() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tok = ""
	s.invalidations++
}

func (s *testTokens) counts() (fetches, invalidations int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fetches, s.invalidations
}

// testClock is a clock tests move forward.
type testClock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

// fakeSleep replaces the client's retry sleep: it records each delay and moves the
// client's clock instead of waiting.
type fakeSleep struct {
	mu     sync.Mutex
	delays []time.Duration
	clock  *testClock
}

func (f *fakeSleep) sleep(ctx context.Context, d time.Duration) error {
	f.mu.Lock()
	f.delays = append(f.delays, d)
	f.mu.Unlock()
	f.clock.Advance(d)
	return ctx.Err()
}

func (f *fakeSleep) recorded() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.delays...)
}

// withFakeSleep makes c's retries instant and recorded.
func withFakeSleep(c *Client) *fakeSleep {
	clock := &testClock{}
	f := &fakeSleep{clock: clock}
	c.now = clock.Now
	c.limiter.now = clock.Now
	c.sleep = f.sleep
	return f
}

// logBuffer collects log output safely from many goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func debugLogger(b *logBuffer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// collect drains an iterator.
func collect(t testing.TB, seq func(func(Record, error) bool)) []Record {
	t.Helper()
	var out []Record
	for rec, err := range seq {
		if err != nil {
			t.Fatalf("iteration: %v", err)
		}
		out = append(out, rec)
	}
	return out
}

func countLines(s, sub string) int {
	n := 0
	for line := range strings.SplitSeq(s, "\n") {
		if strings.Contains(line, sub) {
			n++
		}
	}
	return n
}
