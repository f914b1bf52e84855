package api_test

import (
	"strings"
	"testing"
)

// TestChangesQuery: GET /changes refuses query parameters it does not know (a misspelt
// cursor is not read as "from the start"), naming the parameter and the accepted ones,
// and filters by connection and entity set.
func TestChangesQuery(t *testing.T) {
	t.Parallel()
	e := setup(t)
	var perr problemBody
	e.do("GET", "/changes?since=5", e.token, nil, 400, &perr)
	for _, want := range []string{"since", "after", "limit", "wait", "connection", "entitySet"} {
		if !strings.Contains(perr.Detail, want) {
			t.Errorf("?since= error lacks %q: %+v", want, perr)
		}
	}

	id := e.createConn("Contoso")
	e.do("POST", "/connections/"+id+"/sync", e.token, map[string]any{"entities": []string{"customers", "currencies"}}, 202, nil)
	e.waitRows(id, "customers")
	e.waitRows(id, "currencies")
	e.jobs.wg.Wait()

	type page struct {
		Changes []struct{ ConnectionID, EntitySet string }
		Next    int64
	}
	var all, cur, byConn page
	e.do("GET", "/changes?after=0&limit=5000", e.token, nil, 200, &all)
	e.do("GET", "/changes?after=0&limit=5000&entitySet=currencies", e.token, nil, 200, &cur)
	if len(cur.Changes) == 0 || len(cur.Changes) >= len(all.Changes) {
		t.Fatalf("entitySet=currencies: %d of %d changes", len(cur.Changes), len(all.Changes))
	}
	for _, c := range cur.Changes {
		if c.EntitySet != "currencies" {
			t.Errorf("entitySet=currencies returned a change of %s", c.EntitySet)
		}
	}
	e.do("GET", "/changes?after=0&limit=5000&connection=Contoso", e.token, nil, 200, &byConn)
	if len(byConn.Changes) != len(all.Changes) || byConn.Changes[0].ConnectionID != id {
		t.Errorf("connection=Contoso (by name): %d of %d changes", len(byConn.Changes), len(all.Changes))
	}
	// A filter that keeps nothing still moves next past what it read, so the next call
	// does not read the same entries again.
	var nothing page
	e.do("GET", "/changes?after=0&limit=5000&entitySet=nosuchset", e.token, nil, 200, &nothing)
	if len(nothing.Changes) != 0 || nothing.Next != all.Next {
		t.Errorf("entitySet=nosuchset: %d changes, next %d; want 0 and the end %d", len(nothing.Changes), nothing.Next, all.Next)
	}
	e.do("GET", "/changes?connection=nope", e.token, nil, 404, nil)
	// A token scoped to another connection does not learn that this one exists.
	other := e.newToken("other", []string{"conn-of-someone-else"})
	e.do("GET", "/changes?connection="+id, other, nil, 404, nil)
}

// TestChangesCursorBeyondEnd: a cursor past the end of the change log (another
// database's, or one from before a reset) answers 400 cursor_beyond_end at once, for
// long-poll and server-sent events alike, instead of empty pages forever; the end itself
// is a valid cursor.
func TestChangesCursorBeyondEnd(t *testing.T) {
	t.Parallel()
	e := setup(t)
	id := e.createConn("Contoso")
	e.do("POST", "/connections/"+id+"/sync", e.token, map[string]any{"entities": []string{"currencies"}}, 202, nil)
	e.waitRows(id, "currencies")
	e.jobs.wg.Wait()
	var tail struct{ Next int64 }
	e.do("GET", "/changes?after=0&limit=5000", e.token, nil, 200, &tail)
	if tail.Next == 0 {
		t.Fatal("the sync logged no changes")
	}
	var none struct{ Changes []any }
	e.do("GET", "/changes?wait=0&after="+itoa(tail.Next), e.token, nil, 200, &none)
	if len(none.Changes) != 0 {
		t.Errorf("after the end: %d changes", len(none.Changes))
	}

	var perr problemBody
	e.do("GET", "/changes?wait=60&after="+itoa(tail.Next+1), e.token, nil, 400, &perr)
	if perr.Code != "cursor_beyond_end" || perr.Field != "after" ||
		!strings.Contains(perr.Detail, itoa(tail.Next)) || !strings.Contains(perr.Fix, "after=0") {
		t.Errorf("cursor beyond the end: %+v", perr)
	}
	st, hdr, b := e.call("GET", "/changes?after="+itoa(tail.Next+1000), e.token, nil, "Accept", "text/event-stream")
	if st != 400 || !strings.Contains(string(b), "cursor_beyond_end") || strings.Contains(hdr.Get("Content-Type"), "event-stream") {
		t.Errorf("SSE with a cursor beyond the end: %d %s %s", st, hdr.Get("Content-Type"), b)
	}
}

