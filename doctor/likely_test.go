package doctor_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/bizzjoiner/bcconnector/doctor"
	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/emulator/emulatortest"
	"github.com/bizzjoiner/bcconnector/emulator/idp"
	"github.com/bizzjoiner/bcconnector/guide"
)

// TestRolesLeadWithLikelierStep: a token without API.ReadWrite.All fits Step 4 (permission
// absent) and Step 5 (present, not consented). Without any roles the guide's own Step 4 trap
// is the likelier cause; with other application roles consent was evidently granted, so the
// permission is most likely absent. Both name both steps and how the portal tells them apart.
func TestRolesLeadWithLikelierStep(t *testing.T) {
	t.Parallel()
	for _, scenario := range []string{emulator.ScenarioConsentMissing, emulator.ScenarioPermissionDelegatedOnly} {
		rep, _, _ := diagnose(t, scenario)
		c, _ := rep.Check(doctor.CheckRoles)
		if !strings.Contains(c.Problem, "Most likely Step 4") || !strings.Contains(c.Problem, "otherwise Step 5") {
			t.Errorf("%s: %q, want Step 4 first, then Step 5", scenario, c.Problem)
		}
		if !strings.Contains(c.Fix, "is absent") || !strings.Contains(c.Fix, "is listed but its Status is not 'Granted") {
			t.Errorf("%s: the fix does not say how to tell absent from not consented: %s", scenario, c.Fix)
		}
	}

	// The app has Automation.ReadWrite.All, consented, but not API.ReadWrite.All.
	sb := emulatortest.Start(t, emulator.Config{})
	err := sb.Emulator.Directory().UpdateApp(sb.Creds.TenantID, sb.Creds.ClientID, func(a *idp.App) {
		a.Permissions = []idp.Permission{{Resource: idp.BCResourceID, Value: idp.RoleAutomationReadWriteAll, Type: idp.Application, Consented: true}}
	})
	if err != nil {
		t.Fatal(err)
	}
	rep := doctor.Run(context.Background(), sandboxConfig(sb))
	c, _ := rep.Check(doctor.CheckRoles)
	if c.Status != doctor.Failed || !slices.Equal(c.Steps, []guide.Step{guide.Step4Permissions, guide.Step5Consent}) ||
		!strings.Contains(c.Problem, "admin consent was granted") || !strings.Contains(c.Problem, "most likely API.ReadWrite.All is not among them (Step 4)") {
		t.Errorf("roles without API.ReadWrite.All: %s %v %q", c.Status, c.Steps, c.Problem)
	}
}

// TestClientUnknownComparesDirectory: AADSTS700016 names the directory Entra looked in; the
// doctor compares it with the tenant typed before leading with the client ID or the tenant,
// and says how to tell them apart.
func TestClientUnknownComparesDirectory(t *testing.T) {
	t.Parallel()
	sb := emulatortest.Start(t, emulator.Config{})
	dir := sb.Emulator.Directory()
	// Two more tenants with BC but without the app: one nobody renamed, one whose domain
	// does not look like its name.
	for _, tn := range []idp.Tenant{
		{ID: "5c6e3f2a-8b1d-4e7f-9a0c-1d2e3f4a5b6c", Domains: []string{"fabrikam.com"}, DisplayName: "Default Directory", HasBC: true},
		{ID: "6d7f4a3b-9c2e-4f80-8b1d-2e3f4a5b6c7d", Domains: []string{"fourthcoffee.com"}, DisplayName: "Woodgrove Bank", HasBC: true},
	} {
		if err := dir.AddTenant(tn); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name, tenant, client string
		tenantFirst          bool
		mentions             string
	}{
		{"client ID wrong", "", "0f0e0d0c-0b0a-4909-8807-060504030201", false, `"Contoso"`},
		{"tenant nobody renamed", "fabrikam.com", "", true, "Default Directory"},
		{"domain of another organisation", "fourthcoffee.com", "", true, `"Woodgrove Bank"`},
		{"domain of its own organisation", "northwind.onmicrosoft.com", "", false, `"Northwind Traders"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := sandboxConfig(sb)
			if tc.tenant != "" {
				cfg.Input.TenantID = tc.tenant
			}
			if tc.client != "" {
				cfg.Input.ClientID = tc.client
			}
			rep := doctor.Run(context.Background(), cfg)
			c, _ := rep.Check(doctor.CheckToken)
			if rep.FailedStep == nil || *rep.FailedStep != guide.Step2IDs || c.Evidence == nil || !slices.Contains(c.Evidence.AADSTS, 700016) {
				t.Fatalf("failed step %v, evidence %+v:\n%s", rep.FailedStep, c.Evidence, text(rep))
			}
			lead, retype := "most likely the client ID is wrong", "client ID"
			if tc.tenantFirst {
				lead, retype = "most likely the tenant ID is wrong", "tenant ID"
			}
			if !strings.Contains(c.Problem, lead) || !strings.Contains(c.Problem, tc.mentions) || !slices.Equal(c.Retype, []string{retype}) {
				t.Errorf("problem %q, retype %v: want %q naming %s, retype %s", c.Problem, c.Retype, lead, tc.mentions, retype)
			}
			if !strings.Contains(c.Fix, "To tell which") || !strings.Contains(c.Fix, "Directory (tenant) ID") {
				t.Errorf("fix does not say how to tell the two apart: %s", c.Fix)
			}
		})
	}
}
