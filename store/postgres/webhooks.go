package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bizzjoiner/bcconnector/store"
)

var _ store.WebhookStore = (*DB)(nil)

const webhookColumns = `id, connection_id, company_id, entity_set, resource, notification_url,
	client_state_hash, expires_at, etag, created_at, renewed_at, last_notification_at, state, last_error,
	notified_up_to, missed_count, last_missed_at`

func scanWebhook(r pgx.Row) (store.WebhookSubscription, error) {
	var s store.WebhookSubscription
	var expires, created, renewed, notified, upTo, missedAt *time.Time
	var state string
	if err := r.Scan(&s.ID, &s.ConnectionID, &s.CompanyID, &s.EntitySet, &s.Resource, &s.NotificationURL,
		&s.ClientStateHash, &expires, &s.ETag, &created, &renewed, &notified, &state, &s.LastError,
		&upTo, &s.MissedCount, &missedAt); err != nil {
		return s, err
	}
	s.State = store.WebhookState(state)
	s.ExpiresAt, s.CreatedAt, s.RenewedAt, s.LastNotificationAt = utc(expires), utc(created), utc(renewed), utc(notified)
	s.NotifiedUpTo, s.LastMissedAt = utc(upTo), utc(missedAt)
	return s, nil
}

// PutSubscription implements store.WebhookStore.
func (db *DB) PutSubscription(ctx context.Context, s store.WebhookSubscription) error {
	if err := s.Validate(); err != nil {
		return err
	}
	_, err := db.pool.Exec(ctx, `INSERT INTO webhook_subscriptions (`+webhookColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
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
		return fmt.Errorf("postgres: put webhook subscription %s: %w", s.ID, err)
	}
	return nil
}

// Subscription implements store.WebhookStore.
func (db *DB) Subscription(ctx context.Context, id string) (store.WebhookSubscription, error) {
	s, err := scanWebhook(db.pool.QueryRow(ctx, `SELECT `+webhookColumns+` FROM webhook_subscriptions WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.WebhookSubscription{}, fmt.Errorf("%w %q", store.ErrWebhookNotFound, id)
	}
	if err != nil {
		return store.WebhookSubscription{}, fmt.Errorf("postgres: get webhook subscription %q: %w", id, err)
	}
	return s, nil
}

// Subscriptions implements store.WebhookStore.
func (db *DB) Subscriptions(ctx context.Context, connectionID string) ([]store.WebhookSubscription, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+webhookColumns+` FROM webhook_subscriptions
		WHERE $1 = '' OR connection_id = $1 ORDER BY id`, connectionID)
	if err != nil {
		return nil, fmt.Errorf("postgres: list webhook subscriptions: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.WebhookSubscription, error) { return scanWebhook(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: list webhook subscriptions: %w", err)
	}
	return out, nil
}

// DeleteSubscription implements store.WebhookStore.
func (db *DB) DeleteSubscription(ctx context.Context, id string) error {
	if _, err := db.pool.Exec(ctx, `DELETE FROM webhook_subscriptions WHERE id = $1`, id); err != nil {
		return fmt.Errorf("postgres: delete webhook subscription %q: %w", id, err)
	}
	return nil
}

// TouchSubscription implements store.WebhookStore, in one statement: concurrent touches
// leave the latest time.
func (db *DB) TouchSubscription(ctx context.Context, id string, at time.Time) error {
	var exists bool
	err := db.pool.QueryRow(ctx, `WITH u AS (
			UPDATE webhook_subscriptions SET last_notification_at = $2
			WHERE id = $1 AND (last_notification_at IS NULL OR last_notification_at < $2) RETURNING 1
		) SELECT EXISTS (SELECT 1 FROM webhook_subscriptions WHERE id = $1)`, id, nullTime(at)).Scan(&exists)
	if err != nil {
		return fmt.Errorf("postgres: touch webhook subscription %q: %w", id, err)
	}
	if !exists {
		return fmt.Errorf("%w %q", store.ErrWebhookNotFound, id)
	}
	return nil
}

// NoteNotified implements store.WebhookStore, in one statement: concurrent calls leave the
// latest times.
func (db *DB) NoteNotified(ctx context.Context, id string, at, upTo time.Time) error {
	return db.noteWebhook(ctx, id, `UPDATE webhook_subscriptions SET
		last_notification_at = CASE WHEN $2::timestamptz IS NOT NULL AND (last_notification_at IS NULL OR last_notification_at < $2) THEN $2 ELSE last_notification_at END,
		notified_up_to = CASE WHEN $3::timestamptz IS NOT NULL AND (notified_up_to IS NULL OR notified_up_to < $3) THEN $3 ELSE notified_up_to END
		WHERE id = $1`, id, nullTime(at), nullTime(upTo))
}

// NoteMissed implements store.WebhookStore.
func (db *DB) NoteMissed(ctx context.Context, id string, at time.Time) error {
	return db.noteWebhook(ctx, id, `UPDATE webhook_subscriptions SET missed_count = missed_count + 1, last_missed_at = $2 WHERE id = $1`,
		id, nullTime(at))
}

// noteWebhook runs an update of one subscription; ErrWebhookNotFound when there is none.
func (db *DB) noteWebhook(ctx context.Context, id, q string, args ...any) error {
	tag, err := db.pool.Exec(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("postgres: update webhook subscription %q: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%w %q", store.ErrWebhookNotFound, id)
	}
	return nil
}
