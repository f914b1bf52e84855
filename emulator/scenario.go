package emulator

import (
	"crypto/sha256"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/bizzjoiner/bcconnector/emulator/idp"
	"github.com/bizzjoiner/bcconnector/emulator/notify"
)

// The setup scenarios of PRODUCT.md ("The setup scenarios"): each is a way the customer
// setup guide can end, reproduced in the directory and BC state so that the wire shows
// what a real tenant would show.
const (
	ScenarioOK                      = "ok"
	ScenarioTenantUnknown           = "tenant-unknown"
	ScenarioTenantMalformed         = "tenant-malformed"
	ScenarioClientUnknown           = "client-unknown"
	ScenarioSecretWrong             = "secret-wrong"
	ScenarioSecretIDInsteadOfValue  = "secret-id-instead-of-value"
	ScenarioSecretExpired           = "secret-expired"
	ScenarioAppDisabled             = "app-disabled"
	ScenarioBCNotProvisioned        = "bc-not-provisioned"
	ScenarioPermissionDelegatedOnly = "permission-delegated-only"
	ScenarioConsentMissing          = "consent-missing"
	ScenarioBCAppMissing            = "bc-app-missing"
	ScenarioBCAppDisabled           = "bc-app-disabled"
	ScenarioBCNoPermissions         = "bc-no-permissions"
	ScenarioBCPartialPermissions    = "bc-partial-permissions"
	ScenarioEnvironmentUnknown      = "environment-unknown"
	ScenarioCompanyUnknown          = "company-unknown"
)

// ScenarioInfo describes a scenario: what the admin did and what the wire shows.
type ScenarioInfo struct {
	Name       string
	AdminDid   string
	WireSignal string
	GuideStep  string // the step of the setup guide that is wrong ("" for ok)
}

var scenarios = []ScenarioInfo{
	{ScenarioOK, "everything right", `token with roles ["API.ReadWrite.All"], BC 200`, ""},
	{ScenarioTenantUnknown, "wrong Directory (tenant) ID", "AADSTS90002", "Step 2"},
	{ScenarioTenantMalformed, "tenant ID that is neither a GUID nor a domain", "AADSTS900023 (or caught before any call)", "Step 2"},
	{ScenarioClientUnknown, "wrong Application (client) ID", "AADSTS700016", "Step 2"},
	{ScenarioSecretWrong, "wrong client secret", "AADSTS7000215", "Step 3"},
	{ScenarioSecretIDInsteadOfValue, "pasted the Secret ID instead of the secret Value", "AADSTS7000215", "Step 3"},
	{ScenarioSecretExpired, "secret past its end date", "AADSTS7000222", "Step 3"},
	{ScenarioAppDisabled, "app disabled in Entra", "AADSTS7000112", "Step 1"},
	{ScenarioBCNotProvisioned, "tenant has no Business Central", "AADSTS500011", "Prerequisites"},
	{ScenarioPermissionDelegatedOnly, "Step 4 by the letter: Financials.ReadWrite.All as a delegated permission", "token without roles; BC 401 Authentication_InvalidCredentials", "Step 4"},
	{ScenarioConsentMissing, "API.ReadWrite.All added, admin consent not granted", "token without roles; BC 401", "Step 5"},
	{ScenarioBCAppMissing, "skipped Step 6 (no Microsoft Entra Applications record)", "token with roles; BC 401", "Step 6"},
	{ScenarioBCAppDisabled, "Step 6 record left Disabled", "token with roles; BC 401", "Step 6"},
	{ScenarioBCNoPermissions, "Step 6 record without a permission set", "BC permission errors on every entity set", "Step 6"},
	{ScenarioBCPartialPermissions, "permission set misses some tables", "errors on employees, generalLedgerEntries; posted invoices silently filtered", "Step 6"},
	{ScenarioEnvironmentUnknown, "wrong environment name", "BC 404", "Connection settings"},
	{ScenarioCompanyUnknown, "wrong company", "company not in the list", "Connection settings"},
}

