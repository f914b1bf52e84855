package postgres

import (
	"context"
	"embed"
	"fmt"
	"log/slog"
	"time"

	"github.com/bizzjoiner/bcconnector/store/internal/migration"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrations returns the embedded migrations ordered by version.
func migrations() ([]migration.Migration, error) { return migration.Load(migrationFiles, "migrations") }

// migrate applies the embedded migrations not yet recorded in schema_migrations, all in
// one transaction that first takes a transaction-level advisory lock on the schema's
// name: instances starting at once queue on the lock, the first migrates, the others find
// every version recorded. It refuses a database migrated by a newer bcconnector.
func migrate(ctx context.Context, pool *pgxpool.Pool, now func() time.Time, log *slog.Logger) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	latest := ms[len(ms)-1].Version
	var applied []migration.Migration
	err = withLock(ctx, pool, "migrate", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    integer PRIMARY KEY,
			name       text NOT NULL,
			applied_at timestamptz NOT NULL
		)`); err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		rows, err := tx.Query(ctx, `SELECT version FROM schema_migrations`)
		if err != nil {
			return fmt.Errorf("read schema_migrations: %w", err)
		}
		done, err := pgx.CollectRows(rows, pgx.RowTo[int])
		if err != nil {
			return fmt.Errorf("read schema_migrations: %w", err)
		}
		have := map[int]bool{}
		for _, v := range done {
			have[v] = true
			if v > latest {
				return fmt.Errorf("database schema is at version %d but this bcconnector knows only up to %d; upgrade bcconnector", v, latest)
			}
		}
		for _, m := range ms {
			if have[m.Version] {
				continue
			}
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return fmt.Errorf("migration %s: %w", m.Name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
				m.Version, m.Name, now().UTC()); err != nil {
				return fmt.Errorf("migration %s: %w", m.Name, err)
			}
			applied = append(applied, m)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, m := range applied {
		log.Info("database migration applied", "version", m.Version, "name", m.Name)
	}
	return nil
}

// Exclusive runs fn while holding the session-level advisory lock named name in the
// store's schema (on a connection of its own): callers with the same name, in any process,
// take turns. Use it to run other migrations (River's, which need a transaction per
// version) once when several instances start at once.
func (db *DB) Exclusive(ctx context.Context, name string, fn func(context.Context) error) error {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: lock %s: %w", name, err)
	}
	defer conn.Release()
	const key = `hashtext('bcconnector ' || $1 || ' ' || current_schema())`
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(`+key+`)`, name); err != nil {
		return fmt.Errorf("postgres: lock %s: %w", name, err)
	}
	defer func() {
		// A failed unlock (lost connection) releases the lock anyway when the session ends;
		// the connection must not go back to the pool holding it.
		if _, err := conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(`+key+`)`, name); err != nil {
			_ = conn.Conn().Close(context.Background())
		}
	}()
	return fn(ctx)
}

func withLock(ctx context.Context, pool *pgxpool.Pool, name string, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('bcconnector ' || $1 || ' ' || current_schema()))`, name); err != nil {
			return fmt.Errorf("lock %s: %w", name, err)
		}
		return fn(tx)
	})
}
