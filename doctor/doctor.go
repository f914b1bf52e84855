// Package doctor proves that a customer's setup is right, or says which step of the setup
// guide is wrong and how to fix it. It walks the guide in order against the live services
// (Entra ID, then Business Central), read-only: input formats; a token (Steps 1–3); the
// application role in the token (Steps 4–5, including the guide's Financials.ReadWrite.All
// trap); BC accepting the app (Step 6); the environment; the company; read access per
// entity set; write access without changing data; the secret's end date.
//
// It stops explaining at the first failing step and marks later checks "not checked".
// Where two steps produce the same wire signal it names both, leads with the likelier one
// given the evidence (the roles a token does carry; the directory an Entra error names,
// compared with the tenant typed) and says how to tell them apart in the portal.
package doctor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/bizzjoiner/bcconnector/bc"
	"github.com/bizzjoiner/bcconnector/bcschema"
	"github.com/bizzjoiner/bcconnector/budget"
	"github.com/bizzjoiner/bcconnector/conn"
	"github.com/bizzjoiner/bcconnector/entra"
	"github.com/bizzjoiner/bcconnector/guide"
	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
)

// DefaultEntities are the entity sets a connection reads unless told otherwise: the sync
// defaults, which the wizard pre-selects, the doctor checks and the permission set covers.
// The list is closed under bcschema.Schema.Replicated (every set's lines are in it), so
// what is checked and granted is what the sync reads; a test holds the four equal.
var DefaultEntities = []string{
	"customers", "vendors", "items", "itemVariants", "contacts", "employees", "timeRegistrationEntries",
	"accounts", "generalLedgerEntries", "salesOrders", "salesOrderLines", "salesInvoices", "salesInvoiceLines",
	"purchaseInvoices", "purchaseInvoiceLines", "currencies", "paymentTerms", "dimensions", "dimensionValues",
}

// EntitySets returns the entity sets the doctor checks, the permission set covers and the
// sync reads for a connection's chosen sets: chosen with each set's parent and lines
// (bcschema.Schema.Replicated), or DefaultEntities when chosen is empty.
func EntitySets(chosen []string) []string {
	if len(chosen) == 0 {
		return DefaultEntities
	}
	return bcschema.MustLoad().Replicated(chosen)
}

// Config is what the doctor checks.
type Config struct {
	// Input is what the admin handed over (validated first).
	Input guide.Input
	// AuthorityHost and BCBaseURL override Entra's and BC's endpoints (sandbox, other
	// clouds); CAPEM is the PEM of extra CA certificates to trust, and CAFile, used when
	// CAPEM is empty, a PEM file of them (as store.Connection). Empty means Microsoft's
	// public cloud and the system roots.
	AuthorityHost, BCBaseURL, CAPEM, CAFile string
	// HTTPClient reaches both; nil means the client package conn builds from the CA
	// certificates.
	HTTPClient *http.Client
	// Limiters gives the BC client the limiter of the app and environment, shared with the
	// connection's other clients and processes; nil means a limiter of its own.
	Limiters *budget.Limiters
	// Entities are read-checked with their parents and lines (EntitySets); nil means
	// DefaultEntities.
	Entities []string
	// WriteEntities are write-checked inside a transaction that is rolled back.
	WriteEntities []string
	// Express, when set, diagnoses an express connection (Bizzjoiner's multi-tenant app
	// with the operator's credential): failures name the express path's steps and say
	// which are the operator's to fix.
	Express *Express
	// OnCheck, when set, is called as each check completes (for live progress).
	OnCheck func(Check)
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger receives debug lines; tokens and secrets never reach it.
	Logger *slog.Logger
}

// ForConnection is the Config that diagnoses a stored connection as it is used: its own
// tenant, client, environment and company, its stored endpoints and CA certificates, its entity
// sets, and its active credential (client secret or certificate) with its end date (zero:
// unknown). The caller adds the HTTP client, clock, logger and progress callback.
func ForConnection(c store.Connection, cred secret.Credential, secretEnd time.Time) Config {
	in := guide.Input{TenantID: c.TenantID, ClientID: c.ClientID, Secret: cred.Secret, Certificate: cred.Certificate,
		Environment: c.Environment, Company: c.CompanyID}
	if in.Company == "" {
		in.Company = c.CompanyName
	}
	if !secretEnd.IsZero() {
		in.SecretEndDate = secretEnd.Format(time.DateOnly)
	}
	return Config{Input: in, AuthorityHost: c.AuthorityHost, BCBaseURL: c.BCBaseURL, CAPEM: c.CAPEM, CAFile: c.CAFile,
		Entities: c.Entities, WriteEntities: c.WriteEntities}
}

// run carries one diagnosis.
type run struct {
	cfg    Config
	rep    *Report
	in     guide.Checked
	client *bc.Client // built with the token source; nil until then
	claims entra.Claims
	stop   bool   // an earlier step failed: later checks are not run
	failed *Check // the first failed check, which later unchecked ones name
}

// needs says what each check needs from the checks before it, for the reason a check was
// not run after an earlier failure.
var needs = map[string]string{
	CheckToken:       "a token is asked for only with input values that can be right",
	CheckRoles:       "the permission is read from a token Entra ID issued",
	CheckBCAccess:    "Business Central is asked only with a token that carries " + guide.ApplicationPermission,
	CheckEnvironment: "the environment is looked up only once Business Central accepts the app",
	CheckCompany:     "the companies are listed only once the environment answers",
	CheckReadAccess:  "the entity sets are read only in a company that was found",
	CheckWriteAccess: "writes are proved only in a company that was found",
}

