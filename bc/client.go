package bc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/bizzjoiner/bcconnector/guide"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// DefaultBaseURL is Business Central online's API host with the endpoint version
// (bc-entra-facts §4.1).
const DefaultBaseURL = "https://api.businesscentral.dynamics.com/v2.0"

// TokenSource supplies bearer tokens for Business Central (audience
// https://api.businesscentral.dynamics.com). It should cache tokens and renew them before
// they expire; the Client asks for a token before every request.
//
// If it also implements Invalidator, the Client calls Invalidate once after BC answers
// 401 and retries the request once with a fresh token (a token that expired mid-crawl).
type TokenSource interface {
	Token(ctx context.Context) (string, error)
}

// Invalidator is the optional part of a TokenSource that drops its cached token.
type Invalidator interface {
	Invalidate()
}

// Options configures a Client. TenantID, Environment and Tokens are required; every other
// zero field takes its default.
type Options struct {
	// BaseURL is the API host with the endpoint version; default DefaultBaseURL. It must be
	// https: the client sends bearer tokens.
	BaseURL string
	// TenantID is the Entra tenant: its GUID (Directory (tenant) ID) or a verified domain.
	// Always sent in the URL, as bc-entra-facts §4.1 recommends for S2S.
	TenantID string
	// Environment is the BC environment name, e.g. "Production".
	Environment string
	// Tokens supplies bearer tokens.
	Tokens TokenSource
	// HTTPClient sends the requests; default a client with its own connection pool and no
	// overall timeout (a 20,000-row page may take minutes; BC stops a request after 10).
	// Cancel through the context instead.
	HTTPClient *http.Client

	// MaxInFlight caps concurrent requests; default 5 (BC processes 5 per app, §5).
	MaxInFlight int
	// RateLimit caps requests started per Window; default 5,400 (BC allows 6,000).
	RateLimit int
	// Window is RateLimit's sliding window; default 5 minutes.
	Window time.Duration
	// Limiter, when set, is used instead of one built from MaxInFlight, RateLimit and
	// Window, so that Clients of one app and environment share BC's per-app limits.
	Limiter *Limiter

	// Retry configures retries of transient failures (see RetryOptions for defaults).
	Retry RetryOptions

	// Logger receives one debug line per HTTP exchange (method, path, status, attempt,
	// client request id, correlation id, elapsed) and a warning per retry. Tokens, bodies
	// and query strings are never logged. Default: discard.
	Logger *slog.Logger
	// UserAgent is sent as User-Agent, which BC's telemetry records; default "bcconnector".
	UserAgent string
	// AcceptLanguage is sent as Accept-Language, the language of BC's error messages
	// (bc-entra-facts §4.1); default "en-US", which the permission-error detection expects.
	AcceptLanguage string
	// Now is the clock (Retry-After dates, the limiter's window); default time.Now.
	Now func() time.Time
}

// Client calls Business Central for one connection: one Entra app in one tenant and
// environment. It is safe for concurrent use.
type Client struct {
	http    *http.Client
	root    *url.URL // {base}/{tenant}/{environment}
	env     string
	tokens  TokenSource
	inval   Invalidator
	limiter *Limiter
	retry   RetryOptions
	log     *slog.Logger
	ua      string
	lang    string
	now     func() time.Time
	sleep   func(ctx context.Context, d time.Duration) error
	stats   clientStats
	// bytesPerRow is the size of an entity in the last page read, for the next page's
	// buffer (fetchPage).
	bytesPerRow atomic.Int64
}

// clientStats counts what a Client sent and got, for sync status and metrics.
type clientStats struct {
	requests, throttled, serverErrors, transportErrors, retries atomic.Int64
}

// Stats is a snapshot of a Client's counters since it was created.
type Stats struct {
	Requests        int64 // HTTP requests sent, retries included
	Throttled       int64 // answers 429 (absorbed by retries unless the call failed)
	ServerErrors    int64 // answers 5xx
	TransportErrors int64 // requests that got no answer
	Retries         int64 // calls tried again after a transient failure
}

// Stats returns the Client's counters.
func (c *Client) Stats() Stats {
	return Stats{
		Requests:        c.stats.requests.Load(),
		Throttled:       c.stats.throttled.Load(),
		ServerErrors:    c.stats.serverErrors.Load(),
		TransportErrors: c.stats.transportErrors.Load(),
		Retries:         c.stats.retries.Load(),
	}
}

