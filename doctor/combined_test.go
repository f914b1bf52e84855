package doctor_test

import (
	"strings"
	"testing"

	"github.com/bizzjoiner/bcconnector/doctor"
	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/guide"
)

// TestSeveralFaults: with more than one step wrong (emulator scenarios "a,b"), the doctor
// names the earliest failing step in guide order with its evidence, and each later check is
// "not checked yet" with what the earlier failure keeps it from checking.
func TestSeveralFaults(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		scenarios string
		check     string     // the failed check
		step      guide.Step // the step named first
		evidence  string     // in the failed check's evidence or problem
		later     []string   // checks reported not checked yet
	}{
		{emulator.ScenarioSecretWrong + "," + emulator.ScenarioConsentMissing, doctor.CheckToken, guide.Step3Secret, "AADSTS7000215",
			[]string{doctor.CheckRoles, doctor.CheckBCAccess, doctor.CheckEnvironment, doctor.CheckCompany, doctor.CheckReadAccess}},
		{emulator.ScenarioConsentMissing + "," + emulator.ScenarioBCNoPermissions, doctor.CheckRoles, guide.Step4Permissions, "roles",
			[]string{doctor.CheckBCAccess, doctor.CheckEnvironment, doctor.CheckCompany, doctor.CheckReadAccess}},
		{emulator.ScenarioBCAppDisabled + "," + emulator.ScenarioCompanyUnknown, doctor.CheckBCAccess, guide.Step6BCAccess, "401",
			[]string{doctor.CheckEnvironment, doctor.CheckCompany, doctor.CheckReadAccess}},
		// Two wrong values typed: the environment (connection settings) comes after Step 3
		// in the guide, so the expired secret is named first.
		{emulator.ScenarioEnvironmentUnknown + "," + emulator.ScenarioSecretExpired, doctor.CheckInput, guide.Step3Secret, "expired",
			[]string{doctor.CheckToken, doctor.CheckRoles}},
		{emulator.ScenarioAppDisabled + "," + emulator.ScenarioBCAppMissing + "," + emulator.ScenarioCompanyUnknown, doctor.CheckToken, guide.Step1Register, "AADSTS7000112",
			[]string{doctor.CheckRoles, doctor.CheckBCAccess, doctor.CheckCompany}},
	} {
		t.Run(tc.scenarios, func(t *testing.T) {
			t.Parallel()
			rep, _, _ := diagnose(t, tc.scenarios)
			if rep.OK || rep.FailedStep == nil || *rep.FailedStep != tc.step {
				t.Fatalf("failed step %v, want %v:\n%s", rep.FailedStep, tc.step, text(rep))
			}
			c, _ := rep.Check(tc.check)
			if c.Status != doctor.Failed || !strings.Contains(text(rep), tc.evidence) {
				t.Errorf("%s: %s, want failed with %q:\n%s", tc.check, c.Status, tc.evidence, text(rep))
			}
			for _, id := range tc.later {
				l, _ := rep.Check(id)
				if l.Status != doctor.NotChecked || !strings.HasPrefix(l.Problem, "not checked yet: ") {
					t.Errorf("%s: %s %q, want not checked yet with a reason", id, l.Status, l.Problem)
				}
			}
			if l, _ := rep.Check(tc.later[0]); !strings.Contains(l.Problem, c.Title) {
				t.Errorf("%s does not name what blocks it (%q): %q", tc.later[0], c.Title, l.Problem)
			}
		})
	}
}
