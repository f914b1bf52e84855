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

	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store/sqlite"
	"github.com/bizzjoiner/bcconnector/web"
)

func setup(t *testing.T) (*httptest.Server, *sqlite.DB, *bytes.Buffer) {
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
	srv := httptest.NewServer(web.New(web.Options{UI: ui, Auth: web.NewAuth(web.AuthOptions{Users: db, FreeFailures: 3, Logger: log}),
		Metrics: web.NewMetrics(web.MetricsOptions{Store: db}), Logger: log}))
	t.Cleanup(srv.Close)
	return srv, db, &logBuf
}

func client(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func TestFirstRunLoginLogout(t *testing.T) {
	t.Parallel()
	srv, _, logBuf := setup(t)
	c := client(t)
	// No admin: the UI sends to /setup.
	resp, _ := c.Get(srv.URL + "/")
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/setup" {
		t.Fatalf("first run: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	pw := "correct horse battery staple"
	resp, _ = c.PostForm(srv.URL+"/setup", url.Values{"name": {"admin"}, "password": {pw}})
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
	resp, _ = c.PostForm(srv.URL+"/setup", url.Values{"name": {"evil"}, "password": {pw}})
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
	if strings.Contains(logBuf.String(), pw) || strings.Contains(logBuf.String(), "wrong password!") {
		t.Error("a password reached the log")
	}
}

func TestSetupOnlyFromLoopback(t *testing.T) {
	t.Parallel()
	_, db, _ := setup(t)
	h := web.New(web.Options{Auth: web.NewAuth(web.AuthOptions{Users: db})})
	req := httptest.NewRequest("GET", "/setup", nil)
	req.RemoteAddr = "203.0.113.9:5555"
	rr := httptest.NewRecorder()
	h.ServeHTTP(rr, req)
	if rr.Code != 403 {
		t.Errorf("remote setup: %d", rr.Code)
	}
}

func TestOpsRequestIDRecoverMetrics(t *testing.T) {
	t.Parallel()
	srv, db, logBuf := setup(t)
	hash, _ := web.HashPassword("a long enough password")
	if err := db.CreateUser(context.Background(), "admin", hash); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
		resp, err := http.Get(srv.URL + p)
		if err != nil || resp.StatusCode != 200 || resp.Header.Get("X-Request-ID") == "" {
			t.Errorf("%s: %v %v", p, resp.StatusCode, err)
		}
	}
	req, _ := http.NewRequest("GET", srv.URL+"/healthz", nil)
	req.Header.Set("X-Request-ID", "abc-123")
	resp, _ := http.DefaultClient.Do(req)
	if resp.Header.Get("X-Request-ID") != "abc-123" || !strings.Contains(logBuf.String(), `"request_id":"abc-123"`) {
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
	resp, _ = http.Get(srv.URL + "/metrics")
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
