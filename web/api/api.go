// Package api is bcconnector's JSON API for the Bizzjoiner platform, under /api/v1:
// connections (the secret is write-only), the doctor, companies, sync, the replicated
// records, the change feed (long-poll or server-sent events), write-through to BC with
// Idempotency-Key, and $batch. It is described by the OpenAPI 3 document served at
// /api/v1/openapi.json (openapi.json, embedded; a test keeps it and the routes in step).
//
// Every call carries a bearer token created with `bcconnector token create`; a token
// scoped to some connections sees only those: the others answer 404, as if they did not
// exist, and lists and the change feed leave them out.
package api

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bizzjoiner/bcconnector/bc"
	"github.com/bizzjoiner/bcconnector/doctor"
	"github.com/bizzjoiner/bcconnector/guide"
	"github.com/bizzjoiner/bcconnector/service"
	"github.com/bizzjoiner/bcconnector/store"
)

// Prefix is where the API is mounted.
const Prefix = "/api/v1"

//go:embed openapi.json
var openAPI []byte

// OpenAPI returns the API's OpenAPI 3 document.
func OpenAPI() []byte { return openAPI }

// MaxBodyBytes bounds a request body.
const MaxBodyBytes = 8 << 20

// Options configures New.
type Options struct {
	// Service does the work. Required.
	Service service.Service
	// Tokens authenticates bearer tokens. Required.
	Tokens store.TokenStore
	// Logger receives one line per failed call (never a token or secret); default discard.
	Logger *slog.Logger
	// MaxWait caps the long-poll wait of the change feed; default 60s.
	MaxWait time.Duration
}

type api struct {
	svc     service.Service
	tokens  store.TokenStore
	log     *slog.Logger
	maxWait time.Duration
}

// route is one operation: method, path pattern below Prefix, handler.
type route struct {
	method, path string
	h            func(*api, http.ResponseWriter, *http.Request) error
	public       bool
}

var routes = []route{
	{"GET", "/openapi.json", (*api).openapi, true},
	{"GET", "/connections", (*api).listConnections, false},
	{"POST", "/connections", (*api).createConnection, false},
	{"GET", "/connections/{id}", (*api).getConnection, false},
	{"PATCH", "/connections/{id}", (*api).updateConnection, false},
	{"DELETE", "/connections/{id}", (*api).deleteConnection, false},
	{"POST", "/connections/{id}/rotate-secret", (*api).rotateSecret, false},
	{"POST", "/connections/{id}/doctor", (*api).runDoctor, false},
	{"GET", "/connections/{id}/doctor", (*api).lastDoctor, false},
	{"GET", "/connections/{id}/companies", (*api).companies, false},
	{"POST", "/connections/{id}/sync", (*api).startSync, false},
	{"GET", "/connections/{id}/sync", (*api).syncStatus, false},
	{"GET", "/connections/{id}/entities/{set}/records", (*api).records, false},
	{"POST", "/connections/{id}/entities/{set}/records", (*api).createRecord, false},
	{"PATCH", "/connections/{id}/entities/{set}/records/{rid}", (*api).updateRecord, false},
	{"DELETE", "/connections/{id}/entities/{set}/records/{rid}", (*api).deleteRecord, false},
	{"POST", "/connections/{id}/entities/{set}/records/{rid}/actions/{action}", (*api).action, false},
	{"POST", "/connections/{id}/$batch", (*api).batch, false},
	{"GET", "/changes", (*api).changes, false},
}

// Routes returns "METHOD /api/v1/path" for every route, for documentation and tests.
func Routes() []string {
	out := make([]string, len(routes))
	for i, r := range routes {
		out[i] = r.method + " " + Prefix + r.path
	}
	return out
}

// New returns the API handler; mount it at Prefix + "/".
func New(opt Options) http.Handler {
	a := &api{svc: opt.Service, tokens: opt.Tokens, log: opt.Logger, maxWait: opt.MaxWait}
	if a.log == nil {
		a.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if a.maxWait <= 0 {
		a.maxWait = 60 * time.Second
	}
	mux := http.NewServeMux()
	for _, r := range routes {
		h := r.h
		var handler http.Handler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if err := h(a, w, req); err != nil {
				a.fail(w, req, err)
			}
		})
		if !r.public {
			handler = a.auth(handler)
		}
		mux.Handle(r.method+" "+Prefix+r.path, handler)
	}
	mux.Handle(Prefix+"/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, apiError{Code: "not_found", Message: "no such API route; see " + Prefix + "/openapi.json"})
	}))
	return mux
}

