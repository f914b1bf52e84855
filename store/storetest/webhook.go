package storetest

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/store"
)

// RunWebhooks runs the conformance suite of store.WebhookStore (webhook.SubscriptionStore)
// against the stores newStore returns, each empty. Subtests run in parallel.
func RunWebhooks(t *testing.T, newStore func(t *testing.T) store.WebhookStore) {
	t.Helper()
	runTests(t, newStore, []test[store.WebhookStore]{
		{"RoundTrip", testWebhookRoundTrip},
		{"NotFound", testWebhookNotFound},
		{"Replace", testWebhookReplace},
		{"ListByConnection", testWebhookList},
		{"Delete", testWebhookDelete},
		{"Touch", testWebhookTouch},
		{"TouchAcrossZones", testWebhookTouchAcrossZones},
		{"Invalid", testWebhookInvalid},
		{"NoAliasing", testWebhookNoAliasing},
		{"Concurrent", testWebhookConcurrent},
		{"ConcurrentTouches", testWebhookConcurrentTouches},
		{"NotifiedAndMissed", testWebhookNotifiedAndMissed},
	})
}

var hookBase = time.Date(2026, 3, 1, 10, 0, 0, 123_000_000, time.UTC)

// Subscription returns a valid subscription with every field set; n varies the ID and set.
func Subscription(n int, connectionID string) store.WebhookSubscription {
	hash := sha256.Sum256(fmt.Appendf(nil, "client-state-%d", n))
	return store.WebhookSubscription{
		ID:                 fmt.Sprintf("%032x", n+1),
		ConnectionID:       connectionID,
		CompanyID:          "5d115c9c-44e3-ea11-bb43-000d3a2feca1",
		EntitySet:          fmt.Sprintf("set%d", n),
		Resource:           fmt.Sprintf("/api/v2.0/companies(5d115c9c-44e3-ea11-bb43-000d3a2feca1)/set%d", n),
		NotificationURL:    "https://connector.example.com/webhooks/bc",
		ClientStateHash:    hash[:],
		ExpiresAt:          hookBase.Add(72 * time.Hour),
		ETag:               `W/"JzE5OzEyMzQ1Njc4OTAxMjM0NTY3ODkwMTswMDsn"`,
		CreatedAt:          hookBase,
		RenewedAt:          hookBase.Add(time.Hour),
		LastNotificationAt: hookBase.Add(2 * time.Hour),
		State:              store.WebhookActive,
		LastError:          "renewal failed once",
	}
}

