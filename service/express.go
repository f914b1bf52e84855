package service

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/bizzjoiner/bcconnector/doctor"
	"github.com/bizzjoiner/bcconnector/entra"
	"github.com/bizzjoiner/bcconnector/guide"
	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
)

// Express setup: Bizzjoiner's own multi-tenant app (configured by the operator, see
// store.OperatorApp) in the customer's tenant. The customer's admin grants admin consent
// through a link that returns to bcconnector (Step 5) and registers the app's client ID in
// BC (Step 6); no secret leaves the customer and none of theirs expires
// (auth-jobs-delivery-facts §2).

// ExpressService is what the wizard, the API and the CLI do for express setup. *Impl
// implements it; a server without an operator app answers ErrExpressOff.
type ExpressService interface {
	// ExpressStatus says whether express setup is offered and how the operator's
	// credential stands (never its value).
	ExpressStatus(ctx context.Context) (ExpressStatus, error)
	// CreateExpress stores an express connection for in's tenant, environment, company (or
	// companies, or all companies with the connection's own named) and entity sets
	// (in.ClientID, Secret and Credential must be empty: the operator's app is used) with
	// its consent pending; its companies are resolved to their IDs after the first passing
	// check. Nothing is checked yet: consent comes first. The view
	// carries the consent link and the Step 6 values.
	CreateExpress(ctx context.Context, in ConnectionInput) (ConnectionView, error)
	// RecordConsent records the answer Entra sent to the consent callback (its query);
	// the state parameter names the connection and must carry its nonce.
	RecordConsent(ctx context.Context, q url.Values) (ConsentResult, error)
}

var _ ExpressService = (*Impl)(nil)

// ErrExpressOff means no operator app is configured, so express setup is not offered.
var ErrExpressOff = errors.New("express setup is not offered on this server: no express app is configured (the operator sets Bizzjoiner's multi-tenant app with `bcconnector express-app set`)")

// ErrConsentState means a consent callback's state names no express connection here or
// carries the wrong nonce (a forged, stale or foreign answer); nothing was recorded.
var ErrConsentState = errors.New("the consent answer does not belong to an express connection of this server (unknown or outdated state); open the connection's current consent link again")

// ExpressStatus is the operator app as people may see it.
type ExpressStatus struct {
	// Offered is true when an operator app is configured.
	Offered bool `json:"offered"`
	// ClientID is the app's Application (client) ID, which customers register in BC.
	ClientID string `json:"clientId,omitempty"`
	// TenantID is Bizzjoiner's directory holding the registration.
	TenantID string `json:"tenantId,omitempty"`
	// RedirectURI is the consent callback registered on the app.
	RedirectURI string `json:"redirectUri,omitempty"`
	// Credential is "secret" or "certificate"; Thumbprint a certificate's.
	Credential string `json:"credential,omitempty"`
	Thumbprint string `json:"thumbprint,omitempty"`
	// EndDate, Expiry (a guide.Expiry* level) and DaysLeft warn the operator.
	EndDate  time.Time `json:"endDate,omitempty"`
	Expiry   string    `json:"expiry,omitempty"`
	DaysLeft int       `json:"daysLeft,omitempty"`
}

// ExpressView is the express side of a connection.
type ExpressView struct {
	// Consent is "pending", "granted", "refused" or "revoked" (granted, then seen gone by
	// the doctor or a token request); ConsentError is Entra's answer on refusal or what
	// showed the revocation; ConsentAt when the state was recorded (for revoked, when it
	// was first seen).
	Consent      string    `json:"consent"`
	ConsentError string    `json:"consentError,omitempty"`
	ConsentAt    time.Time `json:"consentAt"`
	// ConsentURL is the admin-consent link the customer's admin opens (Step 5).
	ConsentURL string `json:"consentUrl,omitempty"`
	// Step6 are the values the admin enters on BC's Microsoft Entra Applications page.
	Step6 Step6Values `json:"step6"`
}

// Step6Values are what the customer's admin enters in BC (guide Step 6) for express setup.
type Step6Values struct {
	Page          string `json:"page"`
	Environment   string `json:"environment"`
	ClientID      string `json:"clientId"`
	Description   string `json:"description"`
	State         string `json:"state"`
	PermissionSet string `json:"permissionSet"`
}

