package idp

import (
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Tenant is one Entra tenant (bc-entra-facts §11 item 6).
type Tenant struct {
	// ID is the tenant GUID (the tid claim). Stored lower-case.
	ID string
	// Domains are the verified domains that may stand for the tenant in URLs, e.g.
	// "contoso.onmicrosoft.com". Compared case-insensitively; unique across the directory.
	Domains []string
	// DisplayName is the organisation name Entra prints in some errors ("tenant named …").
	// Empty means the ID is printed instead.
	DisplayName string
	// HasBC says the tenant has the Business Central service principal. False (the zero
	// value) makes every token request for BC fail with AADSTS500011, as in a tenant that
	// never had BC.
	HasBC bool
	// UserConsent is the tenant's "User consent for applications" setting (Enterprise
	// applications → Consent and permissions). The zero value allows it. With UserConsentDisabled
	// or UserConsentAdminWorkflow the person who follows an admin-consent link is taken to be
	// a user without an admin role (the emulator has no sign-in), who is refused with
	// AADSTS90094, or AADSTS90095 with the admin consent workflow
	// (auth-jobs-delivery-facts §2); an explicit emulator_consent=grant is an admin's Accept.
	UserConsent UserConsent
}

// UserConsent is a tenant's user-consent setting (auth-jobs-delivery-facts §2).
type UserConsent string

// The user-consent settings.
const (
	// UserConsentAllowed: users may consent (the zero value).
	UserConsentAllowed UserConsent = ""
	// UserConsentDisabled: "Do not allow user consent"; users get AADSTS90094.
	UserConsentDisabled UserConsent = "disabled"
	// UserConsentAdminWorkflow: user consent disabled and the admin consent workflow on;
	// users get AADSTS90095 and may request approval.
	UserConsentAdminWorkflow UserConsent = "admin-consent-workflow"
)

// App is an app registration together with its service principal in one tenant. A
// multi-tenant app used in several tenants is added once per tenant, with the same ClientID
// and a different ServicePrincipalID.
type App struct {
	// ClientID is the application (client) id, a GUID. Stored lower-case.
	ClientID string
	// ObjectID is the application object's id. Generated when empty.
	ObjectID string
	// ServicePrincipalID is the service principal's object id in this tenant; it becomes the
	// oid and sub claims. Generated when empty.
	ServicePrincipalID string
	// DisplayName is printed in AADSTS7000112 ("Application '{appId}'({appName}) is disabled.").
	DisplayName string
	// Enabled is "Enabled for users to sign-in" on the enterprise application. The zero value
	// is a disabled app (AADSTS7000112): set Enabled: true for a working one.
	Enabled bool
	// SignInAudience is "AzureADMyOrg" (this directory only) or "AzureADMultipleOrgs" (a
	// multi-tenant app: admin consent in another tenant creates its service principal
	// there, auth-jobs-delivery-facts §2).
	SignInAudience string
	// HomeTenantID is set on the service principal of another directory's multi-tenant app
	// (created by admin consent, see Directory.GrantConsent): the tenant that holds the app
	// registration. Such an entry has no credentials of its own; the token endpoint checks
	// secrets and certificates against the home registration, so the vendor's rotation
	// applies everywhere at once. Empty for an app registered in this tenant.
	HomeTenantID string
	// RedirectURIs are the app's reply URLs; /adminconsent redirects only to one of them.
	RedirectURIs []string
	// Secrets are the app's client secrets.
	Secrets []Secret
	// Certificates are the app's certificate credentials ("Certificates" tab of
	// "Certificates & secrets", the keyCredentials of the application object).
	Certificates []Certificate
	// Permissions are the API permissions the app requests, each with its consent state.
	Permissions []Permission
}

// Secret is a client secret of an app registration.
type Secret struct {
	// ID is the secret's key id (what the portal shows as "Secret ID"). Generated when empty.
	// Sending the ID instead of the Value is a classic mistake: it fails with AADSTS7000215.
	ID string
	// Value is the secret itself; required.
	Value string
	// Description is the portal's description.
	Description string
	// EndDate is when the secret expires; the zero value never expires. A request that sends
	// the Value at or after EndDate fails with AADSTS7000222.
	EndDate time.Time
}

// Certificate is a certificate credential of an app registration: an uploaded .cer/.pem
// whose public key verifies client assertions (auth-jobs-delivery-facts §1). Entra finds it
// by the thumbprint in the assertion's header; an app may hold several, so the next one is
// uploaded before the client switches.
type Certificate struct {
	// DER is the uploaded X.509 certificate; required, and its key must be RSA ("Microsoft
	// Entra ID currently supports only RSA").
	DER []byte
	// KeyID is the key credential's id. Generated when empty.
	KeyID string
	// Description is the portal's description; empty means the certificate's subject.
	Description string
	// StartDate and EndDate bound when Entra accepts assertions signed with the key; zero
	// values take the certificate's NotBefore and NotAfter, as an upload does. An assertion
	// outside them fails with AADSTS700027 "The key used is expired".
	StartDate, EndDate time.Time
}

// Thumbprint is the certificate's SHA-1 thumbprint in upper-case hex, as the portal shows it
// (and as customKeyIdentifier holds it in base64).
func (c Certificate) Thumbprint() string {
	sum := sha1.Sum(c.DER)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// Permission is one API permission an app requests.
type Permission struct {
	// Resource is the resource's app id, BCResourceID for Business Central (the resource URI
	// is accepted too).
	Resource string
	// Value is the permission value, e.g. "API.ReadWrite.All" or "Financials.ReadWrite.All".
	Value string
	// Type is Delegated or Application. Only consented Application permissions that the
	// resource defines as app roles end up in the roles claim.
	Type PermissionType
	// Consented says admin consent was granted in this tenant.
	Consented bool
}

// Directory is the emulator's Entra directory: tenants and their apps. It is safe for
// concurrent use and may be changed while the server runs; a change affects the next token
// request, never a token already issued (roles are frozen at issuance, bc-entra-facts §1.6).
type Directory struct {
	mu      sync.RWMutex
	tenants map[string]*tenantEntry // by lower-case tenant id
	domains map[string]string       // lower-case domain -> tenant id
}

type tenantEntry struct {
	tenant Tenant
	apps   map[string]App // by lower-case client id
	// removedSPs are the client ids of other directories' apps whose service principal was
	// deleted here (consent revoked by deleting the enterprise application).
	removedSPs map[string]bool
}

// NewDirectory returns an empty directory.
func NewDirectory() *Directory {
	return &Directory{tenants: map[string]*tenantEntry{}, domains: map[string]string{}}
}

// AddTenant adds a tenant. The ID must be a non-empty GUID other than the all-zero GUID, every
// domain a DNS name with at least two labels, and neither may already be taken.
func (d *Directory) AddTenant(t Tenant) error {
	t = cloneTenant(t)
	if err := normalizeTenant(&t); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.tenants[t.ID]; ok {
		return fmt.Errorf("idp: Tenant.ID %q already exists; use UpdateTenant to change it", t.ID)
	}
	if err := d.checkDomainsFree(t.ID, t.Domains); err != nil {
		return err
	}
	d.tenants[t.ID] = &tenantEntry{tenant: t, apps: map[string]App{}, removedSPs: map[string]bool{}}
	for _, dom := range t.Domains {
		d.domains[dom] = t.ID
	}
	return nil
}

// UpdateTenant changes a tenant in place: fn gets a copy, and the result is validated and
// stored. The ID cannot change.
func (d *Directory) UpdateTenant(id string, fn func(*Tenant)) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	e, ok := d.tenants[strings.ToLower(id)]
	if !ok {
		return fmt.Errorf("idp: UpdateTenant: no tenant with ID %q", id)
	}
	t := cloneTenant(e.tenant)
	fn(&t)
	if err := normalizeTenant(&t); err != nil {
		return err
	}
	if t.ID != e.tenant.ID {
		return fmt.Errorf("idp: UpdateTenant: Tenant.ID cannot change (%q -> %q); remove and add instead", e.tenant.ID, t.ID)
	}
	if err := d.checkDomainsFree(t.ID, t.Domains); err != nil {
		return err
	}
	for _, dom := range e.tenant.Domains {
		delete(d.domains, dom)
	}
	for _, dom := range t.Domains {
		d.domains[dom] = t.ID
	}
	e.tenant = t
	return nil
}

// RemoveTenant deletes a tenant and its apps; requests naming it then fail with AADSTS90002.
func (d *Directory) RemoveTenant(id string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	e, ok := d.tenants[strings.ToLower(id)]
	if !ok {
		return fmt.Errorf("idp: RemoveTenant: no tenant with ID %q", id)
	}
	for _, dom := range e.tenant.Domains {
		delete(d.domains, dom)
	}
	delete(d.tenants, e.tenant.ID)
	return nil
}

// LookupTenant finds a tenant by GUID or verified domain, case-insensitively.
func (d *Directory) LookupTenant(idOrDomain string) (Tenant, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	e := d.lookupLocked(idOrDomain)
	if e == nil {
		return Tenant{}, false
	}
	return cloneTenant(e.tenant), true
}

// Tenants returns copies of all tenants, ordered by ID.
func (d *Directory) Tenants() []Tenant {
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := make([]Tenant, 0, len(d.tenants))
	for _, e := range d.tenants {
		out = append(out, cloneTenant(e.tenant))
	}
	slices.SortFunc(out, func(a, b Tenant) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// AddApp registers an app (and its service principal) in a tenant. ClientID must be a GUID
// not yet used in that tenant; empty ObjectID, ServicePrincipalID and secret IDs are generated.
func (d *Directory) AddApp(tenantID string, a App) error {
	a = cloneApp(a)
	if err := normalizeApp(&a); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	e, ok := d.tenants[strings.ToLower(tenantID)]
	if !ok {
		return fmt.Errorf("idp: AddApp: no tenant with ID %q; add the tenant first", tenantID)
	}
	if _, dup := e.apps[a.ClientID]; dup {
		return fmt.Errorf("idp: AddApp: App.ClientID %q already exists in tenant %s; use UpdateApp", a.ClientID, e.tenant.ID)
	}
	e.apps[a.ClientID] = a
	delete(e.removedSPs, a.ClientID)
	return nil
}

// UpdateApp changes an app in place: fn gets a copy, and the result is validated and stored.
// The ClientID cannot change. Typical uses: expire a secret, disable the app, revoke consent.
func (d *Directory) UpdateApp(tenantID, clientID string, fn func(*App)) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	e, ok := d.tenants[strings.ToLower(tenantID)]
	if !ok {
		return fmt.Errorf("idp: UpdateApp: no tenant with ID %q", tenantID)
	}
	old, ok := e.apps[strings.ToLower(clientID)]
	if !ok {
		return fmt.Errorf("idp: UpdateApp: no app with ClientID %q in tenant %s", clientID, e.tenant.ID)
	}
	a := cloneApp(old)
	fn(&a)
	if err := normalizeApp(&a); err != nil {
		return err
	}
	if a.ClientID != old.ClientID {
		return fmt.Errorf("idp: UpdateApp: App.ClientID cannot change (%q -> %q); remove and add instead", old.ClientID, a.ClientID)
	}
	e.apps[a.ClientID] = a
	return nil
}

// RemoveApp deletes an app from a tenant; token requests for it then fail with AADSTS700016.
func (d *Directory) RemoveApp(tenantID, clientID string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	e, ok := d.tenants[strings.ToLower(tenantID)]
	if !ok {
		return fmt.Errorf("idp: RemoveApp: no tenant with ID %q", tenantID)
	}
	a, ok := e.apps[strings.ToLower(clientID)]
	if !ok {
		return fmt.Errorf("idp: RemoveApp: no app with ClientID %q in tenant %s", clientID, e.tenant.ID)
	}
	delete(e.apps, a.ClientID)
	if a.HomeTenantID != "" {
		e.removedSPs[a.ClientID] = true
	}
	return nil
}

// ServicePrincipalRemoved reports whether the service principal of another directory's app
// was deleted in the tenant (RemoveApp) and not consented again since.
func (d *Directory) ServicePrincipalRemoved(tenantIDOrDomain, clientID string) bool {
	d.mu.RLock()
	defer d.mu.RUnlock()
	e := d.lookupLocked(tenantIDOrDomain)
	return e != nil && e.removedSPs[strings.ToLower(clientID)]
}

// HomeApp finds the registration of a multi-tenant app (SignInAudience
// "AzureADMultipleOrgs", registered in its own directory, not a service principal of another
// one) by client ID, and the tenant that holds it.
func (d *Directory) HomeApp(clientID string) (tenantID string, app App, ok bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.homeAppLocked(strings.ToLower(clientID))
}

func (d *Directory) homeAppLocked(clientID string) (string, App, bool) {
	for id, e := range d.tenants {
		if a, ok := e.apps[clientID]; ok && a.HomeTenantID == "" && a.SignInAudience == MultiTenantAudience {
			return id, cloneApp(a), true
		}
	}
	return "", App{}, false
}

// MultiTenantAudience is the sign-in audience of a multi-tenant app.
const MultiTenantAudience = "AzureADMultipleOrgs"

// GrantConsent is an administrator's Accept on the admin-consent prompt in a tenant: every
// permission of the app is consented there. For another directory's multi-tenant app
// without a service principal in the tenant yet, it creates one (enabled, with the home
// registration's permissions, auth-jobs-delivery-facts §2); an existing one takes the home
// registration's current permissions. It returns the tenant's GUID.
func (d *Directory) GrantConsent(tenantIDOrDomain, clientID string) (string, error) {
	clientID = strings.ToLower(clientID)
	d.mu.Lock()
	defer d.mu.Unlock()
	e := d.lookupLocked(tenantIDOrDomain)
	if e == nil {
		return "", fmt.Errorf("idp: GrantConsent: no tenant %q", tenantIDOrDomain)
	}
	a, ok := e.apps[clientID]
	if !ok || a.HomeTenantID != "" {
		home, h, found := d.homeAppLocked(clientID)
		switch {
		case !ok && (!found || home == e.tenant.ID):
			return "", fmt.Errorf("idp: GrantConsent: no app with ClientID %q in tenant %s, nor a multi-tenant app of that ID in another", clientID, e.tenant.ID)
		case !ok:
			a = App{ClientID: clientID, ObjectID: h.ObjectID, ServicePrincipalID: newUUID(), DisplayName: h.DisplayName,
				Enabled: true, SignInAudience: h.SignInAudience, HomeTenantID: home}
		}
		if found {
			a.Permissions = slices.Clone(h.Permissions)
		}
	}
	a = cloneApp(a)
	for i := range a.Permissions {
		a.Permissions[i].Consented = true
	}
	e.apps[clientID] = a
	delete(e.removedSPs, clientID)
	return e.tenant.ID, nil
}

// LookupApp returns a copy of an app; the tenant may be given by GUID or verified domain.
func (d *Directory) LookupApp(tenantIDOrDomain, clientID string) (App, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	e := d.lookupLocked(tenantIDOrDomain)
	if e == nil {
		return App{}, false
	}
	a, ok := e.apps[strings.ToLower(clientID)]
	if !ok {
		return App{}, false
	}
	return cloneApp(a), true
}

// Apps returns copies of a tenant's apps ordered by ClientID (nil for an unknown tenant).
func (d *Directory) Apps(tenantID string) []App {
	d.mu.RLock()
	defer d.mu.RUnlock()
	e := d.lookupLocked(tenantID)
	if e == nil {
		return nil
	}
	out := make([]App, 0, len(e.apps))
	for _, a := range e.apps {
		out = append(out, cloneApp(a))
	}
	slices.SortFunc(out, func(a, b App) int { return strings.Compare(a.ClientID, b.ClientID) })
	return out
}

// SetConsent sets Consented on every permission of an app, as "Grant admin consent for
// {tenant}" (true) or removing the grants (false) would. Tokens already issued keep their roles.
func (d *Directory) SetConsent(tenantID, clientID string, consented bool) error {
	return d.UpdateApp(tenantID, clientID, func(a *App) {
		for i := range a.Permissions {
			a.Permissions[i].Consented = consented
		}
	})
}

func (d *Directory) lookupLocked(idOrDomain string) *tenantEntry {
	key := strings.ToLower(idOrDomain)
	if e, ok := d.tenants[key]; ok {
		return e
	}
	if id, ok := d.domains[key]; ok {
		return d.tenants[id]
	}
	return nil
}

func (d *Directory) checkDomainsFree(tenantID string, domains []string) error {
	for _, dom := range domains {
		if owner, ok := d.domains[dom]; ok && owner != tenantID {
			return fmt.Errorf("idp: Tenant.Domains: %q is already a verified domain of tenant %s", dom, owner)
		}
	}
	return nil
}

func normalizeTenant(t *Tenant) error {
	t.ID = strings.ToLower(t.ID)
	if !isGUID(t.ID) || t.ID == zeroGUID {
		return fmt.Errorf("idp: Tenant.ID %q must be a non-zero GUID like 72f988bf-86f1-41af-91ab-2d7cd011db47", t.ID)
	}
	seen := map[string]bool{}
	doms := t.Domains[:0]
	for _, dom := range t.Domains {
		dom = strings.ToLower(dom)
		if !isDNSName(dom) {
			return fmt.Errorf("idp: Tenant.Domains: %q is not a DNS name like contoso.onmicrosoft.com", dom)
		}
		if !seen[dom] {
			seen[dom] = true
			doms = append(doms, dom)
		}
	}
	t.Domains = doms
	return nil
}

func normalizeApp(a *App) error {
	a.ClientID = strings.ToLower(a.ClientID)
	if !isGUID(a.ClientID) {
		return fmt.Errorf("idp: App.ClientID %q must be a GUID (the Application (client) ID)", a.ClientID)
	}
	for _, f := range []struct {
		name string
		v    *string
	}{{"ObjectID", &a.ObjectID}, {"ServicePrincipalID", &a.ServicePrincipalID}} {
		if *f.v == "" {
			*f.v = newUUID()
			continue
		}
		*f.v = strings.ToLower(*f.v)
		if !isGUID(*f.v) {
			return fmt.Errorf("idp: App.%s %q must be a GUID or empty (generated)", f.name, *f.v)
		}
	}
	for i := range a.Secrets {
		s := &a.Secrets[i]
		if s.Value == "" {
			return fmt.Errorf("idp: App.Secrets[%d].Value is empty; a client secret needs a value", i)
		}
		if s.ID == "" {
			s.ID = newUUID()
		}
	}
	for i := range a.Certificates {
		if err := normalizeCertificate(i, &a.Certificates[i]); err != nil {
			return err
		}
	}
	for i, p := range a.Permissions {
		if p.Resource == "" || p.Value == "" {
			return fmt.Errorf("idp: App.Permissions[%d] needs Resource (e.g. %s) and Value (e.g. %s)", i, BCResourceID, RoleAPIReadWriteAll)
		}
		if p.Type != Delegated && p.Type != Application {
			return fmt.Errorf("idp: App.Permissions[%d].Type %q must be %q or %q", i, p.Type, Delegated, Application)
		}
	}
	return nil
}

// normalizeCertificate checks an uploaded certificate as the portal does: a parsable X.509
// certificate with an RSA key. Empty dates take the certificate's validity.
func normalizeCertificate(i int, c *Certificate) error {
	cert, err := x509.ParseCertificate(c.DER)
	if err != nil {
		return fmt.Errorf("idp: App.Certificates[%d].DER is not an X.509 certificate (upload the .cer, .pem or .crt file): %v", i, err)
	}
	if _, ok := cert.PublicKey.(*rsa.PublicKey); !ok {
		return fmt.Errorf("idp: App.Certificates[%d] has a %s key; Microsoft Entra ID supports only RSA keys", i, cert.PublicKeyAlgorithm)
	}
	if c.KeyID == "" {
		c.KeyID = newUUID()
	}
	if c.Description == "" {
		c.Description = cert.Subject.String()
	}
	if c.StartDate.IsZero() {
		c.StartDate = cert.NotBefore
	}
	if c.EndDate.IsZero() {
		c.EndDate = cert.NotAfter
	}
	return nil
}

func cloneTenant(t Tenant) Tenant {
	t.Domains = slices.Clone(t.Domains)
	return t
}

func cloneApp(a App) App {
	a.RedirectURIs = slices.Clone(a.RedirectURIs)
	a.Secrets = slices.Clone(a.Secrets)
	a.Certificates = slices.Clone(a.Certificates)
	for i := range a.Certificates {
		a.Certificates[i].DER = slices.Clone(a.Certificates[i].DER)
	}
	a.Permissions = slices.Clone(a.Permissions)
	return a
}

const zeroGUID = "00000000-0000-0000-0000-000000000000"

// isGUID reports whether s is a GUID in the 8-4-4-4-12 hex form (either case, no braces).
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// isDNSName reports whether s looks like a domain name Entra would accept in the tenant slot:
// at least two dot-separated labels of letters, digits and inner hyphens, each 1–63 bytes.
// bc-entra-facts §1.4: anything else is AADSTS900023.
func isDNSName(s string) bool {
	if len(s) > 253 {
		return false
	}
	labels := strings.Split(s, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}
