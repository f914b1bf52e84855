// Package notify emulates Business Central webhooks for one BC environment: the subscriptions
// API (validationToken handshake, 3-day expiry, renew, delete, 200 max) and the notifier that
// posts change notifications to subscribers (coalescing delay, batching per notificationUrl,
// one `collection` notification above a threshold, retry schedule, deletion of subscriptions
// whose endpoint rejects notifications).
//
// Wire behaviour follows bc-entra-facts §7 (7.1–7.5) and §11 item 16. Where the reference only
// summarises, details follow BaseApp codeunit 6154 "API Webhook Notification Send" (cited as
// [CODE 6154]) and Microsoft's 2018 "Managing Subscriptions" doc page (cited as [DOC 2018]).
//
// One Manager serves one environment. The emulator authenticates the caller, then mounts
// Manager.Handle on .../subscriptions and calls Manager.Publish for every record change.
//
// https://learn.microsoft.com/dynamics365/business-central/dev-itpro/api-reference/v2.0/dynamics-subscriptions
package notify

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// Defaults applied by NewManager to zero Config fields.
const (
	DefaultDelay               = 30 * time.Second // bc-entra-facts §7.3
	DefaultMaxNotifications    = 1000             // bc-entra-facts §7.3
	DefaultExpiry              = 72 * time.Hour   // bc-entra-facts §7.1
	DefaultMaxSubscriptions    = 200              // bc-entra-facts §7.1
	DefaultHandshakeTimeout    = 5 * time.Second  // [DOC 2018] "The service has 5 seconds to respond"
	DefaultHandshakeMethod     = http.MethodPost  // bc-entra-facts §7.2 (UNCONFIRMED, believed POST)
	DefaultNotificationTimeout = 30 * time.Second // [DOC 2018] ApiSubscriptionSendingNotificationTimeout
	DefaultConflictStatus      = http.StatusPreconditionFailed
	DefaultClientStateMaxLen   = 2048 // bc-entra-facts §7.1 ("optionalValueOf2048")
	DefaultDeliveryLogSize     = 1000
)

// DefaultRetrySchedule returns the delays between notification attempts after a retryable
// failure (bc-entra-facts §7.4 / §11.16: 1m, 1m, 1m, 10m, 100m). After the last delay's attempt
// also fails, the subscriptions are deleted. It returns a fresh slice on every call.
func DefaultRetrySchedule() []time.Duration {
	return []time.Duration{time.Minute, time.Minute, time.Minute, 10 * time.Minute, 100 * time.Minute}
}

// Config configures a Manager. The zero value of every field means its default.
type Config struct {
	// Client sends handshakes and notifications. Default: a new http.Client without a
	// timeout (HandshakeTimeout and NotificationTimeout bound each call). Tests pass the
	// client of an httptest TLS server.
	Client *http.Client

	// Delay is how long the notifier waits after the first change for a notificationUrl before
	// it posts, so repeated changes coalesce (bc-entra-facts §7.3). Default 30s; a negative
	// value sends as soon as possible.
	Delay time.Duration

	// MaxNotifications is the most single-record notifications one subscription may collect
	// in one window; one more collapses them into a single `collection` notification
	// (bc-entra-facts §7.3, "> 1,000"). Default 1000.
	MaxNotifications int

	// Expiry is a subscription's lifetime from its creation or last renewal
	// (bc-entra-facts §7.1). Default 72h.
	Expiry time.Duration

	// MaxSubscriptions is the most subscriptions the environment may hold, expired but not yet
	// swept ones included (bc-entra-facts §7.1; per tenant per [DOC 2018]). Default 200.
	MaxSubscriptions int

	// RetrySchedule is the delay before each retry of a notification POST that failed with
	// 408, 429, 5xx, a transport error or a timeout (bc-entra-facts §7.4). When the attempt
	// after the last delay fails too, the subscriptions in that POST are deleted. nil means
	// DefaultRetrySchedule(); a non-nil empty slice means no retries.
	//
	// [CODE 6154] may index its delays one step later (1m, 1m, 10m, 100m, 1000m); the
	// reference's reading is the default.
	RetrySchedule []time.Duration

	// HandshakeTimeout bounds the validationToken call on create and renew. UNCONFIRMED in
	// bc-entra-facts §7.2; default 5s per [DOC 2018] ("The service has 5 seconds to respond").
	HandshakeTimeout time.Duration

	// HandshakeMethod is the HTTP method of the validationToken call. UNCONFIRMED in
	// bc-entra-facts §7.2 (believed POST; [DOC 2018] says its body carries the clientState).
	// Default "POST". With GET or HEAD no body is sent.
	HandshakeMethod string

	// HandshakeTrimSpace accepts a handshake answer whose body is the token surrounded by
	// whitespace (e.g. a trailing newline). Whether BC trims is UNCONFIRMED; the default
	// (false) requires the body to be exactly the token, which is what BC documents.
	HandshakeTrimSpace bool

	// NotificationTimeout bounds one notification POST; no response in time counts as a
	// retryable failure (bc-entra-facts §7.4). Default 30s ([DOC 2018]).
	NotificationTimeout time.Duration

	// ConflictStatus is the HTTP status of Request_EntityChanged for a stale If-Match on
	// PATCH/DELETE. bc-entra-facts §4.5 leaves 409 vs 412 UNCONFIRMED; default 412 (the OData
	// convention).
	ConflictStatus int

	// ClientStateMaxLength is the longest clientState accepted, in characters. Default 2048
	// (bc-entra-facts §7.1; older metadata said 250).
	ClientStateMaxLength int

	// ValidateResource, when set, is asked whether a subscription's resource may be subscribed
	// to (entity set exists, supports webhooks: bc-entra-facts §7.5). It receives the canonical
	// form "api/v2.0/companies(<guid>)/<entitySet>" (no leading slash, lower-case GUID). A
	// returned *Error is sent as is; any other error becomes 400 BadRequest with its text.
	ValidateResource func(resource string) error

	// DeliveryLogSize is how many recent notification POSTs Deliveries keeps. Default 1000.
	DeliveryLogSize int

	// Now is the clock for timestamps and expiry. Default time.Now. Delays and retries run on
	// Go timers, so tests that need virtual time use testing/synctest.
	Now func() time.Time

	// Logger receives operational logs. Default: discard.
	Logger *slog.Logger
}

