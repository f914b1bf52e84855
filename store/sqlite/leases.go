package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/bizzjoiner/bcconnector/store"
)

var _ store.LeaseStore = (*DB)(nil)

// TryLease implements store.LeaseStore in one statement of the single writer.
func (db *DB) TryLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error) {
	if err := checkLease(name, holder, ttl); err != nil {
		return false, err
	}
	res, err := db.write.ExecContext(ctx, `INSERT INTO leases (name, holder, expires_at) VALUES (?1, ?2, ?4)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
		WHERE leases.holder = excluded.holder OR leases.expires_at <= ?3`,
		name, holder, fmtTime(now), fmtTime(now.Add(ttl)))
	if err != nil {
		return false, fmt.Errorf("sqlite: lease %q: %w", name, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func checkLease(name, holder string, ttl time.Duration) error {
	if name == "" || holder == "" || ttl <= 0 {
		return fmt.Errorf("%w: TryLease needs a name, a holder and a positive TTL", store.ErrInvalid)
	}
	return nil
}
