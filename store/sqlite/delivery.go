package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/bizzjoiner/bcconnector/store"
)

var _ store.DeliveryStore = (*DB)(nil)

// ChangeCursor implements store.DeliveryStore.
func (db *DB) ChangeCursor(ctx context.Context) (int64, error) {
	var seq int64
	if err := db.read.QueryRowContext(ctx, `SELECT seq FROM outbound_cursor WHERE name = 'changes'`).Scan(&seq); err != nil {
		return 0, fmt.Errorf("sqlite: change cursor: %w", err)
	}
	return seq, nil
}

// AddDeliveries implements store.DeliveryStore. SQLite's single writer serialises it.
func (db *DB) AddDeliveries(ctx context.Context, cur *store.ChangeCursor, ds []store.Delivery) ([]store.Delivery, error) {
	for _, d := range ds {
		if err := store.CheckDelivery(d); err != nil {
			return nil, err
		}
	}
	var out []store.Delivery
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		out = out[:0]
		if cur != nil {
			res, err := tx.ExecContext(ctx, `UPDATE outbound_cursor SET seq = ? WHERE name = 'changes' AND seq = ?`, cur.To, cur.From)
			if err != nil {
				return fmt.Errorf("sqlite: move change cursor: %w", err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
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

// addDelivery stores d queued or pending (see store.DeliveryStore.AddDeliveries); ok is
// false when its ID is taken or its endpoint is gone.
func addDelivery(ctx context.Context, tx *sql.Tx, d store.Delivery, now time.Time) (_ store.Delivery, ok bool, _ error) {
	d.State, d.NextAttemptAt, d.CreatedAt = store.DeliveryPending, now, now
	d.Attempts, d.LastAttemptAt, d.LastStatus, d.LastError = 0, time.Time{}, 0, ""
	if d.OrderKey != "" {
		var open bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM outbound_deliveries
			WHERE endpoint_id = ? AND order_key = ? AND state IN ('queued', 'pending'))`, d.EndpointID, d.OrderKey).Scan(&open); err != nil {
			return d, false, fmt.Errorf("sqlite: add delivery: %w", err)
		}
		if open {
			d.State, d.NextAttemptAt = store.DeliveryQueued, time.Time{}
		}
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO outbound_deliveries
		(id, endpoint_id, event_type, connection_id, order_key, seq, replay_of, payload, state, next_attempt_at, created_at)
		SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM outbound_endpoints WHERE id = ?)
		ON CONFLICT (id) DO NOTHING`,
		d.ID, d.EndpointID, d.EventType, d.ConnectionID, d.OrderKey, d.Seq, d.ReplayOf, []byte(d.Payload), string(d.State),
		nullTime(d.NextAttemptAt), fmtTime(now), d.EndpointID)
	if err != nil {
		return d, false, fmt.Errorf("sqlite: add delivery %s: %w", d.ID, err)
	}
	n, _ := res.RowsAffected()
	return d, n == 1, nil
}

const deliveryColumns = `id, endpoint_id, event_type, connection_id, order_key, seq, replay_of, state, attempts,
	next_attempt_at, last_attempt_at, last_status, last_error, created_at`

func scanDelivery(r rowScanner, extra ...any) (store.Delivery, error) {
	var d store.Delivery
	var state string
	var next, last, created sql.NullString
	dest := append([]any{&d.ID, &d.EndpointID, &d.EventType, &d.ConnectionID, &d.OrderKey, &d.Seq, &d.ReplayOf, &state, &d.Attempts,
		&next, &last, &d.LastStatus, &d.LastError, &created}, extra...)
	if err := r.Scan(dest...); err != nil {
		return d, err
	}
	d.State = store.DeliveryState(state)
	var err error
	if d.NextAttemptAt, err = parseTime(next); err != nil {
		return d, err
	}
	if d.LastAttemptAt, err = parseTime(last); err != nil {
		return d, err
	}
	d.CreatedAt, err = parseTime(created)
	return d, err
}

// Delivery implements store.DeliveryStore.
func (db *DB) Delivery(ctx context.Context, id string) (store.Delivery, error) {
	var payload []byte
	d, err := scanDelivery(db.read.QueryRowContext(ctx, `SELECT `+deliveryColumns+`, payload FROM outbound_deliveries WHERE id = ?`, id), &payload)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Delivery{}, fmt.Errorf("%w: no webhook delivery %q", store.ErrNotFound, id)
	}
	if err != nil {
		return store.Delivery{}, fmt.Errorf("sqlite: delivery %s: %w", id, err)
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
		if err := db.read.QueryRowContext(ctx, `SELECT pos FROM outbound_deliveries WHERE id = ?`, q.Before).Scan(&before); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return nil, fmt.Errorf("%w: before: no webhook delivery %q", store.ErrNotFound, q.Before)
			}
			return nil, fmt.Errorf("sqlite: list deliveries: %w", err)
		}
	}
	rows, err := db.read.QueryContext(ctx, `SELECT `+deliveryColumns+` FROM outbound_deliveries
		WHERE (?1 = '' OR endpoint_id = ?1) AND (?2 = '' OR state = ?2) AND (?3 < 0 OR pos < ?3)
		ORDER BY pos DESC LIMIT ?4`, q.EndpointID, string(q.State), before, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list deliveries: %w", err)
	}
	defer rows.Close()
	out := []store.Delivery{}
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list deliveries: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// DeliveryAttempts implements store.DeliveryStore.
func (db *DB) DeliveryAttempts(ctx context.Context, id string) ([]store.DeliveryAttempt, error) {
	var pos int64
	if err := db.read.QueryRowContext(ctx, `SELECT pos FROM outbound_deliveries WHERE id = ?`, id).Scan(&pos); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("%w: no webhook delivery %q", store.ErrNotFound, id)
		}
		return nil, fmt.Errorf("sqlite: delivery attempts: %w", err)
	}
	rows, err := db.read.QueryContext(ctx, `SELECT n, at, status, duration_us, error, response FROM outbound_attempts
		WHERE delivery_pos = ? ORDER BY n`, pos)
	if err != nil {
		return nil, fmt.Errorf("sqlite: delivery attempts: %w", err)
	}
	defer rows.Close()
	out := []store.DeliveryAttempt{}
	for rows.Next() {
		var a store.DeliveryAttempt
		var at sql.NullString
		var us int64
		if err := rows.Scan(&a.N, &at, &a.StatusCode, &us, &a.Error, &a.Response); err != nil {
			return nil, fmt.Errorf("sqlite: delivery attempts: %w", err)
		}
		if a.At, err = parseTime(at); err != nil {
			return nil, err
		}
		a.Duration = time.Duration(us) * time.Microsecond
		out = append(out, a)
	}
	return out, rows.Err()
}

