package emulator_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/emulator"
)

// receiver is a webhook endpoint: it answers the validationToken handshake and records
// notifications.
type receiver struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []map[string]any
	hit chan struct{}
}

func newReceiver(t *testing.T) *receiver {
	rv := &receiver{hit: make(chan struct{}, 100)}
	rv.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tok := r.URL.Query().Get("validationToken"); tok != "" {
			_, _ = io.WriteString(w, tok)
			return
		}
		var body struct {
			Value []map[string]any `json:"value"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		rv.mu.Lock()
		rv.got = append(rv.got, body.Value...)
		rv.mu.Unlock()
		rv.hit <- struct{}{}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(rv.srv.Close)
	return rv
}

func TestWebhookSubscriptionAndNotification(t *testing.T) {
	t.Parallel()
	rv := newReceiver(t)
	e := setup(t, emulator.Config{WebhookDelay: -1, WebhookClient: rv.srv.Client()})
	ref := e.emu.DemoCompanyRef()
	r := e.do(http.MethodPost, e.api()+"/subscriptions", map[string]any{
		"notificationUrl": rv.srv.URL + "/hook",
		"resource":        "/api/v2.0/companies(" + ref.CompanyID + ")/customers",
		"clientState":     "s3cret-state",
	})
	if r.status != 201 {
		t.Fatalf("create subscription: %d %s", r.status, r.body)
	}
	sub := r.json(t)
	exp, _ := time.Parse(time.RFC3339, sub["expirationDateTime"].(string))
	if d := time.Until(exp); d < 71*time.Hour || d > 73*time.Hour {
		t.Errorf("expiration in %v, want 3 days", d)
	}
	// A change made inside BC reaches the subscriber as `updated`.
	var id string
	for row := range e.emu.Rows(ref, "customers") {
		id = row["id"].(string)
		break
	}
	if _, err := e.emu.Update(ref, "customers", id, map[string]any{"displayName": "Changed in BC"}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-rv.hit:
	case <-time.After(5 * time.Second):
		t.Fatal("no notification within 5s")
	}
	rv.mu.Lock()
	n := rv.got[0]
	rv.mu.Unlock()
	if n["changeType"] != "updated" || n["clientState"] != "s3cret-state" || !strings.HasSuffix(n["resource"].(string), "customers("+id+")") {
		t.Errorf("notification = %v", n)
	}
	// Renew (PATCH with If-Match) repeats the handshake; DELETE needs If-Match.
	subURL := e.api() + "/subscriptions('" + sub["subscriptionId"].(string) + "')"
	if r = e.do(http.MethodPatch, subURL, map[string]any{}, "If-Match", sub["@odata.etag"].(string)); r.status != 200 {
		t.Errorf("renew: %d %s", r.status, r.body)
	}
	if r = e.do(http.MethodDelete, subURL, nil); r.status != 400 {
		t.Errorf("delete without If-Match: %d", r.status)
	}
	if r = e.do(http.MethodDelete, subURL, nil, "If-Match", "*"); r.status != 204 {
		t.Errorf("delete: %d %s", r.status, r.body)
	}
	// A resource that does not support webhooks is refused.
	r = e.do(http.MethodPost, e.api()+"/subscriptions", map[string]any{
		"notificationUrl": rv.srv.URL + "/hook",
		"resource":        "/api/v2.0/companies(" + ref.CompanyID + ")/salesInvoiceLines",
	})
	if r.status < 400 {
		t.Errorf("subscription on a set without webhooks: %d", r.status)
	}
}
