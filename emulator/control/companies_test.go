package control_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/bizzjoiner/bcconnector/emulator/control"
)

// TestControlAddCompany creates a company over the wire, named with & ' and spaces: BC's
// company list has it with the id the answer gave, its data answers, and bad requests name
// what is wrong.
func TestControlAddCompany(t *testing.T) {
	t.Parallel()
	emu, srv := setup(t)
	cr := emu.Credentials()
	path := "/_emulator/tenants/" + cr.TenantID + "/environments/" + cr.Environment + "/companies"
	const name = "Smith & Sons' Branch"
	st, body := post(t, srv, path, `{"name":"`+name+`"}`)
	var got struct{ ID, Name string }
	if st != 201 || json.Unmarshal([]byte(body), &got) != nil || got.Name != name || got.ID == "" {
		t.Fatalf("add a company: %d %s", st, body)
	}
	listed := false
	for _, c := range emu.Companies(cr.TenantID, cr.Environment) {
		listed = listed || c[0] == got.ID && c[1] == name
	}
	if !listed {
		t.Errorf("BC does not list company %s %q: %v", got.ID, name, emu.Companies(cr.TenantID, cr.Environment))
	}
	ref := emu.DemoCompanyRef()
	ref.CompanyID = got.ID
	if n := emu.Count(ref, "customers"); n == 0 {
		t.Errorf("the new company has no customers")
	}
	for _, tc := range []struct {
		path, body string
		status     int
		says       string
	}{
		{path, `{"name":"` + strings.ToUpper(name) + `"}`, 400, "already"},
		{path, `{"name":""}`, 400, "the new company's name"},
		{path, `{"nom":"x"}`, 400, "the new company's name"},
		{path, `{"name":"` + strings.Repeat("x", 31) + `"}`, 400, "1 to 30 characters"},
		{"/_emulator/tenants/" + cr.TenantID + "/environments/Nowhere/companies", `{"name":"x"}`, 404, "no environment"},
		{"/_emulator/tenants/nobody.example/environments/" + cr.Environment + "/companies", `{"name":"x"}`, 404, "no tenant"},
	} {
		if st, body := post(t, srv, tc.path, tc.body); st != tc.status || !strings.Contains(body, tc.says) {
			t.Errorf("POST %s %s: %d %s, want %d naming %q", tc.path, tc.body, st, body, tc.status, tc.says)
		}
	}
}

// TestControlStats reads BC's counters over the wire: a request of the scenario's app
// counts for it and in the total, and a token request counts as one.
func TestControlStats(t *testing.T) {
	t.Parallel()
	emu, srv := setup(t)
	cr := emu.Credentials()
	stats := func() control.Stats {
		t.Helper()
		st, body := do(t, srv, "GET", "/_emulator/stats", "")
		var s control.Stats
		if st != 200 || json.Unmarshal([]byte(body), &s) != nil {
			t.Fatalf("GET stats: %d %s", st, body)
		}
		return s
	}
	before := stats()
	resp, err := srv.Client().PostForm(srv.URL+"/"+cr.TenantID+"/oauth2/v2.0/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {cr.ClientID}, "client_secret": {cr.ClientSecret},
		"scope": {"https://api.businesscentral.dynamics.com/.default"}})
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	err = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if err != nil || tok.AccessToken == "" {
		t.Fatalf("token: %v", err)
	}
	for range 3 {
		req, _ := http.NewRequest("GET", srv.URL+"/v2.0/"+cr.TenantID+"/"+cr.Environment+"/api/v2.0/companies", nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, err := srv.Client().Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("companies: %v %v", err, resp)
		}
		resp.Body.Close()
	}
	after := stats()
	app := strings.ToLower(cr.ClientID)
	if got := after.Apps[app].Requests - before.Apps[app].Requests; got != 3 {
		t.Errorf("app %s: %d requests counted, want 3 (%+v)", app, got, after.Apps)
	}
	if got := after.Apps[app].Resources["companies"] - before.Apps[app].Resources["companies"]; got != 3 || len(after.Apps[app].Resources) != 1 {
		t.Errorf("app %s: %d requests of the company list counted, want 3 (%v)", app, got, after.Apps[app].Resources)
	}
	if got := after.Requests - before.Requests; got != 3 {
		t.Errorf("%d BC requests counted, want 3", got)
	}
	if got := after.TokenRequests - before.TokenRequests; got != 1 {
		t.Errorf("%d token requests counted, want 1", got)
	}
	if after.Apps[app].MaxInProcess < 1 {
		t.Errorf("app %s: max in process %d", app, after.Apps[app].MaxInProcess)
	}
}
