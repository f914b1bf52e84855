// Package api is bcconnector's JSON API for the Bizzjoiner platform, under /api/v1:
// connections (the secret is write-only), the doctor, companies, sync, the replicated
// records, the change feed (long-poll or server-sent events), write-through to BC with
// Idempotency-Key, $batch, and the endpoints of outbound webhooks (package outbound). It
// is described by the OpenAPI 3 document served at /api/v1/openapi.json (openapi.json,
// embedded; a test keeps it and the routes in step).
//
// Every call carries a bearer token created with `bcconnector token create`; a token
// scoped to some connections sees only those: the others answer 404, as if they did not
// exist, and lists and the change feed leave them out.
package api

import (
	_ "embed"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/bizzjoiner/bcconnector/outbound"
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
	// Outbound serves the outbound webhook routes; nil answers them with 404 saying
	// the feature is off.
	Outbound *outbound.Service
	// Audit serves GET /audit; nil answers it with 404.
	Audit store.AuditStore
}

type api struct {
	svc     service.Service
	tokens  store.TokenStore
	log     *slog.Logger
	maxWait time.Duration
	out     *outbound.Service
	// auditLog serves GET /audit.
	auditLog store.AuditStore
}

// route is one operation: method, path pattern below Prefix, handler.
type route struct {
	method, path string
	h            func(*api, http.ResponseWriter, *http.Request) error
	public       bool
}

var routes = []route{
	{"GET", "/openapi.json", (*api).openapi, true},
	{"GET", "/problems/{code}", (*api).problemDoc, true},
	{"GET", "/connections", (*api).listConnections, false},
	{"POST", "/connections", (*api).createConnection, false},
	{"POST", "/connections/express", (*api).createExpress, false},
	{"GET", "/express", (*api).expressStatus, false},
	{"GET", "/connections/{id}", (*api).getConnection, false},
	{"PATCH", "/connections/{id}", (*api).updateConnection, false},
	{"DELETE", "/connections/{id}", (*api).deleteConnection, false},
	{"POST", "/connections/{id}/rotate-secret", (*api).rotateSecret, false},
	{"POST", "/connections/{id}/certificates", (*api).newCertificate, false},
	{"GET", "/connections/{id}/certificates/{credentialId}", (*api).certificate, false},
	{"POST", "/connections/{id}/activate", (*api).activate, false},
	{"POST", "/connections/{id}/doctor", (*api).runDoctor, false},
	{"GET", "/connections/{id}/doctor", (*api).lastDoctor, false},
	{"GET", "/connections/{id}/companies", (*api).companies, false},
	{"GET", "/connections/{id}/schema", (*api).schema, false},
	{"POST", "/connections/{id}/sync", (*api).startSync, false},
	{"GET", "/connections/{id}/sync", (*api).syncStatus, false},
	{"GET", "/connections/{id}/entities/{set}/records", (*api).records, false},
	{"POST", "/connections/{id}/entities/{set}/records", (*api).createRecord, false},
	{"GET", "/connections/{id}/entities/{set}/records/{rid}", (*api).record, false},
	{"PATCH", "/connections/{id}/entities/{set}/records/{rid}", (*api).updateRecord, false},
	{"DELETE", "/connections/{id}/entities/{set}/records/{rid}", (*api).deleteRecord, false},
	{"POST", "/connections/{id}/entities/{set}/records/{rid}/actions/{action}", (*api).action, false},
	{"POST", "/connections/{id}/$batch", (*api).batch, false},
	{"GET", "/changes", (*api).changes, false},
	{"GET", "/changes/stream", (*api).changesStream, false},
	{"GET", "/webhook-endpoints", (*api).listEndpoints, false},
	{"POST", "/webhook-endpoints", (*api).createEndpoint, false},
	{"GET", "/webhook-endpoints/{eid}", (*api).getEndpoint, false},
	{"PATCH", "/webhook-endpoints/{eid}", (*api).updateEndpoint, false},
	{"DELETE", "/webhook-endpoints/{eid}", (*api).deleteEndpoint, false},
	{"POST", "/webhook-endpoints/{eid}/rotate-secret", (*api).rotateEndpointSecret, false},
	{"GET", "/webhook-endpoints/{eid}/deliveries", (*api).listDeliveries, false},
	{"POST", "/webhook-endpoints/{eid}/replay", (*api).replayChanges, false},
	{"POST", "/webhook-endpoints/{eid}/test", (*api).sendTestEvent, false},
	{"GET", "/webhook-deliveries/{did}", (*api).getDelivery, false},
	{"POST", "/webhook-deliveries/{did}/replay", (*api).replayDelivery, false},
	{"GET", "/audit", (*api).audit, false},
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
	a := &api{svc: opt.Service, tokens: opt.Tokens, log: opt.Logger, maxWait: opt.MaxWait, out: opt.Outbound, auditLog: opt.Audit}
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
		if allow := allowed(mux, r); len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			writeError(w, http.StatusMethodNotAllowed, apiError{Code: "method_not_allowed",
				Message: fmt.Sprintf("%s is not a method of %s; it allows %s", r.Method, r.URL.Path, strings.Join(allow, ", "))})
			return
		}
		writeError(w, http.StatusNotFound, apiError{Code: "not_found", Message: "no such API route; see " + Prefix + "/openapi.json"})
	}))
	return mux
}

// allowed returns the methods that have a route for r's path (HEAD with GET), in a fixed
// order; none means the path itself is unknown. (The catch-all at Prefix+"/" matches any
// method, so the mux's own 405 never happens.)
func allowed(mux *http.ServeMux, r *http.Request) []string {
	var out []string
	for _, m := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := mux.Handler(probe); pattern != Prefix+"/" && pattern != "" {
			out = append(out, m)
		}
	}
	return out
}

func (a *api) openapi(w http.ResponseWriter, _ *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	_, err := w.Write(openAPI)
	return err
}
