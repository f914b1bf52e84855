package idp

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestTokenSuccessShape(t *testing.T) {
	t.Parallel()
	f := setup(t)
	w := f.do("POST", tokenPath(tenantID), goodForm())
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	for k, want := range map[string]string{
		"Content-Type":  "application/json; charset=utf-8",
		"Cache-Control": "no-store, no-cache",
		"Pragma":        "no-cache",
	} {
		if got := w.Header().Get(k); got != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}
	// Exactly these keys, in this order, numbers unquoted (bc-entra-facts §1.2).
	re := regexp.MustCompile(`^\{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+"\}$`)
	if !re.MatchString(w.Body.String()) {
		t.Errorf("body %s does not match %s", w.Body, re)
	}
	tok := accessToken(t, w)

	h := header(t, tok)
	if h["typ"] != "JWT" || h["alg"] != "RS256" || h["kid"] == "" || h["x5t"] != h["kid"] {
		t.Errorf("header = %v, want typ JWT, alg RS256, kid = x5t", h)
	}
	c, err := f.s.Verify(tok)
	must(t, err)
	sts := "https://sts.windows.net/" + tenantID + "/"
	now := f.clock.Now().Unix()
	want := Claims{
		Aud: BCResourceURI, Iss: sts, Idp: sts, AppID: goodClient, AppIDACR: "1",
		OID: goodSP, Sub: goodSP, TID: tenantID, Ver: "1.0",
		Roles: []string{RoleAPIReadWriteAll, RoleAutomationReadWriteAll},
		IAT:   now, NBF: now, EXP: now + 3599,
	}
	got := *c
	if got.UTI == "" || got.AIO == "" || got.RH == "" {
		t.Errorf("opaque claims uti/aio/rh missing: %+v", got)
	}
	got.UTI, got.AIO, got.RH = "", "", ""
	if !equalClaims(got, want) {
		t.Errorf("claims\n got %+v\nwant %+v", got, want)
	}
}

func equalClaims(a, b Claims) bool {
	return reflect.DeepEqual(a, b)
}

// TestTokenScopeForms: the scope forms Entra accepts for BC (bc-entra-facts §1.1, §11 item 1).
func TestTokenScopeForms(t *testing.T) {
	t.Parallel()
	f := setup(t)
	for _, scope := range []string{
		BCDefaultScope,
		BCDefaultScope + " openid offline_access profile",
		"openid " + BCResourceID + "/.default",
		BCDefaultScope + " " + BCResourceID + "/.default", // two names of one resource
		"https://API.BusinessCentral.Dynamics.com/.default",
	} {
		form := goodForm()
		form.Set("scope", scope)
		if w := f.do("POST", tokenPath(tenantID), form); w.Code != http.StatusOK {
			t.Errorf("scope %q: status %d: %s", scope, w.Code, w.Body)
		}
	}
	// The tenant may be a verified domain, in any case; tid is still the GUID.
	w := f.do("POST", tokenPath("Contoso.onmicrosoft.com"), goodForm())
	if c, err := f.s.Verify(accessToken(t, w)); err != nil || c.TID != tenantID {
		t.Errorf("domain tenant: claims %+v, err %v", c, err)
	}
}

func TestTokenBasicAuth(t *testing.T) {
	t.Parallel()
	f := setup(t)
	form := goodForm()
	form.Del("client_id")
	form.Del("client_secret")
	r := f.do("POST", tokenPath(tenantID), form, "Authorization",
		"Basic "+base64.StdEncoding.EncodeToString([]byte(goodClient+":"+url.QueryEscape(goodSecret))))
	if r.Code != http.StatusOK {
		t.Fatalf("basic auth: status %d: %s", r.Code, r.Body)
	}
	r = f.do("POST", tokenPath(tenantID), form, "Authorization",
		"Basic "+base64.StdEncoding.EncodeToString([]byte(goodClient+":wrong")))
	if body := decodeJSON[errorBody](t, r); r.Code != 401 || body.ErrorCodes[0] != 7000215 {
		t.Errorf("basic auth wrong secret: %d %s", r.Code, r.Body)
	}
}

