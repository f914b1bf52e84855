package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/web/api"
)

// TestRoutes exercises every route against the emulator and a real SQLite store, checks
// the responses against the documented required fields, and finally scans every response
// and the log for the client secret and the token.
func TestRoutes(t *testing.T) {
	t.Parallel()
	e := setup(t)
	doc := loadDoc(t)

	// No token, a wrong token.
	if st, _, _ := e.call("GET", "/connections", "", nil); st != 401 {
		t.Errorf("no token: %d", st)
	}
	if st, _, _ := e.call("GET", "/connections", "bcc_nope", nil); st != 401 {
		t.Errorf("unknown token: %d", st)
	}
	// A wrong field is a 422 naming the field and the step.
	bad := e.input()
	bad.ClientID = "not-a-guid"
	var ferr problemBody
	e.do("POST", "/connections", e.token, bad, 422, &ferr)
	if ferr.Field != "client ID" || ferr.Step != "Step 2" {
		t.Errorf("field error: %+v", ferr)
	}
	// A wrong secret fails the doctor at Step 3 and stores nothing.
	wrong := e.input()
	wrong.Secret = secret.Secret("Abc8Q~" + strings.Repeat("x", 34))
	b := e.do("POST", "/connections", e.token, wrong, 422, &ferr)
	if ferr.Code != "setup_failed" || !strings.Contains(string(b), `"report"`) {
		t.Errorf("setup failure: %s", b)
	}

	id := e.createConn("Contoso")
	var conn map[string]any
	b = e.do("GET", "/connections/"+id, e.token, nil, 200, &conn)
	checkRequired(t, doc, "Connection", conn)
	if strings.Contains(strings.ToLower(string(b)), `"secret":`) {
		t.Errorf("connection shows a secret field: %s", b)
	}
	e.do("GET", "/connections/Contoso", e.token, nil, 200, nil) // by name
	var list struct{ Connections []map[string]any }
	e.do("GET", "/connections", e.token, nil, 200, &list)
	if len(list.Connections) != 1 {
		t.Fatalf("list: %+v", list)
	}
	e.do("PATCH", "/connections/"+id, e.token, map[string]any{"name": "Contoso Ltd"}, 200, &conn)
	if conn["name"] != "Contoso Ltd" {
		t.Errorf("rename: %v", conn["name"])
	}
	e.do("PATCH", "/connections/"+id, e.token, map[string]any{"secret": "x"}, 422, nil)

	var rep map[string]any
	e.do("POST", "/connections/"+id+"/doctor", e.token, nil, 200, &rep)
	checkRequired(t, doc, "DoctorReport", rep)
	if rep["ok"] != true {
		t.Errorf("doctor: %v", rep)
	}
	e.do("GET", "/connections/"+id+"/doctor", e.token, nil, 200, &rep)

	var cos struct{ Companies []struct{ ID, Name string } }
	e.do("GET", "/connections/"+id+"/companies", e.token, nil, 200, &cos)
	if !slices.ContainsFunc(cos.Companies, func(c struct{ ID, Name string }) bool { return c.Name == e.creds.Company }) {
		t.Errorf("companies: %+v", cos)
	}

	// Rotation: a wrong secret keeps the old one; the emulator's secret works.
	e.do("POST", "/connections/"+id+"/rotate-secret", e.token, map[string]string{"secret": "Zzz8Q~" + strings.Repeat("y", 34)}, 422, nil)
	e.do("POST", "/connections/"+id+"/rotate-secret", e.token, map[string]string{"secret": e.creds.ClientSecret}, 200, nil)

	var st map[string]any
	e.do("POST", "/connections/"+id+"/sync", e.token, map[string]any{"entities": []string{"customers"}}, 202, &st)
	checkRequired(t, doc, "SyncStatus", st)
	e.waitRows(id, "customers")

	var page struct {
		Records    []map[string]any
		NextCursor string
	}
	e.do("GET", "/connections/"+id+"/entities/customers/records?limit=2", e.token, nil, 200, &page)
	if len(page.Records) != 2 || page.NextCursor == "" {
		t.Fatalf("page: %+v", page)
	}
	first := page.Records[0]
	var page2 struct{ Records []map[string]any }
	e.do("GET", "/connections/"+id+"/entities/customers/records?limit=2&cursor="+page.NextCursor, e.token, nil, 200, &page2)
	if len(page2.Records) == 0 || page2.Records[0]["id"] == first["id"] {
		t.Errorf("cursor did not advance")
	}
	num, _ := first["number"].(string)
	var filtered struct{ Records []map[string]any }
	e.do("GET", "/connections/"+id+"/entities/customers/records?filter="+urlq("number eq '"+num+"'"), e.token, nil, 200, &filtered)
	if len(filtered.Records) != 1 || filtered.Records[0]["id"] != first["id"] {
		t.Errorf("filter number eq %q: %d records", num, len(filtered.Records))
	}
	e.do("GET", "/connections/"+id+"/entities/customers/records?filter="+urlq("nope eq 1"), e.token, nil, 400, nil)
	e.do("GET", "/connections/"+id+"/entities/notASet/records", e.token, nil, 404, nil)

	// Changes: the full sync logged inserts.
	var ch struct {
		Changes []map[string]any
		Next    int64
	}
	e.do("GET", "/changes?after=0&limit=5", e.token, nil, 200, &ch)
	if len(ch.Changes) != 5 || ch.Next != 5 {
		t.Fatalf("changes: %+v", ch)
	}
	checkRequired(t, doc, "Change", ch.Changes[0])

	// Write-through: create, update (If-Match read first), action-less delete.
	var created map[string]any
	e.do("POST", "/connections/"+id+"/entities/customers/records", e.token, `{"displayName":"API Customer"}`, 201, &created)
	cid, _ := created["id"].(string)
	var updated map[string]any
	e.do("PATCH", "/connections/"+id+"/entities/customers/records/"+cid, e.token, `{"displayName":"API Customer 2"}`, 200, &updated)
	if updated["displayName"] != "API Customer 2" {
		t.Errorf("update: %v", updated)
	}
	e.do("PATCH", "/connections/"+id+"/entities/customers/records/"+cid, e.token, `{"displayName":"x"}`, 409, nil, "If-Match", `W/"stale"`)
	e.do("DELETE", "/connections/"+id+"/entities/customers/records/"+cid, e.token, nil, 204, nil)

	// A bound action on a draft sales invoice (posting it).
	var inv map[string]any
	e.do("POST", "/connections/"+id+"/entities/salesInvoices/records", e.token,
		map[string]any{"customerId": first["id"], "salesInvoiceLines": []map[string]any{{"lineType": "Comment", "description": "hello"}}}, 201, &inv)
	iid, _ := inv["id"].(string)
	st2, _, ab := e.call("POST", "/connections/"+id+"/entities/salesInvoices/records/"+iid+"/actions/post", e.token, nil)
	if st2 != 204 && st2 != 200 && st2 != 400 { // BC may refuse to post a comment-only invoice (400)
		t.Errorf("action: %d %s", st2, ab)
	}
	e.do("POST", "/connections/"+id+"/entities/customers/records/"+iid+"/actions/notAnAction", e.token, nil, 400, nil)

	// $batch.
	var br struct {
		Responses []struct {
			ID     string
			Status int
		}
	}
	e.do("POST", "/connections/"+id+"/$batch", e.token, map[string]any{"requests": []map[string]any{
		{"id": "a", "method": "GET", "url": "customers(" + first["id"].(string) + ")"},
		{"id": "b", "method": "POST", "url": "customers", "body": map[string]any{"displayName": "Batch Customer"}},
	}}, 200, &br)
	if len(br.Responses) != 2 || br.Responses[0].Status != 200 || br.Responses[1].Status != 201 || br.Responses[1].ID != "b" {
		t.Errorf("batch: %+v", br)
	}
	e.do("POST", "/connections/"+id+"/$batch", e.token, map[string]any{"requests": []map[string]any{{"method": "GET", "url": "https://evil/customers"}}}, 400, nil)

	// Long-poll: a wait with nothing new returns empty after the wait.
	e.jobs.wg.Wait()
	var tail struct{ Next int64 }
	e.do("GET", "/changes?after=0&limit=5000", e.token, nil, 200, &tail)
	start := time.Now()
	var none struct{ Changes []any }
	e.do("GET", "/changes?wait=1&after="+itoa(tail.Next), e.token, nil, 200, &none)
	if len(none.Changes) != 0 || time.Since(start) < 900*time.Millisecond {
		t.Errorf("long poll returned %d after %s", len(none.Changes), time.Since(start))
	}

	// SSE: the first events arrive.
	req, _ := http.NewRequest("GET", e.srv.URL+api.Prefix+"/changes?after=0", nil)
	req.Header.Set("Authorization", "Bearer "+e.token)
	req.Header.Set("Accept", "text/event-stream")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(resp.Body)
	var gotID, gotData bool
	for sc.Scan() && !(gotID && gotData) {
		gotID = gotID || strings.HasPrefix(sc.Text(), "id: 1")
		gotData = gotData || strings.HasPrefix(sc.Text(), "data: {")
	}
	cancel()
	resp.Body.Close()
	if !gotID || !gotData || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Errorf("sse: id %v data %v", gotID, gotData)
	}

	e.do("GET", "/openapi.json", "", nil, 200, nil)
	e.do("GET", "/nope", e.token, nil, 404, nil)
	e.do("DELETE", "/connections/"+id, e.token, nil, 200, nil)
	e.do("GET", "/connections/"+id, e.token, nil, 404, nil)
	e.jobs.wg.Wait()
	e.scanSecrets()
}

