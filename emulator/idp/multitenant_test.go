package idp

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Fixture identities of the multi-tenant tests: a vendor directory with its multi-tenant
// app, and a customer tenant whose admin restricted user consent.
const (
	vendorTenant     = "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b"
	restrictedTenant = "6f7a8b9c-0d1e-4f2a-9b3c-4d5e6f7a8b9c"
	workflowTenant   = "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d"
	multiClient      = "55555555-5555-4555-8555-555555555555"
	multiSecret      = "vendor-secret-value"
	vendorRedirect   = "https://bcconnector.example/consent/express"
)

func multiSetup(t *testing.T, mod ...func(*Config)) *fixture {
	t.Helper()
	f := setup(t, mod...)
	must(t, f.dir.AddTenant(Tenant{ID: vendorTenant, Domains: []string{"bizzjoiner.onmicrosoft.com"}, DisplayName: "Bizzjoiner"}))
	must(t, f.dir.AddTenant(Tenant{ID: restrictedTenant, Domains: []string{"tailspin.onmicrosoft.com"}, HasBC: true, UserConsent: UserConsentDisabled}))
	must(t, f.dir.AddTenant(Tenant{ID: workflowTenant, HasBC: true, UserConsent: UserConsentAdminWorkflow}))
	must(t, f.dir.AddApp(vendorTenant, App{
		ClientID: multiClient, DisplayName: "Bizzjoiner Connector", Enabled: true, SignInAudience: MultiTenantAudience,
		RedirectURIs: []string{vendorRedirect}, Secrets: []Secret{{Value: multiSecret}},
		Permissions: []Permission{{Resource: BCResourceID, Value: RoleAPIReadWriteAll, Type: Application}},
	}))
	return f
}

func multiToken(f *fixture, tenant, secret string) (int, string) {
	form := goodForm()
	form.Set("client_id", multiClient)
	form.Set("client_secret", secret)
	w := f.do("POST", tokenPath(tenant), form)
	return w.Code, w.Body.String()
}

func consentLocation(t *testing.T, f *fixture, tenant string, extra url.Values) *url.URL {
	t.Helper()
	q := url.Values{"client_id": {multiClient}, "redirect_uri": {vendorRedirect}, "state": {"st-1"}}
	for k, v := range extra {
		q[k] = v
	}
	w := f.do("GET", consentPath(tenant, q), nil)
	if w.Code != http.StatusFound {
		t.Fatalf("consent in %s: %d %s", tenant, w.Code, w.Body)
	}
	loc, err := url.Parse(w.Header().Get("Location"))
	must(t, err)
	return loc
}

