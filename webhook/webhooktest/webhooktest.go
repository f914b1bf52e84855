// Package webhooktest is the conformance suite for webhook.SubscriptionStore
// (= store.WebhookStore) implementations: webhook.MemoryStore runs it, and so must every
// database-backed store (store/sqlite runs it in webhooks_test.go).
package webhooktest

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/webhook"
)

// TestStore runs the conformance tests against stores made by newStore, which must return
// an empty store for each call (cleaning up through t.Cleanup).
func TestStore(t *testing.T, newStore func(t *testing.T) webhook.SubscriptionStore) {
	t.Run("RoundTrip", func(t *testing.T) { testRoundTrip(t, newStore(t)) })
	t.Run("NotFound", func(t *testing.T) { testNotFound(t, newStore(t)) })
	t.Run("Replace", func(t *testing.T) { testReplace(t, newStore(t)) })
	t.Run("ListByConnection", func(t *testing.T) { testList(t, newStore(t)) })
	t.Run("Delete", func(t *testing.T) { testDelete(t, newStore(t)) })
	t.Run("Touch", func(t *testing.T) { testTouch(t, newStore(t)) })
	t.Run("Invalid", func(t *testing.T) { testInvalid(t, newStore(t)) })
	t.Run("NoAliasing", func(t *testing.T) { testNoAliasing(t, newStore(t)) })
	t.Run("Concurrent", func(t *testing.T) { testConcurrent(t, newStore(t)) })
}

var base = time.Date(2026, 3, 1, 10, 0, 0, 123_000_000, time.UTC)

// Sample returns a valid subscription with every field set; n varies the ID and set.
func Sample(n int, connectionID string) webhook.Subscription {
	hash := sha256.Sum256(fmt.Appendf(nil, "client-state-%d", n))
	return webhook.Subscription{
		ID:                 fmt.Sprintf("%032x", n+1),
		ConnectionID:       connectionID,
		CompanyID:          "5d115c9c-44e3-ea11-bb43-000d3a2feca1",
		EntitySet:          fmt.Sprintf("set%d", n),
		Resource:           fmt.Sprintf("/api/v2.0/companies(5d115c9c-44e3-ea11-bb43-000d3a2feca1)/set%d", n),
		NotificationURL:    "https://connector.example.com/webhooks/bc",
		ClientStateHash:    hash[:],
		ExpiresAt:          base.Add(72 * time.Hour),
		ETag:               `W/"JzE5OzEyMzQ1Njc4OTAxMjM0NTY3ODkwMTswMDsn"`,
		CreatedAt:          base,
		RenewedAt:          base.Add(time.Hour),
		LastNotificationAt: base.Add(2 * time.Hour),
		State:              webhook.StateActive,
		LastError:          "renewal failed once",
	}
}

