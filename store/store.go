// Package store defines what bcconnector keeps between runs — connections to customers'
// Business Central and their sealed client secrets — as domain types and the [Store]
// interface. Implementations live in subpackages, one per SQL dialect (store/sqlite, the
// default; store/postgres when scaled out), and all of them pass the conformance suite in
// store/storetest.
//
// Client secrets, and the private keys of certificate credentials, are sealed with a
// [secret.Keyring] before they reach an implementation's tables; the sealed bytes never
// leave the implementation, and the plaintext comes back only as a [secret.Secret], which
// does not print.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/bizzjoiner/bcconnector/secret"
)

var (
	// ErrNotFound means the connection or secret does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict means the change clashes with stored state: the connection name is
	// taken, or a secret is not in the state the operation needs.
	ErrConflict = errors.New("store: conflict")
	// ErrInvalid means a field failed validation; the error names the field and the fix.
	ErrInvalid = errors.New("store: invalid")
)

// Store is everything bcconnector persists. Implementations are safe for concurrent use
// and pass the conformance suite in store/storetest. Times are UTC with microsecond
// precision (what both SQLite and Postgres keep).
type Store interface {
	ConnectionStore
	SecretStore
	ReplicaStore
	SchemaStore
	RecordQuerier
	WebhookStore
	TokenStore
	UserStore
	AttemptStore
	LeaseStore
	IdempotencyStore
	DoctorStore
	BudgetStore
	OutboundStore
	DeliveryStore
	HealthStore
	ExpressStore
	AuditStore
	Notifier
	// Close releases the database. The Store must not be used afterwards.
	Close() error
}

// ConnectionStore keeps connections.
type ConnectionStore interface {
	// CreateConnection validates c (see [Connection.Normalize]), gives it an ID when it
	// has none, stamps CreatedAt and UpdatedAt, stores it and returns the stored value.
	// A taken name yields ErrConflict; an invalid field ErrInvalid.
	CreateConnection(ctx context.Context, c Connection) (Connection, error)
	// GetConnection returns the connection whose ID is idOrName or, failing that, whose
	// Name is exactly idOrName. A missing connection yields ErrNotFound.
	GetConnection(ctx context.Context, idOrName string) (Connection, error)
	// ListConnections returns all connections ordered by Name.
	ListConnections(ctx context.Context) ([]Connection, error)
	// UpdateConnection replaces the stored connection with c's ID by c (CreatedAt is kept,
	// UpdatedAt stamped) and returns the stored value. ErrNotFound, ErrConflict
	// (name taken) or ErrInvalid.
	UpdateConnection(ctx context.Context, c Connection) (Connection, error)
	// DeleteConnection deletes a connection and all its secrets. ErrNotFound if missing.
	DeleteConnection(ctx context.Context, id string) error
}

