package api_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

// FuzzAPI sends arbitrary bodies and query values to the routes that parse them: every
// answer is a 2xx or a 4xx with the API's JSON error, never a 5xx, and never echoes the
// client secret.
func FuzzAPI(f *testing.F) {
	for _, s := range []string{
		`{"tenantId":"x"}`, `{"name":"n","secret":"s"}`, `[]`, `{`, `{"entities":["nope"]}`, `null`,
		`{"requests":[{"method":"GET","url":"customers"}]}`, `{"displayName":"A"}`, `{"entities":7}`,
		`displayName eq 'x'`, `number gt 5 and x eq 1`, `'`,
	} {
		f.Add(s)
	}
	e := setup(f)
	id := e.createConn("Fuzzed")
	// Synced, so record reads reach the replica's queries (a set never synced is 409).
	e.do("POST", "/connections/"+id+"/sync", e.token, map[string]any{"entities": []string{"customers"}}, 202, nil)
	e.waitRows(id, "customers")
	secret := e.emu.Credentials().ClientSecret
	f.Fuzz(func(t *testing.T, in string) {
		e.t = t // calls report to this input's test
		for _, rq := range []struct{ method, path string }{
			{"POST", "/connections"},
			{"PATCH", "/connections/" + id},
			{"POST", "/connections/" + id + "/sync"},
			{"POST", "/connections/" + id + "/rotate-secret"},
			{"POST", "/connections/" + id + "/$batch"},
			{"GET", "/connections/" + id + "/entities/customers/records?limit=5&filter=" + url.QueryEscape(in)},
			{"GET", "/connections/" + id + "/entities/customers/records/" + url.PathEscape(in)},
			{"GET", "/changes?wait=0&after=" + url.QueryEscape(in)},
		} {
			var body any
			if rq.method != "GET" {
				body = in
			}
			status, _, b := e.call(rq.method, rq.path, e.token, body)
			if status >= 500 {
				t.Fatalf("%s %s with %q: %d %s", rq.method, rq.path, in, status, b)
			}
			if status >= 400 && !json.Valid(b) {
				t.Fatalf("%s %s: error body is not JSON: %s", rq.method, rq.path, b)
			}
			if strings.Contains(string(b), secret) {
				t.Fatalf("%s %s echoed the client secret", rq.method, rq.path)
			}
		}
	})
}
