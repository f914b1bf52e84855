package webhook_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/store/storetest"
	"github.com/bizzjoiner/bcconnector/webhook"
)

const (
	subID     = "c670ea73cacb459bb51dc1740da2f1db"
	company   = "b18aed47-c385-49d2-b954-dbdf8ad71780"
	goodState = "s3cret-client-state-0123456789abcdefghijkl"
)

// receiverSetup is a Manager with one stored subscription, served without BC.
type receiverSetup struct {
	m     *webhook.Manager
	store webhook.SubscriptionStore
	mu    sync.Mutex
	hints []webhook.Hint
	got   chan struct{}
}

func newReceiver(t *testing.T, store webhook.SubscriptionStore, opt webhook.Options) *receiverSetup {
	t.Helper()
	if store == nil {
		store = &webhook.MemoryStore{}
	}
	hash := sha256.Sum256([]byte(goodState))
	sub := webhook.Subscription{
		ID: subID, ConnectionID: connID, CompanyID: company, EntitySet: "customers",
		Resource:        "/api/v2.0/companies(" + company + ")/customers",
		NotificationURL: "https://connector.example.com/webhooks/bc", ClientStateHash: hash[:],
		ExpiresAt: time.Now().Add(72 * time.Hour), CreatedAt: time.Now(), State: webhook.StateActive,
	}
	if err := store.PutSubscription(context.Background(), sub); err != nil {
		t.Fatal(err)
	}
	rs := &receiverSetup{store: store, got: make(chan struct{}, 100)}
	opt.PublicURL = "https://connector.example.com/webhooks/bc"
	opt.Store = store
	opt.Hint = func(ctx context.Context, h webhook.Hint) {
		rs.mu.Lock()
		rs.hints = append(rs.hints, h)
		rs.mu.Unlock()
		rs.got <- struct{}{}
	}
	m, err := webhook.NewManager(opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	rs.m = m
	return rs
}

func (rs *receiverSetup) do(method, target, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, "https://connector.example.com/webhooks/bc"+target, strings.NewReader(body))
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	w := httptest.NewRecorder()
	rs.m.ServeHTTP(w, r)
	return w
}

// waitHints waits for n hints and returns all received so far.
func (rs *receiverSetup) waitHints(t *testing.T, n int) []webhook.Hint {
	t.Helper()
	for range n {
		select {
		case <-rs.got:
		case <-time.After(5 * time.Second):
			t.Fatalf("fewer than %d hints within 5s", n)
		}
	}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return append([]webhook.Hint(nil), rs.hints...)
}

func note(subscriptionID, state, resource, changeType string) string {
	return fmt.Sprintf(`{"subscriptionId":%q,"clientState":%q,"expirationDateTime":"2026-05-07T09:00:00Z","resource":%q,"changeType":%q,"lastModifiedDateTime":"2026-05-04T09:00:00.057Z"}`,
		subscriptionID, state, resource, changeType)
}

func TestHandshake(t *testing.T) {
	t.Parallel()
	rs := newReceiver(t, nil, webhook.Options{})
	for _, tc := range []struct {
		method, target string
		status         int
		body           string
	}{
		{"POST", "?validationToken=abc123", 200, "abc123"}, // §7.2, believed POST
		{"GET", "?validationToken=abc123", 200, "abc123"},
		{"POST", "?code=azfunc&validationToken=t%2Bk%20n", 200, "t+k n"},
		{"POST", "?validationToken=", 400, ""},
		{"POST", "?validationToken=" + strings.Repeat("a", 1025), 400, ""},
		{"POST", "?validationToken=a%0Ab", 400, ""},
		{"POST", "?validationToken=a&validationToken=b", 400, ""},
		{"PUT", "?validationToken=abc", 405, ""},
		{"GET", "", 405, ""},
		{"DELETE", "", 405, ""},
	} {
		w := rs.do(tc.method, tc.target, "the-client-state")
		if w.Code != tc.status {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.target, w.Code, tc.status)
			continue
		}
		if tc.status != 200 {
			continue
		}
		if w.Body.String() != tc.body {
			t.Errorf("%s %s: body %q, want exactly the token %q", tc.method, tc.target, w.Body.String(), tc.body)
		}
		if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") || w.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s %s: Content-Type %q, nosniff %q", tc.method, tc.target, ct, w.Header().Get("X-Content-Type-Options"))
		}
	}
	if st := rs.m.Stats(); st.Handshakes != 3 || st.Posts != 0 {
		t.Errorf("handshakes %d, posts %d; want 3, 0", st.Handshakes, st.Posts)
	}
}

