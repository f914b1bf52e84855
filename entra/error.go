package entra

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Scenario names the setup scenario of PRODUCT.md ("The setup scenarios") that an Entra
// failure points to, so the doctor can name the guide step and the fix. Scenarios that
// Entra cannot see (missing consent, the BC side) never appear here: Entra issues a token
// for them, and ParseClaims or the bc client tells them apart.
type Scenario string

// The scenarios an Entra failure can point to. The values match the emulator's scenario
// names; "secret-id-instead-of-value" is ScenarioSecretWrong on the wire (same AADSTS7000215).
const (
	// ScenarioTenantUnknown: the Directory (tenant) ID names no tenant (AADSTS90002).
	ScenarioTenantUnknown Scenario = "tenant-unknown"
	// ScenarioTenantMalformed: the tenant ID is neither a GUID nor a domain (AADSTS900023,
	// or caught before any request), or names no specific tenant (common/organizations/
	// consumers, AADSTS9001023).
	ScenarioTenantMalformed Scenario = "tenant-malformed"
	// ScenarioClientUnknown: the Application (client) ID is not registered in the tenant
	// (AADSTS700016), or is not a GUID.
	ScenarioClientUnknown Scenario = "client-unknown"
	// ScenarioSecretWrong: the secret is wrong or is the Secret ID instead of its Value
	// (AADSTS7000215), or none was sent (AADSTS7000218).
	ScenarioSecretWrong Scenario = "secret-wrong"
	// ScenarioSecretExpired: the secret is past its end date (AADSTS7000222).
	ScenarioSecretExpired Scenario = "secret-expired"
	// ScenarioCertificateUnknown: no certificate of the app has the thumbprint of the key
	// that signed the client assertion (AADSTS700027 "The key was not found"): the .cer was
	// not uploaded, or to another app. Also a certificate that cannot be used at all.
	ScenarioCertificateUnknown Scenario = "certificate-unknown"
	// ScenarioCertificateExpired: the app's certificate is outside its start and end dates
	// (AADSTS700027 "The key used is expired").
	ScenarioCertificateExpired Scenario = "certificate-expired"
	// ScenarioCertificateSignature: the certificate with the thumbprint is registered but
	// the assertion's signature does not verify with its key (AADSTS700027 "The provided
	// signature value did not match"): the key bcconnector holds is not the certificate's.
	ScenarioCertificateSignature Scenario = "certificate-signature"
	// ScenarioCertificateWeak: the uploaded certificate's RSA key is too small
	// (AADSTS50032 WeakRsaKey).
	ScenarioCertificateWeak Scenario = "certificate-weak"
	// ScenarioAssertionAudience: the assertion's audience is not the token endpoint Entra
	// answered on (AADSTS50012): the authority host or tenant differs from the one the
	// assertion was made for (a proxy, another cloud).
	ScenarioAssertionAudience Scenario = "assertion-audience"
	// ScenarioAssertionTime: the assertion is not within its valid time range (AADSTS700024):
	// the clock of the machine running bcconnector is off.
	ScenarioAssertionTime Scenario = "assertion-time"
	// ScenarioAssertionInvalid: Entra could not read the assertion or its issuer, subject
	// and client ID disagree (AADSTS50027, 50048, 700021).
	ScenarioAssertionInvalid Scenario = "assertion-invalid"
	// ScenarioServicePrincipalMissing: the app has no service principal in the tenant any
	// more (AADSTS7000229): a multi-tenant app whose enterprise application was deleted,
	// i.e. consent revoked (auth-jobs-delivery-facts §2).
	ScenarioServicePrincipalMissing Scenario = "service-principal-missing"
	// ScenarioAppDisabled: the app's service principal is disabled in the tenant
	// (AADSTS7000112).
	ScenarioAppDisabled Scenario = "app-disabled"
	// ScenarioBCNotProvisioned: the tenant has no Business Central service principal
	// (AADSTS500011) or it is disabled (AADSTS500014).
	ScenarioBCNotProvisioned Scenario = "bc-not-provisioned"
	// ScenarioNetwork: Entra could not be reached or did not answer usefully: DNS, TCP,
	// TLS, timeouts, Entra's transient and throttling errors (AADSTS90033, AADSTS90055)
	// and any HTTP 429/5xx no other scenario explains. Retrying later may help.
	ScenarioNetwork Scenario = "network"
	// ScenarioUnknown: any other failure; the AADSTS codes and description say more.
	ScenarioUnknown Scenario = "unknown"
)

