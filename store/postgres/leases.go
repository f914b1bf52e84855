package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/bizzjoiner/bcconnector/store"
)

var _ store.LeaseStore = (*DB)(nil)

// TryLease implements store.LeaseStore in one statement; concurrent callers are ordered by
// the row's lock, so at most one holds the lease.
func (db *DB) TryLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error) {
	if name == "" || holder == "" || ttl <= 0 {
		return false, fmt.Errorf("%w: TryLease needs a name, a holder and a positive TTL", store.ErrInvalid)
	}
	tag, err := db.pool.Exec(ctx, `INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $4)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
		WHERE leases.holder = excluded.holder OR leases.expires_at <= $3`,
		name, holder, now.UTC(), now.Add(ttl).UTC())
	if err != nil {
		return false, fmt.Errorf("postgres: lease %q: %w", name, err)
	}
	return tag.RowsAffected() == 1, nil
}