// New returns a Client for the connection described by opt.
func New(opt Options) (*Client, error) {
	if opt.Tokens == nil {
		return nil, errors.New("bc: Options.Tokens is nil: pass the connection's token source (package entra)")
	}
	if strings.TrimSpace(opt.TenantID) == "" {
		return nil, errors.New("bc: Options.TenantID is empty: set it to the Directory (tenant) ID from the app registration's Overview page")
	}
	if !guide.IsTenant(opt.TenantID) {
		return nil, fmt.Errorf("bc: Options.TenantID %q is neither a GUID nor a domain: copy the Directory (tenant) ID from the app registration's Overview page", opt.TenantID)
	}
	if opt.Environment == "" {
		return nil, errors.New("bc: Options.Environment is empty: set it to the environment name shown in the BC admin center, e.g. Production")
	}
	if !isRouteSegment(opt.Environment) || len(opt.Environment) > 100 {
		return nil, fmt.Errorf("bc: Options.Environment %q: environment names hold only letters, digits, '-' and '_'; copy it from the BC admin center", opt.Environment)
	}
	base := opt.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	bu, err := url.Parse(strings.TrimRight(base, "/"))
	if err != nil || bu.Host == "" {
		return nil, fmt.Errorf("bc: Options.BaseURL %q is not an absolute URL; leave it empty for %s", base, DefaultBaseURL)
	}
	if bu.Scheme != "https" {
		return nil, fmt.Errorf("bc: Options.BaseURL %q must use https: the client sends bearer tokens", base)
	}
	if bu.RawQuery != "" || bu.Fragment != "" {
		return nil, fmt.Errorf("bc: Options.BaseURL %q must not have a query or fragment", base)
	}
	root := bu.JoinPath(opt.TenantID, opt.Environment)
	c := &Client{
		http:    opt.HTTPClient,
		root:    root,
		env:     opt.Environment,
		tokens:  opt.Tokens,
		limiter: opt.Limiter,
		retry:   opt.Retry.withDefaults(),
		log:     opt.Logger,
		ua:      opt.UserAgent,
		lang:    opt.AcceptLanguage,
		now:     opt.Now,
		sleep:   sleepCtx,
	}
	c.inval, _ = opt.Tokens.(Invalidator)
	if c.now == nil {
		c.now = time.Now
	}
	if c.http == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 32
		c.http = &http.Client{Transport: tr}
	}
	if c.limiter == nil {
		c.limiter = NewLimiter(LimiterOptions{MaxInFlight: opt.MaxInFlight, RateLimit: opt.RateLimit, Window: opt.Window, Now: c.now})
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.ua == "" {
		c.ua = "bcconnector"
	}
	if c.lang == "" {
		c.lang = "en-US"
	}
	return c, nil
}

// Limiter returns the Client's limiter, for metrics.
func (c *Client) Limiter() *Limiter { return c.limiter }

// APIRoot returns the absolute URL of an API's root, e.g.
// https://api.businesscentral.dynamics.com/v2.0/{tenant}/Production/api/v2.0.
func (c *Client) APIRoot(api API) string {
	return c.root.String() + "/" + api.path()
}

// refURL composes the absolute URL of ref (plus key and extra segments) with a query.
func (c *Client) refURL(ref Ref, key string, q *Query, extra ...string) (string, error) {
	rel, err := ref.relPath(key, extra...)
	if err != nil {
		return "", err
	}
	u := c.APIRoot(ref.API) + "/" + rel
	qs, err := q.encode()
	if err != nil {
		return "", err
	}
	if qs != "" {
		u += "?" + qs
	}
	return u, nil
}

// call is one logical request: sent once, or several times by the retry policy.
type call struct {
	op       string // what the caller asked for, for logs: "list", "update", …
	method   string
	url      string
	body     []byte
	header   http.Header // per-call headers: If-Match, Prefer, Isolation
	class    retryClass
	readOnly bool // send Data-Access-Intent: ReadOnly
	// giveUp lists statuses the caller handles itself instead of the retry policy (a list
	// shrinks its page on 408 and 504 instead of asking BC for the same page again).
	giveUp func(status int) bool

	// Outcome.
	requestID string
	attempts  int
	// maybeApplied records that an earlier try may have been processed although it
	// failed (its response was lost or was a 5xx), so that a write's caller can tell an
	// "already done" answer of a retry from a real conflict.
	maybeApplied bool
}

// tokenError marks a failure of the TokenSource; it is not retried here (the token source
// has its own policy).
type tokenError struct{ err error }

func (e *tokenError) Error() string { return "bc: getting an access token: " + e.err.Error() }
func (e *tokenError) Unwrap() error { return e.err }

