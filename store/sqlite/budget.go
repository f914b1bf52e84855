package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/store/internal/sqlstore"
)

var _ store.BudgetStore = (*DB)(nil)

// LeaseSlots implements store.BudgetStore. The single writer's BEGIN IMMEDIATE serialises
// it with every other process on the file.
func (db *DB) LeaseSlots(ctx context.Context, l store.SlotLease) (store.SlotGrant, error) {
	if err := l.Validate(); err != nil {
		return store.SlotGrant{}, err
	}
	key, now := l.Key.String(), l.Now.UnixMilli()
	var g store.SlotGrant
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM bc_budget_slots WHERE budget = ? AND expires_ms <= ?`, key, now); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT holder, slots, wants FROM bc_budget_slots WHERE budget = ?`, key)
		if err != nil {
			return err
		}
		defer rows.Close()
		mine, others := 0, []store.SlotDemand(nil)
		for rows.Next() {
			var d store.SlotDemand
			if err := rows.Scan(&d.Holder, &d.Slots, &d.Want); err != nil {
				return err
			}
			if d.Holder == l.Holder {
				mine = d.Slots
			} else {
				others = append(others, d)
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		g = sqlstore.Lease(l, mine, others)
		if l.Want == 0 {
			_, err = tx.ExecContext(ctx, `DELETE FROM bc_budget_slots WHERE budget = ? AND holder = ?`, key, l.Holder)
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO bc_budget_slots (budget, holder, slots, wants, expires_ms) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (budget, holder) DO UPDATE SET slots = excluded.slots, wants = excluded.wants, expires_ms = excluded.expires_ms`,
			key, l.Holder, g.Slots, l.Want, l.Now.Add(l.TTL).UnixMilli())
		return err
	})
	if err != nil {
		return store.SlotGrant{}, fmt.Errorf("sqlite: lease BC slots: %w", err)
	}
	return g, nil
}

// ReserveRequests implements store.BudgetStore.
func (db *DB) ReserveRequests(ctx context.Context, r store.RequestReservation) (store.RequestGrant, error) {
	if err := r.Validate(); err != nil {
		return store.RequestGrant{}, err
	}
	key := r.Key.String()
	var g store.RequestGrant
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM bc_budget_requests WHERE budget = ? AND at_s < ?`, key, sqlstore.SpanStart(r)); err != nil {
			return err
		}
		var used, oldest sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT sum(n), min(at_s) FROM bc_budget_requests WHERE budget = ?`, key).Scan(&used, &oldest); err != nil {
			return err
		}
		g = sqlstore.Reserve(r, int(used.Int64), oldest.Int64)
		if g.Granted == 0 {
			return nil
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO bc_budget_requests (budget, at_s, n) VALUES (?, ?, ?)
			ON CONFLICT (budget, at_s) DO UPDATE SET n = n + excluded.n`, key, g.At.Unix(), g.Granted)
		return err
	})
	if err != nil {
		return store.RequestGrant{}, fmt.Errorf("sqlite: reserve BC requests: %w", err)
	}
	return g, nil
}

// ReturnRequests implements store.BudgetStore.
func (db *DB) ReturnRequests(ctx context.Context, key store.BudgetKey, at time.Time, n int) error {
	if err := key.Validate(); err != nil {
		return err
	}
	if n <= 0 {
		return nil
	}
	if _, err := db.write.ExecContext(ctx, `UPDATE bc_budget_requests SET n = max(n - ?, 0) WHERE budget = ? AND at_s = ?`,
		n, key.String(), at.Unix()); err != nil {
		return fmt.Errorf("sqlite: return BC requests: %w", err)
	}
	return nil
}
