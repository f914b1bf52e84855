package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/bizzjoiner/bcconnector/store/internal/sqlstore"
)

// driver is the sqlstore.Driver of the store: the shared implementations' SQL on the
// pool, in read-committed transactions whose notifications PostgreSQL delivers at commit.
type driver struct{ db *DB }

var _ sqlstore.Driver = driver{}

func (driver) Name() string              { return "postgres" }
func (driver) ForUpdate() string         { return " FOR UPDATE" }
func (driver) IsUnique(err error) bool   { return isUnique(err) }
func (driver) SecretSeq() string         { return "seq" }
func (d driver) Read() sqlstore.Executor { return executor{d.db.pool} }

func (d driver) WithTx(ctx context.Context, fn func(sqlstore.Tx) error) error {
	return d.db.withTx(ctx, func(tx pgx.Tx) error { return fn(txn{executor{tx}, tx, d.db}) })
}

// txn is a transaction whose notifications are NOTIFYs in it.
type txn struct {
	executor
	tx pgx.Tx
	db *DB
}

func (tx txn) Notify(ctx context.Context, channel, payload string) error {
	return tx.db.notifyTx(ctx, tx.tx, channel, payload)
}

// executor is a sqlstore.Executor on pgx, which takes and scans the shared code's Go
// types as they are.
type executor struct {
	q interface {
		Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
		Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
		QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	}
}

func (e executor) Exec(ctx context.Context, sql string, args ...any) (int64, error) {
	tag, err := e.q.Exec(ctx, sql, args...)
	return tag.RowsAffected(), err
}

func (e executor) Query(ctx context.Context, sql string, args ...any) (sqlstore.Rows, error) {
	return e.q.Query(ctx, sql, args...)
}

func (e executor) QueryRow(ctx context.Context, sql string, args ...any) sqlstore.Row {
	return e.q.QueryRow(ctx, sql, args...)
}
