package entra

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzWireError: any status and body from the wire yield an *Error with a known scenario,
// a one-line message and codes consistent with the classification.
func FuzzWireError(f *testing.F) {
	f.Add(401, []byte(entraBody))
	f.Add(400, []byte(`{"error":"invalid_tenant","error_description":"AADSTS90002: Tenant 'x' not found. Trace ID: a Correlation ID: b Timestamp: 2026-01-09 02:02:12Z","error_codes":[90002]}`))
	f.Add(400, []byte(`{"error_description":"AADSTS7000215"}`))
	f.Add(400, []byte(`{"error_codes":["12",-1,1e99,99999999999999999999]}`))
	f.Add(502, []byte("<html>\r\n<body>Bad gateway</body></html>"))
	f.Add(503, []byte{})
	f.Add(200, []byte(`{"error_description":"Trace ID:"}`))
	f.Add(0, []byte("\xff\xfe{"))
	f.Add(401, []byte(`{"error":"invalid_client","error_description":"AADSTS700027: Client assertion contains an invalid signature. [Reason - The key used is expired., Thumbprint of key used by client: 'AB']","error_codes":[700027]}`))
	f.Add(401, []byte(`{"error":"invalid_client","error_description":"AADSTS700024: Client assertion is not within its valid time range.","error_codes":[700024]}`))
	known := []Scenario{ScenarioTenantUnknown, ScenarioTenantMalformed, ScenarioClientUnknown, ScenarioSecretWrong,
		ScenarioSecretExpired, ScenarioAppDisabled, ScenarioBCNotProvisioned, ScenarioNetwork, ScenarioUnknown,
		ScenarioCertificateUnknown, ScenarioCertificateExpired, ScenarioCertificateSignature, ScenarioCertificateWeak,
		ScenarioAssertionAudience, ScenarioAssertionTime, ScenarioAssertionInvalid}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		e := wireError(status, body)
		if !slices.Contains(known, e.Scenario) {
			t.Fatalf("scenario %q", e.Scenario)
		}
		if c := certificateReason(Classify(e.Codes), e.Description); c != ScenarioUnknown && e.Scenario != c {
			t.Fatalf("scenario %q but codes %v classify as %q", e.Scenario, e.Codes, c)
		}
		for _, c := range e.Codes {
			if c < 0 {
				t.Fatalf("negative code %d", c)
			}
		}
		msg := e.Error()
		if msg == "" || e.StatusCode != status {
			t.Fatalf("message %q status %d", msg, e.StatusCode)
		}
		if e.TraceID != strings.TrimSpace(e.TraceID) || e.CorrelationID != strings.TrimSpace(e.CorrelationID) {
			t.Fatalf("untrimmed ids %q %q", e.TraceID, e.CorrelationID)
		}
		if utf8.Valid(body) && !utf8.ValidString(msg) {
			t.Fatalf("invalid UTF-8 message from a valid body: %q", msg)
		}
	})
}

// FuzzParseClaims: any string parses or fails without panicking, and a failure never
// echoes the token or its payload.
func FuzzParseClaims(f *testing.F) {
	f.Add(jwt(`{"tid":"t","appid":"a","aud":"https://api.businesscentral.dynamics.com","roles":["API.ReadWrite.All"],"exp":1764159599}`))
	f.Add(jwt(`{"aud":["a","b"],"exp":1.5,"iat":"1","roles":null}`))
	f.Add(jwt(`{"tid":5,"roles":"x","exp":"soon","nbf":1e300}`))
	f.Add(jwt(`[]`))
	f.Add("a.b.c")
	f.Add("..")
	f.Add("h.eyJ0aWQiOiJhYmMifQ==.s")
	f.Add("")
	f.Fuzz(func(t *testing.T, token string) {
		c, err := ParseClaims(token)
		if err != nil {
			msg := err.Error()
			if len(token) >= 16 && strings.Contains(msg, token) {
				t.Fatalf("error echoes the token: %q", msg)
			}
			if parts := strings.Split(token, "."); len(parts) == 3 && len(parts[1]) >= 16 && strings.Contains(msg, parts[1]) {
				t.Fatalf("error echoes the payload: %q", msg)
			}
			return
		}
		if len(c.Roles) > 0 && !c.HasRolesClaim {
			t.Fatalf("roles %v without HasRolesClaim", c.Roles)
		}
		for _, tm := range []struct {
			name string
			v    int64
		}{{"iat", c.IssuedAt.Unix()}, {"nbf", c.NotBefore.Unix()}, {"exp", c.ExpiresAt.Unix()}} {
			if tm.v > maxNumericDate {
				t.Fatalf("%s beyond year 9999: %d", tm.name, tm.v)
			}
		}
	})
}
