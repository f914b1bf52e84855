package ui

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/internal/browsertest"
	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/service"
	"github.com/bizzjoiner/bcconnector/store"
)

// TestBrowserExpressSetup walks express setup in a real Chromium: the wizard's first page
// offers both paths; express asks for tenant, environment and company; the consent link
// leads to the (emulated) Entra consent prompt (the connection of two companies typed, one
// with & and ', and all others), whose Accept returns to bcconnector's
// callback, which records it and shows the Step 6 values; the doctor then names Step 6
// until the app is registered in BC, passes, and the sync starts and brings rows. Consent
// revoked, the doctor names Step 5; consented again through the same link, it passes.
func TestBrowserExpressSetup(t *testing.T) {
	dir := artifacts(t)
	svc, sb, db := sandboxServiceDB(t, emulator.ScenarioOK)
	x := sb.Express()
	registerBC := func(tenant, env, client string) error {
		sb.RegisterInBC(sb.Creds.TenantID, env, client)
		return nil
	}
	h, err := New(Options{Service: svc, SandboxNote: "Sandbox", AuthorityHost: sb.AuthorityHost(), SandboxRegisterBC: registerBC,
		Endpoints: Endpoints{AuthorityHost: sb.AuthorityHost(), BCBaseURL: sb.BCBaseURL(), CAFile: sb.CAFile}})
	if err != nil {
		t.Fatal(err)
	}
	cb, err := ConsentCallback(svc.(service.ExpressService), nil)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /consent/callback", cb)
	mux.Handle("/", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	redirect := srv.URL + store.ExpressCallbackPath
	if err := sb.AllowExpressRedirect(redirect); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SetOperatorApp(t.Context(), store.OperatorApp{ClientID: x.ClientID, TenantID: x.VendorTenantID, RedirectURI: redirect, EndDate: x.SecretEndDate},
		secret.Secret(x.ClientSecret)); err != nil {
		t.Fatal(err)
	}

	bctx := browsertest.StartTrusting(t, 1280, 900, sb.CAPEM)
	ctx, cancel := context.WithTimeout(bctx, 150*time.Second)
	defer cancel()
	do := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		for i, a := range actions {
			actx, cancel := context.WithTimeout(ctx, 30*time.Second)
			err := chromedp.Do(actx, a)
			cancel()
			if err != nil {
				shoot(t, ctx, dir, "express-error")
				loc, _ := chromedp.Run(ctx, chromedp.Location())
				t.Fatalf("%s, action %d at %s: %v", what, i, loc, err)
			}
		}
	}
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			shoot(t, ctx, dir, "express-error")
			t.Fatalf("%s: %v", sel, err)
		}
		return strings.TrimSpace(v)
	}
	w := newWizardActs(t)

	do("first page", chromedp.Navigate(srv.URL+"/wizard"), chromedp.WaitVisible(chromedp.CSS("#two-paths")))
	if got := text("#two-paths"); !strings.Contains(got, "Pick it when") || !strings.Contains(got, "Express setup") || !strings.Contains(got, "own app") {
		t.Errorf("the first page does not describe both paths: %q", got)
	}
	shoot(t, ctx, dir, "express-1-first-page")
	do("express form", chromedp.Click(chromedp.CSS("#express-start")), chromedp.WaitVisible(chromedp.CSS("#express-form")),
		w.typeInto("#x-tenant", emulator.DemoTenantDomain), w.typeInto("#x-environment", emulator.DemoEnvironment), w.typeInto("#x-company", emulator.DemoCompany),
		w.typeInto("#x-companies", emulator.DemoCompanyAmpersand), chromedp.Click(chromedp.CSS("#x-all-companies")),
		w.typeInto("#x-name", "Express Contoso"))
	shoot(t, ctx, dir, "express-2-form")
	do("create", chromedp.Click(chromedp.CSS("#express-create")), chromedp.WaitVisible(chromedp.CSS("#consent-link")))
	page, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if got := text("#step6-client-id"); got != x.ClientID {
		t.Errorf("Step 6 client ID %q, want %s", got, x.ClientID)
	}
	if got := text("#express-companies"); !strings.Contains(got, emulator.DemoCompany) || !strings.Contains(got, emulator.DemoCompanyAmpersand) || !strings.Contains(got, "every other company") {
		t.Errorf("the express page's companies: %q", got)
	}
	if got := text("#consent-state"); !strings.Contains(got, "Waiting") {
		t.Errorf("consent state before: %q", got)
	}
	shoot(t, ctx, dir, "express-3-consent-and-step6")

	consent := func(shot string) {
		t.Helper()
		do("consent", chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS("#consent-link")), chromedp.Click(chromedp.CSS("#consent-link")),
			chromedp.WaitVisible(chromedp.CSS(`a[href*="emulator_consent=grant"]`)))
		shoot(t, ctx, dir, shot+"-prompt")
		do("accept", chromedp.Click(chromedp.CSS(`a[href*="emulator_consent=grant"]`)), chromedp.WaitVisible(chromedp.CSS(`#consent-outcome[data-outcome="granted"]`)))
		if got := text("#step6-client-id"); got != x.ClientID {
			t.Errorf("callback page's Step 6 client ID %q", got)
		}
		shoot(t, ctx, dir, shot+"-callback")
	}
	check := func(sel string) {
		t.Helper()
		do("check", chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS("#express-check")), chromedp.Click(chromedp.CSS("#express-check")),
			chromedp.WaitVisible(chromedp.CSS(sel)))
	}

	consent("express-4-consent")
	check(`.check-failed[data-step="Step 6"]`)
	if got := text(`.check-failed[data-step="Step 6"]`); !strings.Contains(got, x.ClientID) || !strings.Contains(got, "BIZZJOINER CONNECTOR") {
		t.Errorf("Step 6 failure: %q", got)
	}
	shoot(t, ctx, dir, "express-5-step6-missing")
	do("register in BC", chromedp.Click(chromedp.CSS("#sandbox-register")), chromedp.WaitVisible(chromedp.CSS(".flash")))
	check(`#express-report[data-ok="true"]`)
	shoot(t, ctx, dir, "express-6-passes")
	// Several companies, and all of them: named before consent, resolved by the passing
	// check, every company of the environment with the two typed first.
	xid := page[strings.LastIndex(page, "/")+1:]
	xv, err := svc.GetConnection(ctx, xid)
	if err != nil {
		t.Fatal(err)
	}
	cos, env := xv.SyncCompanies(), sb.Companies(sb.Creds.TenantID, emulator.DemoEnvironment)
	if !xv.AllCompanies || len(cos) != len(env) || len(cos) < 2 || cos[0].Name != emulator.DemoCompany || cos[1].Name != emulator.DemoCompanyAmpersand {
		t.Fatalf("express companies after the check: all %v, %+v; the environment has %v", xv.AllCompanies, cos, env)
	}
	for _, co := range cos {
		if co.ID == "" {
			t.Errorf("company %q is not resolved after the passing check", co.Name)
		}
	}
	do("sync", chromedp.Click(chromedp.CSS("#express-sync")), chromedp.WaitVisible(chromedp.CSS("#credential")))
	id := page[strings.LastIndex(page, "/")+1:]
	deadline := time.Now().Add(60 * time.Second)
	for {
		v, err := svc.GetConnection(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if v.Kind != store.KindExpress {
			t.Fatalf("kind %q", v.Kind)
		}
		if v.Counts["customers"] > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the express connection synced no customers: %+v", v.Sync)
		}
		select { // poll the replica until the first pass brought rows (bounded by the deadline)
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
	do("dashboard", chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS("table")))
	if got := text("table"); !strings.Contains(got, "express consent granted") {
		t.Errorf("the dashboard does not show the kind: %q", got)
	}
	shoot(t, ctx, dir, "express-7-dashboard")
	// The operator's credential expires in 10 days: the dashboard warns the operator.
	if _, err := db.SetOperatorApp(t.Context(), store.OperatorApp{ClientID: x.ClientID, RedirectURI: redirect, EndDate: time.Now().AddDate(0, 0, 10)},
		secret.Secret(x.ClientSecret)); err != nil {
		t.Fatal(err)
	}
	do("dashboard warning", chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#express-warning")))
	if got := text("#express-warning"); !strings.Contains(got, "expires in") || !strings.Contains(got, "express-app set") {
		t.Errorf("express warning: %q", got)
	}

	// Consent revoked: Step 5; granted again through the same link: passes.
	sb.RevokeExpress(sb.Creds.TenantID)
	check(`.check-failed[data-step="Step 5"]`)
	if got := text(`.check-failed[data-step="Step 5"]`); !strings.Contains(got, "revoked") {
		t.Errorf("Step 5 failure: %q", got)
	}
	shoot(t, ctx, dir, "express-8-revoked")
	consent("express-9-consent-again")
	check(`#express-report[data-ok="true"]`)
	shoot(t, ctx, dir, "express-10-passes-again")
}