// ConsentResult is what the consent callback shows the customer's admin.
type ConsentResult struct {
	Connection ConnectionView `json:"connection"`
	// Granted is true for admin_consent=True; otherwise Error and Description say why.
	Granted     bool   `json:"granted"`
	Error       string `json:"error,omitempty"`
	Description string `json:"errorDescription,omitempty"`
	// Restricted is true for AADSTS90094/90095: a user who may not consent opened the link.
	Restricted bool `json:"restricted,omitempty"`
}

// ExpressStatus implements ExpressService.
func (s *Impl) ExpressStatus(ctx context.Context) (ExpressStatus, error) {
	app, _, err := s.st.OperatorApp(ctx)
	if isNotFound(err) {
		return ExpressStatus{}, nil
	}
	if err != nil {
		return ExpressStatus{}, err
	}
	st := ExpressStatus{Offered: true, ClientID: app.ClientID, TenantID: app.TenantID, RedirectURI: app.RedirectURI,
		Credential: string(app.Kind), Thumbprint: secret.Thumbprint(app.Certificate), EndDate: app.EndDate}
	if !app.EndDate.IsZero() {
		st.Expiry, st.DaysLeft = guide.ExpiryLevel(app.EndDate, s.now())
	}
	return st, nil
}

// CreateExpress implements ExpressService.
func (s *Impl) CreateExpress(ctx context.Context, in ConnectionInput) (ConnectionView, error) {
	app, _, err := s.st.OperatorApp(ctx)
	if isNotFound(err) {
		return ConnectionView{}, ErrExpressOff
	}
	if err != nil {
		return ConnectionView{}, err
	}
	switch {
	case in.ClientID != "" && !strings.EqualFold(in.ClientID, app.ClientID):
		return ConnectionView{}, &guide.FieldError{Field: "client ID", Step: guide.ConnectionSettings,
			Problem: "an express connection uses Bizzjoiner's own app " + app.ClientID, Fix: "leave the client ID empty"}
	case !in.Secret.IsZero() || in.SecretEndDate != "" || in.Credential != "" || in.Certificate != nil:
		return ConnectionView{}, &guide.FieldError{Field: "client secret", Step: guide.ConnectionSettings,
			Problem: "an express connection has no secret of the customer's: Bizzjoiner's app and the operator's credential are used",
			Fix:     "leave the secret and credential empty, or set up the customer's own app instead (not express)"}
	}
	if err := s.checkEndpoints(in); err != nil {
		return ConnectionView{}, err
	}
	if err := readCA(&in); err != nil {
		return ConnectionView{}, err
	}
	// Several companies, or all: BC's list cannot be read before consent, so the companies
	// are kept by name (or ID) and resolved after the first passing check; the first is
	// the connection's own, which that check tries.
	companies, err := parseCompanies(in.Companies)
	if err != nil {
		return ConnectionView{}, err
	}
	if strings.TrimSpace(in.Company) == "" && len(companies) > 0 {
		in.Company = companies[0].Label()
	}
	allCompanies := in.AllCompanies != nil && *in.AllCompanies
	if strings.TrimSpace(in.Company) == "" && allCompanies {
		return ConnectionView{}, &guide.FieldError{Field: "company", Step: guide.ConnectionSettings,
			Problem: "all companies, but none named: an express connection cannot read BC's list of companies before the admin's consent",
			Fix:     "name one company as BC lists it (the connection's own, which the setup check tries and writes use); every other company is added after the consent"}
	}
	var errs []error
	tenant, fe := guide.CheckTenant(strings.TrimSpace(in.TenantID))
	if fe != nil {
		fe.Step, fe.Fix = guide.ConnectionSettings, "give the customer's Directory (tenant) ID (Entra admin center → Overview) or a verified domain such as contoso.onmicrosoft.com"
		errs = append(errs, fe)
	}
	env, fe := guide.CheckEnvironment(in.Environment)
	if fe != nil {
		errs = append(errs, fe)
	}
	company, fe := guide.CheckCompany(in.Company)
	if fe != nil {
		errs = append(errs, fe)
	}
	if len(errs) > 0 {
		return ConnectionView{}, errors.Join(errs...)
	}
	if err := s.checkSets(in.Entities, in.WriteEntities); err != nil {
		return ConnectionView{}, err
	}
	cn := store.Connection{Name: strings.TrimSpace(in.Name), TenantID: tenant, ClientID: app.ClientID, Environment: env,
		CompanyName: company, AuthorityHost: in.AuthorityHost, BCBaseURL: in.BCBaseURL, CAPEM: in.CAPEM,
		Entities: in.Entities, WriteEntities: in.WriteEntities, Companies: companies, AllCompanies: allCompanies,
		SetSchedules: in.SetSchedules}
	if in.Schedule != nil {
		cn.Schedule = *in.Schedule
	}
	if err := s.checkScheduleSets(cn.SetSchedules); err != nil {
		return ConnectionView{}, err
	}
	if guide.IsGUID(company) {
		cn.CompanyID, cn.CompanyName = strings.ToLower(company), ""
	}
	if err := s.checkExpressDuplicate(ctx, cn); err != nil {
		return ConnectionView{}, err
	}
	created, err := s.st.CreateConnection(ctx, cn)
	if err != nil {
		return ConnectionView{}, err
	}
	if _, err := s.st.SetConsent(ctx, store.Consent{ConnectionID: created.ID, State: store.ConsentPending, Nonce: consentNonce()}); err != nil {
		_ = s.st.DeleteConnection(ctx, created.ID)
		return ConnectionView{}, err
	}
	s.log.Info("express connection created", "connection", created.ID, "name", created.Name, "tenant", created.TenantID)
	return s.view(ctx, created)
}

