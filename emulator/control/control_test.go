package control_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/emulator/control"
)

func post(t *testing.T, srv *httptest.Server, path, body string) (int, string) {
	t.Helper()
	return do(t, srv, http.MethodPost, path, body)
}

// setup serves a new emulator with its admin surface over TLS for one test.
func setup(t *testing.T) (*emulator.Emulator, *httptest.Server) {
	t.Helper()
	emu, err := emulator.New(emulator.Config{})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(control.Prefix, control.Handler(emu, nil))
	mux.Handle("/", emu)
	srv := httptest.NewTLSServer(mux)
	t.Cleanup(srv.Close)
	return emu, srv
}

// TestControl changes a running emulator through the admin surface and sees each change
// where Entra and BC read it (the token endpoint for an expired secret).
func TestControl(t *testing.T) {
	t.Parallel()
	emu, srv := setup(t)
	cr := emu.Credentials()
	app := "/_emulator/tenants/" + cr.TenantID + "/apps/" + cr.ClientID

	token := func() string {
		resp, err := srv.Client().PostForm(srv.URL+"/"+cr.TenantID+"/oauth2/v2.0/token", url.Values{
			"grant_type": {"client_credentials"}, "client_id": {cr.ClientID}, "client_secret": {cr.ClientSecret},
			"scope": {"https://api.businesscentral.dynamics.com/.default"}})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if tok := token(); !strings.Contains(tok, "access_token") {
		t.Fatalf("token before: %s", tok)
	}

	if code, body := post(t, srv, app+"/consent/revoke", ""); code != http.StatusNoContent {
		t.Errorf("revoke consent: %d %s", code, body)
	}
	if a, _ := emu.Directory().LookupApp(cr.TenantID, cr.ClientID); len(a.Permissions) == 0 || a.Permissions[0].Consented {
		t.Errorf("consent still granted: %+v", a.Permissions)
	}

	if code, body := post(t, srv, "/_emulator/tenants/"+cr.TenantID+"/environments/"+cr.Environment+"/apps/"+cr.ClientID+"/disable", ""); code != http.StatusNoContent {
		t.Errorf("disable the BC app: %d %s", code, body)
	}
	enabled := true
	_ = emu.UpdateBCApp(cr.TenantID, cr.Environment, cr.ClientID, func(a *emulator.BCApp) { enabled = a.Enabled })
	if enabled {
		t.Error("the BC app is still enabled")
	}

	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "harness"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if code, body := post(t, srv, app+"/certificates", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))); code != http.StatusNoContent {
		t.Errorf("upload a certificate: %d %s", code, body)
	}
	if a, _ := emu.Directory().LookupApp(cr.TenantID, cr.ClientID); len(a.Certificates) != 1 {
		t.Errorf("certificates: %d", len(a.Certificates))
	}

	if code, body := post(t, srv, app+"/secrets/expire", ""); code != http.StatusNoContent {
		t.Errorf("expire secrets: %d %s", code, body)
	}
	if tok := token(); !strings.Contains(tok, "AADSTS7000222") {
		t.Errorf("token after the secret expired: %s", tok)
	}

	for _, tc := range []struct{ path, body, want string }{
		{app + "/certificates", "not a certificate", "not a PEM certificate"},
		{"/_emulator/tenants/" + cr.TenantID + "/apps/00000000-0000-0000-0000-000000000000/consent/revoke", "", "00000000-0000-0000-0000-000000000000"},
		{"/_emulator/tenants/" + cr.TenantID + "/environments/Nope/apps/" + cr.ClientID + "/disable", "", "Nope"},
		{"/_emulator/nothing", "", "no admin route"},
	} {
		if code, body := post(t, srv, tc.path, tc.body); code < 400 || !strings.Contains(body, tc.want) {
			t.Errorf("POST %s: %d %s, want an error naming %q", tc.path, code, body, tc.want)
		}
	}
}

