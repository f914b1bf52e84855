package store

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bizzjoiner/bcconnector/secret"
)

// SigningSecretPrefix starts every signing secret of an outbound webhook endpoint, as the
// Standard Webhooks convention has it ("whsec_" + base64 of the key;
// auth-jobs-delivery-facts §5).
const SigningSecretPrefix = "whsec_"

// SigningSecretBytes is the size of the random key of a signing secret (the convention
// asks for 24 to 64 bytes).
const SigningSecretBytes = 32

// NewSigningSecret returns a fresh signing secret: SigningSecretPrefix and
// SigningSecretBytes random bytes in standard base64.
func NewSigningSecret() secret.Secret {
	b := make([]byte, SigningSecretBytes)
	_, _ = rand.Read(b)
	return secret.Secret(SigningSecretPrefix + base64.StdEncoding.EncodeToString(b))
}

// Endpoint is a URL of the platform that receives outbound webhooks (package outbound):
// which events it wants, for which connections, and the records of its signing secrets
// (never their values).
type Endpoint struct {
	ID string `json:"id"`
	// URL receives the deliveries (POST).
	URL string `json:"url"`
	// EventTypes are the event types (or "prefix.*" patterns) the endpoint receives;
	// package outbound knows the names.
	EventTypes []string `json:"eventTypes"`
	// ConnectionID limits the endpoint to one connection's events; "" means every
	// connection.
	ConnectionID string `json:"connectionId,omitempty"`
	// IncludeRecord asks for the record as BC sent it in record.created and
	// record.updated events.
	IncludeRecord bool `json:"includeRecord"`
	// Description is free text for people.
	Description string `json:"description,omitempty"`
	// AfterSeq is the head of the change log when the endpoint was created: it receives
	// record events of later changes (and replays of any).
	AfterSeq int64 `json:"afterSeq"`
	// Disabled endpoints get no new events and their pending deliveries end dead at
	// their next attempt (a replay after enabling sends them again). DisabledReason says
	// who or what disabled it: the API, the UI, or the endpoint's own 410 Gone.
	Disabled       bool      `json:"disabled"`
	DisabledAt     time.Time `json:"disabledAt,omitzero"`
	DisabledReason string    `json:"disabledReason,omitempty"`
	CreatedAt      time.Time `json:"createdAt"`
	UpdatedAt      time.Time `json:"updatedAt"`
	// Secrets are the signing secrets deliveries are signed with now: the current one
	// first, then a previous one until its ExpiresAt (the overlap of a rotation).
	Secrets []SigningSecretInfo `json:"secrets"`
}

