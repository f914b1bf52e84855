package entra_test

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/emulator/emulatortest"
	"github.com/bizzjoiner/bcconnector/emulator/fault"
	"github.com/bizzjoiner/bcconnector/emulator/idp"
	"github.com/bizzjoiner/bcconnector/entra"
	"github.com/bizzjoiner/bcconnector/internal/testlog"
)

// env is one emulator behind a real TLS server and the connection settings its scenario
// hands over.
type env struct {
	sb    *emulatortest.Sandbox
	emu   *emulator.Emulator
	creds emulator.Credentials
	logs  *testlog.Buffer
}

func setup(t testing.TB, cfg emulator.Config) *env {
	t.Helper()
	sb := emulatortest.Start(t, cfg)
	return &env{sb: sb, emu: sb.Emulator, creds: sb.Creds, logs: &testlog.Buffer{}}
}

// config is what the connector builds from the scenario's credentials.
func (e *env) config() entra.Config {
	return entra.Config{
		TenantID:      e.creds.TenantID,
		ClientID:      e.creds.ClientID,
		Secret:        clientSecret(e.creds.ClientSecret),
		AuthorityHost: e.sb.AuthorityHost(),
		HTTPClient:    e.sb.Client(),
		Logger:        e.logs.Logger(),
		MaxRetries:    -1,
	}
}

func (e *env) source(t testing.TB, mods ...func(*entra.Config)) *entra.Source {
	t.Helper()
	cfg := e.config()
	for _, m := range mods {
		m(&cfg)
	}
	s, err := entra.NewSource(cfg)
	if err != nil {
		t.Fatalf("NewSource: %v", err)
	}
	return s
}

func (e *env) host() string { return e.sb.Host() }

func TestTokenOK(t *testing.T) {
	t.Parallel()
	e := setup(t, emulator.Config{})
	s := e.source(t)
	ctx := context.Background()

	tok, err := s.Token(ctx)
	if err != nil {
		t.Fatalf("Token: %v", err)
	}
	if d := time.Until(tok.ExpiresOn); d < 3500*time.Second || d > 3600*time.Second {
		t.Errorf("ExpiresOn is %s from now, want about 3599 s", d)
	}
	c, err := entra.ParseClaims(tok.Token)
	if err != nil {
		t.Fatalf("ParseClaims: %v", err)
	}
	if c.TenantID != e.creds.TenantID || !strings.EqualFold(c.AppID, e.creds.ClientID) ||
		c.Audience != "https://api.businesscentral.dynamics.com" ||
		c.Issuer != "https://sts.windows.net/"+e.creds.TenantID+"/" || c.ObjectID == "" {
		t.Errorf("claims %+v", c)
	}
	if !c.HasRolesClaim || !c.HasRole("API.ReadWrite.All") || c.HasRole("Financials.ReadWrite.All") {
		t.Errorf("roles %v (claim present %v), want API.ReadWrite.All", c.Roles, c.HasRolesClaim)
	}
	if d := c.ExpiresAt.Sub(tok.ExpiresOn); d < -5*time.Second || d > 5*time.Second {
		t.Errorf("exp claim %s and ExpiresOn %s differ by %s", c.ExpiresAt, tok.ExpiresOn, d)
	}
	if c.IssuedAt.IsZero() || c.NotBefore.IsZero() || !c.IssuedAt.Before(c.ExpiresAt) {
		t.Errorf("iat %s nbf %s exp %s", c.IssuedAt, c.NotBefore, c.ExpiresAt)
	}

	for i := range 3 {
		again, err := s.Token(ctx)
		if err != nil || again.Token != tok.Token {
			t.Fatalf("Token #%d: err %v, same token %v", i+2, err, again.Token == tok.Token)
		}
	}
	if n, m := s.Requests(), e.emu.TokenRequests(); n != 1 || m != 1 {
		t.Errorf("four Token calls: Requests() %d, emulator saw %d token requests; want 1 and 1", n, m)
	}
}

