package bc

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// Code is a BC OData error code ("<Category>_<Detail>", bc-entra-facts §3.2–3.3).
type Code string

// BC error codes the client reacts to (bc-entra-facts §3.3).
const (
	CodeNotFound            Code = "BadRequest_NotFound"
	CodeResourceNotFound    Code = "BadRequest_ResourceNotFound"
	CodeInvalidToken        Code = "BadRequest_InvalidToken" // missing If-Match
	CodeMethodNotAllowed    Code = "BadRequest_MethodNotAllowed"
	CodeEntityChanged       Code = "Request_EntityChanged" // stale If-Match
	CodeRecordNotFound      Code = "Internal_RecordNotFound"
	CodeServerError         Code = "Internal_ServerError" // also permission failures (§3.4)
	CodeEntityExists        Code = "Internal_EntityWithSameKeyExists"
	CodeCompanyNotFound     Code = "Internal_CompanyNotFound"
	CodeInvalidCredentials  Code = "Authentication_InvalidCredentials"
	CodeGatewayUnauthorized Code = "Unauthorized"
	CodeTooManyRequests     Code = "Application_TooManyRequests"
)

// Sentinel errors for errors.Is. A *Error matches the ones its status and code imply.
var (
	// ErrNotFound: the record, company or route does not exist (404, Internal_RecordNotFound).
	ErrNotFound = errors.New("bc: not found")
	// ErrConflict: the record changed since its ETag was read (Request_EntityChanged, 409,
	// 412; bc-entra-facts §4.5).
	ErrConflict = errors.New("bc: record changed by someone else")
	// ErrThrottled: BC's per-app limits turned the request away (429, or 503 after queueing;
	// bc-entra-facts §5).
	ErrThrottled = errors.New("bc: throttled")
	// ErrAuth: BC rejected the token (401; bc-entra-facts §3.4).
	ErrAuth = errors.New("bc: authentication rejected")
	// ErrPermission: the app's BC permission sets do not cover the object (403, or
	// Internal_ServerError "…permissions prevented the action…", bc-entra-facts §3.4).
	ErrPermission = errors.New("bc: permission denied")
	// ErrExists: a record with the same key exists (Internal_EntityWithSameKeyExists).
	ErrExists = errors.New("bc: record already exists")
)

// Error is an error answer from Business Central, keeping what came over the wire.
//
// BC's body is {"error":{"code":"…","message":"…  CorrelationId:  <guid>."}}
// (bc-entra-facts §3.2); the CorrelationId suffix is moved into CorrelationID.
type Error struct {
	StatusCode int
	Code       Code   // BC's error.code, e.g. "Request_EntityChanged"; "" when the body had none
	Message    string // BC's error.message without the CorrelationId suffix
	// CorrelationID is BC's correlation id, from the message suffix or the ms-correlation-x
	// header; quote it to Microsoft support.
	CorrelationID string
	// ClientRequestID is the client-request-id this client sent, which BC's telemetry
	// records (see ClientRequestIDHeader).
	ClientRequestID string
	// RetryAfter is the server's Retry-After, zero when absent.
	RetryAfter time.Duration
	// Method and Path name the request (the URL path; the query is left out because it may
	// hold customer data).
	Method, Path string
}

// Error renders the status, code, message, a hint on what to do next and the ids to quote.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("bc: ")
	if e.Method != "" {
		b.WriteString(e.Method + " " + e.Path + ": ")
	}
	fmt.Fprintf(&b, "%d", e.StatusCode)
	if e.Code != "" {
		b.WriteString(" " + string(e.Code))
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if h := e.Hint(); h != "" {
		b.WriteString(" (" + h + ")")
	}
	if e.CorrelationID != "" || e.ClientRequestID != "" {
		b.WriteString(" [")
		if e.CorrelationID != "" {
			b.WriteString("correlation id " + e.CorrelationID)
		}
		if e.ClientRequestID != "" {
			if e.CorrelationID != "" {
				b.WriteString(", ")
			}
			b.WriteString("client request id " + e.ClientRequestID)
		}
		b.WriteString("]")
	}
	return b.String()
}

// Hint says what to do next for the well-known failures, or "".
func (e *Error) Hint() string {
	switch {
	case e.Is(ErrConflict):
		return "the record was changed after it was read: read it again, reapply the change and send it with the new ETag"
	case e.Code == CodeInvalidToken:
		return "PATCH and DELETE need If-Match: pass the record's ETag, or bc.AnyETag to overwrite unconditionally"
	case e.Is(ErrPermission):
		return "the app's permission sets in BC do not cover this object: on the Microsoft Entra Applications page, assign a permission set that grants it"
	case e.Is(ErrAuth):
		return "BC rejected the app: check admin consent for API.ReadWrite.All (an Application permission) and that the app is on BC's Microsoft Entra Applications page with State Enabled, in this environment"
	case e.Code == CodeCompanyNotFound:
		return "address the company by its ID (list companies to find it)"
	case e.Is(ErrThrottled):
		return "BC's per-app limits were exceeded: lower MaxInFlight or RateLimit, or retry later"
	case e.StatusCode == http.StatusRequestTimeout || e.StatusCode == http.StatusGatewayTimeout:
		return "the request ran into BC's time limit: request smaller pages or narrower filters"
	}
	return ""
}

