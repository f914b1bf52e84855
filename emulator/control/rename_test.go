package control_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/bizzjoiner/bcconnector/emulator"
)

// TestControlRenameCompany renames a company over the wire: the id stays, the name changes
// (by id or by the current name, with & and ' in it), and bad requests name what is wrong.
func TestControlRenameCompany(t *testing.T) {
	t.Parallel()
	emu, srv := setup(t)
	cr := emu.Credentials()
	env := "/_emulator/tenants/" + cr.TenantID + "/environments/" + cr.Environment + "/companies/"
	names := func() []string {
		var out []string
		for _, c := range emu.Companies(cr.TenantID, cr.Environment) {
			if c[0] == cr.CompanyID {
				out = append(out, c[1])
			}
		}
		return out
	}
	if st, body := post(t, srv, env+cr.CompanyID+"/rename", `{"name":"Fabrikam & O'Brien"}`); st != 204 {
		t.Fatalf("rename by id: %d %s", st, body)
	}
	if got := names(); len(got) != 1 || got[0] != "Fabrikam & O'Brien" {
		t.Fatalf("company %s is named %v after the rename", cr.CompanyID, got)
	}
	if st, body := post(t, srv, env+url.PathEscape("Fabrikam & O'Brien")+"/rename", `{"name":"`+emulator.DemoCompany+`"}`); st != 204 {
		t.Fatalf("rename by name: %d %s", st, body)
	}
	if got := names(); len(got) != 1 || got[0] != emulator.DemoCompany {
		t.Errorf("renamed back: %v", got)
	}
	for _, tc := range []struct {
		path, body string
		status     int
		says       string
	}{
		{env + cr.CompanyID + "/rename", `{"name":""}`, 400, "the new company name"},
		{env + cr.CompanyID + "/rename", `{"name":"` + strings.Repeat("x", 31) + `"}`, 400, "1 to 30 characters"},
		{env + cr.CompanyID + "/rename", `{"nom":"x"}`, 400, "the new company name"},
		{env + "Nobody/rename", `{"name":"x"}`, 404, "no company"},
		{"/_emulator/tenants/" + cr.TenantID + "/environments/Nowhere/companies/" + cr.CompanyID + "/rename", `{"name":"x"}`, 404, "no environment"},
	} {
		if st, body := post(t, srv, tc.path, tc.body); st != tc.status || !strings.Contains(body, tc.says) {
			t.Errorf("POST %s %s: %d %s, want %d naming %s", tc.path, tc.body, st, body, tc.status, tc.says)
		}
	}
	if _, err := emu.AddCompany(cr.TenantID, cr.Environment, "Second"); err != nil {
		t.Fatal(err)
	}
	if st, body := post(t, srv, env+cr.CompanyID+"/rename", `{"name":"second"}`); st != 400 || !strings.Contains(body, "already") {
		t.Errorf("rename to a taken name: %d %s", st, body)
	}
}

// TestRenameWhileListing renames a company over and over while another goroutine lists the
// companies: every name read is one of the two (whole, never torn), and under -race the
// reads and the renames do not race.
func TestRenameWhileListing(t *testing.T) {
	t.Parallel()
	emu, _ := setup(t)
	cr := emu.Credentials()
	names := []string{"Fabrikam & O'Brien", emulator.DemoCompany}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 200 {
			if err := emu.RenameCompany(cr.TenantID, cr.Environment, cr.CompanyID, names[i%2]); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for reading := true; reading; {
		select {
		case <-done:
			reading = false
		default:
		}
		for _, c := range emu.Companies(cr.TenantID, cr.Environment) {
			if c[0] == cr.CompanyID && c[1] != names[0] && c[1] != names[1] {
				t.Fatalf("company %s read as %q", c[0], c[1])
			}
		}
	}
}
