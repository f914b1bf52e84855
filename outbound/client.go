package outbound

import (
	"crypto/tls"
	"net/http"
	"time"
)

// ClientOptions configures NewClient.
type ClientOptions struct {
	// AllowPrivate lets connections reach loopback, private and link-local addresses.
	AllowPrivate bool
	// TLS is the TLS configuration (tests: one that trusts their server); nil means the
	// system's roots.
	TLS *tls.Config
}

// NewClient returns the HTTP client deliveries are sent with: every connection's
// resolved address is checked by Refused unless AllowPrivate (so DNS answers that point
// inside are caught at dial time), no proxy from the environment (it would dial for us),
// redirects are not followed (the 3xx answer is the attempt's result) and every stage has
// a timeout, the whole attempt AttemptTimeout.
func NewClient(opt ClientOptions) *http.Client {
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           guardedDialer(opt.AllowPrivate).DialContext,
		TLSClientConfig:       opt.TLS,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: AttemptTimeout,
		ExpectContinueTimeout: time.Second,
		IdleConnTimeout:       90 * time.Second,
		// At most 64 connections to one endpoint, all kept for reuse: attempts beyond
		// wait for one instead of opening (and TLS-handshaking) more.
		MaxConnsPerHost:     64,
		MaxIdleConnsPerHost: 64,
		ForceAttemptHTTP2:   true,
	}
	return &http.Client{
		Transport:     tr,
		Timeout:       AttemptTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
