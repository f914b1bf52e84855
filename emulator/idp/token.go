package idp

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

type tokenVersion int

const (
	tokenV1 tokenVersion = 1 // /{tenant}/oauth2/token, resource=
	tokenV2 tokenVersion = 2 // /{tenant}/oauth2/v2.0/token, scope=
)

// maxTokenBody bounds a token request body; real ones are well under 4 KiB.
const maxTokenBody = 64 << 10

// tokenResponseV2 is the v2 success body, keys in Entra's order (bc-entra-facts §1.2).
type tokenResponseV2 struct {
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	ExtExpiresIn int64  `json:"ext_expires_in"`
	AccessToken  string `json:"access_token"`
}

// tokenResponseV1 is the v1 endpoint's success body: numbers as strings, plus expires_on,
// not_before and resource, as the v1 endpoint has always answered [OBS, outside the reference].
type tokenResponseV1 struct {
	TokenType    string `json:"token_type"`
	ExpiresIn    string `json:"expires_in"`
	ExtExpiresIn string `json:"ext_expires_in"`
	ExpiresOn    string `json:"expires_on"`
	NotBefore    string `json:"not_before"`
	Resource     string `json:"resource"`
	AccessToken  string `json:"access_token"`
}

// specialTenant reports whether seg is one of Entra's multi-tenant aliases.
func specialTenant(seg string) bool {
	return strings.EqualFold(seg, "common") || strings.EqualFold(seg, "organizations") || strings.EqualFold(seg, "consumers")
}

// lookupTenant resolves a specific tenant path segment, in Entra's order (bc-entra-facts
// §1.4): malformed (900023), the empty GUID (90002 invalid_request), unknown (90002
// invalid_tenant).
func (s *Server) lookupTenant(seg string) (Tenant, *aadError) {
	if !isGUID(seg) && !isDNSName(seg) {
		e := errTenantMalformed(seg)
		return Tenant{}, &e
	}
	if seg == zeroGUID {
		e := errTenantEmptyGUID(seg)
		return Tenant{}, &e
	}
	t, ok := s.dir.LookupTenant(seg)
	if !ok {
		e := errTenantNotFound(seg)
		return Tenant{}, &e
	}
	return t, nil
}

// tenantName is what Entra prints as "the tenant named …" / "the directory '…'".
func tenantName(t Tenant) string {
	if t.DisplayName != "" {
		return t.DisplayName
	}
	return t.ID
}

