package service

import (
	"errors"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/doctor"
	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/emulator/emulatortest"
	"github.com/bizzjoiner/bcconnector/emulator/idp"
	"github.com/bizzjoiner/bcconnector/guide"
	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/store/sqlite"
)

const expressRedirect = "https://bcconnector.test/consent/callback"

type expressSetup struct {
	sb  *emulatortest.Sandbox
	db  *sqlite.DB
	svc *Impl
}

// newExpressSetup is a service over a SQLite file with the emulator's express app
// configured as the operator's, its redirect URI registered on the app.
func newExpressSetup(t *testing.T) *expressSetup {
	t.Helper()
	sb := emulatortest.Start(t, emulator.Config{ExpressRedirectURIs: []string{expressRedirect}})
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "bcc.db"), secret.GenerateKeyring(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	svc, err := New(Options{Store: db, HTTPClient: sb.Client(), AllowEndpointOverrides: true})
	if err != nil {
		t.Fatal(err)
	}
	x := sb.Express()
	if _, err := db.SetOperatorApp(t.Context(), store.OperatorApp{ClientID: x.ClientID, TenantID: x.VendorTenantID, RedirectURI: expressRedirect, EndDate: x.SecretEndDate},
		secret.Secret(x.ClientSecret)); err != nil {
		t.Fatal(err)
	}
	return &expressSetup{sb: sb, db: db, svc: svc}
}

func (es *expressSetup) input(tenant string) ConnectionInput {
	return ConnectionInput{TenantID: tenant, Environment: emulator.DemoEnvironment, Company: emulator.DemoCompany,
		AuthorityHost: es.sb.AuthorityHost(), BCBaseURL: es.sb.BCBaseURL(), CAPEM: string(es.sb.CAPEM), Entities: []string{"customers"}}
}

