package conn_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/bizzjoiner/bcconnector/conn"
	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/emulator/emulatortest"
	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
)

// recorder is a plain-http listener that records what reached it.
type recorder struct {
	*httptest.Server
	mu       sync.Mutex
	requests []string // method and path of each request
	carried  []string // what credentials came with them: "bearer", "secret"
}

func newRecorder(t *testing.T) *recorder {
	r := &recorder{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.requests = append(r.requests, req.Method+" "+req.URL.Path)
		if strings.HasPrefix(req.Header.Get("Authorization"), "Bearer ") {
			r.carried = append(r.carried, "bearer")
		}
		if strings.Contains(string(body), "client_secret=") {
			r.carried = append(r.carried, "secret")
		}
		r.mu.Unlock()
		http.Error(w, "not here", http.StatusNotFound)
	}))
	t.Cleanup(r.Close)
	return r
}

// seen returns the requests that arrived and the credentials they carried (never their
// values, so a failing test does not print them).
func (r *recorder) seen() (requests, carried []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.requests...), append([]string(nil), r.carried...)
}

func (r *recorder) host() string { return strings.TrimPrefix(r.URL, "http://") }

// redirecting starts a sandbox whose answers to requests matching match are redirects
// (307, which keeps method and body) to the same path on to.
func redirecting(t *testing.T, to string, match func(*http.Request) bool) *emulatortest.Sandbox {
	return emulatortest.Start(t, emulator.Config{}, emulatortest.Wrap(func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if match(r) {
				http.Redirect(w, r, to+r.URL.Path, http.StatusTemporaryRedirect)
				return
			}
			h.ServeHTTP(w, r)
		})
	}))
}

func openSandbox(t *testing.T, sb *emulatortest.Sandbox) *conn.Conn {
	t.Helper()
	cr := sb.Creds
	c := store.Connection{TenantID: cr.TenantID, ClientID: cr.ClientID, Environment: cr.Environment,
		AuthorityHost: sb.AuthorityHost(), BCBaseURL: sb.BCBaseURL()}
	cn, err := conn.Open(c, secret.Credential{Secret: secret.Secret(cr.ClientSecret)}, conn.Options{HTTPClient: sb.Client(), TokenRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	return cn
}

// TestTokenRequestRefusesRedirect: a 307 from the authority host does not re-send the token
// request, which carries the client secret, to the host it names (issue 9.5).
func TestTokenRequestRefusesRedirect(t *testing.T) {
	other := newRecorder(t)
	sb := redirecting(t, other.URL, func(r *http.Request) bool {
		return r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/token")
	})
	cn := openSandbox(t, sb)
	_, err := cn.Tokens.Token(context.Background())
	if seen, carried := other.seen(); len(seen) > 0 {
		t.Fatalf("the token request followed the redirect to %s: %q carrying %q", other.host(), seen, carried)
	}
	if err == nil {
		t.Fatal("a redirected token request succeeded")
	}
	msg := err.Error()
	if !strings.Contains(msg, "redirect") || !strings.Contains(msg, other.host()) {
		t.Errorf("the error does not name the redirect and its target %s: %v", other.host(), err)
	}
	if strings.Contains(msg, sb.Creds.ClientSecret) {
		t.Errorf("the error shows the secret: %v", err)
	}
}

// TestBCRequestRefusesRedirect: a redirect from the BC host to another port over plain
// http does not carry the bearer token there (issue 9.5).
func TestBCRequestRefusesRedirect(t *testing.T) {
	other := newRecorder(t)
	sb := redirecting(t, other.URL, func(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/v2.0/") })
	cn := openSandbox(t, sb)
	_, err := cn.BC.Companies(context.Background())
	if seen, carried := other.seen(); len(seen) > 0 {
		t.Fatalf("the BC request followed the redirect to %s: %q carrying %q", other.host(), seen, carried)
	}
	if err == nil {
		t.Fatal("a redirected BC request succeeded")
	}
	if msg := err.Error(); !strings.Contains(msg, "redirect") || !strings.Contains(msg, other.host()) {
		t.Errorf("the error does not name the redirect and its target %s: %v", other.host(), err)
	}
	if st := cn.BC.Stats(); st.Requests != 1 {
		t.Errorf("a refused redirect was retried: %d requests", st.Requests)
	}
}
