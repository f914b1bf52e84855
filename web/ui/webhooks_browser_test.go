package ui

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/bizzjoiner/bcconnector/internal/whtest"
	"github.com/bizzjoiner/bcconnector/outbound"
	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store/sqlite"
)

// syncQueue attempts a delivery as soon as it is given a job, before returning, so the
// page the browser is sent to shows the outcome.
type syncQueue struct{ svc *outbound.Service }

func (q *syncQueue) Deliver(ctx context.Context, ids ...string) error {
	for _, id := range ids {
		if _, err := q.svc.Attempt(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

func (q *syncQueue) DeliverEach(ctx context.Context, ids ...string) error {
	return q.Deliver(ctx, ids...)
}

// TestBrowserWebhooks: in Chromium, "Send test event" on the Webhooks page sends a signed
// webhook.test to the platform's HTTPS endpoint and the page shows it succeeded, with no
// Content Security Policy violation.
func TestBrowserWebhooks(t *testing.T) {
	bctx := browser(t)
	watchConsole(t, bctx)
	var got atomic.Value
	rcv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got.Store([2]any{r.Header.Clone(), body})
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rcv.Close)
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "ui.db"), secret.GenerateKeyring(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	out := outbound.New(outbound.Options{Store: db, AllowPrivate: true, TLS: rcv.Client().Transport.(*http.Transport).TLSClientConfig})
	out.SetQueue(&syncQueue{svc: out})
	ep, signing, err := out.CreateEndpoint(t.Context(), outbound.EndpointInput{URL: rcv.URL + "/hooks", EventTypes: []string{"*"}})
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(Options{Service: newFake(), Outbound: out})
	if err != nil {
		t.Fatal(err)
	}
	ui := httptest.NewServer(h)
	t.Cleanup(ui.Close)
	ctx, cancel := context.WithTimeout(bctx, 60*time.Second)
	defer cancel()

	err = chromedp.Do(ctx,
		chromedp.Navigate(ui.URL+"/webhooks"),
		chromedp.WaitVisible(chromedp.CSS(`section[data-endpoint="`+ep.ID+`"]`)),
		chromedp.Click(chromedp.CSS(`section[data-endpoint="`+ep.ID+`"] form button`)),
		chromedp.WaitVisible(chromedp.CSS(`p.flash`)),
		chromedp.WaitVisible(chromedp.CSS(`.badge.delivery-succeeded`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	shoot(t, ctx, artifacts(t), "webhooks")
	row, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`table.deliveries tbody tr`)))
	if err != nil || !strings.Contains(row, outbound.Test) || !strings.Contains(row, "HTTP 204") {
		t.Fatalf("delivery row %q, %v", row, err)
	}
	v, _ := got.Load().([2]any)
	if v[0] == nil {
		t.Fatal("the endpoint received nothing")
	}
	if err := whtest.Verify(signing.Reveal(), v[0].(http.Header), v[1].([]byte), time.Now()); err != nil {
		t.Fatalf("the test event does not verify: %v", err)
	}
	html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS(`main`)))
	if strings.Contains(html, signing.Reveal()) {
		t.Fatal("the page shows the signing secret")
	}
}
