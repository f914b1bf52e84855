package entra

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"github.com/bizzjoiner/bcconnector/guide"
	"github.com/bizzjoiner/bcconnector/secret"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

const (
	defaultTimeout = 60 * time.Second
	// refreshMargin matches MSAL, which treats a cached token as expired 5 minutes before
	// its expiry (go-stack.md §A1); a shorter margin would make MSAL hand back the token we
	// are trying to replace.
	refreshMargin = 5 * time.Minute
	// minValidity is the least lifetime a token handed out must still have, so a request
	// that starts now does not reach BC with an expired token.
	minValidity = time.Minute
	// retryAfterFailure is how long a still-valid token is served after a failed refresh
	// before the next refresh attempt.
	retryAfterFailure = 30 * time.Second
)

// Source is a TokenSource for one connection (tenant, app, secret): azidentity's
// ClientSecretCredential behind a cache. Concurrent callers share one in-flight request,
// so a connection sends one token request per token lifetime however many goroutines ask.
// A Source is safe for concurrent use.
type Source struct {
	tenantID, clientID string
	secret             secret.Secret
	cert               *secret.Certificate // instead of secret, for a certificate credential
	authority          string
	instanceDiscovery  bool
	httpClient         *http.Client
	log                *slog.Logger
	now                func() time.Time
	maxRetries         int
	timeout            time.Duration
	requests           atomic.Int64

	mu        sync.Mutex
	cred      azcore.TokenCredential // nil after Invalidate until the next fetch
	tok       AccessToken            // cached token; zero when none
	refreshAt time.Time              // when tok is due for refresh
	flight    *flight                // the fetch in progress, if any
}

// flight is one token acquisition that concurrent callers wait on.
type flight struct {
	done chan struct{}
	tok  AccessToken
	err  error
}

var _ TokenSource = (*Source)(nil)

// NewSource validates cfg without any network call and returns a Source. A tenant ID,
// client ID or secret that cannot be right is reported as an *Error with the scenario it
// points to and StatusCode 0 (e.g. a tenant ID with spaces: ScenarioTenantMalformed);
// whether the values exist is for Entra to say, on the first Token call. An unusable
// AuthorityHost is a plain error.
func NewSource(cfg Config) (*Source, error) {
	if err := validateCredentials(cfg); err != nil {
		return nil, err
	}
	authority, discovery, err := normalizeAuthority(cfg.AuthorityHost)
	if err != nil {
		return nil, err
	}
	s := &Source{
		tenantID:          cfg.TenantID,
		clientID:          cfg.ClientID,
		secret:            cfg.Secret,
		cert:              cfg.Certificate,
		authority:         authority,
		instanceDiscovery: discovery,
		httpClient:        cfg.HTTPClient,
		log:               cfg.Logger,
		now:               cfg.Now,
		maxRetries:        cfg.MaxRetries,
		timeout:           cfg.Timeout,
	}
	if s.httpClient == nil {
		s.httpClient = &http.Client{Transport: http.DefaultTransport}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.timeout <= 0 {
		s.timeout = defaultTimeout
	}
	s.log = s.log.With(slog.String("tenantId", s.tenantID), slog.String("clientId", s.clientID))
	if s.cred, err = s.newCredential(); err != nil {
		return nil, err
	}
	return s, nil
}

// newCredential builds the azidentity credential. It makes no network call; a new one
// starts with an empty MSAL cache.
func (s *Source) newCredential() (azcore.TokenCredential, error) {
	opts := azcore.ClientOptions{
		// Set explicitly, so the AZURE_AUTHORITY_HOST environment variable cannot
		// redirect a connection.
		Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: s.authority},
		Transport: &transport{client: s.httpClient, log: s.log, requests: &s.requests},
		Retry:     policy.RetryOptions{MaxRetries: int32(max(min(s.maxRetries, 100), -1))},
	}
	var cred azcore.TokenCredential
	var err error
	if s.cert != nil {
		cred, err = s.certificateCredential(opts)
	} else {
		// The one place the client secret is revealed: into the token request's credential.
		cred, err = azidentity.NewClientSecretCredential(s.tenantID, s.clientID, s.secret.Reveal(), &azidentity.ClientSecretCredentialOptions{
			ClientOptions: opts, DisableInstanceDiscovery: !s.instanceDiscovery,
		})
	}
	if err != nil {
		if strings.Contains(err.Error(), "invalid tenantID") {
			// validateCredentials applies azidentity's rule first; this is a safety net.
			return nil, &Error{Scenario: ScenarioTenantMalformed, Err: err,
				Description: "the Directory (tenant) ID is not valid: " + err.Error()}
		}
		return nil, fmt.Errorf("entra: building the %s credential: %w", s.kind(), err)
	}
	return cred, nil
}

