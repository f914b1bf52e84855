package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"slices"
	"time"

	"github.com/bizzjoiner/bcconnector/secret"
)

// TokenPrefix starts every API bearer token, so a leaked one is easy to recognise in
// secret scanners.
const TokenPrefix = "bcc_"

// Token is an API bearer token as stored: its name, scope and life-cycle, never the token
// itself (only its SHA-256 hash is kept, see HashToken).
type Token struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Connections are the connection IDs the token may use; nil means every connection.
	Connections []string  `json:"connections,omitempty"`
	CreatedAt   time.Time `json:"createdAt"`
	LastUsedAt  time.Time `json:"lastUsedAt,omitzero"`
	RevokedAt   time.Time `json:"revokedAt,omitzero"`
}

// Allows reports whether the token's scope covers the connection.
func (t Token) Allows(connID string) bool {
	return t.Connections == nil || slices.Contains(t.Connections, connID)
}

// NewToken returns a fresh bearer token: TokenPrefix and 32 random bytes, base64url.
func NewToken() secret.Secret {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return secret.Secret(TokenPrefix + base64.RawURLEncoding.EncodeToString(b))
}

// HashToken returns the hex SHA-256 of a token, the only form in which tokens, session IDs
// and similar bearer values are stored.
func HashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// TokenStore keeps API bearer tokens.
type TokenStore interface {
	// CreateToken stores a token for the given hash (see HashToken). Name must be unique
	// among tokens that are not revoked (ErrConflict); connections nil means all.
	CreateToken(ctx context.Context, name string, connections []string, hash string) (Token, error)
	// AuthenticateToken returns the token with the given hash and stamps LastUsedAt.
	// An unknown or revoked token yields ErrNotFound.
	AuthenticateToken(ctx context.Context, hash string) (Token, error)
	// ListTokens returns all tokens, revoked ones included, ordered by name.
	ListTokens(ctx context.Context) ([]Token, error)
	// RevokeToken revokes the token with the given ID or (unrevoked) name. ErrNotFound if
	// there is none; revoking a revoked token is a no-op.
	RevokeToken(ctx context.Context, idOrName string) error
}

// Session is a signed-in admin's browser session. The session ID travels only in the
// cookie; the store keeps its hash.
type Session struct {
	Hash      string
	User      string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// UserStore keeps the admin accounts of the web UI and their sessions.
type UserStore interface {
	// CreateUser stores an admin with a password hash (PHC string). ErrConflict if the
	// name is taken.
	CreateUser(ctx context.Context, name, passwordHash string) error
	// UserPasswordHash returns the stored password hash; ErrNotFound for an unknown user.
	UserPasswordHash(ctx context.Context, name string) (string, error)
	// CountUsers returns how many admins exist (0 means the first-run setup is open).
	CountUsers(ctx context.Context) (int, error)
	// CreateSession stores a session.
	CreateSession(ctx context.Context, s Session) error
	// GetSession returns an unexpired session by hash; ErrNotFound otherwise.
	GetSession(ctx context.Context, hash string) (Session, error)
	// DeleteSession removes a session (logout); a missing one is not an error.
	DeleteSession(ctx context.Context, hash string) error
}

// LoginAttempts is what the sign-in throttle remembers about one source: how many
// sign-ins failed since its last success, and when the last one counted was made.
type LoginAttempts struct {
	Failures int
	Last     time.Time
}

// AttemptsKeptFor is how long a store keeps a source's LoginAttempts after its last
// attempt at least; older records may be removed when another source's record is added
// (so a spray of addresses cannot grow the table without bound).
const AttemptsKeptFor = 24 * time.Hour

// AttemptStore keeps the sign-in throttle's LoginAttempts by source key, in the database,
// so every instance behind a load balancer counts the same failures.
type AttemptStore interface {
	// UpdateAttempts runs f on key's record (the zero record if there is none) and stores
	// what f returns, atomically with respect to every other call for the same key from
	// any process. A zero record is deleted. f may be called more than once; it must not
	// call the store. Last is kept to the microsecond. An empty key yields ErrInvalid.
	UpdateAttempts(ctx context.Context, key string, f func(LoginAttempts) LoginAttempts) error
}

// IdempotencyState says what BeginIdempotent found.
type IdempotencyState int

// Idempotency states.
const (
	// IdempotencyNew: the key was not seen; it is now reserved for this request.
	IdempotencyNew IdempotencyState = iota
	// IdempotencyDone: the same request was completed before; its result is returned.
	IdempotencyDone
	// IdempotencyInProgress: the same request is being executed by another call.
	IdempotencyInProgress
	// IdempotencyMismatch: the key was used for a different request.
	IdempotencyMismatch
)

// IdempotencyRecord is the stored outcome of a write made with an Idempotency-Key.
type IdempotencyRecord struct {
	ConnectionID string
	Key          string
	RequestHash  string
	Status       int // 0 while in progress
	Body         json.RawMessage
	CreatedAt    time.Time
}

// IdempotencyStore remembers writes made with an Idempotency-Key, per connection, so a
// retried call is answered with the first result instead of writing again.
type IdempotencyStore interface {
	// BeginIdempotent reserves (connID, key) for a request with the given hash, or reports
	// the earlier request's state and record.
	BeginIdempotent(ctx context.Context, connID, key, requestHash string) (IdempotencyState, IdempotencyRecord, error)
	// FinishIdempotent stores the result of a reserved request.
	FinishIdempotent(ctx context.Context, connID, key string, status int, body json.RawMessage) error
	// AbandonIdempotent releases a reservation whose request provably did not reach BC,
	// so that a retry may run it.
	AbandonIdempotent(ctx context.Context, connID, key string) error
}

// DoctorStore keeps the last doctor report of each connection (JSON, as doctor.Report
// marshals it; the store does not interpret it).
type DoctorStore interface {
	SaveDoctorReport(ctx context.Context, connID string, report json.RawMessage) error
	// DoctorReport returns the last report; ErrNotFound when there is none.
	DoctorReport(ctx context.Context, connID string) (json.RawMessage, error)
}

// FieldFilter is one condition on a typed replica column: Field Op Value, Op one of eq,
// ne, gt, ge, lt, le. Value is a string, float64, int64, bool or nil (null).
type FieldFilter struct {
	Field string
	Op    string
	Value any
}

// RecordQuerier pages through a replicated set with conditions on its typed columns.
type RecordQuerier interface {
	// ReplicaQuery returns up to limit rows with id greater than after, in id order, that
	// match every filter. A field without a typed column yields ErrInvalid naming it.
	ReplicaQuery(ctx context.Context, key ReplicaKey, filters []FieldFilter, after string, limit int) ([]ReplicaRow, error)
	// ReplicaQueryOrdered is ReplicaQuery in the order of the field orderBy: rows whose
	// field is null first, then by the field's value (numbers as numbers, text in byte
	// order), ties by id; after is the id of the previous page's last row ("" for the
	// first page), whose position the store reads again, so a page never repeats or skips
	// a row that did not change. An after no longer in the replica, or an orderBy without
	// a typed column, yields ErrInvalid naming it. An empty orderBy is ReplicaQuery.
	ReplicaQueryOrdered(ctx context.Context, key ReplicaKey, filters []FieldFilter, orderBy, after string, limit int) ([]ReplicaRow, error)
}
