package service

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/store/sqlite"
)

// hostRecorder is an http.RoundTripper that records the host of every request; requests
// to the listener it was made for go through, all others fail without being sent.
type hostRecorder struct {
	next   http.RoundTripper
	listen string
	mu     sync.Mutex
	hosts  []string
}

func (h *hostRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	h.mu.Lock()
	h.hosts = append(h.hosts, r.URL.Host)
	h.mu.Unlock()
	if r.URL.Host != h.listen {
		return nil, errors.New("test: this request would have left the machine")
	}
	return h.next.RoundTrip(r)
}

func (h *hostRecorder) seen() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.hosts...)
}

// TestStoredEndpointsOrNothing: on a server without --allow-endpoint-overrides, a stored
// connection that names its own endpoints is shown as blocked with the reason and the fix,
// and nothing is sent anywhere: not to its endpoints, not to Microsoft's (issue 9.4). With
// overrides allowed, the doctor uses the stored endpoints.
func TestStoredEndpointsOrNothing(t *testing.T) {
	ctx := t.Context()
	var contacted sync.Map
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		contacted.Store(r.Method+" "+r.URL.Path, true)
		http.Error(w, "recorded", http.StatusBadRequest)
	}))
	defer srv.Close()
	rec := &hostRecorder{next: srv.Client().Transport, listen: strings.TrimPrefix(srv.URL, "https://")}
	hc := &http.Client{Transport: rec}

	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "bcc.db"), secret.GenerateKeyring(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c, err := db.CreateConnection(ctx, store.Connection{Name: "own endpoints", TenantID: "contoso.onmicrosoft.com",
		ClientID: "4f6c2b1d-1111-4222-8333-944455556666", Environment: "Production", CompanyID: "f60ea093-52a0-4d60-9173-2810c5f8eb47",
		AuthorityHost: srv.URL + "/", BCBaseURL: srv.URL + "/v2.0", Entities: []string{"customers"}})
	if err != nil {
		t.Fatal(err)
	}
	sr, err := db.AddSecret(ctx, c.ID, "Kx38Q~abcdefghijklmnopqrstuvwxyz0123456", time.Time{})
	if err == nil {
		_, err = db.PromoteSecret(ctx, c.ID, sr.ID)
	}
	if err != nil {
		t.Fatal(err)
	}

	svc, err := New(Options{Store: db, HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	const flag = "--allow-endpoint-overrides"
	rep, err := svc.RunDoctor(ctx, c.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK || len(rep.Checks) == 0 || !strings.Contains(rep.Checks[0].Fix, flag) || !strings.Contains(rep.Checks[0].Problem, "nothing was sent") {
		b, _ := json.Marshal(rep)
		t.Errorf("the doctor of a blocked connection does not say it is blocked and how to fix it: %s", b)
	}
	if _, err := svc.Companies(ctx, c.ID); err == nil || !strings.Contains(err.Error(), flag) || !errors.Is(err, store.ErrConflict) {
		t.Errorf("companies of a blocked connection: %v", err)
	}
	if _, err := svc.Client(ctx, c.ID); err == nil || !strings.Contains(err.Error(), flag) {
		t.Errorf("the syncer's client of a blocked connection: %v", err)
	}
	if err := svc.RotateSecret(ctx, c.ID, "Zq71Q~abcdefghijklmnopqrstuvwxyz0123456", ""); err == nil || !strings.Contains(err.Error(), flag) {
		t.Errorf("rotating the secret of a blocked connection: %v", err)
	}
	v, err := svc.GetConnection(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := json.Marshal(v); !strings.Contains(string(b), `"blocked":`) || !strings.Contains(string(b), flag) {
		t.Errorf("the connection's view does not show it blocked: %s", b)
	}
	// Input that names its own endpoints is diagnosed at them or not at all.
	in := ConnectionInput{TenantID: c.TenantID, ClientID: c.ClientID, Secret: "Kx38Q~abcdefghijklmnopqrstuvwxyz0123456",
		Environment: c.Environment, Company: c.CompanyID, AuthorityHost: c.AuthorityHost, BCBaseURL: c.BCBaseURL}
	if rep := svc.Diagnose(ctx, in, nil); rep.OK || len(rep.Checks) != 1 || !strings.Contains(rep.Checks[0].Fix, flag) {
		b, _ := json.Marshal(rep)
		t.Errorf("the doctor of input with its own endpoints does not say it is blocked: %s", b)
	}
	if hosts := rec.seen(); len(hosts) > 0 {
		t.Errorf("requests were sent for a blocked connection, to %q", hosts)
	}
	contacted.Range(func(k, _ any) bool { t.Errorf("the connection's endpoint was contacted: %v", k); return true })

	// Allowed: the doctor diagnoses the stored connection at its stored endpoints.
	allowed, err := New(Options{Store: db, HTTPClient: hc, AllowEndpointOverrides: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := allowed.RunDoctor(ctx, c.ID, nil); err != nil {
		t.Fatal(err)
	}
	for _, h := range rec.seen() {
		if h != rec.listen {
			t.Errorf("the doctor of a stored connection went to %s, not to its stored endpoints at %s", h, rec.listen)
		}
	}
	if len(rec.seen()) == 0 {
		t.Error("the doctor of an allowed connection did not contact its stored endpoints")
	}
}
