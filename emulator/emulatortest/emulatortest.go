// Package emulatortest gives tests a sandbox in three lines: the emulator (Entra ID and
// Business Central) on a real TLS listener with a fresh CA, its credentials, an HTTP client
// that trusts it, and its endpoints. It imports nothing of the connector: the emulator stays
// the other side of the wire, and connector tests build their clients from what a Sandbox
// hands over, as they would from what an admin hands over.
//
//	sb := emulatortest.Start(t, emulator.Config{Scenario: emulator.ScenarioOK})
//	cr := sb.Creds // tenant, client ID, secret, environment, company
//	hc := sb.Client() // trusts sb.CAFile; endpoints: sb.AuthorityHost(), sb.BCBaseURL()
package emulatortest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/emulator/datagen"
	"github.com/bizzjoiner/bcconnector/emulator/fault"
	"github.com/bizzjoiner/bcconnector/emulator/idp"
)

// Sandbox is an emulator serving HTTPS on 127.0.0.1 with a port of its own. The embedded
// Server gives the emulator's state (Rows, Mutate, Faults, ...), URL, CAFile,
// AuthorityHost() and BCBaseURL().
type Sandbox struct {
	*emulator.Server
	// Creds are what the admin of the scenario hands over: tenant, client ID, secret, its
	// end date, environment and company.
	Creds emulator.Credentials
	// CAPEM is the PEM of the CA that signed the server certificate (also in CAFile).
	CAPEM []byte

	t      testing.TB
	client *http.Client
	once   sync.Once
}

// Option adjusts a Sandbox before it starts.
type Option func(*options)

type options struct {
	sizes  string
	faults string
	wrap   func(http.Handler) http.Handler
}

// Sizes sets the data sizes in the --sizes syntax (e.g. "small,generalLedgerEntries=3000");
// it replaces cfg.Sizes.
func Sizes(spec string) Option { return func(o *options) { o.sizes = spec } }

// Faults adds fault rules in the --faults syntax (e.g. "seq(2s):bc=429,ok") to cfg.Faults.
func Faults(spec string) Option { return func(o *options) { o.faults = spec } }

// Wrap puts a handler in front of the emulator on the listener, e.g. to record what clients
// send or to drop answers.
func Wrap(w func(http.Handler) http.Handler) Option { return func(o *options) { o.wrap = w } }

// TokenRequests records the form of every token request that reaches a sandbox, for tests
// that check what a client sent (a client secret, or a client assertion). Pass
// RecordTokenRequests to Start.
type TokenRequests struct {
	mu    sync.Mutex
	forms []url.Values
}

// RecordTokenRequests makes the sandbox record its token requests' forms in rec (it
// replaces a Wrap option).
func RecordTokenRequests(rec *TokenRequests) Option {
	return Wrap(func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/token") {
				body, _ := io.ReadAll(r.Body)
				r.Body = io.NopCloser(strings.NewReader(string(body)))
				form, _ := url.ParseQuery(string(body))
				rec.mu.Lock()
				rec.forms = append(rec.forms, form)
				rec.mu.Unlock()
			}
			h.ServeHTTP(w, r)
		})
	})
}

// Take returns the forms recorded since the last Take.
func (rec *TokenRequests) Take() []url.Values {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	out := rec.forms
	rec.forms = nil
	return out
}

// Start runs an emulator built from cfg on a fresh TLS listener and stops it when the test
// ends. Tests may run it in parallel: every Sandbox has its own port, CA and CA file.
func Start(t testing.TB, cfg emulator.Config, opts ...Option) *Sandbox {
	t.Helper()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.sizes != "" {
		s, err := datagen.ParseSizes(o.sizes)
		if err != nil {
			t.Fatalf("emulatortest: sizes %q: %v", o.sizes, err)
		}
		cfg.Sizes = s
	}
	if o.faults != "" {
		rules, err := fault.Parse(o.faults)
		if err != nil {
			t.Fatalf("emulatortest: faults %q: %v", o.faults, err)
		}
		cfg.Faults = append(append([]fault.Rule(nil), cfg.Faults...), rules...)
	}
	srv, err := emulator.Start(cfg, emulator.StartOptions{
		Addr:   "127.0.0.1:0",
		CAFile: filepath.Join(t.TempDir(), "ca.pem"),
		Wrap:   o.wrap,
	})
	if err != nil {
		t.Fatalf("emulatortest: start the emulator: %v", err)
	}
	s := &Sandbox{Server: srv, Creds: srv.Credentials(), t: t, client: srv.Client()}
	t.Cleanup(s.Close)
	if s.CAPEM, err = os.ReadFile(srv.CAFile); err != nil {
		t.Fatalf("emulatortest: read the CA file: %v", err)
	}
	return s
}