// Scenarios lists the scenarios the emulator can load, in the order of PRODUCT.md.
func Scenarios() []ScenarioInfo { return append([]ScenarioInfo(nil), scenarios...) }

// Names used by the seeded directory. The app name follows the guide's convention.
const (
	DemoTenantDomain     = "contoso.onmicrosoft.com"
	DemoEnvironment      = "Production"
	DemoSandbox          = "Sandbox"
	DemoCompany          = "Company X"
	DemoCompanyAmpersand = "Fabrikam & O'Brien Ltd."
	DemoCompanyUnicode   = "Müller Bäckerei GmbH"
	// PartialPermissionSet is the permission set of the bc-partial-permissions scenario.
	PartialPermissionSet = "BIZZJOINER PARTIAL"
	// ConnectorPermissionSet is the least-privilege set the guide's Step 6 names.
	ConnectorPermissionSet = "BIZZJOINER CONNECTOR"
	redirectURI            = "https://businesscentral.dynamics.com/OAuthLanding.htm"
)

// loadScenario seeds the directory and BC state and applies the scenario on top.
func (e *Emulator) loadScenario(name string) error {
	// Several faults at once: "a,b" applies each scenario's change to the same setup, in
	// the order given (each touches a different part of it).
	var names []string
	for _, n := range strings.Split(name, ",") {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, n)
		}
	}
	for _, n := range names {
		known := false
		for _, s := range scenarios {
			known = known || s.Name == n
		}
		if !known {
			all := make([]string, len(scenarios))
			for i, s := range scenarios {
				all[i] = s.Name
			}
			return fmt.Errorf("emulator: unknown scenario %q; known scenarios: %s (combine several with commas)", n, strings.Join(all, ", "))
		}
	}
	if len(names) == 0 {
		return fmt.Errorf("emulator: no scenario in %q; name one, or several separated by commas", name)
	}
	seed, now := e.cfg.Seed, e.cfg.Now().UTC()
	tenantID := seededGUID(seed, "tenant/contoso")
	clientID := seededGUID(seed, "app/bizzjoiner")
	secret := idp.Secret{
		ID:          seededGUID(seed, "secret/id"),
		Value:       secretValue(seed, "secret/value"),
		Description: "Bizzjoiner Secret",
		EndDate:     now.AddDate(0, 12, 0).Truncate(24 * time.Hour),
	}
	app := idp.App{
		ClientID:       clientID,
		DisplayName:    "Bizzjoiner – BC Connector – " + DemoEnvironment + " – " + DemoCompany,
		Enabled:        true,
		SignInAudience: "AzureADMyOrg",
		RedirectURIs:   []string{redirectURI},
		Secrets:        []idp.Secret{secret},
		Permissions: []idp.Permission{{
			Resource: idp.BCResourceID, Value: idp.RoleAPIReadWriteAll, Type: idp.Application, Consented: true,
		}},
	}
	tenant := idp.Tenant{ID: tenantID, Domains: []string{DemoTenantDomain}, DisplayName: "Contoso", HasBC: true}
	bcApp := &BCApp{ClientID: clientID, Description: "Bizzjoiner Connector", Enabled: true, PermissionSets: []string{"D365 BUS FULL ACCESS"}}
	creds := Credentials{
		TenantID: tenantID, TenantDomain: DemoTenantDomain, ClientID: clientID,
		ClientSecret: secret.Value, SecretID: secret.ID, SecretEndDate: secret.EndDate,
		Environment: DemoEnvironment, Company: DemoCompany,
	}

	for _, name := range names {
		applyScenario(name, seed, now, &app, &tenant, &bcApp, &creds)
	}

	if err := e.dir.AddTenant(tenant); err != nil {
		return err
	}
	if err := e.dir.AddApp(tenantID, app); err != nil {
		return err
	}
	// A second customer, so tests can check that one tenant's app never reaches another's data.
	other := idp.Tenant{ID: seededGUID(seed, "tenant/northwind"), Domains: []string{"northwind.onmicrosoft.com"}, DisplayName: "Northwind Traders", HasBC: true}
	otherApp := idp.App{
		ClientID: seededGUID(seed, "app/northwind"), DisplayName: "Bizzjoiner – BC Connector – Production – Northwind",
		Enabled: true, RedirectURIs: []string{redirectURI},
		Secrets:     []idp.Secret{{Value: secretValue(seed, "secret/northwind"), Description: "Bizzjoiner Secret", EndDate: now.AddDate(2, 0, 0)}},
		Permissions: []idp.Permission{{Resource: idp.BCResourceID, Value: idp.RoleAPIReadWriteAll, Type: idp.Application, Consented: true}},
	}
	if err := e.dir.AddTenant(other); err != nil {
		return err
	}
	if err := e.dir.AddApp(other.ID, otherApp); err != nil {
		return err
	}

	customers, err := e.addCustomers(now)
	if err != nil {
		return err
	}
	express, err := e.addVendor(now, tenantID)
	if err != nil {
		return err
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	for i := range customers {
		bt := e.newBCTenant(customers[i].TenantID, [][]string{{DemoEnvironment, "Production", DemoCompany}})
		bt.envs[0].apps[strings.ToLower(customers[i].ClientID)] = &BCApp{ClientID: customers[i].ClientID, Description: "Bizzjoiner Connector", Enabled: true, PermissionSets: []string{"D365 BUS FULL ACCESS"}}
		e.tenants[customers[i].TenantID] = bt
		customers[i].CompanyID = bt.envs[0].companyByName(DemoCompany, false).ID
	}
	e.customers = customers
	if tenant.HasBC {
		bt := e.newBCTenant(tenantID, [][]string{
			{DemoEnvironment, "Production", DemoCompany, DemoCompanyAmpersand, DemoCompanyUnicode},
			{DemoSandbox, "Sandbox", DemoCompany, "CRONUS USA, Inc."},
		})
		if bcApp != nil {
			bt.envs[0].apps[strings.ToLower(clientID)] = bcApp
		}
		e.tenants[tenantID] = bt
		creds.CompanyID = bt.envs[0].companyByName(DemoCompany, false).ID
	}
	ob := e.newBCTenant(other.ID, [][]string{{DemoEnvironment, "Production", "Northwind Traders"}})
	ob.envs[0].apps[strings.ToLower(otherApp.ClientID)] = &BCApp{ClientID: otherApp.ClientID, Description: "Bizzjoiner Connector", Enabled: true, PermissionSets: []string{"D365 BUS FULL ACCESS"}}
	e.tenants[other.ID] = ob
	// The restricted tenant: BC without any app registered (express setup's Step 6 is the
	// admin's to do).
	e.tenants[express.RestrictedTenantID] = e.newBCTenant(express.RestrictedTenantID, [][]string{{DemoEnvironment, "Production", DemoCompany}})
	e.express = express
	e.creds = creds
	return nil
}

