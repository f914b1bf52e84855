package api_test

import (
	"testing"
)

// TestWriteThroughAppliesAtOnce: a create, update and delete through the API reach the
// replica (/records) and the change feed (/changes) in the same request, without waiting
// for a pass; a delete (invisible to incremental passes) included, documents and lines
// too. Before, a DELETE answered 204 and the record stayed in /records with no delete.
func TestWriteThroughAppliesAtOnce(t *testing.T) {
	t.Parallel()
	e := setup(t)
	in := e.input()
	in.Name = "Writes"
	in.Entities = []string{"customers", "salesInvoices"}
	var v struct{ ID string }
	e.do("POST", "/connections", e.token, in, 201, &v)
	id := v.ID
	e.do("POST", "/connections/"+id+"/sync", e.token, map[string]any{"entities": []string{"customers", "salesInvoices"}}, 202, nil)
	e.waitRows(id, "customers")
	e.waitRows(id, "salesInvoices")
	e.jobs.wg.Wait()

	rows := func(set, filter string) []map[string]any {
		t.Helper()
		var page struct{ Records []map[string]any }
		e.do("GET", "/connections/"+id+"/entities/"+set+"/records?limit=1000&filter="+urlq(filter), e.token, nil, 200, &page)
		return page.Records
	}
	ops := func(set, rid string) []string {
		t.Helper()
		var ch struct {
			Changes []struct{ EntitySet, ID, Op string }
		}
		e.do("GET", "/changes?after=0&limit=5000", e.token, nil, 200, &ch)
		var out []string
		for _, c := range ch.Changes {
			if c.EntitySet == set && c.ID == rid {
				out = append(out, c.Op)
			}
		}
		return out
	}
	recs := "/connections/" + id + "/entities/"

	var created map[string]any
	e.do("POST", recs+"customers/records", e.token, `{"displayName":"Write Through"}`, 201, &created)
	cid := created["id"].(string)
	if got := rows("customers", "id eq "+cid); len(got) != 1 || got[0]["displayName"] != "Write Through" {
		t.Fatalf("after the create, /records has %v", got)
	}
	if got := ops("customers", cid); len(got) != 1 || got[0] != "insert" {
		t.Fatalf("after the create, the change log has %v", got)
	}
	e.do("PATCH", recs+"customers/records/"+cid, e.token, `{"displayName":"Write Through 2"}`, 200, nil)
	if got := rows("customers", "id eq "+cid); len(got) != 1 || got[0]["displayName"] != "Write Through 2" {
		t.Fatalf("after the update, /records has %v", got)
	}
	e.do("DELETE", recs+"customers/records/"+cid, e.token, nil, 204, nil)
	if got := rows("customers", "id eq "+cid); len(got) != 0 {
		t.Fatalf("after the delete, /records still has %v", got)
	}
	if got := ops("customers", cid); len(got) == 0 || got[len(got)-1] != "delete" {
		t.Fatalf("after the delete, the change log has %v, want it to end with a delete", got)
	}

	// A document with lines: a line deleted through the line set, then the document.
	var inv map[string]any
	e.do("POST", recs+"salesInvoices/records", e.token, map[string]any{"customerNumber": firstOf(t, rows("customers", ""))["number"],
		"salesInvoiceLines": []map[string]any{{"lineType": "Comment", "description": "one"}, {"lineType": "Comment", "description": "two"}}}, 201, &inv)
	iid := inv["id"].(string)
	lines := rows("salesInvoiceLines", "documentId eq "+iid)
	if len(lines) != 2 || len(rows("salesInvoices", "id eq "+iid)) != 1 {
		t.Fatalf("after the create, the replica has the invoice %d times and %d lines, want 1 and 2", len(rows("salesInvoices", "id eq "+iid)), len(lines))
	}
	lid := lines[0]["id"].(string)
	e.do("DELETE", recs+"salesInvoiceLines/records/"+lid, e.token, nil, 204, nil)
	if got := rows("salesInvoiceLines", "documentId eq "+iid); len(got) != 1 || got[0]["id"] == lid {
		t.Fatalf("after deleting a line, the replica has lines %v", got)
	}
	e.do("DELETE", recs+"salesInvoices/records/"+iid, e.token, nil, 204, nil)
	if len(rows("salesInvoices", "id eq "+iid)) != 0 || len(rows("salesInvoiceLines", "documentId eq "+iid)) != 0 {
		t.Fatal("after deleting the invoice, the replica still has it or its lines")
	}
	if got := ops("salesInvoiceLines", lid); len(got) != 2 || got[1] != "delete" {
		t.Fatalf("the deleted line's changes are %v, want insert, delete", got)
	}
	e.jobs.wg.Wait()
	e.scanSecrets()
}

