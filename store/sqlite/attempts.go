package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/bizzjoiner/bcconnector/store"
)

var _ store.AttemptStore = (*DB)(nil)

// UpdateAttempts implements store.AttemptStore in the single writer's transaction.
func (db *DB) UpdateAttempts(ctx context.Context, key string, f func(store.LoginAttempts) store.LoginAttempts) error {
	if key == "" {
		return fmt.Errorf("%w: UpdateAttempts needs a source key", store.ErrInvalid)
	}
	return db.withTx(ctx, func(tx *sql.Tx) error {
		var a store.LoginAttempts
		var last sql.NullString
		err := tx.QueryRowContext(ctx, `SELECT failures, last_at FROM login_attempts WHERE source = ?`, key).Scan(&a.Failures, &last)
		found := err == nil
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("sqlite: read login attempts: %w", err)
		}
		if a.Last, err = parseTime(last); err != nil {
			return err
		}
		a = f(a)
		if a == (store.LoginAttempts{}) {
			if found {
				if _, err := tx.ExecContext(ctx, `DELETE FROM login_attempts WHERE source = ?`, key); err != nil {
					return fmt.Errorf("sqlite: clear login attempts: %w", err)
				}
			}
			return nil
		}
		if !found {
			if _, err := tx.ExecContext(ctx, `DELETE FROM login_attempts WHERE last_at < ?`, fmtTime(a.Last.Add(-store.AttemptsKeptFor))); err != nil {
				return fmt.Errorf("sqlite: forget old login attempts: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO login_attempts (source, failures, last_at) VALUES (?, ?, ?)
			ON CONFLICT (source) DO UPDATE SET failures = excluded.failures, last_at = excluded.last_at`,
			key, a.Failures, fmtTime(a.Last)); err != nil {
			return fmt.Errorf("sqlite: write login attempts: %w", err)
		}
		return nil
	})
}
