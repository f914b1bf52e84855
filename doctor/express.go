package doctor

import (
	"fmt"
	"strings"
	"time"

	"github.com/bizzjoiner/bcconnector/entra"
	"github.com/bizzjoiner/bcconnector/guide"
	"github.com/bizzjoiner/bcconnector/store"
)

// Express describes an express connection to the doctor: Bizzjoiner's own multi-tenant app
// with the operator's credential, in the customer's tenant. The customer's admin did two
// things, grant admin consent (Step 5) and register the app in BC (Step 6); everything
// else (the app, its permission, its credential) is the operator's, so failures there are
// the operator's to fix and the report says so (auth-jobs-delivery-facts §2).
type Express struct {
	// AppName is the multi-tenant app's name, as the customer's Enterprise applications
	// list shows it.
	AppName string
	// ConsentURL is the admin-consent link for the customer's tenant ("" if none can be
	// made, e.g. no public URL for the callback).
	ConsentURL string
	// Consent is the last answer Entra sent back to the consent callback (zero: none).
	Consent store.Consent
	// ConsentHow says where the link is, e.g. "`bcconnector consent-url NAME`".
	ConsentHow string
}

// ExpressAppName is the default name of Bizzjoiner's multi-tenant app.
const ExpressAppName = "Bizzjoiner Connector"

func (x *Express) appName() string {
	if x.AppName != "" {
		return x.AppName
	}
	return ExpressAppName
}

// consentLink is how a fix tells the customer's admin to open the consent link.
func (x *Express) consentLink() string {
	var where []string
	if x.ConsentURL != "" {
		where = append(where, x.ConsentURL)
	}
	if x.ConsentHow != "" {
		where = append(where, x.ConsentHow)
	}
	if len(where) == 0 {
		return "the admin-consent link of this connection"
	}
	return "the admin-consent link (" + strings.Join(where, "; or ") + ")"
}

// restricted reports whether the last consent answer was Entra's "a user may not consent
// here" (AADSTS90094, or 90095 with the admin consent workflow).
func (x *Express) restricted() (code string, ok bool) {
	if x.Consent.State != store.ConsentRefused {
		return "", false
	}
	for _, c := range []string{"AADSTS90094", "AADSTS90095"} {
		if strings.Contains(x.Consent.ErrorDescription, c) {
			return c, true
		}
	}
	return "", false
}

// adminRoles are the Entra roles that may grant tenant-wide admin consent.
const adminRoles = "Global Administrator, Privileged Role Administrator or Cloud Application Administrator"

// operatorFix is the fix of every failure of the operator's credential.
const operatorFix = "this is for the operator of bcconnector (Bizzjoiner), not the customer: in Bizzjoiner's own directory open App registrations → the multi-tenant app → Certificates & secrets, create a new client secret (or upload a certificate), then `bcconnector express-app set` with it on the bcconnector server; every express connection uses it at once. The customer has nothing to do"

