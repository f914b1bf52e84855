package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
)

// TestExpressAPI: without an express app, express is not offered (GET /express) and POST
// /connections/express answers 409 express_not_offered; with one, bad input is 422
// naming the field, a scoped token may not create, and a created connection shows its
// kind, consent link and Step 6 values; its doctor names Step 5 until consent; no
// response or log holds the express app's secret.
func TestExpressAPI(t *testing.T) {
	t.Parallel()
	e := setup(t)
	x := e.sb.Express()
	body := map[string]any{"tenantId": emulator.DemoTenantDomain, "environment": emulator.DemoEnvironment, "company": emulator.DemoCompany,
		"entities": []string{"customers"}, "authorityHost": e.sb.AuthorityHost(), "bcBaseUrl": e.sb.BCBaseURL()}
	var st struct{ Offered bool }
	e.do("GET", "/express", e.token, nil, 200, &st)
	if st.Offered {
		t.Fatal("offered without an express app")
	}
	var ae struct{ Code string }
	e.do("POST", "/connections/express", e.token, body, http.StatusConflict, &ae)
	if ae.Code != "express_not_offered" {
		t.Errorf("code %q", ae.Code)
	}
	if _, err := e.db.SetOperatorApp(t.Context(), store.OperatorApp{ClientID: x.ClientID, RedirectURI: "https://bcconnector.test/consent/callback"},
		secret.Secret(x.ClientSecret)); err != nil {
		t.Fatal(err)
	}
	e.do("GET", "/express", e.token, nil, 200, &st)
	if !st.Offered {
		t.Fatal("not offered with an express app")
	}
	bad := map[string]any{"tenantId": "not a tenant", "environment": "Production", "company": "Company X"}
	var fe struct{ Code, Field, Step string }
	e.do("POST", "/connections/express", e.token, bad, http.StatusUnprocessableEntity, &fe)
	if fe.Code != "invalid_field" || fe.Field != "tenant ID" {
		t.Errorf("bad tenant: %+v", fe)
	}
	e.do("POST", "/connections/express", e.token, map[string]any{"tenantId": "x", "clientSecret": "y"}, http.StatusBadRequest, nil)
	scoped := e.newToken("scoped", []string{"none"})
	e.do("POST", "/connections/express", scoped, body, http.StatusNotFound, nil)

	var v struct {
		ID, Kind, ClientID string
		Express            struct {
			Consent, ConsentURL string
			Step6               struct{ ClientID, PermissionSet string }
		}
	}
	e.do("POST", "/connections/express", e.token, body, http.StatusCreated, &v)
	if v.Kind != "express" || v.ClientID != x.ClientID || v.Express.Consent != "pending" || v.Express.Step6.ClientID != x.ClientID ||
		v.Express.Step6.PermissionSet != "BIZZJOINER CONNECTOR" || !strings.Contains(v.Express.ConsentURL, "/adminconsent?client_id="+x.ClientID) {
		t.Fatalf("created: %+v", v)
	}
	raw := e.do("POST", "/connections/"+v.ID+"/doctor", e.token, nil, 200, nil)
	var rep struct {
		OK         bool
		FailedStep string
	}
	if err := json.Unmarshal(raw, &rep); err != nil || rep.OK || rep.FailedStep != "Step 5" {
		t.Errorf("doctor before consent: %+v %v", rep, err)
	}
	// Several companies (one with & ' and spaces), and all: kept by name until consent;
	// all without a company named is refused naming the field. (The first connection goes:
	// a second express connection to the same tenant and company is refused.)
	e.do("DELETE", "/connections/"+v.ID, e.token, nil, 200, nil)
	multi := map[string]any{"name": "Express Multi", "tenantId": emulator.DemoTenantDomain, "environment": emulator.DemoEnvironment,
		"companies": []string{emulator.DemoCompany, emulator.DemoCompanyAmpersand}, "allCompanies": true,
		"authorityHost": e.sb.AuthorityHost(), "bcBaseUrl": e.sb.BCBaseURL()}
	var mv struct {
		Kind, CompanyName string
		AllCompanies      bool
		Companies         []store.Company
	}
	e.do("POST", "/connections/express", e.token, multi, http.StatusCreated, &mv)
	if mv.Kind != "express" || !mv.AllCompanies || mv.CompanyName != emulator.DemoCompany || len(mv.Companies) != 2 || mv.Companies[1].Name != emulator.DemoCompanyAmpersand {
		t.Errorf("express of several companies: %+v", mv)
	}
	none := map[string]any{"name": "Express None", "tenantId": emulator.DemoTenantDomain, "environment": emulator.DemoEnvironment, "allCompanies": true}
	e.do("POST", "/connections/express", e.token, none, http.StatusUnprocessableEntity, &fe)
	if fe.Field != "company" {
		t.Errorf("all companies without one named: %+v", fe)
	}
	e.scanSecrets(x.ClientSecret)
}
