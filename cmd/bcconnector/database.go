package main

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/store/postgres"
	"github.com/bizzjoiner/bcconnector/store/sqlite"
	"github.com/bizzjoiner/bcconnector/web"
)

// This file is the only place that knows which store and which River driver go together:
// PostgreSQL (store/postgres, riverpgxv5) when a database URL is given, otherwise the
// SQLite file (store/sqlite, riversqlite).

// pgPoolSize is the default size of the PostgreSQL connection pool: River's listener and
// producers, the sync workers' batches and the web requests share it (pool_max_conns in
// the URL overrides it).
const pgPoolSize = 10

// openStore opens the store: PostgreSQL at dbURL when it is set, else the SQLite file at
// dbPath (its default location when empty). Either applies its pending migrations.
func openStore(ctx context.Context, dbURL, dbPath string, kr *secret.Keyring, log *slog.Logger) (store.Store, error) {
	if dbURL != "" {
		return postgres.Open(ctx, dbURL, kr, postgres.Options{Logger: log, MaxConns: pgPoolSize})
	}
	if dbPath == "" {
		var err error
		if dbPath, err = sqlite.DefaultPath(); err != nil {
			return nil, err
		}
	}
	return sqlite.Open(ctx, dbPath, kr, sqlite.Options{Logger: log})
}

// jobQueue is what the server uses of a River client, whatever its driver.
type jobQueue interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	InsertMany(ctx context.Context, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error)
	Subscribe(kinds ...river.EventKind) (<-chan *river.Event, func())
}

// queueCounts reads the depth of the named queues in one query, whatever the driver.
func queueCounts(ctx context.Context, rc jobQueue, queues []string) ([]web.QueueCount, error) {
	var exec riverdriver.Executor
	switch c := rc.(type) {
	case *river.Client[pgx.Tx]:
		exec = c.Driver().GetExecutor()
	case *river.Client[*sql.Tx]:
		exec = c.Driver().GetExecutor()
	default:
		return nil, fmt.Errorf("no queue counts for a job queue of type %T", rc)
	}
	res, err := exec.JobCountByQueueAndState(ctx, &riverdriver.JobCountByQueueAndStateParams{QueueNames: queues})
	if err != nil {
		return nil, err
	}
	out := make([]web.QueueCount, 0, len(queues))
	seen := map[string]bool{}
	for _, r := range res {
		seen[r.Queue] = true
		out = append(out, web.QueueCount{Queue: r.Queue, Available: r.CountAvailable, Running: r.CountRunning})
	}
	for _, q := range queues { // an empty queue has no row: report its zeros
		if !seen[q] {
			out = append(out, web.QueueCount{Queue: q})
		}
	}
	return out, nil
}

// countJobs counts the outcome of every job this process works (River's events) in the
// metrics, until Close.
func countJobs(rc jobQueue, m *web.Metrics, onClose func(func() error)) {
	events, cancel := rc.Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed, river.EventKindJobCancelled, river.EventKindJobSnoozed)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range events {
			if ev.Job == nil {
				continue
			}
			outcome := "completed"
			switch ev.Kind {
			case river.EventKindJobSnoozed:
				outcome = "snoozed"
			case river.EventKindJobCancelled:
				outcome = "cancelled"
			case river.EventKindJobFailed:
				outcome = "retryable"
				if ev.Job.State == rivertype.JobStateDiscarded {
					outcome = "discarded"
				}
			}
			m.JobDone(ev.Job.Kind, outcome)
		}
	}()
	onClose(func() error { cancel(); <-done; return nil })
}

