package idp

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// testKey is generated once: 2048-bit generation is the slowest thing in these tests.
var testKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// Fixture identities.
const (
	tenantID      = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	tenantDomain  = "contoso.onmicrosoft.com"
	noBCTenantID  = "0b3c6f5e-1d2a-4c8b-9e7f-123456789abc"
	goodClient    = "6731de76-14a6-49ae-97bc-6eba6914391e"
	goodSP        = "d5b2c1a0-0f9e-4d8c-b7a6-5e4d3c2b1a09"
	goodSecret    = "Qx8~good.secret_value"
	goodSecretID  = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
	oldSecret     = "Qx8~expired.secret"
	noConsent     = "11111111-1111-4111-8111-111111111111"
	delegatedOnly = "22222222-2222-4222-8222-222222222222"
	disabledApp   = "33333333-3333-4333-8333-333333333333"
	consentApp    = "44444444-4444-4444-8444-444444444444"
	sharedSecret  = "shared-secret-value"
	redirectURI   = "https://connector.example/consent/callback"
	unknownClient = "99999999-9999-4999-8999-999999999999"
)

// clock is an injectable, adjustable Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type fixture struct {
	s     *Server
	dir   *Directory
	clock *clock
}

// setup builds a server over a directory with one BC tenant holding the fixture apps and
// one tenant without BC.
func setup(t testing.TB, mod ...func(*Config)) *fixture {
	t.Helper()
	clk := &clock{t: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)}
	dir := NewDirectory()
	must(t, dir.AddTenant(Tenant{ID: tenantID, Domains: []string{tenantDomain}, DisplayName: "Contoso", HasBC: true}))
	must(t, dir.AddTenant(Tenant{ID: noBCTenantID, Domains: []string{"fabrikam.onmicrosoft.com"}, DisplayName: "Fabrikam"}))
	bcApp := func(v string, typ PermissionType, consented bool) Permission {
		return Permission{Resource: BCResourceID, Value: v, Type: typ, Consented: consented}
	}
	must(t, dir.AddApp(tenantID, App{
		ClientID: goodClient, ServicePrincipalID: goodSP, DisplayName: "BC connector", Enabled: true,
		Secrets: []Secret{
			{ID: goodSecretID, Value: goodSecret, EndDate: clk.t.Add(365 * 24 * time.Hour)},
			{Value: oldSecret, EndDate: clk.t.Add(-time.Hour)},
		},
		Permissions: []Permission{
			bcApp(RoleAPIReadWriteAll, Application, true),
			bcApp(RoleAutomationReadWriteAll, Application, true),
			bcApp(ScopeFinancialsReadWriteAll, Delegated, true),
			{Resource: "00000003-0000-0000-c000-000000000000", Value: "User.Read", Type: Delegated, Consented: true},
		},
	}))
	must(t, dir.AddApp(tenantID, App{
		ClientID: noConsent, DisplayName: "no consent", Enabled: true,
		Secrets:     []Secret{{Value: sharedSecret}},
		Permissions: []Permission{bcApp(RoleAPIReadWriteAll, Application, false)},
	}))
	must(t, dir.AddApp(tenantID, App{
		ClientID: delegatedOnly, DisplayName: "seed guide", Enabled: true,
		Secrets: []Secret{{Value: sharedSecret}},
		Permissions: []Permission{
			bcApp(ScopeFinancialsReadWriteAll, Delegated, true),
			// The seed guide's mistake: Entra has no such app role, so no role may come of it.
			bcApp(ScopeFinancialsReadWriteAll, Application, true),
		},
	}))
	must(t, dir.AddApp(tenantID, App{
		ClientID: disabledApp, DisplayName: "Old Sync", Enabled: false,
		Secrets:     []Secret{{Value: sharedSecret}},
		Permissions: []Permission{bcApp(RoleAPIReadWriteAll, Application, true)},
	}))
	must(t, dir.AddApp(tenantID, App{
		ClientID: consentApp, DisplayName: "Consent Me", Enabled: true,
		RedirectURIs: []string{redirectURI, "https://other.example/cb?x=1"},
		Secrets:      []Secret{{Value: sharedSecret}},
		Permissions: []Permission{
			bcApp(RoleAPIReadWriteAll, Application, false),
			bcApp(ScopeFinancialsReadWriteAll, Delegated, false),
		},
	}))
	cfg := Config{Directory: dir, Now: clk.Now, Key: testKey()}
	for _, m := range mod {
		m(&cfg)
	}
	s, err := NewServer(cfg)
	must(t, err)
	return &fixture{s: s, dir: dir, clock: clk}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// do sends a request straight to the handler, as https://emulator.test:8443.
func (f *fixture) do(method, path string, form url.Values, hdr ...string) *httptest.ResponseRecorder {
	if form == nil {
		return f.doRaw(method, path, "", hdr...)
	}
	return f.doRaw(method, path, form.Encode(),
		append([]string{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}, hdr...)...)
}

// doRaw sends body as is, with headers given as name, value pairs.
func (f *fixture) doRaw(method, path, body string, hdr ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, "https://emulator.test:8443"+path, strings.NewReader(body))
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	f.s.ServeHTTP(w, r)
	return w
}

// goodForm is what MSAL Go sends for the fixture's good app.
func goodForm() url.Values {
	return url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {goodClient},
		"client_secret": {goodSecret},
		"scope":         {BCDefaultScope + " openid offline_access profile"},
	}
}

func tokenPath(tenant string) string { return "/" + tenant + "/oauth2/v2.0/token" }

// payload decodes a JWT's payload into a generic map (to see which claims are present).
func payload(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	must(t, err)
	var m map[string]any
	must(t, json.Unmarshal(b, &m))
	return m
}

func header(t *testing.T, tok string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
	must(t, err)
	var m map[string]any
	must(t, json.Unmarshal(b, &m))
	return m
}

func decodeJSON[T any](t *testing.T, w *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatalf("body is not JSON (%v): %s", err, w.Body.String())
	}
	return v
}

func accessToken(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	if w.Code != http.StatusOK {
		t.Fatalf("status %d, body %s", w.Code, w.Body.String())
	}
	return decodeJSON[tokenResponseV2](t, w).AccessToken
}
