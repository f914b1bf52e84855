package emulator

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"

	"github.com/bizzjoiner/bcconnector/emulator/idp"
)

var adminPath = regexp.MustCompile(`^/admin/v2\.\d+/applications(?:/([^/]+))?/environments(?:/([^/]+))?/?$`)

// serveAdmin handles the Admin Center API's environment listing (bc-entra-facts §9): the
// token needs AdminCenter.ReadWrite.All and the app must be on the admin center's
// "Authorized Microsoft Entra apps" list.
func (e *Emulator) serveAdmin(w http.ResponseWriter, r *http.Request) {
	m := adminPath.FindStringSubmatch(r.URL.Path)
	if m == nil {
		writeAdminError(w, http.StatusNotFound, "NotFound", "No route matches '"+r.URL.Path+"'. Use /admin/v2.x/applications/BusinessCentral/environments.", "")
		return
	}
	if r.Method != http.MethodGet {
		writeAdminError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "Only GET is supported on environments.", "")
		return
	}
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		writeAdminError(w, http.StatusUnauthorized, "Unauthorized", "The request has no bearer token.", "")
		return
	}
	claims, err := e.idp.Verify(strings.TrimSpace(raw))
	if err != nil || (claims.Aud != idp.BCResourceURI && claims.Aud != idp.BCResourceID) {
		writeAdminError(w, http.StatusUnauthorized, "Unauthorized", "The token is not valid for the Business Central admin API.", "")
		return
	}
	t := e.tenant(claims.TID)
	if t == nil || !hasRole(claims.Roles, idp.RoleAdminCenterReadWriteAll) || !t.adminAuthorized[strings.ToLower(claims.AppID)] {
		writeAdminError(w, http.StatusForbidden, "Forbidden",
			"The app must have the AdminCenter.ReadWrite.All application permission with admin consent and be listed under Authorized Microsoft Entra apps in the Business Central admin center.", "")
		return
	}
	family, name := m[1], m[2]
	if family != "" && !strings.EqualFold(family, "BusinessCentral") {
		writeAdminError(w, http.StatusNotFound, "applicationTypeDoesNotExist", "The application family '"+family+"' does not exist.", family)
		return
	}
	var out []map[string]any
	for _, env := range t.envs {
		if name != "" && !strings.EqualFold(env.Name, name) {
			continue
		}
		out = append(out, map[string]any{
			"friendlyName": env.Name, "type": env.Type, "name": env.Name, "countryCode": "US",
			"applicationFamily": "BusinessCentral", "aadTenantId": t.ID, "status": "Active",
			"webClientLoginUrl": "https://businesscentral.dynamics.com/" + t.ID + "/" + env.Name,
			"webServiceUrl":     "https://" + r.Host + "/v2.0/" + t.ID + "/" + env.Name,
			"locationName":      "United States", "geoName": "United States", "ringName": "PROD",
			"appInsightsKey": "", "AppSourceAppsUpdateCadence": "Default",
			"versionDetails": map[string]any{"version": "27.0.38460.41164", "gracePeriodStartDate": nil, "enforcedUpdatePeriodStartDate": nil},
		})
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if name != "" {
		if len(out) == 0 {
			writeAdminError(w, http.StatusNotFound, "environmentNotFound", "The environment '"+name+"' was not found.", "BusinessCentral/"+name)
			return
		}
		_ = json.NewEncoder(w).Encode(out[0])
		return
	}
	if out == nil {
		out = []map[string]any{}
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"value": out})
}
