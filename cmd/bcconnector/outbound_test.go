package main

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/internal/whtest"
)

// hookReceiver is the platform's endpoint in the end-to-end test: it answers 503 to the
// first delivery whose body contains failOnce, 200 to everything else, and keeps every
// request.
type hookReceiver struct {
	srv      *httptest.Server
	failOnce string
	mu       sync.Mutex
	failed   bool
	got      []hookRequest
}

type hookRequest struct {
	Header http.Header
	Body   []byte
	Status int
	At     time.Time
}

func newHookReceiver(t *testing.T, failOnce string) *hookReceiver {
	r := &hookReceiver{failOnce: failOnce}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		status := http.StatusNoContent
		if !r.failed && bytes.Contains(body, []byte(r.failOnce)) {
			r.failed, status = true, http.StatusServiceUnavailable
		}
		r.got = append(r.got, hookRequest{Header: req.Header.Clone(), Body: body, Status: status, At: time.Now()})
		r.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// waitFor polls the received requests until match finds enough of them.
func (r *hookReceiver) waitFor(t *testing.T, what string, n int, match func(hookRequest) bool) []hookRequest {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		r.mu.Lock()
		var out []hookRequest
		for _, h := range r.got {
			if match(h) {
				out = append(out, h)
			}
		}
		r.mu.Unlock()
		if len(out) >= n {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited 60s for %d × %s, got %d", n, what, len(out))
		}
		time.Sleep(50 * time.Millisecond) // polling interval, not synchronisation
	}
}

type hookEvent struct {
	Type string
	Data struct {
		ID, EntitySet, ConnectionID string
		Seq                         int64
		DaysLeft                    *int
		Record                      map[string]any
	}
}

func (h hookRequest) event(t *testing.T) hookEvent {
	t.Helper()
	var ev hookEvent
	if err := json.Unmarshal(h.Body, &ev); err != nil {
		t.Fatalf("delivery body %s: %v", h.Body, err)
	}
	return ev
}

// callAPI calls serve's JSON API and decodes the answer.
func callAPI(t *testing.T, base, token, method, path string, body any, want int, out any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, base+"/api/v1"+path, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, b, want)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
}