// TestTokenScope: a token for customer A's connection cannot see, change or read the
// changes of customer B's.
func TestTokenScope(t *testing.T) {
	t.Parallel()
	e := setup(t)
	a := e.createConn("Customer A")
	b := e.createConn("Customer B")
	tokA := e.newToken("a-only", []string{a})
	e.do("POST", "/connections/"+a+"/sync", e.token, map[string]any{"entities": []string{"currencies"}}, 202, nil)
	e.do("POST", "/connections/"+b+"/sync", e.token, map[string]any{"entities": []string{"currencies"}}, 202, nil)
	e.waitRows(a, "currencies")
	e.waitRows(b, "currencies")

	var list struct{ Connections []struct{ ID string } }
	e.do("GET", "/connections", tokA, nil, 200, &list)
	if len(list.Connections) != 1 || list.Connections[0].ID != a {
		t.Errorf("A's list: %+v", list)
	}
	for _, c := range []struct{ method, path string }{
		{"GET", "/connections/" + b}, {"GET", "/connections/Customer%20B"}, {"PATCH", "/connections/" + b}, {"DELETE", "/connections/" + b},
		{"POST", "/connections/" + b + "/doctor"}, {"GET", "/connections/" + b + "/doctor"}, {"GET", "/connections/" + b + "/companies"},
		{"POST", "/connections/" + b + "/sync"}, {"GET", "/connections/" + b + "/sync"}, {"POST", "/connections/" + b + "/rotate-secret"},
		{"GET", "/connections/" + b + "/entities/currencies/records"},
		{"POST", "/connections/" + b + "/entities/customers/records"},
		{"POST", "/connections/" + b + "/$batch"},
	} {
		if st, _, body := e.call(c.method, c.path, tokA, `{}`); st != 404 {
			t.Errorf("A's token: %s %s = %d %s", c.method, c.path, st, body)
		}
	}
	e.do("POST", "/connections", tokA, e.input(), 404, nil) // a scoped token cannot create
	e.do("GET", "/connections/"+a, tokA, nil, 200, nil)
	var ch struct {
		Changes []struct{ ConnectionID string }
	}
	e.do("GET", "/changes?after=0&limit=1000", tokA, nil, 200, &ch)
	if len(ch.Changes) == 0 {
		t.Fatal("A sees no changes")
	}
	for _, c := range ch.Changes {
		if c.ConnectionID != a {
			t.Fatalf("A sees a change of %s", c.ConnectionID)
		}
	}
	// Revoked: 401.
	if err := e.db.RevokeToken(context.Background(), "a-only"); err != nil {
		t.Fatal(err)
	}
	e.do("GET", "/connections", tokA, nil, 401, nil)
	e.scanSecrets(tokA)
}

