package notify

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
)

// FuzzParseSubscriptionBody feeds arbitrary POST/PATCH bodies to the parser: it must never
// panic, and every refusal must be a 400 BadRequest *Error.
func FuzzParseSubscriptionBody(f *testing.F) {
	for _, s := range []string{
		`{"notificationUrl":"https://a/b","resource":"/api/v2.0/companies(` + company + `)/customers","clientState":"c"}`,
		`{"notificationUrl":null}`, `{"@odata.etag":"W/\"x\""}`, `{"foo":1}`, `[]`, `null`, `{"resource":"\u00e9"}`,
		"\xef\xbb\xbf{}", `{"clientState":"a"} x`, `{"a":`, "",
	} {
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, data []byte, allowEmpty bool) {
		got, err := parseSubscriptionBody(data, allowEmpty)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Status != http.StatusBadRequest || e.Code != CodeBadRequest || e.Message == "" {
				t.Fatalf("error %#v is not a 400 BadRequest *Error", err)
			}
			return
		}
		// Whatever was accepted must be what a plain JSON decoder sees.
		var obj map[string]any
		doc := bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
		if err := json.Unmarshal(doc, &obj); err != nil && len(bytes.TrimSpace(doc)) > 0 {
			t.Fatalf("accepted %q, which encoding/json rejects: %v", data, err)
		}
		for name, p := range map[string]*string{"notificationUrl": got.NotificationURL, "resource": got.Resource, "clientState": got.ClientState} {
			if p != nil && obj[name] != *p {
				t.Fatalf("%s = %q, JSON has %v", name, *p, obj[name])
			}
		}
	})
}

// FuzzParseResource checks the resource parser never panics and that what it accepts
// round-trips through its canonical form.
func FuzzParseResource(f *testing.F) {
	for _, s := range []string{
		custRes, custChanged, "companies(" + company + ")/items", "/api/a/b/v1.0/companies(" + company + ")/x",
		"https://h/v2.0/t/e/api/v2.0/companies(" + company + ")/items", "/api/v2.0/companies()/x", "?", "https://%zz",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ref, err := parseResource(s, defaultAPIPrefix)
		if err != nil {
			return
		}
		again, err := parseResource(ref.canonical(), "")
		if err != nil || again != ref {
			t.Fatalf("%q → %q does not re-parse to itself: %+v, %v", s, ref.canonical(), again, err)
		}
	})
}
