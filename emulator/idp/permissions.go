package idp

import "strings"

// The Business Central resource as Entra knows it (bc-entra-facts §1.1, §2).
const (
	// BCResourceID is the application id of the "Dynamics 365 Business Central" resource.
	BCResourceID = "996def3d-b36c-4153-8607-a6fd3c01b89f"
	// BCResourceURI is the resource URI; "{BCResourceURI}/.default" is the scope to request.
	BCResourceURI = "https://api.businesscentral.dynamics.com"
	// BCDefaultScope is the client-credentials scope for BC.
	BCDefaultScope = BCResourceURI + "/.default"
)

// Permission values and ids the BC resource exposes (bc-entra-facts §2 table).
const (
	// RoleAPIReadWriteAll is the Application permission for the APIs and web services over S2S.
	RoleAPIReadWriteAll   = "API.ReadWrite.All"
	RoleAPIReadWriteAllID = "a42b0b75-311e-488d-b67e-8fe84f924341"
	// RoleAutomationReadWriteAll is the Application permission for /api/microsoft/automation.
	RoleAutomationReadWriteAll   = "Automation.ReadWrite.All"
	RoleAutomationReadWriteAllID = "d365bc00-a990-0000-00bc-160000000001"
	// RoleAdminCenterReadWriteAll is the Application permission for the Admin Center API.
	RoleAdminCenterReadWriteAll   = "AdminCenter.ReadWrite.All"
	RoleAdminCenterReadWriteAllID = "a20fe46f-4f63-4666-8e0e-9b882d90b837"
	// RoleAppAccess is the little-documented "app_access" Application permission.
	RoleAppAccess   = "app_access"
	RoleAppAccessID = "3983b928-ed40-4111-bbad-e7910cf234bd"
	// ScopeFinancialsReadWriteAll is Delegated only: it never yields a role (bc-entra-facts §0.1).
	ScopeFinancialsReadWriteAll   = "Financials.ReadWrite.All"
	ScopeFinancialsReadWriteAllID = "2fb13c28-9d89-417f-9af2-ec3065bc16e6"
	// ScopeUserImpersonation is Delegated only.
	ScopeUserImpersonation   = "user_impersonation"
	ScopeUserImpersonationID = "bce0976a-cb0b-473b-8800-84eda9f8e447"
)

// PermissionType says whether a permission is granted to a signed-in user (Delegated, a
// "scope" in Entra's manifest) or to the application itself (Application, an "app role").
type PermissionType string

// The two kinds of API permission an app registration can request.
const (
	Delegated   PermissionType = "Delegated"
	Application PermissionType = "Application"
)

// PermissionInfo describes one permission the BC resource defines.
type PermissionInfo struct {
	Value string         // e.g. "API.ReadWrite.All"
	ID    string         // the app role or OAuth2 scope id
	Type  PermissionType // how BC defines it; a permission is never both
}

// BCPermissions returns the permissions the BC resource defines, in the order of
// bc-entra-facts §2. The slice is freshly allocated.
func BCPermissions() []PermissionInfo {
	return []PermissionInfo{
		{RoleAPIReadWriteAll, RoleAPIReadWriteAllID, Application},
		{RoleAutomationReadWriteAll, RoleAutomationReadWriteAllID, Application},
		{RoleAdminCenterReadWriteAll, RoleAdminCenterReadWriteAllID, Application},
		{RoleAppAccess, RoleAppAccessID, Application},
		{ScopeFinancialsReadWriteAll, ScopeFinancialsReadWriteAllID, Delegated},
		{ScopeUserImpersonation, ScopeUserImpersonationID, Delegated},
	}
}

// LookupBCPermission finds a BC permission by its value (exact, as Entra compares role values).
func LookupBCPermission(value string) (PermissionInfo, bool) {
	for _, p := range BCPermissions() {
		if p.Value == value {
			return p, true
		}
	}
	return PermissionInfo{}, false
}

// isBCResource reports whether id names the BC resource: its app id or one of its service
// principal names (bc-entra-facts §2), compared case-insensitively, one trailing slash allowed.
func isBCResource(id string) bool {
	id = strings.TrimSuffix(id, "/")
	if strings.EqualFold(id, BCResourceID) {
		return true
	}
	for _, name := range []string{
		BCResourceURI,
		"https://api.financials.dynamics.com",
		"https://financials.dynamics.com",
		"https://projectmadeira.com",
	} {
		if strings.EqualFold(id, name) {
			return true
		}
	}
	return false
}

// rolesFor computes the roles claim for an app: Application permissions on the BC resource
// that are consented and that BC defines as Application permissions. An entry that lists
// Financials.ReadWrite.All (a Delegated-only permission) with Type Application is the classic
// misconfiguration of bc-entra-facts §0.1 and §2: Entra has no such app role, so it yields
// nothing. Order follows the app's permission list; duplicates are dropped.
func rolesFor(perms []Permission) []string {
	var roles []string
	for _, p := range perms {
		if p.Type != Application || !p.Consented || !isBCResource(p.Resource) {
			continue
		}
		info, ok := LookupBCPermission(p.Value)
		if !ok || info.Type != Application {
			continue
		}
		dup := false
		for _, r := range roles {
			if r == info.Value {
				dup = true
				break
			}
		}
		if !dup {
			roles = append(roles, info.Value)
		}
	}
	return roles
}
