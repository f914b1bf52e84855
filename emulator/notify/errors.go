package notify

import (
	"fmt"
	"net/http"
)

// Error is a BC-style API error: the HTTP status plus the code and message of the body
// {"error":{"code":…,"message":…}} (bc-entra-facts §3.2). Message carries no
// "  CorrelationId:  <guid>." suffix; the emulator's error writer appends it.
type Error struct {
	Status  int
	Code    string
	Message string
}

// Error formats e as "<status> <code>: <message>".
func (e *Error) Error() string {
	return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message)
}

// Error codes used by this package (bc-entra-facts §3.3).
const (
	CodeBadRequest           = "BadRequest"
	CodeNotFound             = "BadRequest_NotFound"
	CodeInvalidToken         = "BadRequest_InvalidToken"
	CodeMethodNotAllowed     = "BadRequest_MethodNotAllowed"
	CodeRequiredParam        = "BadRequest_RequiredParamNotProvided"
	CodeEntityChanged        = "Request_EntityChanged"
	CodeStringExceededLength = "Application_StringExceededLength"
	CodeInternalServerError  = "Internal_ServerError"
)

const (
	// bc-entra-facts §3.3, exact texts.
	msgMissingIfMatch = "Could not validate the client concurrency token required by the service. Please provide a valid token in the client request."
	msgEntityChanged  = "Another user has already changed the record."

	maxEchoedValue           = 200 // longest caller value repeated in a message
	resourceExample          = "/api/v2.0/companies(f64eba74-dacd-4854-a584-1834f68cfc3a)/customers"
	notificationURLFieldName = "notificationUrl"
	resourceFieldName        = "resource"
	clientStateFieldName     = "clientState"
)

// bc-entra-facts §3.3 / §4.5: PATCH and DELETE without If-Match.
func errMissingIfMatch() *Error {
	return &Error{Status: http.StatusBadRequest, Code: CodeInvalidToken, Message: msgMissingIfMatch}
}

// bc-entra-facts §4.5: stale ETag -> Request_EntityChanged (status configurable).
func (m *Manager) errEntityChanged() *Error {
	return &Error{Status: m.cfg.ConflictStatus, Code: CodeEntityChanged, Message: msgEntityChanged}
}

// errNotFound: the brief's choice for an unknown subscription id; the exact BC code and text
// are UNCONFIRMED (bc-entra-facts §3.4, "Record id nonexistent").
func errNotFound(id string) *Error {
	return &Error{Status: http.StatusNotFound, Code: CodeNotFound, Message: fmt.Sprintf(
		"The subscription with subscriptionId '%s' does not exist. It may have expired, been deleted, or been removed after its notificationUrl rejected a notification; list the current ones with GET …/subscriptions or create a new one.",
		clip(id))}
}

func errBadRequest(format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: CodeBadRequest, Message: fmt.Sprintf(format, args...)}
}

// bc-entra-facts §3.3: BadRequest_RequiredParamNotProvided "Field 'x' must not be blank or empty."
func errRequired(field string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: CodeRequiredParam,
		Message: fmt.Sprintf("Field '%s' must not be blank or empty.", field)}
}

func clip(s string) string {
	r := []rune(s)
	if len(r) <= maxEchoedValue {
		return s
	}
	return string(r[:maxEchoedValue]) + "…"
}
