// Package entra acquires Microsoft Entra ID access tokens for Business Central with the
// OAuth 2.0 client-credentials grant, and turns Entra's failures into typed errors that
// name the setup scenario (PRODUCT.md "The setup scenarios") they come from.
//
// The rest of the connector depends only on [TokenSource]; azidentity and azcore stay
// behind [Source]. Client secrets and access tokens are never logged and never appear in
// error strings: [Config], [AccessToken] and [Source] redact them when printed or logged.
//
// https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow
package entra

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/bizzjoiner/bcconnector/secret"
)

// Scope is the client-credentials scope for the Business Central API: the resource URI plus
// "/.default" (bc-entra-facts §1.1; any other form fails with AADSTS1002012).
const Scope = "https://api.businesscentral.dynamics.com/.default"

// DefaultAuthorityHost is Entra's public-cloud authority host, used when
// Config.AuthorityHost is empty.
const DefaultAuthorityHost = "https://login.microsoftonline.com/"

// redacted replaces a secret or token wherever a value is printed or logged.
const redacted = "REDACTED"

// Config describes one connection's app registration: what the customer's admin hands over
// at the end of the setup guide, plus where and how to reach Entra.
type Config struct {
	// TenantID is the Directory (tenant) ID: a GUID or a verified domain such as
	// contoso.onmicrosoft.com. Required.
	TenantID string
	// ClientID is the Application (client) ID, a GUID. Required.
	ClientID string
	// Secret is the client secret's Value (not its Secret ID). Required unless Certificate
	// is set. Never logged; revealed only to build the token request.
	Secret secret.Secret
	// Certificate is a certificate credential, used instead of Secret: its private key
	// signs a client assertion for every token request (azidentity's
	// ClientCertificateCredential: PS256 with the x5t#S256 thumbprint header). Never logged
	// but for its thumbprint; the key is parsed only to build the credential.
	Certificate *secret.Certificate
	// AuthorityHost is the Entra authority host, e.g. "https://login.microsoftonline.us/"
	// or an emulator's "https://127.0.0.1:8443/". It must use https. Empty means the public
	// cloud (DefaultAuthorityHost) with MSAL's instance discovery on; any other value turns
	// instance discovery off, because MSAL would otherwise ask the real
	// login.microsoftonline.com to vouch for the host (bc-entra-facts §0 item 9, §1.5).
	AuthorityHost string
	// HTTPClient sends the discovery and token requests; nil means a client with Go's
	// default transport. Tests pass an httptest server's Client().
	HTTPClient *http.Client
	// Logger receives debug lines per Entra request and a warning per failure; nil
	// discards. Secrets and tokens are never logged.
	Logger *slog.Logger
	// Now is the clock that decides when a cached token is due for refresh; nil means
	// time.Now.
	Now func() time.Time

	// MaxRetries is how often a request that failed with a network error or HTTP
	// 408/429/5xx is retried (azcore's retry policy, exponential back-off from 800 ms).
	// Zero means azcore's default of 3; a negative value disables retries.
	MaxRetries int
	// Timeout bounds one token acquisition: discovery, token request and retries.
	// Zero means 60 s.
	Timeout time.Duration
}

// String describes the configuration with the secret redacted.
func (c Config) String() string {
	if c.Certificate != nil {
		return fmt.Sprintf("entra.Config{TenantID: %q, ClientID: %q, Certificate: %s, AuthorityHost: %q}",
			c.TenantID, c.ClientID, c.Certificate.Thumbprint(), c.AuthorityHost)
	}
	return fmt.Sprintf("entra.Config{TenantID: %q, ClientID: %q, Secret: %s, AuthorityHost: %q}",
		c.TenantID, c.ClientID, redactedOrEmpty(string(c.Secret)), c.AuthorityHost)
}

// GoString is String, so that %#v does not print the secret either.
func (c Config) GoString() string { return c.String() }

// LogValue logs the configuration with the secret redacted.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("tenantId", c.TenantID),
		slog.String("clientId", c.ClientID),
		slog.String("secret", redactedOrEmpty(string(c.Secret))),
		slog.String("certificate", thumbprint(c.Certificate)),
		slog.String("authorityHost", c.AuthorityHost),
	)
}

// thumbprint names a certificate credential by its (public) thumbprint; "" for none.
func thumbprint(c *secret.Certificate) string {
	if c == nil {
		return ""
	}
	return c.Thumbprint()
}

func redactedOrEmpty(s string) string {
	if s == "" {
		return `""`
	}
	return redacted
}

// TokenSource supplies bearer tokens for the Business Central API. The bc client depends
// only on this interface.
type TokenSource interface {
	// Token returns a bearer token for Business Central, from cache while it is fresh.
	// Callers ask before every request rather than holding on to a token.
	Token(ctx context.Context) (AccessToken, error)
}

// AccessToken is a bearer token for the Business Central API and the time it expires.
// Printing, logging or JSON-encoding it redacts Token; read the field to use it.
type AccessToken struct {
	Token     string
	ExpiresOn time.Time
}

// String describes the token with its value redacted.
func (t AccessToken) String() string {
	return fmt.Sprintf("entra.AccessToken{Token: %s, ExpiresOn: %s}",
		redactedOrEmpty(t.Token), t.ExpiresOn.UTC().Format(time.RFC3339))
}

// GoString is String, so that %#v does not print the token either.
func (t AccessToken) GoString() string { return t.String() }

// LogValue logs the expiry only.
func (t AccessToken) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("token", redactedOrEmpty(t.Token)),
		slog.Time("expiresOn", t.ExpiresOn),
	)
}

// MarshalJSON encodes the token with its value redacted: tokens are never persisted or
// sent anywhere but to Business Central.
func (t AccessToken) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Token     string    `json:"token"`
		ExpiresOn time.Time `json:"expiresOn"`
	}{redactedOrEmpty(t.Token), t.ExpiresOn})
}