// TestServeWebhooksEndToEnd (issue 11): the platform registers an endpoint through the
// API of the real binary; a write-through reaches it as a signed record.created (checked
// by an independent implementation of Standard Webhooks); its first attempt fails, serve
// is killed while the delivery waits for its retry, and the restarted serve delivers it
// with the same webhook-id, once; the connection's secret, 20 days from its end, arrives
// as connection.secret.expiring; a replay from the change sequence sends the event again
// under a new webhook-id.
func TestServeWebhooksEndToEnd(t *testing.T) {
	bin := buildBinary(t)
	e := newCLIEnvConfig(t, emulator.Config{Scenario: emulator.ScenarioOK})
	end := time.Now().AddDate(0, 0, 20).Format("2006-01-02")
	if code, out, errOut := e.add("contoso", "--entities", "customers", "--write-entities", "customers", "--secret-end-date", end); code != 0 {
		t.Fatalf("add: %s %s", out, errOut)
	}
	code, token, errOut := e.run("", "token", "create", "--name", "platform")
	if code != 0 {
		t.Fatalf("token: %s", errOut)
	}
	token = strings.TrimSpace(token)
	args := []string{"--db", e.db, "--key-file", e.key, "--log-level", "debug", "serve", "--listen", "127.0.0.1:0",
		"--allow-endpoint-overrides", "--allow-private-webhook-targets"}
	first := startServe(t, bin, args...)
	for deadline := time.Now().Add(60 * time.Second); ; {
		if sets := getSyncSets(t, first.URL, token, "contoso"); len(sets) == 1 && sets[0].FullSyncDone {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no full sync within 60s\n%s", first.stderr.String())
		}
		time.Sleep(50 * time.Millisecond) // polling interval
	}

	rcv := newHookReceiver(t, "Webhook Test")
	var ep struct{ ID, Secret string }
	callAPI(t, first.URL, token, "POST", "/webhook-endpoints", map[string]any{"url": rcv.srv.URL + "/hooks", "eventTypes": []string{"*"}, "includeRecord": true}, 201, &ep)
	var created struct{ ID string } // the record as BC answered
	callAPI(t, first.URL, token, "POST", "/connections/contoso/entities/customers/records", map[string]any{"displayName": "Webhook Test"}, 201, &created)
	if created.ID == "" {
		t.Fatal("the write-through returned no record id")
	}
	isCreated := func(h hookRequest) bool {
		ev := h.event(t)
		return ev.Type == "record.created" && ev.Data.ID == created.ID
	}
	firstTry := rcv.waitFor(t, "the first attempt of record.created", 1, isCreated)[0]
	msgID := firstTry.Header.Get("webhook-id")
	if firstTry.Status != 503 {
		t.Fatalf("the first attempt was answered %d", firstTry.Status)
	}
	// Kill serve once the failure is recorded and the job waits in the database for the
	// retry. (A process killed during the attempt leaves the job running; River's rescuer
	// takes it up after the worker's timeout, which is slower than this test wants.)
	db, err := sql.Open("sqlite", "file:"+e.db+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for deadline := time.Now().Add(30 * time.Second); ; {
		var d struct {
			State    string
			Attempts int
		}
		callAPI(t, first.URL, token, "GET", "/webhook-deliveries/"+msgID, nil, 200, &d)
		var job string
		_ = db.QueryRow(`SELECT state FROM river_job WHERE kind = 'outbound_deliver' AND json_extract(args, '$.deliveryId') = ?`, msgID).Scan(&job)
		if d.Attempts == 1 && d.State == "pending" && (job == "scheduled" || job == "available") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the failed attempt was not recorded: %+v, job %q", d, job)
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
	first.kill()

	second := startServe(t, bin, args...)
	tries := rcv.waitFor(t, "the retry of record.created", 2, isCreated)
	if len(tries) != 2 || tries[1].Header.Get("webhook-id") != msgID || tries[1].Status != 204 {
		t.Fatalf("attempts of record.created: %d, the second with id %s and status %d; want the same id %s answered 204",
			len(tries), tries[len(tries)-1].Header.Get("webhook-id"), tries[len(tries)-1].Status, msgID)
	}
	if wait := tries[1].At.Sub(tries[0].At); wait < 4*time.Second {
		t.Errorf("the retry came %s after the first attempt, before the schedule's first wait (5 s ±10%%)", wait)
	}
	ev := tries[1].event(t)
	if ev.Data.Seq == 0 || ev.Data.EntitySet != "customers" || ev.Data.Record["displayName"] != "Webhook Test" {
		t.Fatalf("record.created data: %+v", ev.Data)
	}
	expiring := rcv.waitFor(t, "connection.secret.expiring", 1, func(h hookRequest) bool { return h.event(t).Type == "connection.secret.expiring" })
	if d := expiring[0].event(t).Data.DaysLeft; d == nil || *d < 18 || *d > 20 {
		t.Errorf("connection.secret.expiring daysLeft = %v, want about 20", d)
	}

	// Replay from the change before the record's creation.
	var rp struct {
		Deliveries int
		Done       bool
	}
	callAPI(t, second.URL, token, "POST", "/webhook-endpoints/"+ep.ID+"/replay", map[string]any{"after": ev.Data.Seq - 1}, 202, &rp)
	if rp.Deliveries < 1 || !rp.Done {
		t.Fatalf("replay: %+v", rp)
	}
	replayed := rcv.waitFor(t, "the replayed record.created", 3, isCreated)[2]
	if replayed.Header.Get("webhook-id") == msgID || replayed.event(t).Data.Seq != ev.Data.Seq {
		t.Fatalf("the replay came as %s seq %d, want a new id and seq %d", replayed.Header.Get("webhook-id"), replayed.event(t).Data.Seq, ev.Data.Seq)
	}

	rcv.mu.Lock()
	all := append([]hookRequest(nil), rcv.got...)
	rcv.mu.Unlock()
	ok := map[string]int{}
	for _, h := range all {
		if err := whtest.Verify(ep.Secret, h.Header, h.Body, h.At); err != nil {
			t.Errorf("a delivery does not verify: %v (%s)", err, h.Body)
		}
		if h.Status < 300 {
			ok[h.Header.Get("webhook-id")]++
		}
	}
	for id, n := range ok {
		if n != 1 {
			t.Errorf("webhook-id %s was answered 2xx %d times", id, n)
		}
	}
	second.stop(t)
	for _, p := range []*serveProcess{first, second} {
		if strings.Contains(p.stderr.String(), ep.Secret) || strings.Contains(p.stdout.String(), ep.Secret) {
			t.Fatal("serve printed the endpoint's signing secret")
		}
	}
}
