// Package conn turns a connection (stored or about to be) and its credential (a client
// secret or a certificate) into live
// clients: an Entra token source and a BC API client sharing one HTTP client that trusts
// the connection's extra CA and follows no redirect. It is the only place that builds
// them: the CLI, the doctor, the service (and through it the syncer and the webhook
// manager) all take what Open returns.
package conn

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/bizzjoiner/bcconnector/bc"
	"github.com/bizzjoiner/bcconnector/budget"
	"github.com/bizzjoiner/bcconnector/entra"
	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
)

// Conn is a connection ready to use.
type Conn struct {
	Connection store.Connection
	Tokens     *entra.Source
	BC         *bc.Client
	HTTP       *http.Client
}

// Options configures Open.
type Options struct {
	// HTTPClient replaces the client built from the connection's CA certificates (tests). Open
	// uses a copy that refuses redirects.
	HTTPClient *http.Client
	// WrapTransport, when set, wraps the HTTP client's transport (e.g. for metrics).
	WrapTransport func(http.RoundTripper) http.RoundTripper
	// Limiter shares BC's per-app limits between Conns of one app and environment; nil
	// means Limiters' limiter of the connection's app and environment.
	Limiter *bc.Limiter
	// Transports, when set, shares one transport (its idle connections, TLS sessions and
	// CA pool) between connections that trust the same CA certificates, instead of one
	// per connection: with a thousand connections to BC's few hosts, a thousand idle
	// TLS connections become a few. nil means a transport of the connection's own.
	Transports *Transports
	// Limiters, when Limiter is nil, gives the limiter of the connection's app and
	// environment, shared with every process on the database (package budget); nil too
	// means a limiter of the BC client's own.
	Limiters *budget.Limiters
	// Logger receives the clients' debug lines (never tokens or secrets).
	Logger *slog.Logger
	// Now is the clock; default time.Now.
	Now func() time.Time
	// TokenRetries is how often a failed token request is retried (entra.Config.MaxRetries):
	// 0 means azcore's default of 3, negative means none.
	TokenRetries int
	// Retry shapes the BC client's retries (bc.Options.Retry); zero values take bc's
	// defaults.
	Retry bc.RetryOptions
	// TokenErrorFunc, when set, hears of every token request of the BC client that
	// failed (after entra's retries), e.g. to notice an express connection's consent
	// revoked. It runs on the request's goroutine and must return quickly.
	TokenErrorFunc func(err error)
}

// watchedTokens is the BC client's token source telling TokenErrorFunc of failures; it
// passes Invalidate through, so the client still refreshes after a 401.
type watchedTokens struct {
	entra.Bearer
	onErr func(error)
}

func (w watchedTokens) Token(ctx context.Context) (string, error) {
	t, err := w.Bearer.Token(ctx)
	if err != nil && ctx.Err() == nil {
		w.onErr(err)
	}
	return t, err
}

// Open builds the clients of a connection with its credential: a client secret, or a
// certificate whose key signs client assertions. It does not contact Entra or BC.
func Open(c store.Connection, cred secret.Credential, opt Options) (*Conn, error) {
	hc := opt.HTTPClient
	if hc == nil {
		var err error
		if opt.Transports != nil {
			hc, err = opt.Transports.client(c)
		} else {
			hc, err = HTTPClient(c)
		}
		if err != nil {
			return nil, err
		}
	}
	hc = refuseRedirects(hc)
	if opt.WrapTransport != nil {
		tr := hc.Transport
		if tr == nil {
			tr = http.DefaultTransport
		}
		hc.Transport = opt.WrapTransport(tr)
	}
	tokens, err := entra.NewSource(entra.Config{
		TenantID: c.TenantID, ClientID: c.ClientID, Secret: cred.Secret, Certificate: cred.Certificate,
		AuthorityHost: c.AuthorityHost, HTTPClient: hc, Logger: opt.Logger, Now: opt.Now,
		MaxRetries: opt.TokenRetries,
	})
	if err != nil {
		return nil, err
	}
	lim := opt.Limiter
	if lim == nil && opt.Limiters != nil {
		lim = opt.Limiters.Limiter(store.BudgetKey{TenantID: c.TenantID, ClientID: c.ClientID, Environment: c.Environment})
	}
	var bearer bc.TokenSource = entra.Bearer{Source: tokens}
	if opt.TokenErrorFunc != nil {
		bearer = watchedTokens{entra.Bearer{Source: tokens}, opt.TokenErrorFunc}
	}
	client, err := bc.New(bc.Options{
		BaseURL: c.BCBaseURL, TenantID: c.TenantID, Environment: c.Environment,
		Tokens: bearer, HTTPClient: hc, Limiter: lim,
		Logger: opt.Logger, Now: opt.Now, Retry: opt.Retry,
	})
	if err != nil {
		return nil, err
	}
	return &Conn{Connection: c, Tokens: tokens, BC: client, HTTP: hc}, nil
}