func TestTokenByDomain(t *testing.T) {
	t.Parallel()
	e := setup(t, emulator.Config{})
	s := e.source(t, func(c *entra.Config) { c.TenantID = e.creds.TenantDomain })
	tok, err := s.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	c, _ := entra.ParseClaims(tok.Token)
	if c.TenantID != e.creds.TenantID {
		t.Errorf("tid %q, want the GUID %q behind %s", c.TenantID, e.creds.TenantID, e.creds.TenantDomain)
	}
}

// TestEntraScenarios: every setup scenario Entra itself rejects becomes an *Error with the
// scenario, the AADSTS code and the IDs support asks for (PRODUCT.md "The setup scenarios",
// bc-entra-facts §1.4).
func TestEntraScenarios(t *testing.T) {
	t.Parallel()
	tests := []struct {
		scenario  string
		want      entra.Scenario
		code      int
		status    int
		errorCode string
		tokenReqs int64 // the unknown/malformed tenant fails at discovery, before the token POST
	}{
		{emulator.ScenarioTenantUnknown, entra.ScenarioTenantUnknown, 90002, 400, "invalid_tenant", 0},
		{emulator.ScenarioTenantMalformed, entra.ScenarioTenantMalformed, 900023, 400, "invalid_request", 0},
		{emulator.ScenarioClientUnknown, entra.ScenarioClientUnknown, 700016, 400, "unauthorized_client", 1},
		{emulator.ScenarioSecretWrong, entra.ScenarioSecretWrong, 7000215, 401, "invalid_client", 1},
		{emulator.ScenarioSecretIDInsteadOfValue, entra.ScenarioSecretWrong, 7000215, 401, "invalid_client", 1},
		{emulator.ScenarioSecretExpired, entra.ScenarioSecretExpired, 7000222, 401, "invalid_client", 1},
		{emulator.ScenarioAppDisabled, entra.ScenarioAppDisabled, 7000112, 400, "unauthorized_client", 1},
		{emulator.ScenarioBCNotProvisioned, entra.ScenarioBCNotProvisioned, 500011, 400, "invalid_resource", 1},
	}
	for _, tc := range tests {
		t.Run(tc.scenario, func(t *testing.T) {
			t.Parallel()
			e := setup(t, emulator.Config{Scenario: tc.scenario})
			s := e.source(t)
			_, err := s.Token(context.Background())
			var ee *entra.Error
			if !errors.As(err, &ee) {
				t.Fatalf("Token error %T %v, want *entra.Error", err, err)
			}
			if ee.Scenario != tc.want || ee.AADSTS() != tc.code || len(ee.Codes) != 1 ||
				ee.StatusCode != tc.status || ee.ErrorCode != tc.errorCode {
				t.Errorf("got scenario %q codes %v status %d error %q; want %q [%d] %d %q",
					ee.Scenario, ee.Codes, ee.StatusCode, ee.ErrorCode, tc.want, tc.code, tc.status, tc.errorCode)
			}
			if !isGUID(ee.TraceID) || !isGUID(ee.CorrelationID) || ee.Timestamp == "" || ee.Host != e.host() {
				t.Errorf("trace %q correlation %q timestamp %q host %q", ee.TraceID, ee.CorrelationID, ee.Timestamp, ee.Host)
			}
			msg := ee.Error()
			prefix := "AADSTS" + strconv.Itoa(tc.code) + ": "
			suffix := " (trace ID " + ee.TraceID + ", correlation ID " + ee.CorrelationID + ")"
			if !strings.HasPrefix(msg, prefix) || !strings.HasSuffix(msg, suffix) || strings.Contains(msg, "Trace ID:") ||
				strings.ContainsAny(msg, "\r\n") {
				t.Errorf("Error() = %q, want %q…%q on one line", msg, prefix, suffix)
			}
			if ee.Transient() {
				t.Error("a setup error is reported as transient")
			}
			// The underlying azidentity error is kept, and reading its body did not empty it
			// (go-stack.md §A1: runtime.Payload, not io.ReadAll).
			var af *azidentity.AuthenticationFailedError
			if !errors.As(err, &af) || !strings.Contains(af.Error(), prefix) {
				t.Errorf("underlying azidentity error lost or emptied: %v", ee.Err)
			}
			if strings.Contains(msg, e.creds.ClientSecret) {
				t.Error("error text contains the secret")
			}
			if n, m := s.Requests(), e.emu.TokenRequests(); n != tc.tokenReqs || m != tc.tokenReqs {
				t.Errorf("Requests() %d, emulator saw %d; want %d", n, m, tc.tokenReqs)
			}
			// Failures are not cached: the next call asks again (the admin may have fixed it).
			if _, err := s.Token(context.Background()); err == nil {
				t.Error("second Token call succeeded")
			}
			if tc.tokenReqs > 0 && s.Requests() != 2*tc.tokenReqs {
				t.Errorf("after a second call Requests() = %d, want %d", s.Requests(), 2*tc.tokenReqs)
			}
		})
	}
}