func do(t *testing.T, srv *httptest.Server, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestControlExpress walks express setup through the admin surface: the vendor app gets a
// redirect URI, an admin consents through the real endpoint, Step 6 is done, BC answers;
// deleting the service principal revokes it (AADSTS7000229) and a grant restores it.
func TestControlExpress(t *testing.T) {
	t.Parallel()
	emu, srv := setup(t)
	x := emu.Express()
	cr := emu.Credentials()
	client := srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	token := func() (string, string) {
		resp, err := client.PostForm(srv.URL+"/"+x.CustomerTenantID+"/oauth2/v2.0/token", url.Values{
			"grant_type": {"client_credentials"}, "client_id": {x.ClientID}, "client_secret": {x.ClientSecret},
			"scope": {"https://api.businesscentral.dynamics.com/.default"}})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct {
			AccessToken string `json:"access_token"`
		}
		b, _ := io.ReadAll(resp.Body)
		_ = json.Unmarshal(b, &body)
		return body.AccessToken, string(b)
	}
	if tok, body := token(); tok != "" || !strings.Contains(body, "AADSTS700016") {
		t.Fatalf("token before consent: %s", body)
	}
	const back = "https://bcconnector.example/consent/callback"
	if code, body := do(t, srv, "POST", "/_emulator/tenants/"+x.VendorTenantID+"/apps/"+x.ClientID+"/redirect-uris", "ftp://nope"); code != 400 {
		t.Errorf("bad redirect URI: %d %s", code, body)
	}
	if code, body := do(t, srv, "POST", "/_emulator/tenants/"+x.VendorTenantID+"/apps/"+x.ClientID+"/redirect-uris", back); code != 204 {
		t.Fatalf("add redirect URI: %d %s", code, body)
	}
	resp, err := client.Get(srv.URL + "/" + emulator.DemoTenantDomain + "/adminconsent?" + url.Values{
		"client_id": {x.ClientID}, "redirect_uri": {back}, "state": {"abc"}, "emulator_consent": {"grant"}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != 302 || !strings.HasPrefix(loc, back+"?tenant="+x.CustomerTenantID+"&state=abc&admin_consent=True") {
		t.Fatalf("consent: %d %s", resp.StatusCode, loc)
	}
	tok, body := token()
	if tok == "" {
		t.Fatalf("token after consent: %s", body)
	}
	companies := func(tok string) int {
		req, _ := http.NewRequest("GET", srv.URL+"/v2.0/"+x.CustomerTenantID+"/"+cr.Environment+"/api/v2.0/companies", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := companies(tok); code != 401 {
		t.Errorf("BC before Step 6: %d, want 401", code)
	}
	envApp := "/_emulator/tenants/" + x.CustomerTenantID + "/environments/" + cr.Environment + "/apps/" + x.ClientID
	if code, body := do(t, srv, "POST", envApp, `{"permissionSets":["NO SUCH SET"]}`); code != 404 || !strings.Contains(body, "NO SUCH SET") {
		t.Errorf("unknown permission set: %d %s", code, body)
	}
	if code, body := do(t, srv, "POST", envApp, `{"permissionSets":["BIZZJOINER CONNECTOR"]}`); code != 204 {
		t.Fatalf("Step 6: %d %s", code, body)
	}
	if code := companies(tok); code != 200 {
		t.Errorf("BC after Step 6: %d", code)
	}
	app := "/_emulator/tenants/" + x.CustomerTenantID + "/apps/" + x.ClientID
	if code, body := do(t, srv, "DELETE", app, ""); code != 204 {
		t.Fatalf("delete the service principal: %d %s", code, body)
	}
	if tok, body := token(); tok != "" || !strings.Contains(body, "AADSTS7000229") {
		t.Errorf("token after revocation: %s", body)
	}
	if code, _ := do(t, srv, "DELETE", app, ""); code != 404 {
		t.Errorf("delete twice: %d", code)
	}
	if code, body := do(t, srv, "POST", app+"/consent/grant", ""); code != 204 {
		t.Fatalf("grant again: %d %s", code, body)
	}
	if tok, body := token(); tok == "" {
		t.Errorf("token after the new grant: %s", body)
	}
}

// TestControlExtensionField adds a field to customers through the admin surface and sees
// it in records; removing it takes it away again, and bad requests name what is wrong.
func TestControlExtensionField(t *testing.T) {
	t.Parallel()
	emu, err := emulator.New(emulator.Config{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(control.Handler(emu, nil))
	t.Cleanup(srv.Close)
	cr := emu.Credentials()
	ref := emulator.CompanyRef{TenantID: cr.TenantID, Environment: cr.Environment, CompanyID: cr.CompanyID}
	var id string
	for row := range emu.Rows(ref, "customers") {
		id = row["id"].(string)
		break
	}
	has := func() bool {
		_, err := emu.Update(ref, "customers", id, map[string]any{"loyaltyTier": "Gold"})
		if err != nil {
			return false
		}
		row, _, _ := emu.Get(ref, "customers", id)
		return row["loyaltyTier"] == "Gold"
	}
	if has() {
		t.Fatal("loyaltyTier before it was added")
	}
	if code, body := post(t, srv, "/_emulator/entitysets/customers/fields", `{"name":"loyaltyTier","type":"Edm.String"}`); code != http.StatusNoContent {
		t.Fatalf("add: %d %s", code, body)
	}
	if !has() {
		t.Fatal("loyaltyTier not in records after it was added")
	}
	for _, tc := range []struct{ path, body, want string }{
		{"/_emulator/entitysets/customers/fields", `{"name":"loyaltyTier","type":"Edm.String"}`, "already has a field"},
		{"/_emulator/entitysets/customers/fields", `{"name":"x","type":"Edm.Stream"}`, "is not one of"},
		{"/_emulator/entitysets/nope/fields", `{"name":"x","type":"Edm.String"}`, "no entity set"},
		{"/_emulator/entitysets/customers/fields", `{"nam":"x"}`, "the body must be"},
	} {
		if code, body := post(t, srv, tc.path, tc.body); code != http.StatusBadRequest || !strings.Contains(body, tc.want) {
			t.Errorf("POST %s %s: %d %s, want 400 with %q", tc.path, tc.body, code, body, tc.want)
		}
	}
	del := func(path string) int {
		req, _ := http.NewRequest(http.MethodDelete, srv.URL+path, nil)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := del("/_emulator/entitysets/customers/fields/displayName"); code != http.StatusNotFound {
		t.Errorf("removing a standard field: %d, want 404", code)
	}
	if code := del("/_emulator/entitysets/customers/fields/loyaltyTier"); code != http.StatusNoContent {
		t.Fatalf("remove: %d", code)
	}
	if has() {
		t.Fatal("loyaltyTier still in records after it was removed")
	}
}