// TestMultiTenantConsent follows a multi-tenant app through a customer tenant: no token
// before consent (AADSTS700016), admin consent creates its service principal there and the
// next token carries the role, the secret is checked against the home registration, and
// deleting the service principal (consent revoked) answers AADSTS7000229 until consent is
// granted again.
func TestMultiTenantConsent(t *testing.T) {
	t.Parallel()
	f := multiSetup(t)
	if code, body := multiToken(f, tenantID, multiSecret); code != 400 || !strings.Contains(body, "AADSTS700016") {
		t.Fatalf("token before consent: %d %s", code, body)
	}
	// A redirect URI the vendor did not register: refused before any redirect.
	w := f.do("GET", consentPath(tenantID, url.Values{"client_id": {multiClient}, "redirect_uri": {"https://evil.example/cb"}, ConsentParam: {"grant"}}), nil)
	if w.Code != 400 || !strings.Contains(w.Body.String(), "AADSTS50011") {
		t.Fatalf("foreign redirect: %d %s", w.Code, w.Body)
	}
	loc := consentLocation(t, f, tenantDomain, url.Values{ConsentParam: {"grant"}})
	if got := loc.Query(); got.Get("admin_consent") != "True" || got.Get("tenant") != tenantID || got.Get("state") != "st-1" ||
		loc.Scheme+"://"+loc.Host+loc.Path != vendorRedirect {
		t.Fatalf("grant redirect %s", loc)
	}
	sp, ok := f.dir.LookupApp(tenantID, multiClient)
	if !ok || sp.HomeTenantID != vendorTenant || len(sp.Secrets) != 0 || !sp.Permissions[0].Consented {
		t.Fatalf("service principal after consent: %+v %v", sp, ok)
	}
	code, body := multiToken(f, tenantID, multiSecret)
	if code != 200 {
		t.Fatalf("token after consent: %d %s", code, body)
	}
	form := goodForm()
	form.Set("client_id", multiClient)
	form.Set("client_secret", multiSecret)
	c, err := f.s.Verify(accessToken(t, f.do("POST", tokenPath(tenantID), form)))
	must(t, err)
	if c.TID != tenantID || c.AppID != multiClient || strings.Join(c.Roles, ",") != RoleAPIReadWriteAll || c.OID != sp.ServicePrincipalID {
		t.Errorf("claims %+v", c)
	}
	if code, body := multiToken(f, tenantID, "not-the-secret"); code != 401 || !strings.Contains(body, "AADSTS7000215") {
		t.Errorf("wrong secret: %d %s", code, body)
	}
	// The vendor rotates its secret at home: the customer tenant takes the new one at once.
	must(t, f.dir.UpdateApp(vendorTenant, multiClient, func(a *App) { a.Secrets = []Secret{{Value: "rotated-secret"}} }))
	if code, _ := multiToken(f, tenantID, "rotated-secret"); code != 200 {
		t.Errorf("rotated secret: %d", code)
	}
	// Still unknown in a tenant that did not consent.
	if code, body := multiToken(f, restrictedTenant, "rotated-secret"); code != 400 || !strings.Contains(body, "AADSTS700016") {
		t.Errorf("other tenant: %d %s", code, body)
	}

	// Revoked: the permissions removed, the service principal kept → a token without roles.
	must(t, f.dir.SetConsent(tenantID, multiClient, false))
	c, err = f.s.Verify(accessToken(t, f.do("POST", tokenPath(tenantID), url.Values{"grant_type": {"client_credentials"},
		"client_id": {multiClient}, "client_secret": {"rotated-secret"}, "scope": {BCDefaultScope}})))
	must(t, err)
	if len(c.Roles) != 0 {
		t.Errorf("roles after revoking the grants: %v", c.Roles)
	}
	// Revoked: the enterprise application deleted.
	must(t, f.dir.RemoveApp(tenantID, multiClient))
	if code, body := multiToken(f, tenantID, "rotated-secret"); code != 400 || !strings.Contains(body, "AADSTS7000229") || !strings.Contains(body, "missing service principal") {
		t.Errorf("after deletion: %d %s", code, body)
	}
	// Consent again: tokens again, with the role.
	consentLocation(t, f, tenantID, url.Values{ConsentParam: {"grant"}})
	if code, body := multiToken(f, tenantID, "rotated-secret"); code != 200 {
		t.Errorf("after consenting again: %d %s", code, body)
	}

	// The knob: a deleted service principal answers as never consented.
	g := multiSetup(t, func(c *Config) { c.RevokedAsAppNotFound = true })
	_, err = g.dir.GrantConsent(tenantID, multiClient)
	must(t, err)
	must(t, g.dir.RemoveApp(tenantID, multiClient))
	if code, body := multiToken(g, tenantID, multiSecret); code != 400 || !strings.Contains(body, "AADSTS700016") {
		t.Errorf("RevokedAsAppNotFound: %d %s", code, body)
	}
}

// TestRestrictedConsent: in a tenant whose admin disabled user consent, the link followed
// without an admin redirects back with AADSTS90094 (90095 with the admin consent workflow)
// and grants nothing; an admin's Accept still works.
func TestRestrictedConsent(t *testing.T) {
	t.Parallel()
	f := multiSetup(t, func(c *Config) { c.AutoConsent = true })
	for _, tc := range []struct {
		tenant string
		code   string
	}{{restrictedTenant, "AADSTS90094"}, {workflowTenant, "AADSTS90095"}} {
		loc := consentLocation(t, f, tc.tenant, nil)
		q := loc.Query()
		if q.Get("error") != "access_denied" || !strings.HasPrefix(q.Get("error_description"), tc.code+": ") || q.Get("state") != "st-1" || q.Has("admin_consent") {
			t.Errorf("%s: redirect %s", tc.tenant, loc)
		}
		if _, ok := f.dir.LookupApp(tc.tenant, multiClient); ok {
			t.Errorf("%s: a user's refused consent created the service principal", tc.tenant)
		}
	}
	// An explicit user in an unrestricted tenant is refused too: application permissions
	// always need an admin.
	if q := consentLocation(t, f, tenantID, url.Values{ConsentParam: {"user"}}).Query(); !strings.HasPrefix(q.Get("error_description"), "AADSTS90094") {
		t.Errorf("user in an open tenant: %v", q)
	}
	loc := consentLocation(t, f, restrictedTenant, url.Values{ConsentParam: {"grant"}})
	if loc.Query().Get("admin_consent") != "True" {
		t.Errorf("admin in the restricted tenant: %s", loc)
	}
	if code, body := multiToken(f, restrictedTenant, multiSecret); code != 200 {
		t.Errorf("token after the admin's consent: %d %s", code, body)
	}
}
