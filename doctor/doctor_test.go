package doctor_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/doctor"
	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/emulator/emulatortest"
	"github.com/bizzjoiner/bcconnector/guide"
	"github.com/bizzjoiner/bcconnector/secret"
)

// diagnose runs the doctor against the emulator loaded with a scenario, with the
// credentials the admin would have handed over in that scenario.
func diagnose(t *testing.T, scenario string, writes ...string) (*doctor.Report, emulator.Credentials, *bytes.Buffer) {
	t.Helper()
	sb := emulatortest.Start(t, emulator.Config{Scenario: scenario})
	var logs bytes.Buffer
	cfg := sandboxConfig(sb)
	cfg.WriteEntities = writes
	cfg.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	start := time.Now()
	rep := doctor.Run(context.Background(), cfg)
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("doctor took %v, want under 10s", d)
	}
	return rep, sb.Creds, &logs
}

// sandboxConfig is what the admin of the sandbox's scenario hands over, with its endpoints
// and a client that trusts it.
func sandboxConfig(sb *emulatortest.Sandbox) doctor.Config {
	cr := sb.Creds
	return doctor.Config{
		Input: guide.Input{
			TenantID: cr.TenantID, ClientID: cr.ClientID, Secret: secret.Secret(cr.ClientSecret),
			SecretEndDate: cr.SecretEndDate.Format("2006-01-02"), Environment: cr.Environment, Company: cr.Company,
		},
		AuthorityHost: sb.AuthorityHost(), BCBaseURL: sb.BCBaseURL(), HTTPClient: sb.Client(),
	}
}

// TestScenarioSteps: for every scenario of PRODUCT.md the doctor names the right step.
func TestScenarioSteps(t *testing.T) {
	t.Parallel()
	cases := []struct {
		scenario string
		check    string       // the failing check
		step     guide.Step   // the step it names
		also     []guide.Step // every step named for a shared wire signal
		detail   string       // something the report must mention
	}{
		{emulator.ScenarioTenantUnknown, doctor.CheckToken, guide.Step2IDs, nil, "AADSTS90002"},
		{emulator.ScenarioTenantMalformed, doctor.CheckInput, guide.Step2IDs, nil, "neither a GUID"},
		{emulator.ScenarioClientUnknown, doctor.CheckToken, guide.Step2IDs, nil, "AADSTS700016"},
		{emulator.ScenarioSecretWrong, doctor.CheckToken, guide.Step3Secret, nil, "AADSTS7000215"},
		{emulator.ScenarioSecretIDInsteadOfValue, doctor.CheckInput, guide.Step3Secret, nil, "Secret ID"},
		{emulator.ScenarioSecretExpired, doctor.CheckInput, guide.Step3Secret, nil, "expired"},
		{emulator.ScenarioAppDisabled, doctor.CheckToken, guide.Step1Register, nil, "AADSTS7000112"},
		{emulator.ScenarioBCNotProvisioned, doctor.CheckToken, guide.Prerequisites, nil, "AADSTS500011"},
		{emulator.ScenarioPermissionDelegatedOnly, doctor.CheckRoles, guide.Step4Permissions, []guide.Step{guide.Step4Permissions, guide.Step5Consent}, "Financials.ReadWrite.All"},
		{emulator.ScenarioConsentMissing, doctor.CheckRoles, guide.Step4Permissions, []guide.Step{guide.Step4Permissions, guide.Step5Consent}, "Grant admin consent"},
		{emulator.ScenarioBCAppMissing, doctor.CheckBCAccess, guide.Step6BCAccess, nil, "Microsoft Entra Applications"},
		{emulator.ScenarioBCAppDisabled, doctor.CheckBCAccess, guide.Step6BCAccess, nil, "set State to Enabled"},
		{emulator.ScenarioBCNoPermissions, doctor.CheckReadAccess, guide.Step6BCAccess, nil, "TableData Customer"},
		{emulator.ScenarioBCPartialPermissions, doctor.CheckReadAccess, guide.Step6BCAccess, nil, "employees"},
		{emulator.ScenarioEnvironmentUnknown, doctor.CheckEnvironment, guide.ConnectionSettings, nil, "Prodution"},
		{emulator.ScenarioCompanyUnknown, doctor.CheckCompany, guide.ConnectionSettings, nil, "Fabrikam & O'Brien Ltd."},
	}
	if len(cases)+1 != len(emulator.Scenarios()) {
		t.Fatalf("%d cases for %d scenarios (+ok)", len(cases), len(emulator.Scenarios()))
	}
	for _, tc := range cases {
		t.Run(tc.scenario, func(t *testing.T) {
			t.Parallel()
			rep, cr, logs := diagnose(t, tc.scenario)
			if rep.OK || rep.FailedStep == nil || *rep.FailedStep != tc.step {
				t.Fatalf("failed step = %v, want %v\n%s", rep.FailedStep, tc.step, text(rep))
			}
			c, _ := rep.Check(tc.check)
			if c.Status != doctor.Failed || c.Fix == "" {
				t.Errorf("check %s = %+v, want failed with a fix", tc.check, c)
			}
			if tc.also != nil && !slices.Equal(c.Steps, tc.also) {
				t.Errorf("steps named = %v, want %v", c.Steps, tc.also)
			}
			out := text(rep)
			if !strings.Contains(out, tc.detail) {
				t.Errorf("report lacks %q:\n%s", tc.detail, out)
			}
			// Everything after the failing check is not checked (except the secret's end date).
			after := false
			for _, ch := range rep.Checks {
				if ch.ID == tc.check {
					after = true
					continue
				}
				if after && ch.ID != doctor.CheckSecretExpiry && ch.Status != doctor.NotChecked {
					t.Errorf("check %s after the failure has status %s", ch.ID, ch.Status)
				}
			}
			// No secret in the report or the logs.
			var js bytes.Buffer
			_ = rep.WriteJSON(&js)
			for _, where := range []string{out, js.String(), logs.String()} {
				if len(cr.ClientSecret) > 8 && strings.Contains(where, cr.ClientSecret) {
					t.Fatal("the client secret leaked into the report or the logs")
				}
			}
		})
	}
}

