package service

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/bizzjoiner/bcconnector/bc"
	"github.com/bizzjoiner/bcconnector/bcschema"
	"github.com/bizzjoiner/bcconnector/budget"
	"github.com/bizzjoiner/bcconnector/conn"
	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/syncer"
	"github.com/bizzjoiner/bcconnector/webhook"
)

// Errors the service returns besides the store's (store.ErrNotFound, store.ErrConflict,
// store.ErrInvalid), *guide.FieldError and *bc.Error. The web layers map them to statuses.
var (
	// ErrSetupFailed means the doctor found a wrong setup step; the report says which.
	ErrSetupFailed = errors.New("service: the setup check failed")
	// ErrDraftKept means a connection whose check failed was kept as a draft
	// (CreateConnectionDraft): stored with its secret pending until a check passes.
	ErrDraftKept = errors.New("the connection is kept as a draft until a check passes")
	// ErrIdempotencyKeyReused means an Idempotency-Key was used before for another request.
	ErrIdempotencyKeyReused = errors.New("service: the Idempotency-Key was used for a different request")
	// ErrIdempotencyInProgress means the first request with the key has not finished yet.
	ErrIdempotencyInProgress = errors.New("service: a request with this Idempotency-Key is still running")
	// ErrNoJobs means the service was built without a job queue, so it cannot sync.
	ErrNoJobs = errors.New("service: no job queue configured; syncing runs under `bcconnector serve`")
	// ErrNotSynced means no sync of an entity set ever started, so its replica is empty
	// for want of reading, not because BC has no records.
	ErrNotSynced = errors.New("service: entity set not synced")
	// ErrSyncQueued means a sync request inserted no job: for every entity set a job was
	// already waiting or running and absorbed it (the error's text names their states).
	ErrSyncQueued = errors.New("service: a sync pass is already queued or running")
)

// JobQueue runs sync jobs (River in `bcconnector serve`); see syncer.Queue.
type JobQueue = syncer.Queue

// Store is what the service needs persisted: *sqlite.DB implements it.
type Store interface {
	store.Store
	store.ReplicaStore
	store.IdempotencyStore
	store.DoctorStore
	store.RecordQuerier
}

// Options configures New.
type Options struct {
	// Store keeps connections, secrets, the replica and the service's own records. Required.
	Store Store
	// Syncer expands entity sets into sync targets; default one built on Store.
	Syncer *syncer.Syncer
	// Jobs runs syncs; nil makes Sync fail with ErrNoJobs.
	Jobs JobQueue
	// OpenFunc builds a connection's clients; default conn.Open with HTTPClient and the BC
	// limiter of the connection's app and environment from Limiters.
	OpenFunc func(ctx context.Context, c store.Connection, cred secret.Credential) (*conn.Conn, error)
	// HTTPClient reaches Entra and BC for the doctor and connections; nil means one built
	// from the connection's CA file.
	HTTPClient *http.Client
	// WrapTransport, when set, wraps the transport of every connection's HTTP client (for
	// metrics).
	WrapTransport func(http.RoundTripper) http.RoundTripper
	// Limiters gives every connection of one app and environment one BC limiter; with a
	// store behind it, BC's limits are shared with every process on the database. Default
	// limiters of this process alone. The caller closes it after the service.
	Limiters *budget.Limiters
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger receives operational logs (never secrets); default discard.
	Logger *slog.Logger
	// AllowEndpointOverrides lets callers set a connection's authority host, BC base URL and
	// CA file. Off by default: an API caller could otherwise send a customer's secret to a
	// host of their choosing or make the server read any file. The sandbox and operators
	// who need other clouds or a TLS-inspecting proxy turn it on.
	AllowEndpointOverrides bool
	// RemoveWebhooksFunc deletes a removed connection's BC webhook subscriptions at BC and
	// from the store; default webhook.Remove on Store. serve with --public-url passes its
	// webhook.Manager's Remove, which also stops tracking them.
	RemoveWebhooksFunc RemoveWebhooksFunc
	// RemoveTimeout bounds the BC part of a connection's removal; default
	// DefaultRemoveTimeout (30 s).
	RemoveTimeout time.Duration
	// ChangesRecheck is how often a waiting Changes call reads the change log without
	// being woken; default DefaultChangesRecheck. Waiters are woken when the store
	// announces that the log grew (store.ChannelChanges, from any instance); the recheck is
	// only the safety net for writers that cannot notify this process (another process on
	// the same SQLite file, e.g. `bcconnector sync`).
	ChangesRecheck time.Duration
}

