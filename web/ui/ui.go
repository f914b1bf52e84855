// Package ui is the web UI for people: the onboarding wizard that walks an admin through
// the customer setup guide with every value filled in and proves the setup with the
// doctor, the connections dashboard and the data browser. Pages are server-rendered with
// html/template and enhanced with htmx (vendored, embedded); there is no build step.
//
// The UI calls only package service. Authentication and CSRF protection are the
// composing server's job: it mounts the handler at "/" behind the admin login and
// wraps it in http.CrossOriginProtection; every form here posts same-origin.
//
// Client secrets are write-only: a secret typed into the wizard is held server-side in a
// short-lived draft and is never rendered back, logged or put in a URL.
package ui

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/bizzjoiner/bcconnector/guide"
	"github.com/bizzjoiner/bcconnector/outbound"
	"github.com/bizzjoiner/bcconnector/service"
	"github.com/bizzjoiner/bcconnector/store"
)

// files holds the templates and the static assets. static/htmx.min.js is htmx 2.0.11
// (npm package htmx.org@2.0.11, dist/htmx.min.js), licence 0BSD (static/htmx.LICENSE).
//
//go:embed templates static
var files embed.FS

// DefaultDraftCertificateTTL is how long an idle wizard draft holding a generated
// certificate is kept by default.
const DefaultDraftCertificateTTL = 24 * time.Hour

// Options configures the UI.
type Options struct {
	// Service does the work; required.
	Service service.Service
	// Logger receives errors and debug lines; nil discards. Secrets never reach it.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// SandboxNote, when set, is shown as a banner on every page (serve --sandbox).
	SandboxNote string
	// AuthorityHost is the Entra authority host for the admin-consent link of Step 5;
	// empty means guide.DefaultAuthorityHost (the public cloud). In sandbox mode it is
	// the sandbox's URL.
	AuthorityHost string
	// Endpoints are the endpoints new connections use: empty for Microsoft's public cloud;
	// the sandbox's Entra and BC hosts and CA file with serve --sandbox.
	Endpoints Endpoints
	// SandboxUpload, when set (serve --sandbox), uploads a certificate (DER) to the
	// sandbox's app registration: the wizard offers it in Step 3 in place of the upload in
	// the Entra portal, which the sandbox does not have.
	SandboxUpload func(der []byte) error
	// SandboxRegisterBC, when set (serve --sandbox), registers an app in the sandbox's
	// Business Central (Step 6 of express setup), which has no Business Central UI.
	SandboxRegisterBC func(tenant, environment, clientID string) error
	// SandboxInput, when set (serve --sandbox), is what a new wizard draft starts with:
	// the sandbox's tenant, client ID, secret, end date, environment and company, so the
	// wizard can be walked against it without guessing. The secret is never rendered.
	SandboxInput *service.ConnectionInput
	// DraftTTL is how long an idle wizard draft (and the secret it holds) is kept;
	// zero means 30 minutes.
	DraftTTL time.Duration
	// DraftCertificateTTL is how long an idle draft holding a generated certificate (its
	// private key) is kept, since the admin may have uploaded the certificate to Entra
	// already; zero means DefaultDraftCertificateTTL (24 hours).
	DraftCertificateTTL time.Duration
	// Outbound shows the platform's webhook endpoints and deliveries; nil shows the page
	// as not enabled.
	Outbound *outbound.Service
	// Audit shows the audit log; nil shows the page as not served.
	Audit store.AuditStore
}

// Endpoints override where a new connection's Entra and BC live.
type Endpoints struct {
	AuthorityHost, BCBaseURL, CAFile string
}

// apply fills the endpoints into a wizard's input.
func (e Endpoints) apply(in service.ConnectionInput) service.ConnectionInput {
	if in.AuthorityHost == "" {
		in.AuthorityHost = e.AuthorityHost
	}
	if in.BCBaseURL == "" {
		in.BCBaseURL = e.BCBaseURL
	}
	if in.CAFile == "" {
		in.CAFile = e.CAFile
	}
	return in
}

