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
	code, out, errOut = e.run("", "connection", "update", "contoso", "--set-quiet", "customers=1:00-05:00 Asia/Tokyo")
	if want := "customers every 6h, quiet 01:00–05:00 Asia/Tokyo."; code != 0 || !strings.Contains(out, want) {
		t.Errorf("a set's own quiet window: %d %s %s, want %q", code, out, errOut, want)
	}
	code, out, errOut = e.run("", "connection", "update", "contoso", "--set-quiet", "customers=01:00-05:00 Tokyo")
	if code == 0 || !strings.Contains(errOut, "setSchedules.customers.quiet.timeZone") {
		t.Errorf("a set's bad time zone: %d %s %s, want an error naming the field", code, out, errOut)
	}
	code, out, errOut = e.run("", "connection", "update", "contoso", "--set-quiet", "customers=01:00-05:00")
	if code == 0 || !strings.Contains(errOut, "--set-quiet") || !strings.Contains(errOut, "HH:MM-HH:MM ZONE") {
		t.Errorf("a set's window without a zone: %d %s %s, want an error naming the flag and the form", code, out, errOut)
	}
	code, out, _ = e.run("", "connection", "update", "contoso", "--interval", "default", "--quiet", "none", "--set-interval", "customers=default", "--set-quiet", "customers=none")
	if code != 0 || !strings.Contains(out, "schedule serve's --interval.") {
		t.Errorf("back to the default schedule: %d %s", code, out)
	}
}

// TestCLIDataCommandsCompany: `get`, `create`, `update`, `delete` and `action` take
// --company with a name of & ' and spaces: the write lands in that company in BC, its
// replica and change log (not the connection's own company's), and a company the
// connection does not cover is refused naming the flag, the companies it covers and the
// fix.
func TestCLIDataCommandsCompany(t *testing.T) {
	e := newCLIEnv(t, emulator.ScenarioOK)
	if code, out, errOut := e.add("contoso", "--company", emulator.DemoCompanyAmpersand, "--write-entities", "customers,salesInvoices"); code != 0 {
		t.Fatalf("add: %s %s", out, errOut)
	}
	cr := e.srv.Credentials()
	ids := map[string]string{}
	for _, c := range e.srv.Companies(cr.TenantID, cr.Environment) {
		ids[c[1]] = c[0]
	}
	own := emulator.CompanyRef{TenantID: cr.TenantID, Environment: cr.Environment, CompanyID: ids[emulator.DemoCompany]}
	other := emulator.CompanyRef{TenantID: cr.TenantID, Environment: cr.Environment, CompanyID: ids[emulator.DemoCompanyAmpersand]}
	if code, out, errOut := e.run("", "sync", "contoso", "--entities", "customers"); code != 0 {
		t.Fatalf("sync: %s %s", out, errOut)
	}
	changes := func(id string) []store.Change {
		t.Helper()
		_, out, _ := e.run("", "changes", "--after", "0", "--limit", "100000")
		var got []store.Change
		for line := range strings.SplitSeq(strings.TrimSpace(out), "\n") {
			var ch store.Change
			if json.Unmarshal([]byte(line), &ch) == nil && ch.ID == id {
				got = append(got, ch)
			}
		}
		return got
	}
	ownBefore, otherBefore := e.srv.Count(own, "customers"), e.srv.Count(other, "customers")
	co := "--company=" + emulator.DemoCompanyAmpersand
	code, out, errOut := e.run("", "create", "contoso", "customers", co, "--data", `{"displayName":"O'Neil & Co"}`)
	var rec struct{ ID string }
	if code != 0 || json.Unmarshal([]byte(out), &rec) != nil || rec.ID == "" {
		t.Fatalf("create --company: %d %s %s", code, out, errOut)
	}
	if _, _, ok := e.srv.Get(other, "customers", rec.ID); !ok || e.srv.Count(other, "customers") != otherBefore+1 || e.srv.Count(own, "customers") != ownBefore {
		t.Fatalf("create --company %q: the record is not in that company alone (own %d→%d, other %d→%d)", emulator.DemoCompanyAmpersand,
			ownBefore, e.srv.Count(own, "customers"), otherBefore, e.srv.Count(other, "customers"))
	}
	if got := changes(rec.ID); len(got) != 1 || got[0].Op != store.OpInsert || got[0].CompanyID != other.CompanyID {
		t.Fatalf("after create the change log has %+v, want one insert in company %s", got, other.CompanyID)
	}
	// By ID, in another case, the same company.
	if code, out, errOut = e.run("", "get", "contoso", "customers", "--company", strings.ToUpper(other.CompanyID), "--id", rec.ID); code != 0 || !strings.Contains(out, `O'Neil & Co`) {
		t.Fatalf("get --company ID: %d %s %s", code, out, errOut)
	}
	if code, out, _ = e.run("", "get", "contoso", "customers", "--id", rec.ID); code == 0 {
		t.Fatalf("get without --company found the other company's record: %s", out)
	}
	if code, out, errOut = e.run("", "update", "contoso", "customers", rec.ID, co, "--data", `{"displayName":"O'Neil & Sons"}`); code != 0 {
		t.Fatalf("update --company: %s %s", out, errOut)
	}
	if row, _, _ := e.srv.Get(other, "customers", rec.ID); row["displayName"] != "O'Neil & Sons" {
		t.Fatalf("after update BC has %v", row["displayName"])
	}
	if code, out, errOut = e.run("", "delete", "contoso", "customers", rec.ID, co); code != 0 {
		t.Fatalf("delete --company: %s %s", out, errOut)
	}
	var ops []string
	for _, ch := range changes(rec.ID) {
		if ch.CompanyID != other.CompanyID {
			t.Errorf("change %+v is not in company %s", ch, other.CompanyID)
		}
		ops = append(ops, string(ch.Op))
	}
	if strings.Join(ops, ",") != "insert,update,delete" {
		t.Errorf("the change log of the record: %v, want insert,update,delete", ops)
	}
	if _, _, ok := e.srv.Get(other, "customers", rec.ID); ok {
		t.Error("delete --company: BC still has the record")
	}

	// A bound action in the other company: post one of its draft invoices.
	var draft string
	for row := range e.srv.Rows(other, "salesInvoices") {
		if row["status"] == "Draft" {
			draft, _ = row["id"].(string)
			break
		}
	}
	if draft == "" {
		t.Fatal("the other company has no draft invoice to post")
	}
	if code, out, errOut = e.run("", "action", "contoso", "salesInvoices", draft, "post", co); code != 0 {
		t.Fatalf("action --company: %s %s", out, errOut)
	}
	if row, _, _ := e.srv.Get(other, "salesInvoices", draft); row["status"] == "Draft" {
		t.Errorf("action --company: the invoice is still a draft: %v", row["status"])
	}

	// A company the connection does not cover.
	code, out, errOut = e.run("", "get", "contoso", "customers", "--company", "Nobody & Sons' Ltd")
	for _, want := range []string{`--company "Nobody & Sons' Ltd"`, "does not cover", fmt.Sprintf("%q", emulator.DemoCompany), fmt.Sprintf("%q", emulator.DemoCompanyAmpersand),
		"bcconnector connection update contoso", `--company 'Nobody & Sons'\'' Ltd'`} {
		if code == 0 || !strings.Contains(errOut, want) {
			t.Errorf("an uncovered company: %d %s %s, want %q in the error", code, out, errOut, want)
		}
	}
}