// handleToken serves both token endpoints. The checks run in the order Entra appears to run
// them (bc-entra-facts §1.4, §11 item 3): the tenant in the URL, the HTTP method, required
// parameters, the v1 "resource" parameter on v2, the grant type, the scope, the resource and
// the tenant's BC service principal, the client, its credential, whether it is enabled, and
// finally the secret itself or the client assertion (checkAssertion). Consent is never checked: a client without consent gets a token
// without roles (bc-entra-facts §0 item 2).
func (s *Server) handleToken(v tokenVersion) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			s.requests.Add(1)
		}
		rc := s.newReqCtx(r)
		seg := r.PathValue("tenant")
		if r.Method == http.MethodOptions {
			// CORS preflight: Entra answers OPTIONS on the token endpoint.
			setCommonHeaders(w, r, rc)
			w.Header().Set("Access-Control-Allow-Origin", "*")
			w.Header().Set("Access-Control-Allow-Methods", "POST, OPTIONS")
			w.WriteHeader(http.StatusOK)
			return
		}
		var clientID, basicSecret string
		reject := func(e aadError) {
			s.log.Info("idp: token request rejected", "tenant", seg, "client_id", clientID,
				"aadsts", e.code, "error", e.err, "status", e.status, "trace_id", rc.traceID)
			s.writeError(w, r, rc, e)
		}
		if specialTenant(seg) {
			reject(errCommonEndpoint())
			return
		}
		tenant, terr := s.lookupTenant(seg)
		if terr != nil {
			reject(*terr)
			return
		}
		if r.Method != http.MethodPost {
			reject(errMethodNotAllowed(r.Method))
			return
		}

		r.Body = http.MaxBytesReader(w, r.Body, maxTokenBody)
		if err := r.ParseForm(); err != nil {
			// Bad escapes leave the parsable pairs in PostForm; only an oversized body is fatal.
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				reject(errBadRequestFormat())
				return
			}
		}
		form := r.PostForm
		clientID = form.Get("client_id")
		// client_secret_basic: RFC 6749 §2.3.1 form-encodes both halves before Base64.
		if user, pass, ok := r.BasicAuth(); ok {
			if clientID == "" {
				clientID = formUnescape(user)
			}
			basicSecret = formUnescape(pass)
		}

		grantType := form.Get("grant_type")
		if grantType == "" {
			reject(errMissingParam("grant_type"))
			return
		}
		if clientID == "" {
			reject(errMissingParam("client_id"))
			return
		}
		var requested string // the resource identifier as the client wrote it
		switch v {
		case tokenV2:
			scope := form.Get("scope")
			if scope == "" {
				reject(errMissingParam("scope"))
				return
			}
			if form.Has("resource") {
				reject(errResourceParam())
				return
			}
			if grantType != "client_credentials" {
				reject(errUnsupportedGrant(grantType))
				return
			}
			res, e := parseScope(scope)
			if e != nil {
				reject(*e)
				return
			}
			requested = res
		case tokenV1:
			// v1 without resource: AADSTS900144 'resource' [OBS for other grants; UNCONFIRMED here].
			requested = form.Get("resource")
			if requested == "" {
				reject(errMissingParam("resource"))
				return
			}
			if grantType != "client_credentials" {
				reject(errUnsupportedGrant(grantType))
				return
			}
		}
		// Only BC exists in the emulator's world; any other resource, or BC in a tenant without
		// the BC service principal, is AADSTS500011 naming the resource as requested. When
		// Entra checks it, relative to the client and its credential, is UNCONFIRMED
		// (bc-entra-facts §1.4 gives the codes, not their order): Config.ResourceCheck.
		resourceOK := func(at ResourceCheck) bool {
			if s.resourceCheck != at || (isBCResource(requested) && tenant.HasBC) {
				return true
			}
			reject(errResourceNotFound(requested, tenantName(tenant)))
			return false
		}
		if !resourceOK(ResourceBeforeClient) {
			return
		}

		app, ok := s.dir.LookupApp(tenant.ID, clientID)
		if !ok {
			// A multi-tenant app whose service principal was deleted here (consent revoked):
			// AADSTS7000229 by default, 700016 with RevokedAsAppNotFound (which one Entra
			// sends is UNCONFIRMED, auth-jobs-delivery-facts §2). Never consented: 700016.
			if s.dir.ServicePrincipalRemoved(tenant.ID, clientID) && !s.cfg.RevokedAsAppNotFound {
				reject(errMissingServicePrincipal(clientID, tenant.ID))
				return
			}
			reject(errAppNotFound(clientID, tenantName(tenant)))
			return
		}
		if app.HomeTenantID != "" {
			// Another directory's multi-tenant app: its credentials are on the application
			// object in the home tenant (auth-jobs-delivery-facts §2).
			home, found := s.dir.LookupApp(app.HomeTenantID, app.ClientID)
			if !found {
				reject(errAppNotFound(clientID, tenantName(tenant)))
				return
			}
			app.Secrets, app.Certificates = home.Secrets, home.Certificates
		}
		secret := form.Get("client_secret")
		if secret == "" {
			secret = basicSecret
		}
		assertion := form.Get("client_assertion")
		if secret == "" && assertion == "" {
			reject(errNoCredential())
			return
		}
		if !app.Enabled {
			status := s.cfg.DisabledAppStatus
			if status == 0 {
				status = http.StatusBadRequest
			}
			reject(errAppDisabled(status, app.ClientID, app.DisplayName))
			return
		}
		if !resourceOK(ResourceBeforeSecret) {
			return
		}
		acr := "1"
		if assertion != "" {
			// An assertion wins over a secret sent with it [UNCONFIRMED which Entra judges].
			if e := s.checkAssertion(app, form.Get("client_assertion_type"), assertion, rc.base()+r.URL.Path, tenant, rc); e != nil {
				reject(*e)
				return
			}
			acr = "2"
		} else if e := s.checkSecret(app, secret, rc); e != nil {
			reject(*e)
			return
		}
		if !resourceOK(ResourceLast) {
			return
		}

		claims := s.claimsFor(tenant, app, requested, rc)
		claims.AppIDACR = acr
		tok, err := s.Sign(claims)
		if err != nil {
			s.log.Error("idp: sign token", "err", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		s.log.Info("idp: token issued", "tenant", tenant.ID, "client_id", app.ClientID,
			"roles", claims.Roles, "endpoint", int(v), "trace_id", rc.traceID)
		secs := int64(s.lifetime.Seconds())
		if v == tokenV1 {
			s.writeTokenJSON(w, r, rc, http.StatusOK, tokenResponseV1{
				TokenType:    "Bearer",
				ExpiresIn:    strconv.FormatInt(secs, 10),
				ExtExpiresIn: strconv.FormatInt(secs, 10),
				ExpiresOn:    strconv.FormatInt(claims.EXP, 10),
				NotBefore:    strconv.FormatInt(claims.NBF, 10),
				Resource:     requested,
				AccessToken:  tok,
			})
			return
		}
		s.writeTokenJSON(w, r, rc, http.StatusOK, tokenResponseV2{
			TokenType: "Bearer", ExpiresIn: secs, ExtExpiresIn: secs, AccessToken: tok,
		})
	}
}

