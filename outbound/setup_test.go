package outbound_test

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/emulator/emulatortest"
	"github.com/bizzjoiner/bcconnector/internal/testlog"
	"github.com/bizzjoiner/bcconnector/internal/whtest"
	"github.com/bizzjoiner/bcconnector/outbound"
	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/store/sqlite"
	"github.com/bizzjoiner/bcconnector/store/storetest"
)

// verify is the receiver's check, written independently of package outbound.
func verify(whsec string, hdr http.Header, body []byte, now time.Time) error {
	return whtest.Verify(whsec, hdr, body, now)
}

// header returns the Standard Webhooks headers of a received request.
func (r received) header() http.Header {
	h := http.Header{}
	h.Set("webhook-id", r.ID)
	h.Set("webhook-timestamp", r.Timestamp)
	h.Set("webhook-signature", r.Signature)
	return h
}

// received is one request as the receiver saw it.
type received struct {
	Path, ID, Timestamp, Signature string
	Body                           []byte
	Status                         int
}

// receiver is an HTTPS endpoint that answers with the next status of a script (200 when
// the script is used up) and keeps every request.
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	script []int
	got    []received
	hits   chan received
}

func newReceiver(t *testing.T, script ...int) *receiver {
	t.Helper()
	r := &receiver{script: script, hits: make(chan received, 100)}
	r.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		status := http.StatusOK
		if len(r.script) > 0 {
			status, r.script = r.script[0], r.script[1:]
		}
		rec := received{Path: req.URL.Path, ID: req.Header.Get("webhook-id"), Timestamp: req.Header.Get("webhook-timestamp"),
			Signature: req.Header.Get("webhook-signature"), Body: body, Status: status}
		r.got = append(r.got, rec)
		r.mu.Unlock()
		w.WriteHeader(status)
		io.WriteString(w, "answer "+strconv.Itoa(status))
		r.hits <- rec
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// queue records the deliveries given jobs.
type queue struct {
	mu  sync.Mutex
	ids []string
}

func (q *queue) Deliver(_ context.Context, ids ...string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.ids = append(q.ids, ids...)
	return nil
}

func (q *queue) DeliverEach(ctx context.Context, ids ...string) error { return q.Deliver(ctx, ids...) }

func (q *queue) take() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.ids
	q.ids = nil
	return out
}

type env struct {
	t     *testing.T
	db    *sqlite.DB
	svc   *outbound.Service
	q     *queue
	clock *emulatortest.Clock
	log   *testlog.Buffer
	rcv   *receiver
}

// setup opens a store, a service on a fake clock that delivers to an HTTPS receiver
// (trusted; private targets allowed, as the receiver is on loopback) and the schedule
// given.
func setup(t *testing.T, schedule []time.Duration, script ...int) *env {
	t.Helper()
	e := &env{t: t, q: &queue{}, clock: emulatortest.NewClock(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)), log: &testlog.Buffer{}}
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "bcc.db"), secret.GenerateKeyring(), sqlite.Options{Now: e.clock.Now, Logger: e.log.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e.db = db
	e.rcv = newReceiver(t, script...)
	e.svc = outbound.New(outbound.Options{Store: db, Queue: e.q, AllowPrivate: true, Schedule: schedule, Now: e.clock.Now,
		TLS: e.rcv.srv.Client().Transport.(*http.Transport).TLSClientConfig, Logger: e.log.Logger()})
	for _, set := range []string{"customers", "vendors"} {
		if err := db.EnsureReplica(t.Context(), storetest.Entity(t, set)); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// endpoint registers an endpoint on the receiver and returns it with its secret.
func (e *env) endpoint(in outbound.EndpointInput) (store.Endpoint, string) {
	e.t.Helper()
	if in.URL == "" {
		in.URL = e.rcv.srv.URL + "/hooks"
	}
	ep, sec, err := e.svc.CreateEndpoint(e.t.Context(), in)
	if err != nil {
		e.t.Fatal(err)
	}
	return ep, sec.Reveal()
}

// change applies rows to the replica of a set (a change log entry each) and dispatches.
func (e *env) change(set string, rows ...store.ReplicaRow) {
	e.t.Helper()
	if _, err := e.db.ApplyBatch(e.t.Context(), store.ReplicaBatch{Key: storetest.Key(set), Upserts: rows, Now: e.clock.Now()}); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.svc.Dispatch(e.t.Context()); err != nil {
		e.t.Fatal(err)
	}
}

// attempt runs the attempt of a delivery and fails on an error.
func (e *env) attempt(id string) outbound.Result {
	e.t.Helper()
	res, err := e.svc.Attempt(e.t.Context(), id)
	if err != nil {
		e.t.Fatalf("Attempt(%s): %v", id, err)
	}
	return res
}

// scanLog fails if the log holds any of the secrets in any usual encoding.
func (e *env) scanLog(secrets ...string) {
	e.t.Helper()
	logText := e.log.String()
	for _, s := range secrets {
		forms := []string{s}
		if k, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, "whsec_")); err == nil {
			forms = append(forms, string(k), base64.RawStdEncoding.EncodeToString(k), base64.URLEncoding.EncodeToString(k))
		}
		for _, f := range forms {
			if strings.Contains(logText, f) {
				e.t.Fatalf("the log holds a signing secret")
			}
		}
	}
}