func equalSubscription(t *testing.T, got, want store.WebhookSubscription) {
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

func testWebhookRoundTrip(t *testing.T, s store.WebhookStore) {
	ctx := t.Context()
	want := Subscription(1, "conn-a")
	if err := s.PutSubscription(ctx, want); err != nil {
		t.Fatal(err)
	}
	got, err := s.Subscription(ctx, want.ID)
	if err != nil {
		t.Fatal(err)
	}
	equalSubscription(t, got, want)
	// Zero times stay zero.
	z := Subscription(2, "conn-a")
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

func testWebhookNotFound(t *testing.T, s store.WebhookStore) {
	ctx := t.Context()
	if _, err := s.Subscription(ctx, "00000000000000000000000000000000"); !errors.Is(err, store.ErrWebhookNotFound) {
		t.Errorf("Subscription of a missing id: %v, want ErrNotFound", err)
	}
	if err := s.TouchSubscription(ctx, "00000000000000000000000000000000", hookBase); !errors.Is(err, store.ErrWebhookNotFound) {
		t.Errorf("TouchSubscription of a missing id: %v, want ErrNotFound", err)
	}
}

func testWebhookReplace(t *testing.T, s store.WebhookStore) {
	ctx := t.Context()
	a := Subscription(1, "conn-a")
	if err := s.PutSubscription(ctx, a); err != nil {
		t.Fatal(err)
	}
	a.ETag, a.ExpiresAt, a.State, a.LastError = `W/"new"`, hookBase.Add(144*time.Hour), store.WebhookRemoving, "delete failed"
	if err := s.PutSubscription(ctx, a); err != nil {
		t.Fatal(err)
	}
	got, err := s.Subscription(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	equalSubscription(t, got, a)
	all, err := s.Subscriptions(ctx, "")
	if err != nil || len(all) != 1 {
		t.Errorf("after replacing: %d subscriptions (%v), want 1", len(all), err)
	}
}

func testWebhookList(t *testing.T, s store.WebhookStore) {
	ctx := t.Context()
	for _, n := range []int{3, 1, 2} {
		if err := s.PutSubscription(ctx, Subscription(n, "conn-a")); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutSubscription(ctx, Subscription(9, "conn-b")); err != nil {
		t.Fatal(err)
	}
	a, err := s.Subscriptions(ctx, "conn-a")
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != 3 || a[0].ID != Subscription(1, "").ID || a[1].ID != Subscription(2, "").ID || a[2].ID != Subscription(3, "").ID {
		t.Errorf("conn-a: %d subscriptions, want 3 ordered by ID: %v", len(a), subscriptionIDs(a))
	}
	all, err := s.Subscriptions(ctx, "")
	if err != nil || len(all) != 4 {
		t.Errorf("all: %v (%v), want 4", subscriptionIDs(all), err)
	}
	none, err := s.Subscriptions(ctx, "conn-z")
	if err != nil || len(none) != 0 {
		t.Errorf("unknown connection: %v (%v), want none", subscriptionIDs(none), err)
	}
}

func testWebhookDelete(t *testing.T, s store.WebhookStore) {
	ctx := t.Context()
	a := Subscription(1, "conn-a")
	if err := s.PutSubscription(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSubscription(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Subscription(ctx, a.ID); !errors.Is(err, store.ErrWebhookNotFound) {
		t.Errorf("after delete: %v, want ErrNotFound", err)
	}
	if err := s.DeleteSubscription(ctx, a.ID); err != nil {
		t.Errorf("deleting a missing subscription: %v, want nil", err)
	}
}

func testWebhookTouch(t *testing.T, s store.WebhookStore) {
	ctx := t.Context()
	a := Subscription(1, "conn-a")
	a.LastNotificationAt = time.Time{}
	if err := s.PutSubscription(ctx, a); err != nil {
		t.Fatal(err)
	}
	t1 := hookBase.Add(5 * time.Minute)
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

func testWebhookInvalid(t *testing.T, s store.WebhookStore) {
	ctx := t.Context()
	for name, mutate := range map[string]func(*store.WebhookSubscription){
		"no ID":         func(x *store.WebhookSubscription) { x.ID = "" },
		"no connection": func(x *store.WebhookSubscription) { x.ConnectionID = "" },
		"short hash":    func(x *store.WebhookSubscription) { x.ClientStateHash = x.ClientStateHash[:8] },
		"bad state":     func(x *store.WebhookSubscription) { x.State = "paused" },
	} {
		x := Subscription(1, "conn-a")
		mutate(&x)
		if err := s.PutSubscription(ctx, x); err == nil {
			t.Errorf("%s: PutSubscription accepted it", name)
		}
	}
	if all, _ := s.Subscriptions(ctx, ""); len(all) != 0 {
		t.Errorf("invalid subscriptions were stored: %v", subscriptionIDs(all))
	}
}

func testWebhookNoAliasing(t *testing.T, s store.WebhookStore) {
	ctx := t.Context()
	a := Subscription(1, "conn-a")
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

func testWebhookConcurrent(t *testing.T, s store.WebhookStore) {
	ctx := t.Context()
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 20 {
		wg.Go(func() {
			x := Subscription(i, "conn-a")
			if err := s.PutSubscription(ctx, x); err != nil {
				errs <- err
				return
			}
			if err := s.TouchSubscription(ctx, x.ID, hookBase.Add(time.Duration(i)*time.Hour)); err != nil {
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

func subscriptionIDs(subs []store.WebhookSubscription) []string {
	out := make([]string, len(subs))
	for i, s := range subs {
		out[i] = s.ID
	}
	return out
}

// testWebhookTouchAcrossZones: "later" means later in time, whatever the zone of the
// times given; times come back in UTC.
func testWebhookTouchAcrossZones(t *testing.T, s store.WebhookStore) {
	ctx := t.Context()
	x := Subscription(1, "conn-a")
	x.LastNotificationAt = time.Time{}
	if err := s.PutSubscription(ctx, x); err != nil {
		t.Fatal(err)
	}
	// 12:30+02:00 is 10:30Z; 11:00Z is later and wins; 22:59:59-12:00 on the day before is
	// 10:59:59Z, earlier although its local date and clock read differently, and must not win.
	east := time.FixedZone("UTC+2", 2*3600)
	west := time.FixedZone("UTC-12", -12*3600)
	t1 := time.Date(2026, 3, 1, 12, 30, 0, 0, east)
	t2 := time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC)
	t3 := time.Date(2026, 2, 28, 22, 59, 59, 0, west)
	for _, at := range []time.Time{t1, t2, t3} {
		if err := s.TouchSubscription(ctx, x.ID, at); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Subscription(ctx, x.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.LastNotificationAt.Equal(t2) || got.LastNotificationAt.Location() != time.UTC {
		t.Errorf("LastNotificationAt = %v, want %v in UTC", got.LastNotificationAt, t2)
	}
	if _, err := s.Subscription(ctx, "missing"); err == nil || !strings.Contains(err.Error(), `"missing"`) ||
		!errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing subscription: %v, want a store.ErrNotFound naming the id", err)
	}
	x.State = "paused"
	if err := s.PutSubscription(ctx, x); !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), "State") {
		t.Errorf("bad state: %v, want ErrInvalid naming State", err)
	}
}

// testWebhookConcurrentTouches: notifications arriving at once leave the latest time.
func testWebhookConcurrentTouches(t *testing.T, s store.WebhookStore) {
	ctx := t.Context()
	x := Subscription(1, "conn-a")
	x.LastNotificationAt = time.Time{}
	if err := s.PutSubscription(ctx, x); err != nil {
		t.Fatal(err)
	}
	const n = 16
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			// Odd and even times interleave so that a lost update would be visible.
			at := hookBase.Add(time.Duration((i*7)%n) * time.Minute)
			if err := s.TouchSubscription(ctx, x.ID, at); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	collect(t, errs)
	got, err := s.Subscription(ctx, x.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := hookBase.Add((n - 1) * time.Minute); !got.LastNotificationAt.Equal(want) {
		t.Errorf("LastNotificationAt = %v after concurrent touches, want the latest %v", got.LastNotificationAt, want)
	}
}

// testWebhookNotifiedAndMissed: what notifications reported and the missed count are kept
// by NoteNotified and NoteMissed (only ever later, concurrent calls all counted), and a
// PutSubscription of the subscription (a renewal by another instance, from an older read)
// does not undo them.
func testWebhookNotifiedAndMissed(t *testing.T, s store.WebhookStore) {
	ctx := t.Context()
	a := Subscription(1, "conn-a")
	a.LastNotificationAt = time.Time{}
	if err := s.PutSubscription(ctx, a); err != nil {
		t.Fatal(err)
	}
	at, upTo := hookBase.Add(10*time.Minute), hookBase.Add(9*time.Minute)
	for _, d := range []time.Duration{0, -time.Minute} { // an older one does not move them back
		if err := s.NoteNotified(ctx, a.ID, at.Add(d), upTo.Add(d)); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 5)
	for i := range 5 {
		wg.Go(func() {
			if err := s.NoteMissed(ctx, a.ID, hookBase.Add(time.Duration(20+i)*time.Minute)); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	collect(t, errs)
	renewed := a // read before the notes, written after them
	renewed.ExpiresAt = renewed.ExpiresAt.Add(24 * time.Hour)
	renewed.LastNotificationAt = at
	if err := s.PutSubscription(ctx, renewed); err != nil {
		t.Fatal(err)
	}
	got, err := s.Subscription(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.NotifiedUpTo.Equal(upTo) || !got.LastNotificationAt.Equal(at) || got.MissedCount != 5 || got.LastMissedAt.IsZero() {
		t.Errorf("after notes and a renewal: NotifiedUpTo %v (want %v), LastNotificationAt %v (want %v), MissedCount %d (want 5), LastMissedAt %v",
			got.NotifiedUpTo, upTo, got.LastNotificationAt, at, got.MissedCount, got.LastMissedAt)
	}
	if !got.ExpiresAt.Equal(renewed.ExpiresAt) {
		t.Errorf("the renewal was not stored: expires %v", got.ExpiresAt)
	}
	missing := "ffffffffffffffffffffffffffffffff"
	if err := s.NoteNotified(ctx, missing, at, upTo); !errors.Is(err, store.ErrWebhookNotFound) {
		t.Errorf("NoteNotified of a missing id: %v", err)
	}
	if err := s.NoteMissed(ctx, missing, at); !errors.Is(err, store.ErrWebhookNotFound) {
		t.Errorf("NoteMissed of a missing id: %v", err)
	}
}
