package ui

import (
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/outbound"
	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/store/sqlite"
)

func TestWebhooksPage(t *testing.T) {
	t.Parallel()
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "ui.db"), secret.GenerateKeyring(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	out := outbound.New(outbound.Options{Store: db})
	ep, signing, err := out.CreateEndpoint(t.Context(), outbound.EndpointInput{URL: "https://platform.example/hooks", EventTypes: []string{"record.*"}})
	if err != nil {
		t.Fatal(err)
	}
	e := setup(t)
	h, err := New(Options{Service: e.fake, Outbound: out, Logger: slog.New(slog.NewTextHandler(e.logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	e.h = h

	r := e.do("GET", "/webhooks", nil, false)
	if r.Code != 200 || !strings.Contains(r.Body, "https://platform.example/hooks") || !strings.Contains(r.Body, "No deliveries yet") ||
		!strings.Contains(r.Body, `action="/webhooks/`+ep.ID+`/test"`) {
		t.Fatalf("webhooks page: %d %s", r.Code, r.Body)
	}
	r = e.do("POST", "/webhooks/"+ep.ID+"/test", nil, false)
	if r.Code != http.StatusSeeOther || r.Header.Get("Location") != "/webhooks?done=test" {
		t.Fatalf("send test event: %d %v", r.Code, r.Header)
	}
	ds, _ := db.Deliveries(t.Context(), store.DeliveryQuery{EndpointID: ep.ID})
	if len(ds) != 1 || ds[0].EventType != outbound.Test {
		t.Fatalf("deliveries after the button: %+v", ds)
	}
	// The delivery fails for good: the page shows it dead with a replay button.
	if _, err := db.RecordAttempt(t.Context(), ds[0].ID, store.DeliveryAttempt{N: 1, At: time.Now(), StatusCode: 410, Error: "HTTP 410"},
		store.DeliveryOutcome{State: store.DeliveryDead}); err != nil {
		t.Fatal(err)
	}
	r = e.do("GET", "/webhooks?done=test", nil, false)
	if !strings.Contains(r.Body, "Test event queued") || !strings.Contains(r.Body, "delivery-dead") || !strings.Contains(r.Body, "HTTP 410") ||
		!strings.Contains(r.Body, `action="/webhooks/deliveries/`+ds[0].ID+`/replay"`) {
		t.Fatalf("webhooks page with a dead delivery: %s", r.Body)
	}
	r = e.do("POST", "/webhooks/deliveries/"+ds[0].ID+"/replay", map[string][]string{"endpoint": {ep.ID}}, false)
	if r.Code != http.StatusSeeOther {
		t.Fatalf("replay: %d %s", r.Code, r.Body)
	}
	ds, _ = db.Deliveries(t.Context(), store.DeliveryQuery{EndpointID: ep.ID})
	if len(ds) != 2 || ds[0].ReplayOf != ds[1].ID {
		t.Fatalf("deliveries after the replay: %+v", ds)
	}
	// Disable, then enable: the page says so and shows the right button.
	r = e.do("POST", "/webhooks/"+ep.ID+"/disable", nil, false)
	if r.Code != http.StatusSeeOther || r.Header.Get("Location") != "/webhooks?done=disabled#"+ep.ID {
		t.Fatalf("disable: %d %v", r.Code, r.Header)
	}
	if got, _ := out.Endpoint(t.Context(), ep.ID); !got.Disabled || got.DisabledReason != "disabled in the web UI" {
		t.Fatalf("endpoint after Disable: %+v", got)
	}
	r = e.do("GET", "/webhooks?done=disabled", nil, false)
	if !strings.Contains(r.Body, "Endpoint disabled") || !strings.Contains(r.Body, "disabled in the web UI") ||
		!strings.Contains(r.Body, `action="/webhooks/`+ep.ID+`/enable"`) || strings.Contains(r.Body, `action="/webhooks/`+ep.ID+`/test"`) {
		t.Fatalf("webhooks page with a disabled endpoint: %s", r.Body)
	}
	if r := e.do("POST", "/webhooks/"+ep.ID+"/enable", nil, false); r.Code != http.StatusSeeOther {
		t.Fatalf("enable: %d %s", r.Code, r.Body)
	}
	if got, _ := out.Endpoint(t.Context(), ep.ID); got.Disabled {
		t.Fatalf("endpoint after Enable: %+v", got)
	}
	if r := e.do("POST", "/webhooks/nope/disable", nil, false); r.Code != 404 {
		t.Fatalf("disable an unknown endpoint: %d", r.Code)
	}
	if r := e.do("POST", "/webhooks/nope/test", nil, false); r.Code != 404 {
		t.Fatalf("test event to an unknown endpoint: %d", r.Code)
	}
	if strings.Contains(e.logs.String(), signing.Reveal()) {
		t.Fatal("the log holds the signing secret")
	}

	// A server without outbound webhooks says so.
	plain := setup(t)
	if r := plain.do("GET", "/webhooks", nil, false); r.Code != 200 || !strings.Contains(r.Body, "not enabled") {
		t.Fatalf("webhooks page without outbound: %d %s", r.Code, r.Body)
	}
}