// certificateCredential builds azidentity's certificate credential: the one place the
// private key is parsed, to sign client assertions (MSAL Go: PS256, x5t#S256 header, aud =
// the token endpoint, iss = sub = client ID; auth-jobs-delivery-facts §1).
func (s *Source) certificateCredential(opts azcore.ClientOptions) (azcore.TokenCredential, error) {
	x, err := s.cert.X509()
	if err != nil {
		return nil, err
	}
	key, err := s.cert.PrivateKey()
	if err != nil {
		return nil, err
	}
	return azidentity.NewClientCertificateCredential(s.tenantID, s.clientID, []*x509.Certificate{x}, key,
		&azidentity.ClientCertificateCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: !s.instanceDiscovery})
}

// kind names the credential for messages: "client secret" or "certificate".
func (s *Source) kind() string {
	if s.cert != nil {
		return "certificate"
	}
	return "client secret"
}

// Token returns a cached token while it has more than the refresh margin left (5 minutes,
// or half its lifetime for short-lived tokens), and otherwise asks Entra for a new one.
// Callers arriving while a request is in flight wait for it. If a refresh fails while the
// cached token still has a minute left, that token is returned and the failure logged.
// Failures are *Error; a cancelled ctx returns ctx's error.
func (s *Source) Token(ctx context.Context) (AccessToken, error) {
	if err := ctx.Err(); err != nil {
		return AccessToken{}, err
	}
	s.mu.Lock()
	if s.tok.Token != "" && s.now().Before(s.refreshAt) {
		tok := s.tok
		s.mu.Unlock()
		return tok, nil
	}
	f := s.flight
	if f == nil {
		f = &flight{done: make(chan struct{})}
		s.flight = f
		// The fetch outlives a caller that gives up, so the others still get the token.
		go s.run(context.WithoutCancel(ctx), f)
	}
	s.mu.Unlock()

	select {
	case <-f.done:
	case <-ctx.Done():
		return AccessToken{}, ctx.Err()
	}
	if f.err == nil {
		return f.tok, nil
	}
	s.mu.Lock()
	old := s.tok
	s.mu.Unlock()
	if old.Token != "" && s.now().Add(minValidity).Before(old.ExpiresOn) {
		return old, nil
	}
	return AccessToken{}, f.err
}

// run performs one fetch and publishes its result, unless Invalidate ran meanwhile.
func (s *Source) run(ctx context.Context, f *flight) {
	s.mu.Lock()
	cred := s.cred
	s.mu.Unlock()
	var err error
	if cred == nil {
		cred, err = s.newCredential()
	}
	var tok AccessToken
	var refreshAt time.Time
	if err == nil {
		tok, refreshAt, err = s.fetch(ctx, cred)
	}

	s.mu.Lock()
	if s.flight == f {
		s.flight = nil
		if s.cred == nil && cred != nil {
			s.cred = cred
		}
		now := s.now()
		switch {
		case err == nil:
			s.tok, s.refreshAt = tok, refreshAt
		case s.tok.Token != "" && now.Add(minValidity).Before(s.tok.ExpiresOn):
			s.refreshAt = now.Add(retryAfterFailure)
			s.log.LogAttrs(ctx, slog.LevelWarn, "entra token refresh failed; using the cached token until it expires",
				slog.Time("expiresOn", s.tok.ExpiresOn), slog.Any("err", err))
		}
	}
	s.mu.Unlock()
	f.tok, f.err = tok, err
	close(f.done)
}

// fetch asks azidentity for a token (MSAL answers from its own cache when it can).
func (s *Source) fetch(ctx context.Context, cred azcore.TokenCredential) (AccessToken, time.Time, error) {
	a := &attempt{}
	ctx, cancel := context.WithTimeout(withAttempt(ctx, a), s.timeout)
	defer cancel()
	at, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{Scope}})
	if err != nil {
		e := s.toError(ctx, err, a)
		s.log.LogAttrs(ctx, slog.LevelWarn, "entra token request failed", slog.Any("err", e))
		return AccessToken{}, time.Time{}, e
	}
	if at.Token == "" {
		e := &Error{Scenario: ScenarioUnknown, Host: s.authorityHostname(), Description: "Entra answered without an access token"}
		return AccessToken{}, time.Time{}, e
	}
	now := s.now()
	tok := AccessToken{Token: at.Token, ExpiresOn: at.ExpiresOn}
	a.mu.Lock()
	sent := a.tokenRq
	a.mu.Unlock()
	s.log.LogAttrs(ctx, slog.LevelDebug, "entra token acquired",
		slog.Time("expiresOn", tok.ExpiresOn), slog.Bool("fromMsalCache", sent == 0))
	return tok, refreshTime(now, at.ExpiresOn, at.RefreshOn), nil
}

// refreshTime is when a token obtained at now is due for refresh: refreshMargin before it
// expires (half its lifetime if that is shorter), or earlier if Entra's refresh_in says
// so (azcore's RefreshOn).
func refreshTime(now, expiresOn, refreshOn time.Time) time.Time {
	margin := min(refreshMargin, expiresOn.Sub(now)/2)
	at := expiresOn.Add(-margin)
	if !refreshOn.IsZero() && refreshOn.After(now) && refreshOn.Before(at) {
		at = refreshOn
	}
	return at
}

