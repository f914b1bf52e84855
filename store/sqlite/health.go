package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/bizzjoiner/bcconnector/store"
)

var _ store.HealthStore = (*DB)(nil)

// HealthStates implements store.HealthStore.
func (db *DB) HealthStates(ctx context.Context, connID string) ([]store.HealthState, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT connection_id, kind, subject, state, version, since FROM outbound_health
		WHERE ?1 = '' OR connection_id = ?1 ORDER BY connection_id, kind, subject`, connID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: health states: %w", err)
	}
	defer rows.Close()
	var out []store.HealthState
	for rows.Next() {
		var h store.HealthState
		var since sql.NullString
		if err := rows.Scan(&h.ConnectionID, &h.Kind, &h.Subject, &h.State, &h.Version, &since); err != nil {
			return nil, fmt.Errorf("sqlite: health states: %w", err)
		}
		if h.Since, err = parseTime(since); err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// SetHealthState implements store.HealthStore.
func (db *DB) SetHealthState(ctx context.Context, h store.HealthState) error {
	if h.Kind == "" || h.State == "" || h.Version < 1 {
		return fmt.Errorf("%w: health state needs a kind, a state and a version of 1 or more", store.ErrInvalid)
	}
	return db.withTx(ctx, func(tx *sql.Tx) error {
		if err := db.sq.LockConnection(ctx, executor{tx}, h.ConnectionID); err != nil {
			return err
		}
		var stored int64
		err := tx.QueryRowContext(ctx, `SELECT version FROM outbound_health WHERE connection_id = ? AND kind = ? AND subject = ?`,
			h.ConnectionID, h.Kind, h.Subject).Scan(&stored)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("sqlite: set health state: %w", err)
		}
		if h.Version != stored+1 {
			return fmt.Errorf("%w: health state %s/%s of %s is at version %d, not %d", store.ErrConflict, h.Kind, h.Subject, h.ConnectionID, stored, h.Version-1)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO outbound_health (connection_id, kind, subject, state, version, since)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (connection_id, kind, subject) DO UPDATE
			SET state = excluded.state, version = excluded.version, since = excluded.since`,
			h.ConnectionID, h.Kind, h.Subject, h.State, h.Version, fmtTime(h.Since)); err != nil {
			return fmt.Errorf("sqlite: set health state: %w", err)
		}
		return nil
	})
}
