package idp

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/url"
	"strings"
	"testing"
)

func TestOpenIDConfiguration(t *testing.T) {
	t.Parallel()
	f := setup(t)
	base := "https://emulator.test:8443"
	for _, tc := range []struct{ seg, pathTenant, issuer string }{
		{tenantID, tenantID, base + "/" + tenantID + "/v2.0"},
		{tenantDomain, tenantID, base + "/" + tenantID + "/v2.0"},
		{"common", "common", base + "/{tenantid}/v2.0"},
		{"organizations", "organizations", base + "/{tenantid}/v2.0"},
	} {
		w := f.do("GET", "/"+tc.seg+"/v2.0/.well-known/openid-configuration", nil)
		if w.Code != 200 {
			t.Fatalf("%s: status %d: %s", tc.seg, w.Code, w.Body)
		}
		if w.Header().Get("Cache-Control") != "max-age=86400, private" || w.Header().Get("Access-Control-Allow-Origin") != "*" ||
			w.Header().Get("Content-Type") != "application/json; charset=utf-8" {
			t.Errorf("%s: headers %v", tc.seg, w.Header())
		}
		var doc map[string]any
		must(t, json.Unmarshal(w.Body.Bytes(), &doc))
		keys := []string{"token_endpoint", "token_endpoint_auth_methods_supported", "jwks_uri", "response_modes_supported",
			"subject_types_supported", "id_token_signing_alg_values_supported", "response_types_supported", "scopes_supported",
			"issuer", "request_uri_parameter_supported", "userinfo_endpoint", "authorization_endpoint",
			"device_authorization_endpoint", "http_logout_supported", "frontchannel_logout_supported", "end_session_endpoint",
			"claims_supported", "kerberos_endpoint", "tenant_region_scope", "cloud_instance_name", "cloud_graph_host_name",
			"msgraph_host", "rbac_url"}
		if len(doc) != len(keys) {
			t.Errorf("%s: %d keys, want %d", tc.seg, len(doc), len(keys))
		}
		for _, k := range keys {
			if _, ok := doc[k]; !ok {
				t.Errorf("%s: key %s missing", tc.seg, k)
			}
		}
		p := base + "/" + tc.pathTenant
		for k, want := range map[string]string{
			"issuer":                 tc.issuer,
			"token_endpoint":         p + "/oauth2/v2.0/token",
			"authorization_endpoint": p + "/oauth2/v2.0/authorize",
			"jwks_uri":               p + "/discovery/v2.0/keys",
		} {
			if doc[k] != want {
				t.Errorf("%s: %s = %v, want %s", tc.seg, k, doc[k], want)
			}
		}
	}
	for seg, code := range map[string]float64{"ffffffff-86f1-41af-91ab-2d7cd011db47": 90002, "nope": 900023} {
		w := f.do("GET", "/"+seg+"/v2.0/.well-known/openid-configuration", nil)
		b := decodeJSON[errorBody](t, w)
		if w.Code != 400 || float64(b.ErrorCodes[0]) != code || !strings.HasPrefix(b.ErrorDescription, "AADSTS") {
			t.Errorf("%s: %d %s", seg, w.Code, w.Body)
		}
	}
	w := f.do("GET", "/ffffffff-86f1-41af-91ab-2d7cd011db47/v2.0/.well-known/openid-configuration", nil)
	if b := decodeJSON[errorBody](t, w); b.Error != "invalid_tenant" {
		t.Errorf("unknown tenant error %q, want invalid_tenant", b.Error)
	}
}

func TestJWKSMatchesSigningKey(t *testing.T) {
	t.Parallel()
	f := setup(t)
	tok := accessToken(t, f.do("POST", tokenPath(tenantID), goodForm()))
	kid := header(t, tok)["kid"]
	for _, path := range []string{"/" + tenantID + "/discovery/v2.0/keys", "/common/discovery/keys"} {
		w := f.do("GET", path, nil)
		var set struct {
			Keys []jwk `json:"keys"`
		}
		must(t, json.Unmarshal(w.Body.Bytes(), &set))
		if w.Code != 200 || len(set.Keys) != 1 {
			t.Fatalf("%s: %d %s", path, w.Code, w.Body)
		}
		k := set.Keys[0]
		if k.Kty != "RSA" || k.Use != "sig" || k.Kid != kid || k.X5T != kid {
			t.Errorf("%s: key %+v, token kid %v", path, k, kid)
		}
		n, _ := base64.RawURLEncoding.DecodeString(k.N)
		e, _ := base64.RawURLEncoding.DecodeString(k.E)
		pub := testKey().PublicKey
		if new(big.Int).SetBytes(n).Cmp(pub.N) != 0 || int(new(big.Int).SetBytes(e).Int64()) != pub.E || k.E != "AQAB" {
			t.Errorf("%s: n/e do not match the signing key", path)
		}
		der, err := base64.StdEncoding.DecodeString(k.X5C[0])
		must(t, err)
		cert, err := x509.ParseCertificate(der)
		must(t, err)
		if !cert.PublicKey.(*rsa.PublicKey).Equal(&pub) {
			t.Errorf("%s: x5c certificate carries another key", path)
		}
	}
}

func TestInstanceDiscovery(t *testing.T) {
	t.Parallel()
	f := setup(t)
	get := func(authz string) (int, map[string]any) {
		q := url.Values{"api-version": {"1.1"}}
		if authz != "" {
			q.Set("authorization_endpoint", authz)
		}
		w := f.do("GET", "/common/discovery/instance?"+q.Encode(), nil)
		var m map[string]any
		must(t, json.Unmarshal(w.Body.Bytes(), &m))
		return w.Code, m
	}
	code, m := get("https://emulator.test:8443/" + tenantID + "/oauth2/v2.0/authorize")
	if code != 200 || m["tenant_discovery_endpoint"] != "https://emulator.test:8443/"+tenantID+"/v2.0/.well-known/openid-configuration" ||
		m["api-version"] != "1.1" {
		t.Errorf("own host: %d %v", code, m)
	}
	meta, _ := m["metadata"].([]any)
	if len(meta) != 6 {
		t.Fatalf("metadata %v", m["metadata"])
	}
	if first := meta[0].(map[string]any); first["preferred_network"] != "emulator.test:8443" {
		t.Errorf("own host entry %v", first)
	}
	code, m = get("https://login.windows.net/common/oauth2/v2.0/authorize")
	if code != 200 || m["tenant_discovery_endpoint"] != "https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration" {
		t.Errorf("microsoft alias: %d %v", code, m)
	}
	code, m = get("https://evil.example/" + tenantID + "/oauth2/v2.0/authorize")
	if code != 400 || m["error"] != "invalid_instance" || !strings.HasPrefix(m["error_description"].(string), "AADSTS50049: ") {
		t.Errorf("unknown host: %d %v", code, m)
	}
	if code, m = get(""); code != 400 || m["error"] != "invalid_request" {
		t.Errorf("missing authorization_endpoint: %d %v", code, m)
	}
}