// addCustomers adds Config.Customers customer tenants to the directory, each with its own
// app and secret, and returns their credentials (CompanyID is set with the BC tenant).
func (e *Emulator) addCustomers(now time.Time) ([]Credentials, error) {
	var out []Credentials
	for i := 1; i <= e.cfg.Customers; i++ {
		label := fmt.Sprintf("customer-%d", i)
		domain := label + ".onmicrosoft.com"
		t := idp.Tenant{ID: seededGUID(e.cfg.Seed, "tenant/"+label), Domains: []string{domain}, DisplayName: fmt.Sprintf("Customer %d", i), HasBC: true}
		sec := idp.Secret{ID: seededGUID(e.cfg.Seed, "secret/id/"+label), Value: secretValue(e.cfg.Seed, "secret/"+label),
			Description: "Bizzjoiner Secret", EndDate: now.AddDate(1, 0, 0).Truncate(24 * time.Hour)}
		app := idp.App{
			ClientID: seededGUID(e.cfg.Seed, "app/"+label), DisplayName: "Bizzjoiner – BC Connector – " + DemoEnvironment + " – " + t.DisplayName,
			Enabled: true, SignInAudience: "AzureADMyOrg", RedirectURIs: []string{redirectURI}, Secrets: []idp.Secret{sec},
			Permissions: []idp.Permission{{Resource: idp.BCResourceID, Value: idp.RoleAPIReadWriteAll, Type: idp.Application, Consented: true}},
		}
		if err := e.dir.AddTenant(t); err != nil {
			return nil, err
		}
		if err := e.dir.AddApp(t.ID, app); err != nil {
			return nil, err
		}
		out = append(out, Credentials{TenantID: t.ID, TenantDomain: domain, ClientID: app.ClientID, ClientSecret: sec.Value,
			SecretID: sec.ID, SecretEndDate: sec.EndDate, Environment: DemoEnvironment, Company: DemoCompany})
	}
	return out, nil
}

