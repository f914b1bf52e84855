package idp

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// ConsentParam is the query parameter, an emulator extension, that decides the admin consent
// prompt of GET /{tenant}/adminconsent without a UI: "grant" (Accept) or "deny" (Cancel).
const ConsentParam = "emulator_consent"

// handleAdminConsent serves GET /{tenant}/adminconsent?client_id=&redirect_uri=&state=
// (bc-entra-facts §1.6). It is a test convenience: there is no sign-in, and the administrator's
// answer comes from ?emulator_consent=grant|deny|user or, when absent, the tenant's
// UserConsent (a restricted tenant: "user") or Config.AutoConsent (grant). Without any it
// shows a bare page with the two choices as links. "user" is a person without an admin
// role accepting: AADSTS90094, or 90095 with the admin consent workflow, as a redirect with
// error=access_denied (auth-jobs-delivery-facts §2; the redirect shape is UNCONFIRMED).
//
// For another directory's multi-tenant app the redirect URIs are the home registration's,
// and Accept creates the app's service principal in the tenant (Directory.GrantConsent).
//
// Accept sets Consented on all the app's permissions in the tenant (Entra grants the
// configured delegated permissions too; only Application ones become roles) and redirects to
// redirect_uri?tenant={tid}&state={state}&admin_consent=True. Cancel redirects to
// redirect_uri?error=permission_denied&error_description=…&state={state}. Problems found
// before a redirect URI is trusted (tenant, client, reply URL) are answered with the usual
// Entra JSON error instead of Entra's HTML page.
func (s *Server) handleAdminConsent(w http.ResponseWriter, r *http.Request) {
	rc := s.newReqCtx(r)
	fail := func(e aadError) { s.writeJSON(w, r, rc, e.status, e.body(rc)) }
	seg := r.PathValue("tenant")
	if specialTenant(seg) {
		fail(aadError{http.StatusBadRequest, "invalid_request", 50059,
			"Tenant-identifying information was not found in either the request or implied by any provided credentials. The emulator has no signed-in administrator: use /{tenant}/adminconsent with the tenant ID."})
		return
	}
	tenant, terr := s.lookupTenant(seg)
	if terr != nil {
		fail(*terr)
		return
	}
	q := r.URL.Query()
	clientID := q.Get("client_id")
	if clientID == "" {
		fail(errMissingParam("client_id"))
		return
	}
	app, ok := s.dir.LookupApp(tenant.ID, clientID)
	if !ok || app.HomeTenantID != "" {
		// Another directory's multi-tenant app: the redirect URIs are the home
		// registration's (auth-jobs-delivery-facts §2).
		_, home, found := s.dir.HomeApp(clientID)
		if !found {
			fail(errAppNotFound(clientID, tenantName(tenant)))
			return
		}
		app = home
	}
	redirect := q.Get("redirect_uri")
	switch {
	case redirect == "" && len(app.RedirectURIs) == 0:
		fail(errNoReplyAddress())
		return
	case redirect == "":
		redirect = app.RedirectURIs[0]
	case !slices.Contains(app.RedirectURIs, redirect):
		fail(errReplyMismatch(redirect, app.ClientID))
		return
	}
	target, err := url.Parse(redirect)
	if err != nil {
		fail(errReplyMismatch(redirect, app.ClientID))
		return
	}

	decision := strings.ToLower(q.Get(ConsentParam))
	switch {
	case decision != "":
	case tenant.UserConsent != UserConsentAllowed:
		// The emulator's stand-in for the signed-in person in a tenant whose admin
		// restricted user consent: a user without an admin role.
		decision = "user"
	case s.cfg.AutoConsent:
		decision = "grant"
	}
	state := q.Get("state")
	var params []string
	refuse := func(e aadError) {
		params = append(params, "error="+e.err,
			"error_description="+url.QueryEscape(fmt.Sprintf("AADSTS%d: %s", e.code, e.msg)))
		if q.Has("state") {
			params = append(params, "state="+url.QueryEscape(state))
		}
	}
	switch decision {
	case "grant":
		if _, err := s.dir.GrantConsent(tenant.ID, app.ClientID); err != nil {
			// The app was removed between lookup and grant.
			fail(errAppNotFound(clientID, tenantName(tenant)))
			return
		}
		s.log.Info("idp: admin consent granted", "tenant", tenant.ID, "client_id", app.ClientID)
		params = append(params, "tenant="+url.QueryEscape(tenant.ID))
		if q.Has("state") {
			params = append(params, "state="+url.QueryEscape(state))
		}
		params = append(params, "admin_consent=True")
	case "deny":
		s.log.Info("idp: admin consent denied", "tenant", tenant.ID, "client_id", app.ClientID)
		params = append(params, "error=permission_denied",
			"error_description="+url.QueryEscape("AADSTS65004: User declined to consent to access the app."))
		if q.Has("state") {
			params = append(params, "state="+url.QueryEscape(state))
		}
	case "user":
		// Application permissions always need an admin (auth-jobs-delivery-facts §2).
		e := errAdminConsentRequired()
		if tenant.UserConsent == UserConsentAdminWorkflow {
			e = errAdminConsentWorkflow()
		}
		s.log.Info("idp: admin consent refused to a user", "tenant", tenant.ID, "client_id", app.ClientID, "aadsts", e.code)
		refuse(e)
	default:
		s.consentPage(w, r, rc, app)
		return
	}
	if target.RawQuery != "" {
		target.RawQuery += "&"
	}
	target.RawQuery += strings.Join(params, "&")
	setCommonHeaders(w, r, rc)
	http.Redirect(w, r, target.String(), http.StatusFound)
}

// consentPage stands in for Entra's consent prompt: two links that repeat the request with a
// decision.
func (s *Server) consentPage(w http.ResponseWriter, r *http.Request, rc *reqCtx, app App) {
	link := func(decision string) string {
		u := *r.URL
		q := u.Query()
		q.Set(ConsentParam, decision)
		u.RawQuery = q.Encode()
		return html.EscapeString(u.RequestURI())
	}
	name := app.DisplayName
	if name == "" {
		name = app.ClientID
	}
	setCommonHeaders(w, r, rc)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store, no-cache")
	fmt.Fprintf(w, `<!doctype html><title>Permissions requested</title>
<p>%s requests admin consent for its API permissions (bcconnector emulator: no sign-in).</p>
<p><a href="%s">Accept</a> <a href="%s">Cancel</a></p>
`, html.EscapeString(name), link("grant"), link("deny"))
}