// Is reports whether e matches one of the sentinel errors (ErrNotFound, ErrConflict,
// ErrThrottled, ErrAuth, ErrPermission, ErrExists).
func (e *Error) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound || e.Code == CodeRecordNotFound
	case ErrConflict:
		return e.Code == CodeEntityChanged || e.StatusCode == http.StatusConflict || e.StatusCode == http.StatusPreconditionFailed
	case ErrThrottled:
		return e.StatusCode == http.StatusTooManyRequests || e.StatusCode == http.StatusServiceUnavailable || e.Code == CodeTooManyRequests
	case ErrAuth:
		return e.StatusCode == http.StatusUnauthorized || strings.HasPrefix(string(e.Code), "Authentication_")
	case ErrPermission:
		return e.StatusCode == http.StatusForbidden || strings.HasPrefix(string(e.Code), "Authorization_") ||
			(e.Code == CodeServerError && isPermissionMessage(e.Message))
	case ErrExists:
		return e.Code == CodeEntityExists
	}
	return false
}

// isPermissionMessage recognises BC's permission failures, which arrive as
// Internal_ServerError (bc-entra-facts §3.4): "Sorry, the current permissions prevented the
// action. (…)" since BC 20, "You do not have the following permissions on …" before.
func isPermissionMessage(msg string) bool {
	return strings.Contains(msg, "permissions prevented the action") ||
		strings.Contains(msg, "You do not have the following permissions")
}

// IsNotFound reports whether err is BC's "not found" (errors.Is(err, ErrNotFound)).
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// IsConflict reports whether err is a stale-ETag conflict (errors.Is(err, ErrConflict)).
func IsConflict(err error) bool { return errors.Is(err, ErrConflict) }

// IsThrottled reports whether BC's limits turned the request away (errors.Is(err, ErrThrottled)).
func IsThrottled(err error) bool { return errors.Is(err, ErrThrottled) }

// IsAuth reports whether BC rejected the token (errors.Is(err, ErrAuth)).
func IsAuth(err error) bool { return errors.Is(err, ErrAuth) }

// IsPermission reports whether the app lacks a BC permission (errors.Is(err, ErrPermission)).
func IsPermission(err error) bool { return errors.Is(err, ErrPermission) }

// maxErrorBody bounds how much of an error body is read.
const maxErrorBody = 64 << 10

// correlationSuffix is BC's message suffix "  CorrelationId:  <guid>." (§3.2).
var correlationSuffix = regexp.MustCompile(`\s*CorrelationId:\s*([0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})\.?\s*$`)

// ParseError builds an *Error from a BC error response: the JSON body
// {"error":{"code","message"}}, the Admin Center's {"code","message"}, the gateway's XML
// <error><code/><message/></error>, or any other body (kept, shortened, as the message).
// It never fails; header may be nil.
func ParseError(status int, header http.Header, body []byte) *Error {
	return parseError(status, header, body, time.Now)
}

func parseError(status int, header http.Header, body []byte, now func() time.Time) *Error {
	e := &Error{StatusCode: status}
	body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))
	trimmed := bytes.TrimSpace(body)
	switch {
	case len(trimmed) > 0 && trimmed[0] == '{':
		var wire struct {
			Error *struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
			Code    string `json:"code"`
			Message string `json:"message"`
		}
		if json.Unmarshal(trimmed, &wire) == nil {
			if wire.Error != nil {
				e.Code, e.Message = Code(wire.Error.Code), wire.Error.Message
			} else {
				e.Code, e.Message = Code(wire.Code), wire.Message
			}
		} else {
			e.Message = shorten(string(trimmed))
		}
	case len(trimmed) > 0 && trimmed[0] == '<':
		var wire struct {
			Code    string `xml:"code"`
			Message string `xml:"message"`
		}
		if xml.Unmarshal(trimmed, &wire) == nil && (wire.Code != "" || wire.Message != "") {
			e.Code, e.Message = Code(strings.TrimSpace(wire.Code)), strings.TrimSpace(wire.Message)
		} else {
			e.Message = shorten(string(trimmed))
		}
	default:
		e.Message = shorten(string(trimmed))
	}
	if m := correlationSuffix.FindStringSubmatchIndex(e.Message); m != nil {
		e.CorrelationID = e.Message[m[2]:m[3]]
		e.Message = e.Message[:m[0]]
	}
	if e.CorrelationID == "" && header != nil {
		e.CorrelationID = header.Get("ms-correlation-x")
	}
	if e.Message == "" && e.Code == "" {
		e.Message = http.StatusText(status)
	}
	if header != nil {
		e.RetryAfter = parseRetryAfter(header, now)
	}
	return e
}

// shorten keeps error text readable: at most 300 bytes of valid UTF-8 on one line.
func shorten(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Join(strings.Fields(s), " ")
	const limit = 300
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// BatchError reports a transactional $batch (Isolation: snapshot) that BC rolled back
// because one operation failed: no change of the batch was saved, even for operations
// reported 2xx (bc-entra-facts §6). It unwraps to the failed operation's *Error.
type BatchError struct {
	Index int    // position of the first failed operation
	ID    string // its batch id
	Err   *Error
}

// Error names the failed operation.
func (e *BatchError) Error() string {
	return fmt.Sprintf("bc: $batch rolled back, no change was saved: operation %d (id %q) failed: %v", e.Index, e.ID, e.Err)
}

// Unwrap returns the failed operation's error.
func (e *BatchError) Unwrap() error { return e.Err }
