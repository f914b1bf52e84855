package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bizzjoiner/bcconnector/store"
)

var _ store.DeliveryStore = (*DB)(nil)

// Deliveries of one endpoint and order key are serialised by a transaction-level advisory
// lock on the pair (lockOrderKey): AddDeliveries and ReplayDelivery take it before they
// look for an unfinished delivery of the key, RecordAttempt before it finishes one and
// promotes the next, so a delivery is never left queued behind one that finished
// meanwhile. The change cursor's row lock serialises the dispatchers of all instances.

// ChangeCursor implements store.DeliveryStore.
func (db *DB) ChangeCursor(ctx context.Context) (int64, error) {
	var seq int64
	if err := db.pool.QueryRow(ctx, `SELECT seq FROM outbound_cursor WHERE name = 'changes'`).Scan(&seq); err != nil {
		return 0, fmt.Errorf("postgres: change cursor: %w", err)
	}
	return seq, nil
}

func lockOrderKey(ctx context.Context, tx pgx.Tx, endpointID, key string) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('outbound/' || $1 || '/' || $2, 0))`, endpointID, key); err != nil {
		return fmt.Errorf("postgres: lock order key: %w", err)
	}
	return nil
}

// AddDeliveries implements store.DeliveryStore.
func (db *DB) AddDeliveries(ctx context.Context, cur *store.ChangeCursor, ds []store.Delivery) ([]store.Delivery, error) {
	for _, d := range ds {
		if err := store.CheckDelivery(d); err != nil {
			return nil, err
		}
	}
	var out []store.Delivery
	err := db.withTx(ctx, func(tx pgx.Tx) error {
		out = out[:0]
		if cur != nil {
			tag, err := tx.Exec(ctx, `UPDATE outbound_cursor SET seq = $1 WHERE name = 'changes' AND seq = $2`, cur.To, cur.From)
			if err != nil {
				return fmt.Errorf("postgres: move change cursor: %w", err)
			}
			if tag.RowsAffected() == 0 {
				return fmt.Errorf("%w: the change cursor is no longer at %d", store.ErrConflict, cur.From)
			}
		}
		now := db.stamp()
		for _, d := range ds {
			d, ok, err := addDelivery(ctx, tx, d, now)
			if err != nil {
				return err
			}
			if ok && d.State == store.DeliveryPending {
				out = append(out, d)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// addDelivery stores d queued or pending; ok is false when its ID is taken or its
// endpoint is gone.
func addDelivery(ctx context.Context, tx pgx.Tx, d store.Delivery, now time.Time) (_ store.Delivery, ok bool, _ error) {
	d.State, d.NextAttemptAt, d.CreatedAt = store.DeliveryPending, now, now
	d.Attempts, d.LastAttemptAt, d.LastStatus, d.LastError = 0, time.Time{}, 0, ""
	if d.OrderKey != "" {
		if err := lockOrderKey(ctx, tx, d.EndpointID, d.OrderKey); err != nil {
			return d, false, err
		}
		var open bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM outbound_deliveries
			WHERE endpoint_id = $1 AND order_key = $2 AND state IN ('queued', 'pending'))`, d.EndpointID, d.OrderKey).Scan(&open); err != nil {
			return d, false, fmt.Errorf("postgres: add delivery: %w", err)
		}
		if open {
			d.State, d.NextAttemptAt = store.DeliveryQueued, time.Time{}
		}
	}
	tag, err := tx.Exec(ctx, `INSERT INTO outbound_deliveries
		(id, endpoint_id, event_type, connection_id, order_key, seq, replay_of, payload, state, next_attempt_at, created_at)
		SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 WHERE EXISTS (SELECT 1 FROM outbound_endpoints WHERE id = $2)
		ON CONFLICT (id) DO NOTHING`,
		d.ID, d.EndpointID, d.EventType, d.ConnectionID, d.OrderKey, d.Seq, d.ReplayOf, []byte(d.Payload), string(d.State),
		nullTime(d.NextAttemptAt), now)
	if err != nil {
		return d, false, fmt.Errorf("postgres: add delivery %s: %w", d.ID, err)
	}
	return d, tag.RowsAffected() == 1, nil
}

const deliveryColumns = `id, endpoint_id, event_type, connection_id, order_key, seq, replay_of, state, attempts,
	next_attempt_at, last_attempt_at, last_status, last_error, created_at`

