package webhook

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"maps"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bizzjoiner/bcconnector/bc"
	"github.com/bizzjoiner/bcconnector/bcschema"
	"github.com/bizzjoiner/bcconnector/guide"
)

// Defaults of Options.
const (
	// DefaultRenewBefore renews a subscription when it has less than a day of its 3 days
	// left (bc-entra-facts §7.1), leaving a day of Ensure runs to get the renewal through.
	DefaultRenewBefore = 24 * time.Hour
	// DefaultMissedAfter is how long after a change polling found a notification may take
	// before it counts as missed: BC's 30 s coalescing delay (§7.3) plus its job queue's
	// latency and clock skew, which the reference does not quantify (UNCONFIRMED; generous).
	DefaultMissedAfter = 10 * time.Minute
	// DefaultOrphanGrace is how old a subscription on our URL that no store knows must be
	// before Ensure deletes it, so that a create another process has under way (the handshake
	// done, the store write not yet) is not mistaken for an orphan.
	DefaultOrphanGrace = 15 * time.Minute
	// DefaultMaxBodyBytes bounds a notification POST. BC sends at most 1,000 notifications
	// per subscription and window (§7.3), about 400 bytes each, for every subscription on the
	// URL; the body is parsed as a stream, so the cap bounds reading, not memory.
	DefaultMaxBodyBytes = 64 << 20
	// clientStateBytes is the entropy of a clientState: 256 bits, 43 base64url characters,
	// well under BC's 2,048-character limit (§7.1).
	clientStateBytes = 32
)

// Hint is what a notification means for the syncer: something changed in this entity set of
// this company. Hints are hints, not data: the syncer answers one with an incremental read,
// and polling stays on because BC may never send some notifications.
type Hint struct {
	ConnectionID string
	CompanyID    string
	EntitySet    string
	// SubscriptionID is BC's subscriptionId the notification came through.
	SubscriptionID string
	// ChangeType is created, updated, deleted or collection. A value BC adds in the future
	// arrives as collection.
	ChangeType ChangeType
	// ID is the record's key for created, updated and deleted (a GUID for API v2.0); "" for
	// collection. A deleted ID is the only way to learn of a deletion without reconciling
	// the whole set (bc-entra-facts §8).
	ID string
	// At is the notification's lastModifiedDateTime (BC's clock): the time of the change, or
	// of the newest change of a collection. Zero when BC sent none.
	At time.Time
	// Since is set for a collection with BC's $filter=lastModifiedDateTime gt …: every change
	// is after it (BC already subtracted 50 ms). It is zero when BC could not bound the
	// changes (records were deleted in the window, or the set has no lastModifiedDateTime,
	// §7.3) and for hints this package makes itself after BC deleted a subscription: the
	// syncer should then reconcile the whole set (ids), because deletions may be hidden.
	Since time.Time
	// Lost is set on the hint this package makes when BC deleted the subscription or let it
	// expire (SubscriptionID is the lost one): notifications may have been missed.
	Lost bool
}

// HintFunc receives hints. It is called from a goroutine of the Manager, one POST's hints in
// order; it must return quickly (enqueue the run) and must be safe for concurrent use.
type HintFunc func(ctx context.Context, h Hint)

// BCClient is the part of *bc.Client that manages subscriptions (bc-entra-facts §7.1). The
// subscriptions set lives outside companies: bc.Ref{Path: "subscriptions"}; its key is a
// quoted string, which bc.FormatKey produces.
type BCClient interface {
	List(ctx context.Context, ref bc.Ref, q *bc.Query) iter.Seq2[bc.Record, error]
	Create(ctx context.Context, ref bc.Ref, body any) (bc.Record, error)
	Update(ctx context.Context, ref bc.Ref, id, etag string, body any) (bc.Record, error)
	Delete(ctx context.Context, ref bc.Ref, id, etag string) error
}

var _ BCClient = (*bc.Client)(nil)

