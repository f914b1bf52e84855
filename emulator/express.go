package emulator

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/bizzjoiner/bcconnector/emulator/idp"
)

// Express setup (auth-jobs-delivery-facts §2): Bizzjoiner registers one multi-tenant app in
// its own directory and holds its credential; a customer's admin grants admin consent for
// it (which creates its service principal in the customer's tenant) and registers its
// client ID in BC. The emulator holds that vendor directory and app besides the customers.
const (
	// VendorTenantDomain is the verified domain of Bizzjoiner's own directory.
	VendorTenantDomain = "bizzjoiner.onmicrosoft.com"
	// ExpressAppName is the display name of Bizzjoiner's multi-tenant app.
	ExpressAppName = "Bizzjoiner Connector"
	// RestrictedTenantDomain is a customer tenant whose admin disabled user consent
	// (idp.UserConsentDisabled): its consent link, followed without an admin, answers
	// AADSTS90094.
	RestrictedTenantDomain = "tailspin.onmicrosoft.com"
)

// ExpressCredentials are the values of Bizzjoiner's own multi-tenant app (what the
// operator configures) and the customer tenants express setup is tried against.
type ExpressCredentials struct {
	// VendorTenantID is the directory that holds the app registration.
	VendorTenantID string
	// ClientID and ClientSecret are the multi-tenant app's; SecretEndDate its secret's end.
	ClientID      string
	ClientSecret  string
	SecretEndDate time.Time
	// CustomerTenantID is the scenario's customer (Credentials().TenantID), where the app
	// has no service principal until an admin consents, nor a BC registration until Step 6.
	CustomerTenantID string
	// RestrictedTenantID is a customer tenant with user consent disabled (domain
	// RestrictedTenantDomain), with BC, environment DemoEnvironment and company DemoCompany.
	RestrictedTenantID string
}

// addVendor adds Bizzjoiner's directory with its multi-tenant app and the restricted
// customer tenant; it returns the credentials and the restricted tenant's BC spec.
func (e *Emulator) addVendor(now time.Time, customerTenant string) (ExpressCredentials, error) {
	seed := e.cfg.Seed
	vendor := idp.Tenant{ID: seededGUID(seed, "tenant/bizzjoiner"), Domains: []string{VendorTenantDomain}, DisplayName: "Bizzjoiner"}
	sec := idp.Secret{ID: seededGUID(seed, "secret/id/express"), Value: secretValue(seed, "secret/express"),
		Description: "bcconnector express", EndDate: now.AddDate(2, 0, 0).Truncate(24 * time.Hour)}
	app := idp.App{
		ClientID: seededGUID(seed, "app/bizzjoiner-express"), DisplayName: ExpressAppName, Enabled: true,
		SignInAudience: idp.MultiTenantAudience, RedirectURIs: slices.Clone(e.cfg.ExpressRedirectURIs),
		Secrets:     []idp.Secret{sec},
		Permissions: []idp.Permission{{Resource: idp.BCResourceID, Value: idp.RoleAPIReadWriteAll, Type: idp.Application}},
	}
	restricted := idp.Tenant{ID: seededGUID(seed, "tenant/tailspin"), Domains: []string{RestrictedTenantDomain},
		DisplayName: "Tailspin Toys", HasBC: true, UserConsent: idp.UserConsentDisabled}
	for _, t := range []idp.Tenant{vendor, restricted} {
		if err := e.dir.AddTenant(t); err != nil {
			return ExpressCredentials{}, err
		}
	}
	if err := e.dir.AddApp(vendor.ID, app); err != nil {
		return ExpressCredentials{}, err
	}
	return ExpressCredentials{VendorTenantID: vendor.ID, ClientID: app.ClientID, ClientSecret: sec.Value,
		SecretEndDate: sec.EndDate, CustomerTenantID: customerTenant, RestrictedTenantID: restricted.ID}, nil
}

// Express returns the values of Bizzjoiner's own multi-tenant app and the tenants express
// setup is tried against.
func (e *Emulator) Express() ExpressCredentials {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.express
}

// AllowExpressRedirect adds uri to the redirect URIs of Bizzjoiner's multi-tenant app (the
// portal's Authentication → Web → Add URI), so admin consent may return to it. Adding one
// that is there already does nothing.
func (e *Emulator) AllowExpressRedirect(uri string) error {
	if !strings.HasPrefix(uri, "https://") && !strings.HasPrefix(uri, "http://localhost") && !strings.HasPrefix(uri, "http://127.0.0.1") {
		return fmt.Errorf("emulator: redirect URI %q must be https (or http://localhost), as Entra requires", uri)
	}
	x := e.Express()
	return e.dir.UpdateApp(x.VendorTenantID, x.ClientID, func(a *idp.App) {
		if !slices.Contains(a.RedirectURIs, uri) {
			a.RedirectURIs = append(a.RedirectURIs, uri)
		}
	})
}
