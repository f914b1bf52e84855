package bc

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/bizzjoiner/bcconnector/emulator"
)

func TestBatchPerOperationResults(t *testing.T) {
	t.Parallel()
	e := setup(t, emulator.Config{})
	c := e.client(Options{})
	ref := e.set("customers")
	first, err := c.ListPage(t.Context(), ref, &Query{Top: 1})
	if err != nil {
		t.Fatal(err)
	}
	existing := first.Records[0]
	var b Batch
	iCreate := b.Create(ref, map[string]any{"displayName": "Batch & Co"})
	iGet := b.Get(ref, existing.ID, &Query{Select: []string{"id", "displayName"}})
	iStale := b.Update(ref, existing.ID, `W/"stale"`, map[string]any{"displayName": "x"})
	iMissing := b.Delete(ref, newUUID(), AnyETag)
	iList := b.Get(ref, "", &Query{Filter: Eq("displayName", "Batch & Co")})
	res, err := c.Batch(t.Context(), &b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 5 {
		t.Fatalf("%d results", len(res))
	}
	created, err := res[iCreate].Record()
	if err != nil || res[iCreate].Status != http.StatusCreated || created.ID == "" {
		t.Errorf("create: %d %v", res[iCreate].Status, err)
	}
	got, err := res[iGet].Record()
	if err != nil || got.ID != existing.ID {
		t.Errorf("get: %v", err)
	}
	if !errors.Is(res[iStale].Err, ErrConflict) || res[iStale].Err.CorrelationID == "" {
		t.Errorf("stale update: %+v", res[iStale])
	}
	if !IsNotFound(res[iMissing].Err) {
		t.Errorf("missing delete: %+v", res[iMissing].Err)
	}
	var page struct{ Value []json.RawMessage }
	if err := json.Unmarshal(res[iList].Body, &page); err != nil || len(page.Value) != 1 {
		t.Errorf("list in batch: %s", res[iList].Body)
	}
	reqs := e.requests()
	if last := reqs[len(reqs)-1]; !strings.HasSuffix(last.RequestURI, "/api/v2.0/$batch") || last.Header.Get("Isolation") != "" {
		t.Errorf("batch request %s %v", last.RequestURI, last.Header)
	}
}

func TestAtomicBatchRollsBack(t *testing.T) {
	t.Parallel()
	e := setup(t, emulator.Config{})
	c := e.client(Options{})
	ref := e.set("customers")
	before := e.emu.Count(e.emu.DemoCompanyRef(), "customers")
	var b Batch
	b.Create(ref, map[string]any{"displayName": "Rolled back"})
	b.Update(ref, newUUID(), AnyETag, map[string]any{"displayName": "missing"})
	res, err := c.Batch(t.Context(), &b, &BatchOptions{Atomic: true})
	var be *BatchError
	if !errors.As(err, &be) || be.Index != 1 || !IsNotFound(err) || len(res) != 2 {
		t.Fatalf("err = %v, results %d", err, len(res))
	}
	if !strings.Contains(err.Error(), "no change was saved") {
		t.Errorf("message: %v", err)
	}
	if after := e.emu.Count(e.emu.DemoCompanyRef(), "customers"); after != before {
		t.Errorf("customers %d → %d: the batch was not rolled back", before, after)
	}
	if h := e.requests()[0].Header.Get("Isolation"); h != "snapshot" {
		t.Errorf("Isolation = %q", h)
	}
}

func TestBatchMistakesAreCaughtBeforeSending(t *testing.T) {
	t.Parallel()
	e := setup(t, emulator.Config{})
	c := e.client(Options{})
	ref := e.set("customers")
	cases := map[string]func(*Batch){
		"empty etag": func(b *Batch) { b.Update(ref, newUUID(), "", map[string]any{"a": 1}) },
		"empty id":   func(b *Batch) { b.Delete(ref, "", AnyETag) },
		"nil body":   func(b *Batch) { b.Create(ref, nil) },
		"two APIs": func(b *Batch) {
			b.Get(ref, "", nil)
			b.Get(Ref{API: AutomationAPI, Path: "automationCompanies"}, "", nil)
		},
		"bad action": func(b *Batch) { b.Action(ref, newUUID(), "post?x") },
		"no company": func(b *Batch) { b.Get(Ref{Path: "customers"}, "", nil) },
		"too many": func(b *Batch) {
			for range MaxBatchOperations + 1 {
				b.Get(ref, "", nil)
			}
		},
		"nothing":    func(b *Batch) {},
		"array body": func(b *Batch) { b.Create(ref, []int{1}) },
		"bad filter": func(b *Batch) { b.Get(ref, "", &Query{Filter: Eq("a b", 1)}) },
		"bad key":    func(b *Batch) { b.Get(Ref{CompanyID: e.companyID(), Path: "x(1 or 1)"}, "", nil) },
		"bad api seg": func(b *Batch) {
			b.Get(Ref{API: CustomAPI("a/b", "c", "d"), CompanyID: e.companyID(), Path: "x"}, "", nil)
		},
	}
	for name, build := range cases {
		var b Batch
		build(&b)
		if _, err := c.Batch(t.Context(), &b, nil); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if n := e.bcRequests.Load(); n != 0 {
		t.Errorf("%d requests reached BC", n)
	}
}

func TestBatchResponseMatching(t *testing.T) {
	t.Parallel()
	c := newOffline(t)
	ops := []batchOp{{ID: "1", Method: "GET"}, {ID: "2", Method: "PATCH", URL: "companies(x)/customers(y)?$select=id"}}
	// Ids echoed out of order.
	res, err := parseBatchResponse([]byte(`{"responses":[{"id":"2","status":409,"headers":{},"body":{"error":{"code":"Request_EntityChanged","message":"m  CorrelationId:  `+corr+`."}}},{"id":"1","status":200,"headers":{},"body":{"id":"a"}}]}`), ops, "rid", c)
	if err != nil || res[0].Status != 200 || res[1].Err == nil || res[1].Err.CorrelationID != corr || res[1].Err.Path != "companies(x)/customers(y)" {
		t.Fatalf("by id: %+v, %v", res, err)
	}
	// Ids null, as in Microsoft's example: by position.
	res, err = parseBatchResponse([]byte(`{"responses":[{"id":null,"status":204},{"id":null,"status":500,"body":"oops"}]}`), ops, "rid", c)
	if err != nil || res[0].Status != 204 || res[1].Err == nil || res[1].Err.Message != "oops" {
		t.Fatalf("by position: %+v, %v", res, err)
	}
	if _, err := parseBatchResponse([]byte(`{"responses":[{"id":null,"status":204}]}`), ops, "rid", c); err == nil {
		t.Error("a short response without ids was accepted")
	}
	if _, err := parseBatchResponse([]byte(`[]`), ops, "rid", c); err == nil {
		t.Error("a non-object response was accepted")
	}
}
