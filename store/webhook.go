package store

import (
	"context"
	"crypto/sha256"
	"fmt"
	"slices"
	"time"
)

// WebhookState is a stored webhook subscription's lifecycle state.
type WebhookState string

// Webhook subscription states.
const (
	// WebhookActive: the subscription exists in BC (as far as the last Ensure knew) and its
	// notifications are turned into hints.
	WebhookActive WebhookState = "active"
	// WebhookRemoving: the subscription is no longer wanted but deleting it in BC failed; the
	// next Ensure or Remove tries again. Its notifications are acknowledged but ignored.
	WebhookRemoving WebhookState = "removing"
)

// WebhookSubscription is one of our BC webhook subscriptions as the connector keeps it
// (package webhook calls it webhook.Subscription).
//
// The clientState sent to BC is a secret (anyone who knows it and a subscription id can
// post notifications that pass the check), so only its SHA-256 hash is kept: the receiver
// hashes what arrives and compares the hashes in constant time. A renewal never needs the
// clientState again because it is a PATCH without it (OData PATCH changes only the
// properties sent; bc-entra-facts §7.1).
type WebhookSubscription struct {
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
	// NotificationURL is the URL BC notifies (the public URL at the time of creation or
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
	// NotifiedUpTo is the newest change time (BC's clock) a verified notification reported,
	// received by any instance; zero if none. MissedCount counts the changes polling found
	// that no notification reported in time (by any instance), the last at LastMissedAt
	// (our clock). PutSubscription writes these three only when it inserts; NoteNotified and
	// NoteMissed change them, so a renewal never undoes what another instance recorded.
	NotifiedUpTo time.Time
	MissedCount  int64
	LastMissedAt time.Time
	// State is WebhookActive or WebhookRemoving.
	State WebhookState
	// LastError describes the last failed renewal or deletion, "" after a success. It holds
	// BC's error text, never the clientState.
	LastError string
}

// Clone returns a copy of s that shares no memory with it.
func (s WebhookSubscription) Clone() WebhookSubscription {
	s.ClientStateHash = slices.Clone(s.ClientStateHash)
	return s
}

// Validate checks the fields every stored subscription must have; [WebhookStore]
// implementations call it in PutSubscription. Its error wraps [ErrInvalid] and names the
// field.
func (s WebhookSubscription) Validate() error {
	switch {
	case s.ID == "":
		return fmt.Errorf("%w: webhook subscription ID is empty; it is BC's subscriptionId", ErrInvalid)
	case s.ConnectionID == "":
		return fmt.Errorf("%w: webhook subscription %s: ConnectionID is empty", ErrInvalid, s.ID)
	case s.CompanyID == "":
		return fmt.Errorf("%w: webhook subscription %s: CompanyID is empty", ErrInvalid, s.ID)
	case s.EntitySet == "":
		return fmt.Errorf("%w: webhook subscription %s: EntitySet is empty", ErrInvalid, s.ID)
	case len(s.ClientStateHash) != sha256.Size:
		return fmt.Errorf("%w: webhook subscription %s: ClientStateHash has %d bytes, want a SHA-256 (32)",
			ErrInvalid, s.ID, len(s.ClientStateHash))
	case s.State != WebhookActive && s.State != WebhookRemoving:
		return fmt.Errorf("%w: webhook subscription %s: State %q is not %q or %q",
			ErrInvalid, s.ID, s.State, WebhookActive, WebhookRemoving)
	}
	return nil
}

// ErrWebhookNotFound is returned (wrapped) by a [WebhookStore] for a subscription it does
// not hold. It matches [ErrNotFound] too (errors.Is).
var ErrWebhookNotFound = fmt.Errorf("%w: webhook subscription", ErrNotFound)

// WebhookStore persists our BC webhook subscriptions (package webhook calls it
// webhook.SubscriptionStore). Implementations must be safe for concurrent use and must pass
// storetest.RunWebhooks. Times are stored in UTC with at least millisecond precision.
type WebhookStore interface {
	// PutSubscription inserts s, or replaces the subscription with s.ID but its
	// NotifiedUpTo, MissedCount and LastMissedAt. It rejects an invalid s (see
	// [WebhookSubscription.Validate]).
	PutSubscription(ctx context.Context, s WebhookSubscription) error
	// Subscription returns the subscription with BC's subscriptionId id, or an error
	// matching ErrWebhookNotFound.
	Subscription(ctx context.Context, id string) (WebhookSubscription, error)
	// Subscriptions returns the subscriptions of a connection, or of every connection when
	// connectionID is "", ordered by ID.
	Subscriptions(ctx context.Context, connectionID string) ([]WebhookSubscription, error)
	// DeleteSubscription removes the subscription with id; a missing one is not an error.
	DeleteSubscription(ctx context.Context, id string) error
	// TouchSubscription sets LastNotificationAt to at unless it is already later. A missing
	// subscription is an error matching ErrWebhookNotFound.
	TouchSubscription(ctx context.Context, id string, at time.Time) error
	// NoteNotified records verified notifications: LastNotificationAt becomes at and
	// NotifiedUpTo upTo, each unless it is already later (concurrent calls from several
	// instances leave the latest). A missing subscription is an error matching
	// ErrWebhookNotFound.
	NoteNotified(ctx context.Context, id string, at, upTo time.Time) error
	// NoteMissed adds one to MissedCount and sets LastMissedAt to at. A missing
	// subscription is an error matching ErrWebhookNotFound.
	NoteMissed(ctx context.Context, id string, at time.Time) error
}
