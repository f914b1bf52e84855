package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/bizzjoiner/bcconnector/bc"
	"github.com/bizzjoiner/bcconnector/doctor"
	"github.com/bizzjoiner/bcconnector/guide"
	"github.com/bizzjoiner/bcconnector/service"
	"github.com/bizzjoiner/bcconnector/store"
)

// apiError is the body of every error: an RFC 9457 problem details object
// (application/problem+json) whose type is Prefix+"/problems/"+code, with our extension
// members: code (stable, for programs), and where they apply the field and guide step at
// fault, the fix, the errors of several fields, the doctor's report, what BC answered, and
// for cursor_expired the last pruned change. Detail is written for people and never holds
// an internal prefix (see clean).
type apiError struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	// Message is the problem's detail.
	Message string          `json:"detail"`
	Code    string          `json:"code"`
	Field   string          `json:"field,omitempty"`
	Step    string          `json:"step,omitempty"`
	Fix     string          `json:"fix,omitempty"`
	Errors  []fieldProblem  `json:"errors,omitempty"`
	Report  *doctor.Report  `json:"report,omitempty"`
	BC      *bcErrorDetails `json:"bc,omitempty"`
	// PrunedThrough is the last change the retention pruned (cursor_expired).
	PrunedThrough *int64 `json:"prunedThrough,omitempty"`
}

// fieldProblem is one of several invalid fields of a request (apiError.Errors).
type fieldProblem struct {
	Code   string `json:"code"`
	Detail string `json:"detail"`
	Field  string `json:"field,omitempty"`
	Step   string `json:"step,omitempty"`
	Fix    string `json:"fix,omitempty"`
}

type bcErrorDetails struct {
	Status        int    `json:"status"`
	Code          string `json:"code,omitempty"`
	CorrelationID string `json:"correlationId,omitempty"`
}

// problemType documents one error code: its title (the same for every occurrence, as RFC
// 9457 wants) and what it means, served at its type URI.
type problemType struct {
	Status      int
	Title       string
	Description string
}

// problemTypes are every error code the API answers, by code.
var problemTypes = map[string]problemType{
	"unauthorized":            {401, "Missing or invalid API token", "The call carries no Authorization: Bearer bcc_… header, or its token is unknown or revoked. Create a token with `bcconnector token create`."},
	"not_found":               {404, "Not found", "The route, connection, record, endpoint or delivery does not exist, or the token's scope does not include it."},
	"method_not_allowed":      {405, "Method not allowed", "The path exists but not with this method; the Allow header lists the methods it has."},
	"invalid":                 {400, "Invalid request", "A query parameter, header or body is not what the operation takes; detail names it and what it accepts."},
	"invalid_field":           {422, "Invalid field", "A field of the body failed validation; field names it, step the setup guide step it comes from, fix what to do. Several fields at once are listed in errors."},
	"setup_failed":            {422, "Setup check failed", "The doctor found a step of the customer's setup wrong; step names the first failing guide step and report holds the whole diagnosis."},
	"idempotency_key_reused":  {422, "Idempotency-Key reused", "The Idempotency-Key was used before for a different request; use a new key for a new request."},
	"idempotency_in_progress": {409, "Idempotent request still running", "A request with this Idempotency-Key is still running; retry later to get its answer."},
	"cursor_beyond_end":       {400, "Cursor beyond the end of the change log", "The after cursor (or Last-Event-ID) is past the last change: it is from another database, or one that was reset. Read again from after=0 and resynchronise."},
	"cursor_expired":          {410, "Cursor older than the change log keeps", "The changes right after the cursor were pruned by the change log's retention (serve --change-retention, --change-retention-entries); reading on would skip them. Read the records again, then follow the feed from prunedThrough."},
	"not_synced":              {409, "Entity set not synced", "No sync of this entity set ever started, so the replica has nothing to answer with; start one with POST /connections/{id}/sync."},
	"sync_already_queued":     {409, "Sync already queued", "Every entity set asked for already has a sync job waiting or running, so nothing new was started."},
	"conflict":                {409, "Conflict", "The request clashes with what is stored: a name taken, a state that does not allow the change."},
	"express_not_offered":     {409, "Express setup not offered", "The operator has not set up Bizzjoiner's own app (bcconnector express-app set), so express connections cannot be made; use a connection with the customer's own app."},
	"no_jobs":                 {503, "No job queue", "Syncing runs under `bcconnector serve`; this process has no job queue."},
	"bc_error":                {502, "Business Central refused the call", "Business Central answered with an error; bc holds its status, code and correlation ID (the status is BC's when it is a 4xx)."},
	"timeout":                 {504, "Timeout", "The call took too long."},
	"internal":                {500, "Internal error", "Something failed on the server; its log has the details under the request's X-Request-ID."},
}