func scanDelivery(r pgx.Row, extra ...any) (store.Delivery, error) {
	var d store.Delivery
	var state string
	var next, last *time.Time
	dest := append([]any{&d.ID, &d.EndpointID, &d.EventType, &d.ConnectionID, &d.OrderKey, &d.Seq, &d.ReplayOf, &state, &d.Attempts,
		&next, &last, &d.LastStatus, &d.LastError, &d.CreatedAt}, extra...)
	if err := r.Scan(dest...); err != nil {
		return d, err
	}
	d.State, d.NextAttemptAt, d.LastAttemptAt, d.CreatedAt = store.DeliveryState(state), utc(next), utc(last), d.CreatedAt.UTC()
	return d, nil
}

// Delivery implements store.DeliveryStore.
func (db *DB) Delivery(ctx context.Context, id string) (store.Delivery, error) {
	var payload []byte
	d, err := scanDelivery(db.pool.QueryRow(ctx, `SELECT `+deliveryColumns+`, payload FROM outbound_deliveries WHERE id = $1`, id), &payload)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Delivery{}, fmt.Errorf("%w: no webhook delivery %q", store.ErrNotFound, id)
	}
	if err != nil {
		return store.Delivery{}, fmt.Errorf("postgres: delivery %s: %w", id, err)
	}
	d.Payload = payload
	return d, nil
}

// Deliveries implements store.DeliveryStore.
func (db *DB) Deliveries(ctx context.Context, q store.DeliveryQuery) ([]store.Delivery, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 500)
	before := int64(-1)
	if q.Before != "" {
		if err := db.pool.QueryRow(ctx, `SELECT pos FROM outbound_deliveries WHERE id = $1`, q.Before).Scan(&before); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return nil, fmt.Errorf("%w: before: no webhook delivery %q", store.ErrNotFound, q.Before)
			}
			return nil, fmt.Errorf("postgres: list deliveries: %w", err)
		}
	}
	rows, err := db.pool.Query(ctx, `SELECT `+deliveryColumns+` FROM outbound_deliveries
		WHERE ($1 = '' OR endpoint_id = $1) AND ($2 = '' OR state = $2) AND ($3 < 0 OR pos < $3)
		ORDER BY pos DESC LIMIT $4`, q.EndpointID, string(q.State), before, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: list deliveries: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Delivery, error) { return scanDelivery(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: list deliveries: %w", err)
	}
	if out == nil {
		out = []store.Delivery{}
	}
	return out, nil
}

// DeliveryAttempts implements store.DeliveryStore.
func (db *DB) DeliveryAttempts(ctx context.Context, id string) ([]store.DeliveryAttempt, error) {
	var pos int64
	if err := db.pool.QueryRow(ctx, `SELECT pos FROM outbound_deliveries WHERE id = $1`, id).Scan(&pos); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, fmt.Errorf("%w: no webhook delivery %q", store.ErrNotFound, id)
		}
		return nil, fmt.Errorf("postgres: delivery attempts: %w", err)
	}
	rows, err := db.pool.Query(ctx, `SELECT n, at, status, duration_us, error, response FROM outbound_attempts
		WHERE delivery_pos = $1 ORDER BY n`, pos)
	if err != nil {
		return nil, fmt.Errorf("postgres: delivery attempts: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.DeliveryAttempt, error) {
		var a store.DeliveryAttempt
		var us int64
		err := r.Scan(&a.N, &a.At, &a.StatusCode, &us, &a.Error, &a.Response)
		a.At, a.Duration = a.At.UTC(), time.Duration(us)*time.Microsecond
		return a, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: delivery attempts: %w", err)
	}
	if out == nil {
		out = []store.DeliveryAttempt{}
	}
	return out, nil
}

