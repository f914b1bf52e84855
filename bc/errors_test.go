package bc

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

const corr = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"

func TestParseError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		status  int
		header  http.Header
		body    string
		code    Code
		message string
		corr    string
		retry   time.Duration
	}{
		{"BC body with correlation suffix", 409, nil,
			`{"error":{"code":"Request_EntityChanged","message":"Another user has already changed the record.  CorrelationId:  ` + corr + `."}}`,
			CodeEntityChanged, "Another user has already changed the record.", corr, 0},
		{"header correlation", 404, http.Header{"Ms-Correlation-X": {corr}},
			`{"error":{"code":"Internal_RecordNotFound","message":"The Customer does not exist."}}`,
			CodeRecordNotFound, "The Customer does not exist.", corr, 0},
		{"BOM and whitespace", 400, nil,
			"\xef\xbb\xbf  {\"error\":{\"code\":\"BadRequest\",\"message\":\"Invalid Request Body  CorrelationId:  " + corr + ".\"}}\n",
			"BadRequest", "Invalid Request Body", corr, 0},
		{"admin center shape", 403, nil,
			`{"code":"EnvironmentAppOperationFailed","message":"The S2S app doesn't have permission."}`,
			"EnvironmentAppOperationFailed", "The S2S app doesn't have permission.", "", 0},
		{"gateway XML", 401, nil,
			`<error xmlns="http://docs.oasis-open.org/odata/ns/metadata"><code>Unauthorized</code><message>The credentials provided are incorrect</message></error>`,
			CodeGatewayUnauthorized, "The credentials provided are incorrect", "", 0},
		{"HTML from a proxy", 502, http.Header{"Retry-After": {"30"}},
			"<html><body>\n<h1>502 Bad Gateway</h1>\n</body></html>",
			"", "<html><body> <h1>502 Bad Gateway</h1> </body></html>", "", 30 * time.Second},
		{"empty body", 503, http.Header{"Retry-After": {"5"}}, "", "", "Service Unavailable", "", 5 * time.Second},
		{"JSON without error", 500, nil, `{"odata.error":1}`, "", "Internal Server Error", "", 0},
		{"not JSON after all", 400, nil, `{oops`, "", "{oops", "", 0},
		{"message with newlines keeps them", 400, nil,
			`{"error":{"code":"Internal_ServerError","message":"You do not have the following permissions on Page APIV2 - Customers: Execute.\r\n\r\nTo view details…  CorrelationId:  ` + corr + `."}}`,
			CodeServerError, "You do not have the following permissions on Page APIV2 - Customers: Execute.\r\n\r\nTo view details…", corr, 0},
	}
	for _, tt := range tests {
		e := ParseError(tt.status, tt.header, []byte(tt.body))
		if e.StatusCode != tt.status || e.Code != tt.code || e.Message != tt.message || e.CorrelationID != tt.corr || e.RetryAfter != tt.retry {
			t.Errorf("%s: got {%d %q %q %q %v}, want {%d %q %q %q %v}", tt.name,
				e.StatusCode, e.Code, e.Message, e.CorrelationID, e.RetryAfter,
				tt.status, tt.code, tt.message, tt.corr, tt.retry)
		}
	}
}

func TestErrorMatching(t *testing.T) {
	t.Parallel()
	perm := "Sorry, the current permissions prevented the action. (TableData 17 G/L Entry Read: BIZZJOINER)"
	tests := []struct {
		name string
		err  *Error
		is   []error
		not  []error
	}{
		{"stale etag 409", &Error{StatusCode: 409, Code: CodeEntityChanged}, []error{ErrConflict}, []error{ErrNotFound, ErrThrottled}},
		{"stale etag 412", &Error{StatusCode: 412, Code: CodeEntityChanged}, []error{ErrConflict}, nil},
		{"not found", &Error{StatusCode: 404, Code: CodeRecordNotFound}, []error{ErrNotFound}, []error{ErrConflict}},
		{"throttled", &Error{StatusCode: 429, Code: CodeTooManyRequests}, []error{ErrThrottled}, []error{ErrAuth}},
		{"queue timeout", &Error{StatusCode: 503}, []error{ErrThrottled}, nil},
		{"auth", &Error{StatusCode: 401, Code: CodeInvalidCredentials}, []error{ErrAuth}, []error{ErrPermission}},
		{"permission 400", &Error{StatusCode: 400, Code: CodeServerError, Message: perm}, []error{ErrPermission}, []error{ErrAuth}},
		{"server error is not permission", &Error{StatusCode: 500, Code: CodeServerError, Message: "SQL timeout"}, nil, []error{ErrPermission}},
		{"exists", &Error{StatusCode: 400, Code: CodeEntityExists}, []error{ErrExists}, []error{ErrConflict}},
	}
	for _, tt := range tests {
		var wrapped error = tt.err
		wrapped = errors.Join(errors.New("context"), wrapped)
		for _, s := range tt.is {
			if !errors.Is(wrapped, s) {
				t.Errorf("%s: errors.Is(%v) = false", tt.name, s)
			}
		}
		for _, s := range tt.not {
			if errors.Is(wrapped, s) {
				t.Errorf("%s: errors.Is(%v) = true", tt.name, s)
			}
		}
	}
	if !IsConflict(&Error{StatusCode: 409}) || !IsNotFound(&Error{StatusCode: 404}) || !IsThrottled(&Error{StatusCode: 429}) ||
		!IsAuth(&Error{StatusCode: 401}) || !IsPermission(&Error{StatusCode: 403}) {
		t.Error("a helper does not match its status")
	}
}

func TestErrorMessageSaysWhatToDo(t *testing.T) {
	t.Parallel()
	e := &Error{StatusCode: 409, Code: CodeEntityChanged, Message: "Another user has already changed the record.",
		CorrelationID: corr, ClientRequestID: "abc", Method: "PATCH", Path: "/v2.0/t/Production/api/v2.0/companies(x)/customers(y)"}
	msg := e.Error()
	for _, want := range []string{"PATCH", "409 Request_EntityChanged", "read it again", corr, "client request id abc"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
	auth := (&Error{StatusCode: 401, Code: CodeInvalidCredentials}).Error()
	if !strings.Contains(auth, "Microsoft Entra Applications") {
		t.Errorf("auth message %q does not point to the setup step", auth)
	}
}
