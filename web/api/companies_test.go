package api_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/service"
	"github.com/bizzjoiner/bcconnector/store"
)

// TestConnectionCompanies: a connection created through the API with two companies (one
// named with & ' and spaces) syncs both; the change feed filters by company (ID, or name
// with the connection), records are read per company by name or ID, the status names
// each set's company, and a company the environment lacks is refused naming the field.
func TestConnectionCompanies(t *testing.T) {
	t.Parallel()
	e := setup(t)
	in, v := e.twoCompanies("Multi")
	amp := v.Companies[1]

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
			CompanyID, CompanyName, EntitySet string
			Rows                              int64
		}
	}
	e.do("GET", "/connections/"+v.ID+"/sync", e.token, nil, 200, &st)
	if len(st.Sets) != 2 || st.Sets[0].CompanyID == st.Sets[1].CompanyID {
		t.Errorf("sync status: %+v, want currencies of each company", st.Sets)
	}
	for _, s := range st.Sets {
		if want := v.Companies[slices.IndexFunc(v.Companies, func(co store.Company) bool { return co.ID == s.CompanyID })].Name; s.CompanyName != want {
			t.Errorf("sync status of company %s names it %q, want %q", s.CompanyID, s.CompanyName, want)
		}
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

// TestBatchCompany: a $batch names one of the connection's companies with the company
// parameter (a name of & ' and spaces): its URLs are relative to that company, its
// writes land there in BC and in that company's replica and change feed at once; a
// company the connection does not cover answers 404 naming its companies, and nothing
// reaches BC.
func TestBatchCompany(t *testing.T) {
	t.Parallel()
	e := setup(t)
	_, v := e.twoCompanies("MultiBatch")
	amp := v.Companies[1]
	ref := emulator.CompanyRef{TenantID: e.creds.TenantID, Environment: e.creds.Environment, CompanyID: amp.ID}
	own := emulator.CompanyRef{TenantID: e.creds.TenantID, Environment: e.creds.Environment, CompanyID: v.Companies[0].ID}
	var last struct{ Next int64 }
	e.do("GET", "/changes?after=0&limit=5000", e.token, nil, 200, &last)

	batch := map[string]any{"requests": []map[string]any{
		{"id": "a", "method": "POST", "url": "currencies", "body": map[string]string{"code": "ZQB", "displayName": "O'Neil & Sons' batch"}},
		{"id": "b", "method": "GET", "url": "currencies"},
	}}
	var out struct {
		Responses []struct {
			ID     string
			Status int
			Body   json.RawMessage
		}
	}
	ownBefore := e.emu.Count(own, "currencies")
	e.do("POST", "/connections/"+v.ID+"/$batch?company="+url.QueryEscape(amp.Name), e.token, batch, 200, &out)
	if len(out.Responses) != 2 || out.Responses[0].Status != 201 || out.Responses[1].Status != 200 {
		t.Fatalf("batch responses: %+v", out.Responses)
	}
	var created struct{ ID string }
	if err := json.Unmarshal(out.Responses[0].Body, &created); err != nil || created.ID == "" {
		t.Fatalf("created: %s %v", out.Responses[0].Body, err)
	}
	var listed struct{ Value []map[string]any }
	_ = json.Unmarshal(out.Responses[1].Body, &listed)
	if len(listed.Value) != e.emu.Count(ref, "currencies") {
		t.Errorf("the batch's GET read %d currencies, %s has %d", len(listed.Value), amp.Name, e.emu.Count(ref, "currencies"))
	}
	if _, _, ok := e.emu.Get(ref, "currencies", created.ID); !ok || e.emu.Count(own, "currencies") != ownBefore {
		t.Fatalf("the batch's create did not land in %s alone", amp.Name)
	}
	// Applied at once: the record is in that company's replica and the change feed.
	e.do("GET", "/connections/"+v.ID+"/entities/currencies/records/"+created.ID+"?company="+url.QueryEscape(amp.Name), e.token, nil, 200, nil)
	var feed struct {
		Changes []struct{ CompanyID, EntitySet, ID, Op string }
	}
	e.do("GET", fmt.Sprintf("/changes?after=%d&limit=5000", last.Next), e.token, nil, 200, &feed)
	found := false
	for _, c := range feed.Changes {
		if c.ID == created.ID {
			found = c.CompanyID == amp.ID && c.Op == "insert"
		}
	}
	if !found {
		t.Errorf("the change feed has no insert of %s in %s: %+v", created.ID, amp.ID, feed.Changes)
	}

	// A company the connection does not cover: 404 naming its companies, nothing sent.
	var perr problemBody
	before := e.emu.Count(ref, "currencies") + e.emu.Count(own, "currencies")
	batch["requests"] = []map[string]any{{"id": "a", "method": "POST", "url": "currencies", "body": map[string]string{"code": "ZQC"}}}
	e.do("POST", "/connections/"+v.ID+"/$batch?company="+url.QueryEscape("Nobody & Sons' Ltd"), e.token, batch, 404, &perr)
	if !strings.Contains(perr.Detail, "Nobody & Sons' Ltd") || !strings.Contains(perr.Detail, emulator.DemoCompanyAmpersand) {
		t.Errorf("an uncovered company: %s", perr.Detail)
	}
	if after := e.emu.Count(ref, "currencies") + e.emu.Count(own, "currencies"); after != before {
		t.Errorf("a batch to an uncovered company reached BC: %d → %d currencies", before, after)
	}
}

// multiConn is a connection of several companies as the API shows it.
type multiConn struct {
	ID        string
	Companies []store.Company
}

// twoCompanies creates a connection of the demo company and the one named with & ' and
// spaces, syncing currencies, and waits for its first sync.
func (e *env) twoCompanies(name string) (service.ConnectionInput, multiConn) {
	e.t.Helper()
	in := e.input()
	in.Name, in.Companies, in.Entities = name, []string{emulator.DemoCompany, emulator.DemoCompanyAmpersand}, []string{"currencies"}
	var v multiConn
	e.do("POST", "/connections", e.token, in, 201, &v)
	if len(v.Companies) != 2 || v.Companies[1].Name != emulator.DemoCompanyAmpersand || v.Companies[1].ID == "" {
		e.t.Fatalf("companies = %+v", v.Companies)
	}
	e.do("POST", "/connections/"+v.ID+"/sync", e.token, nil, 202, nil)
	e.waitRows(v.ID, "currencies")
	e.jobs.wg.Wait()
	return in, v
}
