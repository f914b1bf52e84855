package web_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/store/sqlite"
	"github.com/bizzjoiner/bcconnector/web"
	"github.com/bizzjoiner/bcconnector/web/ui"
)

func setup(t *testing.T) (*httptest.Server, *sqlite.DB, *bytes.Buffer) {
	srv, db, logBuf, _ := setupAuth(t)
	return srv, db, logBuf
}

// setupAuth is setup that also returns the UI's authentication.
func setupAuth(t *testing.T) (*httptest.Server, *sqlite.DB, *bytes.Buffer, *web.Auth) {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "w.db"), secret.GenerateKeyring(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var logBuf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logBuf, nil))
	ui := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/panic" {
			panic("boom")
		}
		u, _ := web.User(r)
		io.WriteString(w, "hello "+u)
	})
	// The sign-in throttle's clock stands still: on the real clock, a loaded machine
	// (Argon2id takes a while there) let the 1 s wait after the free failures pass before
	// the next attempt, and "after 3 failures" got 303 instead of 429.
	clock := &fakeClock{t: time.Now()}
	auth := web.NewAuth(web.AuthOptions{Users: db, FreeFailures: 3, Logger: log, Now: clock.Now})
	srv := httptest.NewServer(web.New(web.Options{UI: ui, Auth: auth,
		Metrics: web.NewMetrics(web.MetricsOptions{Store: db}), MetricsTokens: db, Logger: log}))
	t.Cleanup(srv.Close)
	return srv, db, &logBuf, auth
}

