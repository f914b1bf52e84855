package sqlite

import (
	"bytes"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/webhook"
	"github.com/bizzjoiner/bcconnector/webhook/webhooktest"
)

func TestWebhookStoreConformance(t *testing.T) {
	t.Parallel()
	webhooktest.TestStore(t, func(t *testing.T) webhook.SubscriptionStore {
		return openTest(t, filepath.Join(t.TempDir(), "hooks.db"), secret.GenerateKeyring(), Options{})
	})
}

func TestWebhookClientStateHashIsBlob(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := openTest(t, filepath.Join(t.TempDir(), "blob.db"), secret.GenerateKeyring(), Options{})
	s := webhooktest.Sample(1, "conn-a")
	if err := db.PutSubscription(ctx, s); err != nil {
		t.Fatal(err)
	}
	var typ string
	var n int
	if err := db.read.QueryRowContext(ctx, `SELECT typeof(client_state_hash), length(client_state_hash)
		FROM webhook_subscriptions WHERE id = ?`, s.ID).Scan(&typ, &n); err != nil {
		t.Fatal(err)
	}
	if typ != "blob" || n != 32 {
		t.Errorf("client_state_hash is %s of %d bytes, want a 32-byte blob", typ, n)
	}
	// The table's CHECK backs up Validate.
	if _, err := db.write.ExecContext(ctx, `UPDATE webhook_subscriptions SET client_state_hash = x'00' WHERE id = ?`, s.ID); err == nil {
		t.Error("a 1-byte client_state_hash was accepted by the table")
	}
	// Invalid input is refused with an error wrapping store.ErrInvalid and naming the field.
	s.State = "paused"
	if err := db.PutSubscription(ctx, s); !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), "State") {
		t.Errorf("bad state: %v", err)
	}
}

func TestWebhookTouchAcrossZones(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := openTest(t, filepath.Join(t.TempDir(), "touch.db"), secret.GenerateKeyring(), Options{})
	s := webhooktest.Sample(1, "conn-a")
	s.LastNotificationAt = time.Time{}
	if err := db.PutSubscription(ctx, s); err != nil {
		t.Fatal(err)
	}
	// 12:30+02:00 is 10:30Z; 11:00Z is later and wins; 22:59:59-12:00 on the day before is
	// 10:59:59Z, earlier although its local date and clock read differently, and must not win.
	east := time.FixedZone("UTC+2", 2*3600)
	west := time.FixedZone("UTC-12", -12*3600)
	t1 := time.Date(2026, 3, 1, 12, 30, 0, 0, east)
	t2 := time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC)
	t3 := time.Date(2026, 2, 28, 22, 59, 59, 0, west) // 10:59:59Z, before t2
	for _, at := range []time.Time{t1, t2, t3} {
		if err := db.TouchSubscription(ctx, s.ID, at); err != nil {
			t.Fatal(err)
		}
	}
	got, err := db.Subscription(ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.LastNotificationAt.Equal(t2) || got.LastNotificationAt.Location() != time.UTC {
		t.Errorf("LastNotificationAt = %v, want %v in UTC", got.LastNotificationAt, t2)
	}
	if _, err := db.Subscription(ctx, "missing"); !strings.Contains(err.Error(), `"missing"`) ||
		!errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing subscription: %v, want a store.ErrNotFound naming the id", err)
	}
}

// TestWebhookMigrationAfterLaterOne checks that 0003_webhooks.sql, added after 0004 had
// shipped, is still applied to a database that already has 0004: the runner applies every
// version missing from schema_migrations, not only those above the newest.
func TestWebhookMigrationAfterLaterOne(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "gap.db")
	kr := secret.GenerateKeyring()
	db := openTest(t, path, kr, Options{})
	// Make it look like a database migrated by the release before 0003 existed.
	for _, q := range []string{`DROP TABLE webhook_subscriptions`, `DELETE FROM schema_migrations WHERE version = 3`} {
		if _, err := db.write.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	var max int
	if err := db.read.QueryRowContext(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&max); err != nil || max < 4 {
		t.Fatalf("max version = %d (%v), want >= 4", max, err)
	}
	db.Close()

	var logs bytes.Buffer
	db2 := openTest(t, path, kr, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if !strings.Contains(logs.String(), "0003_webhooks.sql") {
		t.Errorf("0003 not applied on reopen; log: %s", logs.String())
	}
	if err := db2.PutSubscription(ctx, webhooktest.Sample(1, "conn-a")); err != nil {
		t.Fatalf("webhook table after late migration: %v", err)
	}
}