// parseScope validates a client-credentials scope (bc-entra-facts §1.1) and returns the one
// resource identifier it names, as written. The OIDC scopes MSAL appends are ignored. A scope
// without "/.default" is AADSTS1002012 (checked for every scope first), scopes of more than
// one resource AADSTS700022.
func parseScope(scope string) (string, *aadError) {
	var resources []string
	for _, sc := range strings.Fields(scope) {
		switch sc {
		case "openid", "offline_access", "profile", "email":
			continue
		}
		const suffix = "/.default"
		if len(sc) <= len(suffix) || !strings.EqualFold(sc[len(sc)-len(suffix):], suffix) {
			e := errScopeNoDefault(scope)
			return "", &e
		}
		resources = append(resources, sc[:len(sc)-len(suffix)])
	}
	if len(resources) == 0 {
		e := errScopeNoDefault(scope)
		return "", &e
	}
	first := resources[0]
	for _, res := range resources[1:] {
		same := strings.EqualFold(strings.TrimSuffix(res, "/"), strings.TrimSuffix(first, "/")) ||
			isBCResource(res) && isBCResource(first)
		if !same {
			e := errMultipleResources()
			return "", &e
		}
	}
	return first, nil
}

// checkSecret compares the presented secret with every secret of the app in constant time. A
// match on an unexpired secret wins; a match only on expired ones is AADSTS7000222; no match
// (including the secret's ID sent instead of its value) is AADSTS7000215.
func (s *Server) checkSecret(app App, presented string, rc *reqCtx) *aadError {
	expired := false
	for _, sec := range app.Secrets {
		if subtle.ConstantTimeCompare([]byte(sec.Value), []byte(presented)) != 1 {
			continue
		}
		if !sec.EndDate.IsZero() && !rc.now.Before(sec.EndDate) {
			expired = true
			continue
		}
		return nil
	}
	if expired {
		e := errSecretExpired(app.ClientID)
		return &e
	}
	e := errBadSecret(app.ClientID)
	return &e
}

// claimsFor builds the v1 access-token claims of bc-entra-facts §1.6, roles frozen now.
func (s *Server) claimsFor(t Tenant, app App, requested string, rc *reqCtx) Claims {
	iat := rc.now.Unix()
	aud := BCResourceURI
	if s.cfg.EchoResourceAsAudience {
		aud = requested
	}
	sts := "https://sts.windows.net/" + t.ID + "/"
	return Claims{
		Aud:      aud,
		Iss:      sts,
		IAT:      iat,
		NBF:      iat,
		EXP:      iat + int64(s.lifetime.Seconds()),
		AIO:      "E2" + opaque(48),
		AppID:    app.ClientID,
		AppIDACR: "1",
		Idp:      sts,
		OID:      app.ServicePrincipalID,
		RH:       "0." + opaque(40) + ".",
		Roles:    rolesFor(app.Permissions),
		Sub:      app.ServicePrincipalID,
		TID:      t.ID,
		UTI:      opaque(16),
		Ver:      "1.0",
	}
}

func formUnescape(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}