// RecordAttempt implements store.DeliveryStore.
func (db *DB) RecordAttempt(ctx context.Context, id string, a store.DeliveryAttempt, out store.DeliveryOutcome) (string, error) {
	a, err := store.CheckAttempt(a, out)
	if err != nil {
		return "", err
	}
	// Prepared once on the writer (this runs once per delivery attempt).
	var st [5]*sql.Stmt
	for i, q := range recordAttemptSQL {
		if st[i], err = db.stmt(ctx, q); err != nil {
			return "", fmt.Errorf("sqlite: record attempt: %w", err)
		}
	}
	var next string
	err = db.withTx(ctx, func(tx *sql.Tx) error {
		next = ""
		var pos int64
		var ep, key, state string
		var attempts int
		err := tx.StmtContext(ctx, st[0]).QueryRowContext(ctx, id).Scan(&pos, &ep, &key, &state, &attempts)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: no webhook delivery %q", store.ErrNotFound, id)
		}
		if err != nil {
			return fmt.Errorf("sqlite: record attempt: %w", err)
		}
		if state != string(store.DeliveryPending) || attempts != a.N-1 {
			return fmt.Errorf("%w: delivery %s is %s after %d attempts; attempt %d was recorded elsewhere", store.ErrConflict, id, state, attempts, a.N)
		}
		if _, err := tx.StmtContext(ctx, st[1]).ExecContext(ctx, pos, a.N, fmtTime(a.At), a.StatusCode, a.Duration.Microseconds(), a.Error, a.Response); err != nil {
			return fmt.Errorf("sqlite: record attempt: %w", err)
		}
		if _, err := tx.StmtContext(ctx, st[2]).ExecContext(ctx, string(out.State), a.N, nullTime(out.NextAttemptAt), fmtTime(a.At), a.StatusCode, a.Error, pos); err != nil {
			return fmt.Errorf("sqlite: record attempt: %w", err)
		}
		if !out.State.Finished() || key == "" {
			return nil
		}
		var nextPos int64
		err = tx.StmtContext(ctx, st[3]).QueryRowContext(ctx, ep, key).Scan(&nextPos, &next)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("sqlite: record attempt: %w", err)
		}
		if _, err := tx.StmtContext(ctx, st[4]).ExecContext(ctx, fmtTime(db.stamp()), nextPos); err != nil {
			return fmt.Errorf("sqlite: record attempt: %w", err)
		}
		return nil
	})
	return next, err
}