// subscriptionsRef is BC's subscriptions endpoint of API v2.0.
var subscriptionsRef = bc.Ref{Path: "subscriptions"}

// Options configures a Manager. PublicURL and Hint are required; every other zero field
// takes its default.
type Options struct {
	// PublicURL is the notificationUrl given to BC: the public https address at which
	// Manager.ServeHTTP is reachable from Microsoft's cloud without authentication (BC sends
	// no credentials, §7.2), e.g. https://connector.example.com/webhooks/bc. https is
	// required: the clientState travels in every notification. A query string is allowed
	// (BC appends ?validationToken=… or &validationToken=…).
	PublicURL string
	// Hint receives one Hint per verified notification. Required.
	Hint HintFunc
	// Store persists subscriptions, e.g. a *sqlite.DB (store.WebhookStore); default a new
	// MemoryStore, which loses them on restart.
	Store SubscriptionStore
	// Schema tells which entity sets support webhooks (bcschema.Entity.Webhooks, §7.5);
	// default bcschema.Load().
	Schema *bcschema.Schema
	// RenewBefore is how long before expiry Ensure renews a subscription; default 24h.
	// Subscriptions live 3 days (§7.1).
	RenewBefore time.Duration
	// MissedAfter is how long after a change that polling found (ObservedChange) a
	// notification covering it may arrive before the change counts as a missed
	// notification; default 10 minutes (DefaultMissedAfter; UNCONFIRMED heuristic).
	MissedAfter time.Duration
	// OrphanGrace is the minimum age of a subscription on PublicURL that no store knows
	// before Ensure deletes it from BC; default 15 minutes.
	OrphanGrace time.Duration
	// MaxBodyBytes bounds a notification POST body; default 64 MiB. A longer body is
	// answered 200 (a 4xx would make BC delete the subscriptions) and logged as an error;
	// its notifications beyond the cap are left to polling.
	MaxBodyBytes int64
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger receives operational logs; default discard. clientStates are never logged.
	Logger *slog.Logger
	// Rand is the source of clientStates; default crypto/rand.Reader.
	Rand io.Reader
}

// Manager keeps the webhook subscriptions of any number of connections and receives their
// notifications. It is safe for concurrent use. Call Close when done.
type Manager struct {
	url         string
	hint        HintFunc
	store       SubscriptionStore
	schema      *bcschema.Schema
	renewBefore time.Duration
	missedAfter time.Duration
	orphanGrace time.Duration
	maxBody     int64
	now         func() time.Time
	log         *slog.Logger
	rand        io.Reader

	ctx    context.Context // cancelled by Close; passed to HintFunc
	cancel context.CancelFunc
	wg     sync.WaitGroup // hint dispatchers

	connMu sync.Mutex
	conns  map[string]*connLock // serialises Ensure/Remove per connection

	mu     sync.Mutex
	closed bool
	sets   map[setKey]*setState
	byID   map[string]setKey
	stats  Stats
}

type connLock struct {
	mu    sync.Mutex
	users int
}

