package idp

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// DefaultTokenLifetime is the token lifetime Entra usually reports for BC: expires_in 3599
// (bc-entra-facts §1.2).
const DefaultTokenLifetime = 3599 * time.Second

// Config configures a Server. The zero value works: an empty directory, time.Now, a fresh
// 2048-bit key and a discarded log.
type Config struct {
	// Directory holds tenants and apps. Nil means a new empty directory (see Server.Directory).
	Directory *Directory
	// Now is the clock for token times, secret expiry and Verify. Nil means time.Now.
	Now func() time.Time
	// TokenLifetime is reported in expires_in and ext_expires_in and is also exp - iat in the
	// JWT. Zero means DefaultTokenLifetime (3599 s). Real exp - iat is 3600–5400 s and not
	// pinned down [UNCONFIRMED, bc-entra-facts §1.6], so both use this one value.
	TokenLifetime time.Duration
	// Logger receives one line per token request (never secrets). Nil discards.
	Logger *slog.Logger
	// Key signs tokens. Nil means a freshly generated 2048-bit key; tests that build many
	// servers should pass one shared key.
	Key *rsa.PrivateKey
	// AutoConsent makes GET /{tenant}/adminconsent grant consent without asking, as if an
	// administrator clicked Accept. A test convenience; see handleAdminConsent.
	AutoConsent bool
	// RevokedAsAppNotFound, when true, answers a token request of a multi-tenant app whose
	// service principal was deleted in the tenant (consent revoked) with AADSTS700016, as for
	// one never consented there. By default it is AADSTS7000229 "missing service principal",
	// the reference's guess [UNCONFIRMED, auth-jobs-delivery-facts §2].
	RevokedAsAppNotFound bool
	// DisabledAppStatus is the HTTP status of AADSTS7000112 (app disabled). Zero means 400,
	// the reference's best guess [UNCONFIRMED, bc-entra-facts §1.4].
	DisabledAppStatus int
	// IgnoreClientRequestID, when true, makes correlation_id a fresh GUID on every error.
	// By default the client's client-request-id header (MSAL always sends one) is used as the
	// correlation id, which is what Entra appears to do [UNCONFIRMED].
	IgnoreClientRequestID bool
	// EchoResourceAsAudience, when true, puts the resource identifier the client asked for
	// (e.g. the GUID 996def3d-… or https://api.financials.dynamics.com) in aud. By default
	// aud is always BCResourceURI. v1 tokens "may carry URI or GUID" [UNCONFIRMED which,
	// bc-entra-facts §1.6]; a BC side that accepts every BC identifier works with both.
	EchoResourceAsAudience bool

	// The choices below decide how client assertions (certificate credentials) are judged
	// where Entra's behaviour is UNCONFIRMED (auth-jobs-delivery-facts §1; docs/EMULATOR.md).

	// AssertionClockSkew is how far nbf may lie ahead of Now and exp behind it. Zero means
	// DefaultAssertionClockSkew (5 minutes); negative means none.
	AssertionClockSkew time.Duration
	// StrictAssertionAudience, when true, accepts only the exact URL the request was posted
	// to as aud. By default the same tenant written another way (GUID for a verified domain)
	// and the other token endpoint version are accepted too (the reference's guess).
	StrictAssertionAudience bool
	// RejectRS256, when true, refuses RS256 assertions (with x5t); by default RS256 and PS256
	// are both accepted, as Entra does today.
	RejectRS256 bool
	// RejectReplayedAssertions, when true, requires a jti and refuses one seen before until
	// the assertion expires. By default jti is not checked: msal-node re-sends the same jti,
	// which suggests Entra does not enforce single use.
	RejectReplayedAssertions bool
	// MinCertificateKeyBits is the smallest RSA key accepted for a certificate credential
	// (AADSTS50032 below it). Zero means DefaultMinCertificateKeyBits (2048).
	MinCertificateKeyBits int

	// ResourceCheck is where the token endpoint checks the resource and the tenant's BC
	// service principal (AADSTS500011) among its checks of the client (AADSTS700016, 7000112)
	// and of its secret or assertion (7000215, 7000222, 700027, …). The tenant is always
	// checked first: it is in the URL. Entra's order is UNCONFIRMED (bc-entra-facts §1.4);
	// it decides what a tenant without BC answers to a wrong client ID or secret. "" means
	// ResourceBeforeClient.
	ResourceCheck ResourceCheck
}