// Run diagnoses the setup. It never returns an error: every failure is a failed check.
func Run(ctx context.Context, cfg Config) *Report {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.Entities = EntitySets(cfg.Entities)
	r := &run{cfg: cfg, rep: &Report{Started: cfg.Now()}}
	r.step(CheckInput, "Input formats", guide.Step2IDs, r.checkInput)
	tokenStep := guide.Step3Secret
	if cfg.Express != nil {
		tokenStep = guide.Step5Consent
	}
	r.step(CheckToken, "Token from Entra ID", tokenStep, func(c *Check) { r.checkToken(ctx, c) })
	r.step(CheckRoles, "Application permission in the token", guide.Step4Permissions, r.checkRoles)
	companies := r.checkBC(ctx)
	r.step(CheckCompany, "Company exists", guide.ConnectionSettings, func(c *Check) { r.checkCompany(c, companies) })
	r.step(CheckReadAccess, "Read access to the entity sets", guide.Step6BCAccess, func(c *Check) { r.checkRead(ctx, c) })
	if len(cfg.WriteEntities) > 0 {
		r.step(CheckWriteAccess, "Write access (proved without changing data)", guide.Step6BCAccess, func(c *Check) { r.checkWrite(ctx, c) })
	}
	r.stop = false // the secret's end date is worth knowing whatever failed
	r.step(CheckSecretExpiry, "Secret end date", guide.Step3Secret, r.checkExpiry)
	r.rep.Finished = cfg.Now()
	r.rep.OK = r.rep.FailedStep == nil
	return r.rep
}

// step runs one check unless an earlier one failed, records it and reports progress.
func (r *run) step(id, title string, step guide.Step, fn func(*Check)) {
	c := Check{ID: id, Title: title, Step: step, Status: Passed}
	start := time.Now()
	if r.stop {
		c.Status = NotChecked
	} else {
		fn(&c)
	}
	c.Duration = Seconds(time.Since(start))
	r.record(c)
}

func (r *run) record(c Check) {
	if c.Status == NotChecked && r.failed != nil {
		// Several faults at once: the earliest failure is the one to fix first; each later
		// check says what that failure keeps it from checking.
		reason := fmt.Sprintf("not checked yet: %s, and %q failed first (%s)", needs[c.ID], r.failed.Title, r.failed.Step.Short())
		if c.Problem == "" {
			c.Problem = reason
		} else {
			c.Problem = "not checked yet: " + c.Problem
		}
	}
	if c.Status == Failed && r.failed == nil {
		f := c
		r.failed = &f
	}
	if c.Status == Failed {
		r.stop = true
		if r.rep.FailedStep == nil {
			s := c.Step
			r.rep.FailedStep = &s
		}
	}
	r.rep.Checks = append(r.rep.Checks, c)
	if r.cfg.OnCheck != nil {
		r.cfg.OnCheck(c)
	}
}

