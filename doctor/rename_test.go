package doctor_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/bizzjoiner/bcconnector/doctor"
	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/emulator/control"
	"github.com/bizzjoiner/bcconnector/emulator/emulatortest"
	"github.com/bizzjoiner/bcconnector/guide"
)

// TestFaultsThroughAdminSurface: a harness combines faults in a running emulator over its
// admin surface (emulator/control): the BC app disabled (Step 6) and the company renamed
// (connection settings). The doctor names Step 6 first with the company "not checked yet";
// once the harness registers the app again, it names the company, listing the renamed one.
func TestFaultsThroughAdminSurface(t *testing.T) {
	t.Parallel()
	var ctl http.Handler
	sb := emulatortest.Start(t, emulator.Config{}, emulatortest.Wrap(func(emu http.Handler) http.Handler {
		mux := http.NewServeMux()
		mux.HandleFunc(control.Prefix, func(w http.ResponseWriter, r *http.Request) { ctl.ServeHTTP(w, r) })
		mux.Handle("/", emu)
		return mux
	}))
	ctl = control.Handler(sb.Emulator, nil)
	cr := sb.Creds
	admin := func(path, body string) {
		t.Helper()
		resp, err := sb.Client().Post(sb.URL+control.Prefix+"tenants/"+cr.TenantID+"/environments/"+cr.Environment+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if b, _ := io.ReadAll(resp.Body); resp.StatusCode != http.StatusNoContent {
			t.Fatalf("admin %s: %d %s", path, resp.StatusCode, b)
		}
	}
	admin("/apps/"+cr.ClientID+"/disable", "")
	admin("/companies/"+cr.CompanyID+"/rename", `{"name":"Company X Holding"}`)

	rep := doctor.Run(context.Background(), sandboxConfig(sb))
	access, _ := rep.Check(doctor.CheckBCAccess)
	company, _ := rep.Check(doctor.CheckCompany)
	if rep.FailedStep == nil || *rep.FailedStep != guide.Step6BCAccess || access.Status != doctor.Failed {
		t.Fatalf("BC app disabled and company renamed: failed step %v:\n%s", rep.FailedStep, text(rep))
	}
	if company.Status != doctor.NotChecked || !strings.HasPrefix(company.Problem, "not checked yet: ") {
		t.Errorf("company check %s %q, want not checked yet", company.Status, company.Problem)
	}

	admin("/apps/"+cr.ClientID, `{"permissionSets":["D365 BUS FULL ACCESS"]}`) // Step 6 done again
	rep = doctor.Run(context.Background(), sandboxConfig(sb))
	company, _ = rep.Check(doctor.CheckCompany)
	if rep.FailedStep == nil || *rep.FailedStep != guide.ConnectionSettings || company.Status != doctor.Failed {
		t.Fatalf("company renamed: failed step %v:\n%s", rep.FailedStep, text(rep))
	}
	if !strings.Contains(company.Problem, `no company "`+emulator.DemoCompany+`"`) || !strings.Contains(strings.Join(company.Details, "\n"), "Company X Holding (id "+cr.CompanyID+")") {
		t.Errorf("company advice %q %v, want the old name missing and the renamed company listed", company.Problem, company.Details)
	}
}