// TestTokenErrors checks every AADSTS case of bc-entra-facts §1.4 / §11 item 3: status, error,
// code and message, and the body shape of §1.3.
func TestTokenErrors(t *testing.T) {
	t.Parallel()
	with := func(mod func(url.Values)) url.Values {
		f := goodForm()
		mod(f)
		return f
	}
	tests := []struct {
		name    string
		method  string
		path    string
		form    url.Values
		status  int
		err     string
		code    int
		message string // the text after "AADSTSnnnn: "
	}{
		{"malformed tenant word", "POST", tokenPath("contoso"), goodForm(), 400, "invalid_request", 900023,
			"Specified tenant identifier 'contoso' is neither a valid DNS name, nor a valid external domain."},
		{"malformed tenant bad guid", "POST", tokenPath("72f988bf-86f1-41af-91ab-2d7cd011db4"), goodForm(), 400, "invalid_request", 900023,
			"Specified tenant identifier '72f988bf-86f1-41af-91ab-2d7cd011db4' is neither a valid DNS name, nor a valid external domain."},
		{"malformed tenant placeholder", "POST", "/%7B%7Btenantid%7D%7D/oauth2/v2.0/token", goodForm(), 400, "invalid_request", 900023,
			"Specified tenant identifier '{{tenantid}}' is neither a valid DNS name, nor a valid external domain."},
		{"common", "POST", tokenPath("common"), goodForm(), 400, "invalid_request", 9001023,
			"The grant type isn't supported over the /common or /consumers endpoints. Please use the /organizations or tenant-specific endpoint."},
		{"consumers", "POST", tokenPath("consumers"), goodForm(), 400, "invalid_request", 9001023,
			"The grant type isn't supported over the /common or /consumers endpoints. Please use the /organizations or tenant-specific endpoint."},
		{"empty guid tenant", "POST", tokenPath(zeroGUID), goodForm(), 400, "invalid_request", 90002,
			"Requested tenant identifier '00000000-0000-0000-0000-000000000000' is not valid. Tenant identifiers may not be an empty GUID."},
		{"unknown tenant guid", "POST", tokenPath("ffffffff-86f1-41af-91ab-2d7cd011db47"), goodForm(), 400, "invalid_tenant", 90002,
			"Tenant 'ffffffff-86f1-41af-91ab-2d7cd011db47' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant."},
		{"unknown tenant domain", "POST", tokenPath("nobody.onmicrosoft.com"), goodForm(), 400, "invalid_tenant", 90002,
			"Tenant 'nobody.onmicrosoft.com' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant."},
		{"GET on token endpoint", "GET", tokenPath(tenantID), nil, 400, "invalid_request", 900561,
			"The endpoint only accepts POST, OPTIONS requests. Received a GET request."},
		{"PUT on token endpoint", "PUT", tokenPath(tenantID), goodForm(), 400, "invalid_request", 900561,
			"The endpoint only accepts POST, OPTIONS requests. Received a PUT request."},
		{"missing grant_type", "POST", tokenPath(tenantID), with(func(f url.Values) { f.Del("grant_type") }), 400, "invalid_request", 900144,
			"The request body must contain the following parameter: 'grant_type'."},
		{"missing client_id", "POST", tokenPath(tenantID), with(func(f url.Values) { f.Del("client_id") }), 400, "invalid_request", 900144,
			"The request body must contain the following parameter: 'client_id'."},
		{"missing scope", "POST", tokenPath(tenantID), with(func(f url.Values) { f.Del("scope") }), 400, "invalid_request", 900144,
			"The request body must contain the following parameter: 'scope'."},
		{"JSON body instead of form", "POST", tokenPath(tenantID), nil, 400, "invalid_request", 900144,
			"The request body must contain the following parameter: 'grant_type'."},
		{"resource on v2", "POST", tokenPath(tenantID), with(func(f url.Values) { f.Set("resource", BCResourceURI) }), 400, "invalid_request", 901002,
			"The 'resource' request parameter isn't supported."},
		{"unsupported grant", "POST", tokenPath(tenantID), with(func(f url.Values) { f.Set("grant_type", "password") }), 400, "unsupported_grant_type", 70003,
			"The app requested an unsupported grant type 'password'."},
		{"scope without .default", "POST", tokenPath(tenantID), with(func(f url.Values) {
			f.Set("scope", BCResourceURI+"/API.ReadWrite.All openid offline_access profile")
		}), 400, "invalid_scope", 1002012,
			"The provided value for scope https://api.businesscentral.dynamics.com/API.ReadWrite.All openid offline_access profile is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."},
		{"only oidc scopes", "POST", tokenPath(tenantID), with(func(f url.Values) { f.Set("scope", "openid profile") }), 400, "invalid_scope", 1002012,
			"The provided value for scope openid profile is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."},
		{"bare resource URI", "POST", tokenPath(tenantID), with(func(f url.Values) { f.Set("scope", BCResourceURI) }), 400, "invalid_scope", 1002012,
			"The provided value for scope https://api.businesscentral.dynamics.com is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."},
		{"two resources", "POST", tokenPath(tenantID), with(func(f url.Values) {
			f.Set("scope", BCDefaultScope+" https://graph.microsoft.com/.default")
		}), 400, "invalid_scope", 700022,
			"The provided value for the input parameter scope isn't valid because it contains more than one resource."},
		{"typo in resource", "POST", tokenPath(tenantID), with(func(f url.Values) {
			f.Set("scope", "https://api.businesscentral.dynamics.co/.default")
		}), 400, "invalid_resource", 500011,
			"The resource principal named https://api.businesscentral.dynamics.co was not found in the tenant named Contoso. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant."},
		{"tenant without BC", "POST", tokenPath(noBCTenantID), goodForm(), 400, "invalid_resource", 500011,
			"The resource principal named https://api.businesscentral.dynamics.com was not found in the tenant named Fabrikam. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant."},
		{"unknown client", "POST", tokenPath(tenantID), with(func(f url.Values) { f.Set("client_id", unknownClient) }), 400, "unauthorized_client", 700016,
			"Application with identifier '99999999-9999-4999-8999-999999999999' was not found in the directory 'Contoso'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."},
		{"no secret", "POST", tokenPath(tenantID), with(func(f url.Values) { f.Del("client_secret") }), 401, "invalid_client", 7000218,
			"The request body must contain the following parameter: 'client_assertion' or 'client_secret'."},
		{"disabled app", "POST", tokenPath(tenantID), with(func(f url.Values) {
			f.Set("client_id", disabledApp)
			f.Set("client_secret", sharedSecret)
		}), 400, "unauthorized_client", 7000112,
			"Application '33333333-3333-4333-8333-333333333333'(Old Sync) is disabled."},
		{"expired secret", "POST", tokenPath(tenantID), with(func(f url.Values) { f.Set("client_secret", oldSecret) }), 401, "invalid_client", 7000222,
			"The provided client secret keys for app '6731de76-14a6-49ae-97bc-6eba6914391e' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds."},
		{"wrong secret", "POST", tokenPath(tenantID), with(func(f url.Values) { f.Set("client_secret", "nope") }), 401, "invalid_client", 7000215,
			"Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '6731de76-14a6-49ae-97bc-6eba6914391e'."},
		{"secret ID instead of value", "POST", tokenPath(tenantID), with(func(f url.Values) { f.Set("client_secret", goodSecretID) }), 401, "invalid_client", 7000215,
			"Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '6731de76-14a6-49ae-97bc-6eba6914391e'."},
		{"v1 missing resource", "POST", "/" + tenantID + "/oauth2/token", with(func(f url.Values) { f.Del("scope") }), 400, "invalid_request", 900144,
			"The request body must contain the following parameter: 'resource'."},
		{"v1 wrong secret", "POST", "/" + tenantID + "/oauth2/token", with(func(f url.Values) {
			f.Del("scope")
			f.Set("resource", BCResourceURI)
			f.Set("client_secret", "nope")
		}), 401, "invalid_client", 7000215,
			"Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '6731de76-14a6-49ae-97bc-6eba6914391e'."},
		{"v1 common", "POST", "/common/oauth2/token", goodForm(), 400, "invalid_request", 9001023,
			"The grant type isn't supported over the /common or /consumers endpoints. Please use the /organizations or tenant-specific endpoint."},
	}
	f := setup(t)
	const correlation = "7b4ad2f8-4c2c-4f21-9d3e-2f4a1e0c9b11"
	descRE := regexp.MustCompile(`^AADSTS(\d+): (.*)\r\nTrace ID: ([0-9a-f-]{36})\r\nCorrelation ID: ([0-9a-f-]{36})\r\nTimestamp: (\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ)$`)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := f.s.TokenRequests()
			w := f.do(tc.method, tc.path, tc.form, "client-request-id", correlation)
			if tc.name == "JSON body instead of form" {
				w = f.doRaw(tc.method, tc.path, `{"grant_type":"client_credentials"}`,
					"client-request-id", correlation, "Content-Type", "application/json")
			}
			if w.Code != tc.status {
				t.Errorf("status %d, want %d", w.Code, tc.status)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			var raw map[string]json.RawMessage
			if err := json.Unmarshal(w.Body.Bytes(), &raw); err != nil {
				t.Fatalf("body not JSON: %s", w.Body)
			}
			keys := []string{"error", "error_description", "error_codes", "timestamp", "trace_id", "correlation_id", "error_uri"}
			if len(raw) != len(keys) {
				t.Errorf("body keys %v, want exactly %v", raw, keys)
			}
			body := decodeJSON[errorBody](t, w)
			if body.Error != tc.err {
				t.Errorf("error %q, want %q", body.Error, tc.err)
			}
			if !slices.Equal(body.ErrorCodes, []int{tc.code}) {
				t.Errorf("error_codes %v, want [%d]", body.ErrorCodes, tc.code)
			}
			m := descRE.FindStringSubmatch(body.ErrorDescription)
			if m == nil {
				t.Fatalf("error_description %q has not the Entra shape", body.ErrorDescription)
			}
			if m[1] != strconv.Itoa(tc.code) || m[2] != tc.message {
				t.Errorf("description\n got AADSTS%s: %s\nwant AADSTS%d: %s", m[1], m[2], tc.code, tc.message)
			}
			if m[3] != body.TraceID || m[4] != body.CorrelationID || m[5] != body.Timestamp {
				t.Errorf("description ids/timestamp %q do not match the fields %+v", body.ErrorDescription, body)
			}
			if body.CorrelationID != correlation {
				t.Errorf("correlation_id %q, want the client-request-id %q", body.CorrelationID, correlation)
			}
			if body.Timestamp != "2026-03-04 05:06:07Z" {
				t.Errorf("timestamp %q", body.Timestamp)
			}
			if want := "https://login.microsoftonline.com/error?code=" + strconv.Itoa(tc.code); body.ErrorURI != want {
				t.Errorf("error_uri %q, want %q", body.ErrorURI, want)
			}
			if w.Header().Get("x-ms-request-id") != body.TraceID {
				t.Errorf("x-ms-request-id %q != trace_id %q", w.Header().Get("x-ms-request-id"), body.TraceID)
			}
			if tc.method == "POST" && f.s.TokenRequests() == before {
				t.Errorf("TokenRequests did not count the POST")
			}
		})
	}
}

