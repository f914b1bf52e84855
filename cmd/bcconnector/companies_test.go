package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/store"
)

// TestCLISeveralCompanies: one connection covers two companies of the environment (one
// named with & ' and spaces), `sync` fills the replica of each from its own company, the
// change log names the company of every entry and `status` shows both; `connection
// update --all-companies` adds every other company of the environment, also one created
// in BC after the connection was added.
func TestCLISeveralCompanies(t *testing.T) {
	e := newCLIEnv(t, emulator.ScenarioOK)
	if code, out, errOut := e.add("contoso", "--company", emulator.DemoCompanyAmpersand); code != 0 {
		t.Fatalf("add: %s %s", out, errOut)
	}
	cr := e.srv.Credentials()
	ids := map[string]string{} // name → id
	for _, c := range e.srv.Companies(cr.TenantID, cr.Environment) {
		ids[c[1]] = c[0]
	}
	code, out, _ := e.run("", "connection", "show", "contoso", "--json")
	var shown struct{ Connection store.Connection }
	if err := json.Unmarshal([]byte(out), &shown); code != 0 || err != nil {
		t.Fatalf("show: %d %v %s", code, err, out)
	}
	want := []store.Company{{ID: ids[emulator.DemoCompany], Name: emulator.DemoCompany}, {ID: ids[emulator.DemoCompanyAmpersand], Name: emulator.DemoCompanyAmpersand}}
	if got := shown.Connection.Companies; len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("companies stored = %+v, want %+v", got, want)
	}

	code, out, errOut := e.run("", "sync", "contoso", "--entities", "customers")
	if code != 0 {
		t.Fatalf("sync: %d %s %s", code, out, errOut)
	}
	for _, name := range []string{emulator.DemoCompany, emulator.DemoCompanyAmpersand} {
		ref := emulator.CompanyRef{TenantID: cr.TenantID, Environment: cr.Environment, CompanyID: ids[name]}
		n := e.srv.Count(ref, "customers")
		line := fmt.Sprintf(`(?m)^customers \[%s\] +full +%d records read; replica: %d new, 0 changed`, regexp.QuoteMeta(name), n, n)
		if !regexp.MustCompile(line).MatchString(errOut) {
			t.Errorf("sync output lacks %q:\n%s", line, errOut)
		}
	}
	_, out, _ = e.run("", "status", "contoso")
	if !strings.Contains(out, "COMPANY") || !strings.Contains(out, emulator.DemoCompanyAmpersand) || !strings.Contains(out, emulator.DemoCompany) {
		t.Errorf("status does not show each company:\n%s", out)
	}
	_, out, _ = e.run("", "changes", "--after", "0", "--limit", "100000")
	per := map[string]int{}
	for line := range strings.SplitSeq(strings.TrimSpace(out), "\n") {
		var ch store.Change
		if err := json.Unmarshal([]byte(line), &ch); err != nil {
			t.Fatalf("change %q: %v", line, err)
		}
		per[ch.CompanyID]++
	}
	for _, name := range []string{emulator.DemoCompany, emulator.DemoCompanyAmpersand} {
		ref := emulator.CompanyRef{TenantID: cr.TenantID, Environment: cr.Environment, CompanyID: ids[name]}
		if per[ids[name]] != e.srv.Count(ref, "customers") {
			t.Errorf("change log entries of %s = %d, want %d", name, per[ids[name]], e.srv.Count(ref, "customers"))
		}
	}

	// "All companies" takes in every company of the environment, also one added later.
	added, err := e.srv.AddCompany(cr.TenantID, cr.Environment, "New Co & Sons' Branch")
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut = e.run("", "connection", "update", "contoso", "--all-companies")
	if code != 0 || !strings.Contains(out, "all companies") || !strings.Contains(out, "New Co & Sons' Branch ("+added+")") {
		t.Fatalf("update --all-companies: %d %s %s", code, out, errOut)
	}
	if n := len(e.srv.Companies(cr.TenantID, cr.Environment)); strings.Count(out, "; ") != n {
		t.Errorf("update --all-companies lists %d companies, the environment has %d: %s", strings.Count(out, "; "), n, out)
	}
	code, out, errOut = e.run("", "connection", "update", "contoso", "--no-all-companies", "--company", "company x", "--company", "Nobody Ltd")
	if code == 0 || !strings.Contains(errOut, `no company "Nobody Ltd"`) || !strings.Contains(errOut, emulator.DemoCompanyAmpersand) {
		t.Errorf("an unknown company: %d %s %s, want an error naming it and the environment's companies", code, out, errOut)
	}

	// The schedule: the connection's interval and quiet window, a set's own interval.
	code, out, errOut = e.run("", "connection", "update", "contoso", "--interval", "15m", "--quiet", "22:00-6:00", "--time-zone", "Europe/Berlin",
		"--set-interval", "customers=6h")
	if want := "schedule every 15m, quiet 22:00–06:00 Europe/Berlin; customers every 6h."; code != 0 || !strings.Contains(out, want) {
		t.Errorf("update the schedule: %d %s %s, want %q", code, out, errOut, want)
	}
	code, out, errOut = e.run("", "connection", "update", "contoso", "--quiet", "22:00-06:00", "--time-zone", "Berlin")
	if code == 0 || !strings.Contains(errOut, "schedule.quiet.timeZone") || !strings.Contains(errOut, "Europe/Berlin") {
		t.Errorf("a bad time zone: %d %s %s, want an error naming the field and an example", code, out, errOut)
	}
	code, out, _ = e.run("", "connection", "update", "contoso", "--interval", "default", "--quiet", "none", "--set-interval", "customers=default")
	if code != 0 || !strings.Contains(out, "schedule serve's --interval.") {
		t.Errorf("back to the default schedule: %d %s", code, out)
	}
}
