package storetest

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/store"
)

// RunDeliveries runs the conformance suite of store.DeliveryStore (with endpoints of
// store.OutboundStore to deliver to).
func RunDeliveries(t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()
	runTests(t, open, []test[store.Store]{
		{"OrderKey", testDeliveryOrderKey},
		{"Cursor", testDeliveryCursor},
		{"SkippedAndCascade", testDeliverySkipped},
		{"List", testDeliveryList},
		{"Replay", testDeliveryReplay},
		{"Invalid", testDeliveryInvalid},
		{"ConcurrentOneKey", testDeliveryConcurrentOneKey},
		{"Prune", testDeliveryPrune},
	})
}

func delivery(ep, id, key string) store.Delivery {
	return store.Delivery{ID: id, EndpointID: ep, EventType: "record.updated", OrderKey: key, ConnectionID: "c1", Seq: 7,
		Payload: json.RawMessage(`{"type":"record.updated","data":{"id":"` + id + `"}}`)}
}

func mustAdd(t *testing.T, s store.DeliveryStore, cur *store.ChangeCursor, ds ...store.Delivery) []store.Delivery {
	t.Helper()
	out, err := s.AddDeliveries(t.Context(), cur, ds)
	if err != nil {
		t.Fatalf("AddDeliveries: %v", err)
	}
	return out
}

func ids(ds []store.Delivery) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.ID)
	}
	return out
}

func wantState(t *testing.T, s store.DeliveryStore, id string, want store.DeliveryState) store.Delivery {
	t.Helper()
	d, err := s.Delivery(t.Context(), id)
	if err != nil || d.State != want {
		t.Fatalf("Delivery(%s) = %s, %v; want %s", id, d.State, err, want)
	}
	return d
}

func attempt(n, status int, errText string) store.DeliveryAttempt {
	return store.DeliveryAttempt{N: n, At: time.Now().UTC().Truncate(time.Microsecond), StatusCode: status,
		Duration: 1500 * time.Microsecond, Error: errText, Response: fmt.Sprintf("answer %d", n)}
}

var succeeded = store.DeliveryOutcome{State: store.DeliverySucceeded}

