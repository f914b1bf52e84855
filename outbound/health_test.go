package outbound_test

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/doctor"
	"github.com/bizzjoiner/bcconnector/guide"
	"github.com/bizzjoiner/bcconnector/outbound"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/store/storetest"
)

// healthEvents runs a health check and returns the events it sent to the receiver, each
// verified with the endpoint's secret.
func (e *env) healthEvents(sec string) []map[string]any {
	e.t.Helper()
	if _, err := e.svc.CheckHealth(e.t.Context()); err != nil {
		e.t.Fatal(err)
	}
	before := len(e.rcv.requests())
	for _, id := range e.q.take() {
		if res := e.attempt(id); res.Delivery.State != store.DeliverySucceeded {
			e.t.Fatalf("health event delivery: %+v", res.Delivery)
		}
	}
	var out []map[string]any
	for _, r := range e.rcv.requests()[before:] {
		if err := verify(sec, r.header(), r.Body, e.clock.Now()); err != nil {
			e.t.Fatal(err)
		}
		var ev map[string]any
		if err := json.Unmarshal(r.Body, &ev); err != nil {
			e.t.Fatal(err)
		}
		out = append(out, ev)
	}
	return out
}

// heldEvents runs a health check, which must send nothing (the change is held), then
// another one the hold later and returns its events.
func (e *env) heldEvents(sec string) []map[string]any {
	e.t.Helper()
	if evs := e.healthEvents(sec); len(evs) != 0 {
		e.t.Fatalf("a change sent before it held for %s: %v", outbound.DefaultHealthHold, evs)
	}
	e.clock.Advance(outbound.DefaultHealthHold)
	return e.healthEvents(sec)
}

func wantEvent(t *testing.T, evs []map[string]any, typ string, fields map[string]any) {
	t.Helper()
	if len(evs) != 1 || evs[0]["type"] != typ {
		t.Fatalf("events %v, want one %s", evs, typ)
	}
	data, _ := evs[0]["data"].(map[string]any)
	for k, v := range fields {
		if data[k] != v {
			t.Errorf("%s: %s = %v, want %v (data %v)", typ, k, data[k], v, data)
		}
	}
}

// TestHealthEvents: the credential's expiry (30/14/7/1 days, expired), the setup check
// (failed with the guide step, recovered) and a set's sync (failing, recovered) each send
// one event when they change, to the endpoints that want them.
func TestHealthEvents(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	ctx := t.Context()
	c, err := e.db.CreateConnection(ctx, storetest.NewConnection("acme"))
	if err != nil {
		t.Fatal(err)
	}
	_, sec := e.endpoint(outbound.EndpointInput{EventTypes: []string{"connection.*"}, ConnectionID: c.ID})
	e.endpoint(outbound.EndpointInput{URL: e.rcv.srv.URL + "/records", EventTypes: []string{"record.*"}})
	end := e.clock.Now().Add(40 * 24 * time.Hour)
	rec, err := e.db.AddSecret(ctx, c.ID, "a-client-secret-value", end)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.PromoteSecret(ctx, c.ID, rec.ID); err != nil {
		t.Fatal(err)
	}
	if evs := e.healthEvents(sec); len(evs) != 0 {
		t.Fatalf("40 days before the end date: %v", evs)
	}
	for _, step := range []struct {
		left time.Duration
		typ  string
		days float64
	}{
		{29 * 24 * time.Hour, outbound.SecretExpiring, 29},
		{13 * 24 * time.Hour, outbound.SecretExpiring, 13},
		{12 * time.Hour, outbound.SecretExpiring, 0}, // 7 is skipped: one event for the jump
		{-time.Hour, outbound.SecretExpired, 0},
	} {
		e.clock.Advance(end.Sub(e.clock.Now()) - step.left)
		wantEvent(t, e.healthEvents(sec), step.typ, map[string]any{"connectionId": c.ID, "credentialId": rec.ID, "daysLeft": step.days, "kind": "secret"})
		if evs := e.healthEvents(sec); len(evs) != 0 {
			t.Fatalf("the same state sent again: %v", evs)
		}
	}

	// The setup check fails at Step 3, then passes.
	step := guide.Step3Secret
	failed := doctor.Report{OK: false, FailedStep: &step, Finished: e.clock.Now(), Checks: []doctor.Check{
		{ID: "token", Title: "Token request", Step: step, Status: doctor.Failed, Problem: "the client secret has expired", Fix: "create a new one"}}}
	saveReport(t, e, c.ID, failed)
	wantEvent(t, e.heldEvents(sec), outbound.SetupFailed, map[string]any{"step": "Step 3", "stepTitle": step.String(),
		"problem": "the client secret has expired", "fix": "create a new one"})
	saveReport(t, e, c.ID, doctor.Report{OK: true, Finished: e.clock.Now()})
	wantEvent(t, e.heldEvents(sec), outbound.SetupRecovered, map[string]any{"connectionId": c.ID})

	// A set's sync fails, then succeeds.
	key := store.ReplicaKey{ConnectionID: c.ID, CompanyID: storetest.Company, EntitySet: "customers"}
	setSync := func(errText string) {
		if err := e.db.UpdateSyncState(ctx, key, func(s *store.SyncState) { s.LastError = errText }); err != nil {
			t.Fatal(err)
		}
	}
	setSync("BC answered 401")
	wantEvent(t, e.heldEvents(sec), outbound.SyncFailing, map[string]any{"entitySet": "customers", "error": "BC answered 401"})
	setSync("")
	wantEvent(t, e.heldEvents(sec), outbound.SyncRecovered, map[string]any{"entitySet": "customers"})

	// Flapping between checks sends nothing: failing, ok, failing, ok… a check apart.
	for i := range 6 {
		if i%2 == 0 {
			setSync("BC answered 503")
		} else {
			setSync("")
		}
		if evs := e.healthEvents(sec); len(evs) != 0 {
			t.Fatalf("flap %d sent %v", i, evs)
		}
		e.clock.Advance(outbound.DefaultHealthHold)
	}
	// Failing at two checks in a row (the hold) is sent, once.
	setSync("BC answered 503")
	wantEvent(t, e.heldEvents(sec), outbound.SyncFailing, map[string]any{"error": "BC answered 503"})
	e.clock.Advance(outbound.DefaultHealthHold)
	if evs := e.healthEvents(sec); len(evs) != 0 {
		t.Fatalf("failing sent again: %v", evs)
	}
	// A recovery that fails again within the hold is no recovery.
	setSync("")
	e.healthEvents(sec)
	e.clock.Advance(outbound.DefaultHealthHold / 2)
	setSync("BC answered 503")
	if evs := e.healthEvents(sec); len(evs) != 0 {
		t.Fatalf("a recovery of half the hold sent %v", evs)
	}
	e.clock.Advance(outbound.DefaultHealthHold)
	if evs := e.healthEvents(sec); len(evs) != 0 {
		t.Fatalf("still failing sent %v", evs)
	}
	for _, r := range e.rcv.requests() {
		if r.Path == "/records" {
			t.Fatalf("an endpoint for record events got %s", r.Body)
		}
	}
	e.scanLog(sec, "a-client-secret-value")
}

