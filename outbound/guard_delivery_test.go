package outbound_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/outbound"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/store/storetest"
)

// TestOrderPerRecord: a later change of a record is not sent while an earlier one is
// being retried; other records are not held up.
func TestOrderPerRecord(t *testing.T) {
	t.Parallel()
	e := setup(t, nil, 500) // the first request fails once
	e.endpoint(outbound.EndpointInput{EventTypes: []string{"*"}})
	a, b := storetest.GUID(1), storetest.GUID(2)
	e.change("customers", storetest.Customer(a, storetest.ETag(1), "A1", lm))
	e.change("customers", storetest.Customer(a, storetest.ETag(2), "A2", lm), storetest.Customer(b, storetest.ETag(1), "B1", lm))
	jobs := e.q.take()
	if len(jobs) != 2 {
		t.Fatalf("jobs %v, want the first change of A and the change of B", jobs)
	}
	first := e.attempt(jobs[0]) // A1: fails
	if first.Delivery.State != store.DeliveryPending || first.Delivery.Seq != 1 {
		t.Fatalf("A1 after a failure: %+v", first.Delivery)
	}
	if res := e.attempt(jobs[1]); res.Delivery.State != store.DeliverySucceeded || res.Delivery.Seq != 3 {
		t.Fatalf("B1 (another record) is held up: %+v", res.Delivery)
	}
	queued, _ := e.db.Deliveries(t.Context(), store.DeliveryQuery{State: store.DeliveryQueued})
	if len(queued) != 1 || queued[0].Seq != 2 {
		t.Fatalf("queued %+v, want A2", queued)
	}
	if res := e.attempt(queued[0].ID); !res.Skipped {
		t.Fatalf("A2 was attempted while A1 is retried: %+v", res)
	}
	e.clock.Advance(time.Minute)
	res := e.attempt(jobs[0])
	if res.Delivery.State != store.DeliverySucceeded || res.Next != queued[0].ID {
		t.Fatalf("A1 on retry: %+v, next %q; want succeeded and A2 next", res.Delivery, res.Next)
	}
	if res := e.attempt(res.Next); res.Delivery.State != store.DeliverySucceeded {
		t.Fatalf("A2: %+v", res.Delivery)
	}
	var seqs []int64
	for _, r := range e.rcv.requests() {
		var ev struct{ Data outbound.RecordData }
		_ = json.Unmarshal(r.Body, &ev)
		if ev.Data.ID == a && r.Status == 200 {
			seqs = append(seqs, ev.Data.Seq)
		}
	}
	if len(seqs) != 2 || seqs[0] != 1 || seqs[1] != 2 {
		t.Fatalf("record A arrived as seqs %v, want 1 then 2", seqs)
	}
}

// TestPrivateTargetRefusedAtDial: an endpoint whose address is (or has come to resolve
// to) loopback is not reached when private targets are not allowed; the attempt log says
// why, and the delivery is retried like any failure.
func TestPrivateTargetRefusedAtDial(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	// Stored directly: the API's check refuses this URL, but a name that resolves to it
	// later (DNS rebinding) ends at the same dial.
	ep, err := e.db.CreateEndpoint(t.Context(), store.Endpoint{URL: e.rcv.srv.URL + "/hooks", EventTypes: []string{"*"}}, store.NewSigningSecret())
	if err != nil {
		t.Fatal(err)
	}
	strict := outbound.New(outbound.Options{Store: e.db, Now: e.clock.Now,
		TLS: e.rcv.srv.Client().Transport.(*http.Transport).TLSClientConfig})
	d, err := strict.SendTest(t.Context(), ep.ID)
	if err != nil {
		t.Fatal(err)
	}
	res, err := strict.Attempt(t.Context(), d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if res.Delivery.State != store.DeliveryPending || !strings.Contains(res.Delivery.LastError, "private webhook target refused") ||
		res.Delivery.LastStatus != 0 {
		t.Fatalf("attempt to a loopback target: %+v", res.Delivery)
	}
	if n := len(e.rcv.requests()); n != 0 {
		t.Fatalf("the loopback receiver got %d requests", n)
	}
}

// TestRotationSignsWithBoth: during the overlap every delivery carries two signatures;
// a receiver holding either secret verifies it; after a rotation without overlap only the
// new one does.
func TestRotationSignsWithBoth(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	ep, old := e.endpoint(outbound.EndpointInput{EventTypes: []string{"*"}})
	_, next, err := e.svc.RotateEndpointSecret(t.Context(), ep.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	send := func() received {
		t.Helper()
		d, err := e.svc.SendTest(t.Context(), ep.ID)
		if err != nil {
			t.Fatal(err)
		}
		if res := e.attempt(d.ID); res.Delivery.State != store.DeliverySucceeded {
			t.Fatalf("test event: %+v", res.Delivery)
		}
		reqs := e.rcv.requests()
		return reqs[len(reqs)-1]
	}
	r := send()
	if n := len(strings.Fields(r.Signature)); n != 2 {
		t.Fatalf("%d signatures during the overlap, want 2", n)
	}
	for _, s := range []string{old, next.Reveal()} {
		if err := verify(s, r.header(), r.Body, e.clock.Now()); err != nil {
			t.Fatalf("a receiver with one of the two secrets: %v", err)
		}
	}
	var ev outbound.Event
	if err := json.Unmarshal(r.Body, &ev); err != nil || ev.Type != outbound.Test {
		t.Fatalf("test event body %s", r.Body)
	}
	// The overlap ends: only the new secret signs.
	e.clock.Advance(time.Hour + time.Second)
	r = send()
	if verify(old, r.header(), r.Body, e.clock.Now()) == nil || verify(next.Reveal(), r.header(), r.Body, e.clock.Now()) != nil {
		t.Fatalf("after the overlap: signatures %q", r.Signature)
	}
	e.scanLog(old, next.Reveal())
}

// TestRedirectAndBigAnswer: a 3xx is a failure, not followed; a big answer is read only
// up to a bound and logged shortened.
func TestRedirectAndBigAnswer(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	mux := http.NewServeMux()
	// httptest's TLS servers share one certificate, so the client trusts this one too.
	srv := httptest.NewTLSServer(mux)
	t.Cleanup(srv.Close)
	followed := make(chan bool, 1)
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/final", http.StatusFound) })
	mux.HandleFunc("/final", func(w http.ResponseWriter, r *http.Request) { followed <- true })
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(500)
		w.Write([]byte(strings.Repeat("x", 1<<20)))
	})
	for _, tc := range []struct{ path, wantErr string }{{"/moved", "redirects are not followed"}, {"/big", "HTTP 500"}} {
		ep, _ := e.endpoint(outbound.EndpointInput{URL: srv.URL + tc.path, EventTypes: []string{"*"}})
		d, err := e.svc.SendTest(t.Context(), ep.ID)
		if err != nil {
			t.Fatal(err)
		}
		res := e.attempt(d.ID)
		log, _ := e.db.DeliveryAttempts(t.Context(), d.ID)
		if res.Delivery.State != store.DeliveryPending || !strings.Contains(res.Delivery.LastError, tc.wantErr) ||
			len(log) != 1 || len(log[0].Response) > store.MaxAttemptResponse {
			t.Fatalf("%s: %+v, log %d entries", tc.path, res.Delivery, len(log))
		}
	}
	select {
	case <-followed:
		t.Fatal("the redirect was followed")
	default:
	}
}
