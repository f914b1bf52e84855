package idp

import (
	"strings"
	"sync"
	"testing"
)

func TestDirectoryValidation(t *testing.T) {
	t.Parallel()
	d := NewDirectory()
	must(t, d.AddTenant(Tenant{ID: strings.ToUpper(tenantID), Domains: []string{"Contoso.onmicrosoft.com", "contoso.onmicrosoft.com"}}))
	tests := []struct {
		name string
		err  error
		want string // substring naming the field
	}{
		{"tenant id not guid", d.AddTenant(Tenant{ID: "contoso"}), "Tenant.ID"},
		{"tenant zero guid", d.AddTenant(Tenant{ID: zeroGUID}), "Tenant.ID"},
		{"tenant duplicate", d.AddTenant(Tenant{ID: tenantID}), "already exists"},
		{"domain not dns", d.AddTenant(Tenant{ID: noBCTenantID, Domains: []string{"contoso"}}), "Tenant.Domains"},
		{"domain taken", d.AddTenant(Tenant{ID: noBCTenantID, Domains: []string{"CONTOSO.onmicrosoft.com"}}), "already a verified domain"},
		{"app unknown tenant", d.AddApp(noBCTenantID, App{ClientID: goodClient}), "add the tenant first"},
		{"app client id", d.AddApp(tenantID, App{ClientID: "my-app"}), "App.ClientID"},
		{"app sp id", d.AddApp(tenantID, App{ClientID: goodClient, ServicePrincipalID: "x"}), "App.ServicePrincipalID"},
		{"app empty secret", d.AddApp(tenantID, App{ClientID: goodClient, Secrets: []Secret{{ID: "x"}}}), "App.Secrets[0].Value"},
		{"app perm type", d.AddApp(tenantID, App{ClientID: goodClient, Permissions: []Permission{{Resource: BCResourceID, Value: "x", Type: "Role"}}}), "App.Permissions[0].Type"},
		{"app perm resource", d.AddApp(tenantID, App{ClientID: goodClient, Permissions: []Permission{{Value: "x", Type: Application}}}), "App.Permissions[0]"},
	}
	for _, tc := range tests {
		if tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("%s: err %v, want one mentioning %q", tc.name, tc.err, tc.want)
		}
	}
	tn, ok := d.LookupTenant("CONTOSO.ONMICROSOFT.COM")
	if !ok || tn.ID != tenantID || len(tn.Domains) != 1 {
		t.Errorf("lookup by domain: %+v %v", tn, ok)
	}

	must(t, d.AddApp(tenantID, App{ClientID: strings.ToUpper(goodClient), Secrets: []Secret{{Value: "v"}}}))
	a, ok := d.LookupApp(tenantID, goodClient)
	if !ok || a.ClientID != goodClient || !isGUID(a.ObjectID) || !isGUID(a.ServicePrincipalID) || !isGUID(a.Secrets[0].ID) {
		t.Errorf("generated ids: %+v", a)
	}
	if err := d.AddApp(tenantID, App{ClientID: goodClient}); err == nil {
		t.Error("duplicate app accepted")
	}
	if err := d.UpdateApp(tenantID, goodClient, func(a *App) { a.ClientID = noConsent }); err == nil {
		t.Error("ClientID change accepted")
	}
	if err := d.UpdateTenant(tenantID, func(t *Tenant) { t.ID = noBCTenantID }); err == nil {
		t.Error("tenant ID change accepted")
	}
}

