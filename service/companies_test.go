package service

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/emulator/emulatortest"
	"github.com/bizzjoiner/bcconnector/guide"
	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/store/sqlite"
	"github.com/bizzjoiner/bcconnector/syncer"
)

// TestAllCompanies: a connection of "all companies" covers every company of the
// environment, its own first; a company created in BC later joins at the next refresh
// (the scheduler's run) and is synced; each company's replica is read with its name
// (& ' and spaces) or ID, and a company the connection does not have is not found,
// naming the ones it has.
func TestAllCompanies(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	sb := emulatortest.Start(t, emulator.Config{})
	db := testDB(t)
	svc, err := New(Options{Store: db, AllowEndpointOverrides: true})
	if err != nil {
		t.Fatal(err)
	}
	cr := sb.Creds
	all := true
	v, rep, err := svc.CreateConnection(ctx, ConnectionInput{TenantID: cr.TenantID, ClientID: cr.ClientID, Secret: secret.Secret(cr.ClientSecret),
		Environment: cr.Environment, Company: emulator.DemoCompanyAmpersand, AllCompanies: &all,
		AuthorityHost: sb.AuthorityHost(), BCBaseURL: sb.BCBaseURL(), CAPEM: string(sb.CAPEM), Entities: []string{"customers"}})
	if err != nil {
		t.Fatalf("%v (doctor: %+v)", err, rep)
	}
	envCompanies := sb.Companies(cr.TenantID, cr.Environment)
	if len(v.Companies) != len(envCompanies) || v.Companies[0].Name != emulator.DemoCompanyAmpersand || v.CompanyName != emulator.DemoCompanyAmpersand {
		t.Fatalf("companies = %+v, want the environment's %d, %q first", v.Companies, len(envCompanies), emulator.DemoCompanyAmpersand)
	}

	added, err := sb.AddCompany(cr.TenantID, cr.Environment, "Later & Co's Branch")
	if err != nil {
		t.Fatal(err)
	}
	c, err := svc.RefreshCompanies(ctx, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if co, ok := c.FindCompany(added); !ok || co.Name != "Later & Co's Branch" || c.Companies[0].Name != emulator.DemoCompanyAmpersand {
		t.Fatalf("after a refresh: %+v, want the company added in BC, the connection's own still first", c.Companies)
	}
	before := c.UpdatedAt
	if c, err = svc.RefreshCompanies(ctx, v.ID); err != nil || !c.UpdatedAt.Equal(before) {
		t.Errorf("a refresh with nothing new stored the connection again (%v)", err)
	}

	_, ts, err := svc.Targets(ctx, v.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != len(envCompanies)+1 {
		t.Fatalf("targets = %+v, want customers in each of %d companies", ts, len(envCompanies)+1)
	}
	sy, err := syncer.New(syncer.Options{Store: db})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := svc.Client(ctx, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range ts {
		if _, err := sy.Sync(ctx, cl, tg); err != nil {
			t.Fatalf("sync %+v: %v", tg, err)
		}
	}
	ref := emulator.CompanyRef{TenantID: cr.TenantID, Environment: cr.Environment, CompanyID: added}
	var bcIDs []string
	for row := range sb.Rows(ref, "customers") {
		bcIDs = append(bcIDs, row["id"].(string))
	}
	for _, which := range []string{added, "later & co's branch"} {
		page, err := svc.Records(ctx, v.ID, which, "customers", "", "", MaxRecordsLimit)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Records) != len(bcIDs) || !page.FullSyncDone {
			t.Errorf("records of the added company (%q): %d, want %d", which, len(page.Records), len(bcIDs))
		}
		for _, r := range page.Records {
			if !slices.ContainsFunc(bcIDs, func(id string) bool { return strings.Contains(string(r), id) }) {
				t.Fatalf("a record of another company: %s", r)
			}
		}
	}
	if _, err := svc.Record(ctx, v.ID, "", "customers", bcIDs[0]); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a record of the added company read in the connection's own: %v, want not found", err)
	}
	if _, err := svc.Records(ctx, v.ID, "Nobody Ltd", "customers", "", "", 10); !errors.Is(err, store.ErrNotFound) ||
		!strings.Contains(err.Error(), emulator.DemoCompanyAmpersand) {
		t.Errorf("an unknown company: %v, want not found naming the connection's companies", err)
	}
	got, err := svc.GetConnection(ctx, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.CompanyStatus) != len(ts) || got.CompanyCounts[added]["customers"] != int64(len(bcIDs)) {
		t.Errorf("status per company: %+v %v", got.CompanyStatus, got.CompanyCounts)
	}

	// Back to a list of two: the connection's own stays first, an unknown one is refused.
	no := false
	if _, err := svc.UpdateConnection(ctx, v.ID, ConnectionInput{AllCompanies: &no, Companies: []string{"Nobody Ltd"}}); !isFieldError(err, "companies") {
		t.Errorf("update with an unknown company: %v, want a field error on companies", err)
	}
	u, err := svc.UpdateConnection(ctx, v.ID, ConnectionInput{AllCompanies: &no, Companies: []string{emulator.DemoCompany, emulator.DemoCompanyAmpersand}})
	if err != nil {
		t.Fatal(err)
	}
	if u.AllCompanies || len(u.Companies) != 2 || u.Companies[0].Name != emulator.DemoCompanyAmpersand || u.Companies[1].Name != emulator.DemoCompany {
		t.Errorf("after the update: %v %+v", u.AllCompanies, u.Companies)
	}
}

func isFieldError(err error, field string) bool {
	var fe *guide.FieldError
	return errors.As(err, &fe) && fe.Field == field
}

// testDB opens a SQLite store in a file of the test's own, closed at its end.
func testDB(t *testing.T) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "bcc.db"), secret.GenerateKeyring(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
