package emulator_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/emulator/emulatortest"
)

// TestCustomers holds extra customer tenants: each app gets a token in its own tenant,
// reads its own company, is refused in another customer's tenant, and is counted by the
// throttle under its own client ID (its own BC limits).
func TestCustomers(t *testing.T) {
	t.Parallel()
	srv := emulatortest.Start(t, emulator.Config{Customers: 3})
	cs := srv.Emulator.Customers()
	if len(cs) != 3 {
		t.Fatalf("Customers() = %d, want 3", len(cs))
	}
	seen := map[string]bool{srv.Creds.TenantID: true}
	for _, c := range cs {
		if seen[c.TenantID] || c.ClientSecret == "" || c.CompanyID == "" || c.Company != emulator.DemoCompany {
			t.Fatalf("customer %+v: want a tenant of its own, a secret and the demo company", c)
		}
		seen[c.TenantID] = true
	}
	get := func(c emulator.Credentials, tenant string) (int, string) {
		tok := &emulatortest.Tokens{URL: srv.URL + "/" + c.TenantID + "/oauth2/v2.0/token", ClientID: c.ClientID, Secret: c.ClientSecret, HTTP: srv.Client()}
		token, err := tok.Token(context.Background())
		if err != nil {
			t.Fatalf("token of customer %s: %v", c.TenantDomain, err)
		}
		req, _ := http.NewRequest("GET", srv.BCBaseURL()+"/"+tenant+"/"+c.Environment+"/api/v2.0/companies", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, c := range cs {
		status, body := get(c, c.TenantID)
		var page struct{ Value []struct{ ID, Name string } }
		_ = json.Unmarshal([]byte(body), &page)
		if status != 200 || len(page.Value) != 1 || page.Value[0].ID != c.CompanyID {
			t.Errorf("%s reads its companies: %d %s; want its company %s", c.TenantDomain, status, body, c.CompanyID)
		}
	}
	if status, body := get(cs[0], cs[1].TenantID); status == 200 {
		t.Errorf("customer 1's token in customer 2's tenant: %d %s; want a refusal", status, body)
	}
	for _, c := range cs {
		if s := srv.Emulator.AppLimitStats(c.ClientID); s.Admitted == 0 || s.MaxOpen != 1 {
			t.Errorf("throttle stats of %s's app: %+v, want its own requests, one at a time", c.TenantDomain, s)
		}
	}
	if keys := srv.Emulator.LimitedApps(); len(keys) != 3 {
		t.Errorf("throttle keys = %v, want the 3 customers' apps", keys)
	}
}
