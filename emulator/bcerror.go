package emulator

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// apiError is an error the BC side answers with: status, BC error code and message. The
// message gets BC's CorrelationId suffix when written (bc-entra-facts §3.2).
type apiError struct {
	Status     int
	Code       string
	Message    string
	RetryAfter time.Duration
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

func errf(status int, code, format string, args ...any) *apiError {
	return &apiError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// BC error codes used by the emulator (bc-entra-facts §3.3).
const (
	codeBadRequest          = "BadRequest"
	codeNotFound            = "BadRequest_NotFound"
	codeResourceNotFound    = "BadRequest_ResourceNotFound"
	codeInvalidOperation    = "BadRequest_InvalidOperation"
	codeInvalidToken        = "BadRequest_InvalidToken"
	codeMethodNotAllowed    = "BadRequest_MethodNotAllowed"
	codeNotImplemented      = "BadRequest_MethodNotImplemented"
	codeEntityChanged       = "Request_EntityChanged"
	codeRecordNotFound      = "Internal_RecordNotFound"
	codeServerError         = "Internal_ServerError"
	codeSameKeyExists       = "Internal_EntityWithSameKeyExists"
	codeCompanyNotFound     = "Internal_CompanyNotFound"
	codeInvalidCredentials  = "Authentication_InvalidCredentials"
	codeDialog              = "Application_DialogException"
	codeEvaluate            = "Application_EvaluateException"
	codeStringTooLong       = "Application_StringExceededLength"
	codeInvalidGUID         = "Application_InvalidGUID"
	codeGatewayUnauthorized = "Unauthorized"
)

// Exact BC messages (bc-entra-facts §3.3, §3.4, §4.5).
const (
	msgMissingIfMatch     = "Could not validate the client concurrency token required by the service. Please provide a valid token in the client request."
	msgEntityChanged      = "Another user has already changed the record."
	msgInvalidCredentials = "The server has rejected the client credentials."
	msgGatewayRejected    = "The credentials provided are incorrect"
	msgOrAcrossFields     = "The 'OR' operator is not supported on distinct fields on an OData filter."
)

// newGUID returns a random lower-case GUID (version 4).
func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// writeError writes BC's error body {"error":{"code","message"}} with the message suffix
// "  CorrelationId:  <guid>." and the ms-correlation-x header (bc-entra-facts §3.2).
func writeError(w http.ResponseWriter, e *apiError) {
	corr := w.Header().Get("ms-correlation-x")
	if corr == "" {
		corr = newGUID()
		w.Header().Set("ms-correlation-x", corr)
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((e.RetryAfter+time.Second-1)/time.Second)))
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(e.Status)
	body := struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}{}
	body.Error.Code = e.Code
	body.Error.Message = e.Message + "  CorrelationId:  " + corr + "."
	_ = json.NewEncoder(w).Encode(body)
}

// writeAdminError writes the Admin Center API's error object, which is not wrapped in
// "error" (bc-entra-facts §9).
func writeAdminError(w http.ResponseWriter, status int, code, message, target string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	body := map[string]string{"code": code, "message": message}
	if target != "" {
		body["target"] = target
	}
	_ = json.NewEncoder(w).Encode(body)
}