// scenarioByCode maps AADSTS codes to setup scenarios (bc-entra-facts §1.4). Microsoft warns
// that codes and texts change, which is why Error keeps the description and IDs as well.
var scenarioByCode = map[int]Scenario{
	90002:   ScenarioTenantUnknown,           // tenant not found (also the empty GUID)
	900023:  ScenarioTenantMalformed,         // neither a valid DNS name nor a GUID
	9001023: ScenarioTenantMalformed,         // grant over /common or /consumers: no specific tenant
	700016:  ScenarioClientUnknown,           // application not found in the directory
	7000229: ScenarioServicePrincipalMissing, // missing service principal (consent revoked)
	7000215: ScenarioSecretWrong,             // invalid client secret (also the Secret ID)
	7000218: ScenarioSecretWrong,             // no client_secret in the request
	7000222: ScenarioSecretExpired,           // client secret keys expired
	7000112: ScenarioAppDisabled,             // application is disabled
	700027:  ScenarioCertificateUnknown,      // assertion key not found (or expired, bad signature: see certificateReason)
	50032:   ScenarioCertificateWeak,         // WeakRsaKey
	50012:   ScenarioAssertionAudience,       // assertion audience does not match the realm
	700024:  ScenarioAssertionTime,           // assertion outside its valid time range
	50027:   ScenarioAssertionInvalid,        // invalid JWT (no thumbprint, bad header, ...)
	50048:   ScenarioAssertionInvalid,        // subject mismatches issuer
	700021:  ScenarioAssertionInvalid,        // assertion's app ID is not client_id
	500011:  ScenarioBCNotProvisioned,        // resource principal not found in the tenant
	500014:  ScenarioBCNotProvisioned,        // resource service principal disabled
	90033:   ScenarioNetwork,                 // "A transient error has occurred"
	90055:   ScenarioNetwork,                 // too many incoming requests
}

// Classify returns the setup scenario of the first AADSTS code it knows, or
// ScenarioUnknown.
func Classify(codes []int) Scenario {
	for _, c := range codes {
		if s, ok := scenarioByCode[c]; ok {
			return s
		}
	}
	return ScenarioUnknown
}

// Error is a failure to obtain a token. For an answer from Entra it keeps what came over
// the wire: the HTTP status, the OAuth error value, the AADSTS codes, the description and
// the trace and correlation IDs that Microsoft support asks for. For a failure before any
// answer (bad configuration, network) StatusCode is 0 and Codes is empty. Its text never
// contains the client secret or a token.
//
// https://learn.microsoft.com/entra/identity-platform/reference-error-codes
type Error struct {
	// StatusCode is the HTTP status of Entra's answer; 0 when there was none.
	StatusCode int
	// ErrorCode is the OAuth "error" value, e.g. "invalid_client". Microsoft advises
	// branching on it rather than on the text (bc-entra-facts §1.3).
	ErrorCode string
	// Codes are the AADSTS numbers of "error_codes", e.g. [7000215].
	Codes []int
	// Description is "error_description" without its trailing Trace ID / Correlation ID /
	// Timestamp lines, e.g. "AADSTS7000215: Invalid client secret provided. …"; for a
	// failure before any answer, what went wrong and what to check.
	Description string
	// TraceID, CorrelationID and Timestamp identify the request for Microsoft support.
	TraceID, CorrelationID, Timestamp string
	// Host is the Entra host that answered or could not be reached.
	Host string
	// Scenario is the setup scenario the failure points to.
	Scenario Scenario
	// Err is the underlying error (azidentity's, or the transport's); may be nil.
	Err error
}

