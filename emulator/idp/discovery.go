package idp

import (
	"net/http"
	"net/url"
	"strings"
)

// openIDConfig is the tenant discovery document, keys in the order of bc-entra-facts §1.5,
// endpoints on the emulator's own host.
type openIDConfig struct {
	TokenEndpoint                     string   `json:"token_endpoint"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	JWKSURI                           string   `json:"jwks_uri"`
	ResponseModesSupported            []string `json:"response_modes_supported"`
	SubjectTypesSupported             []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported  []string `json:"id_token_signing_alg_values_supported"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	ScopesSupported                   []string `json:"scopes_supported"`
	Issuer                            string   `json:"issuer"`
	RequestURIParameterSupported      bool     `json:"request_uri_parameter_supported"`
	UserinfoEndpoint                  string   `json:"userinfo_endpoint"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	DeviceAuthorizationEndpoint       string   `json:"device_authorization_endpoint"`
	HTTPLogoutSupported               bool     `json:"http_logout_supported"`
	FrontchannelLogoutSupported       bool     `json:"frontchannel_logout_supported"`
	EndSessionEndpoint                string   `json:"end_session_endpoint"`
	ClaimsSupported                   []string `json:"claims_supported"`
	KerberosEndpoint                  string   `json:"kerberos_endpoint"`
	TenantRegionScope                 *string  `json:"tenant_region_scope"`
	CloudInstanceName                 string   `json:"cloud_instance_name"`
	CloudGraphHostName                string   `json:"cloud_graph_host_name"`
	MSGraphHost                       string   `json:"msgraph_host"`
	RBACURL                           string   `json:"rbac_url"`
}

// consumersTenantID is the Microsoft-account tenant, the issuer of /consumers.
const consumersTenantID = "9188040d-6c67-4c5b-b112-36a304b66dad"

// handleOpenIDConfig serves GET /{tenant}/v2.0/.well-known/openid-configuration
// (bc-entra-facts §1.5). A specific tenant (GUID or domain) resolves to its GUID in every
// endpoint; common and organizations publish the literal "{tenantid}" issuer.
func (s *Server) handleOpenIDConfig(w http.ResponseWriter, r *http.Request) {
	rc := s.newReqCtx(r)
	seg := r.PathValue("tenant")
	pathTenant, issuerTenant := seg, "{tenantid}"
	var region *string
	switch {
	case strings.EqualFold(seg, "consumers"):
		pathTenant, issuerTenant = "consumers", consumersTenantID
	case specialTenant(seg):
		pathTenant = strings.ToLower(seg)
	default:
		t, e := s.lookupTenant(seg)
		if e != nil {
			s.writeJSON(w, r, rc, e.status, e.body(rc))
			return
		}
		pathTenant, issuerTenant = t.ID, t.ID
		ww := "WW"
		region = &ww
	}
	base := rc.base()
	doc := openIDConfig{
		TokenEndpoint:                     base + "/" + pathTenant + "/oauth2/v2.0/token",
		TokenEndpointAuthMethodsSupported: []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		JWKSURI:                           base + "/" + pathTenant + "/discovery/v2.0/keys",
		ResponseModesSupported:            []string{"query", "fragment", "form_post"},
		SubjectTypesSupported:             []string{"pairwise"},
		IDTokenSigningAlgValuesSupported:  []string{"RS256"},
		ResponseTypesSupported:            []string{"code", "id_token", "code id_token", "id_token token"},
		ScopesSupported:                   []string{"openid", "profile", "email", "offline_access"},
		Issuer:                            base + "/" + issuerTenant + "/v2.0",
		RequestURIParameterSupported:      false,
		UserinfoEndpoint:                  "https://graph.microsoft.com/oidc/userinfo",
		AuthorizationEndpoint:             base + "/" + pathTenant + "/oauth2/v2.0/authorize",
		DeviceAuthorizationEndpoint:       base + "/" + pathTenant + "/oauth2/v2.0/devicecode",
		HTTPLogoutSupported:               true,
		FrontchannelLogoutSupported:       true,
		EndSessionEndpoint:                base + "/" + pathTenant + "/oauth2/v2.0/logout",
		ClaimsSupported: []string{"sub", "iss", "cloud_instance_name", "cloud_instance_host_name",
			"cloud_graph_host_name", "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce",
			"preferred_username", "name", "tid", "ver", "at_hash", "c_hash", "email"},
		KerberosEndpoint:   base + "/" + pathTenant + "/kerberos",
		TenantRegionScope:  region,
		CloudInstanceName:  "microsoftonline.com",
		CloudGraphHostName: "graph.windows.net",
		MSGraphHost:        "graph.microsoft.com",
		RBACURL:            "https://pas.windows.net",
	}
	w.Header().Set("Cache-Control", "max-age=86400, private")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	s.writeJSON(w, r, rc, http.StatusOK, doc)
}

// handleKeys serves the JWKS. Entra's signing keys are cloud-wide, so every tenant segment
// gets the same document; the issuer hint carries the "{tenantid}" placeholder as Entra's does.
func (s *Server) handleKeys(w http.ResponseWriter, r *http.Request) {
	rc := s.newReqCtx(r)
	w.Header().Set("Cache-Control", "max-age=86400, private")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	s.writeJSON(w, r, rc, http.StatusOK, struct {
		Keys []jwk `json:"keys"`
	}{[]jwk{s.key.jwk(rc.base() + "/{tenantid}/v2.0")}})
}

// instanceMetadata is one entry of the instance discovery metadata.
type instanceMetadata struct {
	PreferredNetwork string   `json:"preferred_network"`
	PreferredCache   string   `json:"preferred_cache"`
	Aliases          []string `json:"aliases"`
}

// microsoftClouds is Entra's own instance metadata (bc-entra-facts §1.5).
func microsoftClouds() []instanceMetadata {
	return []instanceMetadata{
		{"login.microsoftonline.com", "login.windows.net", []string{"login.microsoftonline.com", "login.windows.net", "login.microsoft.com", "sts.windows.net"}},
		{"login.partner.microsoftonline.cn", "login.partner.microsoftonline.cn", []string{"login.partner.microsoftonline.cn", "login.chinacloudapi.cn"}},
		{"login.microsoftonline.de", "login.microsoftonline.de", []string{"login.microsoftonline.de"}},
		{"login.microsoftonline.us", "login.microsoftonline.us", []string{"login.microsoftonline.us", "login.usgovcloudapi.net"}},
		{"login-us.microsoftonline.com", "login-us.microsoftonline.com", []string{"login-us.microsoftonline.com"}},
	}
}

// handleInstanceDiscovery serves GET /common/discovery/instance?api-version=1.1&
// authorization_endpoint=https://{host}/{tenant}/oauth2/v2.0/authorize (bc-entra-facts §1.5).
// The emulator's own host is a valid instance, listed first in metadata with itself as its
// only alias; Microsoft's hosts are answered as Entra would; any other host is 400
// invalid_instance, the substring MSAL looks for.
func (s *Server) handleInstanceDiscovery(w http.ResponseWriter, r *http.Request) {
	rc := s.newReqCtx(r)
	fail := func(e aadError) { s.writeJSON(w, r, rc, e.status, e.body(rc)) }
	raw := r.URL.Query().Get("authorization_endpoint")
	u, err := url.Parse(raw)
	if raw == "" || err != nil || u.Host == "" {
		fail(errMalformedDiscovery())
		return
	}
	tenant, _, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
	if tenant == "" {
		tenant = "common"
	}
	meta := append([]instanceMetadata{{rc.host, rc.host, []string{rc.host}}}, microsoftClouds()...)
	network := ""
	for _, m := range meta {
		for _, a := range m.Aliases {
			if network == "" && strings.EqualFold(a, u.Host) {
				network = m.PreferredNetwork
			}
		}
	}
	if network == "" {
		fail(errInvalidInstance())
		return
	}
	s.writeJSON(w, r, rc, http.StatusOK, struct {
		TenantDiscoveryEndpoint string             `json:"tenant_discovery_endpoint"`
		APIVersion              string             `json:"api-version"`
		Metadata                []instanceMetadata `json:"metadata"`
	}{
		TenantDiscoveryEndpoint: "https://" + network + "/" + tenant + "/v2.0/.well-known/openid-configuration",
		APIVersion:              "1.1",
		Metadata:                meta,
	})
}