// ResourceCheck is a position of the resource check in the token endpoint's order.
type ResourceCheck string

// The positions of the resource check.
const (
	// ResourceBeforeClient checks the resource right after the request's form: a tenant
	// without BC answers AADSTS500011 whatever the client ID and secret (the default).
	ResourceBeforeClient ResourceCheck = "before-client"
	// ResourceBeforeSecret checks it once the client is known and enabled, before its
	// secret or assertion: a wrong client ID answers 700016 first, a wrong secret 500011.
	ResourceBeforeSecret ResourceCheck = "before-secret"
	// ResourceLast checks it after the secret or assertion: 500011 only with credentials
	// that are right.
	ResourceLast ResourceCheck = "last"
)

// ParseResourceCheck reads a ResourceCheck ("" is ResourceBeforeClient).
func ParseResourceCheck(s string) (ResourceCheck, error) {
	switch rc := ResourceCheck(strings.ToLower(strings.TrimSpace(s))); rc {
	case "":
		return ResourceBeforeClient, nil
	case ResourceBeforeClient, ResourceBeforeSecret, ResourceLast:
		return rc, nil
	}
	return "", fmt.Errorf("idp: resource check %q: use %s, %s or %s", s, ResourceBeforeClient, ResourceBeforeSecret, ResourceLast)
}

// Server is the Entra ID emulator's HTTP side. It is an http.Handler serving only its own
// routes; Register puts the same routes on a shared mux.
type Server struct {
	dir      *Directory
	now      func() time.Time
	lifetime time.Duration
	log      *slog.Logger
	key      *signingKey
	cfg      Config
	mux      *http.ServeMux
	requests atomic.Int64
	jtis     jtiLog

	resourceCheck ResourceCheck
}

// NewServer builds a Server from cfg, generating a signing key when cfg.Key is nil.
func NewServer(cfg Config) (*Server, error) {
	s := &Server{cfg: cfg, dir: cfg.Directory, now: cfg.Now, lifetime: cfg.TokenLifetime, log: cfg.Logger}
	if s.dir == nil {
		s.dir = NewDirectory()
	}
	if s.now == nil {
		s.now = time.Now
	}
	switch {
	case s.lifetime == 0:
		s.lifetime = DefaultTokenLifetime
	case s.lifetime < time.Second:
		return nil, fmt.Errorf("idp: Config.TokenLifetime %s is below one second; use 0 for the default %s", s.lifetime, DefaultTokenLifetime)
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	rc, err := ParseResourceCheck(string(cfg.ResourceCheck))
	if err != nil {
		return nil, err
	}
	s.resourceCheck = rc
	if cfg.DisabledAppStatus != 0 && (cfg.DisabledAppStatus < 400 || cfg.DisabledAppStatus > 599) {
		return nil, fmt.Errorf("idp: Config.DisabledAppStatus %d is not a 4xx/5xx status; use 0 for 400", cfg.DisabledAppStatus)
	}
	priv := cfg.Key
	if priv == nil {
		var err error
		if priv, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			return nil, fmt.Errorf("idp: generate signing key: %w", err)
		}
	} else if priv.N.BitLen() < 2048 {
		return nil, fmt.Errorf("idp: Config.Key is %d bits; Entra signs with 2048-bit RSA keys, pass one at least that large", priv.N.BitLen())
	}
	key, err := newSigningKey(priv, s.now())
	if err != nil {
		return nil, err
	}
	s.key = key
	s.mux = http.NewServeMux()
	s.Register(s.mux)
	return s, nil
}

