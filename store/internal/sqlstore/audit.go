package sqlstore

import (
	"context"
	"strconv"
	"strings"

	"github.com/bizzjoiner/bcconnector/store"
)

// WriteAudit writes an audit entry with q, the transaction of the change it records,
// naming actor a (store.ActorFrom of the change's context, or the admin signing in), with
// the note of ctx appended to detail (store.AuditDetail).
func (s *Store) WriteAudit(ctx context.Context, q Executor, a store.Actor, action store.AuditAction, connID, target, detail string) error {
	if _, err := q.Exec(ctx, `INSERT INTO audit_log (at, actor_kind, actor_name, action, connection_id, target, detail)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, s.stamp(), string(a.Kind), a.Name, string(action), connID, target, store.AuditDetail(ctx, detail)); err != nil {
		return s.errorf("write the audit log: %w", err)
	}
	return nil
}

// AuditLog implements store.AuditStore.
type AuditLog struct{ s *Store }

var _ store.AuditStore = AuditLog{}

// Audit implements store.AuditStore. IDs are taken at insert, so on PostgreSQL an entry
// of a transaction that commits late may appear below a page already read; the log is
// for people, not a feed.
func (l AuditLog) Audit(ctx context.Context, f store.AuditFilter) ([]store.AuditEntry, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, cond+strconv.Itoa(len(args)))
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
	rows, err := l.s.drv.Read().Query(ctx, q+` ORDER BY id DESC LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, l.s.errorf("read the audit log: %w", err)
	}
	out, err := collect(rows, func(r Row) (store.AuditEntry, error) {
		var e store.AuditEntry
		var kind, action string
		err := r.Scan(&e.ID, &e.At, &kind, &e.Actor.Name, &action, &e.ConnectionID, &e.Target, &e.Detail)
		e.At = e.At.UTC()
		e.Actor.Kind, e.Action = store.ActorKind(kind), store.AuditAction(action)
		return e, err
	})
	if err != nil {
		return nil, l.s.errorf("read the audit log: %w", err)
	}
	return out, nil
}
