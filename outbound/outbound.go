// Package outbound pushes events to the platform: webhook endpoints registered through
// the API, each with a signing secret shown once; deliveries signed by the Standard
// Webhooks conventions (webhook-id, webhook-timestamp, webhook-signature with
// HMAC-SHA256; auth-jobs-delivery-facts §5); data events from the change log and
// connection health events.
//
// Every event for an endpoint is a delivery in the store, attempted by a River job
// (DeliverWorker) so it survives restarts and spreads over instances: at least once, with
// retries over DefaultSchedule (more than three days), an attempt log, a dead state after
// the last attempt, and replays. Deliveries about the same record are attempted one at a
// time in the order of the change log.
//
// Delivery targets are outside our trust: unless the operator allows private targets,
// connections to loopback, private and link-local addresses are refused when dialled (the
// resolved address is checked, not just the URL), redirects are not followed, responses
// are read up to a bound and every attempt has timeouts.
package outbound

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net/http"
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

// Store is what package outbound keeps in and reads from the store.
type Store interface {
	store.OutboundStore
	store.DeliveryStore
	store.HealthStore
	store.ConnectionStore
	store.SecretStore
	store.DoctorStore
	store.ReplicaStore
	store.Notifier
}

// Queue gives deliveries jobs.
type Queue interface {
	// Deliver gives new deliveries jobs for their first attempt (several per job).
	Deliver(ctx context.Context, deliveryIDs ...string) error
	// DeliverEach gives each delivery a job of its own, which makes its attempts until it
	// is finished; River's uniqueness drops one a delivery already has.
	DeliverEach(ctx context.Context, deliveryIDs ...string) error
}

// Options configures New.
type Options struct {
	// Store keeps endpoints and deliveries. Required.
	Store Store
	// Queue runs the deliveries; nil means no delivery is attempted (API only).
	Queue Queue
	// AllowPrivate accepts targets on loopback, private and link-local addresses and
	// plain http (serve --allow-private-webhook-targets; on in the sandbox and tests).
	AllowPrivate bool
	// TLS configures the delivery client's TLS (tests: trust their receiver); nil means
	// the system's roots.
	TLS *tls.Config
	// Client replaces the delivery client (NewClient); tests only.
	Client *http.Client
	// Schedule is the wait before each retry; nil means DefaultSchedule.
	Schedule []time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives delivery outcomes (never a secret or a payload); nil discards.
	Logger *slog.Logger
	// HealthHold is how long a setup or sync condition's new state (failing, or
	// recovered) must hold, seen by every check, before its event is sent; 0 means
	// DefaultHealthHold (a minute: the next check), negative sends every change at once.
	HealthHold time.Duration
}

// Service is outbound webhooks: endpoints and their secrets, deliveries and replays.
type Service struct {
	st           Store
	queue        Queue
	allowPrivate bool
	client       *http.Client
	schedule     []time.Duration
	nowFn        func() time.Time
	log          *slog.Logger
	cache        endpointCache
	healthHold   time.Duration
}

// New returns the service.
func New(opt Options) *Service {
	s := &Service{st: opt.Store, queue: opt.Queue, allowPrivate: opt.AllowPrivate, client: opt.Client,
		schedule: opt.Schedule, nowFn: opt.Now, log: opt.Logger, healthHold: opt.HealthHold}
	if s.healthHold == 0 {
		s.healthHold = DefaultHealthHold
	}
	if s.client == nil {
		s.client = NewClient(ClientOptions{AllowPrivate: opt.AllowPrivate, TLS: opt.TLS})
	}
	if s.schedule == nil {
		s.schedule = DefaultSchedule
	}
	if s.nowFn == nil {
		s.nowFn = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s
}

func (s *Service) now() time.Time { return s.nowFn().UTC().Truncate(time.Microsecond) }

// SetQueue sets the queue after New (the queue's workers need the service first).
func (s *Service) SetQueue(q Queue) { s.queue = q }

// enqueue gives new deliveries jobs; without a queue it does nothing.
func (s *Service) enqueue(ctx context.Context, ids ...string) error {
	if s.queue == nil || len(ids) == 0 {
		return nil
	}
	return s.queue.Deliver(ctx, ids...)
}

// enqueueEach gives each delivery a job of its own; without a queue it does nothing.
func (s *Service) enqueueEach(ctx context.Context, ids ...string) error {
	if s.queue == nil || len(ids) == 0 {
		return nil
	}
	return s.queue.DeliverEach(ctx, ids...)
}
