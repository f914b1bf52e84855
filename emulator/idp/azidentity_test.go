package idp

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// credential points azidentity at the emulator exactly as the connector will
// (bc-entra-facts §0 item 9, §1.5): https authority on the emulator host, instance discovery
// off, the test server's TLS client as transport.
func credential(t *testing.T, srv *httptest.Server, tenant, client, secret string) *azidentity.ClientSecretCredential {
	t.Helper()
	cred, err := azidentity.NewClientSecretCredential(tenant, client, secret, &azidentity.ClientSecretCredentialOptions{
		ClientOptions: azcore.ClientOptions{
			Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: srv.URL + "/"},
			Transport: srv.Client(),
			Retry:     policy.RetryOptions{MaxRetries: -1},
		},
		DisableInstanceDiscovery: true,
	})
	must(t, err)
	return cred
}

func TestAzidentityClientSecretCredential(t *testing.T) {
	t.Parallel()
	f := setup(t)
	srv := httptest.NewTLSServer(f.s)
	t.Cleanup(srv.Close)

	for _, tenant := range []string{tenantID, tenantDomain} {
		t.Run(tenant, func(t *testing.T) {
			cred := credential(t, srv, tenant, goodClient, goodSecret)
			before := f.s.TokenRequests()
			var first string
			for i := range 3 {
				tok, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{BCDefaultScope}})
				if err != nil {
					t.Fatalf("GetToken #%d: %v", i+1, err)
				}
				if i == 0 {
					first = tok.Token
				} else if tok.Token != first {
					t.Errorf("GetToken #%d returned a different token; cache missed", i+1)
				}
				// MSAL adds expires_in to its own wall clock, not the emulator's.
				if d := time.Until(tok.ExpiresOn); d < 3500*time.Second || d > 3600*time.Second {
					t.Errorf("ExpiresOn is %s after now, want about 3599 s", d)
				}
			}
			if n := f.s.TokenRequests() - before; n != 1 {
				t.Errorf("three GetToken calls made %d token requests, want 1", n)
			}
			c, err := f.s.Verify(first)
			must(t, err)
			if c.TID != tenantID || c.AppID != goodClient || c.OID != goodSP || c.Aud != BCResourceURI ||
				c.Iss != "https://sts.windows.net/"+tenantID+"/" || c.Ver != "1.0" || c.AppIDACR != "1" ||
				strings.Join(c.Roles, ",") != RoleAPIReadWriteAll+","+RoleAutomationReadWriteAll {
				t.Errorf("claims %+v", c)
			}
		})
	}
}

func TestAzidentityErrors(t *testing.T) {
	t.Parallel()
	f := setup(t)
	srv := httptest.NewTLSServer(f.s)
	t.Cleanup(srv.Close)
	tests := []struct {
		name, tenant, client, secret, want string
	}{
		{"unknown tenant", "ffffffff-86f1-41af-91ab-2d7cd011db47", goodClient, goodSecret, "AADSTS90002"},
		{"wrong secret", tenantID, goodClient, "nope", "AADSTS7000215"},
		{"expired secret", tenantID, goodClient, oldSecret, "AADSTS7000222"},
		{"unknown client", tenantID, unknownClient, goodSecret, "AADSTS700016"},
		{"tenant without BC", noBCTenantID, goodClient, goodSecret, "AADSTS500011"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cred := credential(t, srv, tc.tenant, tc.client, tc.secret)
			_, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{BCDefaultScope}})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("GetToken error %v, want one containing %s", err, tc.want)
			}
		})
	}
}

// TestMountAsFallback: on one host with BC catch-all patterns, the Server mounted at "/"
// still serves Entra, and azidentity works through the shared mux.
func TestMountAsFallback(t *testing.T) {
	t.Parallel()
	f := setup(t)
	mux := http.NewServeMux()
	mux.HandleFunc("/v2.0/{rest...}", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	mux.HandleFunc("/admin/{rest...}", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	mux.Handle("/", f.s)
	srv := httptest.NewTLSServer(mux)
	t.Cleanup(srv.Close)
	cred := credential(t, srv, tenantID, goodClient, goodSecret)
	if _, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{BCDefaultScope}}); err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Get(srv.URL + "/v2.0/" + tenantID + "/production/api/v2.0/companies")
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusTeapot {
		t.Errorf("BC path went to %d", resp.StatusCode)
	}
}
