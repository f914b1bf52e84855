package notify

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const root = "https://bc.example/v2.0/" + owner + "/Production/api/v2.0"

type errCall struct {
	status        int
	code, message string
}

// serve runs one request through Handle and returns the response and any error written.
func serve(t *testing.T, m *Manager, method, url, body, ifMatch, apiPrefix, id string) (*httptest.ResponseRecorder, *errCall) {
	t.Helper()
	var r *http.Request
	if body == "" {
		r = httptest.NewRequest(method, url, nil)
	} else {
		r = httptest.NewRequest(method, url, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
	}
	if ifMatch != "" {
		r.Header.Set("If-Match", ifMatch)
	}
	w := httptest.NewRecorder()
	var got *errCall
	m.Handle(w, r, owner, apiPrefix, id, func(w http.ResponseWriter, status int, code, message string) {
		got = &errCall{status, code, message}
		w.WriteHeader(status)
	})
	return w, got
}

func decodeMap(t *testing.T, w *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	var out map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		t.Fatalf("response %s: %v", w.Body, err)
	}
	return out
}

func TestHandleLifecycle(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t)
	m := newManager(t, rc, Config{})
	body := `{"notificationUrl":"` + rc.url() + `","resource":"` + custRes + `","clientState":"s1","@odata.etag":"ignored","subscriptionId":"ignored"}`

	w, e := serve(t, m, "POST", root+"/subscriptions", body, "", "api/v2.0", "")
	if e != nil || w.Code != http.StatusCreated {
		t.Fatalf("POST: %d %+v %s", w.Code, e, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json; odata.metadata=minimal" || w.Header().Get("OData-Version") != "4.0" {
		t.Errorf("headers %v", w.Header())
	}
	created := decodeMap(t, w)
	id, _ := created["subscriptionId"].(string)
	if !hex32.MatchString(id) || id == "ignored" {
		t.Fatalf("subscriptionId %q", id)
	}
	if created["@odata.context"] != root+"/$metadata#subscriptions/$entity" {
		t.Errorf("@odata.context %v", created["@odata.context"])
	}
	if loc := w.Header().Get("Location"); loc != root+"/subscriptions('"+id+"')" {
		t.Errorf("Location %q", loc)
	}
	raw := w.Body.String()
	order := []string{`"@odata.context"`, `"@odata.etag"`, `"subscriptionId"`, `"notificationUrl"`, `"resource"`, `"timestamp"`, `"userId"`,
		`"lastModifiedDateTime"`, `"clientState"`, `"expirationDateTime"`, `"systemCreatedAt"`, `"systemCreatedBy"`, `"systemModifiedAt"`, `"systemModifiedBy"`}
	last := -1
	for _, k := range order {
		i := strings.Index(raw, k)
		if i <= last {
			t.Errorf("property %s missing or out of BC's order in %s", k, raw)
		}
		last = i
	}
	etag, _ := created["@odata.etag"].(string)

	w, e = serve(t, m, "GET", root+"/subscriptions", "", "", "api/v2.0", "")
	list := decodeMap(t, w)
	if e != nil || list["@odata.context"] != root+"/$metadata#subscriptions" || len(list["value"].([]any)) != 1 {
		t.Errorf("GET list: %+v %s", e, w.Body)
	}

	w, e = serve(t, m, "GET", root+"/subscriptions('"+id+"')", "", "", "api/v2.0", id)
	if e != nil || w.Code != 200 || decodeMap(t, w)["clientState"] != "s1" {
		t.Errorf("GET one: %+v %s", e, w.Body)
	}

	_, e = serve(t, m, "PATCH", root+"/subscriptions('"+id+"')", `{"clientState":"s2"}`, "", "api/v2.0", id)
	if e == nil || e.status != 400 || e.code != CodeInvalidToken || e.message != msgMissingIfMatch {
		t.Errorf("PATCH without If-Match: %+v", e)
	}
	w, e = serve(t, m, "PATCH", root+"/subscriptions('"+id+"')", `{"clientState":"s2"}`, etag, "api/v2.0", id)
	if e != nil || w.Code != 200 {
		t.Fatalf("PATCH: %+v %s", e, w.Body)
	}
	patched := decodeMap(t, w)
	if patched["clientState"] != "s2" || patched["@odata.etag"] == etag {
		t.Errorf("PATCH result %s", w.Body)
	}
	if h := rc.lastHandshake(); h.Body != "s2" || rc.handshakeCount() != 2 {
		t.Errorf("PATCH handshake %+v (count %d)", h, rc.handshakeCount())
	}
	w, e = serve(t, m, "PATCH", root+"/subscriptions('"+id+"')", "", "*", "api/v2.0", id)
	if e != nil || w.Code != 200 {
		t.Errorf("PATCH with empty body (plain renewal): %+v %s", e, w.Body)
	}

	_, e = serve(t, m, "DELETE", root+"/subscriptions('"+id+"')", "", etag, "api/v2.0", id)
	if e == nil || e.status != 412 || e.code != CodeEntityChanged {
		t.Errorf("DELETE with the pre-PATCH etag: %+v", e)
	}
	w, e = serve(t, m, "DELETE", root+"/subscriptions('"+id+"')", "", "*", "api/v2.0", id)
	if e != nil || w.Code != http.StatusNoContent || w.Body.Len() != 0 {
		t.Errorf("DELETE: %d %+v", w.Code, e)
	}
	_, e = serve(t, m, "GET", root+"/subscriptions('"+id+"')", "", "", "api/v2.0", id)
	if e == nil || e.status != 404 || e.code != CodeNotFound {
		t.Errorf("GET after DELETE: %+v", e)
	}
}