func testDeliveryOrderKey(t *testing.T, s store.Store) {
	ctx := t.Context()
	ep := mustEndpoint(t, s, newEndpoint("https://x.example/", "*"), "whsec_x").ID
	pending := mustAdd(t, s, nil, delivery(ep, "msg_1", "A"), delivery(ep, "msg_2", "A"), delivery(ep, "msg_3", "B"), delivery(ep, "msg_4", ""))
	if got := ids(pending); !slices.Equal(got, []string{"msg_1", "msg_3", "msg_4"}) {
		t.Fatalf("AddDeliveries returned %v pending, want msg_1, msg_3, msg_4 (msg_2 waits for msg_1)", got)
	}
	d1 := wantState(t, s, "msg_1", store.DeliveryPending)
	if string(d1.Payload) != `{"type":"record.updated","data":{"id":"msg_1"}}` || d1.EndpointID != ep || d1.OrderKey != "A" ||
		d1.Seq != 7 || d1.ConnectionID != "c1" || d1.Attempts != 0 || d1.NextAttemptAt.IsZero() || d1.CreatedAt.IsZero() {
		t.Fatalf("Delivery(msg_1) = %+v", d1)
	}
	if d := wantState(t, s, "msg_2", store.DeliveryQueued); !d.NextAttemptAt.IsZero() {
		t.Fatalf("a queued delivery is due at %s", d.NextAttemptAt)
	}

	// A failed attempt keeps msg_1 pending and msg_2 queued.
	retry := time.Now().Add(time.Minute).UTC().Truncate(time.Microsecond)
	a1 := attempt(1, 503, "status 503")
	next, err := s.RecordAttempt(ctx, "msg_1", a1, store.DeliveryOutcome{State: store.DeliveryPending, NextAttemptAt: retry})
	if err != nil || next != "" {
		t.Fatalf("RecordAttempt(failure) = %q, %v", next, err)
	}
	d1 = wantState(t, s, "msg_1", store.DeliveryPending)
	if d1.Attempts != 1 || !d1.NextAttemptAt.Equal(retry) || d1.LastStatus != 503 || d1.LastError != "status 503" || !d1.LastAttemptAt.Equal(a1.At) {
		t.Fatalf("after a failed attempt: %+v", d1)
	}
	wantState(t, s, "msg_2", store.DeliveryQueued)
	// The same attempt number again is another worker's: refused.
	_, err = s.RecordAttempt(ctx, "msg_1", attempt(1, 200, ""), succeeded)
	wantErr(t, "RecordAttempt(attempt 1 again)", err, store.ErrConflict)
	_, err = s.RecordAttempt(ctx, "msg_2", attempt(1, 200, ""), succeeded)
	wantErr(t, "RecordAttempt(queued)", err, store.ErrConflict)

	// Success finishes msg_1 and makes msg_2 pending.
	next, err = s.RecordAttempt(ctx, "msg_1", attempt(2, 204, ""), succeeded)
	if err != nil || next != "msg_2" {
		t.Fatalf("RecordAttempt(success) = %q, %v; want msg_2 next", next, err)
	}
	if d := wantState(t, s, "msg_1", store.DeliverySucceeded); d.Attempts != 2 || !d.NextAttemptAt.IsZero() || d.LastStatus != 204 || d.LastError != "" {
		t.Fatalf("after success: %+v", d)
	}
	if d := wantState(t, s, "msg_2", store.DeliveryPending); d.NextAttemptAt.IsZero() {
		t.Fatal("the promoted delivery has no due time")
	}
	log, err := s.DeliveryAttempts(ctx, "msg_1")
	if err != nil || len(log) != 2 || log[0].N != 1 || log[0].StatusCode != 503 || log[0].Error != "status 503" ||
		log[0].Response != "answer 1" || log[0].Duration != 1500*time.Microsecond || !log[0].At.Equal(a1.At) || log[1].StatusCode != 204 {
		t.Fatalf("DeliveryAttempts = %+v, %v", log, err)
	}
	if log, err := s.DeliveryAttempts(ctx, "msg_2"); err != nil || len(log) != 0 {
		t.Fatalf("DeliveryAttempts(no attempt yet) = %+v, %v; want empty", log, err)
	}
	_, err = s.DeliveryAttempts(ctx, "nope")
	wantErr(t, "DeliveryAttempts(unknown)", err, store.ErrNotFound)

	// Dead ends a delivery too; with nothing queued nothing follows.
	next, err = s.RecordAttempt(ctx, "msg_2", attempt(1, 410, "gone"), store.DeliveryOutcome{State: store.DeliveryDead})
	if err != nil || next != "" {
		t.Fatalf("RecordAttempt(dead) = %q, %v", next, err)
	}
	wantState(t, s, "msg_2", store.DeliveryDead)
	// A new delivery of key A is pending at once: nothing of A is open.
	if got := ids(mustAdd(t, s, nil, delivery(ep, "msg_5", "A"))); !slices.Equal(got, []string{"msg_5"}) {
		t.Fatalf("after A finished, a new A delivery is %v, want pending", got)
	}
	due, err := s.DueDeliveries(ctx, time.Now().Add(time.Hour), 10)
	if err != nil || !slices.Equal(due, []string{"msg_3", "msg_4", "msg_5"}) {
		t.Fatalf("DueDeliveries = %v, %v; want the pending ones, oldest due first", due, err)
	}
	if due, _ := s.DueDeliveries(ctx, time.Now().Add(-time.Hour), 10); len(due) != 0 {
		t.Fatalf("DueDeliveries(an hour ago) = %v", due)
	}
}