// Impl is the Service on a store, BC and a job queue. It is safe for concurrent use.
type Impl struct {
	st   Store
	sync *syncer.Syncer
	jobs JobQueue
	open func(ctx context.Context, c store.Connection, cred secret.Credential) (*conn.Conn, error)
	hc   *http.Client
	wrap func(http.RoundTripper) http.RoundTripper
	// allowOverrides permits endpoint overrides (Options.AllowEndpointOverrides).
	allowOverrides bool
	removeHooks    RemoveWebhooksFunc
	removeTimeout  time.Duration
	now            func() time.Time
	log            *slog.Logger
	schema         *bcschema.Schema

	mu       sync.Mutex
	conns    map[string]*conn.Conn // by connection ID
	forgets  uint64                // counts forget calls, so Conn never caches what one dropped
	limiters *budget.Limiters
	unsub    func() // ends the subscriptions to connection and change log news

	// namesRead is when RefreshCompanies last read BC's company names for a connection
	// of chosen companies, by connection ID (see CompanyNamesEvery).
	namesRead map[string]time.Time

	recheck    time.Duration   // Options.ChangesRecheck
	transports conn.Transports // shared by connections that trust the same CAs
	grewMu     sync.Mutex
	grew       chan struct{} // closed (and replaced) when the change log grows
}

var _ Service = (*Impl)(nil)

// New returns the service.
func New(opt Options) (*Impl, error) {
	if opt.Store == nil {
		return nil, errors.New("service: Options.Store is required")
	}
	s := &Impl{st: opt.Store, sync: opt.Syncer, jobs: opt.Jobs, hc: opt.HTTPClient, wrap: opt.WrapTransport, now: opt.Now, log: opt.Logger,
		conns: map[string]*conn.Conn{}, limiters: opt.Limiters, allowOverrides: opt.AllowEndpointOverrides,
		removeHooks: opt.RemoveWebhooksFunc, removeTimeout: opt.RemoveTimeout, recheck: opt.ChangesRecheck, grew: make(chan struct{})}
	if s.recheck <= 0 {
		s.recheck = DefaultChangesRecheck
	}
	if s.removeTimeout <= 0 {
		s.removeTimeout = DefaultRemoveTimeout
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.limiters == nil {
		s.limiters = budget.NewLimiters(nil, budget.Options{})
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if s.removeHooks == nil {
		s.removeHooks = func(ctx context.Context, c *bc.Client, id string) (webhook.RemoveResult, error) {
			return webhook.Remove(ctx, s.st, c, id, s.log)
		}
	}
	var err error
	if s.schema, err = bcschema.Load(); err != nil {
		return nil, err
	}
	if s.sync == nil {
		if s.sync, err = syncer.New(syncer.Options{Store: opt.Store, Schema: s.schema, Logger: s.log, Now: opt.Now}); err != nil {
			return nil, err
		}
	}
	s.open = opt.OpenFunc
	if s.open == nil {
		s.open = s.defaultOpen
	}
	// A connection changed by any instance (or the CLI on Postgres) is opened again with
	// its new settings and secret on next use; an empty payload means messages may have
	// been lost, so every opened connection goes.
	unsubConn := s.st.Subscribe(store.ChannelConnection, func(id string) {
		if id == "" {
			s.forgetAll()
		} else {
			s.forget(id)
		}
	})
	// Waiting change-feed readers (long-poll and SSE) read again when any instance logs
	// changes (or, with an empty payload, when messages may have been lost).
	unsubChanges := s.st.Subscribe(store.ChannelChanges, func(string) { s.changesGrew() })
	s.unsub = func() { unsubConn(); unsubChanges() }
	return s, nil
}

// Close ends the service's subscriptions to connection and change log news. The store
// stays open.
func (s *Impl) Close() { s.unsub() }