// HTTPClient returns a client for c's hosts that trusts the system roots plus c's extra
// CA certificates (CAPEM, else the PEM file CAFile of a connection stored before CAPEM
// existed; neither: system roots only) and refuses redirects (see [RedirectError]).
func HTTPClient(c store.Connection) (*http.Client, error) {
	t, err := newTransport(c)
	if err != nil {
		return nil, err
	}
	return &http.Client{Transport: t, CheckRedirect: checkRedirect}, nil
}

// caText is the PEM of the connection's extra CA certificates: CAPEM, else the content of
// CAFile (a connection stored before CAPEM existed), else "".
func caText(c store.Connection) (string, error) {
	if c.CAPEM != "" || c.CAFile == "" {
		return c.CAPEM, nil
	}
	b, err := os.ReadFile(c.CAFile)
	if err != nil {
		return "", fmt.Errorf("CA file: %w (this connection names a CA file on the machine that stored it; update the connection with --ca-file on a machine that has the file, which stores the certificates in the database)", err)
	}
	return string(b), nil
}

func newTransport(c store.Connection) (*http.Transport, error) {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 16
	text, err := caText(c)
	if err != nil {
		return nil, err
	}
	if text != "" {
		certs, err := store.CACertificates(text)
		if err != nil {
			return nil, fmt.Errorf("%w (check the connection's --ca-file)", err)
		}
		roots, err := x509.SystemCertPool()
		if err != nil || roots == nil {
			roots = x509.NewCertPool()
		}
		for _, cert := range certs {
			roots.AddCert(cert)
		}
		t.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	}
	return t, nil
}

// Transports shares HTTP transports between connections that trust the same CA
// certificates (Options.Transports). The zero value is ready; it is safe for concurrent
// use. A transport carries no credential: tokens and bearer headers are each client's.
type Transports struct {
	mu sync.Mutex
	m  map[[sha256.Size]byte]*http.Transport
}

// client returns an HTTP client for c over the transport shared by c's CA certificates.
func (ts *Transports) client(c store.Connection) (*http.Client, error) {
	text, err := caText(c)
	if err != nil {
		return nil, err
	}
	key := sha256.Sum256([]byte(text))
	ts.mu.Lock()
	defer ts.mu.Unlock()
	t, ok := ts.m[key]
	if !ok {
		if t, err = newTransport(store.Connection{CAPEM: text}); err != nil {
			return nil, err
		}
		if ts.m == nil {
			ts.m = map[[sha256.Size]byte]*http.Transport{}
		}
		ts.m[key] = t
	}
	return &http.Client{Transport: t, CheckRedirect: checkRedirect}, nil
}

// RedirectError is what a request of a connection's clients fails with when the server
// answers with a redirect. Entra's token endpoint and BC's API never redirect; following
// one would re-send the token request (with the client secret) or the bearer token to the
// host the redirect names, so the clients refuse. It names that host, never a credential.
type RedirectError struct {
	// From is the host that answered with the redirect; To is the host it pointed to.
	From, To string
}

// Error says which host redirected where and what to check.
func (e *RedirectError) Error() string {
	return fmt.Sprintf("refused to follow a redirect from %s to %s: Entra's token endpoint and Business Central's API never redirect, so nothing was sent there; check the connection's authority host and BC base URL (a proxy in between?)", e.From, e.To)
}

// NonRetriable tells retry policies (azcore's, and bc's) not to try again: the answer will
// be the same.
func (*RedirectError) NonRetriable() {}

// checkRedirect is the clients' http.Client.CheckRedirect: no redirect is followed.
func checkRedirect(req *http.Request, via []*http.Request) error {
	from := ""
	if len(via) > 0 {
		from = via[len(via)-1].URL.Host
	}
	return &RedirectError{From: from, To: req.URL.Host}
}

// refuseRedirects returns a copy of hc that follows no redirect.
func refuseRedirects(hc *http.Client) *http.Client {
	cp := *hc
	cp.CheckRedirect = checkRedirect
	return &cp
}