// TestNoRolesCases: Entra issues a token without a roles claim when consent is missing
// (bc-entra-facts §0 item 2), and the seed guide's "Application → Financials.ReadWrite.All"
// yields none either (§0 item 1).
func TestNoRolesCases(t *testing.T) {
	t.Parallel()
	f := setup(t)
	for _, client := range []string{noConsent, delegatedOnly} {
		form := goodForm()
		form.Set("client_id", client)
		form.Set("client_secret", sharedSecret)
		tok := accessToken(t, f.do("POST", tokenPath(tenantID), form))
		p := payload(t, tok)
		if _, ok := p["roles"]; ok {
			t.Errorf("client %s: roles claim present: %v", client, p["roles"])
		}
		if p["appid"] != client {
			t.Errorf("client %s: appid %v", client, p["appid"])
		}
	}
}

// TestRolesFrozenAtIssuance: consent changes affect the next token only (bc-entra-facts §1.6).
func TestRolesFrozenAtIssuance(t *testing.T) {
	t.Parallel()
	f := setup(t)
	old := accessToken(t, f.do("POST", tokenPath(tenantID), goodForm()))
	must(t, f.dir.SetConsent(tenantID, goodClient, false))
	fresh := accessToken(t, f.do("POST", tokenPath(tenantID), goodForm()))
	c, err := f.s.Verify(old)
	must(t, err)
	if len(c.Roles) != 2 {
		t.Errorf("old token roles %v, want the two granted at issuance", c.Roles)
	}
	if _, ok := payload(t, fresh)["roles"]; ok {
		t.Errorf("token issued after revocation still has roles")
	}
}