// TestRecordAndNotSynced: one record reads from the replica (404 when absent), and a set
// never synced answers 409 not_synced naming how to start a sync, not "200, empty".
func TestRecordAndNotSynced(t *testing.T) {
	t.Parallel()
	e := setup(t)
	id := e.createConn("Contoso")
	var perr problemBody
	e.do("GET", "/connections/"+id+"/entities/customers/records", e.token, nil, 409, &perr)
	if perr.Code != "not_synced" || !strings.Contains(perr.Detail, "/connections/"+id+"/sync") || !strings.Contains(perr.Detail, "customers") {
		t.Errorf("records of a set never synced: %+v", perr)
	}
	e.do("GET", "/connections/"+id+"/entities/customers/records/00000000-0000-0000-0000-000000000001", e.token, nil, 409, &perr)

	e.do("POST", "/connections/"+id+"/sync", e.token, map[string]any{"entities": []string{"customers"}}, 202, nil)
	e.waitRows(id, "customers")
	var page struct {
		Records      []map[string]any
		FullSyncDone bool
	}
	e.do("GET", "/connections/"+id+"/entities/customers/records?limit=1", e.token, nil, 200, &page)
	if len(page.Records) != 1 || !page.FullSyncDone {
		t.Fatalf("records after the sync: %+v", page)
	}
	rid, _ := page.Records[0]["id"].(string)
	var rec map[string]any
	e.do("GET", "/connections/"+id+"/entities/customers/records/"+rid, e.token, nil, 200, &rec)
	if rec["id"] != rid || rec["number"] != page.Records[0]["number"] || rec["@odata.etag"] == nil {
		t.Errorf("record %s: %v", rid, rec)
	}
	e.do("GET", "/connections/"+id+"/entities/customers/records/00000000-0000-0000-0000-000000000001", e.token, nil, 404, &perr)
	if perr.Code != "not_found" || !strings.Contains(perr.Detail, "00000000-0000-0000-0000-000000000001") {
		t.Errorf("absent record: %+v", perr)
	}
	// Another customer's token does not learn the connection exists.
	other := e.newToken("other", []string{"conn-of-someone-else"})
	e.do("GET", "/connections/"+id+"/entities/customers/records/"+rid, other, nil, 404, nil)
}

// TestMethodsAndLimits: a known path with a wrong method answers 405 with Allow (an
// unknown path stays 404), and a limit above the documented maximum answers 400 naming
// the maximum instead of being cut silently.
func TestMethodsAndLimits(t *testing.T) {
	t.Parallel()
	e := setup(t)
	id := e.createConn("Contoso")
	for _, tc := range []struct{ method, path, allow string }{
		{"DELETE", "/changes", "GET, HEAD"},
		{"PUT", "/connections/" + id, "GET, HEAD, PATCH, DELETE"},
		{"GET", "/connections/" + id + "/rotate-secret", "POST"},
		{"PUT", "/connections/" + id + "/entities/customers/records/x", "GET, HEAD, PATCH, DELETE"},
	} {
		st, hdr, b := e.call(tc.method, tc.path, e.token, nil)
		if st != 405 || hdr.Get("Allow") != tc.allow || !strings.Contains(string(b), "method_not_allowed") {
			t.Errorf("%s %s: %d Allow %q %s; want 405 Allow %q", tc.method, tc.path, st, hdr.Get("Allow"), b, tc.allow)
		}
	}
	if st, _, b := e.call("GET", "/no-such-route", e.token, nil); st != 404 {
		t.Errorf("unknown path: %d %s", st, b)
	}

	var perr problemBody
	e.do("GET", "/changes?limit=5001", e.token, nil, 400, &perr)
	if !strings.Contains(perr.Detail, "5000") {
		t.Errorf("changes limit above the maximum: %+v", perr)
	}
	e.do("GET", "/changes?limit=5000", e.token, nil, 200, nil)
	e.do("GET", "/connections/"+id+"/entities/customers/records?limit=1001", e.token, nil, 400, &perr)
	if !strings.Contains(perr.Detail, "1000") {
		t.Errorf("records limit above the maximum: %+v", perr)
	}
}