func (r *run) checkInput(c *Check) {
	in, notices, err := guide.Validate(r.cfg.Input, r.cfg.Now())
	r.in = in
	for _, n := range notices {
		c.Details = append(c.Details, n.Field+": "+n.Message)
	}
	if err == nil {
		return
	}
	var problems, fixes []string
	var fes []*guide.FieldError
	for _, e := range unjoin(err) {
		var fe *guide.FieldError
		if errors.As(e, &fe) {
			fes = append(fes, fe)
		}
	}
	// Several wrong values: the earliest step of the guide is the one to fix first.
	slices.SortStableFunc(fes, func(a, b *guide.FieldError) int { return int(a.Step) - int(b.Step) })
	for i, fe := range fes {
		if i == 0 {
			c.Step = fe.Step
		}
		problems = append(problems, fe.Field+": "+fe.Problem)
		retype := []string{fe.Field}
		if fe.Field == "secret end date" && strings.HasPrefix(fe.Problem, "the secret expired") {
			retype = []string{"client secret", fe.Field} // a new secret, with its own end date
		}
		for _, f := range retype {
			if !slices.Contains(c.Retype, f) {
				c.Retype = append(c.Retype, f)
			}
		}
		fixes = append(fixes, fe.Field+": "+fe.Fix)
	}
	c.Status, c.Problem, c.Fix = Failed, strings.Join(problems, "; "), strings.Join(fixes, "\n")
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// checkToken asks Entra for a token (Steps 1–3) and maps AADSTS codes to the step. The
// clients come from package conn, as they will when the connection is used.
func (r *run) checkToken(ctx context.Context, c *Check) {
	cn, err := conn.Open(store.Connection{TenantID: r.in.TenantID, ClientID: r.in.ClientID, Environment: r.in.Environment,
		AuthorityHost: r.cfg.AuthorityHost, BCBaseURL: r.cfg.BCBaseURL, CAPEM: r.cfg.CAPEM, CAFile: r.cfg.CAFile},
		r.in.Credential(), conn.Options{HTTPClient: r.cfg.HTTPClient, Limiters: r.cfg.Limiters, Logger: r.cfg.Logger, Now: r.cfg.Now,
			Retry: bc.RetryOptions{MaxAttempts: 2}})
	var ee *entra.Error
	if err != nil && !errors.As(err, &ee) {
		// An unusable endpoint or CA file: nothing was sent.
		c.Status, c.Step, c.Problem = Failed, guide.ConnectionSettings, err.Error()
		c.Fix = "check the connection's authority host, BC base URL and CA file (a PEM file with the CA certificates to trust, or empty for the system roots), then run the doctor again"
		return
	}
	if err == nil {
		r.client = cn.BC
		var tok entra.AccessToken
		tok, err = cn.Tokens.Token(ctx)
		if err == nil {
			r.claims, err = entra.ParseClaims(tok.Token)
		}
	}
	if err == nil {
		return
	}
	if !errors.As(err, &ee) {
		c.Status, c.Step, c.Problem = Failed, guide.ConnectionSettings, "could not get a token: "+err.Error()
		c.Fix = "check the authority host and the network, then run the doctor again"
		return
	}
	c.Status = Failed
	c.Evidence = &Evidence{AADSTS: ee.Codes, EntraError: ee.ErrorCode, Description: ee.Description, TraceID: ee.TraceID, CorrelationID: ee.CorrelationID, HTTPStatus: ee.StatusCode}
	if r.cfg.Express != nil {
		c.Step, c.Problem, c.Fix = expressAdvice(ee, r.in, r.cfg.Express)
		r.rep.ConsentRevoked = ConsentRevokedBy(ee, r.cfg.Express.Consent.State)
		if c.Step == guide.ConnectionSettings {
			c.Retype = []string{"tenant ID"}
		}
		return
	}
	c.Step, c.Problem, c.Fix = entraAdvice(ee, r.in)
	c.Retype = entraRetype[ee.Scenario]
	if ee.Scenario == entra.ScenarioClientUnknown {
		if first, _ := tenantFirst(r.in.TenantID, namedDirectory(ee.Description)); first {
			c.Retype = []string{"tenant ID"}
		}
	}
}

// entraRetype names the value an Entra refusal says was typed wrong; the other refusals
// are fixed in the portal (a certificate is uploaded there, not typed).
var entraRetype = map[entra.Scenario][]string{
	entra.ScenarioTenantUnknown:   {"tenant ID"},
	entra.ScenarioTenantMalformed: {"tenant ID"},
	entra.ScenarioClientUnknown:   {"client ID"},
	entra.ScenarioSecretWrong:     {"client secret"},
	entra.ScenarioSecretExpired:   {"client secret"},
}

// entraAdvice turns an Entra failure into the guide step, the problem and the exact fix
// (bc-entra-facts §1.4).
func entraAdvice(ee *entra.Error, in guide.Checked) (guide.Step, string, string) {
	env, company := in.Environment, in.Company
	if env == "" {
		env = "{Environment}"
	}
	if company == "" {
		company = "{Company}"
	}
	app := "App registrations → " + guide.DisplayName(env, company) + " (or your app's name)"
	switch ee.Scenario {
	case entra.ScenarioTenantUnknown:
		return guide.Step2IDs, fmt.Sprintf("Entra does not know the tenant %q", in.TenantID),
			"in the Entra admin center (" + guide.EntraPortal + ") open Identity → Overview, or your app's Overview page, and copy 'Directory (tenant) ID'; make sure you are signed in to the organisation that has Business Central"
	case entra.ScenarioTenantMalformed:
		return guide.Step2IDs, fmt.Sprintf("the tenant ID %q is neither a GUID nor a verified domain", in.TenantID),
			"copy 'Directory (tenant) ID' from your app's Overview page (a GUID such as 72f988bf-86f1-41af-91ab-2d7cd011db47)"
	case entra.ScenarioClientUnknown:
		return clientUnknownAdvice(ee, in, app)
	case entra.ScenarioSecretWrong:
		fix := "open " + app + " → Certificates & secrets → New client secret (description '" + guide.SecretDescription + "', 12–24 months) → Add, then copy the secret's Value at once (it is shown only once) and paste it here"
		problem := "Entra rejected the client secret"
		if guide.LooksLikeSecretID(in.Secret) {
			problem += "; the value you gave looks like the Secret ID, not the secret's Value"
		}
		return guide.Step3Secret, problem, fix
	case entra.ScenarioSecretExpired:
		return guide.Step3Secret, "the client secret has expired",
			"open " + app + " → Certificates & secrets → New client secret (12–24 months) → Add, copy its Value and rotate it in here; then delete the expired secret"
	case entra.ScenarioCertificateUnknown, entra.ScenarioCertificateExpired, entra.ScenarioCertificateSignature,
		entra.ScenarioCertificateWeak, entra.ScenarioAssertionAudience, entra.ScenarioAssertionTime, entra.ScenarioAssertionInvalid:
		return certificateAdvice(ee, in, app)
	case entra.ScenarioAppDisabled:
		return guide.Step1Register, "the app is disabled in Entra ID",
			"open Enterprise applications → your app → Properties, set 'Enabled for users to sign-in?' to Yes and Save"
	case entra.ScenarioBCNotProvisioned:
		where := fmt.Sprintf("tenant %s", in.TenantID)
		if named := namedDirectory(ee.Description); named != "" && !strings.EqualFold(named, in.TenantID) {
			where = fmt.Sprintf("tenant %s (Entra calls it %q)", in.TenantID, named)
		}
		// bc-entra-facts §1.4: when Entra checks the resource relative to the client and its
		// secret is not documented; it may answer 500011 before looking at either.
		return guide.Prerequisites, "Entra does not know Business Central (https://api.businesscentral.dynamics.com) in " + where +
				": the tenant has no Business Central. Entra may answer this before it checks the client ID and the secret, so those are not checked yet",
			"check that the tenant ID is the one of the organisation that uses Business Central online (its admin center lists the environments); a tenant without a BC subscription cannot grant access to it. With the right tenant, run the doctor again: it then checks the client ID and the secret"
	case entra.ScenarioNetwork:
		return guide.ConnectionSettings, "Entra could not be reached: " + ee.Description,
			"check the authority host (default " + guide.DefaultAuthorityHost + "), proxies and the network"
	}
	return guide.Step3Secret, "Entra refused the token request: " + ee.Description,
		"look up the AADSTS code at https://login.microsoftonline.com/error and check Steps 1–3"
}

// clientUnknownAdvice explains AADSTS700016, which fits two mistakes of Step 2: a wrong client
// ID in the right tenant, or the right client ID in the wrong tenant. It compares the
// directory Entra names with the tenant the admin typed (tenantFirst) and leads with the
// likelier one, then says how to tell them apart on the app's Overview page.
func clientUnknownAdvice(ee *entra.Error, in guide.Checked, app string) (guide.Step, string, string) {
	named := namedDirectory(ee.Description)
	tenantFirst, why := tenantFirst(in.TenantID, named)
	where := fmt.Sprintf("tenant %s", in.TenantID)
	if named != "" && !strings.EqualFold(named, in.TenantID) {
		where = fmt.Sprintf("tenant %s, which Entra calls %q", in.TenantID, named)
	}
	tell := fmt.Sprintf("To tell which: open %s → Overview. If its 'Directory (tenant) ID' is not %s, the tenant ID is wrong: copy that value. If it is, the client ID is wrong: copy 'Application (client) ID' (not the Object ID).", app, in.TenantID)
	if tenantFirst {
		return guide.Step2IDs, fmt.Sprintf("Entra found no application with client ID %s in %s; most likely the tenant ID is wrong: %s", in.ClientID, where, why),
			"copy 'Directory (tenant) ID' from the Overview page of the app you registered (the directory's name shows at the top right of the portal). " + tell
	}
	return guide.Step2IDs, fmt.Sprintf("Entra found no application with client ID %s in %s; most likely the client ID is wrong: %s", in.ClientID, where, why),
		"open " + app + " → Overview and copy 'Application (client) ID' (not the Object ID). " + tell
}

// tenantFirst decides whether AADSTS700016 more likely means a wrong tenant than a wrong
// client ID, comparing the directory the error names with the tenant typed, and says why.
func tenantFirst(typed, named string) (bool, string) {
	switch {
	case named == "" || strings.EqualFold(named, typed):
		return false, "Entra looked in the tenant you typed, and a tenant ID copied wrong is rarely another existing tenant"
	case guide.IsGUID(named):
		if guide.IsGUID(typed) {
			return true, fmt.Sprintf("Entra looked in directory %s, not in the tenant you typed", named)
		}
		return false, fmt.Sprintf("Entra looked in directory %s, the one your domain %s belongs to", named, typed)
	case strings.EqualFold(named, "Default Directory"):
		// The name Entra gives a directory nobody renamed: a personal or trial tenant
		// rather than the organisation that runs Business Central.
		return true, "Entra looked in a directory called \"Default Directory\", the name of a directory nobody renamed (often a personal or trial one), not usually the organisation that runs Business Central"
	case !guide.IsGUID(typed) && !sharesWord(named, typed):
		return true, fmt.Sprintf("the domain %s belongs to a directory called %q, which does not look like the same organisation", typed, named)
	}
	return false, fmt.Sprintf("Entra looked in %q, the tenant you typed", named)
}

// sharesWord reports whether a directory name and a domain share a word of 3 letters or more
// ("Northwind Traders" and northwind.onmicrosoft.com do).
func sharesWord(name, domain string) bool {
	label, _, _ := strings.Cut(strings.ToLower(domain), ".")
	for _, w := range strings.FieldsFunc(strings.ToLower(name), func(r rune) bool { return !('a' <= r && r <= 'z' || '0' <= r && r <= '9') }) {
		if len(w) >= 3 && strings.Contains(label, w) {
			return true
		}
	}
	return false
}

// directoryRE finds the directory an Entra error names: AADSTS700016 "…not found in the
// directory 'X'", AADSTS500011 "…not found in the tenant named X." (bc-entra-facts §1.4).
var directoryRE = regexp.MustCompile(`in the directory '([^']*)'|in the tenant named (.+?)\. `)

// namedDirectory returns the directory (tenant) an Entra error description names, or "".
func namedDirectory(desc string) string {
	m := directoryRE.FindStringSubmatch(desc)
	if m == nil {
		return ""
	}
	return strings.TrimSpace(m[1] + m[2])
}

// certificateAdvice explains a refused client assertion (a certificate connection): each
// AADSTS code Entra answers it with, and each reason of AADSTS700027, has its own fix, all
// in Step 3, where the credential is registered (auth-jobs-delivery-facts §1).
func certificateAdvice(ee *entra.Error, in guide.Checked, app string) (guide.Step, string, string) {
	thumb, end := "(none)", ""
	if in.Certificate != nil {
		thumb = in.Certificate.Thumbprint()
		end = in.Certificate.NotAfter().Format(time.DateOnly)
	}
	upload := "open " + app + " → Certificates & secrets → Certificates → Upload certificate, select the .cer file bcconnector gave you for this connection (download it again from the connection if needed) → Add"
	rotate := "generate a new certificate in bcconnector (`bcconnector connection rotate NAME --certificate FILE.cer`, or 'Generate a certificate' on the connection's page), " + upload + ", activate it (`bcconnector connection activate NAME`, or 'Activate the new certificate'; it becomes active only when the check passes), then delete the old certificate in the portal"
	switch ee.Scenario {
	case entra.ScenarioCertificateUnknown:
		return guide.Step3Secret, fmt.Sprintf("Entra does not know the certificate with thumbprint %s: it has not been uploaded to this app (or was uploaded to another app, or deleted)", thumb),
			upload + "; the portal's Thumbprint column must then show " + thumb + ". Then run the doctor again"
	case entra.ScenarioCertificateExpired:
		return guide.Step3Secret, fmt.Sprintf("the certificate with thumbprint %s is outside its validity (it ends %s); Entra refuses an expired certificate", thumb, end),
			rotate
	case entra.ScenarioCertificateSignature:
		return guide.Step3Secret, fmt.Sprintf("Entra knows the certificate with thumbprint %s, but the signature made with bcconnector's key did not match it: the key bcconnector holds does not belong to the uploaded certificate", thumb),
			rotate
	case entra.ScenarioCertificateWeak:
		return guide.Step3Secret, "Entra refuses the certificate's RSA key as too small",
			rotate + " (bcconnector generates 3072-bit keys)"
	case entra.ScenarioAssertionAudience:
		return guide.Step3Secret, "Entra refused the client assertion's audience: it names a token endpoint other than the one that answered",
			"check the connection's authority host (default " + guide.DefaultAuthorityHost + "; the Entra host of the tenant's cloud) and that no proxy rewrites the token URL; the tenant ID must be the app's Directory (tenant) ID. Then run the doctor again"
	case entra.ScenarioAssertionTime:
		return guide.Step3Secret, "Entra says the client assertion is outside its valid time range: the clock of the machine running bcconnector is off by more than a few minutes",
			"synchronise that machine's clock (NTP), then run the doctor again; nothing in the portal needs to change"
	}
	return guide.Step3Secret, "Entra could not accept the client assertion: " + ee.Description,
		"nothing in the portal causes this: check that nothing between bcconnector and Entra alters the token request, and report the AADSTS code with the trace ID below"
}

// checkRoles reads the token's claims: API.ReadWrite.All must be in roles (Steps 4–5).
func (r *run) checkRoles(c *Check) {
	cl := r.claims
	c.Evidence = &Evidence{Roles: cl.Roles, TokenTenant: cl.TenantID, TokenAppID: cl.AppID}
	if !strings.EqualFold(cl.AppID, r.in.ClientID) {
		c.Status, c.Step = Failed, guide.Step2IDs
		c.Problem = fmt.Sprintf("the token was issued to app %s, not to client ID %s", cl.AppID, r.in.ClientID)
		c.Fix = "copy 'Application (client) ID' again from the app's Overview page"
		c.Retype = []string{"client ID"}
		return
	}
	if cl.HasRole(guide.ApplicationPermission) {
		return
	}
	if r.cfg.Express != nil {
		// Bizzjoiner's app requests the right permission; only the grant can be missing.
		c.Status, c.Step = Failed, guide.Step5Consent
		c.Problem, c.Fix = r.cfg.Express.rolesAdvice(r.in)
		r.rep.ConsentRevoked = hadConsent(r.cfg.Express.Consent.State)
		return
	}
	// §0.1/§0.2: Entra issues a token without roles when the app has only delegated
	// permissions (the guide's Step 4 by the letter) or when admin consent is missing (Step
	// 5). Both look the same on the wire; the roles the token does carry tell which is likelier.
	c.Status, c.Step, c.Steps = Failed, guide.Step4Permissions, []guide.Step{guide.Step4Permissions, guide.Step5Consent}
	if cl.HasRolesClaim {
		// Other application roles were granted, so admin consent was given: the permission is
		// most likely missing, or was added after the consent.
		c.Problem = fmt.Sprintf("the token has roles %v but not %s: admin consent was granted for the app's other application permissions, so most likely %s is not among them (Step 4); if it is listed but 'Not granted', it was added after the consent (Step 5)",
			cl.Roles, guide.ApplicationPermission, guide.ApplicationPermission)
	} else {
		c.Problem = "the token has no roles claim: the app has no admin-consented application permission on Dynamics 365 Business Central, so BC will reject it (401). " +
			"Most likely Step 4: the guide's Step 4 leads to " + guide.DelegatedTrap + ", a delegated permission, which never puts a role in the app's token; " +
			"otherwise Step 5: " + guide.ApplicationPermission + " was added but admin consent was not granted"
	}
	c.Fix = "open App registrations → your app → API permissions; the Dynamics 365 Business Central rows tell the two apart:\n" +
		"• Step 4, if " + guide.ApplicationPermission + " with Type 'Application' is absent (you may see " + guide.DelegatedTrap + " with Type 'Delegated', which only works for a signed-in user): click Add a permission → " + guide.APIName + " → Application permissions → tick " + guide.ApplicationPermission + " → Add permissions, then grant admin consent as below. You may remove " + guide.DelegatedTrap + ".\n" +
		"• Step 5, if " + guide.ApplicationPermission + " with Type 'Application' is listed but its Status is not 'Granted for <your organisation>': click 'Grant admin consent for <your organisation>' and confirm (needs Global Administrator or Privileged Role / Cloud Application Administrator).\n" +
		"Then run the doctor again (new tokens carry the new roles)."
}

// checkBC lists companies: the first BC call proves the environment exists (404 if not)
// and that BC accepts the app (Step 6, 401 if not). Both checks are recorded.
func (r *run) checkBC(ctx context.Context) []bc.Company {
	if r.stop {
		r.record(Check{ID: CheckBCAccess, Title: "Business Central accepts the app", Step: guide.Step6BCAccess, Status: NotChecked})
		r.record(Check{ID: CheckEnvironment, Title: "Environment exists", Step: guide.ConnectionSettings, Status: NotChecked})
		return nil
	}
	start := time.Now()
	access := Check{ID: CheckBCAccess, Title: "Business Central accepts the app", Step: guide.Step6BCAccess, Status: Passed}
	env := Check{ID: CheckEnvironment, Title: "Environment exists", Step: guide.ConnectionSettings, Status: Passed}
	companies, err := r.client.Companies(ctx)
	var be *bc.Error
	switch {
	case err == nil:
		env.Details = []string{"environment " + r.in.Environment}
	case errors.As(err, &be) && be.StatusCode == http.StatusNotFound:
		env.Status, env.Evidence = Failed, bcEvidence(be)
		env.Problem = fmt.Sprintf("Business Central has no environment %q in this tenant", r.in.Environment)
		env.Fix = "open the Business Central admin center (https://businesscentral.dynamics.com/" + r.in.TenantID + "/admin) → Environments and copy the environment's Name exactly, in its upper and lower case (e.g. Production or Sandbox)"
		if std := standardEnvironmentName(r.in.Environment); std != "" {
			// BC may compare environment names case-sensitively (bc-entra-facts §4.1 says
			// "case-insensitive in practice", UNCONFIRMED).
			env.Problem += fmt.Sprintf("; BC may compare names in their exact case: is it %q?", std)
		}
		env.Retype = []string{"environment"}
		access.Status, access.Problem = NotChecked, "the environment must exist first"
	case errors.As(err, &be) && be.StatusCode == http.StatusUnauthorized:
		access.Status, access.Evidence = Failed, bcEvidence(be)
		access.Evidence.Roles, access.Evidence.TokenAppID = r.claims.Roles, r.claims.AppID
		access.Problem = fmt.Sprintf("Business Central rejected the app (401 %s) although the token carries %s: the app is not registered in environment %q, or its record is Disabled", be.Code, guide.ApplicationPermission, r.in.Environment)
		access.Fix = fmt.Sprintf("in Business Central (environment %s) search for '%s':\n"+
			"• if there is no record with Client ID %s: New → Client ID %s, Description '%s', State Enabled, add the permission set %s (or D365 BUS FULL ACCESS; SUPER cannot be assigned), then Grant Consent → Accept;\n"+
			"• if the record exists, set State to Enabled.\n"+
			"This is per environment: a record in Sandbox does not cover Production.",
			r.in.Environment, guide.BCPageName, r.in.ClientID, r.in.ClientID, guide.BCAppDescription, guide.PermissionSetName)
		if r.cfg.Express != nil {
			access.Problem = fmt.Sprintf("Business Central rejected %s (401 %s) although consent is granted: the app is missing on BC's %s page of environment %q, or its record is Disabled", r.cfg.Express.appName(), be.Code, guide.BCPageName, r.in.Environment)
			access.Fix = fmt.Sprintf("in Business Central (environment %s) search for '%s' → New: Client ID %s, Description '%s', State Enabled, and add the permission set %s (or D365 BUS FULL ACCESS; SUPER cannot be assigned); if the record exists, set State to Enabled. Consent is already granted, so skip Grant Consent. This is per environment",
				r.in.Environment, guide.BCPageName, r.in.ClientID, guide.BCAppDescription, guide.PermissionSetName)
		}
		env.Status = NotChecked
	default:
		access.Status, access.Step = Failed, guide.ConnectionSettings
		access.Problem = "could not reach Business Central: " + err.Error()
		access.Fix = "check the BC API base URL (default " + guide.DefaultBCBaseURL + "), proxies and the network"
		if errors.As(err, &be) {
			access.Evidence = bcEvidence(be)
		}
		env.Status = NotChecked
	}
	access.Duration, env.Duration = Seconds(time.Since(start)), Seconds(time.Since(start))
	// Record in guide order; a 404 fails the environment, leaving Step 6 unchecked.
	r.record(access)
	if access.Status == Failed {
		env.Status = NotChecked
	}
	r.record(env)
	return companies
}

// standardEnvironmentName returns BC's default environment name typed in another case
// ("production" → "Production"), or "".
func standardEnvironmentName(typed string) string {
	for _, std := range []string{"Production", "Sandbox"} {
		if typed != std && strings.EqualFold(typed, std) {
			return std
		}
	}
	return ""
}

func bcEvidence(be *bc.Error) *Evidence {
	return &Evidence{HTTPStatus: be.StatusCode, BCCode: string(be.Code), BCMessage: be.Message, CorrelationID: be.CorrelationID, ClientRequestID: be.ClientRequestID}
}

// checkCompany finds the company by ID or exact name; if missing it lists what exists.
func (r *run) checkCompany(c *Check, companies []bc.Company) {
	var names []string
	for _, co := range companies {
		names = append(names, fmt.Sprintf("%s (id %s)", co.Name, co.ID))
	}
	r.rep.Companies = names
	want := r.in.Company
	if want == "" {
		c.Status = Warning
		c.Problem = "no company was given"
		c.Fix = "pick one of the companies below"
		c.Details = names
		return
	}
	for _, co := range companies {
		if strings.EqualFold(co.ID, want) || co.Name == want {
			r.rep.CompanyID, r.rep.CompanyName = co.ID, co.Name
			c.Details = []string{fmt.Sprintf("%s (id %s)", co.Name, co.ID)}
			return
		}
	}
	c.Status, c.Retype = Failed, []string{"company"}
	c.Problem = fmt.Sprintf("environment %q has no company %q", r.in.Environment, want)
	c.Fix = "use one of these companies (names are exact, including '&', apostrophes and spaces):"
	c.Details = names
	for _, co := range companies {
		if strings.EqualFold(co.Name, want) || strings.EqualFold(co.DisplayName, want) {
			c.Fix = fmt.Sprintf("did you mean %q? Names must match exactly; companies:", co.Name)
		}
	}
}

// checkRead reads one entity of every entity set; permission errors are listed together
// (Step 6). Aggregates that silently filter are flagged when only drafts are visible.
func (r *run) checkRead(ctx context.Context, c *Check) {
	var denied, other []string
	var ev *Evidence
	for _, set := range r.cfg.Entities {
		q := &bc.Query{Top: 1, Select: []string{"id"}}
		if ent, ok := bcschema.MustLoad().EntitySet(set); ok && ent.Parent != nil {
			// Line sets refuse a listing without their parent (schema notes).
			q.Filter = bc.Eq(ent.Parent.ChildField, bc.GUID("00000000-0000-0000-0000-000000000000"))
		}
		_, err := r.client.ListPage(ctx, bc.Set(r.rep.CompanyID, set), q)
		if err == nil {
			continue
		}
		var be *bc.Error
		switch {
		case bc.IsPermission(err) && errors.As(err, &be):
			denied = append(denied, fmt.Sprintf("%s — %s", set, be.Message))
			if ev == nil {
				ev = bcEvidence(be)
			}
		default:
			other = append(other, fmt.Sprintf("%s — %v", set, err))
		}
	}
	c.Details = append(c.Details, r.aggregateHints(ctx)...)
	switch {
	case len(denied) > 0:
		c.Status, c.Evidence = Failed, ev
		c.Problem = fmt.Sprintf("the app may not read %d of %d entity sets", len(denied), len(r.cfg.Entities))
		c.Fix = fmt.Sprintf("in Business Central (environment %s) open %s → the record for %s → add a permission set that grants read on the tables named below; "+
			"`bcconnector permission-set --entities %s` writes the least-privilege set %s to install instead of broad sets",
			r.in.Environment, guide.BCPageName, r.in.ClientID, strings.Join(r.cfg.Entities, ","), guide.PermissionSetName)
		c.Details = append(denied, c.Details...)
	case len(other) > 0:
		c.Status = Warning
		c.Problem = "some entity sets could not be read for other reasons"
		c.Details = append(other, c.Details...)
	case len(c.Details) > 0:
		c.Status = Warning
		c.Problem = "some documents may be hidden by the permission set"
	}
}

// aggregateHints: salesInvoices & co. read drafts and posted documents from two tables and
// drop, without an error, the rows of a table the app may not read (bc-entra-facts §3.4).
// When drafts are visible but no posted document is, the posted table is likely missing.
func (r *run) aggregateHints(ctx context.Context) []string {
	var out []string
	for _, set := range []string{"salesInvoices", "purchaseInvoices", "salesCreditMemos"} {
		if !slices.Contains(r.cfg.Entities, set) {
			continue
		}
		ref := bc.Set(r.rep.CompanyID, set)
		drafts, err1 := r.client.ListPage(ctx, ref, &bc.Query{Top: 1, Select: []string{"id"}, Filter: bc.Eq("status", "Draft")})
		posted, err2 := r.client.ListPage(ctx, ref, &bc.Query{Top: 1, Select: []string{"id"}, Filter: bc.Ne("status", "Draft")})
		if err1 == nil && err2 == nil && len(drafts.Records) > 0 && len(posted.Records) == 0 {
			out = append(out, fmt.Sprintf("%s: only drafts are visible; if the company has posted documents, the permission set lacks read on the posted table (BC hides them without an error)", set))
		}
	}
	return out
}

// checkWrite proves insert permission without changing data: each probe runs in a
// transactional $batch (Isolation: snapshot) whose last operation is meant to fail, so BC
// rolls the insert back (bc-entra-facts §6).
func (r *run) checkWrite(ctx context.Context, c *Check) {
	var denied, unproved []string
	var ev *Evidence
	for _, set := range r.cfg.WriteEntities {
		var b bc.Batch
		probe := b.Create(bc.Set(r.rep.CompanyID, set), r.probeBody(ctx, set))
		b.Get(bc.Ref{Path: "companies"}, "00000000-0000-0000-0000-000000000000", nil) // fails: rolls everything back
		results, err := r.client.Batch(ctx, &b, &bc.BatchOptions{Atomic: true})
		if len(results) <= probe {
			unproved = append(unproved, fmt.Sprintf("%s — %v", set, err))
			continue
		}
		res := results[probe]
		switch {
		case res.Status == http.StatusCreated:
		case res.Err != nil && bc.IsPermission(res.Err):
			denied = append(denied, fmt.Sprintf("%s — %s", set, res.Err.Message))
			if ev == nil {
				ev = bcEvidence(res.Err)
			}
		default:
			msg := fmt.Sprintf("HTTP %d", res.Status)
			if res.Err != nil {
				msg = res.Err.Message
			}
			unproved = append(unproved, fmt.Sprintf("%s — the probe insert was refused for another reason (%s)", set, msg))
		}
	}
	switch {
	case len(denied) > 0:
		c.Status, c.Evidence = Failed, ev
		c.Problem = fmt.Sprintf("the app may not write %d entity sets", len(denied))
		c.Fix = fmt.Sprintf("in %s → the record for %s, add a permission set that grants insert, modify and delete on these tables; `bcconnector permission-set --write %s` generates it",
			guide.BCPageName, r.in.ClientID, strings.Join(r.cfg.WriteEntities, ","))
		c.Details = denied
	case len(unproved) > 0:
		c.Status, c.Problem, c.Details = Warning, "write access could not be proved for some sets", unproved
	}
}

// probeBody is the smallest valid body for an insert into set: documents need an existing
// customer or vendor.
func (r *run) probeBody(ctx context.Context, set string) map[string]any {
	party := ""
	switch set {
	case "customers", "vendors", "items", "contacts", "employees":
		return map[string]any{"displayName": "Bizzjoiner doctor probe (rolled back)"}
	case "salesInvoices", "salesOrders", "salesQuotes", "salesCreditMemos":
		party = "customer"
	case "purchaseInvoices", "purchaseOrders", "purchaseCreditMemos":
		party = "vendor"
	default:
		return map[string]any{}
	}
	page, err := r.client.ListPage(ctx, bc.Set(r.rep.CompanyID, party+"s"), &bc.Query{Top: 1, Select: []string{"id"}})
	if err != nil || len(page.Records) == 0 {
		return map[string]any{}
	}
	return map[string]any{party + "Id": page.Records[0].ID}
}

// checkExpiry warns from 30 days before the secret's end date (and at 14 and 3).
func (r *run) checkExpiry(c *Check) {
	if r.cfg.Express != nil {
		r.cfg.Express.expiryAdvice(c, r.in.SecretEndDate, r.cfg.Now())
		return
	}
	if r.in.Certificate != nil {
		r.checkCertificateExpiry(c)
		return
	}
	end := r.in.SecretEndDate
	if end.IsZero() {
		c.Status = Warning
		c.Problem = "the secret's end date is unknown, so nobody will be warned before it expires"
		c.Fix = "enter the date from the Expires column under Certificates & secrets"
		return
	}
	level, days := guide.ExpiryLevel(end, r.cfg.Now())
	c.Details = []string{"expires " + end.Format("2006-01-02")}
	switch level {
	case guide.ExpiryExpired:
		c.Status, c.Problem = Failed, "the secret expired on "+end.Format("2006-01-02")
		c.Fix = "create a new client secret (Certificates & secrets → New client secret) and rotate it in"
	case guide.ExpiryNone:
	default:
		c.Status = Warning
		c.Problem = fmt.Sprintf("the secret expires in %d days", days)
		c.Fix = "create a new client secret now and rotate it in (bcconnector connection rotate-secret): add, verify, then retire the old one"
	}
}

// checkCertificateExpiry is checkExpiry for a certificate credential, at the same levels
// (guide.ExpiryLevel): its end date is the certificate's, always known.
func (r *run) checkCertificateExpiry(c *Check) {
	c.Title = "Certificate end date"
	end := r.in.SecretEndDate
	level, days := guide.ExpiryLevel(end, r.cfg.Now())
	c.Details = []string{"certificate " + r.in.Certificate.Thumbprint() + " expires " + end.Format(time.DateOnly)}
	rotate := "generate a new certificate and rotate it in (bcconnector connection rotate NAME --certificate): upload its .cer under Certificates & secrets → Certificates, check, then delete the old one in the portal"
	switch level {
	case guide.ExpiryExpired:
		c.Status, c.Problem, c.Fix = Failed, "the certificate expired on "+end.Format(time.DateOnly), rotate
	case guide.ExpiryNone:
	default:
		c.Status, c.Problem, c.Fix = Warning, fmt.Sprintf("the certificate expires in %d days", days), rotate
	}
}
