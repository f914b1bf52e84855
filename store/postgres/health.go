package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/bizzjoiner/bcconnector/store"
)

var _ store.HealthStore = (*DB)(nil)

// HealthStates implements store.HealthStore.
func (db *DB) HealthStates(ctx context.Context, connID string) ([]store.HealthState, error) {
	rows, err := db.pool.Query(ctx, `SELECT connection_id, kind, subject, state, version, since FROM outbound_health
		WHERE $1 = '' OR connection_id = $1 ORDER BY connection_id, kind, subject`, connID)
	if err != nil {
		return nil, fmt.Errorf("postgres: health states: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.HealthState, error) {
		var h store.HealthState
		err := r.Scan(&h.ConnectionID, &h.Kind, &h.Subject, &h.State, &h.Version, &h.Since)
		h.Since = h.Since.UTC()
		return h, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: health states: %w", err)
	}
	return out, nil
}

// SetHealthState implements store.HealthStore. The insert or the versioned update is
// one statement, so instances that see a change at once store it once.
func (db *DB) SetHealthState(ctx context.Context, h store.HealthState) error {
	if h.Kind == "" || h.State == "" || h.Version < 1 {
		return fmt.Errorf("%w: health state needs a kind, a state and a version of 1 or more", store.ErrInvalid)
	}
	var tag pgconn.CommandTag
	var err error
	if h.Version == 1 {
		tag, err = db.pool.Exec(ctx, `INSERT INTO outbound_health (connection_id, kind, subject, state, version, since)
			VALUES ($1, $2, $3, $4, 1, $5) ON CONFLICT DO NOTHING`, h.ConnectionID, h.Kind, h.Subject, h.State, h.Since.UTC())
	} else {
		tag, err = db.pool.Exec(ctx, `UPDATE outbound_health SET state = $4, version = $5, since = $6
			WHERE connection_id = $1 AND kind = $2 AND subject = $3 AND version = $5 - 1`,
			h.ConnectionID, h.Kind, h.Subject, h.State, h.Version, h.Since.UTC())
	}
	if isCode(err, codeForeignKeyViolation) {
		return fmt.Errorf("%w: no connection with ID %q", store.ErrNotFound, h.ConnectionID)
	}
	if err != nil {
		return fmt.Errorf("postgres: set health state: %w", err)
	}
	if tag.RowsAffected() == 0 {
		var exists bool
		if err := db.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM connections WHERE id = $1)`, h.ConnectionID).Scan(&exists); err == nil && !exists {
			return fmt.Errorf("%w: no connection with ID %q", store.ErrNotFound, h.ConnectionID)
		}
		return fmt.Errorf("%w: health state %s/%s of %s is not at version %d", store.ErrConflict, h.Kind, h.Subject, h.ConnectionID, h.Version-1)
	}
	return nil
}
