package idp

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// certClient is the fixture app with a certificate credential (and no secret).
const certClient = "55555555-5555-4555-8555-555555555555"

// otherKey signs what the registered certificate's key did not: a second key, generated once.
var otherKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// selfSigned makes a certificate for key valid from nb to na, as bcconnector's generator does.
func selfSigned(t testing.TB, key *rsa.PrivateKey, nb, na time.Time) []byte {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "bcconnector test"},
		NotBefore:    nb, NotAfter: na,
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	must(t, err)
	return der
}

// certFixture adds certClient with the registered certificates to a fixture's tenant.
func certFixture(t testing.TB, mod func(*Config), certs ...Certificate) *fixture {
	t.Helper()
	var f *fixture
	if mod != nil {
		f = setup(t, mod)
	} else {
		f = setup(t)
	}
	must(t, f.dir.AddApp(tenantID, App{
		ClientID: certClient, DisplayName: "cert app", Enabled: true, Certificates: certs,
		Permissions: []Permission{{Resource: BCResourceID, Value: RoleAPIReadWriteAll, Type: Application, Consented: true}},
	}))
	return f
}

// assertionOpts builds one client assertion; the zero value is what MSAL Go sends.
type assertionOpts struct {
	alg       string // PS256 by default
	header    map[string]any
	claims    map[string]any
	key       *rsa.PrivateKey
	der       []byte
	sha1Thumb bool // x5t (base64url SHA-1) instead of x5t#S256 (std base64 SHA-256)
}