// TestNeverClientErrorForBC checks §7.4: whatever arrives by POST is answered 200 (or 503
// for our own transient failure), never 4xx, which would make BC delete every subscription
// on the URL.
func TestNeverClientErrorForBC(t *testing.T) {
	t.Parallel()
	res := "api/v2.0/companies(" + company + ")/customers(130bbd17-0000-0000-0000-000000000001)"
	for _, tc := range []struct {
		name                       string
		body                       string
		malformed, unknown, forged int64
	}{
		{"unknown subscription", `{"value":[` + note("ffffffffffffffffffffffffffffffff", goodState, res, "updated") + `]}`, 0, 1, 0},
		{"very long subscription id", `{"value":[` + note(strings.Repeat("f", 300), goodState, res, "updated") + `]}`, 0, 1, 0},
		{"forged", `{"value":[` + note(subID, "nope", res, "updated") + `]}`, 0, 0, 1},
		{"not JSON", `<html>hello</html>`, 1, 0, 0},
		{"empty body", ``, 1, 0, 0},
		{"truncated JSON", `{"value":[{"subscriptionId":"`, 1, 0, 0},
		{"JSON without value", `{"foo":1}`, 1, 0, 0},
		{"value not an array", `{"value":{"subscriptionId":"x"}}`, 1, 0, 0},
		{"array body", `[1,2]`, 1, 0, 0},
		{"items not notifications", `{"value":[1,"x",null,{"subscriptionId":""},{"subscriptionId":5}]}`, 5, 0, 0},
		{"empty value", `{"value":[]}`, 0, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rs := newReceiver(t, nil, webhook.Options{})
			if w := rs.do("POST", "", tc.body); w.Code != http.StatusOK {
				t.Errorf("answered %d, want 200", w.Code)
			}
			st := rs.m.Stats()
			if st.Malformed != tc.malformed || st.Unknown != tc.unknown || st.Forged != tc.forged || st.Posts != 1 {
				t.Errorf("malformed %d unknown %d forged %d posts %d; want %d %d %d 1",
					st.Malformed, st.Unknown, st.Forged, st.Posts, tc.malformed, tc.unknown, tc.forged)
			}
			select {
			case <-rs.got:
				t.Error("a hint was sent")
			case <-time.After(20 * time.Millisecond):
			}
		})
	}
}

func TestReceiveHints(t *testing.T) {
	t.Parallel()
	rs := newReceiver(t, nil, webhook.Options{})
	base := "/api/v2.0/companies(" + company + ")/customers"
	body := `{"value":[` + strings.Join([]string{
		note(subID, goodState, base+"(130bbd17-0000-0000-0000-000000000001)", "created"),
		note(subID, "forged", base+"(130bbd17-0000-0000-0000-000000000009)", "deleted"),
		note(subID, goodState, base+"(130bbd17-0000-0000-0000-000000000002)", "Deleted"),
		note(subID, goodState, base+"?$filter=lastModifiedDateTime%20gt%202026-05-04T08:59:59.95Z", "collection"),
		note(subID, goodState, base, "collection"),
		note(subID, goodState, base+"(130bbd17-0000-0000-0000-000000000003)", "archived"),
		note(subID, goodState, base, "updated"),
	}, ",") + `],"@odata.extra":{"ignored":[1,2]}}`
	if w := rs.do("POST", "", body); w.Code != http.StatusOK {
		t.Fatalf("answered %d", w.Code)
	}
	hints := rs.waitHints(t, 6)
	at := time.Date(2026, 5, 4, 9, 0, 0, 57_000_000, time.UTC)
	since := time.Date(2026, 5, 4, 8, 59, 59, 950_000_000, time.UTC)
	want := []webhook.Hint{
		{ChangeType: webhook.ChangeCreated, ID: "130bbd17-0000-0000-0000-000000000001"},
		{ChangeType: webhook.ChangeDeleted, ID: "130bbd17-0000-0000-0000-000000000002"},
		{ChangeType: webhook.ChangeCollection, Since: since},
		{ChangeType: webhook.ChangeCollection},
		{ChangeType: webhook.ChangeCollection}, // unknown changeType: the whole set
		{ChangeType: webhook.ChangeCollection}, // updated without a key: the whole set
	}
	if len(hints) != len(want) {
		t.Fatalf("%d hints, want %d: %+v", len(hints), len(want), hints)
	}
	for i, w := range want {
		w.ConnectionID, w.CompanyID, w.EntitySet, w.SubscriptionID, w.At = connID, company, "customers", subID, at
		if hints[i] != w {
			t.Errorf("hint %d = %+v\nwant     %+v", i, hints[i], w)
		}
	}
	st := rs.m.Stats()
	if st.Notifications != 7 || st.Forged != 1 || st.Hints != 6 {
		t.Errorf("stats %+v", st)
	}
	s, _ := rs.store.Subscription(context.Background(), subID)
	if s.LastNotificationAt.IsZero() {
		t.Error("LastNotificationAt not stored")
	}
}