// newJobQueue migrates River's tables in the store's database and returns a River client
// on it with cfg. Resources it opens are registered with onClose.
func newJobQueue(ctx context.Context, st store.Store, cfg *river.Config, onClose func(func() error)) (jobQueue, error) {
	switch db := st.(type) {
	case *postgres.DB:
		driver := riverpgxv5.New(db.Pool())
		if err := migrateRiverPostgres(ctx, db, driver); err != nil {
			return nil, err
		}
		return river.NewClient(driver, cfg)
	case *sqlite.DB:
		pool, err := riverSQLitePool(db)
		if err != nil {
			return nil, err
		}
		onClose(pool.Close)
		driver := riversqlite.New(pool)
		if err := migrateRiverSQLite(ctx, driver); err != nil {
			return nil, err
		}
		return river.NewClient(driver, cfg)
	}
	return nil, fmt.Errorf("no job queue for a store of type %T", st)
}

// migrateQueue applies River's migrations to the store's database (bcconnector migrate).
func migrateQueue(ctx context.Context, st store.Store) error {
	switch db := st.(type) {
	case *postgres.DB:
		return migrateRiverPostgres(ctx, db, riverpgxv5.New(db.Pool()))
	case *sqlite.DB:
		pool, err := riverSQLitePool(db)
		if err != nil {
			return err
		}
		defer pool.Close()
		return migrateRiverSQLite(ctx, riversqlite.New(pool))
	}
	return fmt.Errorf("no job queue for a store of type %T", st)
}

// riverMaxSchema is the longest schema name River works in: it names its notification
// channels "<schema>.river_leadership" (the longest of them), PostgreSQL refuses channel
// names over 63 bytes, and River's inserts then stall instead of failing.
const riverMaxSchema = 63 - len(".river_leadership")

// migrateRiverPostgres runs River's migrations under the store's advisory lock, so
// instances starting at once run them once. It refuses a schema whose name is too long
// for River's notification channels (riverMaxSchema).
func migrateRiverPostgres(ctx context.Context, db *postgres.DB, driver *riverpgxv5.Driver) error {
	var schema string
	if err := db.Pool().QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return fmt.Errorf("job queue: read the current schema: %w", err)
	}
	if len(schema) > riverMaxSchema {
		return fmt.Errorf("the PostgreSQL schema %q is %d bytes long; the job queue (River) names its notification channels after it and PostgreSQL allows 63 bytes per channel, so the schema may have at most %d: pick a shorter one in --database-url (search_path)", schema, len(schema), riverMaxSchema)
	}
	mig, err := rivermigrate.New(driver, nil)
	if err != nil {
		return err
	}
	err = db.Exclusive(ctx, "river migrate", func(ctx context.Context) error {
		_, err := mig.Migrate(ctx, rivermigrate.DirectionUp, nil)
		return err
	})
	if err != nil {
		return fmt.Errorf("job queue migrations: %w", err)
	}
	return nil
}

// riverSQLitePool opens River's own connection to the SQLite file (one connection: SQLite
// has one writer).
func riverSQLitePool(db *sqlite.DB) (*sql.DB, error) {
	pool, err := sql.Open("sqlite", "file:"+db.Path()+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
	if err != nil {
		return nil, err
	}
	pool.SetMaxOpenConns(1)
	return pool, nil
}

func migrateRiverSQLite(ctx context.Context, driver *riversqlite.Driver) error {
	mig, err := rivermigrate.New(driver, nil)
	if err != nil {
		return err
	}
	if _, err := mig.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("job queue migrations: %w", err)
	}
	return nil
}

// MigrateCmd applies the database migrations, for operators who migrate before rolling
// out a new version to several instances.
type MigrateCmd struct{}

// Run opens the store (which applies bcconnector's migrations) and applies River's.
func (MigrateCmd) Run(ctx context.Context, g *Globals) error {
	a, err := g.open(ctx)
	if err != nil {
		return err
	}
	if err := migrateQueue(ctx, a.db); err != nil {
		return err
	}
	where := "the SQLite database"
	if g.DatabaseURL != "" {
		where = "the PostgreSQL database"
	}
	_, err = fmt.Fprintf(g.Stdout, "Migrated %s: bcconnector's tables and the job queue's are up to date.\n", where)
	return err
}