// NewManager validates opt and returns a Manager.
func NewManager(opt Options) (*Manager, error) {
	u, err := url.Parse(opt.PublicURL)
	switch {
	case opt.PublicURL == "":
		return nil, errors.New("webhook: Options.PublicURL is empty; set it to the public https address of the webhook receiver, e.g. https://connector.example.com/webhooks/bc")
	case err != nil || u.Scheme != "https" || u.Host == "" || u.Fragment != "" || u.User != nil:
		return nil, fmt.Errorf("webhook: Options.PublicURL %q must be an absolute https URL without user info or fragment, e.g. https://connector.example.com/webhooks/bc", clip(opt.PublicURL))
	case opt.Hint == nil:
		return nil, errors.New("webhook: Options.Hint is nil; pass the function that starts an incremental run of the notified entity set")
	}
	m := &Manager{
		url:         opt.PublicURL,
		hint:        opt.Hint,
		store:       opt.Store,
		schema:      opt.Schema,
		renewBefore: opt.RenewBefore,
		missedAfter: opt.MissedAfter,
		orphanGrace: opt.OrphanGrace,
		maxBody:     opt.MaxBodyBytes,
		now:         opt.Now,
		log:         opt.Logger,
		rand:        opt.Rand,
		conns:       make(map[string]*connLock),
		sets:        make(map[setKey]*setState),
		byID:        make(map[string]setKey),
	}
	if m.store == nil {
		m.store = &MemoryStore{}
	}
	if m.schema == nil {
		if m.schema, err = bcschema.Load(); err != nil {
			return nil, fmt.Errorf("webhook: loading the API schema: %w", err)
		}
	}
	if m.renewBefore <= 0 {
		m.renewBefore = DefaultRenewBefore
	}
	if m.missedAfter <= 0 {
		m.missedAfter = DefaultMissedAfter
	}
	if m.orphanGrace <= 0 {
		m.orphanGrace = DefaultOrphanGrace
	}
	if m.maxBody <= 0 {
		m.maxBody = DefaultMaxBodyBytes
	}
	if m.now == nil {
		m.now = time.Now
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if m.rand == nil {
		m.rand = rand.Reader
	}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	return m, nil
}

// Close stops dispatching hints: it cancels the context passed to HintFunc and waits for
// the dispatchers to return. Afterwards the receiver answers 503, which BC retries (§7.4).
// Subscriptions stay in BC and in the store.
func (m *Manager) Close() error {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
	m.cancel()
	m.wg.Wait()
	return nil
}

// PublicURL returns the notificationUrl the Manager subscribes with.
func (m *Manager) PublicURL() string { return m.url }

func (m *Manager) clock() time.Time { return m.now().UTC() }

// lockConn serialises Ensure and Remove of one connection.
func (m *Manager) lockConn(id string) func() {
	m.connMu.Lock()
	l, ok := m.conns[id]
	if !ok {
		l = &connLock{}
		m.conns[id] = l
	}
	l.users++
	m.connMu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		m.connMu.Lock()
		if l.users--; l.users == 0 {
			delete(m.conns, id)
		}
		m.connMu.Unlock()
	}
}

// EnsureResult says what Ensure did, by entity set.
type EnsureResult struct {
	// Created lists sets subscribed for the first time.
	Created []string
	// Renewed lists sets whose subscription was renewed (or moved to a new PublicURL).
	Renewed []string
	// Recreated lists sets whose subscription BC had deleted or let expire and which were
	// subscribed again. For every such loss a Hint with ChangeType collection and zero
	// Since is sent, whether or not the re-creation succeeded (Stats.Lost counts them).
	Recreated []string
	// Removed lists sets whose subscription was deleted because they are no longer wanted.
	Removed []string
	// Skipped lists requested sets that BC cannot notify (unknown, or no webhook support:
	// lines, API queries, reports; §7.5). Polling alone covers them.
	Skipped []string
	// OrphansDeleted counts subscriptions on PublicURL for this company that no store knew
	// (a create whose answer was lost, a lost database) and that were deleted from BC.
	OrphansDeleted int
	// NextRenewal is when the earliest subscription of the company falls due for renewal;
	// run Ensure again by then at the latest (sooner after an error). Zero when none.
	NextRenewal time.Time
}

// remoteSub is a subscription as BC lists it. clientState is deliberately not decoded.
type remoteSub struct {
	ID                   string `json:"subscriptionId"`
	NotificationURL      string `json:"notificationUrl"`
	Resource             string `json:"resource"`
	ExpirationDateTime   string `json:"expirationDateTime"`
	LastModifiedDateTime string `json:"lastModifiedDateTime"`
	etag                 string
	expires, modified    time.Time
}

func decodeRemote(rec bc.Record) (remoteSub, error) {
	var r remoteSub
	if err := rec.Decode(&r); err != nil {
		return r, fmt.Errorf("decoding a subscription: %w", err)
	}
	if r.ID == "" {
		return r, errors.New("BC returned a subscription without subscriptionId")
	}
	r.etag = rec.ETag
	r.expires = parseTime(r.ExpirationDateTime)
	r.modified = parseTime(r.LastModifiedDateTime)
	return r, nil
}