func saveReport(t *testing.T, e *env, connID string, rep doctor.Report) {
	t.Helper()
	b, _ := json.Marshal(rep)
	if err := e.db.SaveDoctorReport(t.Context(), connID, b); err != nil {
		t.Fatal(err)
	}
}

// TestHealthInstancesAgree: instances that check at once send a change once.
func TestHealthInstancesAgree(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	c, _ := e.db.CreateConnection(t.Context(), storetest.NewConnection("acme"))
	e.endpoint(outbound.EndpointInput{EventTypes: []string{"*"}})
	saveReport(t, e, c.ID, doctor.Report{OK: false, Finished: e.clock.Now()})
	checkAll := func() {
		var wg sync.WaitGroup
		for range 4 {
			other := outbound.New(outbound.Options{Store: e.db, Queue: e.q, Now: e.clock.Now})
			wg.Go(func() {
				if _, err := other.CheckHealth(t.Context()); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}
	checkAll()
	if list, _ := e.db.Deliveries(t.Context(), store.DeliveryQuery{}); len(list) != 0 {
		t.Fatalf("deliveries %+v before the change held", list)
	}
	e.clock.Advance(outbound.DefaultHealthHold)
	checkAll()
	list, _ := e.db.Deliveries(t.Context(), store.DeliveryQuery{})
	if len(list) != 1 || list[0].EventType != outbound.SetupFailed {
		t.Fatalf("deliveries %+v, want one setup.failed", list)
	}
}

// TestSubscriptionLost: a BC webhook subscription lost arrives once as
// connection.webhook.lost, however many instances report it.
func TestSubscriptionLost(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	c, _ := e.db.CreateConnection(t.Context(), storetest.NewConnection("acme"))
	_, sec := e.endpoint(outbound.EndpointInput{EventTypes: []string{"connection.webhook.lost"}, ConnectionID: c.ID})
	e.endpoint(outbound.EndpointInput{URL: e.rcv.srv.URL + "/other", EventTypes: []string{"connection.sync.failing"}})
	lost := outbound.SubscriptionData{ConnectionID: c.ID, CompanyID: storetest.Company, EntitySet: "customers", SubscriptionID: "sub-1"}
	for range 2 {
		if n, err := e.svc.SubscriptionLost(t.Context(), lost); err != nil || n != 1 {
			t.Fatalf("SubscriptionLost = %d, %v; want one delivery", n, err)
		}
	}
	jobs := e.q.take()
	if len(jobs) != 1 {
		t.Fatalf("jobs %v, want one (the second report is the same delivery)", jobs)
	}
	e.attempt(jobs[0])
	reqs := e.rcv.requests()
	if len(reqs) != 1 || reqs[0].Path != "/hooks" || verify(sec, reqs[0].header(), reqs[0].Body, e.clock.Now()) != nil {
		t.Fatalf("requests %+v", reqs)
	}
	var ev struct {
		Type string
		Data outbound.SubscriptionData
	}
	if err := json.Unmarshal(reqs[0].Body, &ev); err != nil || ev.Type != outbound.WebhookLost || ev.Data != lost {
		t.Fatalf("event %s", reqs[0].Body)
	}
}
