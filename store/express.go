package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/bizzjoiner/bcconnector/guide"
	"github.com/bizzjoiner/bcconnector/secret"
)

// ConnectionKind says whose Entra app a connection's tokens are requested with.
type ConnectionKind string

// The connection kinds.
const (
	// KindOwnApp: the customer registered an app of their own in their tenant and handed
	// over its client ID and a secret or certificate (the guide's six steps). The zero
	// value of every connection that has no [Consent] record.
	KindOwnApp ConnectionKind = "own-app"
	// KindExpress: Bizzjoiner's own multi-tenant app ([OperatorApp]) with the operator's
	// credential; the customer's admin only granted admin consent (Step 5) and registered
	// the app's client ID in BC (Step 6).
	KindExpress ConnectionKind = "express"
)

// OperatorApp is Bizzjoiner's own multi-tenant app registration, which express
// connections use in every customer's tenant (auth-jobs-delivery-facts §2), without its
// credential's secret value (sealed in the store like a client secret).
type OperatorApp struct {
	// ClientID is the multi-tenant app's Application (client) ID (a GUID, lower-case).
	ClientID string
	// TenantID is the Directory (tenant) ID or domain of Bizzjoiner's own directory, which
	// holds the registration (shown to operators; tokens are asked in customers' tenants).
	TenantID string
	// RedirectURI is the app's Web redirect URI that admin consent returns to: bcconnector's
	// consent callback (ends in ExpressCallbackPath), registered on the app exactly so.
	RedirectURI string
	// Kind is CredentialSecret or CredentialCertificate.
	Kind CredentialKind
	// Certificate is a certificate credential's X.509 certificate (DER); nil for a secret.
	Certificate []byte
	// EndDate is when Entra stops accepting the credential; zero means unknown.
	EndDate time.Time
	// KeyID is the master key that sealed the value.
	KeyID string
	// UpdatedAt is when the credential was set.
	UpdatedAt time.Time
}

// Credential pairs the opened value with the record: a client secret, or the certificate
// with its private key.
func (a OperatorApp) Credential(v secret.Secret) secret.Credential {
	return SecretRecord{Kind: a.Kind, Certificate: a.Certificate}.Credential(v)
}

// ConsentState is where an express connection's admin consent stands, as the last answer
// Entra sent back to the consent callback says.
type ConsentState string

// The consent states.
const (
	// ConsentPending: the consent link was made; no answer came back yet.
	ConsentPending ConsentState = "pending"
	// ConsentGranted: Entra redirected back with admin_consent=True.
	ConsentGranted ConsentState = "granted"
	// ConsentRefused: Entra redirected back with an error (declined, or a user who may not
	// consent: AADSTS90094/90095).
	ConsentRefused ConsentState = "refused"
	// ConsentRevoked: consent had been granted, and then the doctor or a token request saw
	// it gone in the customer's tenant (the enterprise application deleted: AADSTS7000229
	// or AADSTS700016; or the grant removed: a token without roles, bc-entra-facts §1.4,
	// §1.6). UpdatedAt is when that was first seen; Error is "revoked" and
	// ErrorDescription what was seen. A new consent (the callback) grants it again.
	ConsentRevoked ConsentState = "revoked"
)

// Consent is an express connection's admin-consent record: its presence makes the
// connection express (KindExpress).
type Consent struct {
	// ConnectionID is the express connection.
	ConnectionID string
	// State is pending, granted, refused or revoked.
	State ConsentState
	// Nonce is the secret part of the consent link's state parameter; the callback must
	// bring it back (the link's state is ConnectionID + "." + Nonce).
	Nonce string
	// Error and ErrorDescription are what Entra sent back on refusal (e.g. access_denied,
	// "AADSTS90094: …").
	Error, ErrorDescription string
	// Tenant is the tenant GUID Entra named on success: shown, never trusted for
	// authorisation (auth-jobs-delivery-facts §2: it can be forged).
	Tenant string
	// UpdatedAt is when the record last changed.
	UpdatedAt time.Time
}

// ExpressStore keeps express setup: the operator's app with its sealed credential, and
// which connections are express with their consent record.
type ExpressStore interface {
	// SetOperatorApp stores Bizzjoiner's app and its credential (a client secret, or a
	// certificate's private key as the value with app.Certificate set), replacing the one
	// stored before; the value is sealed (AAD: "operator"). app.Kind is taken from
	// whether app.Certificate is set; a certificate's end date is its NotAfter. ErrInvalid
	// names the field. Every process drops its opened connections (the empty payload on
	// ChannelConnection).
	SetOperatorApp(ctx context.Context, app OperatorApp, value secret.Secret) (OperatorApp, error)
	// OperatorApp opens the stored app's credential. ErrNotFound when none is configured;
	// an error wrapping secret.ErrUnknownKey when its master key is missing.
	OperatorApp(ctx context.Context) (OperatorApp, secret.Secret, error)
	// DeleteOperatorApp removes it (express connections then cannot get tokens).
	// ErrNotFound when none is configured.
	DeleteOperatorApp(ctx context.Context) error
	// SetConsent creates or replaces a connection's consent record (making it express);
	// ErrNotFound if the connection does not exist. Publishes the connection's ID.
	SetConsent(ctx context.Context, c Consent) (Consent, error)
	// Consent returns a connection's consent record; ErrNotFound when the connection is
	// not express (or does not exist).
	Consent(ctx context.Context, connID string) (Consent, error)
	// Consents returns every consent record, by connection ID.
	Consents(ctx context.Context) (map[string]Consent, error)
}