func makeAssertion(t testing.TB, now time.Time, aud string, o assertionOpts) string {
	t.Helper()
	if o.alg == "" {
		o.alg = "PS256"
	}
	h := map[string]any{"alg": o.alg, "typ": "JWT"}
	if o.sha1Thumb {
		s := sha1.Sum(o.der)
		h["x5t"] = base64.RawURLEncoding.EncodeToString(s[:])
	} else {
		s := sha256.Sum256(o.der)
		h["x5t#S256"] = base64.StdEncoding.EncodeToString(s[:])
	}
	for k, v := range o.header {
		if v == nil {
			delete(h, k)
		} else {
			h[k] = v
		}
	}
	c := map[string]any{"aud": aud, "iss": certClient, "sub": certClient, "jti": newUUID(),
		"nbf": now.Unix(), "exp": now.Add(10 * time.Minute).Unix()}
	for k, v := range o.claims {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	hb, _ := json.Marshal(h)
	cb, _ := json.Marshal(c)
	signing := b64(hb) + "." + b64(cb)
	sum := sha256.Sum256([]byte(signing))
	var sig []byte
	var err error
	if o.alg == "PS256" {
		sig, err = rsa.SignPSS(rand.Reader, o.key, crypto.SHA256, sum[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	} else {
		sig, err = rsa.SignPKCS1v15(rand.Reader, o.key, crypto.SHA256, sum[:])
	}
	must(t, err)
	return signing + "." + b64(sig)
}

func assertionForm(assertion string) url.Values {
	return url.Values{
		"grant_type":            {"client_credentials"},
		"client_id":             {certClient},
		"client_assertion_type": {jwtBearer},
		"client_assertion":      {assertion},
		"scope":                 {BCDefaultScope + " openid offline_access profile"},
	}
}

const fixtureBase = "https://emulator.test:8443"

// TestClientAssertionVerification holds every assertion check to Entra's answer
// (auth-jobs-delivery-facts §1): code, error value, status and the wording the admin sees.
func TestClientAssertionVerification(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	key := testKey()
	der := selfSigned(t, key, now.Add(-time.Hour), now.AddDate(1, 0, 0))
	expiredDER := selfSigned(t, otherKey(), now.AddDate(-2, 0, 0), now.AddDate(-1, 0, 0))
	unregistered := selfSigned(t, key, now.Add(-time.Hour), now.AddDate(2, 0, 0))
	weakKey, err := rsa.GenerateKey(rand.Reader, 1024)
	must(t, err)
	weakDER := selfSigned(t, weakKey, now.Add(-time.Hour), now.AddDate(1, 0, 0))
	f := certFixture(t, nil, Certificate{DER: der}, Certificate{DER: expiredDER}, Certificate{DER: weakDER})
	sum1 := sha1.Sum(unregistered)
	unregThumb := strings.ToUpper(hexString(sum1[:]))
	sum256 := sha256.Sum256(unregistered)

	tests := []struct {
		name   string
		path   string // token path; the tenant GUID's v2 endpoint when empty
		aud    string // aud claim; the posted URL when empty
		o      assertionOpts
		form   func(url.Values)
		code   int    // 0: success
		substr string // in error_description
	}{
		{name: "PS256 with x5t#S256 (MSAL Go)", o: assertionOpts{key: key, der: der}},
		{name: "RS256 with x5t (older MSALs)", o: assertionOpts{alg: "RS256", sha1Thumb: true, key: key, der: der}},
		{name: "thumbprint base64url", o: assertionOpts{key: key, der: der, header: map[string]any{"x5t#S256": base64.RawURLEncoding.EncodeToString(sha256Of(der))}}},
		{name: "x5c sent along", o: assertionOpts{key: key, der: der, header: map[string]any{"x5c": []string{base64.StdEncoding.EncodeToString(der)}}}},
		{name: "aud names the tenant by domain", aud: fixtureBase + tokenPath(tenantDomain), o: assertionOpts{key: key, der: der}},
		{name: "posted to the domain, aud exact", path: tokenPath(tenantDomain), o: assertionOpts{key: key, der: der}},
		{name: "v1 endpoint", path: "/" + tenantID + "/oauth2/token", o: assertionOpts{key: key, der: der},
			form: func(v url.Values) { v.Del("scope"); v.Set("resource", BCResourceURI) }},

		{name: "unknown key", o: assertionOpts{key: key, der: unregistered}, code: 700027,
			substr: "The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '" + strings.ToUpper(hexString(sum256[:])) + "'"},
		{name: "unknown key by SHA-1", o: assertionOpts{alg: "RS256", sha1Thumb: true, key: key, der: unregistered}, code: 700027,
			substr: "Thumbprint of key used by client: '" + unregThumb + "', Please visit the Azure Portal"},
		{name: "expired certificate", o: assertionOpts{key: otherKey(), der: expiredDER}, code: 700027,
			substr: "[Reason - The key used is expired., Thumbprint of key used by client: '"},
		{name: "bad signature", o: assertionOpts{key: otherKey(), der: der}, code: 700027,
			substr: "[Reason - The provided signature value did not match the expected signature value."},
		{name: "RS256 header over a PS256 signature", o: assertionOpts{key: key, der: der, header: map[string]any{"alg": "RS256"}}, code: 700027,
			substr: "did not match the expected signature value"},
		{name: "weak key", o: assertionOpts{key: weakKey, der: weakDER}, code: 50032, substr: "1024 bits"},
		{name: "wrong audience (another host)", aud: "https://login.microsoftonline.com/" + tenantID + "/oauth2/v2.0/token",
			o: assertionOpts{key: key, der: der}, code: 50012, substr: "Client assertion audience claim does not match Realm issuer."},
		{name: "wrong audience (another tenant)", aud: fixtureBase + tokenPath(noBCTenantID), o: assertionOpts{key: key, der: der}, code: 50012},
		{name: "audience missing", o: assertionOpts{key: key, der: der, claims: map[string]any{"aud": nil}}, code: 50012},
		{name: "expired assertion", o: assertionOpts{key: key, der: der, claims: map[string]any{"nbf": now.Add(-time.Hour).Unix(), "exp": now.Add(-6 * time.Minute).Unix()}},
			code: 700024, substr: "Client assertion is not within its valid time range. Current time: 2026-03-04T05:06:07.0000000Z, assertion valid from 2026-03-04T04:06:07.0000000Z, expiry time of assertion 2026-03-04T05:00:07.0000000Z."},
		{name: "not yet valid", o: assertionOpts{key: key, der: der, claims: map[string]any{"nbf": now.Add(6 * time.Minute).Unix(), "exp": now.Add(20 * time.Minute).Unix()}},
			code: 700024},
		{name: "within the clock skew", o: assertionOpts{key: key, der: der, claims: map[string]any{"nbf": now.Add(4 * time.Minute).Unix(), "exp": now.Add(-4 * time.Minute).Unix()}}},
		{name: "no exp", o: assertionOpts{key: key, der: der, claims: map[string]any{"exp": nil}}, code: 50027, substr: "no exp claim"},
		{name: "iss differs from sub", o: assertionOpts{key: key, der: der, claims: map[string]any{"sub": goodClient}}, code: 50048,
			substr: "Subject mismatches Issuer claim in the client assertion."},
		{name: "iss and sub name another app", o: assertionOpts{key: key, der: der, claims: map[string]any{"sub": goodClient, "iss": goodClient}}, code: 700021},
		{name: "no thumbprint", o: assertionOpts{key: key, der: der, header: map[string]any{"x5t#S256": nil}}, code: 50027,
			substr: "Invalid JWT token. No certificate thumbprint specified in token header."},
		{name: "thumbprint of wrong length", o: assertionOpts{key: key, der: der, header: map[string]any{"x5t#S256": "AAAA"}}, code: 50027},
		{name: "alg none", o: assertionOpts{key: key, der: der, header: map[string]any{"alg": "none"}}, code: 50027, substr: "Unsupported signing algorithm 'none'"},
		{name: "wrong assertion type", o: assertionOpts{key: key, der: der}, form: func(v url.Values) { v.Set("client_assertion_type", "jwt") }, code: 50027},
		{name: "assertion type missing", o: assertionOpts{key: key, der: der}, form: func(v url.Values) { v.Del("client_assertion_type") }, code: 50027},
		{name: "not a JWT", o: assertionOpts{key: key, der: der}, form: func(v url.Values) { v.Set("client_assertion", "abc") }, code: 50027},
		{name: "secret app gets no certificate", o: assertionOpts{key: key, der: der, claims: map[string]any{"iss": goodClient, "sub": goodClient}},
			form: func(v url.Values) { v.Set("client_id", goodClient) }, code: 700027, substr: "The key was not found."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.path
			if path == "" {
				path = tokenPath(tenantID)
			}
			a := tc.aud
			if a == "" {
				a = fixtureBase + path
			}
			form := assertionForm(makeAssertion(t, now, a, tc.o))
			if tc.form != nil {
				tc.form(form)
			}
			w := f.do(http.MethodPost, path, form)
			if tc.code == 0 {
				if w.Code != http.StatusOK {
					t.Fatalf("status %d: %s", w.Code, w.Body)
				}
				tok, _ := decodeJSON[map[string]any](t, w)["access_token"].(string)
				if p := payload(t, tok); p["appidacr"] != "2" || p["appid"] != form.Get("client_id") {
					t.Errorf("appidacr %v appid %v, want 2 (certificate) and the client", p["appidacr"], p["appid"])
				}
				return
			}
			b := decodeJSON[errorBody](t, w)
			if w.Code != http.StatusUnauthorized || b.Error != "invalid_client" || len(b.ErrorCodes) != 1 || b.ErrorCodes[0] != tc.code {
				t.Fatalf("got %d %s %v, want 401 invalid_client %d: %s", w.Code, b.Error, b.ErrorCodes, tc.code, b.ErrorDescription)
			}
			if !strings.Contains(b.ErrorDescription, tc.substr) {
				t.Errorf("error_description %q\nwant it to contain %q", b.ErrorDescription, tc.substr)
			}
		})
	}
}

func sha256Of(b []byte) []byte { s := sha256.Sum256(b); return s[:] }

func hexString(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

// TestClientAssertionChoices: the UNCONFIRMED choices are switchable (docs/EMULATOR.md).
func TestClientAssertionChoices(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	key := testKey()
	der := selfSigned(t, key, now.Add(-time.Hour), now.AddDate(1, 0, 0))
	post := func(f *fixture, aud string, o assertionOpts, claims map[string]any) (int, []int) {
		o.key, o.der, o.claims = key, der, claims
		w := f.do(http.MethodPost, tokenPath(tenantID), assertionForm(makeAssertion(t, now, aud, o)))
		b := decodeJSON[errorBody](t, w)
		return w.Code, b.ErrorCodes
	}
	exact := fixtureBase + tokenPath(tenantID)

	t.Run("strict audience", func(t *testing.T) {
		f := certFixture(t, func(c *Config) { c.StrictAssertionAudience = true }, Certificate{DER: der})
		if code, _ := post(f, exact, assertionOpts{}, nil); code != 200 {
			t.Errorf("exact aud: %d", code)
		}
		if _, codes := post(f, fixtureBase+tokenPath(tenantDomain), assertionOpts{}, nil); len(codes) != 1 || codes[0] != 50012 {
			t.Errorf("aud by domain under strict: %v, want 50012", codes)
		}
		if _, codes := post(f, fixtureBase+"/"+tenantID+"/oauth2/token", assertionOpts{}, nil); len(codes) != 1 || codes[0] != 50012 {
			t.Errorf("v1 aud under strict: %v, want 50012", codes)
		}
	})
	t.Run("RS256 refused", func(t *testing.T) {
		f := certFixture(t, func(c *Config) { c.RejectRS256 = true }, Certificate{DER: der})
		if _, codes := post(f, exact, assertionOpts{alg: "RS256", sha1Thumb: true}, nil); len(codes) != 1 || codes[0] != 50027 {
			t.Errorf("RS256: %v, want 50027", codes)
		}
		if code, _ := post(f, exact, assertionOpts{}, nil); code != 200 {
			t.Errorf("PS256: %d", code)
		}
	})
	t.Run("jti", func(t *testing.T) {
		claims := map[string]any{"jti": "5d0f9d6e-0000-4000-8000-000000000001"}
		lax := certFixture(t, nil, Certificate{DER: der})
		for i := range 2 {
			if code, codes := post(lax, exact, assertionOpts{}, claims); code != 200 {
				t.Errorf("default, same jti #%d: %d %v", i+1, code, codes)
			}
		}
		strict := certFixture(t, func(c *Config) { c.RejectReplayedAssertions = true }, Certificate{DER: der})
		if code, _ := post(strict, exact, assertionOpts{}, claims); code != 200 {
			t.Errorf("first use: %d", code)
		}
		if _, codes := post(strict, exact, assertionOpts{}, claims); len(codes) != 1 || codes[0] != 50027 {
			t.Errorf("replay: %v, want 50027", codes)
		}
		if _, codes := post(strict, exact, assertionOpts{}, map[string]any{"jti": nil}); len(codes) != 1 || codes[0] != 50027 {
			t.Errorf("no jti: %v, want 50027", codes)
		}
	})
	t.Run("no clock skew", func(t *testing.T) {
		f := certFixture(t, func(c *Config) { c.AssertionClockSkew = -1 }, Certificate{DER: der})
		if _, codes := post(f, exact, assertionOpts{}, map[string]any{"nbf": now.Add(time.Minute).Unix()}); len(codes) != 1 || codes[0] != 700024 {
			t.Errorf("nbf a minute ahead without skew: %v, want 700024", codes)
		}
	})
	t.Run("key dates from the directory", func(t *testing.T) {
		// An admin-set end date before the certificate's NotAfter decides.
		f := certFixture(t, nil, Certificate{DER: der, EndDate: now.Add(-time.Minute)})
		if _, codes := post(f, exact, assertionOpts{}, nil); len(codes) != 1 || codes[0] != 700027 {
			t.Errorf("key past its end date: %v, want 700027", codes)
		}
	})
}

func TestCertificateUploadChecks(t *testing.T) {
	t.Parallel()
	d := NewDirectory()
	must(t, d.AddTenant(Tenant{ID: tenantID}))
	if err := d.AddApp(tenantID, App{ClientID: certClient, Certificates: []Certificate{{DER: []byte("not a cert")}}}); err == nil || !strings.Contains(err.Error(), "Certificates[0].DER is not an X.509 certificate") {
		t.Errorf("garbage: %v", err)
	}
	now := time.Now()
	der := selfSigned(t, testKey(), now.Add(-time.Hour), now.Add(time.Hour))
	must(t, d.AddApp(tenantID, App{ClientID: certClient, Certificates: []Certificate{{DER: der}}}))
	a, _ := d.LookupApp(tenantID, certClient)
	c := a.Certificates[0]
	if c.KeyID == "" || !c.EndDate.Equal(now.Add(time.Hour).Truncate(time.Second)) || len(c.Thumbprint()) != 40 {
		t.Errorf("normalized certificate: key %q end %s thumbprint %q", c.KeyID, c.EndDate, c.Thumbprint())
	}
}

// TestAzidentityClientCertificateCredential: Microsoft's own library (azidentity's
// certificate credential, MSAL Go underneath) gets a token from the emulator with a signed
// assertion, and its error for an unregistered certificate is Entra's AADSTS700027.
func TestAzidentityClientCertificateCredential(t *testing.T) {
	t.Parallel()
	// MSAL stamps nbf/exp from the wall clock, so the emulator runs on it too.
	now := time.Now()
	key := testKey()
	der := selfSigned(t, key, now.Add(-time.Hour), now.AddDate(1, 0, 0))
	unreg := selfSigned(t, otherKey(), now.Add(-time.Hour), now.AddDate(1, 0, 0))
	f := certFixture(t, func(c *Config) { c.Now = time.Now; c.StrictAssertionAudience = true; c.RejectReplayedAssertions = true },
		Certificate{DER: der})
	srv := httptest.NewTLSServer(f.s)
	t.Cleanup(srv.Close)
	cred := func(t *testing.T, tenant string, der []byte, k *rsa.PrivateKey, chain bool) *azidentity.ClientCertificateCredential {
		cert, err := x509.ParseCertificate(der)
		must(t, err)
		c, err := azidentity.NewClientCertificateCredential(tenant, certClient, []*x509.Certificate{cert}, k, &azidentity.ClientCertificateCredentialOptions{
			ClientOptions: azcore.ClientOptions{
				Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: srv.URL + "/"},
				Transport: srv.Client(),
				Retry:     policy.RetryOptions{MaxRetries: -1},
			},
			DisableInstanceDiscovery: true,
			SendCertificateChain:     chain,
		})
		must(t, err)
		return c
	}
	for _, tc := range []struct {
		tenant string
		chain  bool
	}{{tenantID, false}, {tenantDomain, true}} {
		tok, err := cred(t, tc.tenant, der, key, tc.chain).GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{BCDefaultScope}})
		if err != nil {
			t.Fatalf("tenant %s, x5c %v: %v", tc.tenant, tc.chain, err)
		}
		c, err := f.s.Verify(tok.Token)
		must(t, err)
		if c.AppID != certClient || c.AppIDACR != "2" || c.TID != tenantID || len(c.Roles) != 1 {
			t.Errorf("claims %+v", c)
		}
	}
	_, err := cred(t, tenantID, unreg, otherKey(), false).GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{BCDefaultScope}})
	var af *azidentity.AuthenticationFailedError
	if !errors.As(err, &af) || !strings.Contains(err.Error(), "AADSTS700027") || !strings.Contains(err.Error(), "The key was not found.") {
		t.Errorf("unregistered certificate: %v", err)
	}
}