// TestIdempotencyKey: the same POST twice with one key creates one record in BC; the
// key with another body is refused with 422.
func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	e := setup(t)
	id := e.createConn("Idem")
	ref := emulator.CompanyRef{TenantID: e.creds.TenantID, Environment: e.creds.Environment, CompanyID: e.creds.CompanyID}
	before := e.emu.Count(ref, "customers")
	path := "/connections/" + id + "/entities/customers/records"
	var r1, r2 map[string]any
	e.do("POST", path, e.token, `{"displayName":"Once"}`, 201, &r1, "Idempotency-Key", "k-1")
	_, h, b := e.call("POST", path, e.token, `{ "displayName": "Once" }`, "Idempotency-Key", "k-1")
	if err := json.Unmarshal(b, &r2); err != nil || r2["id"] != r1["id"] || h.Get("Idempotent-Replayed") != "true" {
		t.Errorf("replay: %s %v", b, h)
	}
	if got := e.emu.Count(ref, "customers"); got != before+1 {
		t.Errorf("customers: %d, want %d", got, before+1)
	}
	var er problemBody
	e.do("POST", path, e.token, `{"displayName":"Other"}`, 422, &er, "Idempotency-Key", "k-1")
	if er.Code != "idempotency_key_reused" {
		t.Errorf("reuse: %+v", er)
	}
	// Without a key, two POSTs create two.
	e.do("POST", path, e.token, `{"displayName":"Twice"}`, 201, nil)
	e.do("POST", path, e.token, `{"displayName":"Twice"}`, 201, nil)
	if got := e.emu.Count(ref, "customers"); got != before+3 {
		t.Errorf("customers: %d, want %d", got, before+3)
	}
	e.scanSecrets()
}