// OperatorSecretAADPurpose names the operator's sealed credential in its additional data.
const OperatorSecretAADPurpose = "bcconnector/operator-app"

// Normalize checks an operator app about to be stored with its credential's value and
// fills Kind and, for a certificate, EndDate. Its error wraps [ErrInvalid] and names the
// field and the fix.
func (a *OperatorApp) Normalize(value secret.Secret) error {
	a.ClientID = strings.ToLower(strings.TrimSpace(a.ClientID))
	a.TenantID = strings.TrimSpace(a.TenantID)
	if _, fe := guide.CheckClientID(a.ClientID); fe != nil {
		return invalid("express app client ID: %s (the Application (client) ID of Bizzjoiner's multi-tenant app, from its Overview page)", fe.Problem)
	}
	if a.TenantID != "" {
		if _, fe := guide.CheckTenant(a.TenantID); fe != nil {
			return invalid("express app tenant: %s (the Directory (tenant) ID of Bizzjoiner's own directory, or leave it empty)", fe.Problem)
		}
		if guide.IsGUID(a.TenantID) {
			a.TenantID = strings.ToLower(a.TenantID)
		}
	}
	a.RedirectURI = strings.TrimSpace(a.RedirectURI)
	if err := checkRedirectURI(a.RedirectURI); err != nil {
		return err
	}
	if value.IsZero() {
		return invalid("express app credential is empty: give the client secret's Value of Bizzjoiner's multi-tenant app, or a certificate with its private key")
	}
	if len(a.Certificate) == 0 {
		a.Kind, a.Certificate = CredentialSecret, nil
		return nil
	}
	cert := secret.Certificate{DER: a.Certificate, Key: value}
	if err := cert.Check(); err != nil {
		return invalid("express app certificate: %v", err)
	}
	a.Kind, a.EndDate = CredentialCertificate, cert.NotAfter()
	return nil
}

// CredentialStores is what ActiveCredential reads.
type CredentialStores interface {
	SecretStore
	ExpressStore
}

// ActiveCredential is the credential a connection's tokens are requested with now, and
// what it is: for an express connection (one with a [Consent] record) the operator app's
// (Kind KindExpress, Operator set), else the connection's active secret or certificate
// (KindOwnApp, Record set). An express connection whose client ID is no longer the
// operator app's fails with an error saying so (customers consented to the old one).
func ActiveCredential(ctx context.Context, st CredentialStores, c Connection) (secret.Credential, CredentialInfo, error) {
	if _, err := st.Consent(ctx, c.ID); err == nil {
		app, v, err := st.OperatorApp(ctx)
		if err != nil {
			return secret.Credential{}, CredentialInfo{Kind: KindExpress}, fmt.Errorf("express connection %q: %w", c.Name, err)
		}
		if app.ClientID != c.ClientID {
			return secret.Credential{}, CredentialInfo{Kind: KindExpress, Operator: app}, fmt.Errorf(
				"express connection %q was set up with Bizzjoiner's app %s, but the configured express app is now %s; set the express app back to %s (`bcconnector express-app set`), or add the connection again so the customer consents to the new app",
				c.Name, c.ClientID, app.ClientID, c.ClientID)
		}
		return app.Credential(v), CredentialInfo{Kind: KindExpress, Operator: app, EndDate: app.EndDate}, nil
	} else if !errors.Is(err, ErrNotFound) {
		return secret.Credential{}, CredentialInfo{}, err
	}
	v, rec, err := st.ActiveSecret(ctx, c.ID)
	if err != nil {
		return secret.Credential{}, CredentialInfo{Kind: KindOwnApp}, err
	}
	return rec.Credential(v), CredentialInfo{Kind: KindOwnApp, Record: rec, EndDate: rec.EndDate}, nil
}

// CredentialInfo describes the credential ActiveCredential returned.
type CredentialInfo struct {
	// Kind is the connection's kind.
	Kind ConnectionKind
	// Record is an own-app connection's active credential record.
	Record SecretRecord
	// Operator is the operator app of an express connection.
	Operator OperatorApp
	// EndDate is when the credential expires; zero means unknown.
	EndDate time.Time
}

// ExpressCallbackPath is the path of bcconnector's admin-consent callback; an operator app's
// RedirectURI ends in it.
const ExpressCallbackPath = "/consent/callback"

// checkRedirectURI: Entra's redirect URIs are https (http only for localhost), without a
// fragment, at most 256 characters (auth-jobs-delivery-facts §2), and bcconnector's must end
// in its callback path.
func checkRedirectURI(s string) error {
	fix := "give the Web redirect URI registered on Bizzjoiner's multi-tenant app, e.g. https://connector.example.com" + ExpressCallbackPath + " (the address the customer's browser reaches bcconnector at, plus " + ExpressCallbackPath + ")"
	if s == "" {
		return invalid("express app redirect URI is empty; %s", fix)
	}
	u, err := url.Parse(s)
	local := u != nil && u.Scheme == "http" && (u.Hostname() == "localhost" || u.Hostname() == "127.0.0.1")
	switch {
	case err != nil || u.Host == "" || u.User != nil || u.Fragment != "" || (u.Scheme != "https" && !local):
		return invalid("express app redirect URI %q must be an absolute https URL (http only for localhost) without credentials or fragment; %s", s, fix)
	case len(s) > 256:
		return invalid("express app redirect URI is %d characters; Entra allows at most 256", len(s))
	case !strings.HasSuffix(u.Path, ExpressCallbackPath) || u.RawQuery != "":
		return invalid("express app redirect URI %q must end in %s without a query; %s", s, ExpressCallbackPath, fix)
	}
	return nil
}
