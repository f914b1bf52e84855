package main

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/bizzjoiner/bcconnector/internal/browsertest"
	"github.com/bizzjoiner/bcconnector/internal/testlog"
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
// returns its URL and the admin password it printed.
func servedSandbox(t *testing.T) (base, password string) {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("BCC_MASTER_KEY", "")
	var out, errb testlog.Buffer
	g := &Globals{DB: filepath.Join(dir, "bcc.db"), KeyFile: filepath.Join(dir, "master.key"), LogLevel: "info", Stdout: &out, Stderr: &errb}
	cfg := testServeCmd()
	cfg.Sandbox = true
	s := runServer(t, cfg, g)
	m := sandboxAdmin.FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no admin password printed: %q", out.String())
	}
	return s.URL(), m[1]
}

// TestBrowserSignInPages: in Chromium against serve --sandbox, the sign-in and sign-out
// pages wear the UI's stylesheet and icon (served before sign-in), a wrong password shows
// the error styled, an unknown page is the styled 404 inside the layout, and /favicon.ico
// leads to the icon; nothing breaks the Content-Security-Policy.
func TestBrowserSignInPages(t *testing.T) {
	bctx := browsertest.Start(t, 1280, 900)
	browsertest.WatchConsole(t, bctx)
	base, password := servedSandbox(t)
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