func TestSecretExpiresWithClock(t *testing.T) {
	t.Parallel()
	f := setup(t)
	must(t, f.dir.UpdateApp(tenantID, goodClient, func(a *App) {
		a.Secrets[0].EndDate = f.clock.Now().Add(time.Hour)
	}))
	if w := f.do("POST", tokenPath(tenantID), goodForm()); w.Code != 200 {
		t.Fatalf("before expiry: %d %s", w.Code, w.Body)
	}
	f.clock.Add(time.Hour) // exactly at EndDate: expired
	w := f.do("POST", tokenPath(tenantID), goodForm())
	if b := decodeJSON[errorBody](t, w); w.Code != 401 || b.ErrorCodes[0] != 7000222 {
		t.Errorf("at expiry: %d %s", w.Code, w.Body)
	}
	// A second, valid secret with a different value does not rescue the expired one.
	must(t, f.dir.UpdateApp(tenantID, goodClient, func(a *App) {
		a.Secrets = append(a.Secrets, Secret{Value: "fresh"})
	}))
	if w := f.do("POST", tokenPath(tenantID), goodForm()); w.Code != 401 {
		t.Errorf("expired secret accepted: %d", w.Code)
	}
}

func TestV1Endpoint(t *testing.T) {
	t.Parallel()
	f := setup(t)
	form := url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {goodClient},
		"client_secret": {goodSecret},
		"resource":      {BCResourceURI},
	}
	w := f.do("POST", "/"+tenantID+"/oauth2/token", form)
	if w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	now := f.clock.Now().Unix()
	re := regexp.MustCompile(`^\{"token_type":"Bearer","expires_in":"3599","ext_expires_in":"3599","expires_on":"` +
		strconv.FormatInt(now+3599, 10) + `","not_before":"` + strconv.FormatInt(now, 10) +
		`","resource":"https://api.businesscentral.dynamics.com","access_token":"[^"]+"\}$`)
	if !re.MatchString(w.Body.String()) {
		t.Errorf("v1 body %s", w.Body)
	}
	var body tokenResponseV1
	must(t, json.Unmarshal(w.Body.Bytes(), &body))
	c, err := f.s.Verify(body.AccessToken)
	must(t, err)
	if c.Aud != BCResourceURI || len(c.Roles) != 2 {
		t.Errorf("v1 claims %+v", c)
	}
	// The scope parameter is not the v1 way; it does not stand in for resource.
	form.Del("resource")
	form.Set("scope", BCDefaultScope)
	if w := f.do("POST", "/"+tenantID+"/oauth2/token", form); w.Code != 400 {
		t.Errorf("v1 with scope only: %d", w.Code)
	}
}