// do runs cl with retries. For a 2xx answer it calls consume (nil: discard the body); a
// read failure inside consume is retried like a transport error when cl is idempotent.
// Other answers become *Error.
func (c *Client) do(ctx context.Context, cl *call, consume func(*http.Response) error) error {
	cl.requestID = clientRequestID(ctx)
	reauthed := false
	for attempt := 1; ; attempt++ {
		cl.attempts = attempt
		resp, err := c.send(ctx, cl, attempt)
		if err == nil && resp.StatusCode == http.StatusUnauthorized && !reauthed && c.inval != nil {
			// The token may have expired between the token source's check and BC's: drop it
			// and try once more with a fresh one.
			e := c.readError(resp, cl)
			c.log.LogAttrs(ctx, slog.LevelInfo, "bc token rejected; retrying once with a fresh token",
				slog.String("op", cl.op), slog.String("clientRequestId", cl.requestID), slog.String("code", string(e.Code)))
			reauthed = true
			c.inval.Invalidate()
			resp, err = c.send(ctx, cl, attempt)
		}
		var (
			final error
			delay time.Duration
		)
		switch {
		case err != nil:
			var te *tokenError
			if errors.As(err, &te) {
				return err
			}
			if ctx.Err() != nil {
				return fmt.Errorf("bc: %s %s: %w", cl.method, pathOf(cl.url), ctx.Err())
			}
			final = fmt.Errorf("bc: %s %s: %w", cl.method, pathOf(cl.url), stripURL(err))
			sent := !notSent(err)
			if sent {
				cl.maybeApplied = true
			}
			if !retriableTransport(ctx, err) || (sent && cl.class != retryIdempotent) {
				return final
			}
			delay = c.retry.backoff(attempt)
		case resp.StatusCode < 300:
			cerr := c.consume(resp, consume)
			if cerr == nil {
				return nil
			}
			if ctx.Err() != nil {
				return fmt.Errorf("bc: %s %s: %w", cl.method, pathOf(cl.url), ctx.Err())
			}
			if cl.method != http.MethodGet {
				cl.maybeApplied = true
			}
			final = fmt.Errorf("bc: %s %s: %w", cl.method, pathOf(cl.url), cerr)
			var me *malformedError
			if cl.class != retryIdempotent || !(isBodyError(cerr) || errors.As(cerr, &me)) {
				return final
			}
			delay = c.retry.backoff(attempt)
		default:
			e := c.readError(resp, cl)
			final = e
			if !retriableStatus(e.StatusCode) || e.Is(ErrPermission) || (cl.giveUp != nil && cl.giveUp(e.StatusCode)) {
				return e
			}
			if !notProcessedStatus(e.StatusCode) {
				cl.maybeApplied = true
				if cl.class != retryIdempotent {
					return e
				}
			}
			if e.RetryAfter > 0 {
				if e.RetryAfter > c.retry.MaxRetryAfter {
					c.log.LogAttrs(ctx, slog.LevelWarn, "bc Retry-After above the cap; giving up",
						slog.String("op", cl.op), slog.String("clientRequestId", cl.requestID),
						slog.Int64("retryAfterMs", e.RetryAfter.Milliseconds()), slog.Int64("capMs", c.retry.MaxRetryAfter.Milliseconds()))
					return e
				}
				// Honour Retry-After, plus a little jitter so that waiting callers do not
				// return in lockstep.
				delay = e.RetryAfter + time.Duration(rand.Int64N(int64(e.RetryAfter/10)+1))
			} else {
				delay = c.retry.backoff(attempt)
			}
			if e.StatusCode == http.StatusTooManyRequests {
				c.limiter.pause(delay)
			}
		}
		if attempt >= c.retry.MaxAttempts {
			return final
		}
		c.stats.retries.Add(1)
		c.log.LogAttrs(ctx, slog.LevelWarn, "bc request failed; retrying",
			slog.String("op", cl.op), slog.String("method", cl.method), slog.String("path", pathOf(cl.url)),
			slog.Int("attempt", attempt), slog.Int64("delayMs", delay.Milliseconds()),
			slog.String("clientRequestId", cl.requestID), slog.String("err", final.Error()))
		if err := c.sleep(ctx, delay); err != nil {
			return fmt.Errorf("bc: %s %s: %w (while waiting to retry after: %v)", cl.method, pathOf(cl.url), err, final)
		}
	}
}

// consume hands a 2xx response to fn and closes it.
func (c *Client) consume(resp *http.Response, fn func(*http.Response) error) error {
	defer resp.Body.Close()
	if fn == nil {
		_, err := io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		return err
	}
	return fn(resp)
}