func client(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func TestFirstRunLoginLogout(t *testing.T) {
	t.Parallel()
	srv, _, logBuf, auth := setupAuth(t)
	tok, err := auth.SetupToken(t.Context())
	if err != nil || tok == "" {
		t.Fatalf("setup token %q, %v", tok, err)
	}
	c := client(t)
	// No admin: the UI sends to /setup.
	resp, _ := c.Get(srv.URL + "/")
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/setup" {
		t.Fatalf("first run: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	pw := "correct horse battery staple"
	resp, _ = c.PostForm(srv.URL+"/setup", url.Values{"token": {tok}, "name": {"admin"}, "password": {pw}})
	if resp.StatusCode != 303 {
		t.Fatalf("setup: %d", resp.StatusCode)
	}
	ck := resp.Cookies()
	if len(ck) != 1 || !ck[0].HttpOnly || ck[0].SameSite != http.SameSiteLaxMode {
		t.Errorf("session cookie: %+v", ck)
	}
	resp, _ = c.Get(srv.URL + "/")
	b, _ := io.ReadAll(resp.Body)
	if string(b) != "hello admin" {
		t.Errorf("signed in: %d %s", resp.StatusCode, b)
	}
	// Setup is closed once an admin exists.
	resp, _ = c.PostForm(srv.URL+"/setup", url.Values{"token": {tok}, "name": {"evil"}, "password": {pw}})
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/login" {
		t.Errorf("second setup: %d", resp.StatusCode)
	}
	// A cross-origin POST is refused (CSRF).
	req, _ := http.NewRequest("POST", srv.URL+"/logout", nil)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, _ = c.Do(req)
	if resp.StatusCode != 403 {
		t.Errorf("cross-site logout: %d", resp.StatusCode)
	}
	resp, _ = c.PostForm(srv.URL+"/logout", nil)
	if resp.StatusCode != 303 {
		t.Errorf("logout: %d", resp.StatusCode)
	}
	resp, _ = c.Get(srv.URL + "/x")
	if resp.StatusCode != 303 || !strings.HasPrefix(resp.Header.Get("Location"), "/login?next=/x") {
		t.Errorf("after logout: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	// Login, then rate limiting after 3 failures.
	resp, _ = c.PostForm(srv.URL+"/login", url.Values{"name": {"admin"}, "password": {pw}, "next": {"//evil.example"}})
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/" {
		t.Errorf("login: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	for i := 0; i < 3; i++ {
		resp, _ = c.PostForm(srv.URL+"/login", url.Values{"name": {"admin"}, "password": {"wrong password!"}})
		if resp.StatusCode != 401 {
			t.Errorf("wrong password %d: %d", i, resp.StatusCode)
		}
	}
	resp, _ = c.PostForm(srv.URL+"/login", url.Values{"name": {"admin"}, "password": {pw}})
	if resp.StatusCode != 429 {
		t.Errorf("after 3 failures: %d", resp.StatusCode)
	}
	if strings.Contains(logBuf.String(), pw) || strings.Contains(logBuf.String(), "wrong password!") || strings.Contains(logBuf.String(), tok) {
		t.Error("a password reached the log")
	}
}

// TestSetupNeedsToken: the first-run page creates the first admin only with the
// one-time token, whatever the source address (a proxy on the same host makes every
// request local), and the token is consumed by that creation (issue 9.8).
func TestSetupNeedsToken(t *testing.T) {
	t.Parallel()
	srv, db, _, auth := setupAuth(t) // the test client connects from 127.0.0.1
	pw := "correct horse battery staple"
	post := func(v url.Values) int {
		t.Helper()
		resp, err := client(t).PostForm(srv.URL+"/setup", v)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// No token open yet, a missing token, a wrong token: refused, nobody created.
	if st := post(url.Values{"name": {"admin"}, "password": {pw}}); st != 403 {
		t.Errorf("loopback setup without any token open: %d, want 403", st)
	}
	tok, err := auth.SetupToken(t.Context())
	if err != nil || len(tok) < 20 {
		t.Fatalf("setup token %q, %v", tok, err)
	}
	if st := post(url.Values{"name": {"admin"}, "password": {pw}}); st != 403 {
		t.Errorf("setup without the token: %d, want 403", st)
	}
	if st := post(url.Values{"token": {tok + "x"}, "name": {"admin"}, "password": {pw}}); st != 403 {
		t.Errorf("setup with a wrong token: %d, want 403", st)
	}
	if n, _ := db.CountUsers(t.Context()); n != 0 {
		t.Fatalf("%d admins created without the token", n)
	}
	// A bad password keeps the token open; the right form consumes it.
	if st := post(url.Values{"token": {tok}, "name": {"admin"}, "password": {"short"}}); st != 422 {
		t.Errorf("short password: %d", st)
	}
	if st := post(url.Values{"token": {tok}, "name": {"admin"}, "password": {pw}}); st != 303 {
		t.Errorf("setup with the token: %d", st)
	}
	if n, _ := db.CountUsers(t.Context()); n != 1 {
		t.Errorf("admins: %d", n)
	}
	if again, _ := auth.SetupToken(t.Context()); again != "" {
		t.Error("a setup token was opened while an admin exists")
	}
}

func TestOpsRequestIDRecoverMetrics(t *testing.T) {
	t.Parallel()
	srv, db, logBuf := setup(t)
	hash, _ := web.HashPassword("a long enough password")
	if err := db.CreateUser(context.Background(), "admin", hash); err != nil {
		t.Fatal(err)
	}
	tok := store.NewToken().Reveal()
	if _, err := db.CreateToken(t.Context(), "prometheus", nil, store.HashToken(tok)); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
		req, _ := http.NewRequest("GET", srv.URL+p, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 || resp.Header.Get("X-Request-ID") == "" {
			t.Errorf("%s: %v %v", p, resp.StatusCode, err)
		}
	}
	req, _ := http.NewRequest("GET", srv.URL+"/healthz", nil)
	req.Header.Set("X-Request-ID", "abc-123")
	resp, _ := http.DefaultClient.Do(req)
	if resp.Header.Get("X-Request-ID") != "abc-123" || !strings.Contains(logBuf.String(), `"requestId":"abc-123"`) {
		t.Errorf("request id not kept/logged")
	}
	// A panic in the UI answers 500 and is logged.
	c := client(t)
	if resp, err := c.PostForm(srv.URL+"/login", url.Values{"name": {"admin"}, "password": {"a long enough password"}}); err == nil {
		resp.Body.Close()
	}
	resp, _ = c.Get(srv.URL + "/panic")
	if resp.StatusCode != 500 || !strings.Contains(logBuf.String(), "panic serving a request") {
		t.Errorf("panic: %d", resp.StatusCode)
	}
	req, _ = http.NewRequest("GET", srv.URL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, _ = http.DefaultClient.Do(req)
	b, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(b), `bcc_http_requests_total{area="ops",method="GET",status="200"}`) {
		t.Errorf("metrics: %.300s", b)
	}
}

func TestPassword(t *testing.T) {
	t.Parallel()
	if _, err := web.HashPassword("short"); err == nil {
		t.Error("short password accepted")
	}
	h, err := web.HashPassword("twelve chars!")
	if err != nil || !web.CheckPassword(h, "twelve chars!") || web.CheckPassword(h, "twelve chars?") || web.CheckPassword("garbage", "x") {
		t.Errorf("hash %q %v", h, err)
	}
}

// TestMetricsNeedToken: /metrics on the public listener names every connection, so it
// needs an API token for all connections; the metrics-only server for a private address
// needs none (issue 9.9).
func TestMetricsNeedToken(t *testing.T) {
	t.Parallel()
	srv, db, _ := setup(t)
	conn, err := db.CreateConnection(t.Context(), store.Connection{Name: "c", TenantID: "11111111-1111-1111-1111-111111111111",
		ClientID: "22222222-2222-2222-2222-222222222222", Environment: "Production", CompanyID: "33333333-3333-3333-3333-333333333333"})
	if err != nil {
		t.Fatal(err)
	}
	all, scoped := store.NewToken().Reveal(), store.NewToken().Reveal()
	if _, err := db.CreateToken(t.Context(), "all", nil, store.HashToken(all)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateToken(t.Context(), "scoped", []string{conn.ID}, store.HashToken(scoped)); err != nil {
		t.Fatal(err)
	}
	get := func(base, tok string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", base+"/metrics", nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, c := range []struct {
		name, tok string
		want      int
	}{{"no token", "", 401}, {"unknown token", "bcc_unknown", 401}, {"scoped token", scoped, 403}, {"token for all connections", all, 200}} {
		st, body := get(srv.URL, c.tok)
		if st != c.want || (st != 200 && strings.Contains(body, conn.ID)) {
			t.Errorf("%s: %d, want %d: %.200s", c.name, st, c.want, body)
		}
	}
	private := httptest.NewServer(web.MetricsServer(web.NewMetrics(web.MetricsOptions{Store: db}), nil))
	t.Cleanup(private.Close)
	if st, body := get(private.URL, ""); st != 200 || !strings.Contains(body, "go_goroutines") {
		t.Errorf("metrics server: %d %.200s", st, body)
	}
	if resp, err := http.Get(private.URL + "/"); err != nil || resp.StatusCode != 404 {
		t.Errorf("metrics server serves more than /metrics: %v", resp.StatusCode)
	}
}

// TestSecurityHeaders: every response carries the Content-Security-Policy and the other
// security headers, and the sign-in pages meet the policy: nothing inline, their
// stylesheet reachable before signing in (issue 9.9).
func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	srv, _, _ := setup(t)
	c := client(t)
	for _, p := range []string{"/login", "/setup", "/", "/static/style.css", "/static/favicon.svg", "/healthz", "/api/v1/openapi.json"} {
		resp, err := c.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		h := resp.Header
		if csp := h.Get("Content-Security-Policy"); csp != ui.ContentSecurityPolicy || !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") {
			t.Errorf("%s: Content-Security-Policy %q", p, csp)
		}
		for k, v := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin", "Cross-Origin-Opener-Policy": "same-origin"} {
			if h.Get(k) != v {
				t.Errorf("%s: %s %q, want %q", p, k, h.Get(k), v)
			}
		}
		if strings.HasPrefix(h.Get("Content-Type"), "text/html") {
			html := strings.ToLower(string(b))
			for _, inline := range []string{"<style", "<script", " style=", " onclick=", " onload=", " onsubmit=", "javascript:"} {
				if strings.Contains(html, inline) {
					t.Errorf("%s has inline %q, which the policy refuses", p, inline)
				}
			}
		}
		if p == "/static/style.css" && (resp.StatusCode != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/css")) {
			t.Errorf("%s before sign-in: %d %s", p, resp.StatusCode, h.Get("Content-Type"))
		}
		if p == "/static/favicon.svg" && (resp.StatusCode != 200 || !strings.HasPrefix(h.Get("Content-Type"), "image/svg+xml")) {
			t.Errorf("%s before sign-in: %d %s", p, resp.StatusCode, h.Get("Content-Type"))
		}
	}
}
