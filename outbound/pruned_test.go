package outbound_test

import (
	"strings"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/outbound"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/store/storetest"
)

// TestDispatchPastPrunedChanges: when the change log was pruned past the dispatch cursor
// all the same (the retention never does it), Dispatch logs what was lost and goes on
// after it instead of stopping for good; the next change becomes a delivery.
func TestDispatchPastPrunedChanges(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	e.endpoint(outbound.EndpointInput{EventTypes: []string{"*"}})
	lm := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 3 {
		if _, err := e.db.ApplyBatch(t.Context(), store.ReplicaBatch{Key: storetest.Key("customers"),
			Upserts: []store.ReplicaRow{storetest.Customer(storetest.GUID(i), storetest.ETag(1), "x", lm)}}); err != nil {
			t.Fatal(err)
		}
	}
	if res, err := e.db.PruneChanges(t.Context(), store.ChangePrune{MaxEntries: 1, Floor: 1 << 40}); err != nil || res.PrunedThrough != 2 {
		t.Fatalf("prune: %+v, %v", res, err)
	}
	e.change("customers", storetest.Customer(storetest.GUID(10), storetest.ETag(1), "y", lm))
	if cur, err := e.db.ChangeCursor(t.Context()); err != nil || cur != 4 {
		t.Fatalf("dispatch cursor %d, %v; want 4", cur, err)
	}
	ds, err := e.db.Deliveries(t.Context(), store.DeliveryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	seqs := map[int64]bool{}
	for _, d := range ds {
		seqs[d.Seq] = true
	}
	if len(ds) != 2 || !seqs[3] || !seqs[4] {
		t.Errorf("deliveries of seqs %v, want 3 and 4 (1 and 2 were pruned)", seqs)
	}
	if out := e.log.String(); !strings.Contains(out, "pruned before they became deliveries") || !strings.Contains(out, `"through_seq":2`) {
		t.Errorf("log lacks the lost changes:\n%s", out)
	}
}
