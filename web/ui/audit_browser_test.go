package ui

import (
	"context"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/store/sqlite"
	"github.com/bizzjoiner/bcconnector/store/storetest"
)

// TestBrowserAuditLog: in Chromium, the Audit log page lists what an admin and an API
// token did, newest first, 50 at a time; "Older entries" appends the rest in place (htmx),
// and the action filter narrows the list, with no Content Security Policy violation.
func TestBrowserAuditLog(t *testing.T) {
	bctx := browser(t)
	watchConsole(t, bctx)
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "ui.db"), secret.GenerateKeyring(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	alice := store.WithActor(t.Context(), store.Actor{Kind: store.ActorAdmin, Name: "alice"})
	ci := store.WithActor(t.Context(), store.Actor{Kind: store.ActorToken, Name: "ci"})
	c, err := db.CreateConnection(alice, storetest.NewConnection("Contoso"))
	if err != nil {
		t.Fatal(err)
	}
	const tokens = 55
	for i := range tokens {
		if _, err := db.CreateToken(ci, fmt.Sprintf("robot-%02d", i), nil, store.HashToken(store.NewToken().Reveal())); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.DeleteConnection(alice, c.ID); err != nil {
		t.Fatal(err)
	}
	h, err := New(Options{Service: newFake(), Audit: db})
	if err != nil {
		t.Fatal(err)
	}
	ui := httptest.NewServer(h)
	t.Cleanup(ui.Close)
	ctx, cancel := context.WithTimeout(bctx, 60*time.Second)
	defer cancel()

	rows := `document.querySelectorAll("table.audit tr[data-audit]").length`
	if err := chromedp.Do(ctx,
		chromedp.Navigate(ui.URL+"/audit"),
		chromedp.WaitVisible(chromedp.CSS(`table.audit`)),
	); err != nil {
		t.Fatal(err)
	}
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](rows)); err != nil || n != store.DefaultAuditLimit {
		t.Fatalf("first page: %d rows (%v), want %d", n, err, store.DefaultAuditLimit)
	}
	first, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`table.audit tbody tr`)))
	if !strings.Contains(first, "connection.deleted") || !strings.Contains(first, "alice") || !strings.Contains(first, "Contoso") {
		t.Fatalf("newest row %q, want alice deleting Contoso", first)
	}
	// Older entries come in place: the page is not reloaded (the marker stays).
	if err := chromedp.Do(ctx,
		chromedp.Evaluate[chromedp.Void](`window.auditMarker = 1`),
		chromedp.Click(chromedp.CSS(`#older a`)),
		chromedp.Poll[chromedp.Void](rows+fmt.Sprintf(` === %d`, tokens+2)),
		chromedp.WaitNotPresent(chromedp.CSS(`#older`)),
	); err != nil {
		t.Fatal(err)
	}
	if kept, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`window.auditMarker || 0`)); kept != 1 {
		t.Fatal("Older entries reloaded the page instead of appending")
	}
	last, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`table.audit tbody tr:last-child`)))
	if !strings.Contains(last, "connection.created") {
		t.Fatalf("oldest row %q, want the creation", last)
	}
	shoot(t, ctx, artifacts(t), "audit")
	// The filter is a plain GET form: submitting it loads the filtered page.
	if _, err := chromedp.RunResponse(ctx,
		chromedp.SetValue(chromedp.CSS(`select[name=action]`), string(store.AuditTokenCreated)),
		chromedp.Click(chromedp.CSS(`form.filters button`)),
	); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`#older`))); err != nil {
		t.Fatal(err)
	}
	if u, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.search`)); !strings.Contains(u, "action=token.created") {
		t.Fatalf("filtered page at %q", u)
	}
	text, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`table.audit tbody`)))
	if strings.Contains(text, "connection.") || !strings.Contains(text, "robot-54") || !strings.Contains(text, "token ci") {
		t.Fatalf("filtered list:\n%s", text)
	}
}