// send makes one HTTP exchange: token, limiter slot, headers, transport. The slot is held
// until the response body is read to its end or closed.
func (c *Client) send(ctx context.Context, cl *call, attempt int) (*http.Response, error) {
	token, err := c.tokens.Token(ctx)
	if err != nil {
		return nil, &tokenError{err}
	}
	release, err := c.limiter.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	var body io.Reader
	if cl.body != nil {
		body = bytes.NewReader(cl.body) // a fresh reader per try: the body is rewound
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, cl.url, body)
	if err != nil {
		release()
		return nil, fmt.Errorf("bc: building %s request: %w", cl.method, err)
	}
	h := req.Header
	h.Set("Authorization", "Bearer "+token)
	h.Set("Accept", "application/json")
	h.Set("OData-MaxVersion", "4.0")
	h.Set(ClientRequestIDHeader, cl.requestID)
	h.Set("User-Agent", c.ua)
	h.Set("Accept-Language", c.lang)
	if cl.body != nil {
		h.Set("Content-Type", "application/json")
	}
	if cl.readOnly && cl.method == http.MethodGet {
		// bc-entra-facts §4.6: reads go to the read-only replica.
		h.Set("Data-Access-Intent", "ReadOnly")
	}
	for k, v := range cl.header {
		h[k] = v
	}
	start := time.Now()
	c.stats.requests.Add(1)
	resp, err := c.http.Do(req)
	elapsed := time.Since(start)
	if err != nil {
		c.stats.transportErrors.Add(1)
		release()
		c.log.LogAttrs(ctx, slog.LevelDebug, "bc request",
			slog.String("op", cl.op), slog.String("method", cl.method), slog.String("path", req.URL.Path),
			slog.Int("attempt", attempt), slog.String("clientRequestId", cl.requestID),
			slog.Int64("elapsedMs", elapsed.Milliseconds()), slog.String("err", stripURL(err).Error()))
		return nil, err
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		c.stats.throttled.Add(1)
	case resp.StatusCode >= 500:
		c.stats.serverErrors.Add(1)
	}
	resp.Body = &releaseBody{rc: resp.Body, release: release}
	c.log.LogAttrs(ctx, slog.LevelDebug, "bc request",
		slog.String("op", cl.op), slog.String("method", cl.method), slog.String("path", req.URL.Path),
		slog.Int("status", resp.StatusCode), slog.Int("attempt", attempt),
		slog.String("clientRequestId", cl.requestID),
		slog.String("correlationId", resp.Header.Get("ms-correlation-x")),
		slog.Int64("elapsedMs", elapsed.Milliseconds()))
	return resp, nil
}

// releaseBody frees the limiter slot when the body is read to its end or closed, and
// marks read failures as *bodyError.
type releaseBody struct {
	rc      io.ReadCloser
	release func()
}

// Read reads the body; at its end the limiter's slot is given back at once: BC has
// finished the request, and a caller waiting for a slot need not wait until this one
// has decoded what it read and closed the body.
func (b *releaseBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err == io.EOF {
		b.release()
	} else if err != nil {
		err = &bodyError{err}
	}
	return n, err
}

func (b *releaseBody) Close() error {
	err := b.rc.Close()
	b.release()
	return err
}

// readError reads and closes an error response.
func (c *Client) readError(resp *http.Response, cl *call) *Error {
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	e := parseError(resp.StatusCode, resp.Header, data, c.now)
	e.ClientRequestID = cl.requestID
	e.Method = cl.method
	e.Path = pathOf(cl.url)
	return e
}

// stripURL drops the URL that net/http puts into transport errors: the caller's message
// names method and path already, and the query may hold customer data.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// pathOf returns the path of a URL for messages, without the query.
func pathOf(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Path
	}
	path, _, _ := strings.Cut(raw, "?")
	return path
}

// readJSON reads a single-entity response into a Record, without @odata.context.
func readRecord(resp *http.Response) (Record, error) {
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return Record{}, err
	}
	data = bytes.TrimSpace(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")))
	if !json.Valid(data) {
		return Record{}, malformed("the entity is not valid JSON")
	}
	raw, err := withoutKey(data, "@odata.context")
	if err != nil {
		return Record{}, malformed("%v", err)
	}
	return newRecord(raw)
}

// withoutKey returns the JSON object b without the top-level member key, so that an entity
// read alone has the same raw form as in a page.
func withoutKey(b []byte, key string) ([]byte, error) {
	var out []byte
	first := true
	err := scanObject(b, func(k, v []byte) bool {
		if keyEquals(k, key) {
			return true
		}
		if first {
			out = append(out, '{')
			first = false
		} else {
			out = append(out, ',')
		}
		out = append(out, '"')
		out = append(out, k...)
		out = append(out, '"', ':')
		out = append(out, v...)
		return true
	})
	if err != nil {
		return nil, err
	}
	if first {
		return []byte("{}"), nil
	}
	return append(out, '}'), nil
}
