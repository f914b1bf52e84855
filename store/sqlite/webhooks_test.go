package sqlite

import (
	"bytes"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/store/storetest"
)

func TestWebhookClientStateHashIsBlob(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := openTest(t, filepath.Join(t.TempDir(), "blob.db"), secret.GenerateKeyring(), Options{})
	s := storetest.Subscription(1, "conn-a")
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

// TestWebhookMigrationAfterLaterOne checks that 0003_webhooks.sql, added after 0004 had
// shipped, is still applied to a database that already has 0004: the runner applies every
// version missing from schema_migrations, not only those above the newest.
func TestWebhookMigrationAfterLaterOne(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "gap.db")
	kr := secret.GenerateKeyring()
	db := openTest(t, path, kr, Options{})
	// Make it look like a database migrated by the release before 0003 existed (and so
	// before 0014, which adds columns to its table).
	for _, q := range []string{`DROP TABLE webhook_subscriptions`, `DELETE FROM schema_migrations WHERE version IN (3, 14)`} {
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
	if err := db2.PutSubscription(ctx, storetest.Subscription(1, "conn-a")); err != nil {
		t.Fatalf("webhook table after late migration: %v", err)
	}
}
