// Package outbound pushes events to the platform: webhook endpoints registered through
// the API, each with a signing secret shown once; deliveries signed by the Standard
// Webhooks conventions (webhook-id, webhook-timestamp, webhook-signature with
// HMAC-SHA256; auth-jobs-delivery-facts §5); data events from the change log and
// connection health events.
//
// Delivery targets are outside our trust: unless the operator allows private targets,
// connections to loopback, private and link-local addresses are refused when dialled (the
// resolved address is checked, not just the URL), redirects are not followed, responses
// are read up to a bound and every attempt has timeouts.
package outbound

import (
	"log/slog"
	"time"

	"github.com/bizzjoiner/bcconnector/store"
)

// Timeouts of a delivery attempt.
const (
	dialTimeout = 10 * time.Second
	// AttemptTimeout bounds one attempt from dialling to the end of the response (the
	// Standard Webhooks guidance is 15 to 30 s).
	AttemptTimeout = 15 * time.Second
)

// Store is what package outbound keeps in the store.
type Store interface {
	store.OutboundStore
	store.ConnectionStore
}

// Options configures New.
type Options struct {
	// Store keeps endpoints and deliveries. Required.
	Store Store
	// AllowPrivate accepts targets on loopback, private and link-local addresses and
	// plain http (serve --allow-private-webhook-targets; on in the sandbox and tests).
	AllowPrivate bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives delivery outcomes (never a secret or a payload); nil discards.
	Logger *slog.Logger
}

// Service is outbound webhooks: endpoints and their secrets.
type Service struct {
	st           Store
	allowPrivate bool
	nowFn        func() time.Time
	log          *slog.Logger
}

// New returns the service.
func New(opt Options) *Service {
	s := &Service{st: opt.Store, allowPrivate: opt.AllowPrivate, nowFn: opt.Now, log: opt.Logger}
	if s.nowFn == nil {
		s.nowFn = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s
}

func (s *Service) now() time.Time { return s.nowFn() }