type tokenKey struct{}

// auth authenticates the bearer token and puts it in the request's context.
func (a *api) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		tok, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || !strings.HasPrefix(tok, store.TokenPrefix) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="bcconnector"`)
			writeError(w, http.StatusUnauthorized, apiError{Code: "unauthorized", Message: "send Authorization: Bearer bcc_… with a token from `bcconnector token create`"})
			return
		}
		t, err := a.tokens.AuthenticateToken(r.Context(), store.HashToken(strings.TrimSpace(tok)))
		if err != nil {
			if !errors.Is(err, store.ErrNotFound) {
				a.log.Error("token check failed", "err", err)
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="bcconnector", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, apiError{Code: "unauthorized", Message: "the token is unknown or revoked"})
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), tokenKey{}, t)))
	})
}

func token(r *http.Request) store.Token {
	t, _ := r.Context().Value(tokenKey{}).(store.Token)
	return t
}

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
	case errors.Is(err, store.ErrConflict):
		return http.StatusConflict, apiError{Code: "conflict", Message: err.Error()}
	case errors.Is(err, store.ErrInvalid), errors.Is(err, errBadRequest):
		return http.StatusBadRequest, apiError{Code: "invalid", Message: err.Error()}
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

func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, MaxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: request body: %v", errBadRequest, err)
	}
	return nil
}

func (a *api) openapi(w http.ResponseWriter, _ *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	_, err := w.Write(openAPI)
	return err
}

// connection resolves {id} (an ID or name) within the token's scope: a connection outside
// it is not found.
func (a *api) connection(r *http.Request) (service.ConnectionView, error) {
	v, err := a.svc.GetConnection(r.Context(), r.PathValue("id"))
	if err != nil {
		return v, err
	}
	if !token(r).Allows(v.ID) {
		return service.ConnectionView{}, fmt.Errorf("%w: no connection %q", store.ErrNotFound, r.PathValue("id"))
	}
	return v, nil
}

func (a *api) listConnections(w http.ResponseWriter, r *http.Request) error {
	t := token(r)
	list, err := a.svc.ListConnections(r.Context(), t.Allows)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"connections": list})
	return nil
}

func (a *api) createConnection(w http.ResponseWriter, r *http.Request) error {
	if token(r).Connections != nil {
		return fmt.Errorf("%w: a token scoped to some connections cannot create connections; use a token for all connections", store.ErrNotFound)
	}
	var in service.ConnectionInput
	if err := decode(r, &in); err != nil {
		return err
	}
	v, rep, err := a.svc.CreateConnection(r.Context(), in)
	if errors.Is(err, service.ErrSetupFailed) {
		return &reportError{err: err, rep: rep}
	}
	if err != nil {
		return err
	}
	w.Header().Set("Location", Prefix+"/connections/"+v.ID)
	writeJSON(w, http.StatusCreated, v)
	return nil
}

func (a *api) getConnection(w http.ResponseWriter, r *http.Request) error {
	v, err := a.connection(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (a *api) updateConnection(w http.ResponseWriter, r *http.Request) error {
	v, err := a.connection(r)
	if err != nil {
		return err
	}
	var in service.ConnectionInput
	if err := decode(r, &in); err != nil {
		return err
	}
	v, err = a.svc.UpdateConnection(r.Context(), v.ID, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (a *api) deleteConnection(w http.ResponseWriter, r *http.Request) error {
	v, err := a.connection(r)
	if err != nil {
		return err
	}
	if err := a.svc.DeleteConnection(r.Context(), v.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *api) rotateSecret(w http.ResponseWriter, r *http.Request) error {
	v, err := a.connection(r)
	if err != nil {
		return err
	}
	var in struct {
		Secret        string `json:"secret"`
		SecretEndDate string `json:"secretEndDate,omitempty"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := a.svc.RotateSecret(r.Context(), v.ID, in.Secret, in.SecretEndDate); err != nil {
		return err
	}
	v, err = a.svc.GetConnection(r.Context(), v.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (a *api) runDoctor(w http.ResponseWriter, r *http.Request) error {
	v, err := a.connection(r)
	if err != nil {
		return err
	}
	rep, err := a.svc.RunDoctor(r.Context(), v.ID, nil)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

func (a *api) lastDoctor(w http.ResponseWriter, r *http.Request) error {
	v, err := a.connection(r)
	if err != nil {
		return err
	}
	if v.LastDoctor == nil {
		return fmt.Errorf("%w: connection %q has no doctor report yet; POST to this URL to run the doctor", store.ErrNotFound, v.Name)
	}
	writeJSON(w, http.StatusOK, v.LastDoctor)
	return nil
}

type company struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

func (a *api) companies(w http.ResponseWriter, r *http.Request) error {
	v, err := a.connection(r)
	if err != nil {
		return err
	}
	cs, err := a.svc.Companies(r.Context(), v.ID)
	if err != nil {
		return err
	}
	out := make([]company, len(cs))
	for i, c := range cs {
		out[i] = company{ID: c[0], Name: c[1]}
	}
	writeJSON(w, http.StatusOK, map[string]any{"companies": out})
	return nil
}

func (a *api) startSync(w http.ResponseWriter, r *http.Request) error {
	v, err := a.connection(r)
	if err != nil {
		return err
	}
	var in struct {
		Entities []string `json:"entities,omitempty"`
		Full     bool     `json:"full,omitempty"`
		Paused   *bool    `json:"paused,omitempty"`
	}
	if r.ContentLength != 0 {
		if err := decode(r, &in); err != nil {
			return err
		}
	}
	if in.Paused != nil {
		if err := a.svc.SetPaused(r.Context(), v.ID, *in.Paused); err != nil {
			return err
		}
	}
	if in.Paused == nil || !*in.Paused {
		if err := a.svc.Sync(r.Context(), v.ID, in.Entities, in.Full); err != nil {
			return err
		}
	}
	return a.writeSync(w, r, v.ID, http.StatusAccepted)
}

func (a *api) syncStatus(w http.ResponseWriter, r *http.Request) error {
	v, err := a.connection(r)
	if err != nil {
		return err
	}
	return a.writeSync(w, r, v.ID, http.StatusOK)
}

// syncSet is one entity set's sync state as the API shows it.
type syncSet struct {
	EntitySet     string    `json:"entitySet"`
	CompanyID     string    `json:"companyId"`
	Rows          int64     `json:"rows"`
	FullSyncDone  bool      `json:"fullSyncDone"`
	Watermark     time.Time `json:"watermark,omitzero"`
	LastRunAt     time.Time `json:"lastRunAt,omitzero"`
	LastSuccessAt time.Time `json:"lastSuccessAt,omitzero"`
	LastError     string    `json:"lastError,omitempty"`
	Throttled     int64     `json:"throttled"`
	Requests      int64     `json:"requests"`
	Paused        bool      `json:"paused"`
}

func (a *api) writeSync(w http.ResponseWriter, r *http.Request, id string, status int) error {
	v, err := a.svc.GetConnection(r.Context(), id)
	if err != nil {
		return err
	}
	sets := make([]syncSet, 0, len(v.Sync))
	for _, st := range v.Sync {
		sets = append(sets, syncSet{EntitySet: st.Key.EntitySet, CompanyID: st.Key.CompanyID, Rows: v.Counts[st.Key.EntitySet],
			FullSyncDone: st.FullSyncDone, Watermark: st.Watermark, LastRunAt: st.LastRunAt, LastSuccessAt: st.LastSuccessAt,
			LastError: st.LastError, Throttled: st.Throttled, Requests: st.Requests, Paused: st.Paused})
	}
	writeJSON(w, status, map[string]any{"connectionId": v.ID, "paused": v.Paused, "sets": sets})
	return nil
}

func (a *api) records(w http.ResponseWriter, r *http.Request) error {
	v, err := a.connection(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	limit := 0
	if s := q.Get("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit <= 0 {
			return fmt.Errorf("%w: limit must be a positive number, got %q", errBadRequest, s)
		}
	}
	page, err := a.svc.Records(r.Context(), v.ID, r.PathValue("set"), q.Get("filter"), q.Get("cursor"), limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

func (a *api) write(w http.ResponseWriter, r *http.Request, op service.WriteOp) error {
	v, err := a.connection(r)
	if err != nil {
		return err
	}
	if op.Method == http.MethodPost || op.Method == http.MethodPatch {
		body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, MaxBodyBytes))
		if err != nil {
			return fmt.Errorf("%w: request body: %v", errBadRequest, err)
		}
		op.Body = body
	}
	op.ETag = r.Header.Get("If-Match")
	res, err := a.svc.Write(r.Context(), v.ID, r.PathValue("set"), op, r.Header.Get("Idempotency-Key"))
	if res.Replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	if err != nil {
		return err
	}
	if res.Status == http.StatusNoContent {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(res.Status)
	_, err = w.Write(res.Record)
	return err
}

func (a *api) createRecord(w http.ResponseWriter, r *http.Request) error {
	return a.write(w, r, service.WriteOp{Method: http.MethodPost})
}

func (a *api) updateRecord(w http.ResponseWriter, r *http.Request) error {
	return a.write(w, r, service.WriteOp{Method: http.MethodPatch, ID: r.PathValue("rid")})
}

func (a *api) deleteRecord(w http.ResponseWriter, r *http.Request) error {
	return a.write(w, r, service.WriteOp{Method: http.MethodDelete, ID: r.PathValue("rid")})
}

func (a *api) action(w http.ResponseWriter, r *http.Request) error {
	return a.write(w, r, service.WriteOp{Method: "ACTION", ID: r.PathValue("rid"), Action: r.PathValue("action")})
}

func (a *api) batch(w http.ResponseWriter, r *http.Request) error {
	v, err := a.connection(r)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, MaxBodyBytes))
	if err != nil {
		return fmt.Errorf("%w: request body: %v", errBadRequest, err)
	}
	atomic := strings.EqualFold(r.Header.Get("Isolation"), "snapshot") || r.URL.Query().Get("atomic") == "true"
	out, err := a.svc.Batch(r.Context(), v.ID, body, atomic)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	_, err = w.Write(out)
	return err
}

func (a *api) changes(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	var after int64
	var err error
	if s := q.Get("after"); s != "" {
		if after, err = strconv.ParseInt(s, 10, 64); err != nil || after < 0 {
			return fmt.Errorf("%w: after must be a change sequence number (0 or more), got %q", errBadRequest, s)
		}
	}
	if s := r.Header.Get("Last-Event-ID"); s != "" {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > after {
			after = n
		}
	}
	limit := 0
	if s := q.Get("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit <= 0 {
			return fmt.Errorf("%w: limit must be a positive number, got %q", errBadRequest, s)
		}
	}
	var wait time.Duration
	if s := q.Get("wait"); s != "" {
		if wait, err = time.ParseDuration(s); err != nil || wait < 0 {
			return fmt.Errorf("%w: wait must be a duration such as 30s, got %q", errBadRequest, s)
		}
	}
	wait = min(wait, a.maxWait)
	allowed := token(r).Allows
	if strings.Contains(r.Header.Get("Accept"), "text/event-stream") {
		return a.stream(w, r, after, limit, allowed)
	}
	changes, err := a.svc.Changes(r.Context(), after, limit, wait, allowed)
	if err != nil {
		return err
	}
	next := after
	if len(changes) > 0 {
		next = changes[len(changes)-1].Seq
	}
	writeJSON(w, http.StatusOK, map[string]any{"changes": changes, "next": next})
	return nil
}

// stream sends changes as server-sent events (event "change", id = seq) until the client
// goes away, with a comment every 15 s to keep proxies from closing the stream.
func (a *api) stream(w http.ResponseWriter, r *http.Request, after int64, limit int, allowed func(string) bool) error {
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	if err := rc.Flush(); err != nil {
		return nil
	}
	for r.Context().Err() == nil {
		changes, err := a.svc.Changes(r.Context(), after, limit, 15*time.Second, allowed)
		if err != nil {
			a.log.Error("change feed", "err", err)
			return nil
		}
		if len(changes) == 0 {
			_, _ = io.WriteString(w, ": keep-alive\n\n")
		}
		for _, c := range changes {
			b, _ := json.Marshal(c)
			fmt.Fprintf(w, "id: %d\nevent: change\ndata: %s\n\n", c.Seq, b)
			after = c.Seq
		}
		if err := rc.Flush(); err != nil {
			return nil
		}
	}
	return nil
}
