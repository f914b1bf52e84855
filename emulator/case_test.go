package emulator_test

import (
	"fmt"
	"net/url"
	"testing"

	"github.com/bizzjoiner/bcconnector/emulator"
)

// TestNameCaseRules: environment names match in any case and company names (?company=)
// only exactly by default; CaseSensitiveEnvironments and CaseInsensitiveCompanyNames turn
// each rule around (both UNCONFIRMED in BC, bc-entra-facts §4.1).
func TestNameCaseRules(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cfg           emulator.Config
		envOK, compOK bool
	}{
		{emulator.Config{}, true, false},
		{emulator.Config{CaseSensitiveEnvironments: true, CaseInsensitiveCompanyNames: true}, false, true},
	} {
		t.Run(fmt.Sprintf("%+v", tc.cfg), func(t *testing.T) {
			t.Parallel()
			e := setup(t, tc.cfg)
			base := e.srv.URL + "/v2.0/" + e.creds.TenantID + "/"
			r := e.get(base + "production/api/v2.0/companies")
			if got := r.status == 200; got != tc.envOK {
				t.Errorf("environment %q for %q: %d %s", "production", e.creds.Environment, r.status, r.body)
			}
			if !tc.envOK && (r.status != 404 || r.errorCode() != "EnvironmentNotFound") {
				t.Errorf("case-sensitive environment: %d %s, want 404 EnvironmentNotFound", r.status, r.body)
			}
			if r := e.get(base + e.creds.Environment + "/api/v2.0/companies"); r.status != 200 {
				t.Errorf("exact environment name: %d %s", r.status, r.body)
			}
			r = e.get(e.api() + "/customers?$top=1&company=" + url.QueryEscape("company x"))
			if got := r.status == 200; got != tc.compOK {
				t.Errorf("?company=company x for %q: %d %s", emulator.DemoCompany, r.status, r.body)
			}
			if r := e.get(e.api() + "/customers?$top=1&company=" + url.QueryEscape(emulator.DemoCompany)); r.status != 200 {
				t.Errorf("exact company name: %d %s", r.status, r.body)
			}
		})
	}
}
