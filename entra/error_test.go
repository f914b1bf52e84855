package entra

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/secret"
)

// entraBody is a real-shaped Entra error body (bc-entra-facts §1.3).
const entraBody = `{"error":"invalid_client","error_description":"AADSTS7000222: The provided client secret keys for app 'a1' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.\r\nTrace ID: 0e379a04-9936-453b-9f89-6ae6c8e76cbc\r\nCorrelation ID: d7b59a57-a8bd-464a-a827-63289df0afed\r\nTimestamp: 2026-11-26 11:33:50Z","error_codes":[7000222],"timestamp":"2026-11-26 11:33:50Z","trace_id":"0e379a04-9936-453b-9f89-6ae6c8e76cbc","correlation_id":"d7b59a57-a8bd-464a-a827-63289df0afed","error_uri":"https://login.microsoftonline.com/error?code=7000222"}`

func TestWireError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                   string
		status                 int
		body                   string
		scenario               Scenario
		codes                  []int
		errorCode, description string
		trace, corr, timestamp string
		errorText              string
	}{
		{
			name: "entra shape", status: 401, body: entraBody, scenario: ScenarioSecretExpired, codes: []int{7000222},
			errorCode:   "invalid_client",
			description: "AADSTS7000222: The provided client secret keys for app 'a1' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.",
			trace:       "0e379a04-9936-453b-9f89-6ae6c8e76cbc", corr: "d7b59a57-a8bd-464a-a827-63289df0afed", timestamp: "2026-11-26 11:33:50Z",
			errorText: "AADSTS7000222: The provided client secret keys for app 'a1' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds. (trace ID 0e379a04-9936-453b-9f89-6ae6c8e76cbc, correlation ID d7b59a57-a8bd-464a-a827-63289df0afed)",
		},
		{
			// Newer responses separate the trailer with spaces; IDs only in the description.
			name: "space separated, ids only in description", status: 400,
			body:     `{"error":"invalid_tenant","error_description":"AADSTS90002: Tenant 'x' not found. Trace ID: 11111111-1111-1111-1111-111111111111 Correlation ID: 22222222-2222-2222-2222-222222222222 Timestamp: 2026-01-09 02:02:12Z","error_codes":[90002]}`,
			scenario: ScenarioTenantUnknown, codes: []int{90002}, errorCode: "invalid_tenant",
			description: "AADSTS90002: Tenant 'x' not found.",
			trace:       "11111111-1111-1111-1111-111111111111", corr: "22222222-2222-2222-2222-222222222222", timestamp: "2026-01-09 02:02:12Z",
			errorText: "AADSTS90002: Tenant 'x' not found. (trace ID 11111111-1111-1111-1111-111111111111, correlation ID 22222222-2222-2222-2222-222222222222)",
		},
		{
			name: "codes only in the description", status: 400,
			body:     `{"error":"unauthorized_client","error_description":"AADSTS700016: Application with identifier 'x' was not found in the directory 'y'."}`,
			scenario: ScenarioClientUnknown, codes: []int{700016}, errorCode: "unauthorized_client",
			description: "AADSTS700016: Application with identifier 'x' was not found in the directory 'y'.",
			errorText:   "AADSTS700016: Application with identifier 'x' was not found in the directory 'y'.",
		},
		{
			name: "missing service principal (consent revoked)", status: 400,
			body:     `{"error":"invalid_client","error_description":"AADSTS7000229: The client application x is missing service principal in the tenant y.","error_codes":[7000229]}`,
			scenario: ScenarioServicePrincipalMissing, codes: []int{7000229}, errorCode: "invalid_client",
			description: "AADSTS7000229: The client application x is missing service principal in the tenant y.",
			errorText:   "AADSTS7000229: The client application x is missing service principal in the tenant y.",
		},
		{
			name: "codes as strings, first unknown", status: 400,
			body:     `{"error":"invalid_resource","error_codes":["1", 500011, {"x":1}],"trace_id":"t"}`,
			scenario: ScenarioBCNotProvisioned, codes: []int{1, 500011}, errorCode: "invalid_resource",
			description: "AADSTS1 (invalid_resource)", trace: "t",
			errorText: "AADSTS1 (invalid_resource) (trace ID t)",
		},
		{
			name: "connector bug is unknown", status: 400,
			body:     `{"error":"invalid_scope","error_description":"AADSTS1002012: The provided value for scope x is not valid.","error_codes":[1002012]}`,
			scenario: ScenarioUnknown, codes: []int{1002012}, errorCode: "invalid_scope",
			description: "AADSTS1002012: The provided value for scope x is not valid.",
			errorText:   "AADSTS1002012: The provided value for scope x is not valid.",
		},
		{
			name: "entra transient 503", status: 503,
			body:     `{"error":"temporarily_unavailable","error_description":"AADSTS90033: A transient error has occurred.","error_codes":[90033]}`,
			scenario: ScenarioNetwork, codes: []int{90033}, errorCode: "temporarily_unavailable",
			description: "AADSTS90033: A transient error has occurred.",
			errorText:   "AADSTS90033: A transient error has occurred.",
		},
		{
			name: "unknown code on 500 is network", status: 500,
			body:     `{"error":"server_error","error_description":"AADSTS50000: There was an error issuing a token.","error_codes":[50000]}`,
			scenario: ScenarioNetwork, codes: []int{50000}, errorCode: "server_error",
			description: "AADSTS50000: There was an error issuing a token.",
			errorText:   "AADSTS50000: There was an error issuing a token.",
		},
		{
			name: "html from a proxy", status: 502,
			body:        "<html>\r\n  <body>\tBad\x00 gateway</body>\n</html>",
			scenario:    ScenarioNetwork,
			description: "Entra answered HTTP 502 Bad Gateway: <html> <body> Bad gateway</body> </html>",
			errorText:   "Entra answered HTTP 502 Bad Gateway: <html> <body> Bad gateway</body> </html>",
		},
		{
			name: "empty 429", status: 429, body: "  ", scenario: ScenarioNetwork,
			description: "Entra answered HTTP 429 Too Many Requests",
			errorText:   "Entra answered HTTP 429 Too Many Requests",
		},
		{
			name: "json array", status: 400, body: `[1,2]`, scenario: ScenarioUnknown,
			description: "Entra answered HTTP 400 Bad Request: [1,2]",
			errorText:   "Entra answered HTTP 400 Bad Request: [1,2]",
		},
		{
			name: "json object of another shape", status: 404, body: `{"error":{"code":"NotFound"}}`, scenario: ScenarioUnknown,
			description: `Entra answered HTTP 404 Not Found: {"error":{"code":"NotFound"}}`,
			errorText:   `Entra answered HTTP 404 Not Found: {"error":{"code":"NotFound"}}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := wireError(tc.status, []byte(tc.body))
			if e.StatusCode != tc.status || e.Scenario != tc.scenario || !slices.Equal(e.Codes, tc.codes) ||
				e.ErrorCode != tc.errorCode || e.Description != tc.description {
				t.Errorf("got status %d scenario %q codes %v error %q\n description %q\nwant %d %q %v %q\n description %q",
					e.StatusCode, e.Scenario, e.Codes, e.ErrorCode, e.Description, tc.status, tc.scenario, tc.codes, tc.errorCode, tc.description)
			}
			if e.TraceID != tc.trace || e.CorrelationID != tc.corr || e.Timestamp != tc.timestamp {
				t.Errorf("ids %q %q %q, want %q %q %q", e.TraceID, e.CorrelationID, e.Timestamp, tc.trace, tc.corr, tc.timestamp)
			}
			if e.Error() != tc.errorText {
				t.Errorf("Error() = %q\nwant      %q", e.Error(), tc.errorText)
			}
		})
	}
}

func TestWireErrorLongBody(t *testing.T) {
	t.Parallel()
	e := wireError(502, []byte(strings.Repeat("x", 10000)))
	if n := len([]rune(e.Description)); n > 220 || !strings.HasSuffix(e.Description, "…") {
		t.Errorf("description of a 10 kB body is %d runes: %q", n, e.Description)
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		codes []int
		want  Scenario
	}{
		{nil, ScenarioUnknown},
		{[]int{90002}, ScenarioTenantUnknown},
		{[]int{900023}, ScenarioTenantMalformed},
		{[]int{9001023}, ScenarioTenantMalformed},
		{[]int{700016}, ScenarioClientUnknown},
		{[]int{7000215}, ScenarioSecretWrong},
		{[]int{7000218}, ScenarioSecretWrong},
		{[]int{7000222}, ScenarioSecretExpired},
		{[]int{7000112}, ScenarioAppDisabled},
		{[]int{500011}, ScenarioBCNotProvisioned},
		{[]int{500014}, ScenarioBCNotProvisioned},
		{[]int{90033}, ScenarioNetwork},
		{[]int{1002012}, ScenarioUnknown},
		{[]int{53003}, ScenarioUnknown},
		{[]int{1, 7000222, 90002}, ScenarioSecretExpired}, // first known code wins
	}
	for _, tc := range tests {
		if got := Classify(tc.codes); got != tc.want {
			t.Errorf("Classify(%v) = %q, want %q", tc.codes, got, tc.want)
		}
	}
}

func TestErrorText(t *testing.T) {
	t.Parallel()
	cause := errors.New("cause")
	tests := []struct {
		e    *Error
		want string
	}{
		{&Error{Codes: []int{7000215}, TraceID: "t"}, "AADSTS7000215 (trace ID t)"},
		{&Error{Codes: []int{7000215}, ErrorCode: "invalid_client", CorrelationID: "c"}, "AADSTS7000215 (invalid_client) (correlation ID c)"},
		{&Error{StatusCode: 400}, "Entra answered HTTP 400"},
		{&Error{}, "token request failed"},
		{&Error{Description: "cannot reach Entra at h: refused", Err: cause}, "cannot reach Entra at h: refused"},
	}
	for _, tc := range tests {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
	e := &Error{Err: cause}
	if !errors.Is(e, cause) || e.AADSTS() != 0 {
		t.Error("Unwrap or AADSTS wrong on an empty error")
	}
	var buf strings.Builder
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "err", wireError(401, []byte(entraBody)))
	var line struct {
		Err struct {
			Scenario string `json:"scenario"`
			Status   int    `json:"status"`
			Codes    []int  `json:"codes"`
		} `json:"err"`
	}
	if err := json.Unmarshal([]byte(buf.String()), &line); err != nil || line.Err.Scenario != "secret-expired" ||
		line.Err.Status != 401 || !slices.Equal(line.Err.Codes, []int{7000222}) {
		t.Errorf("LogValue: %s", buf.String())
	}
}

func TestRefreshTime(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name           string
		exp, refreshOn time.Time
		want           time.Time
	}{
		{"hour token: 5 min margin", now.Add(time.Hour), time.Time{}, now.Add(55 * time.Minute)},
		{"4 min token: half life", now.Add(4 * time.Minute), time.Time{}, now.Add(2 * time.Minute)},
		{"refresh_in earlier", now.Add(2 * time.Hour), now.Add(time.Hour), now.Add(time.Hour)},
		{"refresh_in later is ignored", now.Add(time.Hour), now.Add(58 * time.Minute), now.Add(55 * time.Minute)},
		{"refresh_in past is ignored", now.Add(time.Hour), now.Add(-time.Minute), now.Add(55 * time.Minute)},
	}
	for _, tc := range tests {
		if got := refreshTime(now, tc.exp, tc.refreshOn); !got.Equal(tc.want) {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestRedaction(t *testing.T) {
	t.Parallel()
	const secret, token = "Abc8Q~very-secret-value", "eyJ0eXAi.payload.signature"
	cfg := Config{TenantID: "t", ClientID: "c", Secret: secret}
	tok := AccessToken{Token: token, ExpiresOn: time.Unix(1e9, 0)}
	var buf strings.Builder
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "cfg", cfg, "tok", tok)
	js, err := json.Marshal(tok)
	if err != nil {
		t.Fatal(err)
	}
	out := buf.String() + string(js)
	for _, v := range []any{cfg, &cfg, tok, &tok, []any{cfg, tok}, struct{ C Config }{cfg}} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
			out += fmt.Sprintf(verb, v)
		}
	}
	if strings.Contains(out, secret) || strings.Contains(out, token) || strings.Count(out, redacted) < 10 {
		t.Errorf("secret or token printed:\n%s", out)
	}
	if !strings.Contains(out, "2001-09-09") {
		t.Errorf("expiry lost from printed token: %s", out)
	}
}

// TestCertificateErrors: each refusal of a client assertion maps to its own scenario, and
// AADSTS700027's three reasons are told apart by the description (wordings as Entra and the
// emulator send them, auth-jobs-delivery-facts §1).
func TestCertificateErrors(t *testing.T) {
	t.Parallel()
	body := func(code int, desc string) []byte {
		b, _ := json.Marshal(map[string]any{"error": "invalid_client", "error_codes": []int{code},
			"error_description": fmt.Sprintf("AADSTS%d: %s\r\nTrace ID: 0e379a04-9936-453b-9f89-6ae6c8e76cbc\r\nCorrelation ID: d7b59a57-a8bd-464a-a827-63289df0afed\r\nTimestamp: 2026-11-26 11:33:50Z", code, desc)})
		return b
	}
	for _, tc := range []struct {
		code int
		desc string
		want Scenario
	}{
		{700027, "The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: 'AB12', Please visit the Azure Portal …]", ScenarioCertificateUnknown},
		{700027, "Client assertion contains an invalid signature. [Reason - The key used is expired., Thumbprint of key used by client: 'AB12', Found key 'Start=09/10/2025 11:07:21, End=09/10/2026 11:07:21']", ScenarioCertificateExpired},
		{700027, "Client assertion contains an invalid signature. [Reason - The provided signature value did not match the expected signature value., Thumbprint of key used by client: 'AB12', Found key 'Start=…']", ScenarioCertificateSignature},
		{700027, "Client assertion failed signature validation.", ScenarioCertificateUnknown},
		{50032, "WeakRsaKey - The certificate's RSA key has 1024 bits; keys of at least 2048 bits are required.", ScenarioCertificateWeak},
		{50012, "Client assertion audience claim does not match Realm issuer.", ScenarioAssertionAudience},
		{700024, "Client assertion is not within its valid time range. Current time: 2026-12-03T08:00:00.0000000Z, assertion valid from 2026-12-03T09:00:00.0000000Z, expiry time of assertion 2026-12-03T09:10:00.0000000Z.", ScenarioAssertionTime},
		{50027, "Invalid JWT token. No certificate thumbprint specified in token header.", ScenarioAssertionInvalid},
		{50048, "Subject mismatches Issuer claim in the client assertion. Contact the tenant admin.", ScenarioAssertionInvalid},
		{700021, "Client assertion application identifier doesn't match 'client_id' parameter.", ScenarioAssertionInvalid},
	} {
		e := wireError(401, body(tc.code, tc.desc))
		if e.Scenario != tc.want || e.AADSTS() != tc.code || e.Transient() {
			t.Errorf("AADSTS%d %.40q: scenario %s, want %s", tc.code, tc.desc, e.Scenario, tc.want)
		}
	}
}

// TestCertificateConfigRedaction: a Config with a certificate prints its thumbprint, never
// its private key.
func TestCertificateConfigRedaction(t *testing.T) {
	t.Parallel()
	c, err := secret.GenerateCertificate(secret.CertificateOptions{Subject: "x", NotAfter: time.Now().AddDate(1, 0, 0), Bits: 2048})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{TenantID: "t", ClientID: "c", Certificate: &c}
	var buf strings.Builder
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("cfg", "cfg", cfg)
	for _, out := range []string{fmt.Sprint(cfg), fmt.Sprintf("%#v", cfg), fmt.Sprintf("%+v", cfg), buf.String()} {
		if strings.Contains(out, c.Key.Reveal()[:40]) || !strings.Contains(out, c.Thumbprint()) {
			t.Errorf("config printed as %.200q", out)
		}
	}
}
