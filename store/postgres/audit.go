package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/bizzjoiner/bcconnector/store"
)

var _ store.AuditStore = (*DB)(nil)

// audit writes an audit entry in tx, the transaction of the change, naming the actor of
// ctx (store.WithActor).
func (db *DB) audit(ctx context.Context, tx pgx.Tx, action store.AuditAction, connID, target, detail string) error {
	return db.auditAs(ctx, tx, store.ActorFrom(ctx), action, connID, target, detail)
}

// auditAs is audit with an explicit actor (a sign-in names the admin signing in).
func (db *DB) auditAs(ctx context.Context, tx pgx.Tx, a store.Actor, action store.AuditAction, connID, target, detail string) error {
	if _, err := tx.Exec(ctx, `INSERT INTO audit_log (at, actor_kind, actor_name, action, connection_id, target, detail)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, db.stamp(), string(a.Kind), a.Name, string(action), connID, target, store.AuditDetail(ctx, detail)); err != nil {
		return fmt.Errorf("postgres: write the audit log: %w", err)
	}
	return nil
}

// Audit implements store.AuditStore. IDs are taken at insert, so an entry of a
// transaction that commits late may appear below a page already read; the log is for
// people, not a feed.
func (db *DB) Audit(ctx context.Context, f store.AuditFilter) ([]store.AuditEntry, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	var where []string
	var args []any
	add := func(col string, v any) {
		args = append(args, v)
		where = append(where, col+strconv.Itoa(len(args)))
	}
	if f.ConnectionID != "" {
		add("connection_id = $", f.ConnectionID)
	}
	if f.Action != "" {
		add("action = $", string(f.Action))
	}
	if f.ActorKind != "" {
		add("actor_kind = $", string(f.ActorKind))
	}
	if f.ActorName != "" {
		add("actor_name = $", f.ActorName)
	}
	if f.Before > 0 {
		add("id < $", f.Before)
	}
	q := `SELECT id, at, actor_kind, actor_name, action, connection_id, target, detail FROM audit_log`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	args = append(args, f.Limit)
	rows, err := db.pool.Query(ctx, q+` ORDER BY id DESC LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: read the audit log: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.AuditEntry, error) {
		var e store.AuditEntry
		var kind, action string
		err := r.Scan(&e.ID, &e.At, &kind, &e.Actor.Name, &action, &e.ConnectionID, &e.Target, &e.Detail)
		e.At = e.At.UTC()
		e.Actor.Kind, e.Action = store.ActorKind(kind), store.AuditAction(action)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: read the audit log: %w", err)
	}
	return out, nil
}