// toError turns azidentity's error into an *Error.
func (s *Source) toError(ctx context.Context, err error, a *attempt) *Error {
	var af *azidentity.AuthenticationFailedError
	if errors.As(err, &af) && af.RawResponse != nil {
		// runtime.Payload, not io.ReadAll: it buffers the body so that af.Error() can still
		// print it (go-stack.md §A1).
		body, _ := runtime.Payload(af.RawResponse)
		e := wireError(af.RawResponse.StatusCode, body)
		if req := af.RawResponse.Request; req != nil && req.URL != nil {
			e.Host = req.URL.Host
		}
		if e.Host == "" {
			e.Host = s.authorityHostname()
		}
		e.Err = err
		return e
	}
	a.mu.Lock()
	cause, host := a.err, a.host
	a.mu.Unlock()
	if host == "" {
		host = s.authorityHostname()
	}
	if cause == nil && ctx.Err() != nil {
		cause = ctx.Err()
	}
	if cause != nil {
		reason := cause.Error()
		var ue *url.Error
		if errors.As(cause, &ue) {
			reason = ue.Err.Error()
		}
		if errors.Is(cause, context.DeadlineExceeded) {
			reason = fmt.Sprintf("no answer within %s", s.timeout)
		}
		return &Error{Scenario: ScenarioNetwork, Host: host, Err: cause,
			Description: fmt.Sprintf("cannot reach Entra at %s: %s", host, reason)}
	}
	if strings.Contains(err.Error(), "invalid tenantID") {
		return &Error{Scenario: ScenarioTenantMalformed, Host: host, Err: err,
			Description: "the Directory (tenant) ID is not valid: " + err.Error()}
	}
	return &Error{Scenario: ScenarioUnknown, Host: host, Err: err,
		Description: "token request failed: " + err.Error()}
}

func (s *Source) authorityHostname() string {
	if u, err := url.Parse(s.authority); err == nil {
		return u.Host
	}
	return ""
}

// Invalidate forgets the cached token, in this Source and in MSAL, so the next Token call
// asks Entra for a new one. The bc client calls it after a 401 to refresh once. A fetch
// already in flight completes for its waiters but is not cached.
func (s *Source) Invalidate() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tok, s.refreshAt = AccessToken{}, time.Time{}
	s.flight = nil
	// A new credential has an empty MSAL cache; azidentity offers no way to clear one.
	s.cred = nil
}

// Requests returns how many token requests this Source has sent to Entra (POSTs to the
// token endpoint, retries included; discovery requests are not counted).
func (s *Source) Requests() int64 { return s.requests.Load() }

// String describes the Source without its secret.
func (s *Source) String() string {
	return fmt.Sprintf("entra.Source{TenantID: %q, ClientID: %q, AuthorityHost: %q}", s.tenantID, s.clientID, s.authority)
}

// GoString is String, so that %#v does not print the secret.
func (s *Source) GoString() string { return s.String() }

// LogValue logs the connection's identifiers, never the secret.
func (s *Source) LogValue() slog.Value {
	return slog.GroupValue(slog.String("tenantId", s.tenantID), slog.String("clientId", s.clientID),
		slog.String("authorityHost", s.authority))
}

// validateCredentials checks the three values the admin hands over, as given, with the
// setup guide's rules for values about to be sent (guide.CheckSendable, the one place
// they live). It rejects only what cannot be right, leaving "does it exist" to Entra.
func validateCredentials(cfg Config) error {
	var fe *guide.FieldError
	if cfg.Certificate != nil {
		fe = guide.CheckSendableCertificate(cfg.TenantID, cfg.ClientID, *cfg.Certificate)
	} else {
		fe = guide.CheckSendable(cfg.TenantID, cfg.ClientID, cfg.Secret)
	}
	if fe == nil {
		return nil
	}
	sc := ScenarioTenantMalformed
	switch {
	case fe.Step == guide.Step3Secret && cfg.Certificate != nil:
		sc = ScenarioCertificateUnknown
	case fe.Step == guide.Step3Secret:
		sc = ScenarioSecretWrong
	case fe.Field == "client ID":
		sc = ScenarioClientUnknown
	}
	return &Error{Scenario: sc, Description: fe.Error()}
}

// normalizeAuthority validates AuthorityHost and reports whether MSAL instance discovery
// stays on (only for the public cloud, bc-entra-facts §1.5).
func normalizeAuthority(host string) (string, bool, error) {
	if host == "" {
		return DefaultAuthorityHost, true, nil
	}
	u, err := url.Parse(host)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", false, fmt.Errorf("entra: AuthorityHost %q must be an https URL with a host and nothing after the path, e.g. %q", host, DefaultAuthorityHost)
	}
	norm := strings.TrimRight(u.String(), "/") + "/"
	if strings.EqualFold(norm, DefaultAuthorityHost) {
		return DefaultAuthorityHost, true, nil
	}
	return norm, false, nil
}