func testDeliveryCursor(t *testing.T, s store.Store) {
	ctx := t.Context()
	ep := mustEndpoint(t, s, newEndpoint("https://x.example/", "*"), "whsec_x").ID
	at, err := s.ChangeCursor(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.AddDeliveries(ctx, &store.ChangeCursor{From: at + 1, To: at + 5}, []store.Delivery{delivery(ep, "msg_a", "A")})
	wantErr(t, "AddDeliveries(cursor not at From)", err, store.ErrConflict)
	if _, err := s.Delivery(ctx, "msg_a"); err == nil {
		t.Fatal("a refused AddDeliveries stored its deliveries")
	}
	mustAdd(t, s, &store.ChangeCursor{From: at, To: at + 5}, delivery(ep, "msg_a", "A"))
	if got, _ := s.ChangeCursor(ctx); got != at+5 {
		t.Fatalf("ChangeCursor = %d, want %d", got, at+5)
	}
	_, err = s.AddDeliveries(ctx, &store.ChangeCursor{From: at, To: at + 5}, []store.Delivery{delivery(ep, "msg_b", "B")})
	wantErr(t, "AddDeliveries(a second dispatcher with the same page)", err, store.ErrConflict)
	// An empty page moves the cursor too.
	mustAdd(t, s, &store.ChangeCursor{From: at + 5, To: at + 9})
	if got, _ := s.ChangeCursor(ctx); got != at+9 {
		t.Fatalf("ChangeCursor = %d, want %d", got, at+9)
	}
	if e, _ := s.Endpoint(ctx, ep); e.AfterSeq != 0 {
		t.Fatalf("AfterSeq of an endpoint created on an empty change log = %d, want 0", e.AfterSeq)
	}
}

func testDeliverySkipped(t *testing.T, s store.Store) {
	ctx := t.Context()
	ep := mustEndpoint(t, s, newEndpoint("https://x.example/", "*"), "whsec_x").ID
	mustAdd(t, s, nil, delivery(ep, "msg_1", "A"))
	got := mustAdd(t, s, nil, delivery(ep, "msg_1", ""), delivery("gone", "msg_2", ""), delivery(ep, "msg_3", ""))
	if !slices.Equal(ids(got), []string{"msg_3"}) {
		t.Fatalf("AddDeliveries with a taken ID and a missing endpoint = %v, want only msg_3", ids(got))
	}
	if d := wantState(t, s, "msg_1", store.DeliveryPending); d.OrderKey != "A" {
		t.Fatalf("a taken ID replaced the delivery: %+v", d)
	}
	_, err := s.Delivery(ctx, "msg_2")
	wantErr(t, "Delivery(for a missing endpoint)", err, store.ErrNotFound)
	if _, err := s.RecordAttempt(ctx, "msg_1", attempt(1, 500, "boom"), store.DeliveryOutcome{State: store.DeliveryPending, NextAttemptAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteEndpoint(ctx, ep); err != nil {
		t.Fatal(err)
	}
	_, err = s.Delivery(ctx, "msg_1")
	wantErr(t, "Delivery(of a deleted endpoint)", err, store.ErrNotFound)
	_, err = s.RecordAttempt(ctx, "msg_1", attempt(2, 200, ""), succeeded)
	wantErr(t, "RecordAttempt(of a deleted endpoint)", err, store.ErrNotFound)
	if due, _ := s.DueDeliveries(ctx, time.Now().Add(time.Hour), 10); len(due) != 0 {
		t.Fatalf("deliveries of a deleted endpoint are due: %v", due)
	}
}

func testDeliveryList(t *testing.T, s store.Store) {
	ctx := t.Context()
	e1 := mustEndpoint(t, s, newEndpoint("https://x.example/1", "*"), "whsec_x").ID
	e2 := mustEndpoint(t, s, newEndpoint("https://x.example/2", "*"), "whsec_x").ID
	var all []store.Delivery
	for i := range 7 {
		ep := e1
		if i%2 == 1 {
			ep = e2
		}
		all = append(all, delivery(ep, fmt.Sprint("msg_", i), ""))
	}
	mustAdd(t, s, nil, all...)
	if _, err := s.RecordAttempt(ctx, "msg_0", attempt(1, 200, ""), succeeded); err != nil {
		t.Fatal(err)
	}
	list, err := s.Deliveries(ctx, store.DeliveryQuery{})
	if err != nil || !slices.Equal(ids(list), []string{"msg_6", "msg_5", "msg_4", "msg_3", "msg_2", "msg_1", "msg_0"}) {
		t.Fatalf("Deliveries() = %v, %v; want all, newest first", ids(list), err)
	}
	if len(list[0].Payload) != 0 {
		t.Error("a listing carries payloads")
	}
	list, _ = s.Deliveries(ctx, store.DeliveryQuery{EndpointID: e1, Limit: 2})
	if !slices.Equal(ids(list), []string{"msg_6", "msg_4"}) {
		t.Fatalf("Deliveries(e1, limit 2) = %v", ids(list))
	}
	list, _ = s.Deliveries(ctx, store.DeliveryQuery{EndpointID: e1, Limit: 2, Before: "msg_4"})
	if !slices.Equal(ids(list), []string{"msg_2", "msg_0"}) {
		t.Fatalf("Deliveries(e1, before msg_4) = %v", ids(list))
	}
	list, _ = s.Deliveries(ctx, store.DeliveryQuery{State: store.DeliverySucceeded})
	if !slices.Equal(ids(list), []string{"msg_0"}) || list[0].State != store.DeliverySucceeded || list[0].Attempts != 1 {
		t.Fatalf("Deliveries(succeeded) = %+v", list)
	}
	list, _ = s.Deliveries(ctx, store.DeliveryQuery{EndpointID: "nope"})
	if list == nil || len(list) != 0 {
		t.Fatalf("Deliveries(unknown endpoint) = %#v, want an empty list", list)
	}
	_, err = s.Deliveries(ctx, store.DeliveryQuery{Before: "nope"})
	wantErr(t, "Deliveries(before an unknown delivery)", err, store.ErrNotFound)
}

func testDeliveryReplay(t *testing.T, s store.Store) {
	ctx := t.Context()
	ep := mustEndpoint(t, s, newEndpoint("https://x.example/", "*"), "whsec_x").ID
	mustAdd(t, s, nil, delivery(ep, "msg_1", "A"))
	if _, err := s.RecordAttempt(ctx, "msg_1", attempt(1, 500, "boom"), store.DeliveryOutcome{State: store.DeliveryDead}); err != nil {
		t.Fatal(err)
	}
	r, err := s.ReplayDelivery(ctx, "msg_1", "msg_r1")
	if err != nil {
		t.Fatal(err)
	}
	orig, _ := s.Delivery(ctx, "msg_1")
	got, _ := s.Delivery(ctx, "msg_r1")
	if r.ID != "msg_r1" || r.ReplayOf != "msg_1" || r.State != store.DeliveryPending || got.ReplayOf != "msg_1" ||
		string(got.Payload) != string(orig.Payload) || got.EventType != orig.EventType || got.Seq != orig.Seq || got.Attempts != 0 {
		t.Fatalf("ReplayDelivery = %+v, stored %+v", r, got)
	}
	// A replay waits behind an open delivery of its key.
	r2, err := s.ReplayDelivery(ctx, "msg_1", "msg_r2")
	if err != nil || r2.State != store.DeliveryQueued {
		t.Fatalf("second replay = %+v, %v; want it queued behind msg_r1", r2, err)
	}
	_, err = s.ReplayDelivery(ctx, "msg_1", "msg_r2")
	wantErr(t, "ReplayDelivery(taken ID)", err, store.ErrConflict)
	_, err = s.ReplayDelivery(ctx, "nope", "msg_r3")
	wantErr(t, "ReplayDelivery(unknown)", err, store.ErrNotFound)
}

func testDeliveryInvalid(t *testing.T, s store.Store) {
	ctx := t.Context()
	ep := mustEndpoint(t, s, newEndpoint("https://x.example/", "*"), "whsec_x").ID
	for _, d := range []store.Delivery{
		delivery(ep, "", ""), delivery(ep, "msg.1", ""), delivery("", "msg_1", ""),
		{ID: "msg_1", EndpointID: ep, Payload: json.RawMessage(`{}`)}, {ID: "msg_1", EndpointID: ep, EventType: "x"},
	} {
		_, err := s.AddDeliveries(ctx, nil, []store.Delivery{d})
		wantErr(t, fmt.Sprintf("AddDeliveries(%+v)", d), err, store.ErrInvalid)
	}
	mustAdd(t, s, nil, delivery(ep, "msg_1", ""))
	_, err := s.RecordAttempt(ctx, "msg_1", attempt(1, 500, ""), store.DeliveryOutcome{State: store.DeliveryPending})
	wantErr(t, "RecordAttempt(pending without a due time)", err, store.ErrInvalid)
	_, err = s.RecordAttempt(ctx, "msg_1", attempt(0, 500, ""), succeeded)
	wantErr(t, "RecordAttempt(attempt 0)", err, store.ErrInvalid)
	// What an endpoint answers is kept valid and bounded.
	a := attempt(1, 500, "bad \xff\x00 error")
	a.Response = "\x00\xfe" + strings.Repeat("é", store.MaxAttemptResponse)
	if _, err := s.RecordAttempt(ctx, "msg_1", a, succeeded); err != nil {
		t.Fatal(err)
	}
	log, err := s.DeliveryAttempts(ctx, "msg_1")
	if err != nil || len(log) != 1 || len(log[0].Response) > store.MaxAttemptResponse || strings.ContainsRune(log[0].Response, 0) ||
		!strings.HasPrefix(log[0].Response, "\uFFFDé") || log[0].Error != "bad \uFFFD error" {
		t.Fatalf("attempt log with bad bytes = %+v, %v", log, err)
	}
}

// testDeliveryConcurrentOneKey: writers add deliveries of one order key while a worker
// finishes whatever is pending; never two of the key are pending at once, none is left
// behind, and they finish in the order they were added.
func testDeliveryConcurrentOneKey(t *testing.T, s store.Store) {
	ctx := t.Context()
	ep := mustEndpoint(t, s, newEndpoint("https://x.example/", "*"), "whsec_x").ID
	const writers, each = 4, 5
	var wg sync.WaitGroup
	errs := make(chan error, writers+1)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if _, err := s.AddDeliveries(ctx, nil, []store.Delivery{delivery(ep, fmt.Sprintf("msg_%d_%d", w, i), "A")}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	var finished []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		deadline := time.Now().Add(30 * time.Second)
		for len(finished) < writers*each && time.Now().Before(deadline) {
			pending, err := s.Deliveries(ctx, store.DeliveryQuery{EndpointID: ep, State: store.DeliveryPending})
			if err != nil {
				errs <- err
				return
			}
			if len(pending) > 1 {
				errs <- fmt.Errorf("%d deliveries of one order key pending at once: %v", len(pending), ids(pending))
				return
			}
			for _, d := range pending {
				if _, err := s.RecordAttempt(ctx, d.ID, attempt(1, 200, ""), succeeded); err != nil {
					errs <- err
					return
				}
				finished = append(finished, d.ID)
			}
		}
	}()
	wg.Wait()
	<-done
	collect(t, errs)
	all, _ := s.Deliveries(ctx, store.DeliveryQuery{EndpointID: ep, Limit: 500})
	added := ids(all)
	slices.Reverse(added)
	if len(added) != writers*each || !slices.Equal(finished, added) {
		t.Fatalf("finished %d of %d in order %v, want the order added %v", len(finished), len(added), finished, added)
	}
}

func testDeliveryPrune(t *testing.T, s store.Store) {
	ctx := t.Context()
	ep := mustEndpoint(t, s, newEndpoint("https://x.example/", "*"), "whsec_x").ID
	mustAdd(t, s, nil, delivery(ep, "msg_ok", ""), delivery(ep, "msg_dead", ""), delivery(ep, "msg_open", ""), delivery(ep, "msg_ok2", ""))
	for id, out := range map[string]store.DeliveryOutcome{"msg_ok": succeeded, "msg_ok2": succeeded, "msg_dead": {State: store.DeliveryDead}} {
		if _, err := s.RecordAttempt(ctx, id, attempt(1, 200, ""), out); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.PruneDeliveries(ctx, time.Now().Add(-time.Hour), 100); err != nil || n != 0 {
		t.Fatalf("PruneDeliveries(an hour ago) = %d, %v; want nothing that new pruned", n, err)
	}
	n, err := s.PruneDeliveries(ctx, time.Now().Add(time.Hour), 2)
	if err != nil || n != 2 {
		t.Fatalf("PruneDeliveries(limit 2) = %d, %v", n, err)
	}
	n, _ = s.PruneDeliveries(ctx, time.Now().Add(time.Hour), 100)
	if n != 1 {
		t.Fatalf("second PruneDeliveries = %d, want the last finished one", n)
	}
	left, _ := s.Deliveries(ctx, store.DeliveryQuery{})
	if !slices.Equal(ids(left), []string{"msg_open"}) {
		t.Fatalf("after pruning: %v, want only the pending delivery", ids(left))
	}
	_, err = s.DeliveryAttempts(ctx, "msg_ok")
	wantErr(t, "DeliveryAttempts(pruned)", err, store.ErrNotFound)
}