// Register adds the Entra routes to mux. Every pattern starts with a {tenant} wildcard, so
// Go's ServeMux panics with a conflict when the same mux has BC patterns that can match the
// same paths, such as "/v2.0/{rest...}", "/admin/{rest...}" or "GET /v2.0/{t}/{e}/{rest...}"
// ("/v2.0/oauth2/v2.0/token" matches both). On such a mux mount the Server as the fallback
// instead — mux.Handle("/", server) — and the more specific BC patterns win.
func (s *Server) Register(mux *http.ServeMux) {
	mux.HandleFunc("/{tenant}/oauth2/v2.0/token", s.handleToken(tokenV2))
	mux.HandleFunc("/{tenant}/oauth2/token", s.handleToken(tokenV1))
	mux.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", s.handleOpenIDConfig)
	mux.HandleFunc("GET /{tenant}/discovery/v2.0/keys", s.handleKeys)
	mux.HandleFunc("GET /{tenant}/discovery/keys", s.handleKeys)
	mux.HandleFunc("GET /common/discovery/instance", s.handleInstanceDiscovery)
	mux.HandleFunc("GET /{tenant}/adminconsent", s.handleAdminConsent)
}

// ServeHTTP serves the Entra routes; other paths get 404.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Directory returns the directory the server reads (Config.Directory or the one it created).
func (s *Server) Directory() *Directory { return s.dir }

// TokenRequests counts POSTs to either token endpoint, successful or not, since the server
// was built. Tests use it to prove token caching.
func (s *Server) TokenRequests() int64 { return s.requests.Load() }

// reqCtx carries what every response of one request shares.
type reqCtx struct {
	now           time.Time
	host          string // the emulator's own host as the client addressed it
	traceID       string
	correlationID string
}

func (s *Server) newReqCtx(r *http.Request) *reqCtx {
	rc := &reqCtx{now: s.now(), host: r.Host, traceID: newUUID()}
	if id := r.Header.Get("client-request-id"); id != "" && !s.cfg.IgnoreClientRequestID {
		rc.correlationID = id
	} else {
		rc.correlationID = newUUID()
	}
	return rc
}

// base is the emulator's own origin. It is always https: MSAL refuses anything else
// (bc-entra-facts §1.5), and a TLS-terminating proxy in front would leave r.TLS nil.
func (rc *reqCtx) base() string { return "https://" + rc.host }

// setCommonHeaders sets the headers every Entra STS response carries.
func setCommonHeaders(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	h := w.Header()
	h.Set("x-ms-request-id", rc.traceID)
	if r.Header.Get("Return-Client-Request-Id") == "true" && r.Header.Get("client-request-id") != "" {
		h.Set("client-request-id", r.Header.Get("client-request-id"))
	}
}

// writeTokenJSON writes a token endpoint response: Content-Type and the no-cache headers of
// bc-entra-facts §1.2 on success and error alike.
func (s *Server) writeTokenJSON(w http.ResponseWriter, r *http.Request, rc *reqCtx, status int, v any) {
	h := w.Header()
	h.Set("Cache-Control", "no-store, no-cache")
	h.Set("Pragma", "no-cache")
	s.writeJSON(w, r, rc, status, v)
}

func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, rc *reqCtx, status int, v any) {
	setCommonHeaders(w, r, rc)
	b, err := marshalNoEscape(v)
	if err != nil {
		s.log.Error("idp: encode response", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, rc *reqCtx, e aadError) {
	s.writeTokenJSON(w, r, rc, e.status, e.body(rc))
}

// newUUID returns a random (version 4) UUID in canonical lower-case form.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// opaque returns n random bytes base64url-encoded, for claims Entra fills with opaque values.
func opaque(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b64(b)
}