// TestTokenWithoutRoles: Entra issues a token even without an application permission or
// consent; the token has no roles claim (bc-entra-facts §0 item 2, §1.6).
func TestTokenWithoutRoles(t *testing.T) {
	t.Parallel()
	for _, sc := range []string{emulator.ScenarioPermissionDelegatedOnly, emulator.ScenarioConsentMissing} {
		t.Run(sc, func(t *testing.T) {
			t.Parallel()
			e := setup(t, emulator.Config{Scenario: sc})
			tok, err := e.source(t).Token(context.Background())
			if err != nil {
				t.Fatalf("Token: %v", err)
			}
			c, err := entra.ParseClaims(tok.Token)
			if err != nil {
				t.Fatal(err)
			}
			if c.HasRolesClaim || len(c.Roles) != 0 || c.HasRole("API.ReadWrite.All") || c.TenantID != e.creds.TenantID {
				t.Errorf("claims %+v, want a token for the tenant without a roles claim", c)
			}
		})
	}
}

// TestConcurrentCallersShareOneRequest: 50 goroutines asking at once cause one token
// request, and share one failure too.
func TestConcurrentCallersShareOneRequest(t *testing.T) {
	t.Parallel()
	for _, sc := range []string{emulator.ScenarioOK, emulator.ScenarioSecretWrong} {
		t.Run(sc, func(t *testing.T) {
			t.Parallel()
			e := setup(t, emulator.Config{Scenario: sc})
			s := e.source(t)
			const n = 50
			start := make(chan struct{})
			toks := make([]string, n)
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					<-start
					tok, err := s.Token(context.Background())
					toks[i], errs[i] = tok.Token, err
				})
			}
			close(start)
			wg.Wait()
			for i := range n {
				if sc == emulator.ScenarioOK && (errs[i] != nil || toks[i] != toks[0] || toks[i] == "") {
					t.Fatalf("caller %d: err %v, same token %v", i, errs[i], toks[i] == toks[0])
				}
				var ee *entra.Error
				if sc != emulator.ScenarioOK && (!errors.As(errs[i], &ee) || ee.Scenario != entra.ScenarioSecretWrong) {
					t.Fatalf("caller %d: err %v, want secret-wrong", i, errs[i])
				}
			}
			if got, emu := s.Requests(), e.emu.TokenRequests(); got != 1 || emu != 1 {
				t.Errorf("%d concurrent callers: Requests() %d, emulator saw %d; want 1", n, got, emu)
			}
		})
	}
}