// SigningSecretInfo describes a stored signing secret without its value.
type SigningSecretInfo struct {
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"createdAt"`
	// ExpiresAt is when a rotated-out secret stops signing; zero for the current one.
	ExpiresAt time.Time `json:"expiresAt,omitzero"`
}

// MaxEndpointURL bounds an endpoint URL's length.
const MaxEndpointURL = 2048

// Normalize trims the fields, drops duplicate event types (keeping their order) and
// checks the structure every stored endpoint must have. Its error wraps [ErrInvalid] and
// names the field. The URL's scheme and host and the event types' names are checked by
// package outbound, which knows the rules.
func (e *Endpoint) Normalize() error {
	e.URL = strings.TrimSpace(e.URL)
	e.ConnectionID = strings.TrimSpace(e.ConnectionID)
	e.Description = strings.TrimSpace(e.Description)
	var types []string
	for _, t := range e.EventTypes {
		if t = strings.TrimSpace(t); !slices.Contains(types, t) {
			types = append(types, t)
		}
	}
	e.EventTypes = types
	switch {
	case e.URL == "":
		return fmt.Errorf("%w: url is empty; give the https URL that receives the webhooks", ErrInvalid)
	case len(e.URL) > MaxEndpointURL:
		return fmt.Errorf("%w: url is %d characters long; the limit is %d", ErrInvalid, len(e.URL), MaxEndpointURL)
	case len(e.EventTypes) == 0:
		return fmt.Errorf("%w: eventTypes is empty; list the event types the endpoint receives, e.g. [\"record.created\"]", ErrInvalid)
	case slices.Contains(e.EventTypes, ""):
		return fmt.Errorf("%w: eventTypes holds an empty name; remove it", ErrInvalid)
	case len(e.Description) > 1000:
		return fmt.Errorf("%w: description is %d characters long; the limit is 1000", ErrInvalid, len(e.Description))
	}
	return nil
}

// OutboundStore keeps the platform's outbound webhook endpoints and their signing
// secrets, which are sealed like client secrets (AAD: endpoint ID + secret ID) and count
// in [SecretStore.ReSealAll] and [SecretStore.SealedKeyIDs].
type OutboundStore interface {
	// CreateEndpoint normalizes e (see [Endpoint.Normalize]), gives it an ID, stamps its
	// times, seals signing as its current secret and returns the stored endpoint.
	// ErrInvalid for a bad field or an empty secret.
	CreateEndpoint(ctx context.Context, e Endpoint, signing secret.Secret) (Endpoint, error)
	// Endpoint returns the endpoint with the ID; ErrNotFound if there is none.
	Endpoint(ctx context.Context, id string) (Endpoint, error)
	// Endpoints returns every endpoint, oldest first.
	Endpoints(ctx context.Context) ([]Endpoint, error)
	// DeleteEndpoint deletes the endpoint, its secrets and everything delivered to it.
	// ErrNotFound if there is none.
	DeleteEndpoint(ctx context.Context, id string) error
	// RotateEndpointSecret makes signing the endpoint's current secret; the previous
	// current one keeps signing until oldUntil (not at all if oldUntil is not after now)
	// and any older one is erased. ErrNotFound, or ErrInvalid for an empty secret.
	RotateEndpointSecret(ctx context.Context, id string, signing secret.Secret, oldUntil time.Time) (Endpoint, error)
	// SetEndpointEnabled enables the endpoint, or disables it saying why (reason, which
	// must not be empty then), stamping UpdatedAt (and DisabledAt when it becomes
	// disabled; disabling a disabled endpoint keeps its first time and reason). It
	// returns the stored endpoint; ErrNotFound if there is none.
	SetEndpointEnabled(ctx context.Context, id string, enabled bool, reason string) (Endpoint, error)
	// SigningSecrets opens the endpoint's secrets that sign now, the current one first.
	// ErrNotFound if the endpoint does not exist.
	SigningSecrets(ctx context.Context, endpointID string) ([]secret.Secret, error)
}

// DeliveryState is where a delivery of an event to an endpoint stands.
type DeliveryState string

// The delivery states. A delivery is created queued or pending, is attempted while
// pending, and ends succeeded or dead.
const (
	// DeliveryQueued: waiting for an earlier delivery with the same endpoint and order key
	// (the same record) to finish; it becomes pending when that one ends.
	DeliveryQueued DeliveryState = "queued"
	// DeliveryPending: to be attempted at NextAttemptAt.
	DeliveryPending DeliveryState = "pending"
	// DeliverySucceeded: the endpoint answered 2xx.
	DeliverySucceeded DeliveryState = "succeeded"
	// DeliveryDead: the last attempt of the schedule failed (or the endpoint answered
	// 410 Gone); only a replay sends it again.
	DeliveryDead DeliveryState = "dead"
)

// Finished reports whether the state is final (succeeded or dead).
func (s DeliveryState) Finished() bool { return s == DeliverySucceeded || s == DeliveryDead }

// Delivery is one event for one endpoint: the exact bytes sent as the body, and where its
// attempts stand. Its ID is the webhook-id header, the same on every attempt.
type Delivery struct {
	ID         string `json:"id"`
	EndpointID string `json:"endpointId"`
	EventType  string `json:"eventType"`
	// ConnectionID is the connection the event is about ("" for none).
	ConnectionID string `json:"connectionId,omitempty"`
	// OrderKey: deliveries of one endpoint with the same non-empty key are attempted one
	// at a time, in the order they were added (record events use the record's key).
	OrderKey string `json:"-"`
	// Seq is the change sequence of a record event; 0 for other events.
	Seq int64 `json:"seq,omitempty"`
	// ReplayOf is the ID of the delivery this one replays; "" if none.
	ReplayOf string          `json:"replayOf,omitempty"`
	Payload  json.RawMessage `json:"-"`
	// State, Attempts and the Last* fields describe the attempts so far.
	State         DeliveryState `json:"state"`
	Attempts      int           `json:"attempts"`
	NextAttemptAt time.Time     `json:"nextAttemptAt,omitzero"`
	LastAttemptAt time.Time     `json:"lastAttemptAt,omitzero"`
	LastStatus    int           `json:"lastStatus,omitempty"`
	LastError     string        `json:"lastError,omitempty"`
	CreatedAt     time.Time     `json:"createdAt"`
}

// DeliveryAttempt is one attempt of a delivery as the attempt log keeps it.
type DeliveryAttempt struct {
	// N numbers a delivery's attempts from 1.
	N  int       `json:"n"`
	At time.Time `json:"at"`
	// StatusCode is the endpoint's HTTP status; 0 when there was no answer.
	StatusCode int `json:"statusCode,omitempty"`
	// Duration is how long the attempt took, in seconds on the wire (durationSeconds).
	Duration time.Duration `json:"-"`
	// Error says why the attempt failed (transport error, refused target, status); ""
	// on success.
	Error string `json:"error,omitempty"`
	// Response is the start of the endpoint's answer (at most MaxAttemptResponse bytes).
	Response string `json:"response,omitempty"`
}

// MarshalJSON writes Duration as durationSeconds (millisecond precision), as every
// duration of the API.
func (a DeliveryAttempt) MarshalJSON() ([]byte, error) {
	type plain DeliveryAttempt
	return json.Marshal(struct {
		plain
		DurationSeconds float64 `json:"durationSeconds"`
	}{plain(a), float64(a.Duration.Milliseconds()) / 1000})
}

// MaxAttemptResponse bounds the response kept in the attempt log, in bytes.
const MaxAttemptResponse = 1024

// DeliveryOutcome is what an attempt leads to: the state after it and, if still pending,
// when to try again.
type DeliveryOutcome struct {
	State         DeliveryState
	NextAttemptAt time.Time
}

// DeliveryQuery selects deliveries for a listing, newest first.
type DeliveryQuery struct {
	// EndpointID limits the list to one endpoint; "" means all.
	EndpointID string
	// State limits the list to one state; "" means all.
	State DeliveryState
	// Before continues a listing: only deliveries older than the one with this ID.
	Before string
	// Limit is the page size; 0 means 50, at most 500.
	Limit int
}

// ChangeCursor is the position in the change log up to which record events have been
// turned into deliveries; AddDeliveries moves it from From to To.
type ChangeCursor struct {
	From, To int64
}

// DeliveryStore keeps the deliveries of outbound webhooks, their attempt log and the
// change-log cursor of record events. Adding deliveries is serialised (one writer on
// SQLite, a row lock on Postgres), which keeps the order of an order key across
// instances.
type DeliveryStore interface {
	// ChangeCursor returns the change sequence up to which record events were turned
	// into deliveries (at the migration that added it: the head of the change log then).
	ChangeCursor(ctx context.Context) (int64, error)
	// AddDeliveries stores ds in order, each queued when an unfinished delivery with the
	// same endpoint and non-empty order key exists (earlier in ds too), else pending and
	// due now; IDs already stored are skipped. With cur, the change cursor moves from
	// cur.From to cur.To in the same transaction, and nothing is stored (ErrConflict)
	// when it is not at cur.From (another instance got there first). It returns the
	// deliveries it stored as pending: they need a job. Deliveries for an endpoint that
	// no longer exists are dropped.
	AddDeliveries(ctx context.Context, cur *ChangeCursor, ds []Delivery) ([]Delivery, error)
	// Delivery returns one delivery with its payload; ErrNotFound if there is none.
	Delivery(ctx context.Context, id string) (Delivery, error)
	// Deliveries lists deliveries (without payloads), newest first.
	Deliveries(ctx context.Context, q DeliveryQuery) ([]Delivery, error)
	// DeliveryAttempts returns a delivery's attempt log, oldest first; ErrNotFound if the
	// delivery does not exist.
	DeliveryAttempts(ctx context.Context, id string) ([]DeliveryAttempt, error)
	// RecordAttempt logs attempt a of a pending delivery (a.N must be one more than its
	// Attempts, else ErrConflict: another worker recorded it) and moves it to out. When
	// the delivery is finished, the oldest queued delivery with its endpoint and order
	// key becomes pending and due now; its ID is returned (it needs a job), else "".
	RecordAttempt(ctx context.Context, id string, a DeliveryAttempt, out DeliveryOutcome) (next string, err error)
	// ReplayDelivery adds a copy of a delivery (same event and payload) under a new ID
	// with ReplayOf set, queued or pending by the rule of AddDeliveries. ErrNotFound if
	// the delivery does not exist.
	ReplayDelivery(ctx context.Context, id, newID string) (Delivery, error)
	// DueDeliveries returns the IDs of up to limit pending deliveries due before t,
	// oldest due first (to give jobs to deliveries a crash left without one).
	DueDeliveries(ctx context.Context, before time.Time, limit int) ([]string, error)
	// PruneDeliveries deletes up to limit finished (succeeded or dead) deliveries created
	// before t, with their attempt logs, oldest first, and returns how many it deleted.
	PruneDeliveries(ctx context.Context, before time.Time, limit int) (int, error)
}

// CheckDelivery checks the fields a delivery to add must have; DeliveryStore
// implementations call it. Its error wraps ErrInvalid and names the field.
func CheckDelivery(d Delivery) error {
	switch {
	case d.ID == "" || strings.ContainsAny(d.ID, ". "):
		return fmt.Errorf("%w: delivery ID %q is empty or holds '.' or a space (it is the signed webhook-id)", ErrInvalid, d.ID)
	case d.EndpointID == "":
		return fmt.Errorf("%w: delivery %s: EndpointID is empty", ErrInvalid, d.ID)
	case d.EventType == "":
		return fmt.Errorf("%w: delivery %s: EventType is empty", ErrInvalid, d.ID)
	case len(d.Payload) == 0:
		return fmt.Errorf("%w: delivery %s: Payload is empty", ErrInvalid, d.ID)
	}
	return nil
}

// CheckAttempt checks an attempt and its outcome for RecordAttempt (and truncates the
// response to MaxAttemptResponse bytes); DeliveryStore implementations call it.
func CheckAttempt(a DeliveryAttempt, out DeliveryOutcome) (DeliveryAttempt, error) {
	switch {
	case a.N < 1:
		return a, fmt.Errorf("%w: attempt number %d; attempts count from 1", ErrInvalid, a.N)
	case out.State == DeliveryPending && out.NextAttemptAt.IsZero():
		return a, fmt.Errorf("%w: a delivery that stays pending needs NextAttemptAt", ErrInvalid)
	case out.State != DeliveryPending && !out.State.Finished():
		return a, fmt.Errorf("%w: an attempt leads to pending, succeeded or dead, not %q", ErrInvalid, out.State)
	}
	// What an endpoint answers is outside input: valid UTF-8 without NULs (Postgres text
	// takes nothing else), bounded.
	clean := func(s string) string { return strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "\uFFFD") }
	a.Response, a.Error = clean(a.Response), clean(a.Error)
	if len(a.Response) > MaxAttemptResponse {
		a.Response = truncateUTF8(a.Response, MaxAttemptResponse)
	}
	if len(a.Error) > MaxAttemptResponse {
		a.Error = truncateUTF8(a.Error, MaxAttemptResponse)
	}
	return a, nil
}

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	for n > 0 && n < len(s) && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// HealthState is the last known state of one watched condition of a connection, from
// which package outbound makes its connection health events: the active credential's
// expiry (Kind "credential", Subject its ID), the setup check ("setup") and the sync of a
// company's entity set ("sync", Subject "companyID/entitySet").
type HealthState struct {
	ConnectionID string
	Kind         string
	Subject      string
	// State is the condition's state as package outbound names it, e.g. "ok".
	State string
	// Version counts the state's changes; SetHealthState moves it by one.
	Version int64
	// Since is when the state was set.
	Since time.Time
}

// HealthStore keeps the HealthStates of connections; a connection's go with it.
type HealthStore interface {
	// HealthStates returns the states of a connection ("" for all), ordered by kind and
	// subject.
	HealthStates(ctx context.Context, connID string) ([]HealthState, error)
	// SetHealthState stores h if h.Version is one more than the stored version (1 when
	// none is stored), else ErrConflict: another instance saw the change first.
	// ErrNotFound if the connection does not exist.
	SetHealthState(ctx context.Context, h HealthState) error
}
