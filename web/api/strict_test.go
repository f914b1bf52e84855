package api_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestStrictJSONBodies: a JSON body with data after the value, or with bytes that are not
// UTF-8, is refused with 400 naming the problem (issue 9.9).
func TestStrictJSONBodies(t *testing.T) {
	t.Parallel()
	e := setup(t)
	id := e.createConn("Contoso")
	cases := []struct {
		name, method, path, body, want string
	}{
		{"trailing object", "PATCH", "/connections/" + id, `{"name":"a"}{"name":"b"}`, "after the JSON value"},
		{"trailing garbage", "PATCH", "/connections/" + id, `{"name":"a"} x`, "after the JSON value"},
		{"invalid UTF-8", "PATCH", "/connections/" + id, "{\"name\":\"a\xff\"}", "UTF-8"},
		{"sync trailing", "POST", "/connections/" + id + "/sync", `{"full":false} {}`, "after the JSON value"},
		{"record trailing", "POST", "/connections/" + id + "/entities/customers/records", `{"displayName":"x"} {}`, "after the JSON value"},
		{"record invalid UTF-8", "POST", "/connections/" + id + "/entities/customers/records", "{\"displayName\":\"\xc3\x28\"}", "UTF-8"},
		{"batch trailing", "POST", "/connections/" + id + "/$batch", `{"requests":[{"method":"GET","url":"customers"}]}]`, "after the JSON value"},
		{"batch invalid UTF-8", "POST", "/connections/" + id + "/$batch", "{\"requests\":[{\"id\":\"\xfe\",\"method\":\"GET\",\"url\":\"customers\"}]}", "UTF-8"},
		{"rotate trailing", "POST", "/connections/" + id + "/rotate-secret", `{"secret":"x"} 1`, "after the JSON value"},
		{"certificate trailing", "POST", "/connections/" + id + "/certificates", `{"months":12} {}`, "after the JSON value"},
		{"certificate unknown field", "POST", "/connections/" + id + "/certificates", `{"validity":12}`, "unknown field"},
	}
	for _, c := range cases {
		st, _, b := e.call(c.method, c.path, e.token, c.body)
		var body problemBody
		_ = json.Unmarshal(b, &body)
		if st != 400 || !strings.Contains(body.Detail, c.want) {
			t.Errorf("%s: %d %.300s; want 400 naming %q", c.name, st, b, c.want)
		}
	}
	// Whitespace after the value is fine.
	e.do("PATCH", "/connections/"+id, e.token, "{\"name\":\"Contoso Ltd\"}\n\t ", 200, nil)
}

// TestBatchCompanyURL: a $batch request whose URL names a company (or anything but an
// entity set of the connection's company) is refused with 400 saying so, never 500
// (issue 9.9).
func TestBatchCompanyURL(t *testing.T) {
	t.Parallel()
	e := setup(t)
	id := e.createConn("Contoso")
	const guid = "11111111-2222-3333-4444-555555555555"
	for _, u := range []string{
		"companies(" + guid + ")/customers",
		"/companies(" + guid + ")/customers",
		"companies(" + guid + ")",
		"companies",
		"companies(" + guid + ")/customers(" + guid + ")",
		"customers(" + guid + ")/salesInvoices",
	} {
		for _, m := range []string{"GET", "POST", "PATCH", "DELETE"} {
			st, _, b := e.call("POST", "/connections/"+id+"/$batch", e.token, map[string]any{"requests": []map[string]any{
				{"id": "1", "method": m, "url": u, "body": map[string]any{"displayName": "x"}}}})
			var body problemBody
			_ = json.Unmarshal(b, &body)
			if st != 400 || !strings.Contains(body.Detail, "url") {
				t.Errorf("%s %s: %d %.300s; want 400 naming the url", m, u, st, b)
			}
		}
	}
}

// TestPatchConnectionTenantClient: an update cannot move a connection to another tenant or
// app registration without that app's secret and a passing check; it is refused with a
// 422 naming the field (issue 9.9).
func TestPatchConnectionTenantClient(t *testing.T) {
	t.Parallel()
	e := setup(t)
	id := e.createConn("Contoso")
	const other = "99999999-8888-7777-6666-555555555555"
	for _, f := range []struct{ json, field string }{{"tenantId", "tenant ID"}, {"clientId", "client ID"}} {
		var ferr problemBody
		e.do("PATCH", "/connections/"+id, e.token, map[string]any{f.json: other}, 422, &ferr)
		if ferr.Field != f.field || ferr.Fix == "" {
			t.Errorf("%s: %+v", f.json, ferr)
		}
	}
	var conn struct{ TenantID, ClientID string }
	e.do("GET", "/connections/"+id, e.token, nil, 200, &conn)
	if conn.TenantID != e.creds.TenantID || conn.ClientID != e.creds.ClientID {
		t.Errorf("stored connection changed: %+v", conn)
	}
	// The same values (a form that sends every field back) are no change and pass.
	e.do("PATCH", "/connections/"+id, e.token, map[string]any{"tenantId": e.creds.TenantID, "clientId": e.creds.ClientID, "name": "Contoso 2"}, 200, nil)
}