// TestRefreshBeforeExpiry uses a 4-minute token. MSAL treats any token within 5 minutes of
// expiry as expired (go-stack.md §A1), so every MSAL call would go to Entra; the Source's
// own cache keeps it until half its lifetime is left, driven by the injected clock.
func TestRefreshBeforeExpiry(t *testing.T) {
	t.Parallel()
	e := setup(t, emulator.Config{TokenLifetime: 4 * time.Minute})
	clk := emulatortest.NewClock(time.Now())
	s := e.source(t, func(c *entra.Config) { c.Now = clk.Now })
	ctx := context.Background()

	first, err := s.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(90 * time.Second) // 2.5 min left: still before the refresh point (2 min left)
	if tok, err := s.Token(ctx); err != nil || tok.Token != first.Token {
		t.Fatalf("at +90s: err %v, same token %v; want the cached token", err, tok.Token == first.Token)
	}
	if s.Requests() != 1 {
		t.Fatalf("at +90s Requests() = %d, want 1", s.Requests())
	}
	clk.Advance(40 * time.Second) // 1m50s left: due
	second, err := s.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if second.Token == first.Token || s.Requests() != 2 || e.emu.TokenRequests() != 2 {
		t.Errorf("at +130s: new token %v, Requests() %d, emulator %d; want a new token from a second request",
			second.Token != first.Token, s.Requests(), e.emu.TokenRequests())
	}
}

// TestRefreshFailureKeepsValidToken: when a refresh fails while the cached token still has
// more than a minute left, callers keep getting it; after that they get the error.
func TestRefreshFailureKeepsValidToken(t *testing.T) {
	t.Parallel()
	e := setup(t, emulator.Config{TokenLifetime: 4 * time.Minute})
	clk := emulatortest.NewClock(time.Now())
	s := e.source(t, func(c *entra.Config) { c.Now = clk.Now })
	ctx := context.Background()
	first, err := s.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.emu.Directory().UpdateApp(e.creds.TenantID, e.creds.ClientID, func(a *idp.App) { a.Enabled = false }); err != nil {
		t.Fatal(err)
	}
	clk.Advance(150 * time.Second) // past the refresh point, 90 s left
	tok, err := s.Token(ctx)
	if err != nil || tok.Token != first.Token {
		t.Fatalf("refresh failure with 90 s left: err %v; want the cached token", err)
	}
	if s.Requests() != 2 || !strings.Contains(e.logs.String(), "entra token refresh failed") {
		t.Errorf("Requests() %d, want 2 and a warning logged", s.Requests())
	}
	// The next refresh attempt waits 30 s rather than hitting Entra on every call.
	if _, err := s.Token(ctx); err != nil || s.Requests() != 2 {
		t.Errorf("immediate retry: err %v, Requests() %d; want the cached token without a request", err, s.Requests())
	}
	clk.Advance(40 * time.Second) // 50 s left: too little to hand out
	_, err = s.Token(ctx)
	var ee *entra.Error
	if !errors.As(err, &ee) || ee.Scenario != entra.ScenarioAppDisabled {
		t.Errorf("with 50 s left: err %v, want app-disabled", err)
	}
}

func TestInvalidate(t *testing.T) {
	t.Parallel()
	e := setup(t, emulator.Config{})
	s := e.source(t)
	ctx := context.Background()
	first, err := s.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s.Invalidate()
	second, err := s.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if second.Token == first.Token || s.Requests() != 2 || e.emu.TokenRequests() != 2 {
		t.Errorf("after Invalidate: new token %v, Requests() %d, emulator %d; want a fresh token",
			second.Token != first.Token, s.Requests(), e.emu.TokenRequests())
	}
	if third, _ := s.Token(ctx); third.Token != second.Token || s.Requests() != 2 {
		t.Errorf("the token fetched after Invalidate is not cached")
	}

	// Invalidate racing with Token is safe (run with -race) and never yields an error.
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			if i%5 == 0 {
				s.Invalidate()
			}
			if _, err := s.Token(ctx); err != nil {
				t.Errorf("Token: %v", err)
			}
		})
	}
	wg.Wait()
}

