package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/bizzjoiner/bcconnector/internal/browsertest"
	"github.com/bizzjoiner/bcconnector/internal/testlog"
	"github.com/bizzjoiner/bcconnector/store"
)

// runServer opens and runs the serve program for one test; it stops with the test.
func runServer(t *testing.T, cfg ServeCmd, g *Globals) *Server {
	t.Helper()
	s := NewServer(cfg, g)
	if err := s.Open(t.Context()); err != nil {
		t.Fatalf("open: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

// sandboxAdmin finds the admin password serve --sandbox prints.
var sandboxAdmin = regexp.MustCompile(`sign in as admin / (\S+);`)

// servedSandbox runs serve --sandbox for one test (SQLite in the test's directory) and
// returns it and the admin password it printed.
func servedSandbox(t *testing.T) (s *Server, password string) {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("BCC_MASTER_KEY", "")
	var out, errb testlog.Buffer
	g := &Globals{DB: filepath.Join(dir, "bcc.db"), KeyFile: filepath.Join(dir, "master.key"), LogLevel: "info", Stdout: &out, Stderr: &errb}
	cfg := testServeCmd()
	cfg.Sandbox = true
	s = runServer(t, cfg, g)
	m := sandboxAdmin.FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no admin password printed: %q", out.String())
	}
	return s, m[1]
}

// signIn signs in as the sandbox's admin.
func signIn(ctx context.Context, base, password string) error {
	return chromedp.Do(ctx,
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`#password`)),
		chromedp.SendKeys(chromedp.CSS(`#name`), "admin"),
		chromedp.SendKeys(chromedp.CSS(`#password`), password),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`table.conns`)),
	)
}

// TestBrowserSignInPages: in Chromium against serve --sandbox, the sign-in and sign-out
// pages wear the UI's stylesheet and icon (served before sign-in), a wrong password shows
// the error styled, an unknown page is the styled 404 inside the layout, and /favicon.ico
// leads to the icon; nothing breaks the Content-Security-Policy.
func TestBrowserSignInPages(t *testing.T) {
	bctx := browsertest.Start(t, 1280, 900)
	browsertest.WatchConsole(t, bctx)
	s, password := servedSandbox(t)
	base := s.URL()
	dir := browsertest.Artifacts(t, "serve")
	ctx, cancel := context.WithTimeout(bctx, 90*time.Second)
	defer cancel()

	// styled reports whether the page uses the UI's stylesheet: the dark header bar and a
	// white card; and whether its icon link resolves to an SVG.
	styled := func(page, card string) {
		t.Helper()
		got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
			const bar = getComputedStyle(document.querySelector('header.top')).backgroundColor;
			const card = getComputedStyle(document.querySelector('`+card+`')).backgroundColor;
			const icon = document.querySelector('link[rel=icon]');
			return bar + ' | ' + card + ' | ' + (icon ? icon.href : 'no icon');
		})()`))
		if err != nil {
			t.Fatalf("%s: %v", page, err)
		}
		if want := "rgb(29, 35, 48) | rgb(255, 255, 255) | " + base + "/static/favicon.svg"; got != want {
			t.Errorf("%s: header, card and icon %q, want %q", page, got, want)
		}
	}
	steps := func(name string, s ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, s...); err != nil {
			browsertest.Shoot(t, ctx, dir, name+"-error")
			t.Fatalf("%s: %v", name, err)
		}
	}

	steps("sign in page", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS(`#password`)))
	styled("sign in", ".signin-card")
	browsertest.Shoot(t, ctx, dir, "signin")
	steps("wrong password",
		chromedp.SendKeys(chromedp.CSS(`#name`), "admin"),
		chromedp.SendKeys(chromedp.CSS(`#password`), "not the password at all"),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.signin-card .problem`)),
	)
	msg, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`.signin-card .problem`)))
	if err != nil || !strings.Contains(msg, "Wrong name or password") {
		t.Errorf("wrong password: %q, %v", msg, err)
	}
	styled("sign in again", ".signin-card")
	browsertest.Shoot(t, ctx, dir, "signin-wrong-password")
	steps("sign in",
		chromedp.SendKeys(chromedp.CSS(`#password`), password),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`table.conns`)),
	)

	steps("sign out", chromedp.Navigate(base+"/logout"), chromedp.WaitVisible(chromedp.CSS(`.signin-card button[type=submit]`)))
	styled("sign out", ".signin-card")
	steps("sign out", chromedp.Click(chromedp.CSS(`.signin-card button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`#password`)))
	styled("sign in after sign out", ".signin-card")
	steps("sign in again",
		chromedp.SendKeys(chromedp.CSS(`#name`), "admin"),
		chromedp.SendKeys(chromedp.CSS(`#password`), password),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`table.conns`)),
	)

	steps("404", chromedp.Navigate(base+"/no/such/page"), chromedp.WaitVisible(chromedp.CSS(`.lost h1`)))
	styled("404", ".lost")
	h1, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`.lost h1`)))
	if err != nil || h1 != "Page not found" {
		t.Errorf("404 heading %q, %v", h1, err)
	}
	browsertest.Shoot(t, ctx, dir, "notfound")

	icon, err := chromedp.Run(ctx, chromedp.Evaluate[string](`fetch('/favicon.ico').then(r => r.status + ' ' + r.url + ' ' + r.headers.get('Content-Type'))`,
		chromedp.EvalAwaitPromise))
	if err != nil || icon != "200 "+base+"/static/favicon.svg image/svg+xml" {
		t.Errorf("/favicon.ico: %q, %v", icon, err)
	}
}

