package idp

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzTokenRequest: whatever the body and Authorization header, the token endpoints answer
// with a JSON object carrying either error or access_token, never panic, never 5xx.
func FuzzTokenRequest(f *testing.F) {
	f.Add("grant_type=client_credentials&client_id="+goodClient+"&client_secret="+goodSecret+"&scope="+BCDefaultScope, "", false)
	f.Add("grant_type=client_credentials&client_id="+goodClient+"&scope="+BCDefaultScope+"+openid", "Basic "+goodClient, false)
	f.Add("grant_type=client_credentials&resource="+BCResourceURI+"&client_id="+goodClient+"&client_secret=x", "", true)
	f.Add("scope=%zz&client_id=;&grant_type=client_credentials", "Basic !!!", false)
	f.Add("client_assertion=abc&client_id="+disabledApp+"&grant_type=client_credentials&scope="+BCResourceID+"/.default", "", false)
	f.Add(strings.Repeat("a=b&", 20000), "", false)

	fx := setup(f)
	f.Fuzz(func(t *testing.T, body, auth string, v1 bool) {
		path := tokenPath(tenantID)
		if v1 {
			path = "/" + tenantID + "/oauth2/token"
		}
		r := httptest.NewRequest(http.MethodPost, "https://emulator.test"+path, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if auth != "" {
			r.Header["Authorization"] = []string{auth}
		}
		w := httptest.NewRecorder()
		fx.s.ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Fatalf("status %d for %q", w.Code, body)
		}
		var m map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
			t.Fatalf("body not JSON (%v): %q", err, w.Body)
		}
		_, isErr := m["error"]
		_, isTok := m["access_token"]
		if isErr == isTok {
			t.Fatalf("want exactly one of error/access_token: %s", w.Body)
		}
		if isTok != (w.Code == 200) {
			t.Fatalf("status %d with body %s", w.Code, w.Body)
		}
	})
}
