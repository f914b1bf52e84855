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
	"unicode/utf8"

	"github.com/bizzjoiner/bcconnector/bc"
	"github.com/bizzjoiner/bcconnector/doctor"
	"github.com/bizzjoiner/bcconnector/guide"
	"github.com/bizzjoiner/bcconnector/service"
	"github.com/bizzjoiner/bcconnector/store"
)

// apiError is the body of every error: {"error":{code, message, field, step}}.
type apiError struct {
	Code    string          `json:"code"`
	Message string          `json:"message"`
	Field   string          `json:"field,omitempty"`
	Step    string          `json:"step,omitempty"`
	Fix     string          `json:"fix,omitempty"`
	Errors  []apiError      `json:"errors,omitempty"`
	Report  *doctor.Report  `json:"report,omitempty"`
	BC      *bcErrorDetails `json:"bc,omitempty"`
}

type bcErrorDetails struct {
	Status        int    `json:"status"`
	Code          string `json:"code,omitempty"`
	CorrelationID string `json:"correlationId,omitempty"`
}

func writeError(w http.ResponseWriter, status int, e apiError) {
	writeJSON(w, status, map[string]apiError{"error": e})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	_ = enc.Encode(v)
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
		ae := fieldError(fes[0])
		for _, fe := range fes[1:] {
			ae.Errors = append(ae.Errors, fieldError(fe))
		}
		return http.StatusUnprocessableEntity, ae
	}
	var re *reportError
	if errors.As(err, &re) {
		ae := apiError{Code: "setup_failed", Message: re.Error(), Report: re.rep}
		if re.rep != nil && re.rep.FailedStep != nil {
			ae.Step = re.rep.FailedStep.Short()
		}
		return http.StatusUnprocessableEntity, ae
	}
	var be *bc.Error
	switch {
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound, apiError{Code: "not_found", Message: err.Error()}
	case errors.Is(err, service.ErrIdempotencyKeyReused):
		return http.StatusUnprocessableEntity, apiError{Code: "idempotency_key_reused", Message: "this Idempotency-Key was used for a different request; use a new key for a new request"}
	case errors.Is(err, service.ErrIdempotencyInProgress):
		return http.StatusConflict, apiError{Code: "idempotency_in_progress", Message: "a request with this Idempotency-Key is still running; retry later"}
	case errors.Is(err, service.ErrCursorBeyondEnd):
		return http.StatusBadRequest, apiError{Code: "cursor_beyond_end", Message: err.Error(), Field: "after",
			Fix: "no change will ever follow this cursor (it is from another database, or one that was reset): read again from after=0 and resynchronise"}
	case errors.Is(err, service.ErrNotSynced):
		return http.StatusConflict, apiError{Code: "not_synced", Message: err.Error()}
	case errors.Is(err, service.ErrSyncQueued):
		return http.StatusConflict, apiError{Code: "sync_already_queued", Message: err.Error()}
	case errors.Is(err, store.ErrConflict):
		return http.StatusConflict, apiError{Code: "conflict", Message: err.Error()}
	case errors.Is(err, store.ErrInvalid), errors.Is(err, errBadRequest):
		return http.StatusBadRequest, apiError{Code: "invalid", Message: err.Error()}
	case errors.Is(err, service.ErrExpressOff):
		return http.StatusConflict, apiError{Code: "express_not_offered", Message: err.Error()}
	case errors.Is(err, service.ErrNoJobs):
		return http.StatusServiceUnavailable, apiError{Code: "no_jobs", Message: err.Error()}
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

func fieldError(fe *guide.FieldError) apiError {
	return apiError{Code: "invalid_field", Message: fe.Error(), Field: fe.Field, Step: fe.Step.Short(), Fix: fe.Fix}
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
