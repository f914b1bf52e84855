package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/bizzjoiner/bcconnector/store"
)

var _ store.AuditStore = (*DB)(nil)

// audit writes an audit entry in tx, the transaction of the change, naming the actor of
// ctx (store.WithActor).
func (db *DB) audit(ctx context.Context, tx *sql.Tx, action store.AuditAction, connID, target, detail string) error {
	return db.auditAs(ctx, tx, store.ActorFrom(ctx), action, connID, target, detail)
}

// auditAs is audit with an explicit actor (a sign-in names the admin signing in).
func (db *DB) auditAs(ctx context.Context, tx *sql.Tx, a store.Actor, action store.AuditAction, connID, target, detail string) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit_log (at, actor_kind, actor_name, action, connection_id, target, detail)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, fmtTime(db.stamp()), string(a.Kind), a.Name, string(action), connID, target, store.AuditDetail(ctx, detail)); err != nil {
		return fmt.Errorf("sqlite: write the audit log: %w", err)
	}
	return nil
}

// Audit implements store.AuditStore.
func (db *DB) Audit(ctx context.Context, f store.AuditFilter) ([]store.AuditEntry, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	var where []string
	var args []any
	add := func(cond string, v any) {
		where = append(where, cond)
		args = append(args, v)
	}
	if f.ConnectionID != "" {
		add("connection_id = ?", f.ConnectionID)
	}
	if f.Action != "" {
		add("action = ?", string(f.Action))
	}
	if f.ActorKind != "" {
		add("actor_kind = ?", string(f.ActorKind))
	}
	if f.ActorName != "" {
		add("actor_name = ?", f.ActorName)
	}
	if f.Before > 0 {
		add("id < ?", f.Before)
	}
	q := `SELECT id, at, actor_kind, actor_name, action, connection_id, target, detail FROM audit_log`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	rows, err := db.read.QueryContext(ctx, q+` ORDER BY id DESC LIMIT ?`, append(args, f.Limit)...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: read the audit log: %w", err)
	}
	defer rows.Close()
	var out []store.AuditEntry
	for rows.Next() {
		var e store.AuditEntry
		var at sql.NullString
		var kind, action string
		if err := rows.Scan(&e.ID, &at, &kind, &e.Actor.Name, &action, &e.ConnectionID, &e.Target, &e.Detail); err != nil {
			return nil, fmt.Errorf("sqlite: read the audit log: %w", err)
		}
		e.Actor.Kind, e.Action = store.ActorKind(kind), store.AuditAction(action)
		if e.At, err = parseTime(at); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: read the audit log: %w", err)
	}
	return out, nil
}