// SecretStore keeps a connection's credentials (client secrets and certificates, see
// [CredentialKind]) and their rotation, which needs no downtime: AddSecret (pending) → verify it with a token request (PendingSecret) →
// PromoteSecret (it becomes active, the previous active one retired, in one transaction).
// A connection has at most one active and one pending secret. Retiring a secret erases
// its sealed value; only its record stays as history.
type SecretStore interface {
	// AddSecret seals plaintext (AAD: connection ID + secret ID) and stores it as the
	// connection's pending secret, retiring any earlier pending one. endDate is the
	// secret's expiry as shown in Entra ("Expires"); zero means unknown. ErrNotFound if
	// the connection does not exist, ErrInvalid if plaintext is empty.
	AddSecret(ctx context.Context, connID string, plaintext secret.Secret, endDate time.Time) (SecretRecord, error)
	// AddCertificate stores a certificate credential as the connection's pending
	// credential (Kind CredentialCertificate), retiring any earlier pending one, as
	// AddSecret does: its private key sealed as a secret's value is, its certificate (public)
	// kept in the record, its end date the certificate's NotAfter. Rotation from a secret to
	// a certificate and back is the same add → verify → promote. ErrNotFound if the
	// connection does not exist, ErrInvalid if cert fails [secret.Certificate.Check].
	AddCertificate(ctx context.Context, connID string, cert secret.Certificate) (SecretRecord, error)
	// ActiveSecret opens and returns the connection's active secret (for a certificate, its
	// private key; [SecretRecord.Credential] pairs the two). ErrNotFound when
	// there is none. An error wrapping secret.ErrUnknownKey means the master key that
	// sealed it is missing from the keyring.
	ActiveSecret(ctx context.Context, connID string) (secret.Secret, SecretRecord, error)
	// PendingSecret opens and returns the connection's pending secret; ErrNotFound when
	// there is none.
	PendingSecret(ctx context.Context, connID string) (secret.Secret, SecretRecord, error)
	// ListSecrets returns all the connection's secret records, oldest first.
	// ErrNotFound if the connection does not exist.
	ListSecrets(ctx context.Context, connID string) ([]SecretRecord, error)
	// MarkSecretVerified records that a token request with the secret just succeeded
	// (VerifiedAt = now). ErrNotFound if missing, ErrConflict if retired.
	MarkSecretVerified(ctx context.Context, connID, secretID string) (SecretRecord, error)
	// PromoteSecret makes a pending secret active and retires the previously active one,
	// atomically; VerifiedAt is stamped if not yet set (promote only after verifying).
	// Promoting the active secret again is a no-op. ErrNotFound if missing, ErrConflict if
	// the secret is retired.
	PromoteSecret(ctx context.Context, connID, secretID string) (SecretRecord, error)
	// RetireSecret retires a secret in any state and erases its sealed value. Retiring
	// the active secret leaves the connection without one (for a leaked secret).
	// Retiring a retired secret is a no-op. ErrNotFound if missing.
	RetireSecret(ctx context.Context, connID, secretID string) (SecretRecord, error)
	// ReSealAll opens every stored secret not sealed with kr's primary key and seals it
	// again with it, in one transaction, then uses kr for everything after. kr must hold
	// the keys that sealed the stored values (as [secret.Keyring.Rotate] keeps them).
	// It returns how many secrets were re-sealed.
	ReSealAll(ctx context.Context, kr *secret.Keyring) (int, error)
	// SealedKeyIDs counts the stored sealed secrets per master key ID, so a rotation can
	// tell when an older key is no longer needed.
	SealedKeyIDs(ctx context.Context) (map[string]int, error)
}

// SecretState is the life-cycle state of a client secret.
type SecretState string

// The secret states.
const (
	// SecretPending: added, not yet proven by a token request and promoted.
	SecretPending SecretState = "pending"
	// SecretActive: the one secret the connector uses.
	SecretActive SecretState = "active"
	// SecretRetired: no longer used; its sealed value is erased.
	SecretRetired SecretState = "retired"
)

// CredentialKind is what a stored credential is: a client secret or a certificate.
type CredentialKind string

// The credential kinds.
const (
	// CredentialSecret is a client secret (guide Step 3, "Client secrets" tab).
	CredentialSecret CredentialKind = "secret"
	// CredentialCertificate is a certificate whose private key bcconnector generated and
	// keeps sealed; the admin uploads the public certificate ("Certificates" tab).
	CredentialCertificate CredentialKind = "certificate"
)

// SecretRecord describes a stored credential (a client secret or a certificate), without
// its secret value.
type SecretRecord struct {
	// ID identifies the secret within the store (not Entra's secret ID).
	ID string
	// ConnectionID is the connection the secret belongs to.
	ConnectionID string
	// Kind is CredentialSecret or CredentialCertificate.
	Kind CredentialKind
	// Certificate is a certificate credential's X.509 certificate in DER form (public,
	// kept after retirement as history); nil for a client secret.
	Certificate []byte
	// State is pending, active or retired.
	State SecretState
	// EndDate is when Entra stops accepting the secret ("Expires"); zero means unknown.
	EndDate time.Time
	// KeyID is the ID of the master key that sealed the value; empty once retired.
	KeyID string
	// CreatedAt is when the secret was added.
	CreatedAt time.Time
	// VerifiedAt is when a token request with it last succeeded; zero if never.
	VerifiedAt time.Time
	// RetiredAt is when it was retired; zero unless State is retired.
	RetiredAt time.Time
}

// Thumbprint is a certificate credential's SHA-1 thumbprint as the Entra portal shows it
// (upper-case hex); empty for a client secret.
func (r SecretRecord) Thumbprint() string { return secret.Thumbprint(r.Certificate) }

// Credential pairs the value ActiveSecret or PendingSecret opened with the record: a
// client secret, or the certificate with its private key.
func (r SecretRecord) Credential(v secret.Secret) secret.Credential {
	if r.Kind == CredentialCertificate {
		return secret.Credential{Certificate: &secret.Certificate{DER: r.Certificate, Key: v}}
	}
	return secret.Credential{Secret: v}
}