// recordAttemptSQL are RecordAttempt's statements: read the delivery, log the attempt,
// update the delivery, find the next queued one of its order key (the IN term repeats the
// partial index's condition so SQLite uses the index: it does not infer it from state =
// 'queued'), make it pending.
var recordAttemptSQL = [5]string{
	`SELECT pos, endpoint_id, order_key, state, attempts FROM outbound_deliveries WHERE id = ?`,
	`INSERT INTO outbound_attempts (delivery_pos, n, at, status, duration_us, error, response) VALUES (?, ?, ?, ?, ?, ?, ?)`,
	`UPDATE outbound_deliveries SET state = ?, attempts = ?, next_attempt_at = ?, last_attempt_at = ?, last_status = ?, last_error = ?
		WHERE pos = ?`,
	`SELECT pos, id FROM outbound_deliveries
		WHERE endpoint_id = ? AND order_key = ? AND state IN ('queued', 'pending') AND state = 'queued' ORDER BY pos LIMIT 1`,
	`UPDATE outbound_deliveries SET state = 'pending', next_attempt_at = ? WHERE pos = ?`,
}

// ReplayDelivery implements store.DeliveryStore.
func (db *DB) ReplayDelivery(ctx context.Context, id, newID string) (store.Delivery, error) {
	var out store.Delivery
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		var payload []byte
		d, err := scanDelivery(tx.QueryRowContext(ctx, `SELECT `+deliveryColumns+`, payload FROM outbound_deliveries WHERE id = ?`, id), &payload)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: no webhook delivery %q", store.ErrNotFound, id)
		}
		if err != nil {
			return fmt.Errorf("sqlite: replay delivery %s: %w", id, err)
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
	rows, err := db.read.QueryContext(ctx, `SELECT id FROM outbound_deliveries WHERE state = 'pending' AND next_attempt_at < ?
		ORDER BY next_attempt_at LIMIT ?`, fmtTime(before), max(limit, 1))
	if err != nil {
		return nil, fmt.Errorf("sqlite: due deliveries: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("sqlite: due deliveries: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// PruneDeliveries implements store.DeliveryStore.
func (db *DB) PruneDeliveries(ctx context.Context, before time.Time, limit int) (int, error) {
	res, err := db.write.ExecContext(ctx, `DELETE FROM outbound_deliveries WHERE pos IN (
		SELECT pos FROM outbound_deliveries WHERE state IN ('succeeded', 'dead') AND created_at < ? ORDER BY pos LIMIT ?)`,
		fmtTime(before), max(limit, 1))
	if err != nil {
		return 0, fmt.Errorf("sqlite: prune deliveries: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
