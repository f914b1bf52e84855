package api_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/store"
)

// TestConnectionCompanies: a connection created through the API with two companies (one
// named with & ' and spaces) syncs both; the change feed filters by company (ID, or name
// with the connection), records are read per company by name or ID, the status names
// each set's company, and a company the environment lacks is refused naming the field.
func TestConnectionCompanies(t *testing.T) {
	t.Parallel()
	e := setup(t)
	in := e.input()
	in.Name, in.Companies, in.Entities = "Multi", []string{emulator.DemoCompany, emulator.DemoCompanyAmpersand}, []string{"currencies"}
	var v struct {
		ID        string
		Companies []store.Company
	}
	e.do("POST", "/connections", e.token, in, 201, &v)
	if len(v.Companies) != 2 || v.Companies[1].Name != emulator.DemoCompanyAmpersand || v.Companies[1].ID == "" {
		t.Fatalf("companies = %+v", v.Companies)
	}
	amp := v.Companies[1]
	e.do("POST", "/connections/"+v.ID+"/sync", e.token, nil, 202, nil)
	e.waitRows(v.ID, "currencies")
	e.jobs.wg.Wait()

	type page struct {
		Changes []struct{ CompanyID, EntitySet string }
	}
	var all, byID, byName page
	e.do("GET", "/changes?after=0&limit=5000", e.token, nil, 200, &all)
	e.do("GET", "/changes?after=0&limit=5000&company="+amp.ID, e.token, nil, 200, &byID)
	e.do("GET", "/changes?after=0&limit=5000&connection=Multi&company="+url.QueryEscape(amp.Name), e.token, nil, 200, &byName)
	ref := emulator.CompanyRef{TenantID: e.creds.TenantID, Environment: e.creds.Environment, CompanyID: amp.ID}
	n := e.emu.Count(ref, "currencies")
	if len(byID.Changes) != n || len(byName.Changes) != n || len(all.Changes) <= n {
		t.Errorf("company filter: %d by ID, %d by name of %d; want %d", len(byID.Changes), len(byName.Changes), len(all.Changes), n)
	}
	for _, c := range byName.Changes {
		if c.CompanyID != amp.ID {
			t.Fatalf("company=%s returned a change of %s", amp.Name, c.CompanyID)
		}
	}
	var perr problemBody
	e.do("GET", "/changes?company="+url.QueryEscape(amp.Name), e.token, nil, 400, &perr)
	if !strings.Contains(perr.Detail, "connection=") {
		t.Errorf("a company name without connection: %s", perr.Detail)
	}

	var recs struct{ Records []map[string]any }
	e.do("GET", "/connections/"+v.ID+"/entities/currencies/records?limit=1000&company="+url.QueryEscape(amp.Name), e.token, nil, 200, &recs)
	if len(recs.Records) != n {
		t.Errorf("records of %s: %d, want %d", amp.Name, len(recs.Records), n)
	}
	id := recs.Records[0]["id"].(string)
	e.do("GET", "/connections/"+v.ID+"/entities/currencies/records/"+id+"?company="+amp.ID, e.token, nil, 200, nil)
	e.do("GET", "/connections/"+v.ID+"/entities/currencies/records?company=Nobody", e.token, nil, 404, &perr)
	if !strings.Contains(perr.Detail, emulator.DemoCompanyAmpersand) {
		t.Errorf("an unknown company does not name the connection's: %s", perr.Detail)
	}

	// A write names its company like a read: it lands there, in BC and in that replica.
	var created map[string]any
	e.do("POST", "/connections/"+v.ID+"/entities/currencies/records?company="+url.QueryEscape(amp.Name), e.token,
		map[string]string{"code": "ZQX", "displayName": "O'Neil & Sons' dollar"}, 201, &created)
	newID, _ := created["id"].(string)
	own := emulator.CompanyRef{TenantID: e.creds.TenantID, Environment: e.creds.Environment, CompanyID: v.Companies[0].ID}
	if _, _, ok := e.emu.Get(ref, "currencies", newID); !ok {
		t.Errorf("the write did not land in %s", amp.Name)
	}
	if _, _, ok := e.emu.Get(own, "currencies", newID); ok {
		t.Errorf("the write landed in the connection's own company")
	}
	e.do("GET", "/connections/"+v.ID+"/entities/currencies/records/"+newID+"?company="+amp.ID, e.token, nil, 200, nil)
	e.do("GET", "/connections/"+v.ID+"/entities/currencies/records/"+newID, e.token, nil, 404, nil)
	before := e.emu.Count(own, "currencies")
	e.do("POST", "/connections/"+v.ID+"/entities/currencies/records?company=Nobody", e.token, map[string]string{"code": "ZQY"}, 404, &perr)
	if e.emu.Count(own, "currencies") != before || !strings.Contains(perr.Detail, "Nobody") {
		t.Errorf("a write to an unknown company: %s (own company %d → %d currencies)", perr.Detail, before, e.emu.Count(own, "currencies"))
	}

	var st struct {
		Sets []struct {
			CompanyID, EntitySet string
			Rows                 int64
		}
	}
	e.do("GET", "/connections/"+v.ID+"/sync", e.token, nil, 200, &st)
	if len(st.Sets) != 2 || st.Sets[0].CompanyID == st.Sets[1].CompanyID {
		t.Errorf("sync status: %+v, want currencies of each company", st.Sets)
	}
	for _, s := range st.Sets {
		if n := e.emu.Count(ref, "currencies"); s.CompanyID == amp.ID && s.Rows != int64(n) {
			t.Errorf("rows of %s = %d, want %d", amp.Name, s.Rows, n)
		}
	}

	in.Name, in.Companies = "Bad", []string{emulator.DemoCompany, "Nobody Ltd"}
	e.do("POST", "/connections", e.token, in, 422, &perr)
	if !strings.Contains(perr.Detail, "companies") || !strings.Contains(perr.Detail, "Nobody Ltd") {
		t.Errorf("an unknown company at create: %s", perr.Detail)
	}
}
