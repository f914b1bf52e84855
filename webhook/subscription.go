package webhook

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// ErrNotFound is returned (possibly wrapped) by a SubscriptionStore for a subscription it
// does not hold.
var ErrNotFound = errors.New("webhook: subscription not found")

// State is a stored subscription's lifecycle state.
type State string

// Subscription states.
const (
	// StateActive: the subscription exists in BC (as far as the last Ensure knew) and its
	// notifications are turned into hints.
	StateActive State = "active"
	// StateRemoving: the subscription is no longer wanted but deleting it in BC failed; the
	// next Ensure or Remove tries again. Its notifications are acknowledged but ignored.
	StateRemoving State = "removing"
)

// Subscription is one of our BC webhook subscriptions as the connector keeps it.
//
// The clientState sent to BC is a secret (anyone who knows it and a subscription id can
// post notifications that pass the check), so only its SHA-256 hash is kept: the receiver
// hashes what arrives and compares the hashes in constant time. A renewal never needs the
// clientState again because it is a PATCH without it (OData PATCH changes only the
// properties sent; bc-entra-facts §7.1).
type Subscription struct {
	// ID is BC's subscriptionId (the key of subscriptions('…'), bc-entra-facts §7.1).
	ID string
	// ConnectionID is the connection that created it.
	ConnectionID string
	// CompanyID is the company's id (a lower-case GUID).
	CompanyID string
	// EntitySet is the subscribed entity set, e.g. "customers".
	EntitySet string
	// Resource is the resource as sent to BC: "/api/v2.0/companies({companyId})/{entitySet}".
	Resource string
	// NotificationURL is the URL BC notifies (Options.PublicURL at the time of creation or
	// last renewal).
	NotificationURL string
	// ClientStateHash is the SHA-256 of the clientState sent to BC (32 bytes).
	ClientStateHash []byte
	// ExpiresAt is BC's expirationDateTime as last returned (UTC).
	ExpiresAt time.Time
	// ETag is the subscription's @odata.etag as last returned; opaque.
	ETag string
	// CreatedAt is when we created it (our clock, UTC).
	CreatedAt time.Time
	// RenewedAt is when we last renewed it; zero if never.
	RenewedAt time.Time
	// LastNotificationAt is when the last notification with a valid clientState arrived
	// (our clock, UTC); zero if none yet.
	LastNotificationAt time.Time
	// State is StateActive or StateRemoving.
	State State
	// LastError describes the last failed renewal or deletion, "" after a success. It holds
	// BC's error text, never the clientState.
	LastError string
}

// hashClientState returns the stored form of a clientState.
func hashClientState(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// clone returns a copy of s that shares no memory with it.
func (s Subscription) clone() Subscription {
	s.ClientStateHash = slices.Clone(s.ClientStateHash)
	return s
}

// Validate checks the fields every stored subscription must have; SubscriptionStore
// implementations call it in PutSubscription.
func (s Subscription) Validate() error {
	switch {
	case s.ID == "":
		return errors.New("webhook: Subscription.ID is empty; it is BC's subscriptionId")
	case s.ConnectionID == "":
		return fmt.Errorf("webhook: subscription %s: ConnectionID is empty", s.ID)
	case s.CompanyID == "":
		return fmt.Errorf("webhook: subscription %s: CompanyID is empty", s.ID)
	case s.EntitySet == "":
		return fmt.Errorf("webhook: subscription %s: EntitySet is empty", s.ID)
	case len(s.ClientStateHash) != sha256.Size:
		return fmt.Errorf("webhook: subscription %s: ClientStateHash has %d bytes, want a SHA-256 (32)", s.ID, len(s.ClientStateHash))
	case s.State != StateActive && s.State != StateRemoving:
		return fmt.Errorf("webhook: subscription %s: State %q is not %q or %q", s.ID, s.State, StateActive, StateRemoving)
	}
	return nil
}

// SubscriptionStore persists our subscriptions. Implementations must be safe for concurrent
// use and must pass webhooktest.TestStore. Times are stored in UTC with at least millisecond
// precision.
type SubscriptionStore interface {
	// PutSubscription inserts s, or replaces the subscription with s.ID.
	PutSubscription(ctx context.Context, s Subscription) error
	// Subscription returns the subscription with BC's subscriptionId id, or an error
	// matching ErrNotFound.
	Subscription(ctx context.Context, id string) (Subscription, error)
	// Subscriptions returns the subscriptions of a connection, or of every connection when
	// connectionID is "", ordered by ID.
	Subscriptions(ctx context.Context, connectionID string) ([]Subscription, error)
	// DeleteSubscription removes the subscription with id; a missing one is not an error.
	DeleteSubscription(ctx context.Context, id string) error
	// TouchSubscription sets LastNotificationAt to at unless it is already later. A missing
	// subscription is an error matching ErrNotFound.
	TouchSubscription(ctx context.Context, id string, at time.Time) error
}

// MemoryStore is a SubscriptionStore in memory, for tests and for deployments that accept
// re-creating their subscriptions after a restart (the orphans BC still holds are deleted by
// Ensure). The zero value is ready to use.
type MemoryStore struct {
	mu   sync.Mutex
	subs map[string]Subscription
}

var _ SubscriptionStore = (*MemoryStore)(nil)

// PutSubscription implements SubscriptionStore.
func (s *MemoryStore) PutSubscription(ctx context.Context, sub Subscription) error {
	if err := sub.Validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.subs == nil {
		s.subs = make(map[string]Subscription)
	}
	s.subs[sub.ID] = sub.clone()
	return nil
}

// Subscription implements SubscriptionStore.
func (s *MemoryStore) Subscription(ctx context.Context, id string) (Subscription, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub, ok := s.subs[id]
	if !ok {
		return Subscription{}, fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	return sub.clone(), nil
}

// Subscriptions implements SubscriptionStore.
func (s *MemoryStore) Subscriptions(ctx context.Context, connectionID string) ([]Subscription, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Subscription
	for _, sub := range s.subs {
		if connectionID == "" || sub.ConnectionID == connectionID {
			out = append(out, sub.clone())
		}
	}
	slices.SortFunc(out, func(a, b Subscription) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// DeleteSubscription implements SubscriptionStore.
func (s *MemoryStore) DeleteSubscription(ctx context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.subs, id)
	return nil
}

// TouchSubscription implements SubscriptionStore.
func (s *MemoryStore) TouchSubscription(ctx context.Context, id string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub, ok := s.subs[id]
	if !ok {
		return fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	if at.After(sub.LastNotificationAt) {
		sub.LastNotificationAt = at.UTC()
		s.subs[id] = sub
	}
	return nil
}

// setKey identifies one subscribed entity set of one company of one connection.
type setKey struct {
	conn, company, set string
}

func keyOf(s Subscription) setKey {
	return setKey{s.ConnectionID, strings.ToLower(s.CompanyID), strings.ToLower(s.EntitySet)}
}
