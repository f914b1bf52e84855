package entra

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// guidRE is a tenant ID as Entra writes it.
var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// TenantID resolves a tenant as an admin typed it, a GUID or a domain such as
// contoso.onmicrosoft.com, to its tenant ID (lower case), so that one tenant typed two ways
// is recognised as one. A GUID is returned as is, without a request; a domain is looked up
// in Entra's OpenID discovery document of the tenant, whose issuer names the tenant ID
// (bc-entra-facts §1.5). authorityHost "" means the public cloud. An unknown tenant is an
// *Error (AADSTS90002, §1.4).
//
// https://learn.microsoft.com/entra/identity-platform/v2-protocols-oidc#find-your-apps-openid-configuration-document-uri
func TenantID(ctx context.Context, hc *http.Client, authorityHost, tenant string) (string, error) {
	tenant = strings.TrimSpace(tenant)
	if guidRE.MatchString(tenant) {
		return strings.ToLower(tenant), nil
	}
	if tenant == "" || strings.ContainsAny(tenant, "/?#%") {
		return "", fmt.Errorf("entra: tenant %q is neither a GUID nor a domain", tenant)
	}
	if authorityHost == "" {
		authorityHost = "https://login.microsoftonline.com/"
	}
	u := strings.TrimSuffix(authorityHost, "/") + "/" + url.PathEscape(tenant) + "/v2.0/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", fmt.Errorf("entra: tenant discovery: %w", err)
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("entra: tenant discovery of %q: %w", tenant, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return "", fmt.Errorf("entra: tenant discovery of %q: %w", tenant, err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", wireError(resp.StatusCode, body)
	}
	id, err := IssuerTenant(body)
	if err != nil {
		return "", fmt.Errorf("entra: tenant discovery of %q: %w", tenant, err)
	}
	return id, nil
}

// IssuerTenant reads the tenant ID from an OpenID discovery document: its issuer is
// https://{host}/{tenant ID}/v2.0 (bc-entra-facts §1.5).
func IssuerTenant(doc []byte) (string, error) {
	var d struct {
		Issuer string `json:"issuer"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		return "", fmt.Errorf("the discovery document is not JSON: %w", err)
	}
	u, err := url.Parse(d.Issuer)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("the discovery document's issuer %q is not a URL", clipText(d.Issuer))
	}
	seg, _, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
	if !guidRE.MatchString(seg) {
		return "", fmt.Errorf("the discovery document's issuer %q names no tenant ID", clipText(d.Issuer))
	}
	return strings.ToLower(seg), nil
}

func clipText(s string) string {
	if len(s) > 100 {
		return s[:100] + "…"
	}
	return s
}