func TestConfigOptions(t *testing.T) {
	t.Parallel()
	f := setup(t, func(c *Config) {
		c.DisabledAppStatus = http.StatusUnauthorized
		c.IgnoreClientRequestID = true
		c.EchoResourceAsAudience = true
		c.TokenLifetime = 90 * time.Minute
	})
	form := goodForm()
	form.Set("client_id", disabledApp)
	form.Set("client_secret", sharedSecret)
	w := f.do("POST", tokenPath(tenantID), form, "client-request-id", "7b4ad2f8-4c2c-4f21-9d3e-2f4a1e0c9b11")
	if w.Code != 401 {
		t.Errorf("DisabledAppStatus: status %d", w.Code)
	}
	if b := decodeJSON[errorBody](t, w); b.CorrelationID == "7b4ad2f8-4c2c-4f21-9d3e-2f4a1e0c9b11" || len(b.CorrelationID) != 36 {
		t.Errorf("IgnoreClientRequestID: correlation_id %q", b.CorrelationID)
	}
	form = goodForm()
	form.Set("scope", BCResourceID+"/.default")
	w = f.do("POST", tokenPath(tenantID), form)
	if !strings.Contains(w.Body.String(), `"expires_in":5400,`) {
		t.Errorf("TokenLifetime: %s", w.Body)
	}
	c, err := f.s.Verify(accessToken(t, w))
	must(t, err)
	if c.Aud != BCResourceID || c.EXP-c.IAT != 5400 {
		t.Errorf("EchoResourceAsAudience/lifetime: aud %q exp-iat %d", c.Aud, c.EXP-c.IAT)
	}
	if _, err := NewServer(Config{Key: testKey(), DisabledAppStatus: 200}); err == nil {
		t.Error("DisabledAppStatus 200 accepted")
	}
	if _, err := NewServer(Config{Key: testKey(), TokenLifetime: time.Millisecond}); err == nil {
		t.Error("TokenLifetime 1ms accepted")
	}
}