// TestOpenAPIMatchesRoutes: every route is documented and every documented operation is
// a route.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	t.Parallel()
	doc := loadDoc(t)
	var documented []string
	for p, item := range doc.Paths {
		for m := range item {
			if m == "parameters" {
				continue
			}
			documented = append(documented, strings.ToUpper(m)+" "+p)
		}
	}
	routes := api.Routes()
	sort.Strings(documented)
	sort.Strings(routes)
	if !slices.Equal(documented, routes) {
		t.Errorf("routes and document differ:\nroutes:     %v\ndocumented: %v", routes, documented)
	}
	// Every $ref resolves.
	var refs []string
	collectRefs(doc.raw, &refs)
	for _, r := range refs {
		name := strings.TrimPrefix(r, "#/components/")
		kind, n, _ := strings.Cut(name, "/")
		comp, _ := doc.raw["components"].(map[string]any)[kind].(map[string]any)
		if _, ok := comp[n]; !ok {
			t.Errorf("dangling $ref %s", r)
		}
	}
}

type openapiDoc struct {
	Paths      map[string]map[string]json.RawMessage
	Components struct {
		Schemas map[string]struct {
			Required   []string
			Properties map[string]json.RawMessage
		}
	}
	raw map[string]any
}

func loadDoc(t *testing.T) openapiDoc {
	t.Helper()
	var d openapiDoc
	if err := json.Unmarshal(api.OpenAPI(), &d); err != nil {
		t.Fatal(err)
	}
	_ = json.Unmarshal(api.OpenAPI(), &d.raw)
	return d
}

// checkRequired checks an answer against its schema in both directions: every required
// property is there, and every property there is documented.
func checkRequired(t *testing.T, d openapiDoc, schema string, v map[string]any) {
	t.Helper()
	s, ok := d.Components.Schemas[schema]
	if !ok {
		t.Fatalf("no schema %s", schema)
	}
	for _, f := range s.Required {
		if _, ok := v[f]; !ok {
			t.Errorf("%s: required field %q missing in %v", schema, f, v)
		}
	}
	for f := range v {
		if _, ok := s.Properties[f]; !ok {
			t.Errorf("%s: field %q is not documented in openapi.json", schema, f)
		}
	}
}

func collectRefs(v any, out *[]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, y := range x {
			if k == "$ref" {
				*out = append(*out, y.(string))
			}
			collectRefs(y, out)
		}
	case []any:
		for _, y := range x {
			collectRefs(y, out)
		}
	}
}

func urlq(s string) string {
	return strings.NewReplacer(" ", "%20", "'", "%27").Replace(s)
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }
