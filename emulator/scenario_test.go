package emulator_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/bizzjoiner/bcconnector/emulator"
)

// TestScenarios loads each setup scenario of PRODUCT.md and checks the wire answer of its
// row: the AADSTS code from Entra (through azidentity, as the connector will see it), or
// BC's status and error code.
func TestScenarios(t *testing.T) {
	t.Parallel()
	cases := []struct {
		scenario string
		aadsts   string // expected in the token error; "" = token issued
		status   int    // BC status for GET companies (when a token is issued)
		code     string // BC error code
	}{
		{emulator.ScenarioOK, "", 200, ""},
		{emulator.ScenarioTenantUnknown, "AADSTS90002", 0, ""},
		{emulator.ScenarioTenantMalformed, "AADSTS900023", 0, ""},
		{emulator.ScenarioClientUnknown, "AADSTS700016", 0, ""},
		{emulator.ScenarioSecretWrong, "AADSTS7000215", 0, ""},
		{emulator.ScenarioSecretIDInsteadOfValue, "AADSTS7000215", 0, ""},
		{emulator.ScenarioSecretExpired, "AADSTS7000222", 0, ""},
		{emulator.ScenarioAppDisabled, "AADSTS7000112", 0, ""},
		{emulator.ScenarioBCNotProvisioned, "AADSTS500011", 0, ""},
		{emulator.ScenarioPermissionDelegatedOnly, "", 401, "Authentication_InvalidCredentials"},
		{emulator.ScenarioConsentMissing, "", 401, "Authentication_InvalidCredentials"},
		{emulator.ScenarioBCAppMissing, "", 401, "Authentication_InvalidCredentials"},
		{emulator.ScenarioBCAppDisabled, "", 401, "Authentication_InvalidCredentials"},
		{emulator.ScenarioBCNoPermissions, "", 200, ""}, // companies list needs no table permission
		{emulator.ScenarioBCPartialPermissions, "", 200, ""},
		{emulator.ScenarioEnvironmentUnknown, "", 404, "EnvironmentNotFound"},
		{emulator.ScenarioCompanyUnknown, "", 200, ""},
	}
	if len(cases) != len(emulator.Scenarios()) {
		t.Fatalf("%d cases for %d scenarios", len(cases), len(emulator.Scenarios()))
	}
	for _, tc := range cases {
		t.Run(tc.scenario, func(t *testing.T) {
			t.Parallel()
			e := setup(t, emulator.Config{Scenario: tc.scenario})
			tok, err := e.getToken()
			if tc.aadsts != "" {
				if err == nil || !strings.Contains(err.Error(), tc.aadsts) {
					t.Fatalf("token error = %v, want %s", err, tc.aadsts)
				}
				return
			}
			if err != nil {
				t.Fatalf("token: %v", err)
			}
			e.token = tok
			roles := claimRoles(t, tok)
			switch tc.scenario {
			case emulator.ScenarioPermissionDelegatedOnly, emulator.ScenarioConsentMissing:
				if roles != nil {
					t.Errorf("token has roles %v, want no roles claim", roles)
				}
			default:
				if len(roles) != 1 || roles[0] != "API.ReadWrite.All" {
					t.Errorf("roles = %v", roles)
				}
			}
			r := e.get(e.api() + "/companies")
			if r.status != tc.status || r.errorCode() != tc.code {
				t.Fatalf("GET companies = %d %s, want %d %s", r.status, r.body, tc.status, tc.code)
			}
			if tc.code != "" && !strings.Contains(string(r.body), "  CorrelationId:  ") {
				t.Errorf("error message lacks the CorrelationId suffix: %s", r.body)
			}
			switch tc.scenario {
			case emulator.ScenarioCompanyUnknown:
				if strings.Contains(string(r.body), `"name":"Company Y"`) {
					t.Error("Company Y must not exist")
				}
			case emulator.ScenarioBCNoPermissions:
				r = e.get(e.companyURL() + "/customers")
				if r.status != 400 || r.errorCode() != "Internal_ServerError" || !strings.Contains(string(r.body), "Sorry, the current permissions prevented the action. (TableData Customer Read") {
					t.Errorf("customers without permissions: %d %s", r.status, r.body)
				}
			case emulator.ScenarioBCPartialPermissions:
				if r = e.get(e.companyURL() + "/customers?$top=1"); r.status != 200 {
					t.Errorf("customers: %d", r.status)
				}
				for _, set := range []string{"employees", "generalLedgerEntries"} {
					if r = e.get(e.companyURL() + "/" + set + "?$top=1"); r.status != 400 {
						t.Errorf("%s: %d, want permission error", set, r.status)
					}
				}
				// Aggregates filter silently: only drafts remain visible.
				r = e.get(e.companyURL() + "/salesInvoices")
				for _, v := range r.json(t)["value"].([]any) {
					if s := v.(map[string]any)["status"]; s != "Draft" && s != "In_x0020_Review" {
						t.Fatalf("posted invoice visible without Sales Invoice Header read: %v", s)
					}
				}
				full := e.emu.Count(e.emu.DemoCompanyRef(), "salesInvoices")
				if got := len(r.json(t)["value"].([]any)); got == 0 || got >= full {
					t.Errorf("visible invoices %d of %d: expected silent filtering of posted ones", got, full)
				}
			}
		})
	}
}

// TestTenantMismatch: a token of one tenant used on another tenant's URL is refused.
func TestTenantMismatch(t *testing.T) {
	t.Parallel()
	e := setup(t, emulator.Config{})
	r := e.get(e.srv.URL + "/v2.0/northwind.onmicrosoft.com/Production/api/v2.0/companies")
	if r.status != http.StatusUnauthorized {
		t.Errorf("cross-tenant: %d %s", r.status, r.body)
	}
	// Without the tenant segment, BC infers it from the token's tid (§4.1).
	if r = e.get(e.srv.URL + "/v2.0/Production/api/v2.0/companies"); r.status != 200 {
		t.Errorf("tenant-less URL: %d %s", r.status, r.body)
	}
	// The domain form of the tenant works too.
	if r = e.get(e.srv.URL + "/v2.0/" + emulator.DemoTenantDomain + "/production/api/v2.0/companies"); r.status != 200 {
		t.Errorf("domain tenant, lower-case environment: %d %s", r.status, r.body)
	}
	// The Sandbox environment has no Step 6 record: per environment (§3.1).
	if r = e.get(e.srv.URL + "/v2.0/" + e.creds.TenantID + "/Sandbox/api/v2.0/companies"); r.status != 401 {
		t.Errorf("Sandbox without registration: %d", r.status)
	}
	// A request without a token.
	req, _ := http.NewRequest(http.MethodGet, e.api()+"/companies", nil)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("no token: %d %v", resp.StatusCode, resp.Header)
	}
}

// TestCombinedScenarios: "a,b" applies both faults; an unknown name in the list is named.
func TestCombinedScenarios(t *testing.T) {
	t.Parallel()
	emu, err := emulator.New(emulator.Config{Scenario: emulator.ScenarioSecretWrong + ", " + emulator.ScenarioCompanyUnknown})
	if err != nil {
		t.Fatal(err)
	}
	ok, _ := emulator.New(emulator.Config{})
	if cr, good := emu.Credentials(), ok.Credentials(); cr.ClientSecret == good.ClientSecret || cr.Company == good.Company || cr.TenantID != good.TenantID {
		t.Errorf("secret-wrong,company-unknown: %+v", cr)
	}
	if _, err := emulator.New(emulator.Config{Scenario: "secret-wrong,secret-wrongg"}); err == nil || !strings.Contains(err.Error(), `"secret-wrongg"`) {
		t.Errorf("unknown name in a list: %v", err)
	}
	if _, err := emulator.New(emulator.Config{Scenario: emulator.ScenarioBCAppMissing + "," + emulator.ScenarioBCAppDisabled}); err != nil {
		t.Errorf("bc-app-missing,bc-app-disabled: %v", err)
	}
}
