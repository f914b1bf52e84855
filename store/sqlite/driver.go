package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/bizzjoiner/bcconnector/store/internal/sqlstore"
)

// driver is the sqlstore.Driver of the store: the shared implementations' SQL on the
// writer connection in BEGIN IMMEDIATE transactions, and on the read pool outside them.
type driver struct{ db *DB }

var _ sqlstore.Driver = driver{}

func (driver) Name() string { return "sqlite" }

// ForUpdate is empty: a write transaction holds the database from BEGIN IMMEDIATE on.
func (driver) ForUpdate() string { return "" }

func (driver) IsUnique(err error) bool { return isUnique(err) }
func (driver) SecretSeq() string       { return "rowid" }

func (d driver) Read() sqlstore.Executor { return executor{d.db.read} }

// WithTx runs fn in a write transaction and delivers what it notified, in this process,
// once the transaction committed (see Publish).
func (d driver) WithTx(ctx context.Context, fn func(sqlstore.Tx) error) error {
	tx := &txn{executor: executor{}}
	err := d.db.withTx(ctx, func(stx *sql.Tx) error {
		tx.executor.q = stx
		return fn(tx)
	})
	if err != nil {
		return err
	}
	for _, n := range tx.notes {
		d.db.hub.Deliver(n[0], n[1])
	}
	return nil
}

// txn is a write transaction that keeps its notifications until it commits.
type txn struct {
	executor
	notes [][2]string // channel, payload
}

func (tx *txn) Notify(_ context.Context, channel, payload string) error {
	tx.notes = append(tx.notes, [2]string{channel, payload})
	return nil
}

// executor is a sqlstore.Executor on database/sql. It converts what the shared code
// passes and scans as pgx does to the store's encodings: a time.Time (and a *time.Time,
// nil for NULL) is fixed-width RFC 3339 text, a []string a JSON array.
type executor struct {
	q interface {
		ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
		QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
		QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	}
}

func (e executor) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := e.q.ExecContext(ctx, query, encodeArgs(args)...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (e executor) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	rows, err := e.q.QueryContext(ctx, query, encodeArgs(args)...)
	if err != nil {
		return nil, err
	}
	return sqlRows{rows}, nil
}

func (e executor) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Row {
	return sqlRow{e.q.QueryRowContext(ctx, query, encodeArgs(args)...)}
}

type sqlRow struct{ r *sql.Row }

func (r sqlRow) Scan(dest ...any) error { return r.r.Scan(decodeDest(dest)...) }

type sqlRows struct{ *sql.Rows }

func (r sqlRows) Scan(dest ...any) error { return r.Rows.Scan(decodeDest(dest)...) }
func (r sqlRows) Close()                 { _ = r.Rows.Close() }

// encodeArgs returns args with times and lists in the store's encodings.
func encodeArgs(args []any) []any {
	return replaced(args, func(a any) any {
		switch a := a.(type) {
		case time.Time:
			return fmtTime(a)
		case *time.Time:
			if a == nil {
				return sql.NullString{}
			}
			return fmtTime(*a)
		case []string:
			b, _ := json.Marshal(a) // strings: cannot fail
			return string(b)
		}
		return nil
	})
}

// decodeDest returns dest with the destinations of times and lists replaced by scanners
// of the store's encodings.
func decodeDest(dest []any) []any {
	return replaced(dest, func(d any) any {
		switch d := d.(type) {
		case *time.Time:
			return timeScanner{d}
		case **time.Time:
			return nullTimeScanner{d}
		case *[]string:
			return listScanner{d}
		}
		return nil
	})
}

// replaced returns vs with each value that conv maps to non-nil replaced, in a copy;
// vs itself when there is none.
func replaced(vs []any, conv func(any) any) []any {
	var out []any
	for i, v := range vs {
		if r := conv(v); r != nil {
			if out == nil {
				out = append([]any(nil), vs...)
			}
			out[i] = r
		}
	}
	if out == nil {
		return vs
	}
	return out
}

// timeScanner scans stored text into a time.Time, NULL as the zero time.
type timeScanner struct{ t *time.Time }

func (s timeScanner) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		*s.t = time.Time{}
		return nil
	case time.Time:
		*s.t = v.UTC()
		return nil
	case string:
		return s.parse(v)
	case []byte:
		return s.parse(string(v))
	}
	return fmt.Errorf("sqlite: stored time of type %T", v)
}

func (s timeScanner) parse(v string) error {
	var err error
	*s.t, err = parseTime(sql.NullString{String: v, Valid: true})
	return err
}

// nullTimeScanner scans stored text into a *time.Time, NULL as nil.
type nullTimeScanner struct{ t **time.Time }

func (s nullTimeScanner) Scan(v any) error {
	if v == nil || v == "" {
		*s.t = nil
		return nil
	}
	var t time.Time
	if err := (timeScanner{&t}).Scan(v); err != nil {
		return err
	}
	*s.t = &t
	return nil
}

// listScanner scans a JSON array into a []string.
type listScanner struct{ l *[]string }

func (s listScanner) Scan(v any) error {
	var b []byte
	switch v := v.(type) {
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		return fmt.Errorf("sqlite: stored list of type %T", v)
	}
	return json.Unmarshal(b, s.l)
}