func equal(t *testing.T, got, want webhook.Subscription) {
	t.Helper()
	if got.ID != want.ID || got.ConnectionID != want.ConnectionID || got.CompanyID != want.CompanyID ||
		got.EntitySet != want.EntitySet || got.Resource != want.Resource || got.NotificationURL != want.NotificationURL ||
		string(got.ClientStateHash) != string(want.ClientStateHash) || got.ETag != want.ETag ||
		got.State != want.State || got.LastError != want.LastError {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	for _, f := range []struct {
		name      string
		got, want time.Time
	}{
		{"ExpiresAt", got.ExpiresAt, want.ExpiresAt}, {"CreatedAt", got.CreatedAt, want.CreatedAt},
		{"RenewedAt", got.RenewedAt, want.RenewedAt}, {"LastNotificationAt", got.LastNotificationAt, want.LastNotificationAt},
	} {
		if !f.got.Equal(f.want) {
			t.Errorf("%s = %v, want %v", f.name, f.got, f.want)
		}
	}
}

func testRoundTrip(t *testing.T, s webhook.SubscriptionStore) {
	ctx := context.Background()
	want := Sample(1, "conn-a")
	if err := s.PutSubscription(ctx, want); err != nil {
		t.Fatal(err)
	}
	got, err := s.Subscription(ctx, want.ID)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, got, want)
	// Zero times stay zero.
	z := Sample(2, "conn-a")
	z.RenewedAt, z.LastNotificationAt, z.LastError = time.Time{}, time.Time{}, ""
	if err := s.PutSubscription(ctx, z); err != nil {
		t.Fatal(err)
	}
	got, err = s.Subscription(ctx, z.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.RenewedAt.IsZero() || !got.LastNotificationAt.IsZero() {
		t.Errorf("zero times came back as %v, %v", got.RenewedAt, got.LastNotificationAt)
	}
}

func testNotFound(t *testing.T, s webhook.SubscriptionStore) {
	ctx := context.Background()
	if _, err := s.Subscription(ctx, "00000000000000000000000000000000"); !errors.Is(err, webhook.ErrNotFound) {
		t.Errorf("Subscription of a missing id: %v, want ErrNotFound", err)
	}
	if err := s.TouchSubscription(ctx, "00000000000000000000000000000000", base); !errors.Is(err, webhook.ErrNotFound) {
		t.Errorf("TouchSubscription of a missing id: %v, want ErrNotFound", err)
	}
}

func testReplace(t *testing.T, s webhook.SubscriptionStore) {
	ctx := context.Background()
	a := Sample(1, "conn-a")
	if err := s.PutSubscription(ctx, a); err != nil {
		t.Fatal(err)
	}
	a.ETag, a.ExpiresAt, a.State, a.LastError = `W/"new"`, base.Add(144*time.Hour), webhook.StateRemoving, "delete failed"
	if err := s.PutSubscription(ctx, a); err != nil {
		t.Fatal(err)
	}
	got, err := s.Subscription(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, got, a)
	all, err := s.Subscriptions(ctx, "")
	if err != nil || len(all) != 1 {
		t.Errorf("after replacing: %d subscriptions (%v), want 1", len(all), err)
	}
}

func testList(t *testing.T, s webhook.SubscriptionStore) {
	ctx := context.Background()
	for _, n := range []int{3, 1, 2} {
		if err := s.PutSubscription(ctx, Sample(n, "conn-a")); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutSubscription(ctx, Sample(9, "conn-b")); err != nil {
		t.Fatal(err)
	}
	a, err := s.Subscriptions(ctx, "conn-a")
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != 3 || a[0].ID != Sample(1, "").ID || a[1].ID != Sample(2, "").ID || a[2].ID != Sample(3, "").ID {
		t.Errorf("conn-a: %d subscriptions, want 3 ordered by ID: %v", len(a), ids(a))
	}
	all, err := s.Subscriptions(ctx, "")
	if err != nil || len(all) != 4 {
		t.Errorf("all: %v (%v), want 4", ids(all), err)
	}
	none, err := s.Subscriptions(ctx, "conn-z")
	if err != nil || len(none) != 0 {
		t.Errorf("unknown connection: %v (%v), want none", ids(none), err)
	}
}

func testDelete(t *testing.T, s webhook.SubscriptionStore) {
	ctx := context.Background()
	a := Sample(1, "conn-a")
	if err := s.PutSubscription(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSubscription(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Subscription(ctx, a.ID); !errors.Is(err, webhook.ErrNotFound) {
		t.Errorf("after delete: %v, want ErrNotFound", err)
	}
	if err := s.DeleteSubscription(ctx, a.ID); err != nil {
		t.Errorf("deleting a missing subscription: %v, want nil", err)
	}
}

func testTouch(t *testing.T, s webhook.SubscriptionStore) {
	ctx := context.Background()
	a := Sample(1, "conn-a")
	a.LastNotificationAt = time.Time{}
	if err := s.PutSubscription(ctx, a); err != nil {
		t.Fatal(err)
	}
	t1 := base.Add(5 * time.Minute)
	for _, at := range []time.Time{t1, t1.Add(-time.Minute)} { // an older touch does not move it back
		if err := s.TouchSubscription(ctx, a.ID, at); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Subscription(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.LastNotificationAt.Equal(t1) {
		t.Errorf("LastNotificationAt = %v, want %v", got.LastNotificationAt, t1)
	}
	if got.ETag != a.ETag || !got.ExpiresAt.Equal(a.ExpiresAt) {
		t.Errorf("touch changed other fields: %+v", got)
	}
}

func testInvalid(t *testing.T, s webhook.SubscriptionStore) {
	ctx := context.Background()
	for name, mutate := range map[string]func(*webhook.Subscription){
		"no ID":         func(x *webhook.Subscription) { x.ID = "" },
		"no connection": func(x *webhook.Subscription) { x.ConnectionID = "" },
		"short hash":    func(x *webhook.Subscription) { x.ClientStateHash = x.ClientStateHash[:8] },
		"bad state":     func(x *webhook.Subscription) { x.State = "paused" },
	} {
		x := Sample(1, "conn-a")
		mutate(&x)
		if err := s.PutSubscription(ctx, x); err == nil {
			t.Errorf("%s: PutSubscription accepted it", name)
		}
	}
	if all, _ := s.Subscriptions(ctx, ""); len(all) != 0 {
		t.Errorf("invalid subscriptions were stored: %v", ids(all))
	}
}

func testNoAliasing(t *testing.T, s webhook.SubscriptionStore) {
	ctx := context.Background()
	a := Sample(1, "conn-a")
	want := string(a.ClientStateHash)
	if err := s.PutSubscription(ctx, a); err != nil {
		t.Fatal(err)
	}
	a.ClientStateHash[0] ^= 0xff // the caller's slice changes after the put
	got, err := s.Subscription(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	got.ClientStateHash[1] ^= 0xff // and the returned one is changed by its reader
	again, err := s.Subscription(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if string(again.ClientStateHash) != want {
		t.Error("the stored ClientStateHash shares memory with a caller's slice")
	}
}

func testConcurrent(t *testing.T, s webhook.SubscriptionStore) {
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 20 {
		wg.Go(func() {
			x := Sample(i, "conn-a")
			if err := s.PutSubscription(ctx, x); err != nil {
				errs <- err
				return
			}
			if err := s.TouchSubscription(ctx, x.ID, base.Add(time.Duration(i)*time.Hour)); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if all, err := s.Subscriptions(ctx, "conn-a"); err != nil || len(all) != 20 {
		t.Errorf("after concurrent puts: %d (%v), want 20", len(all), err)
	}
}

func ids(subs []webhook.Subscription) []string {
	out := make([]string, len(subs))
	for i, s := range subs {
		out[i] = s.ID
	}
	return out
}