// ProblemCodes returns every error code the API answers, sorted, for documentation and
// tests.
func ProblemCodes() []string {
	out := make([]string, 0, len(problemTypes))
	for c := range problemTypes {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

// problemTypeURI is the type of the problems with code: a URI reference relative to the
// server, where GET describes the problem.
func problemTypeURI(code string) string { return Prefix + "/problems/" + code }

func writeError(w http.ResponseWriter, status int, e apiError) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(errorBody(status, e))
}

// errorBody completes e into the problem body of a response with status.
func errorBody(status int, e apiError) apiError {
	e.Status = status
	e.Type = problemTypeURI(e.Code)
	e.Title = problemTypes[e.Code].Title
	if e.Message == "" {
		e.Message = e.Title
	}
	return e
}

// problemDoc answers GET /problems/{code}: what a problem type means.
func (a *api) problemDoc(w http.ResponseWriter, r *http.Request) error {
	code := r.PathValue("code")
	pt, ok := problemTypes[code]
	if !ok {
		return fmt.Errorf("%w: no problem type %q; the API's are %s", store.ErrNotFound, code, strings.Join(ProblemCodes(), ", "))
	}
	writeJSON(w, http.StatusOK, map[string]any{"type": problemTypeURI(code), "code": code, "title": pt.Title, "status": pt.Status, "description": pt.Description})
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	_ = enc.Encode(v)
}

// sentinels are the errors whose text is an internal prefix ("store: not found: …"):
// clean takes them out of what a caller reads.
var sentinels = []error{store.ErrNotFound, store.ErrConflict, store.ErrInvalid, store.ErrCursorExpired, errBadRequest,
	service.ErrCursorBeyondEnd, service.ErrNotSynced, service.ErrSyncQueued, service.ErrNoJobs, service.ErrSetupFailed,
	service.ErrIdempotencyKeyReused, service.ErrIdempotencyInProgress, service.ErrConnectionBlocked}

// clean returns err's text for a caller: without the internal prefixes of sentinel
// errors; "" when nothing but a sentinel is left (the title says it then).
func clean(err error) string {
	msg := err.Error()
	for _, s := range sentinels {
		if errors.Is(err, s) {
			msg = strings.ReplaceAll(msg, s.Error()+": ", "")
			msg = strings.TrimSuffix(strings.TrimSuffix(msg, s.Error()), ": ")
		}
	}
	return msg
}

// reportError carries a doctor report with a setup failure.
type reportError struct {
	err error
	rep *doctor.Report
}

func (e *reportError) Error() string { return e.err.Error() }

func (e *reportError) Unwrap() error { return e.err }

// statusOf maps an error to the HTTP status and body: the one place where that happens.
func statusOf(err error) (int, apiError) {
	var fes []*guide.FieldError
	for _, e := range unjoin(err) {
		var fe *guide.FieldError
		if errors.As(e, &fe) {
			fes = append(fes, fe)
		}
	}
	if len(fes) > 0 {
		f := fieldError(fes[0])
		ae := apiError{Code: f.Code, Message: f.Detail, Field: f.Field, Step: f.Step, Fix: f.Fix}
		for _, fe := range fes[1:] {
			ae.Errors = append(ae.Errors, fieldError(fe))
		}
		return http.StatusUnprocessableEntity, ae
	}
	var re *reportError
	if errors.As(err, &re) {
		ae := apiError{Code: "setup_failed", Message: clean(re), Report: re.rep}
		if re.rep != nil && re.rep.FailedStep != nil {
			ae.Step = re.rep.FailedStep.Short()
		}
		return http.StatusUnprocessableEntity, ae
	}
	var be *bc.Error
	var ce *store.CursorExpiredError
	switch {
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound, apiError{Code: "not_found", Message: clean(err)}
	case errors.Is(err, service.ErrIdempotencyKeyReused):
		return http.StatusUnprocessableEntity, apiError{Code: "idempotency_key_reused", Message: "this Idempotency-Key was used for a different request; use a new key for a new request"}
	case errors.Is(err, service.ErrIdempotencyInProgress):
		return http.StatusConflict, apiError{Code: "idempotency_in_progress", Message: "a request with this Idempotency-Key is still running; retry later"}
	case errors.Is(err, service.ErrCursorBeyondEnd):
		return http.StatusBadRequest, apiError{Code: "cursor_beyond_end", Message: clean(err), Field: "after",
			Fix: "no change will ever follow this cursor (it is from another database, or one that was reset): read again from after=0 and resynchronise"}
	case errors.As(err, &ce):
		return http.StatusGone, apiError{Code: "cursor_expired", Field: "after", PrunedThrough: &ce.PrunedThrough,
			Message: fmt.Sprintf("after=%d is older than the change log keeps: the changes up to %d were pruned by its retention, so reading on would skip some", ce.After, ce.PrunedThrough),
			Fix:     fmt.Sprintf("resynchronise: read the records again (GET .../records), then follow the feed from after=%d or later", ce.PrunedThrough)}
	case errors.Is(err, service.ErrNotSynced):
		return http.StatusConflict, apiError{Code: "not_synced", Message: clean(err)}
	case errors.Is(err, service.ErrSyncQueued):
		return http.StatusConflict, apiError{Code: "sync_already_queued", Message: clean(err)}
	case errors.Is(err, store.ErrConflict):
		return http.StatusConflict, apiError{Code: "conflict", Message: clean(err)}
	case errors.Is(err, store.ErrInvalid), errors.Is(err, errBadRequest):
		return http.StatusBadRequest, apiError{Code: "invalid", Message: clean(err)}
	case errors.Is(err, service.ErrExpressOff):
		return http.StatusConflict, apiError{Code: "express_not_offered", Message: clean(err)}
	case errors.Is(err, service.ErrNoJobs):
		return http.StatusServiceUnavailable, apiError{Code: "no_jobs", Message: clean(err)}
	case errors.As(err, &be):
		status := be.StatusCode
		if status < 400 || status >= 500 {
			status = http.StatusBadGateway
		}
		return status, apiError{Code: "bc_error", Message: "Business Central: " + be.Message,
			BC: &bcErrorDetails{Status: be.StatusCode, Code: string(be.Code), CorrelationID: be.CorrelationID}}
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout, apiError{Code: "timeout", Message: "the call took too long"}
	}
	return http.StatusInternalServerError, apiError{Code: "internal", Message: "internal error; the server log has the details (look for this request's X-Request-ID)"}
}

func fieldError(fe *guide.FieldError) fieldProblem {
	return fieldProblem{Code: "invalid_field", Detail: fe.Error(), Field: fe.Field, Step: fe.Step.Short(), Fix: fe.Fix}
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func (a *api) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, body := statusOf(err)
	lvl := slog.LevelInfo
	if status >= 500 {
		lvl = slog.LevelError
	}
	a.log.Log(r.Context(), lvl, "api call failed", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	writeError(w, status, body)
}

var errBadRequest = errors.New("bad request")

// readJSON reads a JSON request body: at most MaxBodyBytes, UTF-8, and exactly one JSON
// value with nothing but white space after it. Each refusal names the problem.
func readJSON(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, MaxBodyBytes))
	if err != nil {
		return nil, fmt.Errorf("%w: request body: %v (the limit is %d bytes)", errBadRequest, err, MaxBodyBytes)
	}
	if !utf8.Valid(body) {
		return nil, fmt.Errorf("%w: request body: not valid UTF-8 at byte %d; send JSON encoded as UTF-8", errBadRequest, invalidUTF8At(body))
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	var v json.RawMessage
	if err := dec.Decode(&v); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: request body: empty; send a JSON object", errBadRequest)
		}
		return nil, fmt.Errorf("%w: request body: %v", errBadRequest, err)
	}
	if off := dec.InputOffset(); len(bytes.TrimLeft(body[off:], " \t\r\n")) > 0 {
		return nil, fmt.Errorf("%w: request body: unexpected data after the JSON value at byte %d; send exactly one JSON value", errBadRequest, off)
	}
	return body, nil
}

func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// decode reads a JSON request body (readJSON) into v; unknown fields are refused.
func decode(r *http.Request, v any) error {
	body, err := readJSON(r)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: request body: %v", errBadRequest, err)
	}
	return nil
}