// Manager holds the webhook subscriptions of one BC environment and delivers their
// notifications. It is safe for concurrent use. Call Close when done.
type Manager struct {
	cfg   Config
	delay time.Duration
	retry []time.Duration
	log   *slog.Logger

	ctx    context.Context // cancelled by Close; parent of every notification POST
	cancel context.CancelFunc
	wg     sync.WaitGroup // in-flight deliveries

	mu         sync.Mutex
	closed     bool
	subs       map[string]*subState
	queues     map[string]*urlQueue // by notificationUrl
	rowVersion int64
	deliveries []Delivery
}

// NewManager returns a Manager for one environment with cfg's zero fields set to their
// defaults.
func NewManager(cfg Config) *Manager {
	if cfg.Client == nil {
		cfg.Client = &http.Client{}
	}
	delay := cfg.Delay
	switch {
	case delay == 0:
		delay = DefaultDelay
	case delay < 0:
		delay = 0
	}
	if cfg.MaxNotifications <= 0 {
		cfg.MaxNotifications = DefaultMaxNotifications
	}
	if cfg.Expiry <= 0 {
		cfg.Expiry = DefaultExpiry
	}
	if cfg.MaxSubscriptions <= 0 {
		cfg.MaxSubscriptions = DefaultMaxSubscriptions
	}
	retry := cfg.RetrySchedule
	if retry == nil {
		retry = DefaultRetrySchedule()
	} else {
		retry = append([]time.Duration(nil), retry...)
	}
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if cfg.HandshakeMethod == "" {
		cfg.HandshakeMethod = DefaultHandshakeMethod
	}
	if cfg.NotificationTimeout <= 0 {
		cfg.NotificationTimeout = DefaultNotificationTimeout
	}
	if cfg.ConflictStatus == 0 {
		cfg.ConflictStatus = DefaultConflictStatus
	}
	if cfg.ClientStateMaxLength <= 0 {
		cfg.ClientStateMaxLength = DefaultClientStateMaxLen
	}
	if cfg.DeliveryLogSize <= 0 {
		cfg.DeliveryLogSize = DefaultDeliveryLogSize
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Manager{
		cfg:    cfg,
		delay:  delay,
		retry:  retry,
		log:    log,
		ctx:    ctx,
		cancel: cancel,
		subs:   make(map[string]*subState),
		queues: make(map[string]*urlQueue),
	}
}

// Close stops the notifier's timers, cancels in-flight notification POSTs and waits for their
// goroutines to finish. Pending notifications are dropped. Subscriptions stay readable.
func (m *Manager) Close() {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		m.wg.Wait()
		return
	}
	m.closed = true
	for _, q := range m.queues {
		if q.timer != nil {
			q.timer.Stop()
			q.timer = nil
		}
	}
	m.mu.Unlock()
	m.cancel()
	m.wg.Wait()
}

func (m *Manager) now() time.Time { return m.cfg.Now().UTC() }