// handler serves the UI.
type handler struct {
	endpoints       Endpoints
	svc             service.Service
	out             *outbound.Service
	audit           store.AuditStore
	log             *slog.Logger
	now             func() time.Time
	sandbox         string
	sandboxUpload   func(der []byte) error
	sandboxRegister func(tenant, environment, clientID string) error
	sandboxInput    *service.ConnectionInput
	authorityHost   string

	base  *template.Template            // layout and partials, for fragments
	views map[string]*template.Template // one per view, layout included
	mux   *http.ServeMux

	drafts  *draftStore
	doctors *runStore // doctor re-runs of stored connections, by connection ID
	samples *sampler
	tail    *changeTail
}

// New returns the UI handler. It parses every template once; an error means a broken
// template, not bad input.
func New(opt Options) (http.Handler, error) {
	if opt.Service == nil {
		return nil, errors.New("ui: Options.Service is required")
	}
	h := &handler{
		svc:             opt.Service,
		out:             opt.Outbound,
		audit:           opt.Audit,
		log:             opt.Logger,
		now:             opt.Now,
		sandbox:         opt.SandboxNote,
		sandboxUpload:   opt.SandboxUpload,
		sandboxRegister: opt.SandboxRegisterBC,
		sandboxInput:    opt.SandboxInput,
		authorityHost:   opt.AuthorityHost,
		endpoints:       opt.Endpoints,
		doctors:         &runStore{runs: map[string]*doctorRun{}},
		samples:         &sampler{series: map[string][]sample{}},
		tail:            &changeTail{},
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.authorityHost == "" {
		h.authorityHost = guide.DefaultAuthorityHost
	}
	ttl := opt.DraftTTL
	if ttl <= 0 {
		ttl = 30 * time.Minute
	}
	certTTL := opt.DraftCertificateTTL
	if certTTL <= 0 {
		certTTL = DefaultDraftCertificateTTL
	}
	h.drafts = &draftStore{ttl: ttl, certTTL: certTTL, now: h.now, m: map[string]*draft{}}
	if err := h.parse(); err != nil {
		return nil, err
	}
	h.routes()
	return h, nil
}

// ContentSecurityPolicy is the policy of every UI page: scripts, styles, requests and
// form posts only from this origin, nothing inline, no eval, no framing. The templates
// hold no inline script, style or event handler, and htmx is told not to insert its
// indicator <style> (the htmx-config meta tag in the layout).
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Security-Policy", ContentSecurityPolicy)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "same-origin")
	if _, pattern := h.mux.Handler(r); pattern == "" {
		// No route: the mux answers 404, or 405 for a path known with other methods.
		// Its 404 is plain text; people get the styled page instead.
		c := &notFoundCatcher{ResponseWriter: w}
		h.mux.ServeHTTP(c, r)
		if c.caught {
			h.notFound(w, r)
		}
		return
	}
	h.mux.ServeHTTP(w, r)
}

// notFoundCatcher swallows a 404 answer so that the styled page can replace it.
type notFoundCatcher struct {
	http.ResponseWriter
	caught bool
}

func (c *notFoundCatcher) WriteHeader(code int) {
	if code == http.StatusNotFound {
		c.caught = true
		return
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *notFoundCatcher) Write(b []byte) (int, error) {
	if c.caught {
		return len(b), nil
	}
	return c.ResponseWriter.Write(b)
}

// notFound is the styled 404 page.
func (h *handler) notFound(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusNotFound, "notfound", page{Title: "Page not found", Data: r.URL.Path})
}

// Public serves what a browser may fetch before signing in, which holds nothing secret:
// the stylesheet, htmx and the icon under /static/, and /favicon.ico (a redirect to the
// SVG icon, for browsers that ask for it without reading the page). The sign-in pages use
// it, so they look like the rest of the UI.
func Public() http.Handler {
	m := http.NewServeMux()
	static, _ := fs.Sub(files, "static")
	m.Handle("GET /static/", http.StripPrefix("/static/", cacheStatic(http.FileServerFS(static))))
	m.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=86400")
		http.Redirect(w, r, "/static/favicon.svg", http.StatusMovedPermanently)
	})
	return m
}

