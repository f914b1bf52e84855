// Package sqlite implements store.Store on an embedded SQLite database file
// (modernc.org/sqlite, pure Go, no cgo).
//
// The database runs in WAL mode with synchronous=NORMAL (a commit survives a crash of the
// process; a power loss may undo the last commits, whole), foreign keys on, a busy
// timeout and, for a new file, 16 KiB pages. Writes go through a single connection whose transactions start with BEGIN
// IMMEDIATE, so writers queue instead of failing with SQLITE_BUSY; reads use a separate
// pool of query-only connections that WAL lets run alongside the writer. Other processes
// (for example `bcconnector key rotate` next to a running server) wait up to the busy
// timeout.
//
// The schema is created and upgraded by embedded SQL migrations (migrations/NNNN_name.sql)
// recorded in the schema_migrations table. Client secrets are stored only sealed (see
// package secret), with the connection ID and secret ID as additional data.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/store/internal/sqlstore"
	"modernc.org/sqlite" // the "sqlite" database/sql driver and its errors
	sqlite3 "modernc.org/sqlite/lib"
)

// pageSize is the page size of a new database file: 16 KiB, not SQLite's 4 KiB. A
// replica row is about 600 bytes and a sync writes every page twice (to the WAL, then to
// the file at a checkpoint), one system call per page each time: 16 KiB pages made a
// first full sync's write path about 20% cheaper in CPU with 4 times fewer system calls
// (BenchmarkFirstSync, docs/BENCHMARKS.md), while a look-up by id still reads one page
// per B-tree level (three levels for a million rows instead of four).
const pageSize = 16384

// EnvDB is the environment variable that overrides [DefaultPath].
const EnvDB = "BCC_DB"

// Options tunes [Open]. The zero value is the production default.
type Options struct {
	// Now is the clock for CreatedAt, UpdatedAt and the secret timestamps; nil means time.Now.
	Now func() time.Time
	// Logger records migrations and key rotation (never secrets); nil discards.
	Logger *slog.Logger
	// BusyTimeout is how long a statement waits for a lock held by another connection or
	// process before failing with SQLITE_BUSY; default 5 s.
	BusyTimeout time.Duration
	// ReadConns is the size of the read pool; default 4.
	ReadConns int
}

// DB is a store.Store on one SQLite file. It is safe for concurrent use.
type DB struct {
	path  string
	write *sql.DB // one connection; BEGIN IMMEDIATE
	read  *sql.DB // query-only pool
	now   func() time.Time
	log   *slog.Logger

	tables  sync.Map // entity set -> table of rows, for tables known to exist
	indexes sync.Map // the order indexes made (orderIndex), by name
	scopes  sync.Map // store.ReplicaKey -> committed scope number

	stmtMu sync.Mutex
	stmts  map[string]*sql.Stmt // prepared on the writer, by query

	hook func(stage string) // tests: called inside ApplyBatch's transaction

	hub sqlstore.Hub // subscribers of Publish (in-process)

	sq              *sqlstore.Store // what the two SQL stores share, on driver{db}
	sqlstore.Stores                 // the store interfaces implemented in sqlstore

	marksPruned atomic.Int64 // when replica_marks was last pruned, Unix milliseconds
}

var _ store.Store = (*DB)(nil)

// DefaultPath returns where the database lives when no path is given:
//
//   - $BCC_DB if set;
//   - else $XDG_DATA_HOME/bcconnector/bcconnector.db if XDG_DATA_HOME is set;
//   - else on Linux and the BSDs ~/.local/share/bcconnector/bcconnector.db;
//   - else os.UserConfigDir()/bcconnector/bcconnector.db (macOS ~/Library/Application
//     Support, Windows %AppData%).
//
// The master key's default file lives in os.UserConfigDir() (see secret.DefaultKeyFile),
// so on Linux a backup of the data directory does not carry the key that opens it.
func DefaultPath() (string, error) {
	return defaultPath(os.Getenv, runtime.GOOS, os.UserHomeDir, os.UserConfigDir)
}