// TestNewSourceValidation: values that cannot be right are caught without any request and
// reported with the scenario they point to.
func TestNewSourceValidation(t *testing.T) {
	t.Parallel()
	const tenant, client, secret = "72f988bf-86f1-41af-91ab-2d7cd011db47", "964c5ad7-2f0b-4d37-a206-07eda9e646d7", "Abc8Q~secret-value.xyz_0123456789"
	noNetwork := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		t.Errorf("NewSource sent %s %s", r.Method, r.URL)
		return nil, errors.New("no network in this test")
	})}
	tests := []struct {
		name                   string
		tenant, client, secret string
		authority              string
		want                   entra.Scenario // "" = a plain error
		wantInMessage          string
	}{
		{"tenant empty", "", client, secret, "", entra.ScenarioTenantMalformed, "empty"},
		{"tenant with space inside", "72f988bf 86f1", client, secret, "", entra.ScenarioTenantMalformed, "neither a GUID"},
		{"tenant placeholder", "{{tenantid}}", client, secret, "", entra.ScenarioTenantMalformed, "neither a GUID"},
		{"tenant trailing space", tenant + " ", client, secret, "", entra.ScenarioTenantMalformed, "spaces"},
		{"tenant common", "common", client, secret, "", entra.ScenarioTenantMalformed, "not a tenant"},
		{"tenant organizations", "Organizations", client, secret, "", entra.ScenarioTenantMalformed, "not a tenant"},
		{"client empty", tenant, "", secret, "", entra.ScenarioClientUnknown, "empty"},
		{"client not a GUID", tenant, "Bizzjoiner Connector", secret, "", entra.ScenarioClientUnknown, "not a GUID"},
		{"client trailing newline", tenant, client + "\n", secret, "", entra.ScenarioClientUnknown, "spaces"},
		{"secret empty", tenant, client, "", "", entra.ScenarioSecretWrong, "empty"},
		{"secret padded", tenant, client, " " + secret + " ", "", entra.ScenarioSecretWrong, "spaces"},
		{"authority http", tenant, client, secret, "http://127.0.0.1:8080/", "", "https"},
		{"authority no host", tenant, client, secret, "https:///", "", "https"},
		{"authority query", tenant, client, secret, "https://login.example.com/?x=1", "", "https"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := entra.NewSource(entra.Config{TenantID: tc.tenant, ClientID: tc.client, Secret: clientSecret(tc.secret),
				AuthorityHost: tc.authority, HTTPClient: noNetwork})
			if err == nil {
				t.Fatal("NewSource accepted the config")
			}
			var ee *entra.Error
			isEntra := errors.As(err, &ee)
			switch {
			case tc.want == "" && isEntra:
				t.Errorf("error %v is an *entra.Error, want a plain config error", err)
			case tc.want != "" && (!isEntra || ee.Scenario != tc.want || ee.StatusCode != 0 || len(ee.Codes) != 0):
				t.Errorf("error %#v, want scenario %q without wire data", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.wantInMessage) {
				t.Errorf("error %q does not mention %q", err, tc.wantInMessage)
			}
			if s := strings.TrimSpace(tc.secret); s != "" && strings.Contains(err.Error(), s) {
				t.Errorf("error %q contains the secret", err)
			}
		})
	}
	for _, ok := range []string{"", "https://login.microsoftonline.com", "https://login.microsoftonline.us/", "https://127.0.0.1:8443"} {
		if _, err := entra.NewSource(entra.Config{TenantID: "contoso.onmicrosoft.com", ClientID: client, Secret: secret, AuthorityHost: ok, HTTPClient: noNetwork}); err != nil {
			t.Errorf("AuthorityHost %q: %v", ok, err)
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestInstanceDiscovery: the public cloud keeps MSAL's instance discovery; an authority
// override turns it off, so nothing goes to login.microsoftonline.com (bc-entra-facts §1.5).
func TestInstanceDiscovery(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ authority, wantFirst string }{
		{"", "https://login.microsoftonline.com/common/discovery/instance"},
		{"https://entra.test:8443/", "https://entra.test:8443/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration"},
	} {
		var mu sync.Mutex
		var urls []string
		rec := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			mu.Lock()
			u := *r.URL
			u.RawQuery, u.ForceQuery = "", false
			urls = append(urls, u.String())
			mu.Unlock()
			return nil, errors.New("offline")
		})}
		s, err := entra.NewSource(entra.Config{TenantID: "contoso.onmicrosoft.com", ClientID: "964c5ad7-2f0b-4d37-a206-07eda9e646d7",
			Secret: "s3cret-value-of-40-characters~0123456789", AuthorityHost: tc.authority, HTTPClient: rec, MaxRetries: -1})
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Token(context.Background())
		var ee *entra.Error
		if !errors.As(err, &ee) || ee.Scenario != entra.ScenarioNetwork {
			t.Errorf("authority %q: err %v, want network", tc.authority, err)
		}
		mu.Lock()
		if len(urls) == 0 || urls[0] != tc.wantFirst {
			t.Errorf("authority %q: first request %v, want %s", tc.authority, urls, tc.wantFirst)
		}
		for _, u := range urls {
			if tc.authority != "" && strings.Contains(u, "microsoftonline") {
				t.Errorf("with an override, a request went to %s", u)
			}
		}
		mu.Unlock()
	}
}

