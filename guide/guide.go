// Package guide is the customer setup guide as code: its steps, what each asks the admin
// to do and where, the values that come out of it, and the validation of those values
// before anything is stored or sent. The doctor, the CLI and the web wizard all speak in
// these steps, so an admin reads the same step number and fix everywhere.
//
// The guide's Step 4 says "Application permissions → Financials.ReadWrite.All". That
// permission is Delegated only; the application permission BC needs for client
// credentials is API.ReadWrite.All (bc-entra-facts §0.1, §2). Everything here tells the
// admin the right one.
package guide

import (
	"fmt"
	"net/url"
	"strings"
)

// Step is a step of the customer setup guide (seed/customer-setup-guide.txt).
type Step int

// The steps. Prerequisites and ConnectionSettings are not numbered in the guide: the
// first is what the tenant must already have, the second the values typed into Bizzjoiner.
const (
	Prerequisites Step = iota
	Step1Register
	Step2IDs
	Step3Secret
	Step4Permissions
	Step5Consent
	Step6BCAccess
	ConnectionSettings
	// OperatorCredential is not a step of the customer's guide: the credential of
	// Bizzjoiner's own multi-tenant app that express connections use, which the operator
	// of bcconnector keeps (the customer has nothing to do).
	OperatorCredential
)

var stepTitles = map[Step]string{
	Prerequisites:      "Prerequisites",
	Step1Register:      "Step 1 – Register a New Application",
	Step2IDs:           "Step 2 – Copy Application (Client) ID and Tenant ID",
	Step3Secret:        "Step 3 – Create a Client Secret",
	Step4Permissions:   "Step 4 – Assign API Permissions",
	Step5Consent:       "Step 5 – Grant Admin Consent",
	Step6BCAccess:      "Step 6 – Configure Business Central Access",
	ConnectionSettings: "Connection settings",
	OperatorCredential: "Operator: Bizzjoiner's app credential",
}

// String returns the step's title as the guide prints it, e.g. "Step 3 – Create a Client Secret".
func (s Step) String() string {
	if t, ok := stepTitles[s]; ok {
		return t
	}
	return fmt.Sprintf("Step(%d)", int(s))
}

// Short returns "Step 3", "Prerequisites" or "Connection settings".
func (s Step) Short() string {
	if s >= Step1Register && s <= Step6BCAccess {
		return fmt.Sprintf("Step %d", int(s))
	}
	return s.String()
}

// MarshalText makes steps read as their short name in JSON reports.
func (s Step) MarshalText() ([]byte, error) { return []byte(s.Short()), nil }

// Steps returns the guide's steps in order, prerequisites first, then the operator's
// credential (express connections).
func Steps() []Step {
	return []Step{Prerequisites, Step1Register, Step2IDs, Step3Secret, Step4Permissions, Step5Consent, Step6BCAccess, ConnectionSettings, OperatorCredential}
}

// Values the guide asks for, filled in for the admin.
const (
	// RedirectURI is the Web redirect URI of Step 1; BC's Grant Consent action (Step 6)
	// returns to it (bc-entra-facts §3.1).
	RedirectURI = "https://businesscentral.dynamics.com/OAuthLanding.htm"
	// AccountType is the supported account type of Step 1.
	AccountType = "Accounts in this organizational directory only"
	// SecretDescription is the description of Step 3's secret.
	SecretDescription = "Bizzjoiner Secret"
	// APIName is what Step 4 selects under "Add a permission".
	APIName = "Dynamics 365 Business Central"
	// ApplicationPermission is the permission Step 4 must add, under Application
	// permissions (the guide's Financials.ReadWrite.All is Delegated only).
	ApplicationPermission = "API.ReadWrite.All"
	// DelegatedTrap is the permission the guide names, which is Delegated only.
	DelegatedTrap = "Financials.ReadWrite.All"
	// BCPageName is the BC page of Step 6.
	BCPageName = "Microsoft Entra Applications"
	// BCAppDescription is the description of Step 6's record.
	BCAppDescription = "Bizzjoiner Connector"
	// PermissionSetName is the least-privilege permission set of Step 6.
	PermissionSetName = "BIZZJOINER CONNECTOR"
	// DefaultAuthorityHost is Entra ID's public cloud.
	DefaultAuthorityHost = "https://login.microsoftonline.com/"
	// DefaultBCBaseURL is BC online's API endpoint (bc-entra-facts §4.1).
	DefaultBCBaseURL = "https://api.businesscentral.dynamics.com/v2.0"
	// EntraPortal is the Entra admin center.
	EntraPortal = "https://entra.microsoft.com"
)

// DisplayName is the app name the guide's convention gives:
// "Bizzjoiner – BC Connector – {Environment} – {Company}".
func DisplayName(environment, company string) string {
	return "Bizzjoiner – BC Connector – " + environment + " – " + company
}

// ExpressConsentURL is the admin-consent link of express setup (Step 5 for Bizzjoiner's own
// multi-tenant app, auth-jobs-delivery-facts §2): GET {authority}/{tenant}/adminconsent with
// client_id, redirect_uri (back to bcconnector, which records the answer) and state.
func ExpressConsentURL(authorityHost, tenant, clientID, redirectURI, state string) string {
	if authorityHost == "" {
		authorityHost = DefaultAuthorityHost
	}
	q := url.Values{"client_id": {clientID}, "redirect_uri": {redirectURI}, "state": {state}}
	return strings.TrimSuffix(authorityHost, "/") + "/" + url.PathEscape(tenant) + "/adminconsent?" + q.Encode()
}

// AdminConsentURL is the URL that grants tenant-wide admin consent to the app (Step 5, or
// BC's Grant Consent in Step 6); it returns to RedirectURI (bc-entra-facts §1.6).
func AdminConsentURL(authorityHost, tenant, clientID string) string {
	if authorityHost == "" {
		authorityHost = DefaultAuthorityHost
	}
	q := url.Values{"client_id": {clientID}, "redirect_uri": {RedirectURI}}
	return strings.TrimSuffix(authorityHost, "/") + "/" + url.PathEscape(tenant) + "/adminconsent?" + q.Encode()
}
