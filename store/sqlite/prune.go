package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/store/internal/sqlstore"
)

// PruneChanges implements store.ReplicaStore: rounds of at most sqlstore.PruneRound
// segments, each one write transaction, until a round prunes less than a full round.
func (db *DB) PruneChanges(ctx context.Context, p store.ChangePrune) (store.ChangePruneResult, error) {
	var res store.ChangePruneResult
	for {
		full := false
		err := db.withTx(ctx, func(tx *sql.Tx) error {
			var head int64
			if err := tx.QueryRowContext(ctx, `SELECT (SELECT last_seq FROM change_seq WHERE one = 1), through FROM change_pruned WHERE one = 1`).
				Scan(&head, &res.PrunedThrough); err != nil {
				return fmt.Errorf("sqlite: prune change log: %w", err)
			}
			rows, err := tx.QueryContext(ctx, `SELECT first_seq, last_seq, at FROM change_batches WHERE first_seq > ? ORDER BY first_seq LIMIT ?`,
				res.PrunedThrough, sqlstore.PruneRound)
			if err != nil {
				return fmt.Errorf("sqlite: prune change log: %w", err)
			}
			var segs []sqlstore.SegmentSpan
			for rows.Next() {
				var s sqlstore.SegmentSpan
				var at sql.NullString
				if err := rows.Scan(&s.First, &s.Last, &at); err != nil {
					rows.Close()
					return fmt.Errorf("sqlite: prune change log: %w", err)
				}
				if s.At, err = parseTime(at); err != nil {
					rows.Close()
					return err
				}
				segs = append(segs, s)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return fmt.Errorf("sqlite: prune change log: %w", err)
			}
			n := sqlstore.Prunable(segs, head, p)
			if n == 0 {
				return nil
			}
			through := segs[n-1].Last
			if _, err := tx.ExecContext(ctx, `DELETE FROM change_batches WHERE first_seq <= ?`, segs[n-1].First); err != nil {
				return fmt.Errorf("sqlite: prune change log: %w", err)
			}
			if _, err := tx.ExecContext(ctx, `UPDATE change_pruned SET through = ? WHERE one = 1`, through); err != nil {
				return fmt.Errorf("sqlite: prune change log: %w", err)
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
	if err := db.read.QueryRowContext(ctx, `SELECT through FROM change_pruned WHERE one = 1`).Scan(&through); err != nil {
		return 0, fmt.Errorf("sqlite: read change log retention: %w", err)
	}
	return through, nil
}