// TestNetworkFailures: Entra unreachable, untrusted, silent or answering 5xx is
// ScenarioNetwork, names the host and keeps the cause.
func TestNetworkFailures(t *testing.T) {
	t.Parallel()

	t.Run("untrusted certificate", func(t *testing.T) {
		t.Parallel()
		e := setup(t, emulator.Config{})
		ee := networkError(t, e.source(t, func(c *entra.Config) { c.HTTPClient = &http.Client{} }))
		var unknownCA x509.UnknownAuthorityError
		if !errors.As(ee, &unknownCA) || ee.Host != e.host() || !strings.Contains(ee.Error(), e.host()) {
			t.Errorf("error %q (host %q), want an x509 unknown-authority cause naming %s", ee, ee.Host, e.host())
		}
	})
	t.Run("connection refused", func(t *testing.T) {
		t.Parallel()
		e := setup(t, emulator.Config{})
		e.sb.Close()
		ee := networkError(t, e.source(t))
		if !strings.Contains(ee.Error(), "cannot reach Entra at "+e.host()) {
			t.Errorf("error %q", ee)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		t.Parallel()
		release := make(chan struct{})
		srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}))
		t.Cleanup(func() { close(release); srv.Close() })
		s, err := entra.NewSource(entra.Config{TenantID: "contoso.onmicrosoft.com", ClientID: "964c5ad7-2f0b-4d37-a206-07eda9e646d7",
			Secret: "s3cret-value-of-40-characters~0123456789", AuthorityHost: srv.URL, HTTPClient: srv.Client(), MaxRetries: -1, Timeout: 300 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		ee := networkError(t, s)
		if !errors.Is(ee, context.DeadlineExceeded) || !strings.Contains(ee.Error(), "no answer within 300ms") {
			t.Errorf("error %q, want a deadline cause", ee)
		}
	})
	t.Run("proxy error page", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			_, _ = io.WriteString(w, "<html>\n<body>Proxy: upstream login.microsoftonline.com unreachable</body></html>")
		}))
		t.Cleanup(srv.Close)
		s, err := entra.NewSource(entra.Config{TenantID: "contoso.onmicrosoft.com", ClientID: "964c5ad7-2f0b-4d37-a206-07eda9e646d7",
			Secret: "s3cret-value-of-40-characters~0123456789", AuthorityHost: srv.URL, HTTPClient: srv.Client(), MaxRetries: -1})
		if err != nil {
			t.Fatal(err)
		}
		ee := networkError(t, s)
		if ee.StatusCode != 502 || !strings.Contains(ee.Error(), "HTTP 502") || !strings.Contains(ee.Error(), "upstream login.microsoftonline.com unreachable") {
			t.Errorf("error %q status %d", ee, ee.StatusCode)
		}
	})
	t.Run("entra 503", func(t *testing.T) {
		t.Parallel()
		e := setup(t, emulator.Config{Faults: []fault.Rule{{Kind: fault.Kind503, Route: "/*/oauth2/", RetryAfter: -1}}})
		ee := networkError(t, e.source(t))
		if ee.StatusCode != 503 || ee.AADSTS() != 90033 || ee.TraceID == "" {
			t.Errorf("error %q status %d codes %v", ee, ee.StatusCode, ee.Codes)
		}
	})
}