// listRemote reads every subscription BC holds for the environment. It reads the primary
// database: a subscription created a moment ago may be missing on the read replica (§4.6), and
// Ensure would re-create it.
func (m *Manager) listRemote(ctx context.Context, c BCClient) (map[string]remoteSub, error) {
	out := make(map[string]remoteSub)
	for rec, err := range c.List(ctx, subscriptionsRef, &bc.Query{Primary: true}) {
		if err != nil {
			return nil, fmt.Errorf("webhook: listing BC's subscriptions: %w", err)
		}
		r, err := decodeRemote(rec)
		if err != nil {
			return nil, fmt.Errorf("webhook: listing BC's subscriptions: %w", err)
		}
		out[r.ID] = r
	}
	return out, nil
}

// Ensure brings the subscriptions of one company of a connection in line with entitySets:
// it subscribes the webhook-capable sets that have no subscription, renews the ones that
// expire within RenewBefore (or were made for another PublicURL), re-creates the ones BC no
// longer lists (BC deletes a subscription after a rejected or repeatedly failed delivery, or
// when it expires; §7.4), deletes ours for sets no longer wanted and deletes orphans on
// PublicURL. Creating and renewing make BC call PublicURL for the handshake, so the receiver
// must be reachable.
//
// Ensure carries on after a failing set and returns the failures joined; the result
// describes what succeeded. Run it at start-up, whenever the wanted sets change, and at the
// latest at EnsureResult.NextRenewal; an hourly schedule is plenty.
func (m *Manager) Ensure(ctx context.Context, c BCClient, connectionID, companyID string, entitySets []string) (EnsureResult, error) {
	var res EnsureResult
	switch {
	case c == nil:
		return res, errors.New("webhook: Ensure: the BC client is nil")
	case connectionID == "":
		return res, errors.New("webhook: Ensure: connectionID is empty")
	case !guide.IsGUID(companyID):
		return res, fmt.Errorf("webhook: Ensure: companyID %q is not a company id (a GUID)", clip(companyID))
	}
	companyID = strings.ToLower(companyID)
	defer m.lockConn(connectionID)()

	want := make(map[string]string) // lower-case set → schema spelling
	for _, name := range entitySets {
		ent, ok := m.schema.EntitySet(name)
		if !ok || !ent.Webhooks || ent.Scope != "company" {
			res.Skipped = append(res.Skipped, name)
			continue
		}
		want[strings.ToLower(ent.EntitySet)] = ent.EntitySet
	}

	all, err := m.store.Subscriptions(ctx, connectionID)
	if err != nil {
		return res, fmt.Errorf("webhook: reading stored subscriptions of connection %s: %w", connectionID, err)
	}
	remote, err := m.listRemote(ctx, c)
	if err != nil {
		return res, err
	}
	now := m.clock()
	var errs []error
	kept := make(map[string]Subscription) // lower-case set → active subscription
	lost := make(map[string]bool)
	handled := make(map[string]bool) // ids of stored subscriptions, not orphans

	for _, s := range all {
		handled[s.ID] = true
		if !strings.EqualFold(s.CompanyID, companyID) {
			continue
		}
		set := strings.ToLower(s.EntitySet)
		rs, listed := remote[s.ID]
		_, wanted := want[set]
		if _, dup := kept[set]; dup || !wanted || s.State == StateRemoving {
			if err := m.deleteRemote(ctx, c, s, rs, listed); err != nil {
				errs = append(errs, err)
				continue
			}
			if !dup {
				res.Removed = append(res.Removed, s.EntitySet)
			}
			continue
		}
		if !listed || (!rs.expires.IsZero() && !rs.expires.After(now)) {
			// bc-entra-facts §7.4: BC deleted it after a rejected or failed delivery, or it
			// expired (BC sweeps expired subscriptions). Notifications may have been lost
			// meanwhile: re-create it and hint a full reconciliation.
			m.log.Warn("webhook subscription lost: BC deleted it or let it expire; re-creating it",
				"connection", connectionID, "company", companyID, "entitySet", s.EntitySet,
				"subscriptionId", s.ID, "listedButExpired", listed, "lastNotificationAt", s.LastNotificationAt)
			if listed {
				_ = c.Delete(ctx, subscriptionsRef, s.ID, bc.AnyETag) // best effort; BC sweeps it anyway
			}
			if err := m.store.DeleteSubscription(ctx, s.ID); err != nil {
				errs = append(errs, fmt.Errorf("webhook: forgetting lost subscription %s (%s): %w", s.ID, s.EntitySet, err))
				continue
			}
			m.lost(s)
			lost[set] = true
			continue
		}
		s.ETag, s.ExpiresAt = rs.etag, rs.expires
		if rs.expires.IsZero() || rs.expires.Sub(now) <= m.renewBefore || s.NotificationURL != m.url || rs.NotificationURL != m.url {
			r, err := m.renew(ctx, c, s)
			switch {
			case bc.IsNotFound(err): // deleted between the list and the PATCH
				if derr := m.store.DeleteSubscription(ctx, s.ID); derr != nil {
					errs = append(errs, fmt.Errorf("webhook: forgetting lost subscription %s (%s): %w", s.ID, s.EntitySet, derr))
					continue
				}
				m.lost(s)
				lost[set] = true
				continue
			case err != nil:
				errs = append(errs, err)
				s.LastError = err.Error()
			default:
				s = r
				res.Renewed = append(res.Renewed, s.EntitySet)
			}
		}
		if err := m.store.PutSubscription(ctx, s); err != nil {
			errs = append(errs, fmt.Errorf("webhook: storing subscription %s (%s): %w", s.ID, s.EntitySet, err))
		}
		m.track(s)
		kept[set] = s
	}

	for _, set := range sortedKeys(want) {
		if _, ok := kept[set]; ok {
			continue
		}
		s, err := m.create(ctx, c, connectionID, companyID, want[set])
		if err != nil {
			errs = append(errs, err)
			continue
		}
		kept[set] = s
		if lost[set] {
			res.Recreated = append(res.Recreated, s.EntitySet)
			m.count(func(st *Stats) { st.Recreated++ })
		} else {
			res.Created = append(res.Created, s.EntitySet)
		}
	}

	n, err := m.deleteOrphans(ctx, c, companyID, remote, handled, now)
	res.OrphansDeleted = n
	if err != nil {
		errs = append(errs, err)
	}

	for _, s := range kept {
		if due := s.ExpiresAt.Add(-m.renewBefore); res.NextRenewal.IsZero() || due.Before(res.NextRenewal) {
			res.NextRenewal = due
		}
	}
	return res, errors.Join(errs...)
}

