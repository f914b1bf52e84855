// Package postgres implements store.Store on PostgreSQL with pgx v5, for deployments that
// run several bcconnector instances on one database (store/sqlite stays the embedded
// default).
//
// The schema is created and upgraded by embedded SQL migrations (migrations/NNNN_name.sql)
// recorded in schema_migrations; Open applies them inside one transaction that holds a
// transaction-level advisory lock, so instances starting at once migrate once and the
// others wait, then find nothing to do. Options.Schema puts everything in a schema of its
// own (created if missing); otherwise the connection's search_path decides.
//
// The replica keeps each entity's JSON as text, byte for byte as BC sent it (jsonb would
// reorder keys and drop duplicates), in one table per entity set, with a view of typed
// columns computed from it (see ReplicaView). The change log is gap-free and in commit
// order across any number of writers in any number of processes: see ApplyBatch.
//
// Client secrets are stored only sealed (see package secret), with the connection ID and
// secret ID as additional data.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/store/internal/sqlstore"
)

// EnvURL is the environment variable that holds the database URL, as --database-url does.
const EnvURL = "BCC_DATABASE_URL"

// Options tunes [Open]. The zero value is the production default.
type Options struct {
	// Now is the clock for CreatedAt, UpdatedAt and the secret timestamps; nil means time.Now.
	Now func() time.Time
	// Logger records migrations and key rotation (never secrets); nil discards.
	Logger *slog.Logger
	// Schema is the schema that holds bcconnector's tables, created if missing; empty
	// means the connection's search_path (normally "public"). It must be an identifier
	// (letters, digits, underscores).
	Schema string
	// MaxConns is the size of the connection pool; 0 means pgxpool's default (4, or the
	// number of CPUs if more). A pool_max_conns in the URL wins over it.
	MaxConns int32
}

// DB is a store.Store on a PostgreSQL database. It is safe for concurrent use, also by
// several processes on the same database.
type DB struct {
	pool   *pgxpool.Pool
	schema string
	now    func() time.Time
	log    *slog.Logger

	tables sync.Map // entity set -> table of rows, for tables known to exist
	scopes sync.Map // store.ReplicaKey -> scope number

	listen listener // the Notifier's LISTEN side

	sq              *sqlstore.Store // what the two SQL stores share, on driver{db}
	sqlstore.Stores                 // the store interfaces implemented in sqlstore

	marksPruned atomic.Int64 // when this process last pruned replica_marks, Unix milliseconds
}

var _ store.Store = (*DB)(nil)

// Open connects to the database at url (postgres://user@host:port/db?sslmode=…, or any
// form pgx accepts), applies pending migrations and returns a store that seals client
// secrets with kr.
func Open(ctx context.Context, url string, kr *secret.Keyring, opt Options) (*DB, error) {
	switch {
	case url == "":
		return nil, fmt.Errorf("postgres: database URL is empty; pass --database-url postgres://user@host:5432/db or set %s", EnvURL)
	case kr == nil:
		return nil, errors.New("postgres: Open needs a keyring to seal client secrets; load one with secret.LoadKeyring")
	case opt.Schema != "" && !store.IsIdentifier(opt.Schema, 63):
		return nil, fmt.Errorf("postgres: schema %q must be 1-63 letters, digits and underscores", opt.Schema)
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's error can quote the URL with its password; say only what is wrong.
		return nil, fmt.Errorf("postgres: the database URL is not valid (%s); give postgres://user@host:5432/db?sslmode=…", redact(err))
	}
	if opt.Schema != "" {
		cfg.ConnConfig.RuntimeParams["search_path"] = opt.Schema
	}
	if opt.MaxConns > 0 && !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = opt.MaxConns
	}
	db := &DB{schema: opt.Schema, now: opt.Now, log: opt.Logger}
	if db.now == nil {
		db.now = time.Now
	}
	if db.log == nil {
		db.log = slog.New(slog.DiscardHandler)
	}
	db.sq = sqlstore.New(driver{db}, kr, db.now, db.log)
	db.Stores = db.sq.Stores()
	if db.pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		return nil, fmt.Errorf("postgres: connect: %s", redact(err))
	}
	if err := db.pool.Ping(ctx); err != nil {
		db.pool.Close()
		return nil, fmt.Errorf("postgres: connect to %s: %w", cfg.ConnConfig.Host, err)
	}
	if opt.Schema != "" {
		if _, err := db.pool.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+quoteIdent(opt.Schema)); err != nil {
			db.pool.Close()
			return nil, fmt.Errorf("postgres: create schema %s: %w", opt.Schema, err)
		}
	}
	if err := migrate(ctx, db.pool, db.now, db.log); err != nil {
		db.pool.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	var current string
	if err := db.pool.QueryRow(ctx, `SELECT current_schema()`).Scan(&current); err != nil {
		db.pool.Close()
		return nil, fmt.Errorf("postgres: read the current schema: %w", err)
	}
	db.listen.channel, db.listen.cfg = pgChannel(current), cfg.ConnConfig.Copy()
	return db, nil
}

// redact returns err's message without the connection string pgx may quote.
func redact(err error) string {
	var inner error
	var pe *pgconn.ParseConfigError
	var ce *pgconn.ConnectError
	switch {
	case errors.As(err, &pe):
		inner = pe.Unwrap()
	case errors.As(err, &ce):
		inner = ce.Unwrap()
	}
	// An inner error that quotes the URL (url.Parse's do) could carry the password.
	if inner == nil || strings.Contains(inner.Error(), "://") || strings.Contains(inner.Error(), "password") {
		return "see the URL's syntax"
	}
	return inner.Error()
}

// Pool returns the connection pool, e.g. for River's riverpgxv5 driver.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// Schema returns the schema given in Options ("" for the search_path's).
func (db *DB) Schema() string { return db.schema }

// Close closes the connection pool.
func (db *DB) Close() error {
	db.listen.close()
	db.pool.Close()
	return nil
}

// SetKeyring makes the store use kr from now on, for example after another process
// rotated the master key. It does not re-seal anything; see ReSealAll.
func (db *DB) SetKeyring(kr *secret.Keyring) { db.sq.SetKeyring(kr) }

// withTx runs fn in a transaction (read committed) and commits if it returns nil.
func (db *DB) withTx(ctx context.Context, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, db.pool, fn)
}

func (db *DB) stamp() time.Time { return db.now().UTC().Truncate(time.Microsecond) }

// nullTime maps the zero time to NULL.
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC().Truncate(time.Microsecond)
	return &u
}

// utc returns a scanned nullable time in UTC, zero for NULL.
func utc(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// quoteIdent quotes an SQL identifier.
func quoteIdent(s string) string { return pgx.Identifier{s}.Sanitize() }

// Error codes of PostgreSQL (Appendix A).
const (
	codeUniqueViolation     = "23505"
	codeForeignKeyViolation = "23503"
)

func isCode(err error, code string) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == code
}

func isUnique(err error) bool { return isCode(err, codeUniqueViolation) }

// constraintOf returns the name of the constraint a PostgreSQL error names, if any.
func constraintOf(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.ConstraintName
	}
	return ""
}