// consentNonce is the secret half of a consent link's state: 128 random bits.
func consentNonce() string { return store.NewID() + store.NewID() }

// consentState is the consent link's state parameter: connection ID and nonce.
func consentState(c store.Consent) string { return c.ConnectionID + "." + c.Nonce }

// expressView fills the express part of a connection's view.
func (s *Impl) expressView(ctx context.Context, v *ConnectionView, c store.Consent) {
	v.Kind = store.KindExpress
	x := &ExpressView{Consent: string(c.State), ConsentAt: c.UpdatedAt,
		Step6: Step6Values{Page: guide.BCPageName, Environment: v.Environment, ClientID: v.ClientID,
			Description: guide.BCAppDescription, State: "Enabled", PermissionSet: guide.PermissionSetName}}
	switch c.State {
	case store.ConsentRefused:
		x.ConsentError = strings.TrimSpace(c.Error + ": " + c.ErrorDescription)
	case store.ConsentRevoked:
		x.ConsentError = c.ErrorDescription
	}
	if app, _, err := s.st.OperatorApp(ctx); err == nil && app.ClientID == v.ClientID {
		x.ConsentURL = guide.ExpressConsentURL(v.AuthorityHost, v.TenantID, app.ClientID, app.RedirectURI, consentState(c))
	}
	v.Express = x
}