// Customers returns the credentials of the Config.Customers extra customer tenants, in
// order.
func (e *Emulator) Customers() []Credentials {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return slices.Clone(e.customers)
}

// newBCTenant builds a tenant's environments: each spec is name, type, company names...
func (e *Emulator) newBCTenant(tenantID string, specs [][]string) *bcTenant {
	bt := &bcTenant{ID: tenantID, adminAuthorized: map[string]bool{}}
	for _, spec := range specs {
		env := &environment{
			TenantID:       tenantID,
			Name:           spec[0],
			Type:           spec[1],
			apps:           map[string]*BCApp{},
			permissionSets: builtinPermissionSets(),
		}
		env.permissionSets[PartialPermissionSet] = partialPermissionSet()
		env.permissionSets[ConnectorPermissionSet] = &PermissionSet{Name: ConnectorPermissionSet, Tables: map[string]Access{"*": fullAccess}}
		for _, name := range spec[2:] {
			label := tenantID + "/" + spec[0] + "/" + name
			env.companies = append(env.companies, &company{
				ID:          seededGUID(e.cfg.Seed, "company/"+label),
				Name:        name,
				DisplayName: name,
				CreatedAt:   time.Date(2023, 4, 1, 9, 30, 0, 0, time.UTC),
				tables:      map[string]*table{},
				series:      map[string]int{},
			})
		}
		env.webhooks = notify.NewManager(notify.Config{
			Client:           e.cfg.WebhookClient,
			Delay:            e.cfg.WebhookDelay,
			MaxNotifications: e.cfg.WebhookMaxNotifications,
			RetrySchedule:    e.cfg.WebhookRetrySchedule,
			ConflictStatus:   e.cfg.ConflictStatus,
			HandshakeTimeout: e.cfg.WebhookHandshakeTimeout,
			HandshakeMethod:  e.cfg.WebhookHandshakeMethod,
			Now:              e.cfg.Now,
			Logger:           e.cfg.Logger,
			ValidateResource: e.validateSubscriptionResource(env),
		})
		bt.envs = append(bt.envs, env)
	}
	return bt
}

// partialPermissionSet grants everything except the tables behind employees and
// generalLedgerEntries, and only drafts of sales invoices (posted ones are silently
// filtered by the aggregate page, §3.4).
func partialPermissionSet() *PermissionSet {
	ps := &PermissionSet{Name: PartialPermissionSet, Tables: map[string]Access{"*": fullAccess}}
	for _, t := range []string{"Employee", "G/L Entry", "Sales Invoice Header"} {
		ps.Tables[t] = Access{}
	}
	return ps
}

// secretValue makes a client secret in Entra's shape: 40 characters with "8Q~" at 3.
func secretValue(seed int64, label string) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"
	h := sha256.Sum256([]byte(fmt.Sprintf("%d/%s", seed, label)))
	var b strings.Builder
	for i := 0; b.Len() < 40; i++ {
		if b.Len() == 3 {
			b.WriteString("8Q~")
			continue
		}
		b.WriteByte(alphabet[int(h[i%len(h)]+byte(i/len(h))*7)%len(alphabet)])
	}
	return b.String()
}