func networkError(t *testing.T, s *entra.Source) *entra.Error {
	t.Helper()
	_, err := s.Token(context.Background())
	var ee *entra.Error
	if !errors.As(err, &ee) {
		t.Fatalf("Token error %T %v, want *entra.Error", err, err)
	}
	if ee.Scenario != entra.ScenarioNetwork || !ee.Transient() {
		t.Errorf("scenario %q (transient %v), want network: %v", ee.Scenario, ee.Transient(), ee)
	}
	return ee
}

// TestRetryOnTransient: with retries on, a 503 from the token endpoint is retried.
func TestRetryOnTransient(t *testing.T) {
	t.Parallel()
	e := setup(t, emulator.Config{Faults: []fault.Rule{{Route: "/*/oauth2/", Sequence: []fault.Kind{fault.Kind503}, RetryAfter: -1}}})
	s := e.source(t, func(c *entra.Config) { c.MaxRetries = 1 })
	if _, err := s.Token(context.Background()); err != nil {
		t.Fatalf("Token after one 503: %v", err)
	}
	if s.Requests() != 2 {
		t.Errorf("Requests() = %d, want 2 (the 503 and the retry)", s.Requests())
	}
}

// TestCallerCancel: a caller that gives up gets its context's error; the fetch it started
// still completes for the others.
func TestCallerCancel(t *testing.T) {
	t.Parallel()
	e := setup(t, emulator.Config{})
	s := e.source(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Token(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled caller: %v", err)
	}
	if _, err := s.Token(context.Background()); err != nil {
		t.Errorf("next caller: %v", err)
	}
}

// TestNoSecretsInLogsOrErrors runs every Entra scenario with debug logging and scans the
// logs, the errors (every fmt verb) and the printed values for the secret and the token.
func TestNoSecretsInLogsOrErrors(t *testing.T) {
	t.Parallel()
	var secrets []string
	var all strings.Builder
	for _, sc := range emulator.Scenarios() {
		e := setup(t, emulator.Config{Scenario: sc.Name})
		cfg := e.config()
		secrets = append(secrets, cfg.Secret.Reveal())
		logger := cfg.Logger
		s, err := entra.NewSource(cfg)
		if err != nil {
			t.Fatalf("%s: %v", sc.Name, err)
		}
		tok, err := s.Token(context.Background())
		s.Invalidate()
		tok2, _ := s.Token(context.Background())
		if tok.Token != "" {
			secrets = append(secrets, tok.Token, tok2.Token)
		}
		for _, v := range []any{err, cfg, &cfg, s, tok, &tok} {
			for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
				all.WriteString(fmt.Sprintf(verb, v) + "\n")
			}
		}
		logger.Info("values", "cfg", cfg, "source", s, "token", tok, "error", err)
		if err != nil {
			all.WriteString(err.Error() + "\n")
			var ee *entra.Error
			if errors.As(err, &ee) && ee.Err != nil {
				all.WriteString(ee.Err.Error() + "\n")
			}
		}
		js, _ := tok.MarshalJSON()
		all.Write(js)
		all.WriteString(e.logs.String())
	}
	out := all.String()
	if !strings.Contains(out, `"msg":"entra request"`) || !strings.Contains(out, `"msg":"entra token request failed"`) {
		t.Fatalf("debug logs missing; the scan would prove nothing:\n%.2000s", out)
	}
	for _, sec := range secrets {
		if sec != "" && strings.Contains(out, sec) {
			t.Errorf("a secret or token (%d bytes) appears in logs or errors", len(sec))
		}
	}
	if !strings.Contains(out, "REDACTED") {
		t.Error("no redaction marker in printed values")
	}
}

func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if c != '-' {
				return false
			}
		} else if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return false
		}
	}
	return true
}