// Error returns the description with the trace and correlation IDs, e.g.
// "AADSTS7000215: Invalid client secret provided. … (trace ID …, correlation ID …)".
func (e *Error) Error() string {
	msg := e.Description
	if msg == "" {
		switch {
		case len(e.Codes) > 0:
			msg = fmt.Sprintf("AADSTS%d", e.Codes[0])
		case e.StatusCode != 0:
			msg = fmt.Sprintf("Entra answered HTTP %d", e.StatusCode)
		default:
			msg = "token request failed"
		}
		if e.ErrorCode != "" {
			msg += " (" + e.ErrorCode + ")"
		}
	}
	var ids []string
	if e.TraceID != "" {
		ids = append(ids, "trace ID "+e.TraceID)
	}
	if e.CorrelationID != "" {
		ids = append(ids, "correlation ID "+e.CorrelationID)
	}
	if len(ids) > 0 {
		msg += " (" + strings.Join(ids, ", ") + ")"
	}
	return msg
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// AADSTS returns the first AADSTS code, or 0 when there is none.
func (e *Error) AADSTS() int {
	if len(e.Codes) == 0 {
		return 0
	}
	return e.Codes[0]
}

// Transient reports whether retrying later may succeed without anyone changing the setup:
// network failures and Entra's 429/5xx answers.
func (e *Error) Transient() bool {
	return e.Scenario == ScenarioNetwork
}

// LogValue logs the wire facts of the error as a group.
func (e *Error) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.String("scenario", string(e.Scenario)),
		slog.String("message", e.Error()),
	}
	if e.StatusCode != 0 {
		attrs = append(attrs, slog.Int("status", e.StatusCode))
	}
	if e.ErrorCode != "" {
		attrs = append(attrs, slog.String("errorCode", e.ErrorCode))
	}
	if len(e.Codes) > 0 {
		attrs = append(attrs, slog.Any("codes", e.Codes))
	}
	if e.Host != "" {
		attrs = append(attrs, slog.String("host", e.Host))
	}
	if e.Timestamp != "" {
		attrs = append(attrs, slog.String("timestamp", e.Timestamp))
	}
	return slog.GroupValue(attrs...)
}

// wireError builds the Error for an HTTP answer from Entra with the given status and body.
// Entra's error shape (bc-entra-facts §1.3): {error, error_description:"AADSTSnnnn: …\r\n
// Trace ID: …\r\nCorrelation ID: …\r\nTimestamp: …", error_codes, timestamp, trace_id,
// correlation_id, error_uri}. A body of another shape (a proxy's HTML page, an empty 503)
// still yields an Error, classified by status.
func wireError(status int, body []byte) *Error {
	e := &Error{StatusCode: status}
	var b struct {
		Error            json.RawMessage `json:"error"`
		ErrorDescription json.RawMessage `json:"error_description"`
		ErrorCodes       json.RawMessage `json:"error_codes"`
		Timestamp        json.RawMessage `json:"timestamp"`
		TraceID          json.RawMessage `json:"trace_id"`
		CorrelationID    json.RawMessage `json:"correlation_id"`
	}
	trimmed := bytes.TrimSpace(body)
	parsed := len(trimmed) > 0 && trimmed[0] == '{' && json.Unmarshal(trimmed, &b) == nil
	if parsed {
		e.ErrorCode = jsonString(b.Error)
		e.Codes = jsonCodes(b.ErrorCodes)
		e.Timestamp = jsonString(b.Timestamp)
		e.TraceID = jsonString(b.TraceID)
		e.CorrelationID = jsonString(b.CorrelationID)
		desc, trace, corr, ts := splitDescription(jsonString(b.ErrorDescription))
		e.Description = desc
		e.TraceID = firstNonEmpty(e.TraceID, trace)
		e.CorrelationID = firstNonEmpty(e.CorrelationID, corr)
		e.Timestamp = firstNonEmpty(e.Timestamp, ts)
		if len(e.Codes) == 0 {
			if c, ok := leadingAADSTS(desc); ok {
				e.Codes = []int{c}
			}
		}
		if e.Description == "" && len(e.Codes) > 0 {
			e.Description = fmt.Sprintf("AADSTS%d", e.Codes[0])
			if e.ErrorCode != "" {
				e.Description += " (" + e.ErrorCode + ")"
			}
		}
	}
	if e.Description == "" {
		e.Description = fmt.Sprintf("Entra answered HTTP %d %s", status, http.StatusText(status))
		if snippet := printableSnippet(trimmed, 160); snippet != "" {
			e.Description += ": " + snippet
		}
	}
	e.Scenario = certificateReason(Classify(e.Codes), e.Description)
	if e.Scenario == ScenarioUnknown && (status == http.StatusTooManyRequests || status >= 500) {
		e.Scenario = ScenarioNetwork
	}
	return e
}