// FuzzParseAssertion: whatever the assertion, the parser returns a result or an AADSTS50027
// error, never panics, and a parsed assertion has a thumbprint of the right size and an exp.
func FuzzParseAssertion(f *testing.F) {
	now := time.Unix(1_780_000_000, 0)
	der := selfSigned(f, testKey(), now.Add(-time.Hour), now.Add(time.Hour))
	f.Add(makeAssertion(f, now, "https://x/t/oauth2/v2.0/token", assertionOpts{key: testKey(), der: der}))
	f.Add(makeAssertion(f, now, "https://x/t/oauth2/v2.0/token", assertionOpts{alg: "RS256", sha1Thumb: true, key: testKey(), der: der}))
	f.Add("eyJhbGciOiJQUzI1NiJ9.e30.AA")
	f.Add("a.b.c")
	f.Add("..")
	// An RS256 header with an all-zero x5t and an exp far past any time.Time, built here
	// (a JWT-shaped literal in the repository looks like a leaked token).
	b64 := base64.RawURLEncoding.EncodeToString
	f.Add(b64([]byte(`{"alg":"RS256","x5t":"AAAAAAAAAAAAAAAAAAAAAAAAAAA="}`)) + "." + b64([]byte(`{"exp":1e308}`)) + ".AA")
	f.Fuzz(func(t *testing.T, raw string) {
		a, e := parseAssertion(raw)
		if e != nil {
			if a != nil || e.code != 50027 || e.status != http.StatusUnauthorized {
				t.Fatalf("error %+v with result %v", e, a)
			}
			return
		}
		if (a.sha256 && len(a.thumbprint) != 32) || (!a.sha256 && len(a.thumbprint) != 20) || !a.hasExp || len(a.sig) == 0 {
			t.Fatalf("parsed %+v", a)
		}
		if a.alg != "RS256" && a.alg != "PS256" {
			t.Fatalf("alg %q", a.alg)
		}
	})
}
