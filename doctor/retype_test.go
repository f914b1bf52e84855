package doctor_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/bizzjoiner/bcconnector/emulator"
)

// TestRetype: the report says which value must be entered again, and its closing line
// matches: a wrong secret must be pasted again, a missing consent needs no new value.
func TestRetype(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		scenario string
		retype   []string
		closing  string
	}{
		{emulator.ScenarioSecretWrong, []string{"client secret"}, "Fix Step 3 first: enter the client secret again, then run the doctor again."},
		{emulator.ScenarioSecretIDInsteadOfValue, []string{"client secret"}, "enter the client secret again"},
		{emulator.ScenarioSecretExpired, []string{"client secret", "secret end date"}, "enter the client secret and secret end date again"},
		{emulator.ScenarioTenantUnknown, []string{"tenant ID"}, "enter the tenant ID again"},
		{emulator.ScenarioClientUnknown, []string{"client ID"}, "enter the client ID again"},
		{emulator.ScenarioEnvironmentUnknown, []string{"environment"}, "enter the environment again"},
		{emulator.ScenarioCompanyUnknown, []string{"company"}, "enter the company again"},
		{emulator.ScenarioConsentMissing, nil, "(no value needs to be entered again), then run the doctor again."},
		{emulator.ScenarioBCNoPermissions, nil, "(no value needs to be entered again)"},
		{emulator.ScenarioAppDisabled, nil, "(no value needs to be entered again)"},
		{emulator.ScenarioOK, nil, "The setup is right"},
	} {
		t.Run(tc.scenario, func(t *testing.T) {
			t.Parallel()
			rep, _, _ := diagnose(t, tc.scenario)
			if got := rep.Retype(); !slices.Equal(got, tc.retype) {
				t.Errorf("Retype() = %q, want %q", got, tc.retype)
			}
			var b bytes.Buffer
			if err := rep.WriteText(&b); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(b.String(), tc.closing) {
				t.Errorf("closing line lacks %q:\n%s", tc.closing, b.String())
			}
		})
	}
}