// failingStore fails every lookup, like a database that is down.
type failingStore struct{ webhook.MemoryStore }

func (f *failingStore) Subscription(ctx context.Context, id string) (webhook.Subscription, error) {
	return webhook.Subscription{}, errors.New("database is locked")
}

func TestTransientFailuresAnswer503(t *testing.T) {
	t.Parallel()
	body := `{"value":[` + note(subID, goodState, "api/v2.0/companies("+company+")/customers(x)", "updated") + `]}`

	rs := newReceiver(t, &failingStore{}, webhook.Options{})
	if w := rs.do("POST", "", body); w.Code != http.StatusServiceUnavailable {
		t.Errorf("store down: %d, want 503 so BC retries (§7.4)", w.Code)
	}
	if st := rs.m.Stats(); st.StoreErrors != 1 || st.Hints != 0 || st.Notifications != 0 {
		t.Errorf("store down: stats %+v", st)
	}

	rs = newReceiver(t, nil, webhook.Options{})
	rs.m.Close()
	if w := rs.do("POST", "", body); w.Code != http.StatusServiceUnavailable {
		t.Errorf("closed: %d, want 503", w.Code)
	}

	// A body cut short by the network is asked for again.
	rs = newReceiver(t, nil, webhook.Options{})
	r := httptest.NewRequest("POST", "https://connector.example.com/webhooks/bc", io.MultiReader(strings.NewReader(`{"value":[`), errReader{}))
	w := httptest.NewRecorder()
	rs.m.ServeHTTP(w, r)
	if w.Code != http.StatusServiceUnavailable {
		t.Errorf("broken body: %d, want 503", w.Code)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset by peer") }

func TestOversizedBody(t *testing.T) {
	t.Parallel()
	rs := newReceiver(t, nil, webhook.Options{MaxBodyBytes: 2048})
	one := note(subID, goodState, "api/v2.0/companies("+company+")/customers(130bbd17-0000-0000-0000-000000000001)", "updated")
	body := `{"value":[` + one + strings.Repeat(","+one, 20) + `]}`
	if w := rs.do("POST", "", body); w.Code != http.StatusOK {
		t.Errorf("oversized body answered %d, want 200 (a 413 would delete the subscriptions)", w.Code)
	}
	st := rs.m.Stats()
	if st.Malformed != 1 || st.Notifications == 0 || st.Notifications >= 21 {
		t.Errorf("stats %+v: want the notifications before the cap verified and the body counted", st)
	}
}

func TestNewManagerValidates(t *testing.T) {
	t.Parallel()
	hint := func(context.Context, webhook.Hint) {}
	for _, tc := range []struct {
		opt  webhook.Options
		want string
	}{
		{webhook.Options{Hint: hint}, "PublicURL is empty"},
		{webhook.Options{PublicURL: "http://connector.example.com/hook", Hint: hint}, "https"},
		{webhook.Options{PublicURL: "/webhooks/bc", Hint: hint}, "absolute"},
		{webhook.Options{PublicURL: "https://user:pw@connector.example.com/hook", Hint: hint}, "user info"},
		{webhook.Options{PublicURL: "https://connector.example.com/hook"}, "Hint is nil"},
	} {
		if _, err := webhook.NewManager(tc.opt); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewManager(%+v) = %v, want an error about %q", tc.opt.PublicURL, err, tc.want)
		}
	}
	if _, err := webhook.NewManager(webhook.Options{PublicURL: "https://connector.example.com/hook?code=x", Hint: hint}); err != nil {
		t.Errorf("a URL with a query (Azure Functions style) was refused: %v", err)
	}
}

func TestMemoryStore(t *testing.T) {
	t.Parallel()
	storetest.RunWebhooks(t, func(*testing.T) store.WebhookStore { return &webhook.MemoryStore{} })
}