func TestDirectoryCopiesAndUpdates(t *testing.T) {
	t.Parallel()
	d := NewDirectory()
	must(t, d.AddTenant(Tenant{ID: tenantID, Domains: []string{tenantDomain}}))
	perms := []Permission{{Resource: BCResourceID, Value: RoleAPIReadWriteAll, Type: Application}}
	must(t, d.AddApp(tenantID, App{ClientID: goodClient, Permissions: perms}))
	perms[0].Consented = true // the caller's slice is not the directory's
	a, _ := d.LookupApp(tenantDomain, goodClient)
	if a.Permissions[0].Consented {
		t.Error("AddApp kept the caller's slice")
	}
	a.Permissions[0].Consented = true // nor is a lookup result
	if b, _ := d.LookupApp(tenantID, goodClient); b.Permissions[0].Consented {
		t.Error("LookupApp returned the stored slice")
	}
	must(t, d.SetConsent(tenantID, goodClient, true))
	if b, _ := d.LookupApp(tenantID, goodClient); !b.Permissions[0].Consented {
		t.Error("SetConsent did not consent")
	}

	// Domains move with UpdateTenant; RemoveTenant frees them.
	must(t, d.UpdateTenant(tenantID, func(t *Tenant) { t.Domains = []string{"new.onmicrosoft.com"}; t.HasBC = true }))
	if _, ok := d.LookupTenant(tenantDomain); ok {
		t.Error("old domain still resolves")
	}
	if tn, ok := d.LookupTenant("new.onmicrosoft.com"); !ok || !tn.HasBC {
		t.Errorf("updated tenant %+v %v", tn, ok)
	}
	if len(d.Tenants()) != 1 || len(d.Apps(tenantID)) != 1 {
		t.Errorf("Tenants %v Apps %v", d.Tenants(), d.Apps(tenantID))
	}
	must(t, d.RemoveApp(tenantID, goodClient))
	if _, ok := d.LookupApp(tenantID, goodClient); ok {
		t.Error("app survives RemoveApp")
	}
	must(t, d.RemoveTenant(tenantID))
	if _, ok := d.LookupTenant("new.onmicrosoft.com"); ok {
		t.Error("domain survives RemoveTenant")
	}
	must(t, d.AddTenant(Tenant{ID: noBCTenantID, Domains: []string{"new.onmicrosoft.com"}}))
}

// TestDirectoryConcurrent is for -race: token requests while a scenario flips consent.
func TestDirectoryConcurrent(t *testing.T) {
	t.Parallel()
	f := setup(t)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for j := range 20 {
				if i%2 == 0 {
					_ = f.dir.SetConsent(tenantID, goodClient, j%2 == 0)
				} else if w := f.do("POST", tokenPath(tenantID), goodForm()); w.Code != 200 {
					t.Errorf("status %d", w.Code)
				}
			}
		})
	}
	wg.Wait()
}

func TestRolesFor(t *testing.T) {
	t.Parallel()
	p := func(res, v string, typ PermissionType, ok bool) Permission {
		return Permission{Resource: res, Value: v, Type: typ, Consented: ok}
	}
	tests := []struct {
		name  string
		perms []Permission
		want  string
	}{
		{"none", nil, ""},
		{"consented app roles", []Permission{p(BCResourceID, RoleAPIReadWriteAll, Application, true), p(BCResourceID, RoleAdminCenterReadWriteAll, Application, true)}, "API.ReadWrite.All,AdminCenter.ReadWrite.All"},
		{"not consented", []Permission{p(BCResourceID, RoleAPIReadWriteAll, Application, false)}, ""},
		{"delegated", []Permission{p(BCResourceID, ScopeFinancialsReadWriteAll, Delegated, true)}, ""},
		{"delegated-only value typed Application", []Permission{p(BCResourceID, ScopeFinancialsReadWriteAll, Application, true)}, ""},
		{"unknown value", []Permission{p(BCResourceID, "Everything.All", Application, true)}, ""},
		{"other resource", []Permission{p("00000003-0000-0000-c000-000000000000", RoleAPIReadWriteAll, Application, true)}, ""},
		{"resource by URI, duplicate", []Permission{p(BCResourceURI, RoleAppAccess, Application, true), p(BCResourceID, RoleAppAccess, Application, true)}, "app_access"},
	}
	for _, tc := range tests {
		if got := strings.Join(rolesFor(tc.perms), ","); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
	if info, ok := LookupBCPermission(ScopeFinancialsReadWriteAll); !ok || info.Type != Delegated || info.ID != ScopeFinancialsReadWriteAllID {
		t.Errorf("LookupBCPermission(Financials) = %+v", info)
	}
}

func TestTenantSegmentClassifiers(t *testing.T) {
	t.Parallel()
	for s, want := range map[string][2]bool{ // isGUID, isDNSName
		tenantID:                             {true, false},
		strings.ToUpper(tenantID):            {true, false},
		"{" + tenantID + "}":                 {false, false},
		"contoso.onmicrosoft.com":            {false, true},
		"contoso":                            {false, false},
		"-bad.example":                       {false, false},
		"a..b":                               {false, false},
		"xn--bcher-kva.example":              {false, true},
		"{{tenantid}}":                       {false, false},
		"under_score.example":                {false, false},
		strings.Repeat("a", 64) + ".example": {false, false},
	} {
		if isGUID(s) != want[0] || isDNSName(s) != want[1] {
			t.Errorf("%q: isGUID %v isDNSName %v, want %v", s, isGUID(s), isDNSName(s), want)
		}
	}
}