func (h *handler) routes() {
	m := http.NewServeMux()
	public := Public()
	m.Handle("GET /static/", public)
	m.Handle("GET /favicon.ico", public)

	m.HandleFunc("GET /{$}", h.connections)
	m.HandleFunc("GET /connections/{id}", h.connection)
	m.HandleFunc("GET /connections/{id}/live", h.connectionLive)
	m.HandleFunc("POST /connections/{id}/doctor", h.connectionDoctor)
	m.HandleFunc("GET /connections/{id}/doctor", h.connectionDoctorProgress)
	m.HandleFunc("POST /connections/{id}/pause", h.connectionPause)
	m.HandleFunc("POST /connections/{id}/resume", h.connectionPause)
	m.HandleFunc("POST /connections/{id}/resync", h.connectionResync)
	m.HandleFunc("POST /connections/{id}/schedule", h.connectionSchedule)
	m.HandleFunc("POST /connections/{id}/rotate", h.connectionRotate)
	m.HandleFunc("POST /connections/{id}/certificate", h.connectionCertificate)
	m.HandleFunc("GET /connections/{id}/certificates/{file}", h.connectionCertificateFile)
	m.HandleFunc("POST /connections/{id}/certificate/sandbox-upload", h.connectionSandboxUpload)
	m.HandleFunc("POST /connections/{id}/activate", h.connectionActivate)
	m.HandleFunc("GET /connections/{id}/permission-set.al", h.connectionPermset)
	m.HandleFunc("GET /connections/{id}/data/{set}", h.dataBrowser)
	m.HandleFunc("GET /connections/{id}/remove", h.connectionRemove)
	m.HandleFunc("POST /connections/{id}/remove", h.connectionRemovePost)

	m.HandleFunc("GET /webhooks", h.webhooks)
	m.HandleFunc("GET /audit", h.auditLog)
	m.HandleFunc("POST /webhooks/{eid}/test", h.webhookTest)
	m.HandleFunc("POST /webhooks/{eid}/enable", h.webhookEnable)
	m.HandleFunc("POST /webhooks/{eid}/disable", h.webhookDisable)
	m.HandleFunc("POST /webhooks/deliveries/{did}/replay", h.webhookReplay)

	m.HandleFunc("GET /wizard", h.wizardStart)
	m.HandleFunc("POST /wizard", h.wizardStartPost)
	m.HandleFunc("GET /wizard/step/{n}", h.wizardStep)
	m.HandleFunc("POST /wizard/step/{n}", h.wizardStepPost)
	m.HandleFunc("POST /wizard/validate", h.wizardValidate)
	m.HandleFunc("GET /wizard/permission-set.al", h.wizardPermset)
	m.HandleFunc("POST /wizard/certificate", h.wizardCertificate)
	m.HandleFunc("GET /wizard/certificate.cer", h.wizardCertificateFile)
	m.HandleFunc("GET /wizard/certificate.pem", h.wizardCertificateFile)
	m.HandleFunc("POST /wizard/certificate/sandbox-upload", h.wizardSandboxUpload)
	m.HandleFunc("GET /wizard/check", h.wizardCheck)
	m.HandleFunc("POST /wizard/check", h.wizardCheckRun)
	m.HandleFunc("GET /wizard/progress", h.wizardProgress)
	m.HandleFunc("GET /wizard/company", h.wizardCompany)
	m.HandleFunc("POST /wizard/finish", h.wizardFinish)

	m.HandleFunc("GET /wizard/express", h.expressStart)
	m.HandleFunc("POST /wizard/express", h.expressCreate)
	m.HandleFunc("GET /wizard/express/{id}", h.expressPage)
	m.HandleFunc("POST /wizard/express/{id}/check", h.expressCheck)
	m.HandleFunc("POST /wizard/express/{id}/sync", h.expressSync)
	m.HandleFunc("POST /wizard/express/{id}/sandbox-register", h.expressSandboxRegister)
	h.mux = m
}

func cacheStatic(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		next.ServeHTTP(w, r)
	})
}