func TestReturnClientRequestID(t *testing.T) {
	t.Parallel()
	f := setup(t)
	w := f.do("POST", tokenPath(tenantID), goodForm(), "client-request-id", "abc", "Return-Client-Request-Id", "true")
	if w.Header().Get("client-request-id") != "abc" {
		t.Errorf("client-request-id not returned")
	}
	w = f.do("POST", tokenPath(tenantID), goodForm(), "client-request-id", "abc", "Return-Client-Request-Id", "false")
	if w.Header().Get("client-request-id") != "" {
		t.Errorf("client-request-id returned though MSAL asked not to")
	}
	if w := f.do("OPTIONS", tokenPath(tenantID), nil); w.Code != 200 || f.s.TokenRequests() != 2 {
		t.Errorf("OPTIONS: %d, requests %d", w.Code, f.s.TokenRequests())
	}
}

func TestParseScope(t *testing.T) {
	t.Parallel()
	tests := []struct {
		scope, resource string
		code            int
	}{
		{BCDefaultScope, BCResourceURI, 0},
		{BCDefaultScope + " openid offline_access profile", BCResourceURI, 0},
		{"profile " + BCResourceID + "/.DEFAULT", BCResourceID, 0},
		{"https://x.example//.default https://x.example/.default", "https://x.example/", 0},
		{"/.default", "", 1002012},
		{"", "", 1002012},
		{"openid", "", 1002012},
		{BCDefaultScope + " " + BCResourceURI + "/user_impersonation", "", 1002012},
		{"https://a.example/.default https://b.example/.default", "", 700022},
		{BCDefaultScope + " https://api.financials.dynamics.com/.default", BCResourceURI, 0},
	}
	for _, tc := range tests {
		res, e := parseScope(tc.scope)
		code := 0
		if e != nil {
			code = e.code
		}
		if res != tc.resource || code != tc.code {
			t.Errorf("parseScope(%q) = %q, %d; want %q, %d", tc.scope, res, code, tc.resource, tc.code)
		}
	}
}
