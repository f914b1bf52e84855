package bc

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// RetryOptions configures retries of transient failures. Zero fields take the defaults.
// The policy follows azcore's retry policy: exponential backoff with jitter, Retry-After
// honoured up to a cap, the body rewound for every try, and no sleeping past the context.
type RetryOptions struct {
	// MaxAttempts is the number of tries of one call, the first included. Default 6; 1
	// turns retries off.
	MaxAttempts int
	// BaseDelay is the backoff before the first retry; it doubles for each further retry
	// and is jittered by ±20%. Default 1s.
	BaseDelay time.Duration
	// MaxDelay caps the computed backoff. Default 30s.
	MaxDelay time.Duration
	// MaxRetryAfter caps the server's Retry-After: a longer one is not slept through; the
	// call fails with an *Error whose RetryAfter says when to come back. Default 60s.
	MaxRetryAfter time.Duration
}

func (o RetryOptions) withDefaults() RetryOptions {
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 6
	}
	if o.BaseDelay <= 0 {
		o.BaseDelay = time.Second
	}
	if o.MaxDelay <= 0 {
		o.MaxDelay = 30 * time.Second
	}
	if o.MaxDelay < o.BaseDelay {
		o.MaxDelay = o.BaseDelay
	}
	if o.MaxRetryAfter <= 0 {
		o.MaxRetryAfter = 60 * time.Second
	}
	return o
}

// backoff is the jittered delay before retry number n (1 for the first retry).
func (o RetryOptions) backoff(n int) time.Duration {
	d := o.BaseDelay
	for i := 1; i < n && d < o.MaxDelay; i++ {
		d *= 2
	}
	d = min(d, o.MaxDelay)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// retryClass says when a call may be sent again.
type retryClass int

const (
	// retryIdempotent: GET, PATCH, DELETE; sending twice cannot do harm that the caller
	// does not resolve (a PATCH or DELETE that already went through is recognised by its
	// effect, see Client.Update and Client.Delete).
	retryIdempotent retryClass = iota
	// retryNotReached: a POST that creates or acts; it is sent again only when the earlier
	// try provably did not reach BC: the connection was refused, or BC answered 429 or 503,
	// which it does before processing (bc-entra-facts §5).
	retryNotReached
)

// retriableStatus lists the statuses worth another try (bc-entra-facts §3.3, §5).
func retriableStatus(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
		http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// notProcessedStatus lists the statuses BC answers before it processes a request: the
// per-app limiter's 429 (rate or queue) and 503 (queued too long).
func notProcessedStatus(code int) bool {
	return code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable
}

// notSent reports whether a transport error happened before the request could reach the
// server: DNS failures, refused or unreachable connections.
func notSent(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return true
	}
	return errors.Is(err, syscall.ECONNREFUSED)
}

// retriableTransport reports whether a transport error is worth another try: not when the
// caller's context ended, and not for certificate errors or errors marked NonRetriable,
// which will not heal.
func retriableTransport(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	// An error that says it will not heal (azcore's convention, e.g. a refused redirect).
	var nonRetriable interface{ NonRetriable() }
	if errors.As(err, &nonRetriable) {
		return false
	}
	var certErr *tls.CertificateVerificationError
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalid x509.CertificateInvalidError
	if errors.As(err, &certErr) || errors.As(err, &unknownCA) || errors.As(err, &hostErr) || errors.As(err, &invalid) {
		return false
	}
	return !strings.Contains(err.Error(), "unsupported protocol scheme")
}

// isBodyError reports whether err came from reading a response body (a reset or truncated
// stream) rather than from its content.
func isBodyError(err error) bool {
	var be *bodyError
	return errors.As(err, &be)
}

// bodyError marks a failure to read a response body.
type bodyError struct{ err error }

func (e *bodyError) Error() string { return "reading the response: " + e.err.Error() }
func (e *bodyError) Unwrap() error { return e.err }

// parseRetryAfter reads Retry-After (seconds or an HTTP date) and the millisecond variants
// retry-after-ms and x-ms-retry-after-ms that Microsoft services send. Zero when absent or
// unparsable.
func parseRetryAfter(h http.Header, now func() time.Time) time.Duration {
	for _, k := range []string{"retry-after-ms", "x-ms-retry-after-ms"} {
		if v := strings.TrimSpace(h.Get(k)); v != "" {
			if ms, err := strconv.ParseInt(v, 10, 64); err == nil && ms > 0 && ms < int64(24*time.Hour/time.Millisecond) {
				return time.Duration(ms) * time.Millisecond
			}
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s <= 0 || s > int64(24*time.Hour/time.Second) {
			return 0
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now()); d > 0 {
			return d
		}
	}
	return 0
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