// parse reads the layout and partials once, then one template set per view
// (miniflux's engine pattern).
func (h *handler) parse() error {
	base, err := template.New("").Funcs(funcs).ParseFS(files, "templates/layout.html", "templates/partials/*.html")
	if err != nil {
		return fmt.Errorf("ui: parse layout: %w", err)
	}
	views, err := fs.Glob(files, "templates/views/*.html")
	if err != nil {
		return err
	}
	h.base = base
	h.views = map[string]*template.Template{}
	for _, v := range views {
		t, err := base.Clone()
		if err != nil {
			return err
		}
		if _, err := t.ParseFS(files, v); err != nil {
			return fmt.Errorf("ui: parse %s: %w", v, err)
		}
		h.views[strings.TrimSuffix(path.Base(v), ".html")] = t
	}
	return nil
}

var funcs = template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return t.UTC().Format("2006-01-02 15:04:05") + " UTC"
	},
	"date": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.Format("2006-01-02")
	},
	"join": strings.Join,
	"has": func(list []string, s string) bool {
		for _, v := range list {
			if v == s {
				return true
			}
		}
		return false
	},
	"seconds": func(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) },
	"add":     func(a, b int) int { return a + b },
	// plural is a count with its noun: {{plural .Rows "row" "rows"}} is "1 row" or "3 rows".
	"plural": func(n any, one, many string) (string, error) {
		switch n := n.(type) {
		case int:
			return plural(n, one, many), nil
		case int64:
			return plural(n, one, many), nil
		}
		return "", fmt.Errorf("plural: %T is not a count", n)
	},
	// dict passes named arguments to a partial: dict "Key" value "Key" value ...
	"dict": func(kv ...any) (map[string]any, error) {
		if len(kv)%2 != 0 {
			return nil, errors.New("dict: odd number of arguments")
		}
		m := make(map[string]any, len(kv)/2)
		for i := 0; i < len(kv); i += 2 {
			k, ok := kv[i].(string)
			if !ok {
				return nil, fmt.Errorf("dict: key %v is not a string", kv[i])
			}
			m[k] = kv[i+1]
		}
		return m, nil
	},
}

// page is what the layout renders.
type page struct {
	Title   string
	Nav     string // "connections", "wizard", "webhooks" or "audit"
	Sandbox string
	Flash   string
	Error   string
	Data    any
}

// render executes a view inside the layout. It buffers so a template error never sends
// half a page.
func (h *handler) render(w http.ResponseWriter, r *http.Request, status int, view string, p page) {
	t, ok := h.views[view]
	if !ok {
		h.log.Error("ui: unknown view", "view", view)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	p.Sandbox = h.sandbox
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		h.log.Error("ui: render", "view", view, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = io.Copy(w, &buf)
}

// fragment executes a partial (for htmx swaps).
func (h *handler) fragment(w http.ResponseWriter, status int, name string, data any) {
	var buf bytes.Buffer
	if err := h.base.ExecuteTemplate(&buf, name, data); err != nil {
		h.log.Error("ui: render fragment", "fragment", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = io.Copy(w, &buf)
}

// fail renders an error page for a service error: not found is 404, anything else 502
// (the service talks to Entra and BC) with the error's message, which the service keeps
// free of secrets.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusBadGateway
	title := "Something went wrong"
	msg := err.Error()
	if errors.Is(err, store.ErrNotFound) {
		status, title = http.StatusNotFound, "Not found"
		msg = "No such connection. It may have been deleted."
		if strings.HasPrefix(r.URL.Path, "/webhooks/") {
			msg = "No such webhook endpoint or delivery. It may have been deleted."
		}
	}
	if errors.Is(err, service.ErrSyncQueued) {
		status, title = http.StatusConflict, "Not now"
	}
	h.log.Warn("ui: request failed", "path", r.URL.Path, "status", status, "err", err)
	h.render(w, r, status, "error", page{Title: title, Data: errorData{Status: status, Message: msg}})
}

// errorData is what the error page shows.
type errorData struct {
	Status  int
	Message string
}