func TestOKReport(t *testing.T) {
	t.Parallel()
	rep, cr, _ := diagnose(t, emulator.ScenarioOK, "customers", "salesInvoices")
	if !rep.OK {
		t.Fatalf("ok scenario failed:\n%s", text(rep))
	}
	if rep.CompanyID != cr.CompanyID || rep.CompanyName != emulator.DemoCompany {
		t.Errorf("company = %s %s", rep.CompanyID, rep.CompanyName)
	}
	for _, c := range rep.Checks {
		if c.Status != doctor.Passed {
			t.Errorf("check %s: %s %s", c.ID, c.Status, c.Problem)
		}
	}
	// The JSON report is machine-readable and stable.
	var js bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(js.Bytes(), &m); err != nil || m["ok"] != true {
		t.Errorf("JSON report: %v %s", err, js.String())
	}
}

// TestWriteCheckChangesNothing: the write probe is rolled back.
func TestWriteCheckChangesNothing(t *testing.T) {
	t.Parallel()
	sb := emulatortest.Start(t, emulator.Config{})
	emu := sb.Emulator
	before := emu.Count(emu.DemoCompanyRef(), "customers")
	cfg := sandboxConfig(sb)
	cfg.Input.SecretEndDate = ""
	cfg.Entities, cfg.WriteEntities = []string{"customers"}, []string{"customers"}
	rep := doctor.Run(context.Background(), cfg)
	if c, _ := rep.Check(doctor.CheckWriteAccess); c.Status != doctor.Passed {
		t.Errorf("write check: %+v", c)
	}
	if after := emu.Count(emu.DemoCompanyRef(), "customers"); after != before {
		t.Errorf("the write probe left %d customers, want %d", after, before)
	}
	if c, _ := rep.Check(doctor.CheckSecretExpiry); c.Status != doctor.Warning {
		t.Errorf("unknown end date should warn: %+v", c)
	}
}

func text(rep *doctor.Report) string {
	var b bytes.Buffer
	_ = rep.WriteText(&b)
	return b.String()
}