func TestHandleErrors(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t)
	m := newManager(t, rc, Config{})
	custom := "api/contoso/app/v1.0"
	tests := []struct {
		name, method, body, prefix, id string
		status                         int
		code, msg                      string
	}{
		{"PATCH on collection", "PATCH", "{}", "api/v2.0", "", 405, CodeMethodNotAllowed,
			"'PATCH' requests for 'subscriptions' of EdmType 'Collection' are not allowed within Dynamics 365 Business Central OData web services."},
		{"POST on entity", "POST", "{}", "api/v2.0", "abc", 405, CodeMethodNotAllowed, "of EdmType 'Entity' are not allowed"},
		{"invalid JSON", "POST", `{"notificationUrl":`, "api/v2.0", "", 400, CodeBadRequest, "Invalid Request Body"},
		{"array body", "POST", `[]`, "api/v2.0", "", 400, CodeBadRequest, "Invalid Request Body"},
		{"empty POST body", "POST", ``, "api/v2.0", "", 400, CodeBadRequest, "Invalid Request Body"},
		{"unknown property", "POST", `{"notificationUrl":"https://x/y","resource":"` + custRes + `","changeType":"updated"}`, "api/v2.0", "", 400, CodeBadRequest,
			"The property 'changeType' does not exist on type 'Microsoft.NAV.subscriptions'."},
		{"number for a string", "POST", `{"notificationUrl":42}`, "api/v2.0", "", 400, CodeBadRequest, "'notificationUrl' must be a JSON string"},
		{"missing notificationUrl", "POST", `{"resource":"` + custRes + `"}`, "api/v2.0", "", 400, CodeRequiredParam, "Field 'notificationUrl' must not be blank or empty."},
		{"resource on another route", "POST", `{"notificationUrl":"` + rc.url() + `","resource":"` + custRes + `"}`, custom, "", 400, CodeBadRequest,
			"uses the API route 'api/v2.0' but the subscription was posted to 'api/contoso/app/v1.0/subscriptions'"},
		{"unknown id", "DELETE", "", "api/v2.0", "0123", 404, CodeNotFound, "'0123' does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, e := serve(t, m, tt.method, root+"/subscriptions", tt.body, "*", tt.prefix, tt.id)
			if e == nil {
				t.Fatal("no error written")
			}
			if e.status != tt.status || e.code != tt.code || !strings.Contains(e.message, tt.msg) {
				t.Errorf("got %d %s %q, want %d %s containing %q", e.status, e.code, e.message, tt.status, tt.code, tt.msg)
			}
		})
	}
	if n := rc.handshakeCount(); n != 0 {
		t.Errorf("%d handshakes for refused requests", n)
	}
}

