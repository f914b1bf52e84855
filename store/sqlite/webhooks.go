package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/bizzjoiner/bcconnector/store"
)

var _ store.WebhookStore = (*DB)(nil)

const webhookColumns = `id, connection_id, company_id, entity_set, resource, notification_url,
	client_state_hash, expires_at, etag, created_at, renewed_at, last_notification_at, state, last_error,
	notified_up_to, missed_count, last_missed_at`

func scanWebhook(r rowScanner) (store.WebhookSubscription, error) {
	var s store.WebhookSubscription
	var expires, created, renewed, notified, upTo, missedAt sql.NullString
	var state string
	if err := r.Scan(&s.ID, &s.ConnectionID, &s.CompanyID, &s.EntitySet, &s.Resource, &s.NotificationURL,
		&s.ClientStateHash, &expires, &s.ETag, &created, &renewed, &notified, &state, &s.LastError,
		&upTo, &s.MissedCount, &missedAt); err != nil {
		return s, err
	}
	s.State = store.WebhookState(state)
	for _, f := range []struct {
		dst *time.Time
		src sql.NullString
	}{{&s.ExpiresAt, expires}, {&s.CreatedAt, created}, {&s.RenewedAt, renewed}, {&s.LastNotificationAt, notified},
		{&s.NotifiedUpTo, upTo}, {&s.LastMissedAt, missedAt}} {
		t, err := parseTime(f.src)
		if err != nil {
			return s, fmt.Errorf("webhook subscription %s: %w", s.ID, err)
		}
		*f.dst = t
	}
	return s, nil
}

// PutSubscription implements store.WebhookStore.
func (db *DB) PutSubscription(ctx context.Context, s store.WebhookSubscription) error {
	if err := s.Validate(); err != nil {
		return err
	}
	return db.withTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO webhook_subscriptions (`+webhookColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET connection_id = excluded.connection_id, company_id = excluded.company_id,
			entity_set = excluded.entity_set, resource = excluded.resource, notification_url = excluded.notification_url,
			client_state_hash = excluded.client_state_hash, expires_at = excluded.expires_at, etag = excluded.etag,
			created_at = excluded.created_at, renewed_at = excluded.renewed_at,
			last_notification_at = excluded.last_notification_at, state = excluded.state, last_error = excluded.last_error`,
			s.ID, s.ConnectionID, s.CompanyID, s.EntitySet, s.Resource, s.NotificationURL,
			s.ClientStateHash, nullTime(s.ExpiresAt), s.ETag, nullTime(s.CreatedAt), nullTime(s.RenewedAt),
			nullTime(s.LastNotificationAt), string(s.State), s.LastError,
			nullTime(s.NotifiedUpTo), s.MissedCount, nullTime(s.LastMissedAt))
		if err != nil {
			return fmt.Errorf("sqlite: put webhook subscription %s: %w", s.ID, err)
		}
		return nil
	})
}

// Subscription implements store.WebhookStore.
func (db *DB) Subscription(ctx context.Context, id string) (store.WebhookSubscription, error) {
	s, err := scanWebhook(db.read.QueryRowContext(ctx,
		`SELECT `+webhookColumns+` FROM webhook_subscriptions WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.WebhookSubscription{}, fmt.Errorf("%w %q", store.ErrWebhookNotFound, id)
	}
	if err != nil {
		return store.WebhookSubscription{}, fmt.Errorf("sqlite: get webhook subscription %q: %w", id, err)
	}
	return s, nil
}

// Subscriptions implements store.WebhookStore.
func (db *DB) Subscriptions(ctx context.Context, connectionID string) ([]store.WebhookSubscription, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+webhookColumns+` FROM webhook_subscriptions
		WHERE ?1 = '' OR connection_id = ?1 ORDER BY id`, connectionID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list webhook subscriptions: %w", err)
	}
	defer rows.Close()
	var out []store.WebhookSubscription
	for rows.Next() {
		s, err := scanWebhook(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list webhook subscriptions: %w", err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list webhook subscriptions: %w", err)
	}
	return out, nil
}

// DeleteSubscription implements store.WebhookStore.
func (db *DB) DeleteSubscription(ctx context.Context, id string) error {
	return db.withTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM webhook_subscriptions WHERE id = ?`, id); err != nil {
			return fmt.Errorf("sqlite: delete webhook subscription %q: %w", id, err)
		}
		return nil
	})
}

// TouchSubscription implements store.WebhookStore. The stored times are fixed-width UTC
// text, so "unless it is already later" is a string comparison.
func (db *DB) TouchSubscription(ctx context.Context, id string, at time.Time) error {
	return db.withTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM webhook_subscriptions WHERE id = ?`, id).Scan(&n); err != nil {
			return fmt.Errorf("sqlite: touch webhook subscription %q: %w", id, err)
		}
		if n == 0 {
			return fmt.Errorf("%w %q", store.ErrWebhookNotFound, id)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE webhook_subscriptions SET last_notification_at = ?2
			WHERE id = ?1 AND (last_notification_at IS NULL OR last_notification_at < ?2)`, id, fmtTime(at)); err != nil {
			return fmt.Errorf("sqlite: touch webhook subscription %q: %w", id, err)
		}
		return nil
	})
}

// NoteNotified implements store.WebhookStore.
func (db *DB) NoteNotified(ctx context.Context, id string, at, upTo time.Time) error {
	return db.noteWebhook(ctx, id, `UPDATE webhook_subscriptions SET
		last_notification_at = CASE WHEN ?2 IS NOT NULL AND (last_notification_at IS NULL OR last_notification_at < ?2) THEN ?2 ELSE last_notification_at END,
		notified_up_to = CASE WHEN ?3 IS NOT NULL AND (notified_up_to IS NULL OR notified_up_to < ?3) THEN ?3 ELSE notified_up_to END
		WHERE id = ?1`, id, nullTime(at), nullTime(upTo))
}

// NoteMissed implements store.WebhookStore.
func (db *DB) NoteMissed(ctx context.Context, id string, at time.Time) error {
	return db.noteWebhook(ctx, id, `UPDATE webhook_subscriptions SET missed_count = missed_count + 1, last_missed_at = ?2 WHERE id = ?1`,
		id, nullTime(at))
}

// noteWebhook runs an update of one subscription; ErrWebhookNotFound when there is none.
func (db *DB) noteWebhook(ctx context.Context, id, q string, args ...any) error {
	return db.withTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("sqlite: update webhook subscription %q: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w %q", store.ErrWebhookNotFound, id)
		}
		return nil
	})
}
