package webhook

import (
	"context"
	"crypto/sha256"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bizzjoiner/bcconnector/store"
)

// ErrNotFound is returned (wrapped) by a SubscriptionStore for a subscription it does not
// hold. It is store.ErrWebhookNotFound, so it also matches store.ErrNotFound.
var ErrNotFound = store.ErrWebhookNotFound

// State is a stored subscription's lifecycle state (an alias of store.WebhookState).
type State = store.WebhookState

// Subscription states.
const (
	// StateActive: the subscription exists in BC (as far as the last Ensure knew) and its
	// notifications are turned into hints.
	StateActive = store.WebhookActive
	// StateRemoving: the subscription is no longer wanted but deleting it in BC failed; the
	// next Ensure or Remove tries again. Its notifications are acknowledged but ignored.
	StateRemoving = store.WebhookRemoving
)

// Subscription is one of our BC webhook subscriptions as the connector keeps it (an alias
// of store.WebhookSubscription, so that package store and its SQL implementations can
// persist it without importing webhook).
//
// The clientState sent to BC is a secret, so only its SHA-256 hash is kept
// (ClientStateHash): the receiver hashes what arrives and compares the hashes in constant
// time. A renewal never needs the clientState again because it is a PATCH without it
// (bc-entra-facts §7.1).
type Subscription = store.WebhookSubscription

// SubscriptionStore persists our subscriptions (an alias of store.WebhookStore, which
// *sqlite.DB implements). Implementations must be safe for concurrent use and must pass
// storetest.RunWebhooks. Times are stored in UTC with at least millisecond precision.
type SubscriptionStore = store.WebhookStore

// hashClientState returns the stored form of a clientState.
func hashClientState(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
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
	if old, ok := s.subs[sub.ID]; ok {
		sub.NotifiedUpTo, sub.MissedCount, sub.LastMissedAt = old.NotifiedUpTo, old.MissedCount, old.LastMissedAt
	}
	s.subs[sub.ID] = sub.Clone()
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
	return sub.Clone(), nil
}

// Subscriptions implements SubscriptionStore.
func (s *MemoryStore) Subscriptions(ctx context.Context, connectionID string) ([]Subscription, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Subscription
	for _, sub := range s.subs {
		if connectionID == "" || sub.ConnectionID == connectionID {
			out = append(out, sub.Clone())
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

// NoteNotified implements SubscriptionStore.
func (s *MemoryStore) NoteNotified(ctx context.Context, id string, at, upTo time.Time) error {
	return s.update(id, func(sub *Subscription) {
		if at.After(sub.LastNotificationAt) {
			sub.LastNotificationAt = at.UTC()
		}
		if upTo.After(sub.NotifiedUpTo) {
			sub.NotifiedUpTo = upTo.UTC()
		}
	})
}

// NoteMissed implements SubscriptionStore.
func (s *MemoryStore) NoteMissed(ctx context.Context, id string, at time.Time) error {
	return s.update(id, func(sub *Subscription) { sub.MissedCount++; sub.LastMissedAt = at.UTC() })
}

func (s *MemoryStore) update(id string, f func(*Subscription)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub, ok := s.subs[id]
	if !ok {
		return fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	f(&sub)
	s.subs[id] = sub
	return nil
}

// setKey identifies one subscribed entity set of one company of one connection.
type setKey struct {
	conn, company, set string
}

func keyOf(s Subscription) setKey {
	return setKey{s.ConnectionID, strings.ToLower(s.CompanyID), strings.ToLower(s.EntitySet)}
}