// expressAdvice is entraAdvice for an express connection: the step of the express path
// (Step 5 for consent) or the operator's credential, and the fix.
func expressAdvice(ee *entra.Error, in guide.Checked, x *Express) (guide.Step, string, string) {
	app := x.appName()
	switch ee.Scenario {
	case entra.ScenarioClientUnknown, entra.ScenarioServicePrincipalMissing:
		grant := "open " + x.consentLink() + " signed in as a " + adminRoles + " of the tenant, review the permission (" + guide.APIName + " → " + guide.ApplicationPermission + ") and Accept; bcconnector records the answer. Then run the doctor again"
		if code, ok := x.restricted(); ok {
			return guide.Step5Consent, fmt.Sprintf("admin consent has not been granted: the tenant's admin restricted consent, so the person who opened the link could not grant it (%s: %s)", code, x.Consent.ErrorDescription),
				"only a " + adminRoles + " can consent in this tenant: send them " + x.consentLink() + " to open and Accept (with the admin consent workflow on, they can instead approve the request under Enterprise applications → Admin consent requests). Then run the doctor again"
		}
		switch {
		case x.Consent.State == store.ConsentRefused:
			return guide.Step5Consent, fmt.Sprintf("admin consent was not granted: Entra answered %s (%s)", x.Consent.Error, x.Consent.ErrorDescription), grant
		case hadConsent(x.Consent.State) || ee.Scenario == entra.ScenarioServicePrincipalMissing:
			return guide.Step5Consent, fmt.Sprintf("consent was revoked: %s (client ID %s) is no longer in tenant %s (its enterprise application was deleted)", app, in.ClientID, in.TenantID),
				"grant it again: " + grant
		}
		return guide.Step5Consent, fmt.Sprintf("admin consent for %s has not been granted in tenant %s yet, so Entra does not know the app there", app, in.TenantID), grant
	case entra.ScenarioSecretWrong, entra.ScenarioSecretExpired, entra.ScenarioCertificateUnknown, entra.ScenarioCertificateExpired,
		entra.ScenarioCertificateSignature, entra.ScenarioCertificateWeak, entra.ScenarioAssertionInvalid:
		return guide.OperatorCredential, "Entra refused the credential of Bizzjoiner's own app (" + firstLine(ee.Description) + ")", operatorFix
	case entra.ScenarioAppDisabled:
		return guide.Step5Consent, fmt.Sprintf("%s is disabled in tenant %s", app, in.TenantID),
			"in the tenant's Entra admin center open Enterprise applications → " + app + " → Properties, set 'Enabled for users to sign-in?' to Yes and Save"
	case entra.ScenarioTenantUnknown, entra.ScenarioTenantMalformed:
		return guide.ConnectionSettings, fmt.Sprintf("Entra does not know the tenant %q", in.TenantID),
			"give the customer's Directory (tenant) ID (Entra admin center → Overview) or a verified domain such as contoso.onmicrosoft.com"
	}
	return entraAdvice(ee, in)
}

// ConsentRevokedBy reports whether Entra's refusal of an express connection's token
// request means its admin consent, granted before (state), was revoked: the app's service
// principal is gone from the tenant (AADSTS7000229) or Entra does not know the app there
// (AADSTS700016, which before a consent means "never consented", bc-entra-facts §1.4).
func ConsentRevokedBy(ee *entra.Error, state store.ConsentState) bool {
	if ee == nil || !hadConsent(state) {
		return false
	}
	return ee.Scenario == entra.ScenarioServicePrincipalMissing || ee.Scenario == entra.ScenarioClientUnknown
}

// hadConsent: the consent callback said granted, whether or not it was seen revoked since.
func hadConsent(s store.ConsentState) bool {
	return s == store.ConsentGranted || s == store.ConsentRevoked
}

func firstLine(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		return s[:i]
	}
	return s
}

// expressRolesFix is checkRoles' fix for an express connection: the app's permission is
// Bizzjoiner's, so a token without it means the grant was removed in the customer's tenant.
func (x *Express) rolesAdvice(in guide.Checked) (string, string) {
	return fmt.Sprintf("the token of %s has no %s role: the admin-consent grant was removed in tenant %s (consent revoked), or never completed", x.appName(), guide.ApplicationPermission, in.TenantID),
		"open " + x.consentLink() + " signed in as a " + adminRoles + " and Accept again (or Enterprise applications → " + x.appName() + " → Permissions → 'Grant admin consent'). Then run the doctor again (new tokens carry the new roles)"
}

// expiryAdvice is checkExpiry for the operator's credential: its end date warns the
// operator, never the customer.
func (x *Express) expiryAdvice(c *Check, end time.Time, now time.Time) {
	c.Title, c.Step = "Bizzjoiner's app credential end date", guide.OperatorCredential
	if end.IsZero() {
		c.Status = Warning
		c.Problem = "the end date of Bizzjoiner's app credential is unknown, so the operator will not be warned before it expires"
		c.Fix = "operator: give its end date with `bcconnector express-app set --secret-end-date`"
		return
	}
	level, days := guide.ExpiryLevel(end, now)
	c.Details = []string{"Bizzjoiner's app credential expires " + end.Format(time.DateOnly)}
	switch level {
	case guide.ExpiryExpired:
		c.Status, c.Problem, c.Fix = Failed, "the credential of Bizzjoiner's own app expired on "+end.Format(time.DateOnly)+": every express connection stops", operatorFix
	case guide.ExpiryNone:
	default:
		c.Status, c.Problem, c.Fix = Warning, fmt.Sprintf("the credential of Bizzjoiner's own app expires in %d days", days), operatorFix
	}
}
