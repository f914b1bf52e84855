package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/store/internal/sqlstore"
)

var _ store.BudgetStore = (*DB)(nil)

// lockBudget creates the budget's row if needed and locks it until the transaction ends,
// so calls of one budget from every instance run one after the other.
const lockBudget = `INSERT INTO bc_budgets (budget) VALUES ($1) ON CONFLICT (budget) DO UPDATE SET budget = excluded.budget`

// LeaseSlots implements store.BudgetStore.
func (db *DB) LeaseSlots(ctx context.Context, l store.SlotLease) (store.SlotGrant, error) {
	if err := l.Validate(); err != nil {
		return store.SlotGrant{}, err
	}
	key := l.Key.String()
	var g store.SlotGrant
	err := db.withTx(ctx, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(lockBudget, key)
		b.Queue(`DELETE FROM bc_budget_slots WHERE budget = $1 AND expires_ms <= $2`, key, l.Now.UnixMilli())
		b.Queue(`SELECT holder, slots, wants FROM bc_budget_slots WHERE budget = $1`, key)
		res := tx.SendBatch(ctx, b)
		_, err1 := res.Exec()
		_, err2 := res.Exec()
		var demands []store.SlotDemand
		var err3 error
		if rows, err := res.Query(); err != nil {
			err3 = err
		} else {
			demands, err3 = pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.SlotDemand, error) {
				var d store.SlotDemand
				return d, r.Scan(&d.Holder, &d.Slots, &d.Want)
			})
		}
		if err := firstErr(err1, err2, err3, res.Close()); err != nil {
			return err
		}
		mine, others := 0, make([]store.SlotDemand, 0, len(demands))
		for _, d := range demands {
			if d.Holder == l.Holder {
				mine = d.Slots
			} else {
				others = append(others, d)
			}
		}
		g = sqlstore.Lease(l, mine, others)
		if l.Want == 0 {
			_, err := tx.Exec(ctx, `DELETE FROM bc_budget_slots WHERE budget = $1 AND holder = $2`, key, l.Holder)
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO bc_budget_slots (budget, holder, slots, wants, expires_ms) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (budget, holder) DO UPDATE SET slots = excluded.slots, wants = excluded.wants, expires_ms = excluded.expires_ms`,
			key, l.Holder, g.Slots, l.Want, l.Now.Add(l.TTL).UnixMilli())
		return err
	})
	if err != nil {
		return store.SlotGrant{}, fmt.Errorf("postgres: lease BC slots: %w", err)
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
	err := db.withTx(ctx, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(lockBudget, key)
		b.Queue(`DELETE FROM bc_budget_requests WHERE budget = $1 AND at_s < $2`, key, sqlstore.SpanStart(r))
		b.Queue(`SELECT coalesce(sum(n), 0), coalesce(min(at_s), 0) FROM bc_budget_requests WHERE budget = $1`, key)
		res := tx.SendBatch(ctx, b)
		var used, oldest int64
		_, err1 := res.Exec()
		_, err2 := res.Exec()
		err3 := res.QueryRow().Scan(&used, &oldest)
		if err := firstErr(err1, err2, err3, res.Close()); err != nil {
			return err
		}
		g = sqlstore.Reserve(r, int(used), oldest)
		if g.Granted == 0 {
			return nil
		}
		_, err := tx.Exec(ctx, `INSERT INTO bc_budget_requests (budget, at_s, n) VALUES ($1, $2, $3)
			ON CONFLICT (budget, at_s) DO UPDATE SET n = bc_budget_requests.n + excluded.n`, key, g.At.Unix(), g.Granted)
		return err
	})
	if err != nil {
		return store.RequestGrant{}, fmt.Errorf("postgres: reserve BC requests: %w", err)
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
	if _, err := db.pool.Exec(ctx, `UPDATE bc_budget_requests SET n = greatest(n - $1, 0) WHERE budget = $2 AND at_s = $3`,
		n, key.String(), at.Unix()); err != nil {
		return fmt.Errorf("postgres: return BC requests: %w", err)
	}
	return nil
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
