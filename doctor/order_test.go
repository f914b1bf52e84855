package doctor_test

import (
	"context"
	"strings"
	"testing"

	"github.com/bizzjoiner/bcconnector/doctor"
	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/emulator/emulatortest"
	"github.com/bizzjoiner/bcconnector/emulator/idp"
	"github.com/bizzjoiner/bcconnector/guide"
)

// diagnoseWith runs the doctor against an emulator with cfg, the admin's input changed by in.
func diagnoseWith(t *testing.T, cfg emulator.Config, in func(*guide.Input)) *doctor.Report {
	t.Helper()
	sb := emulatortest.Start(t, cfg)
	dc := sandboxConfig(sb)
	if in != nil {
		in(&dc.Input)
	}
	return doctor.Run(context.Background(), dc)
}

// TestEntraCheckOrder: a tenant without BC and a wrong client ID or secret at once. Where
// Entra checks the resource is UNCONFIRMED (bc-entra-facts §1.4); under each order the
// emulator offers, the doctor names the step of the first refusal, with its evidence, and
// when the refusal is AADSTS500011 it says that the client ID and secret are not checked yet.
func TestEntraCheckOrder(t *testing.T) {
	t.Parallel()
	noBC := emulator.ScenarioBCNotProvisioned
	for _, tc := range []struct {
		order    idp.ResourceCheck
		scenario string
		step     guide.Step
		aadsts   string
	}{
		{idp.ResourceBeforeClient, noBC + "," + emulator.ScenarioSecretWrong, guide.Prerequisites, "AADSTS500011"},
		{idp.ResourceBeforeClient, noBC + "," + emulator.ScenarioClientUnknown, guide.Prerequisites, "AADSTS500011"},
		{idp.ResourceBeforeSecret, noBC + "," + emulator.ScenarioSecretWrong, guide.Prerequisites, "AADSTS500011"},
		{idp.ResourceBeforeSecret, noBC + "," + emulator.ScenarioClientUnknown, guide.Step2IDs, "AADSTS700016"},
		{idp.ResourceLast, noBC + "," + emulator.ScenarioSecretWrong, guide.Step3Secret, "AADSTS7000215"},
		{idp.ResourceLast, noBC + "," + emulator.ScenarioClientUnknown, guide.Step2IDs, "AADSTS700016"},
		{idp.ResourceLast, noBC, guide.Prerequisites, "AADSTS500011"},
	} {
		t.Run(string(tc.order)+"/"+tc.scenario, func(t *testing.T) {
			t.Parallel()
			rep := diagnoseWith(t, emulator.Config{Scenario: tc.scenario, Entra: emulator.EntraOptions{ResourceCheck: tc.order}}, nil)
			if rep.FailedStep == nil || *rep.FailedStep != tc.step {
				t.Fatalf("failed step %v, want %v:\n%s", rep.FailedStep, tc.step, text(rep))
			}
			c, _ := rep.Check(doctor.CheckToken)
			out := text(rep)
			if c.Status != doctor.Failed || !strings.Contains(out, tc.aadsts) {
				t.Errorf("token check %s, want failed with %s:\n%s", c.Status, tc.aadsts, out)
			}
			if tc.step == guide.Prerequisites {
				for _, want := range []string{"client ID and the secret", "not checked yet", "Entra calls it \"Contoso\""} {
					if !strings.Contains(c.Problem+c.Fix, want) {
						t.Errorf("500011 advice lacks %q: %s / %s", want, c.Problem, c.Fix)
					}
				}
			}
		})
	}
}

// TestEnvironmentNameCase: the environment typed in another case passes where BC compares
// names in any case, and where it compares them exactly (an UNCONFIRMED emulator choice) the
// doctor names the connection settings and the name in its exact case.
func TestEnvironmentNameCase(t *testing.T) {
	t.Parallel()
	lower := func(in *guide.Input) { in.Environment = strings.ToLower(in.Environment) }
	if rep := diagnoseWith(t, emulator.Config{}, lower); !rep.OK {
		t.Errorf("environment in lower case, BC comparing in any case: not OK:\n%s", text(rep))
	}
	rep := diagnoseWith(t, emulator.Config{CaseSensitiveEnvironments: true}, lower)
	c, _ := rep.Check(doctor.CheckEnvironment)
	if rep.FailedStep == nil || *rep.FailedStep != guide.ConnectionSettings || c.Status != doctor.Failed {
		t.Fatalf("case-sensitive BC: failed step %v, environment %s:\n%s", rep.FailedStep, c.Status, text(rep))
	}
	if !strings.Contains(c.Problem, `is it "Production"?`) || !strings.Contains(c.Fix, "upper and lower case") {
		t.Errorf("environment advice does not point at the case: %s / %s", c.Problem, c.Fix)
	}
}

// TestCompanyNameCase: the doctor finds the company in BC's list and pins its ID, so BC's
// rule for company names in URLs (an UNCONFIRMED emulator choice) does not change the
// diagnosis: a name typed in another case is named with its exact spelling either way.
func TestCompanyNameCase(t *testing.T) {
	t.Parallel()
	for _, anyCase := range []bool{false, true} {
		rep := diagnoseWith(t, emulator.Config{CaseInsensitiveCompanyNames: anyCase}, func(in *guide.Input) { in.Company = strings.ToUpper(in.Company) })
		c, _ := rep.Check(doctor.CheckCompany)
		if c.Status != doctor.Failed || !strings.Contains(c.Fix, `did you mean "`+emulator.DemoCompany+`"?`) {
			t.Errorf("company names in any case %v: %s %q / %q", anyCase, c.Status, c.Problem, c.Fix)
		}
	}
}
