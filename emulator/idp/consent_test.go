package idp

import (
	"net/url"
	"strings"
	"testing"
)

func consentPath(tenant string, q url.Values) string {
	return "/" + tenant + "/adminconsent?" + q.Encode()
}

func consented(t *testing.T, d *Directory, client string) []bool {
	t.Helper()
	a, ok := d.LookupApp(tenantID, client)
	if !ok {
		t.Fatalf("app %s gone", client)
	}
	var out []bool
	for _, p := range a.Permissions {
		out = append(out, p.Consented)
	}
	return out
}

func TestAdminConsentGrant(t *testing.T) {
	t.Parallel()
	f := setup(t)
	q := url.Values{"client_id": {consentApp}, "redirect_uri": {redirectURI}, "state": {"s 1"}, ConsentParam: {"grant"}}
	w := f.do("GET", consentPath(tenantID, q), nil)
	if w.Code != 302 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	want := redirectURI + "?tenant=" + tenantID + "&state=s+1&admin_consent=True"
	if got := w.Header().Get("Location"); got != want {
		t.Errorf("Location %q, want %q", got, want)
	}
	if c := consented(t, f.dir, consentApp); c[0] != true || c[1] != true {
		t.Errorf("consent after grant %v", c)
	}
	// The next token carries the role.
	form := goodForm()
	form.Set("client_id", consentApp)
	form.Set("client_secret", sharedSecret)
	c, err := f.s.Verify(accessToken(t, f.do("POST", tokenPath(tenantID), form)))
	must(t, err)
	if strings.Join(c.Roles, ",") != RoleAPIReadWriteAll {
		t.Errorf("roles after consent %v", c.Roles)
	}
}

func TestAdminConsentDenyAutoAndPage(t *testing.T) {
	t.Parallel()
	f := setup(t)
	// Redirect URI with its own query: ours is appended.
	q := url.Values{"client_id": {consentApp}, "redirect_uri": {"https://other.example/cb?x=1"}, "state": {"xyz"}, ConsentParam: {"deny"}}
	w := f.do("GET", consentPath(tenantDomain, q), nil)
	loc, _ := url.Parse(w.Header().Get("Location"))
	if w.Code != 302 || loc.Host != "other.example" || loc.Query().Get("x") != "1" ||
		loc.Query().Get("error") != "permission_denied" || loc.Query().Get("state") != "xyz" ||
		!strings.HasPrefix(loc.Query().Get("error_description"), "AADSTS65004") {
		t.Errorf("deny: %d %s", w.Code, w.Header().Get("Location"))
	}
	if c := consented(t, f.dir, consentApp); c[0] {
		t.Errorf("deny granted consent")
	}

	// No decision, no AutoConsent: a page offering both, nothing granted.
	q = url.Values{"client_id": {consentApp}}
	w = f.do("GET", consentPath(tenantID, q), nil)
	if w.Code != 200 || !strings.Contains(w.Body.String(), ConsentParam+"=grant") || !strings.Contains(w.Body.String(), "Consent Me") {
		t.Errorf("page: %d %s", w.Code, w.Body)
	}
	if c := consented(t, f.dir, consentApp); c[0] {
		t.Errorf("page granted consent")
	}

	// AutoConsent grants; no redirect_uri means the app's first one; no state, no state param.
	auto := setup(t, func(c *Config) { c.AutoConsent = true })
	w = auto.do("GET", consentPath(tenantID, q), nil)
	if w.Code != 302 || w.Header().Get("Location") != redirectURI+"?tenant="+tenantID+"&admin_consent=True" {
		t.Errorf("auto: %d %q", w.Code, w.Header().Get("Location"))
	}
	if c := consented(t, auto.dir, consentApp); !c[0] {
		t.Errorf("AutoConsent did not grant")
	}
}

func TestAdminConsentErrors(t *testing.T) {
	t.Parallel()
	f := setup(t, func(c *Config) { c.AutoConsent = true })
	tests := []struct {
		name, tenant string
		q            url.Values
		code         int
	}{
		{"unknown tenant", "ffffffff-86f1-41af-91ab-2d7cd011db47", url.Values{"client_id": {consentApp}}, 90002},
		{"common", "common", url.Values{"client_id": {consentApp}}, 50059},
		{"no client", tenantID, url.Values{}, 900144},
		{"unknown client", tenantID, url.Values{"client_id": {unknownClient}}, 700016},
		{"reply mismatch", tenantID, url.Values{"client_id": {consentApp}, "redirect_uri": {"https://evil.example/cb"}}, 50011},
		{"no reply address", tenantID, url.Values{"client_id": {goodClient}}, 900971},
	}
	for _, tc := range tests {
		w := f.do("GET", consentPath(tc.tenant, tc.q), nil)
		b := decodeJSON[errorBody](t, w)
		if w.Code != 400 || len(b.ErrorCodes) != 1 || b.ErrorCodes[0] != tc.code {
			t.Errorf("%s: %d %s", tc.name, w.Code, w.Body)
		}
	}
	if c := consented(t, f.dir, consentApp); c[0] {
		t.Errorf("a failed consent request granted consent")
	}
}