// RecordConsent implements ExpressService. Entra's error wins over admin_consent (the v2
// endpoint sends both on failure, auth-jobs-delivery-facts §2); the tenant it names is
// recorded, never trusted.
func (s *Impl) RecordConsent(ctx context.Context, q url.Values) (ConsentResult, error) {
	id, nonce, ok := strings.Cut(q.Get("state"), ".")
	if !ok || id == "" || nonce == "" {
		return ConsentResult{}, ErrConsentState
	}
	c, err := s.st.Consent(ctx, id)
	if isNotFound(err) {
		return ConsentResult{}, ErrConsentState
	}
	if err != nil {
		return ConsentResult{}, err
	}
	if subtle.ConstantTimeCompare([]byte(c.Nonce), []byte(nonce)) != 1 {
		return ConsentResult{}, ErrConsentState
	}
	clip := func(s string, n int) string {
		if len(s) > n {
			return s[:n]
		}
		return s
	}
	res := ConsentResult{}
	switch {
	case q.Get("error") != "":
		c.State, c.Error, c.ErrorDescription, c.Tenant = store.ConsentRefused, clip(q.Get("error"), 200), clip(q.Get("error_description"), 2000), ""
		res.Error, res.Description = c.Error, c.ErrorDescription
		res.Restricted = strings.Contains(c.ErrorDescription, "AADSTS90094") || strings.Contains(c.ErrorDescription, "AADSTS90095")
	case strings.EqualFold(q.Get("admin_consent"), "true"):
		c.State, c.Error, c.ErrorDescription, c.Tenant = store.ConsentGranted, "", "", clip(q.Get("tenant"), 256)
		res.Granted = true
	default:
		return ConsentResult{}, fmt.Errorf("%w: the consent answer has neither admin_consent=True nor an error", store.ErrInvalid)
	}
	if _, err := s.st.SetConsent(ctx, c); err != nil {
		return ConsentResult{}, err
	}
	s.forget(id)
	s.log.Info("express consent answer recorded", "connection", id, "granted", res.Granted, "error", res.Error)
	if res.Connection, err = s.GetConnection(ctx, id); err != nil {
		return ConsentResult{}, err
	}
	return res, nil
}

// consentRevoked records an express connection's consent as revoked, once: the record
// keeps when it was first seen and what showed it, until a new consent (the callback)
// or a passing setup check grants it again.
func (s *Impl) consentRevoked(ctx context.Context, cons store.Consent, seen string) {
	if cons.State != store.ConsentGranted {
		return
	}
	if len(seen) > 2000 {
		seen = seen[:2000]
	}
	cons.State, cons.Error, cons.ErrorDescription = store.ConsentRevoked, "revoked", seen
	if _, err := s.st.SetConsent(ctx, cons); err != nil {
		s.log.Warn("express consent revoked, not recorded", "connection", cons.ConnectionID, "err", err)
		return
	}
	s.log.Warn("express consent revoked in the customer's tenant", "connection", cons.ConnectionID, "seen", seen)
}

// tokenRefused checks a failed token request of a connection's BC client: Entra no longer
// knowing an express app whose consent was granted means the consent was revoked.
func (s *Impl) tokenRefused(id string, err error) {
	var ee *entra.Error
	if !errors.As(err, &ee) || (ee.Scenario != entra.ScenarioServicePrincipalMissing && ee.Scenario != entra.ScenarioClientUnknown) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cons, cerr := s.st.Consent(ctx, id)
	if cerr != nil || !doctor.ConsentRevokedBy(ee, cons.State) {
		return
	}
	s.consentRevoked(store.WithActor(ctx, store.Actor{Kind: store.ActorSystem}), cons, "a token request: "+firstLine(ee.Description))
}

// firstLine is s up to its first line break (Entra's descriptions go on with trace IDs).
func firstLine(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		return s[:i]
	}
	return s
}

// expressDoctor is the doctor's Config of an express connection.
func (s *Impl) expressDoctor(ctx context.Context, c store.Connection, cons store.Consent, cred secret.Credential, end time.Time) doctor.Config {
	cfg := doctor.ForConnection(c, cred, end)
	x := &doctor.Express{Consent: cons, ConsentHow: "`bcconnector consent-url " + c.Name + "`, or the connection's page"}
	if app, _, err := s.st.OperatorApp(ctx); err == nil {
		x.ConsentURL = guide.ExpressConsentURL(c.AuthorityHost, c.TenantID, app.ClientID, app.RedirectURI, consentState(cons))
	}
	cfg.Express = x
	return cfg
}

// refuseExpress fails for an express connection, which has no credential of its own to
// rotate or activate.
func (s *Impl) refuseExpress(ctx context.Context, c store.Connection) error {
	if _, err := s.st.Consent(ctx, c.ID); err == nil {
		return fmt.Errorf("%w: connection %q is an express connection: it uses Bizzjoiner's app and the operator's credential (`bcconnector express-app set`), so it has no secret or certificate of its own to change", store.ErrConflict, c.Name)
	} else if !isNotFound(err) {
		return err
	}
	return nil
}
