package service

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/bc"
	"github.com/bizzjoiner/bcconnector/guide"
	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/store/sqlite"
	"github.com/bizzjoiner/bcconnector/webhook"
)

func TestEndpointOverridesAreOffByDefault(t *testing.T) {
	s := &Impl{}
	in := ConnectionInput{BCBaseURL: "https://evil.example/v2.0"}
	var fe *guide.FieldError
	if err := s.checkEndpoints(in); !errors.As(err, &fe) || fe.Field != "BC API base URL" {
		t.Errorf("override accepted: %v", err)
	}
	if err := s.checkEndpoints(ConnectionInput{CAFile: "/etc/shadow"}); err == nil {
		t.Error("CA file override accepted")
	}
	if err := s.checkEndpoints(ConnectionInput{AuthorityHost: guide.DefaultAuthorityHost}); err != nil {
		t.Errorf("the default authority host is not an override: %v", err)
	}
	s.allowOverrides = true
	if err := s.checkEndpoints(in); err != nil {
		t.Errorf("allowed override refused: %v", err)
	}
}

// TestDeleteConnectionBoundsBC: removal deletes the webhook subscriptions through
// RemoveWebhooksFunc with the connection's BC client; a BC that does not answer holds it up
// for RemoveTimeout only, and what it left is in the Removal and the audit entry.
func TestDeleteConnectionBoundsBC(t *testing.T) {
	ctx := t.Context()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "bcc.db"), secret.GenerateKeyring(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var called string
	var gotClient bool
	svc, err := New(Options{Store: db, RemoveTimeout: 50 * time.Millisecond,
		RemoveWebhooksFunc: func(ctx context.Context, c *bc.Client, id string) (webhook.RemoveResult, error) {
			called, gotClient = id, c != nil
			subs, _ := db.Subscriptions(ctx, id)
			<-ctx.Done() // BC does not answer
			return webhook.RemoveResult{Left: subs}, ctx.Err()
		}})
	if err != nil {
		t.Fatal(err)
	}
	v, err := svc.CreateConnectionUnchecked(ctx, ConnectionInput{TenantID: "contoso.onmicrosoft.com", ClientID: "4f6c2b1d-1111-4222-8333-944455556666",
		Secret: "Kx38Q~abcdefghijklmnopqrstuvwxyz0123456", Environment: "Production", Company: "f60ea093-52a0-4d60-9173-2810c5f8eb47"})
	if err != nil {
		t.Fatal(err)
	}
	// Without subscriptions BC is not asked.
	if rm, err := svc.DeleteConnection(ctx, v.ID); err != nil || called != "" || rm.WebhooksDeleted != 0 || len(rm.WebhooksLeft) != 0 {
		t.Fatalf("DeleteConnection without subscriptions = %+v, %v (called %q)", rm, err, called)
	}
	v, err = svc.CreateConnectionUnchecked(ctx, ConnectionInput{Name: "second", TenantID: "contoso.onmicrosoft.com", ClientID: "4f6c2b1d-1111-4222-8333-944455556666",
		Secret: "Kx38Q~abcdefghijklmnopqrstuvwxyz0123456", Environment: "Production", Company: "f60ea093-52a0-4d60-9173-2810c5f8eb47"})
	if err != nil {
		t.Fatal(err)
	}
	expires := time.Date(2026, 9, 4, 12, 0, 0, 0, time.UTC)
	if err := db.PutSubscription(ctx, store.WebhookSubscription{ID: "sub-1", ConnectionID: v.ID, CompanyID: "f60ea093-52a0-4d60-9173-2810c5f8eb47",
		EntitySet: "customers", ClientStateHash: make([]byte, 32), ExpiresAt: expires, State: store.WebhookActive}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	rm, err := svc.DeleteConnection(ctx, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if called != v.ID || !gotClient {
		t.Errorf("RemoveWebhooksFunc called with %q (client %v), want %q with a client", called, gotClient, v.ID)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("removal took %s with BC silent", took)
	}
	if len(rm.WebhooksLeft) != 1 || rm.WebhooksLeft[0].EntitySet != "customers" || !strings.Contains(rm.Problem, "did not answer within 50ms") {
		t.Errorf("Removal = %+v; want customers left, BC did not answer", rm)
	}
	if _, err := db.GetConnection(ctx, v.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("connection still there: %v", err)
	}
	if subs, _ := db.Subscriptions(ctx, v.ID); len(subs) != 0 {
		t.Errorf("the store still holds %d subscriptions of the removed connection", len(subs))
	}
	entries, err := db.Audit(ctx, store.AuditFilter{ConnectionID: v.ID, Action: store.AuditConnectionDeleted})
	if err != nil || len(entries) != 1 || !strings.Contains(entries[0].Detail, "1 BC webhook subscription left at BC (customers)") ||
		!strings.Contains(entries[0].Detail, "expire by 2026-09-04 12:00 UTC") {
		t.Errorf("audit entry of the removal: %+v, %v", entries, err)
	}
}
