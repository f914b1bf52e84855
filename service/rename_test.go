package service

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/emulator/emulatortest"
	"github.com/bizzjoiner/bcconnector/secret"
)

// TestCompanyRenamedInBC: a company renamed in BC keeps its ID; a connection of chosen
// companies (two, or its own only) shows the new name after its next due refresh
// (CompanyNamesEvery on the clock, not at every scheduler run), finds the company by it,
// and no longer by the old one.
func TestCompanyRenamedInBC(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	sb := emulatortest.Start(t, emulator.Config{})
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	svc, err := New(Options{Store: testDB(t), AllowEndpointOverrides: true, Now: func() time.Time { return time.Unix(0, clock.Load()) }})
	if err != nil {
		t.Fatal(err)
	}
	cr := sb.Creds
	add := func(name string, companies ...string) ConnectionView {
		t.Helper()
		v, rep, err := svc.CreateConnection(ctx, ConnectionInput{Name: name, TenantID: cr.TenantID, ClientID: cr.ClientID, Secret: secret.Secret(cr.ClientSecret),
			Environment: cr.Environment, Company: companies[0], Companies: companies,
			AuthorityHost: sb.AuthorityHost(), BCBaseURL: sb.BCBaseURL(), CAPEM: string(sb.CAPEM), Entities: []string{"customers"}})
		if err != nil {
			t.Fatalf("%v (doctor: %+v)", err, rep)
		}
		return v
	}
	two := add("two", emulator.DemoCompany, emulator.DemoCompanyUnicode)
	one := add("one", emulator.DemoCompanyUnicode)
	if len(one.Companies) != 0 {
		t.Fatalf("a connection of one company stored a list: %+v", one.Companies)
	}
	id := two.Companies[1].ID
	rename := func(name string) {
		t.Helper()
		if err := sb.RenameCompany(cr.TenantID, cr.Environment, id, name); err != nil {
			t.Fatal(err)
		}
	}
	check := func(when, want, gone string) {
		t.Helper()
		for _, v := range []ConnectionView{two, one} {
			c, err := svc.RefreshCompanies(ctx, v.ID)
			if err != nil {
				t.Fatalf("%s: refresh %s: %v", when, v.Name, err)
			}
			co, ok := c.FindCompany(want)
			if !ok || co.ID != id || co.Name != want {
				t.Errorf("%s: connection %s finds %q as %+v (%v), want company %s", when, v.Name, want, co, ok, id)
			}
			if _, ok := c.FindCompany(gone); ok {
				t.Errorf("%s: connection %s still finds the company by %q", when, v.Name, gone)
			}
			if v.Name == "one" && (len(c.Companies) != 0 || c.CompanyName != want) {
				t.Errorf("%s: connection one: companies %+v, name %q", when, c.Companies, c.CompanyName)
			}
		}
	}
	// The first refresh of a process reads the names.
	rename("Müller & Söhne's Bäckerei")
	check("the first refresh", "Müller & Söhne's Bäckerei", emulator.DemoCompanyUnicode)
	// Renamed again: not read until CompanyNamesEvery has passed.
	rename("Müller Backwaren")
	check("a refresh right after", "Müller & Söhne's Bäckerei", "Müller Backwaren")
	clock.Add(int64(CompanyNamesEvery))
	check("a refresh CompanyNamesEvery later", "Müller Backwaren", "Müller & Söhne's Bäckerei")
}