// certificateReason tells apart the three causes Entra reports under one AADSTS700027 by
// the "[Reason - …]" of its description (auth-jobs-delivery-facts §1); other scenarios pass.
func certificateReason(sc Scenario, desc string) Scenario {
	if sc != ScenarioCertificateUnknown {
		return sc
	}
	switch {
	case strings.Contains(desc, "The key used is expired"):
		return ScenarioCertificateExpired
	case strings.Contains(desc, "signature value did not match"):
		return ScenarioCertificateSignature
	}
	return sc
}

// jsonString returns raw as a string if it is a JSON string, else "".
func jsonString(raw json.RawMessage) string {
	var s string
	if len(raw) == 0 || json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// jsonCodes reads error_codes: an array of integers (Entra's form) or of numeric strings.
// Entries that are neither are skipped.
func jsonCodes(raw json.RawMessage) []int {
	var items []json.RawMessage
	if len(raw) == 0 || json.Unmarshal(raw, &items) != nil {
		return nil
	}
	var codes []int
	for _, it := range items {
		var n json.Number
		if json.Unmarshal(it, &n) != nil {
			continue
		}
		if c, err := strconv.Atoi(n.String()); err == nil && c >= 0 {
			codes = append(codes, c)
		}
	}
	return codes
}

// splitDescription separates Entra's error_description into the message and its trailing
// "Trace ID: …", "Correlation ID: …" and "Timestamp: …" parts, which come after "\r\n" or,
// in newer responses, after a space (bc-entra-facts §1.3).
func splitDescription(d string) (msg, trace, corr, ts string) {
	i := strings.Index(d, "Trace ID:")
	if i < 0 {
		return strings.TrimSpace(d), "", "", ""
	}
	msg = strings.TrimSpace(d[:i])
	rest := d[i:]
	field := func(label, stop string) string {
		j := strings.Index(rest, label)
		if j < 0 {
			return ""
		}
		v := strings.TrimLeft(rest[j+len(label):], " \t")
		if k := strings.IndexAny(v, stop); k >= 0 {
			v = v[:k]
		}
		return strings.TrimSpace(v)
	}
	// IDs are GUIDs and end at any space; the timestamp contains one and ends the line.
	return msg, field("Trace ID:", " \t\r\n"), field("Correlation ID:", " \t\r\n"), field("Timestamp:", "\r\n")
}

// leadingAADSTS parses the code of a description that starts "AADSTSnnnn:".
func leadingAADSTS(d string) (int, bool) {
	rest, ok := strings.CutPrefix(d, "AADSTS")
	if !ok {
		return 0, false
	}
	n := 0
	for n < len(rest) && n < 9 && rest[n] >= '0' && rest[n] <= '9' {
		n++
	}
	if n == 0 {
		return 0, false
	}
	c, err := strconv.Atoi(rest[:n])
	return c, err == nil
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// printableSnippet returns up to max runes of b on one line, with control characters
// dropped, for describing a body that is not Entra's JSON (e.g. a proxy's error page).
func printableSnippet(b []byte, max int) string {
	var sb strings.Builder
	n := 0
	space := false
	for len(b) > 0 && n < max {
		r, size := utf8.DecodeRune(b)
		b = b[size:]
		switch {
		case r == utf8.RuneError && size <= 1:
			continue
		case unicode.IsSpace(r):
			space = sb.Len() > 0
			continue
		case !unicode.IsPrint(r):
			continue
		}
		if space {
			sb.WriteByte(' ')
			n++
			space = false
		}
		sb.WriteRune(r)
		n++
	}
	s := sb.String()
	if len(b) > 0 && s != "" {
		s += "…"
	}
	return s
}
