package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
)

// The shared implementations (AuditLog, ...) run one SQL text on both stores through the
// small layer below, after the shape of River's riverdriver: a Driver that each store
// implements in a few lines over its own database package, and SQL written once.
//
// What the two databases agree on is simply written once: $1, $2, ... placeholders (SQLite
// binds $N to the Nth argument, as modernc.org/sqlite does for database/sql), INSERT ... ON
// CONFLICT ... DO UPDATE with excluded, and UPDATE/DELETE ... RETURNING. What they do not
// agree on is the Driver's:
//
//   - the types of values: the shared code passes and scans the Go types pgx does
//     (time.Time, *time.Time for a nullable time, []string for a list); the SQLite
//     executor stores them as it always has (fixed-width RFC 3339 text, a JSON array);
//   - row locks (Dialect.ForUpdate): PostgreSQL's FOR UPDATE, nothing on SQLite, whose
//     write transactions hold the database from their start (BEGIN IMMEDIATE);
//   - notifications (Tx.Notify): NOTIFY inside the transaction on PostgreSQL, after the
//     commit in the process on SQLite; never when the transaction rolls back;
//   - error classification (Dialect.IsUnique) and the store's name in error messages.

// Dialect is what differs between the SQL of the two stores.
type Dialect interface {
	// Name is the store's name ("sqlite", "postgres"), the prefix of its error messages.
	Name() string
	// ForUpdate is the clause a SELECT ends with to lock the rows it reads until the
	// transaction ends, with its leading space; empty where transactions lock the whole
	// database.
	ForUpdate() string
	// IsUnique reports whether err is a unique constraint violation.
	IsUnique(err error) bool
	// SecretSeq is the column of client_secrets that numbers its rows in the order they
	// were added: SQLite's rowid, an identity column on PostgreSQL.
	SecretSeq() string
}

// Executor runs SQL: a store's reads outside a transaction, or a transaction. Arguments
// and scan destinations are the Go types pgx takes (see the package's comment above).
type Executor interface {
	// Exec runs a statement and returns how many rows it changed.
	Exec(ctx context.Context, sql string, args ...any) (rowsAffected int64, err error)
	// Query runs a query; the caller closes the rows.
	Query(ctx context.Context, sql string, args ...any) (Rows, error)
	// QueryRow runs a query for one row; its Scan returns an error that matches
	// sql.ErrNoRows when there is none (pgx.ErrNoRows does).
	QueryRow(ctx context.Context, sql string, args ...any) Row
}

// Row is one row of QueryRow.
type Row interface {
	Scan(dest ...any) error
}

// Rows are the rows of Query, as pgx.Rows has them.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// Tx is a write transaction of a Driver.
type Tx interface {
	Executor
	// Notify publishes payload on channel (store.Notifier) when the transaction
	// commits, and never when it rolls back.
	Notify(ctx context.Context, channel, payload string) error
}

// Driver is what a SQL store gives the shared implementations.
type Driver interface {
	Dialect
	// Read is the executor of reads outside a transaction.
	Read() Executor
	// WithTx runs fn in a write transaction and commits it when fn returns nil.
	WithTx(ctx context.Context, fn func(Tx) error) error
}

// Store is the core the shared implementations are made of: the store's driver, clock,
// logger and keyring. Its methods are what the stores call from transactions of their
// own (an audit entry written with the change it records).
type Store struct {
	drv Driver
	now func() time.Time
	log *slog.Logger

	krMu sync.RWMutex // held for reading while sealing, for writing while re-sealing
	kr   *secret.Keyring
}

// New returns the shared core of a store that runs on drv, seals with kr, takes the time
// from now and logs key rotation to log.
func New(drv Driver, kr *secret.Keyring, now func() time.Time, log *slog.Logger) *Store {
	return &Store{drv: drv, kr: kr, now: now, log: log}
}

// Keyring returns the keyring secrets are opened with.
func (s *Store) Keyring() *secret.Keyring {
	s.krMu.RLock()
	defer s.krMu.RUnlock()
	return s.kr
}

// Sealing returns the keyring to seal with and holds it until done is called, after the
// sealed value is committed, so that ReSealAll cannot swap keyrings in between.
func (s *Store) Sealing() (kr *secret.Keyring, done func()) {
	s.krMu.RLock()
	return s.kr, s.krMu.RUnlock
}

// SetKeyring makes the store use kr from now on (nil is ignored). It re-seals nothing;
// see ReSealAll.
func (s *Store) SetKeyring(kr *secret.Keyring) {
	if kr == nil {
		return
	}
	s.krMu.Lock()
	s.kr = kr
	s.krMu.Unlock()
}

// stamp is the time a change is stored with, in microseconds as both databases keep it.
func (s *Store) stamp() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// errorf formats an error with the store's name in front ("sqlite: ...").
func (s *Store) errorf(format string, args ...any) error {
	return fmt.Errorf(s.drv.Name()+": "+format, args...)
}

// isNotFound reports whether err is (or wraps) store.ErrNotFound.
func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

// isNoRows reports whether err says that QueryRow found no row.
func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// collect reads all rows with scan and closes them.
func collect[T any](rows Rows, scan func(Row) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// UTC returns a scanned nullable time in UTC, the zero time for NULL.
func UTC(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// NullTime returns t, in UTC to the microsecond, as a nullable argument: nil for the
// zero time.
func NullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC().Truncate(time.Microsecond)
	return &u
}

// Stores are the implementations of store interfaces the two SQL stores share; each
// store's DB embeds them, so their methods are its own.
type Stores struct {
	AuditLog  // store.AuditStore
	Express   // store.ExpressStore
	Outbound  // store.OutboundStore
	Retention // the change log's retention of store.ReplicaStore
	Secrets   // store.SecretStore
}

// Stores returns the shared implementations on s.
func (s *Store) Stores() Stores {
	return Stores{AuditLog{s}, Express{s}, Outbound{s}, Retention{s}, Secrets{s}}
}