// TestBrowserRemoveConnection: in Chromium against serve --sandbox, a form on another
// origin cannot make the signed-in admin's browser remove a connection (403, the
// connection stays); the connection page leads to a confirmation that says the sealed
// secret and the replica go, and typing the name removes it: the store then holds no
// secret and no replicated row of it.
func TestBrowserRemoveConnection(t *testing.T) {
	bctx := browsertest.Start(t, 1280, 900)
	s, password := servedSandbox(t)
	base := s.URL()
	dir := browsertest.Artifacts(t, "serve")
	ctx, cancel := context.WithTimeout(bctx, 90*time.Second)
	defer cancel()
	views, err := s.Service().ListConnections(ctx, nil)
	if err != nil || len(views) != 1 {
		t.Fatalf("the sandbox's connections: %d, %v", len(views), err)
	}
	v := views[0]
	key := store.ReplicaKey{ConnectionID: v.ID, CompanyID: v.CompanyID, EntitySet: "customers"}
	for {
		n, err := s.app.db.ReplicaCount(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("the sandbox's customers never reached the replica")
		case <-time.After(50 * time.Millisecond):
		}
	}
	if err := signIn(ctx, base, password); err != nil {
		t.Fatalf("sign in: %v", err)
	}

	// Another origin (another port) posts the removal with the right name.
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><form method="post" action="%s/connections/%s/remove"><input name="confirm" value="%s"><button id="go">Win a prize</button></form>`,
			base, v.ID, html.EscapeString(v.Name))
	}))
	t.Cleanup(evil.Close)
	if err := chromedp.Do(ctx, chromedp.Navigate(evil.URL), chromedp.Click(chromedp.CSS(`#go`))); err != nil {
		t.Fatal(err)
	}
	// The click navigates to the answer: a read that races with it fails with "target
	// navigated", which says nothing, so read again until the answer's page is there.
	var body string
	for body == "" {
		if loc, err := chromedp.Run(ctx, chromedp.Location()); err == nil && strings.HasPrefix(loc, base) {
			body, _ = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`body`)))
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the cross-origin post never answered: %v", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	if !strings.Contains(strings.ToLower(body), "cross-origin") {
		t.Errorf("the cross-origin post answered %q", body)
	}
	if _, err := s.Service().GetConnection(ctx, v.ID); err != nil {
		t.Fatalf("after the cross-origin post: %v", err)
	}

	err = chromedp.Do(ctx,
		chromedp.Navigate(base+"/connections/"+v.ID),
		chromedp.WaitVisible(chromedp.CSS(`#remove-link`)),
		chromedp.Click(chromedp.CSS(`#remove-link`)),
		chromedp.WaitVisible(chromedp.CSS(`#f-confirm`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	browsertest.Shoot(t, ctx, dir, "remove-confirm")
	deletes, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#remove-deletes`)))
	for _, w := range []string{"the client secret in use, which is stored sealed", "its replica:", "rows in"} {
		if !strings.Contains(deletes, w) {
			t.Errorf("the confirmation does not say %q:\n%s", w, deletes)
		}
	}
	err = chromedp.Do(ctx,
		// Typed as on a keyboard: a hyphen for the name's en dash.
		chromedp.SendKeys(chromedp.CSS(`#f-confirm`), strings.ReplaceAll(v.Name, "–", "-")),
		chromedp.Click(chromedp.CSS(`#remove`)),
		chromedp.WaitVisible(chromedp.CSS(`p.flash`)),
	)
	if err != nil {
		browsertest.Shoot(t, ctx, dir, "remove-error")
		t.Fatal(err)
	}
	browsertest.Shoot(t, ctx, dir, "removed")
	main, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`main`)))
	if !strings.Contains(main, "Connection removed") || !strings.Contains(main, "No connections yet") {
		t.Errorf("after the removal the dashboard says:\n%s", main)
	}
	// The change feed keeps the removed connection's entries: "Recent changes" says whose.
	conns, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('table.changes td.conn')].map(td => td.textContent)`))
	if err != nil || len(conns) == 0 {
		t.Errorf("no Connection column in Recent changes after the removal (%v)", err)
	}
	for _, c := range conns {
		if c != "removed connection" {
			t.Errorf("a change of the removed connection is shown as %q", c)
		}
	}
	if _, err := s.Service().GetConnection(ctx, v.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the connection after its removal: %v", err)
	}
	// The sealed secrets: read the database file itself, since the store answers
	// nothing for a connection it no longer has.
	raw, err := sql.Open("sqlite", "file:"+s.g.DB+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var secrets int
	if err := raw.QueryRowContext(ctx, `SELECT count(*) FROM client_secrets WHERE connection_id = ?`, v.ID).Scan(&secrets); err != nil || secrets != 0 {
		t.Errorf("sealed secrets left: %d (%v)", secrets, err)
	}
	if n, err := s.app.db.ReplicaCount(ctx, key); err != nil || n != 0 {
		t.Errorf("replicated customers left: %d (%v)", n, err)
	}
}
