package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bizzjoiner/bcconnector/store"
)

var _ store.AttemptStore = (*DB)(nil)

// UpdateAttempts implements store.AttemptStore. The source's row is created if missing
// and locked for the transaction, so calls for one source from every instance take turns.
func (db *DB) UpdateAttempts(ctx context.Context, key string, f func(store.LoginAttempts) store.LoginAttempts) error {
	if key == "" {
		return fmt.Errorf("%w: UpdateAttempts needs a source key", store.ErrInvalid)
	}
	return db.withTx(ctx, func(tx pgx.Tx) error {
		// A row this transaction inserted is locked by it; an existing one is locked by the
		// SELECT. A concurrent call may delete the row between the two (it held it), so try
		// again then.
		var a store.LoginAttempts
		added := false
		for {
			tag, err := tx.Exec(ctx, `INSERT INTO login_attempts (source, failures, last_at) VALUES ($1, 0, to_timestamp(0))
				ON CONFLICT (source) DO NOTHING`, key)
			if err != nil {
				return fmt.Errorf("postgres: write login attempts: %w", err)
			}
			if added = tag.RowsAffected() == 1; added {
				break
			}
			err = tx.QueryRow(ctx, `SELECT failures, last_at FROM login_attempts WHERE source = $1 FOR UPDATE`, key).Scan(&a.Failures, &a.Last)
			if err == nil {
				break
			}
			if !errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("postgres: read login attempts: %w", err)
			}
		}
		a.Last = a.Last.UTC()
		a = f(a)
		if a == (store.LoginAttempts{}) {
			if _, err := tx.Exec(ctx, `DELETE FROM login_attempts WHERE source = $1`, key); err != nil {
				return fmt.Errorf("postgres: clear login attempts: %w", err)
			}
			return nil
		}
		if added {
			if _, err := tx.Exec(ctx, `DELETE FROM login_attempts WHERE last_at < $1 AND source <> $2`, a.Last.Add(-store.AttemptsKeptFor), key); err != nil {
				return fmt.Errorf("postgres: forget old login attempts: %w", err)
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE login_attempts SET failures = $2, last_at = $3 WHERE source = $1`,
			key, a.Failures, a.Last.UTC().Truncate(time.Microsecond)); err != nil {
			return fmt.Errorf("postgres: write login attempts: %w", err)
		}
		return nil
	})
}