// consent follows the connection's consent link with decision and records the answer.
func (es *expressSetup) consent(t *testing.T, id, decision string) ConsentResult {
	t.Helper()
	v, err := es.svc.GetConnection(t.Context(), id)
	if err != nil || v.Express == nil || v.Express.ConsentURL == "" {
		t.Fatalf("express view: %+v %v", v.Express, err)
	}
	loc := es.sb.FollowConsent(v.Express.ConsentURL, decision)
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != expressRedirect {
		t.Fatalf("consent returned to %s, want %s", got, expressRedirect)
	}
	res, err := es.svc.RecordConsent(t.Context(), loc.Query())
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func failed(t *testing.T, rep *doctor.Report) doctor.Check {
	t.Helper()
	if rep.OK || rep.FailedStep == nil {
		t.Fatalf("doctor passed; want a failure")
	}
	for _, c := range rep.Checks {
		if c.Status == doctor.Failed {
			return c
		}
	}
	t.Fatal("no failed check")
	return doctor.Check{}
}

// TestExpressEndToEnd: an express connection from creation to a passing doctor (consent
// through the real endpoint shape, then Step 6), then consent revoked (Step 5 named) and
// granted again.
func TestExpressEndToEnd(t *testing.T) {
	t.Parallel()
	es := newExpressSetup(t)
	ctx := t.Context()
	x := es.sb.Express()
	st, err := es.svc.ExpressStatus(ctx)
	if err != nil || !st.Offered || st.ClientID != x.ClientID || st.Credential != "secret" || st.Expiry != guide.ExpiryNone {
		t.Fatalf("ExpressStatus = %+v %v", st, err)
	}
	v, err := es.svc.CreateExpress(ctx, es.input(emulator.DemoTenantDomain))
	if err != nil {
		t.Fatal(err)
	}
	if v.Kind != store.KindExpress || v.ClientID != x.ClientID || v.Express == nil || v.Express.Consent != "pending" ||
		v.Express.Step6.ClientID != x.ClientID || v.Express.Step6.PermissionSet != guide.PermissionSetName || v.Credential != nil {
		t.Fatalf("express view %+v %+v", v, v.Express)
	}
	link, _ := url.Parse(v.Express.ConsentURL)
	if link.Path != "/"+emulator.DemoTenantDomain+"/adminconsent" || link.Query().Get("client_id") != x.ClientID ||
		link.Query().Get("redirect_uri") != expressRedirect || !strings.HasPrefix(link.Query().Get("state"), v.ID+".") {
		t.Fatalf("consent link %s", link)
	}

	// Before consent: Step 5, not granted yet.
	rep, err := es.svc.RunDoctor(ctx, v.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c := failed(t, rep); c.Step != guide.Step5Consent || !strings.Contains(c.Problem, "has not been granted") || !strings.Contains(c.Fix, "adminconsent") {
		t.Errorf("before consent: %s %q %q", c.Step, c.Problem, c.Fix)
	}

	if res := es.consent(t, v.ID, "grant"); !res.Granted || res.Connection.Express.Consent != "granted" {
		t.Fatalf("consent: %+v", res)
	}
	// Consent, no Step 6 yet: BC refuses, Step 6 with the values to enter.
	rep, _ = es.svc.RunDoctor(ctx, v.ID, nil)
	if c := failed(t, rep); c.Step != guide.Step6BCAccess || !strings.Contains(c.Fix, x.ClientID) || !strings.Contains(c.Fix, guide.PermissionSetName) || !strings.Contains(c.Problem, "missing") {
		t.Errorf("before Step 6: %s %q %q", c.Step, c.Problem, c.Fix)
	}
	tenant := es.sb.Credentials().TenantID
	es.sb.RegisterInBC(tenant, emulator.DemoEnvironment, x.ClientID)
	rep, _ = es.svc.RunDoctor(ctx, v.ID, nil)
	if !rep.OK {
		t.Fatalf("after Step 6: %+v", failed(t, rep))
	}
	if got, _ := es.svc.GetConnection(ctx, v.ID); got.CompanyID == "" {
		t.Error("a passing check did not pin the company")
	}
	// It can be synced: its targets are the company's entity sets.
	if _, ts, err := es.svc.Targets(ctx, v.ID, nil); err != nil || len(ts) == 0 {
		t.Errorf("Targets of the express connection: %d, %v", len(ts), err)
	}
	// The clients work: companies through the operator's credential in the customer's tenant.
	c, err := es.svc.Conn(ctx, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.BC.Companies(ctx); err != nil {
		t.Fatalf("companies: %v", err)
	}

	// Revoked (the enterprise application deleted): Step 5, "revoked".
	es.sb.RevokeExpress(tenant)
	rep, _ = es.svc.RunDoctor(ctx, v.ID, nil)
	if c := failed(t, rep); c.Step != guide.Step5Consent || !strings.Contains(c.Problem, "revoked") || c.Evidence == nil || c.Evidence.AADSTS[0] != 7000229 {
		t.Errorf("after revocation: %s %q %+v", c.Step, c.Problem, c.Evidence)
	}
	// Granted again through the same link.
	es.consent(t, v.ID, "grant")
	if rep, _ = es.svc.RunDoctor(ctx, v.ID, nil); !rep.OK {
		t.Fatalf("after consenting again: %+v", failed(t, rep))
	}

	// Revoked by removing the grant (service principal kept): a token without roles, Step 5.
	if err := es.sb.Directory().SetConsent(tenant, x.ClientID, false); err != nil {
		t.Fatal(err)
	}
	rep, _ = es.svc.RunDoctor(ctx, v.ID, nil)
	if c := failed(t, rep); c.Step != guide.Step5Consent || !strings.Contains(c.Problem, "no API.ReadWrite.All role") {
		t.Errorf("grant removed: %s %q", c.Step, c.Problem)
	}

	// Express connections have no credential of their own to rotate.
	if err := es.svc.RotateSecret(ctx, v.ID, "x", ""); !errors.Is(err, store.ErrConflict) || !strings.Contains(err.Error(), "express") {
		t.Errorf("RotateSecret on express: %v", err)
	}
}

// TestExpressRestrictedAndOperator: a tenant whose admin restricted consent is named as
// such; the operator's own credential, wrong or expiring, is the operator's to fix.
func TestExpressRestrictedAndOperator(t *testing.T) {
	t.Parallel()
	es := newExpressSetup(t)
	ctx := t.Context()
	x := es.sb.Express()
	v, err := es.svc.CreateExpress(ctx, es.input(emulator.RestrictedTenantDomain))
	if err != nil {
		t.Fatal(err)
	}
	res := es.consent(t, v.ID, "")
	if res.Granted || !res.Restricted || res.Error != "access_denied" || !strings.Contains(res.Description, "AADSTS90094") {
		t.Fatalf("restricted consent: %+v", res)
	}
	rep, _ := es.svc.RunDoctor(ctx, v.ID, nil)
	if c := failed(t, rep); c.Step != guide.Step5Consent || !strings.Contains(c.Problem, "restricted") || !strings.Contains(c.Fix, "Global Administrator") {
		t.Errorf("restricted: %s %q %q", c.Step, c.Problem, c.Fix)
	}
	// An admin consents; Step 6; passes.
	es.consent(t, v.ID, "grant")
	es.sb.RegisterInBC(x.RestrictedTenantID, emulator.DemoEnvironment, x.ClientID)
	if rep, _ = es.svc.RunDoctor(ctx, v.ID, nil); !rep.OK {
		t.Fatalf("after an admin's consent: %+v", failed(t, rep))
	}

	// The operator's credential expires soon: a warning for the operator.
	if _, err := es.db.SetOperatorApp(ctx, store.OperatorApp{ClientID: x.ClientID, RedirectURI: expressRedirect, EndDate: time.Now().AddDate(0, 0, 10)},
		secret.Secret(x.ClientSecret)); err != nil {
		t.Fatal(err)
	}
	rep, _ = es.svc.RunDoctor(ctx, v.ID, nil)
	exp := rep.Checks[len(rep.Checks)-1]
	if !rep.OK || exp.Status != doctor.Warning || exp.Step != guide.OperatorCredential || !strings.Contains(exp.Fix, "operator") || !strings.Contains(exp.Problem, "Bizzjoiner's own app") {
		t.Errorf("expiring operator credential: %+v", exp)
	}
	// Expired at Entra: every express connection fails, and it is the operator's to fix.
	if err := es.sb.Directory().UpdateApp(x.VendorTenantID, x.ClientID, func(a *idp.App) { a.Secrets[0].EndDate = time.Now().Add(-time.Hour) }); err != nil {
		t.Fatal(err)
	}
	rep, _ = es.svc.RunDoctor(ctx, v.ID, nil)
	if c := failed(t, rep); c.Step != guide.OperatorCredential || !strings.Contains(c.Fix, "not the customer") || !strings.Contains(c.Problem, "AADSTS7000222") {
		t.Errorf("operator credential expired: %s %q %q", c.Step, c.Problem, c.Fix)
	}

	// A forged or stale state records nothing.
	for _, q := range []url.Values{{"state": {v.ID + ".wrong"}, "admin_consent": {"True"}}, {"state": {"nope"}, "admin_consent": {"True"}}, {}} {
		if _, err := es.svc.RecordConsent(ctx, q); !errors.Is(err, ErrConsentState) {
			t.Errorf("RecordConsent(%v) = %v", q, err)
		}
	}
	// Without an operator app, express is not offered.
	if err := es.db.DeleteOperatorApp(ctx); err != nil {
		t.Fatal(err)
	}
	if st, _ := es.svc.ExpressStatus(ctx); st.Offered {
		t.Error("express offered without an operator app")
	}
	if _, err := es.svc.CreateExpress(ctx, es.input(emulator.DemoTenantDomain)); !errors.Is(err, ErrExpressOff) {
		t.Errorf("CreateExpress without an operator app: %v", err)
	}
}

// TestExpressConsentRevokedRecorded: a token request or the setup check that sees the
// customer's consent gone records it (revoked, when first seen, what showed it) instead of
// leaving the record "granted"; a new consent, or a passing check after a grant in the
// portal, restores it.
func TestExpressConsentRevokedRecorded(t *testing.T) {
	t.Parallel()
	es := newExpressSetup(t)
	ctx := t.Context()
	x := es.sb.Express()
	tenant := es.sb.Credentials().TenantID
	v, err := es.svc.CreateExpress(ctx, es.input(emulator.DemoTenantDomain))
	if err != nil {
		t.Fatal(err)
	}
	es.consent(t, v.ID, "grant")
	es.sb.RegisterInBC(tenant, emulator.DemoEnvironment, x.ClientID)
	if rep, _ := es.svc.RunDoctor(ctx, v.ID, nil); !rep.OK {
		t.Fatalf("setup: %+v", failed(t, rep))
	}
	consent := func() ExpressView {
		t.Helper()
		got, err := es.svc.GetConnection(ctx, v.ID)
		if err != nil || got.Express == nil {
			t.Fatalf("GetConnection: %+v %v", got.Express, err)
		}
		return *got.Express
	}

	// The customer deletes the enterprise application; the next token request (the cached
	// token expired) is refused, and that is recorded without any doctor run.
	es.sb.RevokeExpress(tenant)
	es.svc.forget(v.ID)
	c, err := es.svc.Conn(ctx, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now().Add(-time.Second)
	if _, err := c.BC.Companies(ctx); err == nil {
		t.Fatal("companies after revocation: no error")
	}
	got := consent()
	if got.Consent != "revoked" || got.ConsentAt.Before(before) || !strings.Contains(got.ConsentError, "a token request: AADSTS7000229") {
		t.Fatalf("after a refused token request: %+v", got)
	}
	// The doctor sees it too; the record keeps when it was first seen.
	if rep, _ := es.svc.RunDoctor(ctx, v.ID, nil); !rep.ConsentRevoked {
		t.Errorf("doctor after revocation: ConsentRevoked not set: %+v", failed(t, rep))
	}
	if again := consent(); again.Consent != "revoked" || !again.ConsentAt.Equal(got.ConsentAt) {
		t.Errorf("a second sighting changed the record: %+v, was %+v", again, got)
	}

	// A new consent restores it.
	if res := es.consent(t, v.ID, "grant"); res.Connection.Express.Consent != "granted" {
		t.Fatalf("consent again: %+v", res.Connection.Express)
	}
	if rep, _ := es.svc.RunDoctor(ctx, v.ID, nil); !rep.OK {
		t.Fatalf("after consenting again: %+v", failed(t, rep))
	}

	// The grant removed (service principal kept): the doctor's token without roles.
	if err := es.sb.Directory().SetConsent(tenant, x.ClientID, false); err != nil {
		t.Fatal(err)
	}
	es.svc.RunDoctor(ctx, v.ID, nil)
	if got := consent(); got.Consent != "revoked" || !strings.Contains(got.ConsentError, "the setup check: ") || !strings.Contains(got.ConsentError, "no API.ReadWrite.All role") {
		t.Fatalf("grant removed: %+v", got)
	}
	// Granted again in the portal, without the link: a passing check restores it.
	if err := es.sb.Directory().SetConsent(tenant, x.ClientID, true); err != nil {
		t.Fatal(err)
	}
	if rep, _ := es.svc.RunDoctor(ctx, v.ID, nil); !rep.OK {
		t.Fatalf("after the grant in the portal: %+v", failed(t, rep))
	}
	if got := consent(); got.Consent != "granted" || got.ConsentError != "" {
		t.Errorf("after a passing check: %+v", got)
	}
}

// TestExpressDuplicateTenantTypedTwoWays: the same tenant typed as its domain and as its
// GUID is one tenant: a second express connection to the same environment and company is
// refused naming the first, whichever way either was typed; another company is not a
// duplicate, and a tenant Entra does not know is refused naming the field.
func TestExpressDuplicateTenantTypedTwoWays(t *testing.T) {
	t.Parallel()
	es := newExpressSetup(t)
	ctx := t.Context()
	guid := es.sb.Credentials().TenantID
	first, err := es.svc.CreateExpress(ctx, es.input(emulator.DemoTenantDomain))
	if err != nil {
		t.Fatal(err)
	}
	var fe *guide.FieldError
	_, err = es.svc.CreateExpress(ctx, es.input(strings.ToUpper(guid)))
	if !errors.As(err, &fe) || fe.Field != "tenant ID" || !strings.Contains(fe.Problem, first.Name) ||
		!strings.Contains(fe.Problem, "typed there as "+emulator.DemoTenantDomain) || !strings.Contains(fe.Fix, "consent-url") {
		t.Fatalf("the same tenant as its GUID: %v", err)
	}
	// Another company of the same tenant is another connection.
	in := es.input(guid)
	in.Company, in.Name = "Fabrikam & O'Brien Ltd.", "fabrikam"
	second, err := es.svc.CreateExpress(ctx, in)
	if err != nil {
		t.Fatalf("another company: %v", err)
	}
	// Typed the other way round, after the consent callback named the tenant's ID.
	es.consent(t, second.ID, "grant")
	in.TenantID, in.Name = emulator.DemoTenantDomain, "fabrikam again"
	if _, err = es.svc.CreateExpress(ctx, in); !errors.As(err, &fe) || !strings.Contains(fe.Problem, `"fabrikam"`) {
		t.Fatalf("the same tenant as its domain: %v", err)
	}
	in.TenantID, in.Name = "no-such-tenant.onmicrosoft.com", "nobody"
	if _, err = es.svc.CreateExpress(ctx, in); !errors.As(err, &fe) || fe.Field != "tenant ID" || !strings.Contains(fe.Problem, "does not know") {
		t.Fatalf("an unknown tenant: %v", err)
	}
}