// validateSubscriptionResource checks a webhook subscription's resource: an entity set of
// one of the environment's companies that supports webhooks (§7.5).
func (e *Emulator) validateSubscriptionResource(env *environment) func(resource string) error {
	return func(resource string) error {
		r := strings.TrimPrefix(resource, "/")
		i := strings.Index(r, "/companies(")
		if i < 0 {
			return fmt.Errorf("the resource '%s' must be a company entity set such as /api/v2.0/companies({id})/customers", resource)
		}
		rest := r[i+len("/companies("):]
		id, set, ok := strings.Cut(rest, ")/")
		if !ok || env.companyByID(id) == nil {
			return fmt.Errorf("the company in resource '%s' does not exist", resource)
		}
		prefix := r[:i]
		if prefix == "api/v2.0" {
			ent, ok := e.sch().EntitySet(set)
			if !ok {
				return fmt.Errorf("the entity set '%s' does not exist", set)
			}
			if !ent.Webhooks {
				return fmt.Errorf("the entity set '%s' does not support webhooks", set)
			}
			return nil
		}
		if ent, api := customEntity(set); ent != nil && prefix == api.prefix() && ent.Webhooks {
			return nil
		}
		return fmt.Errorf("the resource '%s' does not support webhooks", resource)
	}
}

// Environments returns the environment names of a tenant's BC, sorted.
func (e *Emulator) Environments(tenantID string) []string {
	t := e.tenant(tenantID)
	if t == nil {
		return nil
	}
	var out []string
	for _, env := range t.envs {
		out = append(out, env.Name)
	}
	sort.Strings(out)
	return out
}

// applyScenario changes the setup the way the named scenario breaks it.
func applyScenario(name string, seed int64, now time.Time, app *idp.App, tenant *idp.Tenant, bcApp **BCApp, creds *Credentials) {
	switch name {
	case ScenarioTenantUnknown:
		creds.TenantID = seededGUID(seed, "tenant/unknown")
	case ScenarioTenantMalformed:
		creds.TenantID = "your-tenant-id"
	case ScenarioClientUnknown:
		creds.ClientID = seededGUID(seed, "app/unknown")
	case ScenarioSecretWrong:
		creds.ClientSecret = secretValue(seed, "secret/wrong")
	case ScenarioSecretIDInsteadOfValue:
		creds.ClientSecret = app.Secrets[0].ID
	case ScenarioSecretExpired:
		app.Secrets[0].EndDate = now.AddDate(0, 0, -10).Truncate(24 * time.Hour)
		creds.SecretEndDate = app.Secrets[0].EndDate
	case ScenarioAppDisabled:
		app.Enabled = false
	case ScenarioBCNotProvisioned:
		tenant.HasBC = false
	case ScenarioPermissionDelegatedOnly:
		app.Permissions = []idp.Permission{{Resource: idp.BCResourceID, Value: idp.ScopeFinancialsReadWriteAll, Type: idp.Delegated, Consented: true}}
	case ScenarioConsentMissing:
		app.Permissions[0].Consented = false
	case ScenarioBCAppMissing:
		*bcApp = nil
	case ScenarioBCAppDisabled:
		if *bcApp != nil { // combined with bc-app-missing, there is nothing to disable
			(*bcApp).Enabled = false
		}
	case ScenarioBCNoPermissions:
		if *bcApp != nil {
			(*bcApp).PermissionSets = nil
		}
	case ScenarioBCPartialPermissions:
		if *bcApp != nil {
			(*bcApp).PermissionSets = []string{PartialPermissionSet}
		}
	case ScenarioEnvironmentUnknown:
		creds.Environment = "Prodution"
	case ScenarioCompanyUnknown:
		creds.Company = "Company Y"
	}
}