// lost forgets a subscription BC no longer has and hints a full reconciliation of its set:
// notifications may have been lost while it was failing, deletions among them, whether or
// not it can be re-created.
func (m *Manager) lost(s Subscription) {
	m.untrack(s.ID, false)
	m.count(func(st *Stats) { st.Lost++ })
	m.dispatch([]Hint{{ConnectionID: s.ConnectionID, CompanyID: s.CompanyID, EntitySet: s.EntitySet,
		SubscriptionID: s.ID, ChangeType: ChangeCollection, Lost: true}})
}

// Remove deletes every subscription of a connection from BC and from the store, for a
// connection that is deleted or has webhooks turned off, and stops tracking them.
// Subscriptions whose deletion fails stay stored in StateRemoving (Left), and the failures
// are returned joined; call Remove again.
func (m *Manager) Remove(ctx context.Context, c BCClient, connectionID string) (RemoveResult, error) {
	if c == nil || connectionID == "" {
		return RemoveResult{}, errors.New("webhook: Remove needs a BC client and a connectionID")
	}
	defer m.lockConn(connectionID)()
	res, err := removeAll(ctx, m.store, c, connectionID, m.log)
	for _, s := range res.Deleted {
		m.untrack(s.ID, true)
	}
	for _, s := range res.Left {
		m.untrack(s.ID, false)
	}
	m.count(func(st *Stats) { st.Deleted += int64(len(res.Deleted)) })
	return res, err
}