func TestHandleCustomAPIRelativeResource(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t)
	var validated string
	m := newManager(t, rc, Config{ValidateResource: func(r string) error { validated = r; return nil }})
	url := "https://bc.example/v2.0/Production/api/contoso/app/v1.0/subscriptions"
	w, e := serve(t, m, "POST", url, `{"notificationUrl":"`+rc.url()+`","resource":"companies(`+company+`)/widgets"}`, "", "/api/contoso/app/v1.0/", "")
	if e != nil || w.Code != 201 {
		t.Fatalf("%+v %s", e, w.Body)
	}
	if validated != "api/contoso/app/v1.0/companies("+company+")/widgets" {
		t.Errorf("ValidateResource got %q", validated)
	}
	created := decodeMap(t, w)
	if got := created["@odata.context"]; got != "https://bc.example/v2.0/Production/api/contoso/app/v1.0/$metadata#subscriptions/$entity" {
		t.Errorf("@odata.context %v", got)
	}
	// Renewing through the Go API keeps resolving the relative resource on the custom route.
	validated = ""
	if _, err := m.Renew(context.Background(), created["subscriptionId"].(string), "*"); err != nil {
		t.Fatal(err)
	}
	if validated != "api/contoso/app/v1.0/companies("+company+")/widgets" {
		t.Errorf("after renew ValidateResource got %q", validated)
	}
}

func TestHandleDefaultErrorWriter(t *testing.T) {
	t.Parallel()
	m := newManager(t, nil, Config{})
	r := httptest.NewRequest("DELETE", root+"/subscriptions('x')", nil)
	w := httptest.NewRecorder()
	m.Handle(w, r, owner, "api/v2.0", "x", nil)
	if w.Code != http.StatusNotFound {
		t.Fatalf("status %d", w.Code)
	}
	var body struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Error.Code != CodeNotFound || body.Error.Message == "" {
		t.Errorf("body %s (%v)", w.Body, err)
	}
}

func TestParseSubscriptionBody(t *testing.T) {
	t.Parallel()
	str := func(s string) *string { return &s }
	tests := []struct {
		name       string
		in         string
		allowEmpty bool
		want       subscriptionBody
		errPart    string
	}{
		{"all three", `{"notificationUrl":"https://a/b","resource":"r","clientState":"c"}`, false, subscriptionBody{str("https://a/b"), str("r"), str("c")}, ""},
		{"BOM", "\xef\xbb\xbf{\"resource\":\"r\"}", false, subscriptionBody{Resource: str("r")}, ""},
		{"nulls are absent", `{"notificationUrl":null,"clientState":null}`, false, subscriptionBody{}, ""},
		{"empty string kept", `{"clientState":""}`, false, subscriptionBody{ClientState: str("")}, ""},
		{"read-only ignored", `{"subscriptionId":"x","userId":"u","expirationDateTime":"2020-01-01T00:00:00Z","timestamp":5}`, false, subscriptionBody{}, ""},
		{"annotations ignored", `{"@odata.etag":"W/\"x\"","resource@odata.type":"#x"}`, false, subscriptionBody{}, ""},
		{"empty PATCH", "  ", true, subscriptionBody{}, ""},
		{"empty POST", "", false, subscriptionBody{}, "it is empty"},
		{"null", "null", false, subscriptionBody{}, "got null"},
		{"array", "[1]", false, subscriptionBody{}, "expected a JSON object"},
		{"string", `"x"`, false, subscriptionBody{}, "expected a JSON object"},
		{"truncated", `{"resource":"r"`, false, subscriptionBody{}, "Invalid Request Body"},
		{"trailing data", `{"resource":"r"} {}`, false, subscriptionBody{}, "unexpected data after"},
		{"unknown property", `{"foo":1}`, false, subscriptionBody{}, "The property 'foo' does not exist"},
		{"bool for string", `{"resource":true}`, false, subscriptionBody{}, "'resource' must be a JSON string"},
		{"object for string", `{"clientState":{}}`, false, subscriptionBody{}, "'clientState' must be a JSON string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseSubscriptionBody([]byte(tt.in), tt.allowEmpty)
			if tt.errPart != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errPart) {
					t.Fatalf("error %v, want one containing %q", err, tt.errPart)
				}
				asError(t, err, 400, CodeBadRequest)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !eqPtr(got.NotificationURL, tt.want.NotificationURL) || !eqPtr(got.Resource, tt.want.Resource) || !eqPtr(got.ClientState, tt.want.ClientState) {
				t.Errorf("got %s, want %s", show(got), show(tt.want))
			}
		})
	}
}

func eqPtr(a, b *string) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

func show(b subscriptionBody) string {
	f := func(p *string) string {
		if p == nil {
			return "<nil>"
		}
		return *p
	}
	return f(b.NotificationURL) + "|" + f(b.Resource) + "|" + f(b.ClientState)
}
