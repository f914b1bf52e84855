package outbound_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/outbound"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/store/storetest"
)

// TestEndpointGoneIsDisabled: an endpoint answering 410 Gone is disabled (saying so), its
// other pending deliveries end dead without being sent, it gets no new events and refuses
// tests and replays; enabled again, it gets new events and replays.
func TestEndpointGoneIsDisabled(t *testing.T) {
	t.Parallel()
	e := setup(t, []time.Duration{time.Minute}, 410)
	ep, _ := e.endpoint(outbound.EndpointInput{EventTypes: []string{"record.*"}})
	lm := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	e.change("customers", storetest.Customer(storetest.GUID(1), storetest.ETag(1), "a", lm), storetest.Customer(storetest.GUID(2), storetest.ETag(1), "b", lm))
	jobs := e.q.take()
	if len(jobs) != 2 {
		t.Fatalf("jobs %v, want 2", jobs)
	}
	first := e.attempt(jobs[0])
	if first.Delivery.State != store.DeliveryDead || first.Delivery.LastStatus != 410 {
		t.Fatalf("first delivery: %+v", first.Delivery)
	}
	got, err := e.svc.Endpoint(t.Context(), ep.ID)
	if err != nil || !got.Disabled || !strings.Contains(got.DisabledReason, "410 Gone") || !strings.Contains(got.DisabledReason, jobs[0]) {
		t.Fatalf("endpoint after 410: %+v, %v", got, err)
	}
	second := e.attempt(jobs[1])
	if second.Delivery.State != store.DeliveryDead || !strings.Contains(second.Delivery.LastError, "disabled") {
		t.Fatalf("second delivery: %+v", second.Delivery)
	}
	if n := len(e.rcv.requests()); n != 1 {
		t.Fatalf("the receiver got %d requests, want 1 (nothing after the 410)", n)
	}
	e.change("customers", storetest.Customer(storetest.GUID(3), storetest.ETag(1), "c", lm))
	if jobs := e.q.take(); len(jobs) != 0 {
		t.Fatalf("a disabled endpoint got new deliveries %v", jobs)
	}
	if _, err := e.svc.SendTest(t.Context(), ep.ID); !errors.Is(err, store.ErrConflict) || !strings.Contains(err.Error(), "enabled") {
		t.Fatalf("test event to a disabled endpoint: %v", err)
	}
	if _, _, _, err := e.svc.ReplayChanges(t.Context(), ep.ID, 0); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("replay to a disabled endpoint: %v", err)
	}
	if _, err := e.svc.SetEndpointEnabled(t.Context(), ep.ID, true, ""); err != nil {
		t.Fatal(err)
	}
	e.change("customers", storetest.Customer(storetest.GUID(4), storetest.ETag(1), "d", lm))
	if jobs := e.q.take(); len(jobs) != 1 {
		t.Fatalf("enabled again: jobs %v, want the new change's", jobs)
	}
	if _, err := e.svc.ReplayDelivery(t.Context(), jobs[1]); err != nil {
		t.Fatalf("replay after enabling: %v", err)
	}
}