func defaultPath(getenv func(string) string, goos string, home, config func() (string, error)) (string, error) {
	if p := getenv(EnvDB); p != "" {
		return p, nil
	}
	if d := getenv("XDG_DATA_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "bcconnector", "bcconnector.db"), nil
	}
	switch goos {
	case "windows", "darwin", "ios", "plan9", "js", "wasip1":
		d, err := config()
		if err != nil {
			return "", fmt.Errorf("sqlite: no default database location (%v); pass a path or set %s", err, EnvDB)
		}
		return filepath.Join(d, "bcconnector", "bcconnector.db"), nil
	}
	h, err := home()
	if err != nil || h == "" {
		return "", fmt.Errorf("sqlite: no default database location (no home directory: %v); pass a path or set %s", err, EnvDB)
	}
	return filepath.Join(h, ".local", "share", "bcconnector", "bcconnector.db"), nil
}

// Open opens (creating if needed) the database file at path, applies pending migrations
// and returns a store that seals client secrets with kr. The file's directory is created
// with mode 0700 and a new file with mode 0600.
func Open(ctx context.Context, path string, kr *secret.Keyring, opt Options) (*DB, error) {
	switch {
	case path == "":
		return nil, fmt.Errorf("sqlite: database path is empty; pass a path or set %s", EnvDB)
	case path == ":memory:" || strings.HasPrefix(path, "file:") || strings.ContainsRune(path, '?'):
		return nil, fmt.Errorf("sqlite: database path %q must be a plain file path (no ':memory:', 'file:' URI or '?')", path)
	case kr == nil:
		return nil, errors.New("sqlite: Open needs a keyring to seal client secrets; load one with secret.LoadKeyring")
	}
	db := &DB{path: path, now: opt.Now, log: opt.Logger}
	if db.now == nil {
		db.now = time.Now
	}
	if db.log == nil {
		db.log = slog.New(slog.DiscardHandler)
	}
	db.sq = sqlstore.New(driver{db}, kr, db.now, db.log)
	db.Stores = db.sq.Stores()
	busy := opt.BusyTimeout
	if busy <= 0 {
		busy = 5 * time.Second
	}
	readConns := opt.ReadConns
	if readConns <= 0 {
		readConns = 4
	}

	if err := prepareFile(path, db.log); err != nil {
		return nil, err
	}
	common := "_busy_timeout=" + strconv.FormatInt(busy.Milliseconds(), 10) + "&_foreign_keys=1&_synchronous=NORMAL"
	var err error
	if db.write, err = sql.Open("sqlite", path+"?"+common+"&_txlock=immediate"); err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	db.write.SetMaxOpenConns(1)
	db.write.SetMaxIdleConns(1)
	db.write.SetConnMaxLifetime(0)
	db.write.SetConnMaxIdleTime(0)

	// A new database gets pageSize pages; an existing one keeps its own (SQLite changes
	// the page size of a WAL database only by VACUUM in another journal mode).
	if _, err := db.write.ExecContext(ctx, "PRAGMA page_size = "+strconv.Itoa(pageSize)); err != nil {
		db.write.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	mode, err := setWAL(ctx, db.write, busy)
	if err != nil {
		db.write.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if !strings.EqualFold(mode, "wal") {
		db.write.Close()
		return nil, fmt.Errorf("sqlite: %s: journal mode is %q, not WAL; put the database on a local file system", path, mode)
	}
	if err := migrate(ctx, db.write, db.now, db.log); err != nil {
		db.write.Close()
		return nil, fmt.Errorf("sqlite: %s: %w", path, err)
	}

	if db.read, err = sql.Open("sqlite", path+"?"+common+"&_query_only=1"); err != nil {
		db.write.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	db.read.SetMaxOpenConns(readConns)
	db.read.SetMaxIdleConns(readConns)
	if err := db.read.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return db, nil
}

// setWAL switches the database to WAL mode (persistent in the file, so later connections
// inherit it) and returns the journal mode in effect. The switch writes the file header
// from inside a read transaction, and SQLite fails such an upgrade with SQLITE_BUSY at
// once instead of calling the busy handler (two connections switching a new file at the
// same time could otherwise deadlock): like the busy handler, setWAL tries again, with a
// short growing pause, until busy has passed.
func setWAL(ctx context.Context, db *sql.DB, busy time.Duration) (string, error) {
	deadline := time.Now().Add(busy)
	pause := 5 * time.Millisecond
	for {
		var mode string
		err := db.QueryRowContext(ctx, "PRAGMA journal_mode=WAL").Scan(&mode)
		if err == nil || !isBusy(err) || time.Now().Add(pause).After(deadline) {
			return mode, err
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return "", ctx.Err()
		case <-t.C:
		}
		pause = min(2*pause, 100*time.Millisecond)
	}
}

// isBusy reports whether err is SQLITE_BUSY (any extended code).
func isBusy(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_BUSY
}

// prepareFile creates the directory (0700) and an empty database file (0600) so SQLite
// does not create them with the process umask; SQLite gives the -wal and -shm files the
// database file's mode.
func prepareFile(path string, log *slog.Logger) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("sqlite: create database directory %s: %w", dir, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && runtime.GOOS != "windows" && st.Mode().Perm()&0o077 != 0 {
		log.Warn("database file is readable by group or others; run chmod 600 on it", "path", path, "mode", st.Mode().Perm().String())
	}
	return nil
}

// Path returns the database file's path.
func (db *DB) Path() string { return db.path }

// Close closes both connection pools.
func (db *DB) Close() error {
	var errs []error
	db.stmtMu.Lock()
	for _, s := range db.stmts {
		errs = append(errs, s.Close())
	}
	db.stmts = nil
	db.stmtMu.Unlock()
	if db.read != nil {
		errs = append(errs, db.read.Close())
	}
	if db.write != nil {
		errs = append(errs, db.write.Close())
	}
	return errors.Join(errs...)
}

// Checkpoint copies the WAL into the database file and truncates the WAL
// (PRAGMA wal_checkpoint(TRUNCATE)); useful before a file-level backup. Readers that
// are still running can make it a partial checkpoint, which is not an error.
func (db *DB) Checkpoint(ctx context.Context) error {
	var busy, logFrames, done int
	if err := db.write.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logFrames, &done); err != nil {
		return fmt.Errorf("sqlite: checkpoint %s: %w", db.path, err)
	}
	return nil
}

// SetKeyring makes the store use kr from now on, for example after another process
// rotated the master key (opening a secret then fails with secret.ErrUnknownKey until the
// new keyring is loaded). It does not re-seal anything; see ReSealAll.
func (db *DB) SetKeyring(kr *secret.Keyring) { db.sq.SetKeyring(kr) }

// withTx runs fn in a write transaction (BEGIN IMMEDIATE) and commits if it returns nil.
func (db *DB) withTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	// A panic in fn must not leave the single writer connection in a transaction.
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
	}()
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	return nil
}

// Times are stored as fixed-width RFC 3339 UTC with microseconds, so they sort as text.
const timeLayout = "2006-01-02T15:04:05.000000Z"

func (db *DB) stamp() time.Time { return db.now().UTC().Truncate(time.Microsecond) }

func fmtTime(t time.Time) string { return t.UTC().Truncate(time.Microsecond).Format(timeLayout) }

func nullTime(t time.Time) sql.NullString {
	if t.IsZero() {
		return sql.NullString{}
	}
	return sql.NullString{String: fmtTime(t), Valid: true}
}

func parseTime(s sql.NullString) (time.Time, error) {
	if !s.Valid || s.String == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(timeLayout, s.String)
	if err != nil {
		return time.Time{}, fmt.Errorf("sqlite: stored time %q: %w", s.String, err)
	}
	return t, nil
}
