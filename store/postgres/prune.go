package postgres

import (
	"context"
	"fmt"

	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/store/internal/sqlstore"
	"github.com/jackc/pgx/v5"
)

// PruneChanges implements store.ReplicaStore: rounds of at most sqlstore.PruneRound
// segments, each one transaction, until a round prunes less than a full round. Each
// round locks change_pruned's row first, so instances pruning at once take turns and
// each starts from where the other stopped; writers lock change_seq and are not held up.
func (db *DB) PruneChanges(ctx context.Context, p store.ChangePrune) (store.ChangePruneResult, error) {
	var res store.ChangePruneResult
	for {
		full := false
		err := db.withTx(ctx, func(tx pgx.Tx) error {
			var head int64
			if err := tx.QueryRow(ctx, `SELECT through, (SELECT last_seq FROM change_seq WHERE one = 1) FROM change_pruned WHERE one = 1 FOR UPDATE`).
				Scan(&res.PrunedThrough, &head); err != nil {
				return fmt.Errorf("postgres: prune change log: %w", err)
			}
			rows, err := tx.Query(ctx, `SELECT first_seq, last_seq, at FROM change_batches WHERE first_seq > $1 ORDER BY first_seq LIMIT $2`,
				res.PrunedThrough, sqlstore.PruneRound)
			if err != nil {
				return fmt.Errorf("postgres: prune change log: %w", err)
			}
			var segs []sqlstore.SegmentSpan
			var s sqlstore.SegmentSpan
			if _, err := pgx.ForEachRow(rows, []any{&s.First, &s.Last, &s.At}, func() error {
				segs = append(segs, s)
				return nil
			}); err != nil {
				return fmt.Errorf("postgres: prune change log: %w", err)
			}
			n := sqlstore.Prunable(segs, head, p)
			if n == 0 {
				return nil
			}
			through := segs[n-1].Last
			if _, err := tx.Exec(ctx, `DELETE FROM change_batches WHERE first_seq <= $1`, segs[n-1].First); err != nil {
				return fmt.Errorf("postgres: prune change log: %w", err)
			}
			if _, err := tx.Exec(ctx, `UPDATE change_pruned SET through = $1 WHERE one = 1`, through); err != nil {
				return fmt.Errorf("postgres: prune change log: %w", err)
			}
			res.Changes += through - res.PrunedThrough
			res.Segments += int64(n)
			res.PrunedThrough = through
			full = n == sqlstore.PruneRound
			return nil
		})
		if err != nil || !full {
			return res, err
		}
	}
}

// ChangesPrunedThrough implements store.ReplicaStore.
func (db *DB) ChangesPrunedThrough(ctx context.Context) (int64, error) {
	var through int64
	if err := db.pool.QueryRow(ctx, `SELECT through FROM change_pruned WHERE one = 1`).Scan(&through); err != nil {
		return 0, fmt.Errorf("postgres: read change log retention: %w", err)
	}
	return through, nil
}
