package api_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/bizzjoiner/bcconnector/web/api"
)

// TestProblemDetails: every error of the API is one RFC 9457 shape
// (application/problem+json; type, title, status, detail and our code), whatever layer
// refused the call (routing, auth, query parsing, body parsing, the store, the service);
// its type is dereferenceable and describes the code with the same title and status; no
// detail holds an internal prefix such as "store: invalid:".
func TestProblemDetails(t *testing.T) {
	t.Parallel()
	e := setup(t)
	id := e.createConn("Contoso")
	for _, c := range []struct {
		method, path, token string
		body                any
		status              int
		code                string
	}{
		{"GET", "/connections", "", nil, 401, "unauthorized"},
		{"GET", "/connections", "bcc_" + strings.Repeat("x", 20), nil, 401, "unauthorized"},
		{"GET", "/nowhere", e.token, nil, 404, "not_found"},
		{"PUT", "/connections", e.token, nil, 405, "method_not_allowed"},
		{"GET", "/connections/nope", e.token, nil, 404, "not_found"},
		{"GET", "/changes?since=5", e.token, nil, 400, "invalid"},
		{"GET", "/changes?wait=30s", e.token, nil, 400, "invalid"},
		{"GET", "/changes?limit=99999", e.token, nil, 400, "invalid"},
		{"GET", "/changes/stream?wait=1", e.token, nil, 400, "invalid"},
		{"GET", "/changes?after=99999", e.token, nil, 400, "cursor_beyond_end"},
		{"POST", "/connections", e.token, `{"name":`, 400, "invalid"},
		{"POST", "/connections", e.token, `{"name":"x","bogus":1}`, 400, "invalid"},
		{"POST", "/connections", e.token, map[string]any{"name": "x", "tenantId": "not a tenant"}, 422, "invalid_field"},
		{"POST", "/webhook-endpoints", e.token, map[string]any{"url": "ftp://x"}, 400, "invalid"},
		{"GET", "/webhook-endpoints/nope", e.token, nil, 404, "not_found"},
		{"GET", "/connections/" + id + "/entities/customers/records", e.token, nil, 409, "not_synced"},
		{"GET", "/connections/" + id + "/entities/customers/records?limit=0", e.token, nil, 400, "invalid"},
		{"POST", "/connections/" + id + "/sync", e.token, map[string]any{"entities": []string{"nosuchset"}}, 400, "invalid"},
		{"GET", "/problems/nope", "", nil, 404, "not_found"},
	} {
		name := c.method + " " + c.path
		st, hdr, b := e.call(c.method, c.path, c.token, c.body)
		var p problemBody
		if err := json.Unmarshal(b, &p); err != nil {
			t.Errorf("%s: %v: %s", name, err, b)
			continue
		}
		if st != c.status || p.Status != st || p.Code != c.code {
			t.Errorf("%s: status %d (body %d) code %q, want %d %q: %s", name, st, p.Status, p.Code, c.status, c.code, b)
		}
		if ct := hdr.Get("Content-Type"); ct != "application/problem+json" {
			t.Errorf("%s: Content-Type %q", name, ct)
		}
		if p.Type != api.Prefix+"/problems/"+p.Code || p.Title == "" || p.Detail == "" {
			t.Errorf("%s: type %q title %q detail %q", name, p.Type, p.Title, p.Detail)
		}
		for _, internal := range []string{"store:", "service:", "bad request", "sqlite:", "postgres:", "invalid:", "not found:"} {
			if strings.Contains(p.Detail, internal) || strings.Contains(p.Fix, internal) {
				t.Errorf("%s: detail holds the internal %q: %s", name, internal, p.Detail)
			}
		}
		var doc struct {
			Type, Title, Code string
			Status            int
		}
		e.do("GET", strings.TrimPrefix(p.Type, api.Prefix), "", nil, 200, &doc)
		if doc.Type != p.Type || doc.Title != p.Title || doc.Status != p.Status {
			t.Errorf("%s: its type says %+v", name, doc)
		}
	}
}

// TestProblemCodesDocumented: the OpenAPI document's list of error codes is the API's.
func TestProblemCodesDocumented(t *testing.T) {
	t.Parallel()
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]struct{ Enum []string }
			}
		}
	}
	if err := json.Unmarshal(api.OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	got := doc.Components.Schemas["Error"].Properties["code"].Enum
	if !slices.Equal(got, api.ProblemCodes()) {
		t.Errorf("documented codes %v, the API's %v", got, api.ProblemCodes())
	}
}
