package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

const (
	company     = "f64eba74-dacd-4854-a584-1834f68cfc3a"
	custRes     = "/api/v2.0/companies(" + company + ")/customers"
	vendRes     = "/api/v2.0/companies(" + company + ")/vendors"
	custChanged = "api/v2.0/companies(" + company + ")/customers"
	vendChanged = "api/v2.0/companies(" + company + ")/vendors"
	owner       = "3f2a1b4c-0000-4000-8000-00000000a11e"
	k1          = "11111111-1111-4111-8111-111111111111"
	k2          = "22222222-2222-4222-8222-222222222222"
	k3          = "33333333-3333-4333-8333-333333333333"
	k4          = "44444444-4444-4444-8444-444444444444"
)

// receiver is a subscriber endpoint on a real TLS listener. It must be created outside any
// synctest bubble (its goroutines block on the network).
type receiver struct {
	srv *httptest.Server

	mu         sync.Mutex
	handshakes []handshakeReq
	posts      []postReq
	// onHandshake answers a validation request; nil echoes the token.
	onHandshake func(w http.ResponseWriter, r *http.Request, token string)
	// status answers the n-th (1-based) notification POST; nil answers 200. -1 aborts the
	// connection without a response.
	status func(n int) int
}

type handshakeReq struct {
	Method, Token, Body, ContentType, RawQuery string
}

type postReq struct {
	Body        []byte
	ContentType string
	Accept      string
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	rc := &receiver{}
	rc.srv = httptest.NewTLSServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if token := r.URL.Query().Get("validationToken"); token != "" {
		rc.mu.Lock()
		rc.handshakes = append(rc.handshakes, handshakeReq{Method: r.Method, Token: token, Body: string(body),
			ContentType: r.Header.Get("Content-Type"), RawQuery: r.URL.RawQuery})
		h := rc.onHandshake
		rc.mu.Unlock()
		if h != nil {
			h(w, r, token)
			return
		}
		_, _ = io.WriteString(w, token)
		return
	}
	rc.mu.Lock()
	rc.posts = append(rc.posts, postReq{Body: body, ContentType: r.Header.Get("Content-Type"), Accept: r.Header.Get("Accept")})
	n := len(rc.posts)
	status := rc.status
	rc.mu.Unlock()
	code := http.StatusOK
	if status != nil {
		code = status(n)
	}
	if code < 0 {
		panic(http.ErrAbortHandler) // drop the connection: a transport error for the sender
	}
	w.WriteHeader(code)
}

func (rc *receiver) setHandshake(h func(w http.ResponseWriter, r *http.Request, token string)) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.onHandshake = h
}

func (rc *receiver) setStatus(f func(n int) int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.status = f
}

func (rc *receiver) url() string { return rc.srv.URL + "/hook" }

func (rc *receiver) handshakeCount() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.handshakes)
}

func (rc *receiver) lastHandshake() handshakeReq {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.handshakes[len(rc.handshakes)-1]
}

func (rc *receiver) postList() []postReq {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]postReq(nil), rc.posts...)
}

// client returns an HTTP client trusting the receiver. Keep-alives are off so no connection
// goroutine outlives a request (a synctest bubble only advances time when every goroutine is
// durably blocked).
func (rc *receiver) client() *http.Client {
	tr := rc.srv.Client().Transport.(*http.Transport).Clone()
	tr.DisableKeepAlives = true
	return &http.Client{Transport: tr}
}

func newManager(t *testing.T, rc *receiver, cfg Config) *Manager {
	t.Helper()
	if cfg.Client == nil && rc != nil {
		cfg.Client = rc.client()
	}
	m := NewManager(cfg)
	t.Cleanup(m.Close)
	return m
}

func mustCreate(t *testing.T, m *Manager, url, resource, state string) *Subscription {
	t.Helper()
	s, err := m.Create(context.Background(), owner, url, resource, state)
	if err != nil {
		t.Fatalf("Create(%s, %s): %v", url, resource, err)
	}
	return s
}

// asError asserts err is an *Error with the given status and code.
func asError(t *testing.T, err error, status int, code string) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v (%T), want *Error %d %s", err, err, status, code)
	}
	if e.Status != status || e.Code != code {
		t.Fatalf("error = %d %s %q, want %d %s", e.Status, e.Code, e.Message, status, code)
	}
	return e
}

type payload struct {
	Value []Notification `json:"value"`
}

func decodePayload(t *testing.T, body []byte) []Notification {
	t.Helper()
	var p payload
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("decode payload %s: %v", body, err)
	}
	return p.Value
}

// fixedClock is a settable clock for tests outside synctest.
type fixedClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fixedClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fixedClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
