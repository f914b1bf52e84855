package emulator_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/emulator/emulatortest"
)

// env is one emulator behind a real TLS server, with a client that trusts it.
type env struct {
	t     testing.TB
	emu   *emulator.Emulator
	srv   *emulatortest.Sandbox
	creds emulator.Credentials
	token string
}

func setup(t testing.TB, cfg emulator.Config) *env {
	t.Helper()
	sb := emulatortest.Start(t, cfg)
	return &env{t: t, emu: sb.Emulator, srv: sb, creds: sb.Creds}
}

// credential is what the connector will use: azidentity's ClientSecretCredential pointed
// at the emulator (bc-entra-facts §0.9: instance discovery off, https authority).
func (e *env) credential(tenant, client, secret string) *azidentity.ClientSecretCredential {
	e.t.Helper()
	cred, err := azidentity.NewClientSecretCredential(tenant, client, secret, &azidentity.ClientSecretCredentialOptions{
		ClientOptions: azcore.ClientOptions{
			Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: e.srv.AuthorityHost()},
			Transport: e.srv.Client(),
		},
		DisableInstanceDiscovery: true,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return cred
}

// getToken fetches a BC token for the scenario's credentials.
func (e *env) getToken() (string, error) {
	cred := e.credential(e.creds.TenantID, e.creds.ClientID, e.creds.ClientSecret)
	tok, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{"https://api.businesscentral.dynamics.com/.default"}})
	if err != nil {
		return "", err
	}
	return tok.Token, nil
}

func (e *env) mustToken() string {
	e.t.Helper()
	if e.token == "" {
		tok, err := e.getToken()
		if err != nil {
			e.t.Fatalf("token: %v", err)
		}
		e.token = tok
	}
	return e.token
}

// api is the BC API root of the scenario's environment, with the tenant in the path.
func (e *env) api() string {
	return e.srv.URL + "/v2.0/" + e.creds.TenantID + "/" + e.creds.Environment + "/api/v2.0"
}

func (e *env) companyURL() string {
	return e.api() + "/companies(" + e.emu.DemoCompanyRef().CompanyID + ")"
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not JSON (%v): %s", err, r.body)
	}
	return m
}

// errorCode returns BC's error.code of the body.
func (r response) errorCode() string {
	var m struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	_ = json.Unmarshal(r.body, &m)
	return m.Error.Code
}

func (e *env) do(method, u string, body any, header ...string) response {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		switch b := body.(type) {
		case string:
			rd = strings.NewReader(b)
		default:
			raw, _ := json.Marshal(b)
			rd = strings.NewReader(string(raw))
		}
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.mustToken())
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: data}
}

func (e *env) get(u string, header ...string) response {
	return e.do(http.MethodGet, u, nil, header...)
}

func esc(s string) string { return url.QueryEscape(s) }
