package control_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
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
	resp, err := srv.Client().Post(srv.URL+path, "application/octet-stream", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestControl changes a running emulator through the admin surface and sees each change
// where Entra and BC read it (the token endpoint for an expired secret).
func TestControl(t *testing.T) {
	t.Parallel()
	emu, err := emulator.New(emulator.Config{})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(control.Prefix, control.Handler(emu, nil))
	mux.Handle("/", emu)
	srv := httptest.NewTLSServer(mux)
	t.Cleanup(srv.Close)
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
