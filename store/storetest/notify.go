package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
)

// RunNotifier runs the conformance suite of store.Notifier: delivery by channel, cancel,
// and the messages the store publishes itself when a connection or its secrets change
// and when the change log grows.
func RunNotifier(t *testing.T, open Opener) {
	t.Helper()
	runTests(t, func(*testing.T) Opener { return open }, []test[Opener]{
		{"Channels", testNotifyChannels},
		{"Cancel", testNotifyCancel},
		{"ConnectionChanges", testNotifyConnectionChanges},
		{"ChangeLog", testNotifyChangeLog},
		{"Validation", testNotifyValidation},
	})
}

// inbox records the messages a subscriber receives, in order.
type inbox struct {
	mu   sync.Mutex
	got  []string
	more chan struct{}
}

func newInbox() *inbox { return &inbox{more: make(chan struct{}, 1)} }

func (b *inbox) fn(channel string) func(string) {
	return func(p string) {
		b.mu.Lock()
		b.got = append(b.got, channel+":"+p)
		b.mu.Unlock()
		select {
		case b.more <- struct{}{}:
		default:
		}
	}
}

// await waits until the inbox holds n messages (or fails t after 20 s) and returns them.
func (b *inbox) await(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		b.mu.Lock()
		got := append([]string(nil), b.got...)
		b.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-b.more:
		case <-deadline:
			t.Fatalf("received %q, want %d messages", got, n)
		}
	}
}

func wantMessages(t *testing.T, got []string, want ...string) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("messages %q, want %q", got, want)
	}
}

func testNotifyChannels(t *testing.T, open Opener) {
	ctx := t.Context()
	s := open(t, secret.GenerateKeyring())
	b := newInbox()
	defer s.Subscribe("a", b.fn("a"))()
	defer s.Subscribe("b", b.fn("b"))()
	for _, m := range [][2]string{{"a", "1"}, {"c", "not subscribed"}, {"b", "2"}, {"a", ""}, {"a", "3 with spaces"}} {
		if err := s.Publish(ctx, m[0], m[1]); err != nil {
			t.Fatalf("Publish(%q, %q): %v", m[0], m[1], err)
		}
	}
	// In order, each on its own channel; "c" has no subscriber here.
	wantMessages(t, b.await(t, 4), "a:1", "b:2", "a:", "a:3 with spaces")
}

func testNotifyCancel(t *testing.T, open Opener) {
	ctx := t.Context()
	s := open(t, secret.GenerateKeyring())
	gone, stays := newInbox(), newInbox()
	cancel := s.Subscribe("a", gone.fn("a"))
	defer s.Subscribe("a", stays.fn("a"))()
	if err := s.Publish(ctx, "a", "1"); err != nil {
		t.Fatal(err)
	}
	wantMessages(t, gone.await(t, 1), "a:1")
	cancel()
	cancel() // a second cancel is harmless
	for _, p := range []string{"2", "3"} {
		if err := s.Publish(ctx, "a", p); err != nil {
			t.Fatal(err)
		}
	}
	// Messages are delivered in order, so once the remaining subscriber has "3", the
	// cancelled one would have had "2".
	wantMessages(t, stays.await(t, 3), "a:1", "a:2", "a:3")
	wantMessages(t, gone.await(t, 1), "a:1")
}

func testNotifyConnectionChanges(t *testing.T, open Opener) {
	ctx := t.Context()
	s := open(t, secret.GenerateKeyring())
	c := mustCreate(t, s, NewConnection("notified"))
	b := newInbox()
	defer s.Subscribe(store.ChannelConnection, b.fn("conn"))()
	defer s.Subscribe("marker", b.fn("marker"))()

	// Creating another connection and adding a pending secret do not invalidate anything.
	mustCreate(t, s, NewConnection("other"))
	rec, err := s.AddSecret(ctx, c.ID, "first~secret.value", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	// A failed update changes nothing and says nothing.
	if _, err := s.UpdateConnection(ctx, store.Connection{ID: "missing", TenantID: Tenant, ClientID: Client, Environment: "Production", CompanyID: Company}); err == nil {
		t.Fatal("updating a missing connection succeeded")
	}
	if err := s.Publish(ctx, "marker", "1"); err != nil {
		t.Fatal(err)
	}
	wantMessages(t, b.await(t, 1), "marker:1")

	if _, err := s.PromoteSecret(ctx, c.ID, rec.ID); err != nil {
		t.Fatal(err)
	}
	c.Environment = "Sandbox"
	if _, err := s.UpdateConnection(ctx, c); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RetireSecret(ctx, c.ID, rec.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteConnection(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	want := "conn:" + c.ID
	wantMessages(t, b.await(t, 5), "marker:1", want, want, want, want)
}

func testNotifyChangeLog(t *testing.T, open Opener) {
	ctx := t.Context()
	s := open(t, secret.GenerateKeyring())
	ensure(t, s, "customers")
	b := newInbox()
	defer s.Subscribe(store.ChannelChanges, b.fn("changes"))()
	defer s.Subscribe("marker", b.fn("marker"))()
	lm := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	row := Customer(GUID(1), ETag(1), "A", lm)
	apply(t, s, store.ReplicaBatch{Key: Key("customers"), Upserts: []store.ReplicaRow{row}})
	// The same row again logs no change, so it wakes nobody.
	apply(t, s, store.ReplicaBatch{Key: Key("customers"), Upserts: []store.ReplicaRow{row}})
	if err := s.Publish(ctx, "marker", "1"); err != nil {
		t.Fatal(err)
	}
	wantMessages(t, b.await(t, 2), "changes:", "marker:1")
}

func testNotifyValidation(t *testing.T, open Opener) {
	ctx := t.Context()
	s := open(t, secret.GenerateKeyring())
	for _, m := range [][2]string{{"", "x"}, {"has space", "x"}, {"a", string(make([]byte, 8000))}} {
		if err := s.Publish(ctx, m[0], m[1]); err == nil {
			t.Errorf("Publish(%q, %d bytes) succeeded, want an error", m[0], len(m[1]))
		}
	}
}