// RecordAttempt implements store.DeliveryStore.
func (db *DB) RecordAttempt(ctx context.Context, id string, a store.DeliveryAttempt, out store.DeliveryOutcome) (string, error) {
	a, err := store.CheckAttempt(a, out)
	if err != nil {
		return "", err
	}
	var next string
	err = db.withTx(ctx, func(tx pgx.Tx) error {
		next = ""
		var pos int64
		var ep, key string
		err := tx.QueryRow(ctx, `SELECT pos, endpoint_id, order_key FROM outbound_deliveries WHERE id = $1`, id).Scan(&pos, &ep, &key)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%w: no webhook delivery %q", store.ErrNotFound, id)
		}
		if err != nil {
			return fmt.Errorf("postgres: record attempt: %w", err)
		}
		if key != "" && out.State.Finished() {
			if err := lockOrderKey(ctx, tx, ep, key); err != nil {
				return err
			}
		}
		var state string
		var attempts int
		if err := tx.QueryRow(ctx, `SELECT state, attempts FROM outbound_deliveries WHERE pos = $1 FOR UPDATE`, pos).Scan(&state, &attempts); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("%w: no webhook delivery %q", store.ErrNotFound, id)
			}
			return fmt.Errorf("postgres: record attempt: %w", err)
		}
		if state != string(store.DeliveryPending) || attempts != a.N-1 {
			return fmt.Errorf("%w: delivery %s is %s after %d attempts; attempt %d was recorded elsewhere", store.ErrConflict, id, state, attempts, a.N)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO outbound_attempts (delivery_pos, n, at, status, duration_us, error, response)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, pos, a.N, a.At.UTC(), a.StatusCode, a.Duration.Microseconds(), a.Error, a.Response); err != nil {
			return fmt.Errorf("postgres: record attempt: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE outbound_deliveries SET state = $1, attempts = $2, next_attempt_at = $3,
			last_attempt_at = $4, last_status = $5, last_error = $6 WHERE pos = $7`,
			string(out.State), a.N, nullTime(out.NextAttemptAt), a.At.UTC(), a.StatusCode, a.Error, pos); err != nil {
			return fmt.Errorf("postgres: record attempt: %w", err)
		}
		if !out.State.Finished() || key == "" {
			return nil
		}
		err = tx.QueryRow(ctx, `UPDATE outbound_deliveries SET state = 'pending', next_attempt_at = $1
			WHERE pos = (SELECT pos FROM outbound_deliveries WHERE endpoint_id = $2 AND order_key = $3 AND state IN ('queued', 'pending') AND state = 'queued' ORDER BY pos LIMIT 1)
			RETURNING id`, db.stamp(), ep, key).Scan(&next)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("postgres: record attempt: %w", err)
		}
		return nil
	})
	return next, err
}

// ReplayDelivery implements store.DeliveryStore.
func (db *DB) ReplayDelivery(ctx context.Context, id, newID string) (store.Delivery, error) {
	var out store.Delivery
	err := db.withTx(ctx, func(tx pgx.Tx) error {
		var payload []byte
		d, err := scanDelivery(tx.QueryRow(ctx, `SELECT `+deliveryColumns+`, payload FROM outbound_deliveries WHERE id = $1`, id), &payload)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%w: no webhook delivery %q", store.ErrNotFound, id)
		}
		if err != nil {
			return fmt.Errorf("postgres: replay delivery %s: %w", id, err)
		}
		d.Payload, d.ID, d.ReplayOf = payload, newID, id
		if err := store.CheckDelivery(d); err != nil {
			return err
		}
		d, ok, err := addDelivery(ctx, tx, d, db.stamp())
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%w: delivery ID %q is taken", store.ErrConflict, newID)
		}
		out = d
		return nil
	})
	return out, err
}

// DueDeliveries implements store.DeliveryStore.
func (db *DB) DueDeliveries(ctx context.Context, before time.Time, limit int) ([]string, error) {
	rows, err := db.pool.Query(ctx, `SELECT id FROM outbound_deliveries WHERE state = 'pending' AND next_attempt_at < $1
		ORDER BY next_attempt_at LIMIT $2`, before.UTC(), max(limit, 1))
	if err != nil {
		return nil, fmt.Errorf("postgres: due deliveries: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("postgres: due deliveries: %w", err)
	}
	return out, nil
}

// PruneDeliveries implements store.DeliveryStore.
func (db *DB) PruneDeliveries(ctx context.Context, before time.Time, limit int) (int, error) {
	tag, err := db.pool.Exec(ctx, `DELETE FROM outbound_deliveries WHERE pos IN (
		SELECT pos FROM outbound_deliveries WHERE state IN ('succeeded', 'dead') AND created_at < $1 ORDER BY pos LIMIT $2)`,
		before.UTC(), max(limit, 1))
	if err != nil {
		return 0, fmt.Errorf("postgres: prune deliveries: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