// Close stops the sandbox; later calls do nothing. Start has it run when the test ends, so
// tests call it only to make the sandbox unreachable early.
func (s *Sandbox) Close() {
	s.once.Do(func() {
		s.client.CloseIdleConnections()
		if err := s.Server.Close(); err != nil {
			s.t.Errorf("emulatortest: stop the emulator: %v", err)
		}
	})
}

// UploadCertificate registers a certificate credential (its DER) on the scenario's app, as
// an admin does under Certificates & secrets → Certificates → Upload certificate. Zero
// StartDate and EndDate take the certificate's validity; others make Entra judge the key
// by them (e.g. an EndDate in the past: AADSTS700027 "The key used is expired").
func (s *Sandbox) UploadCertificate(c idp.Certificate) {
	s.t.Helper()
	err := s.Directory().UpdateApp(s.Creds.TenantID, s.Creds.ClientID, func(a *idp.App) { a.Certificates = append(a.Certificates, c) })
	if err != nil {
		s.t.Fatalf("emulatortest: upload the certificate: %v", err)
	}
}

// Client returns the sandbox's HTTP client, which trusts its CA (and nothing else). It is
// one client per sandbox, so connections are reused across calls.
func (s *Sandbox) Client() *http.Client { return s.client }

// Host is the listener's host:port, as errors about the endpoints name it.
func (s *Sandbox) Host() string { return strings.TrimPrefix(s.URL, "https://") }

// TokenURL is the Entra v2 token endpoint of the scenario's tenant.
func (s *Sandbox) TokenURL() string { return s.URL + "/" + s.Creds.TenantID + "/oauth2/v2.0/token" }

// Company is the scenario's company.
func (s *Sandbox) Company() emulator.CompanyRef { return s.DemoCompanyRef() }

// AddFaults scripts more faults from now on, in the --faults syntax.
func (s *Sandbox) AddFaults(spec string) {
	s.t.Helper()
	rules, err := fault.Parse(spec)
	if err != nil {
		s.t.Fatalf("emulatortest: faults %q: %v", spec, err)
	}
	for _, r := range rules {
		if err := s.Faults().Add(r); err != nil {
			s.t.Fatalf("emulatortest: add fault %q: %v", spec, err)
		}
	}
}

// Tokens returns a fresh token source for the scenario's credentials (see Tokens).
func (s *Sandbox) Tokens() *Tokens {
	return &Tokens{URL: s.TokenURL(), ClientID: s.Creds.ClientID, Secret: s.Creds.ClientSecret, HTTP: s.client}
}

// Tokens is a minimal client-credentials token source for BC: it posts the form to URL,
// caches the access token and drops it on Invalidate. It has the method set of the
// connector's bc.TokenSource and bc.Invalidator; tests that are not about Entra use it to
// keep Entra out of their way.
type Tokens struct {
	URL, ClientID, Secret string
	HTTP                  *http.Client

	mu            sync.Mutex
	tok           string
	fail          error
	fetches       int
	invalidations int
}

// Token returns the cached token or fetches one.
func (s *Tokens) Token(ctx context.Context) (string, error) {
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
		"client_id":     {s.ClientID},
		"client_secret": {s.Secret},
		"scope":         {"https://api.businesscentral.dynamics.com/.default"},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := s.HTTP.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("token endpoint answered %s", resp.Status)
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

// Invalidate drops the cached token, so the next Token fetches a new one.
func (s *Tokens) Invalidate() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tok = ""
	s.invalidations++
}

// Fail makes every later Token call return err (nil: fetch again).
func (s *Tokens) Fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = err
}

// Counts returns how many tokens were fetched and how often one was invalidated.
func (s *Tokens) Counts() (fetches, invalidations int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fetches, s.invalidations
}

// Clock is a test clock for emulator.Config.Now and the connector's clocks alike. A Clock
// from NewClock stands still at its start until Advance moves it; the zero Clock follows
// the real time, shifted by every Advance. It is safe for concurrent use.
type Clock struct {
	mu    sync.Mutex
	start time.Time
	off   time.Duration
}

// NewClock returns a Clock standing at start.
func NewClock(start time.Time) *Clock { return &Clock{start: start} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.start.IsZero() {
		return time.Now().Add(c.off)
	}
	return c.start.Add(c.off)
}

// Advance moves the clock by d (back when d is negative).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off += d
}