// RemoveResult is what Remove did: the subscriptions deleted at BC (and from the store),
// and those left at BC because their deletion failed (stored in StateRemoving with
// LastError).
type RemoveResult struct {
	Deleted, Left []Subscription
}

// Remove deletes every stored subscription of a connection at BC and from st, without a
// Manager: removing a subscription is a DELETE of it at BC (bc-entra-facts §7.1), which
// needs neither the public URL nor the receiver, so the CLI and a serve without
// --public-url can do it. A subscription BC no longer has counts as deleted. One whose
// deletion fails stays stored in StateRemoving with LastError and is returned in Left with
// the failures joined; ctx bounds the whole removal (BC's client retries each call).
// A running Manager of the same store keeps tracking what this removes until it restarts:
// serve calls Manager.Remove instead.
func Remove(ctx context.Context, st SubscriptionStore, c BCClient, connectionID string, log *slog.Logger) (RemoveResult, error) {
	if st == nil || c == nil || connectionID == "" {
		return RemoveResult{}, errors.New("webhook: Remove needs a store, a BC client and a connectionID")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return removeAll(ctx, st, c, connectionID, log)
}

func removeAll(ctx context.Context, st SubscriptionStore, c BCClient, connectionID string, log *slog.Logger) (RemoveResult, error) {
	subs, err := st.Subscriptions(ctx, connectionID)
	if err != nil {
		return RemoveResult{}, fmt.Errorf("webhook: reading stored subscriptions of connection %s: %w", connectionID, err)
	}
	var res RemoveResult
	var errs []error
	for _, s := range subs {
		if err := deleteAt(ctx, st, c, s, bc.AnyETag, log); err != nil {
			errs = append(errs, err)
			s.State, s.LastError = StateRemoving, err.Error()
			res.Left = append(res.Left, s)
			continue
		}
		res.Deleted = append(res.Deleted, s)
	}
	return res, errors.Join(errs...)
}

// deleteAt deletes one subscription at BC (a 404 means BC has it no more) and then from
// st. When BC's deletion fails the subscription is stored again in StateRemoving with the
// error, so the next Ensure or Remove tries again.
func deleteAt(ctx context.Context, st SubscriptionStore, c BCClient, s Subscription, etag string, log *slog.Logger) error {
	if err := c.Delete(ctx, subscriptionsRef, s.ID, etag); err != nil && !bc.IsNotFound(err) {
		derr := fmt.Errorf("webhook: deleting the subscription to %s of company %s: %w", s.EntitySet, s.CompanyID, err)
		s.State = StateRemoving
		s.LastError = err.Error()
		// ctx may be what ended the deletion: the store write gets a moment of its own.
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if perr := st.PutSubscription(wctx, s); perr != nil {
			return errors.Join(derr, perr)
		}
		return derr
	}
	if err := st.DeleteSubscription(context.WithoutCancel(ctx), s.ID); err != nil {
		return fmt.Errorf("webhook: forgetting deleted subscription %s (%s): %w", s.ID, s.EntitySet, err)
	}
	log.Info("webhook subscription deleted", "subscriptionId", s.ID, "connection", s.ConnectionID,
		"company", s.CompanyID, "entitySet", s.EntitySet)
	return nil
}

// create subscribes one entity set (bc-entra-facts §7.1) with a fresh clientState and stores
// the subscription with the clientState's hash.
func (m *Manager) create(ctx context.Context, c BCClient, connectionID, companyID, set string) (Subscription, error) {
	state, err := m.newClientState()
	if err != nil {
		return Subscription{}, err
	}
	resource := "/api/v2.0/companies(" + companyID + ")/" + set
	before := m.handshakeCount()
	rec, err := c.Create(ctx, subscriptionsRef, map[string]string{
		"notificationUrl": m.url,
		"resource":        resource,
		"clientState":     state,
	})
	if err != nil {
		err = redact(err, state)
		why := ""
		if m.handshakeCount() == before {
			why = "; this process received no validationToken handshake meanwhile: check that " + m.url +
				" is reachable from the internet over https (no login, no IP filter) and routes to the webhook receiver"
		}
		m.log.Warn("webhook subscription not created", "connection", connectionID, "company", companyID,
			"entitySet", set, "err", err)
		return Subscription{}, fmt.Errorf("webhook: subscribing to %s of company %s: %w%s", set, companyID, err, why)
	}
	rs, err := decodeRemote(rec)
	if err != nil {
		return Subscription{}, fmt.Errorf("webhook: subscribing to %s of company %s: %w", set, companyID, err)
	}
	now := m.clock()
	s := Subscription{
		ID:              rs.ID,
		ConnectionID:    connectionID,
		CompanyID:       companyID,
		EntitySet:       set,
		Resource:        resource,
		NotificationURL: m.url,
		ClientStateHash: hashClientState(state),
		ExpiresAt:       rs.expires,
		ETag:            rs.etag,
		CreatedAt:       now,
		State:           StateActive,
	}
	if err := m.store.PutSubscription(ctx, s); err != nil {
		// Without the stored hash its notifications cannot be verified: take it back.
		if derr := c.Delete(ctx, subscriptionsRef, s.ID, rs.etag); derr != nil && !bc.IsNotFound(derr) {
			m.log.Warn("webhook subscription created but neither stored nor deleted; the next Ensure deletes it as an orphan",
				"subscriptionId", s.ID, "err", derr)
		}
		return Subscription{}, fmt.Errorf("webhook: storing the new subscription to %s of company %s: %w", set, companyID, err)
	}
	m.track(s)
	m.count(func(st *Stats) { st.Created++ })
	m.log.Info("webhook subscription created", "connection", connectionID, "company", companyID,
		"entitySet", set, "subscriptionId", s.ID, "expires", s.ExpiresAt)
	return s, nil
}

// renew extends a subscription by 3 days: PATCH with If-Match, which repeats the handshake
// (bc-entra-facts §7.1, §7.2). The body names notificationUrl and resource but not the
// clientState, which BC keeps (OData PATCH changes only what it carries); sending
// notificationUrl also moves the subscription when PublicURL changed.
func (m *Manager) renew(ctx context.Context, c BCClient, s Subscription) (Subscription, error) {
	etag := s.ETag
	if etag == "" {
		etag = bc.AnyETag
	}
	before := m.handshakeCount()
	rec, err := c.Update(ctx, subscriptionsRef, s.ID, etag, map[string]string{
		"notificationUrl": m.url,
		"resource":        s.Resource,
	})
	if err != nil {
		if bc.IsNotFound(err) {
			return s, err
		}
		why := ""
		if m.handshakeCount() == before {
			why = "; this process received no validationToken handshake meanwhile: check that " + m.url + " is reachable from the internet over https"
		}
		m.log.Warn("webhook subscription not renewed", "subscriptionId", s.ID, "entitySet", s.EntitySet,
			"expires", s.ExpiresAt, "err", err)
		return s, fmt.Errorf("webhook: renewing the subscription to %s of company %s (expires %s): %w%s",
			s.EntitySet, s.CompanyID, s.ExpiresAt.Format(time.RFC3339), err, why)
	}
	rs, err := decodeRemote(rec)
	if err != nil {
		return s, fmt.Errorf("webhook: renewing the subscription to %s: %w", s.EntitySet, err)
	}
	s.ETag, s.ExpiresAt = rs.etag, rs.expires
	s.NotificationURL = m.url
	s.RenewedAt = m.clock()
	s.LastError = ""
	m.count(func(st *Stats) { st.Renewed++ })
	m.log.Info("webhook subscription renewed", "subscriptionId", s.ID, "entitySet", s.EntitySet, "expires", s.ExpiresAt)
	return s, nil
}

// deleteRemote deletes our subscription s from BC and then from the store. When BC's delete
// fails, s stays stored in StateRemoving for the next try.
func (m *Manager) deleteRemote(ctx context.Context, c BCClient, s Subscription, rs remoteSub, listed bool) error {
	etag := bc.AnyETag
	if listed && rs.etag != "" {
		etag = rs.etag
	}
	if err := deleteAt(ctx, m.store, c, s, etag, m.log); err != nil {
		m.untrack(s.ID, false)
		return err
	}
	m.untrack(s.ID, true)
	m.count(func(st *Stats) { st.Deleted++ })
	return nil
}

// deleteOrphans deletes subscriptions on our URL for the company that no store knows: a
// create whose answer was lost, or a store that lost its data. Their clientState is unknown,
// so their notifications could never be verified, and they count against BC's limit of 200
// (§7.1).
func (m *Manager) deleteOrphans(ctx context.Context, c BCClient, companyID string, remote map[string]remoteSub, handled map[string]bool, now time.Time) (int, error) {
	var n int
	var errs []error
	for _, id := range sortedKeys(remote) {
		rs := remote[id]
		if handled[id] || rs.NotificationURL != m.url || !resourceOfCompany(rs.Resource, companyID) {
			continue
		}
		if rs.modified.IsZero() || now.Sub(rs.modified) < m.orphanGrace {
			continue
		}
		_, err := m.store.Subscription(ctx, id)
		if err == nil {
			continue
		}
		if !errors.Is(err, ErrNotFound) {
			errs = append(errs, fmt.Errorf("webhook: looking up subscription %s: %w", id, err))
			continue
		}
		if err := c.Delete(ctx, subscriptionsRef, id, rs.etag); err != nil {
			if !bc.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("webhook: deleting orphaned subscription %s: %w", id, err))
			}
			continue
		}
		n++
		m.log.Info("webhook orphaned subscription deleted", "subscriptionId", id, "resource", rs.Resource)
	}
	return n, errors.Join(errs...)
}

