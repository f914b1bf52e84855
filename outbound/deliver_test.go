package outbound_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/outbound"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/store/storetest"
)

var lm = time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)

// TestSignedRecordEvents: changes in the replica arrive at an HTTPS receiver as
// record.created/updated/deleted events whose signatures verify with an independent
// implementation of Standard Webhooks; the endpoint's filters apply.
func TestSignedRecordEvents(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	ctx := t.Context()
	ep, sec := e.endpoint(outbound.EndpointInput{EventTypes: []string{"record.*"}, IncludeRecord: true})
	// Endpoints that must not get these events: another connection, other types.
	other, otherSec := e.endpoint(outbound.EndpointInput{URL: e.rcv.srv.URL + "/other", EventTypes: []string{"record.deleted"}})
	conn, err := e.db.CreateConnection(ctx, storetest.NewConnection("x"))
	if err != nil {
		t.Fatal(err)
	}
	filtered, _ := e.endpoint(outbound.EndpointInput{EventTypes: []string{"*"}, ConnectionID: conn.ID})

	id := storetest.GUID(1)
	e.change("customers", storetest.Customer(id, storetest.ETag(1), "Adatum", lm), storetest.Customer(storetest.GUID(2), storetest.ETag(1), "Bravo", lm))
	e.change("customers", storetest.Customer(id, storetest.ETag(2), "Adatum Corp", lm))
	if _, err := e.db.ApplyBatch(ctx, store.ReplicaBatch{Key: storetest.Key("customers"), Deletes: []string{storetest.GUID(2)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Dispatch(ctx); err != nil {
		t.Fatal(err)
	}
	list, err := e.db.Deliveries(ctx, store.DeliveryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var mine []store.Delivery
	for _, d := range list {
		switch d.EndpointID {
		case ep.ID:
			mine = append(mine, d)
		case other.ID:
			if d.EventType != outbound.RecordDeleted {
				t.Errorf("an endpoint for record.deleted got %s", d.EventType)
			}
		case filtered.ID:
			t.Errorf("an endpoint filtered to another connection got %s", d.EventType)
		}
	}
	if len(mine) != 4 {
		t.Fatalf("%d deliveries for the endpoint, want 4 (2 created, 1 updated, 1 deleted)", len(mine))
	}
	// Jobs were asked for the pending ones: the second change of record 1 waits for the
	// first.
	jobs := e.q.take()
	for _, id := range jobs {
		e.attempt(id)
	}
	for _, id := range e.q.take() {
		t.Fatalf("a delivery got a job before its turn: %s", id)
	}
	for {
		progressed := false
		for _, d := range mine {
			if res := e.attempt(d.ID); res.Next != "" {
				progressed = true
			}
		}
		if !progressed {
			break
		}
	}
	reqs := e.rcv.requests()
	var types []string
	for _, r := range reqs {
		if r.Path == "/other" {
			if err := verify(otherSec, r.header(), r.Body, e.clock.Now()); err != nil || !strings.Contains(string(r.Body), `"record.deleted"`) {
				t.Errorf("the record.deleted endpoint got %s (%v)", r.Body, err)
			}
			continue
		}
		if err := verify(sec, r.header(), r.Body, e.clock.Now()); err != nil {
			t.Fatalf("request %s does not verify: %v", r.ID, err)
		}
		var ev struct {
			Type      string
			Timestamp time.Time
			Data      outbound.RecordData
		}
		if err := json.Unmarshal(r.Body, &ev); err != nil {
			t.Fatal(err)
		}
		types = append(types, ev.Type+" "+ev.Data.ID[:8])
		d := ev.Data
		if d.ConnectionID != storetest.Conn || d.CompanyID != storetest.Company || d.EntitySet != "customers" || d.Seq == 0 || ev.Timestamp.IsZero() {
			t.Errorf("event data: %+v", ev)
		}
		switch ev.Type {
		case outbound.RecordDeleted:
			if d.ETag != "" || d.Record != nil {
				t.Errorf("a delete carries %q / %s", d.ETag, d.Record)
			}
		default:
			var rec map[string]any
			if err := json.Unmarshal(d.Record, &rec); err != nil || rec["id"] != d.ID || d.ETag == "" {
				t.Errorf("%s: record %s (etag %q), want the replica's record", ev.Type, d.Record, d.ETag)
			}
		}
	}
	want := []string{"record.created 00000001", "record.created 00000002", "record.updated 00000001", "record.deleted 00000002"}
	slices.Sort(types)
	slices.Sort(want)
	if !slices.Equal(types, want) {
		t.Fatalf("verified events %v, want %v", types, want)
	}
	if len(reqs) != 5 {
		t.Fatalf("%d requests, want 4 to the endpoint and 1 to the record.deleted one", len(reqs))
	}
	e.scanLog(sec, otherSec)
}

// TestRetriesOnFakeClock: a receiver that fails three times then succeeds gets the same
// webhook-id four times, each attempt when the schedule says and not before; the attempt
// log keeps every answer.
func TestRetriesOnFakeClock(t *testing.T) {
	t.Parallel()
	e := setup(t, nil, 503, 500, 429)
	_, sec := e.endpoint(outbound.EndpointInput{EventTypes: []string{"record.created"}})
	e.change("vendors", storetest.Customer(storetest.GUID(7), storetest.ETag(1), "V", lm))
	jobs := e.q.take()
	if len(jobs) != 1 {
		t.Fatalf("jobs %v, want one", jobs)
	}
	id := jobs[0]
	start := e.clock.Now()
	for i := range 3 {
		before := e.clock.Now()
		res := e.attempt(id)
		if res.Delivery.State != store.DeliveryPending || res.Delivery.Attempts != i+1 {
			t.Fatalf("after failure %d: %+v", i+1, res.Delivery)
		}
		wait := res.Delivery.NextAttemptAt.Sub(before)
		if lo, hi := outbound.DefaultSchedule[i]*9/10, outbound.DefaultSchedule[i]*11/10; wait < lo || wait > hi {
			t.Fatalf("wait after attempt %d = %s, want %s ±10%%", i+1, wait, outbound.DefaultSchedule[i])
		}
		// Not due yet: nothing is sent.
		e.clock.Advance(wait - time.Second)
		if res := e.attempt(id); res.NotYet.IsZero() {
			t.Fatalf("an attempt before its time was made: %+v", res)
		}
		e.clock.Advance(time.Second)
	}
	res := e.attempt(id)
	if res.Delivery.State != store.DeliverySucceeded || res.Delivery.Attempts != 4 || res.Delivery.LastStatus != 200 {
		t.Fatalf("after the fourth attempt: %+v", res.Delivery)
	}
	if res := e.attempt(id); !res.Skipped {
		t.Fatalf("a finished delivery was attempted again: %+v", res)
	}
	reqs := e.rcv.requests()
	if len(reqs) != 4 {
		t.Fatalf("%d requests, want 4", len(reqs))
	}
	for i, r := range reqs {
		if r.ID != id {
			t.Errorf("attempt %d has webhook-id %s, want %s every time", i+1, r.ID, id)
		}
		if i > 0 && r.Timestamp == reqs[i-1].Timestamp {
			t.Errorf("attempt %d reuses the timestamp of the one before", i+1)
		}
		ts := time.Unix(mustInt(t, r.Timestamp), 0)
		if err := verify(sec, r.header(), r.Body, ts); err != nil {
			t.Errorf("attempt %d: %v", i+1, err)
		}
		if string(r.Body) != string(reqs[0].Body) {
			t.Errorf("attempt %d sent another body", i+1)
		}
	}
	log, err := e.db.DeliveryAttempts(t.Context(), id)
	if err != nil || len(log) != 4 {
		t.Fatalf("attempt log %+v, %v", log, err)
	}
	for i, want := range []int{503, 500, 429, 200} {
		a := log[i]
		if a.StatusCode != want || a.Response != "answer "+itoa(want) || (want != 200) != (a.Error != "") {
			t.Errorf("attempt %d logged as %+v", i+1, a)
		}
	}
	if log[3].At.Sub(start) < 5*time.Second+5*time.Minute+30*time.Minute-4*time.Minute {
		t.Errorf("the last attempt came %s after the first", log[3].At.Sub(start))
	}
	e.scanLog(sec)
}

// TestDeadAndReplay: a receiver that never succeeds makes the delivery dead after the
// whole schedule (more than a day); a replay sends it again under a new webhook-id.
func TestDeadAndReplay(t *testing.T) {
	t.Parallel()
	script := make([]int, len(outbound.DefaultSchedule)+1)
	for i := range script {
		script[i] = 500
	}
	e := setup(t, nil, script...)
	e.endpoint(outbound.EndpointInput{EventTypes: []string{"*"}})
	e.change("customers", storetest.Customer(storetest.GUID(1), storetest.ETag(1), "A", lm))
	id := e.q.take()[0]
	first := e.clock.Now()
	var res outbound.Result
	for range len(script) {
		res = e.attempt(id)
		if res.Delivery.State == store.DeliveryPending {
			e.clock.Advance(res.Delivery.NextAttemptAt.Sub(e.clock.Now()))
		}
	}
	if res.Delivery.State != store.DeliveryDead || res.Delivery.Attempts != len(script) {
		t.Fatalf("after %d failures: %+v, want dead", len(script), res.Delivery)
	}
	if span := res.Delivery.LastAttemptAt.Sub(first); span < 24*time.Hour {
		t.Fatalf("retries spanned %s, want more than a day", span)
	}
	r, err := e.svc.ReplayDelivery(t.Context(), id)
	if err != nil || r.ID == id || r.ReplayOf != id || r.State != store.DeliveryPending {
		t.Fatalf("ReplayDelivery = %+v, %v", r, err)
	}
	if jobs := e.q.take(); !slices.Equal(jobs, []string{r.ID}) {
		t.Fatalf("jobs after the replay: %v", jobs)
	}
	if res := e.attempt(r.ID); res.Delivery.State != store.DeliverySucceeded {
		t.Fatalf("the replay: %+v", res.Delivery)
	}
	reqs := e.rcv.requests()
	last := reqs[len(reqs)-1]
	if last.ID != r.ID || string(last.Body) != string(reqs[0].Body) {
		t.Fatalf("the replay arrived as %s with another body", last.ID)
	}
	// Finished deliveries go after the retention period, not before.
	if n, err := e.svc.Prune(t.Context()); err != nil || n != 0 {
		t.Fatalf("Prune right away = %d, %v", n, err)
	}
	e.clock.Advance(outbound.DeliveryRetention + time.Second)
	if n, err := e.svc.Prune(t.Context()); err != nil || n != 2 {
		t.Fatalf("Prune after the retention = %d, %v; want the dead delivery and its replay", n, err)
	}
}

func mustInt(t *testing.T, s string) int64 {
	t.Helper()
	var n int64
	if err := json.Unmarshal([]byte(s), &n); err != nil {
		t.Fatal(err)
	}
	return n
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }
