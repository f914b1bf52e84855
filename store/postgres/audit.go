package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/bizzjoiner/bcconnector/store"
)

var _ store.AuditStore = (*DB)(nil)

// audit writes an audit entry in tx, the transaction of the change, naming the actor of
// ctx (store.WithActor).
func (db *DB) audit(ctx context.Context, tx pgx.Tx, action store.AuditAction, connID, target, detail string) error {
	return db.sq.WriteAudit(ctx, executor{tx}, store.ActorFrom(ctx), action, connID, target, detail)
}

// auditAs is audit with an explicit actor (a sign-in names the admin signing in).
func (db *DB) auditAs(ctx context.Context, tx pgx.Tx, a store.Actor, action store.AuditAction, connID, target, detail string) error {
	return db.sq.WriteAudit(ctx, executor{tx}, a, action, connID, target, detail)
}