// resourceOfCompany reports whether a subscription resource addresses an entity set of the
// company.
func resourceOfCompany(resource, companyID string) bool {
	return strings.Contains(strings.ToLower(resource), "companies("+companyID+")/")
}

// newClientState returns a fresh random clientState.
func (m *Manager) newClientState() (string, error) {
	b := make([]byte, clientStateBytes)
	if _, err := io.ReadFull(m.rand, b); err != nil {
		return "", fmt.Errorf("webhook: generating a clientState: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// redact removes a secret that an error text might echo (BC's error messages may quote a
// request value, e.g. a clientState that is too long). A *bc.Error is copied with its
// message redacted, so errors.Is and errors.As keep working; any other error carrying the
// secret is replaced by one that answers errors.Is like it but does not unwrap to it.
func redact(err error, secret string) error {
	if err == nil || secret == "" || !strings.Contains(err.Error(), secret) {
		return err
	}
	var be *bc.Error
	if errors.As(err, &be) {
		cp := *be
		cp.Message = strings.ReplaceAll(cp.Message, secret, "[REDACTED]")
		if !strings.Contains(cp.Error(), secret) {
			return &cp
		}
	}
	return &redactedError{err: err, msg: strings.ReplaceAll(err.Error(), secret, "[REDACTED]")}
}

// redactedError is an error whose text had a secret removed. It does not unwrap (the
// wrapped error's text holds the secret) but delegates errors.Is.
type redactedError struct {
	err error
	msg string
}

func (e *redactedError) Error() string        { return e.msg }
func (e *redactedError) Is(target error) bool { return errors.Is(e.err, target) }

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