func firstOf(t *testing.T, rows []map[string]any) map[string]any {
	t.Helper()
	if len(rows) == 0 {
		t.Fatal("no rows")
	}
	return rows[0]
}

// TestBatchWriteThroughAppliesAtOnce: the writes of a $batch (create, update, delete) are
// in the replica and the change feed when the call returns, as single write-throughs are.
// The soak found them applied only by the catch-up pass (a delete by reconciliation).
func TestBatchWriteThroughAppliesAtOnce(t *testing.T) {
	t.Parallel()
	e := setup(t)
	in := e.input()
	in.Name = "Batch writes"
	in.Entities = []string{"customers"}
	var v struct{ ID string }
	e.do("POST", "/connections", e.token, in, 201, &v)
	id := v.ID
	e.do("POST", "/connections/"+id+"/sync", e.token, map[string]any{"entities": []string{"customers"}}, 202, nil)
	e.waitRows(id, "customers")
	e.jobs.wg.Wait()
	rows := func(filter string) []map[string]any {
		t.Helper()
		var page struct{ Records []map[string]any }
		e.do("GET", "/connections/"+id+"/entities/customers/records?limit=1000&filter="+urlq(filter), e.token, nil, 200, &page)
		return page.Records
	}
	all := rows("")
	if len(all) < 2 {
		t.Fatalf("%d customers replicated", len(all))
	}
	upd, del := all[0]["id"].(string), all[1]["id"].(string)
	var out struct {
		Responses []struct {
			ID     string
			Status int
			Body   map[string]any
		}
	}
	e.do("POST", "/connections/"+id+"/$batch", e.token, map[string]any{"requests": []map[string]any{
		{"id": "c", "method": "POST", "url": "customers", "body": map[string]any{"displayName": "Batch Create"}},
		{"id": "u", "method": "PATCH", "url": "customers(" + upd + ")", "body": map[string]any{"displayName": "Batch Update"}},
		{"id": "d", "method": "DELETE", "url": "customers(" + del + ")"},
	}}, 200, &out)
	if len(out.Responses) != 3 || out.Responses[0].Status != 201 || out.Responses[1].Status != 200 || out.Responses[2].Status != 204 {
		t.Fatalf("$batch answered %+v", out.Responses)
	}
	cid := out.Responses[0].Body["id"].(string)
	if got := rows("id eq " + cid); len(got) != 1 || got[0]["@odata.etag"] != out.Responses[0].Body["@odata.etag"] {
		t.Errorf("after the $batch, the created customer in /records is %v", got)
	}
	if got := rows("id eq " + upd); len(got) != 1 || got[0]["displayName"] != "Batch Update" || got[0]["@odata.etag"] != out.Responses[1].Body["@odata.etag"] {
		t.Errorf("after the $batch, the updated customer in /records is %v", got)
	}
	if got := rows("id eq " + del); len(got) != 0 {
		t.Errorf("after the $batch, the deleted customer is still in /records: %v", got)
	}
	var ch struct {
		Changes []struct{ ID, Op string }
	}
	e.do("GET", "/changes?after=0&limit=5000", e.token, nil, 200, &ch)
	last := map[string]string{}
	for _, c := range ch.Changes {
		last[c.ID] = c.Op
	}
	if last[cid] != "insert" || last[upd] != "update" || last[del] != "delete" {
		t.Errorf("the change feed ends with %q for the create, %q for the update, %q for the delete", last[cid], last[upd], last[del])
	}
	e.jobs.wg.Wait()
	e.scanSecrets()
}
