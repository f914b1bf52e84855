// Package web is bcconnector's HTTP server: it composes the JSON API (package web/api),
// the web UI (package web/ui) behind the admin sign-in of this package, the Business
// Central webhook receiver, health checks and Prometheus metrics, with a request ID,
// an access log and panic recovery around every call.
//
// Routes: /api/v1/ (API, bearer tokens), /webhooks/bc (BC notifications, no auth: the
// receiver checks each subscription's clientState), /healthz, /readyz, /metrics (an API
// token for all connections; or unauthenticated on a private address, MetricsServer),
// /login, /logout, /setup (first run, with the one-time token of Auth.SetupToken), and /
// (the UI, signed-in admins).
package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/web/api"
	"github.com/bizzjoiner/bcconnector/web/ui"
)

// Options configures New. API, UI and Webhooks may be nil (the route then answers 404,
// or for the UI a placeholder page).
type Options struct {
	API      http.Handler
	UI       http.Handler
	Webhooks http.Handler
	// Consent is express setup's admin-consent callback (ui.ConsentCallback), served at
	// GET /consent/callback outside the login (the customer's admin has none); nil: 404.
	Consent http.Handler
	// Auth protects the UI; nil leaves the UI open (tests only).
	Auth *Auth
	// Metrics counts requests and serves /metrics to callers with an API token of
	// MetricsTokens that covers every connection (the metrics name them all); nil
	// disables both. Without MetricsTokens, /metrics is not served here (serve it on a
	// private address with MetricsServer).
	Metrics       *Metrics
	MetricsTokens store.TokenStore
	// Ready reports whether the server can do its work (store reachable, jobs running);
	// nil means always ready.
	Ready func() error
	// Logger receives the access log; default discard.
	Logger *slog.Logger
}

// Server is bcconnector's HTTP handler.
type Server struct {
	h   http.Handler
	log *slog.Logger
}

// RequestIDHeader carries the request ID, taken from the caller when it is sane or made
// up, echoed in the response and logged with every line of the call.
const RequestIDHeader = "X-Request-ID"

// New composes the server.
func New(opt Options) *Server {
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	area := func(name string, h http.Handler) http.Handler {
		if h == nil {
			h = http.NotFoundHandler()
		}
		if opt.Metrics == nil {
			return h
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sw := statusOf(w)
			start := time.Now()
			h.ServeHTTP(sw, r)
			opt.Metrics.served(name, r.Method, sw.code(), time.Since(start))
		})
	}
	mux.Handle(api.Prefix+"/", area("api", opt.API))
	mux.Handle("/webhooks/bc", area("webhooks", opt.Webhooks))
	mux.Handle("GET /consent/callback", area("consent", opt.Consent))
	mux.Handle("GET /healthz", area("ops", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("ok\n"))
	})))
	mux.Handle("GET /readyz", area("ops", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		if opt.Ready != nil {
			if err := opt.Ready(); err != nil {
				log.Warn("not ready", "err", err)
				w.WriteHeader(http.StatusServiceUnavailable)
				_, _ = w.Write([]byte("not ready\n"))
				return
			}
		}
		_, _ = w.Write([]byte("ready\n"))
	})))
	if opt.Metrics != nil && opt.MetricsTokens != nil {
		mux.Handle("GET /metrics", area("ops", metricsAuth(opt.MetricsTokens, log, opt.Metrics.Handler())))
	}
	// The UI's stylesheet, script and icon hold nothing secret: the sign-in pages use them.
	public := area("ui", ui.Public())
	mux.Handle("GET /static/", public)
	mux.Handle("GET /favicon.ico", public)
	app := opt.UI
	if app == nil {
		app = http.HandlerFunc(placeholder)
	}
	if opt.Auth != nil {
		mux.Handle("/login", area("ui", formsOnly(opt.Auth.LoginHandler())))
		mux.Handle("/logout", area("ui", formsOnly(opt.Auth.LogoutHandler())))
		mux.Handle("/setup", area("ui", formsOnly(opt.Auth.SetupHandler())))
		app = opt.Auth.Protect(app)
	}
	mux.Handle("/", area("ui", formsOnly(app)))
	return &Server{h: recoverer(log, requestLog(log, securityHeaders(mux))), log: log}
}

// MetricsServer serves only GET /metrics, without authentication, for a private
// address (serve --metrics-listen), with the same request IDs, log and recovery.
func MetricsServer(m *Metrics, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	return &Server{h: recoverer(log, requestLog(log, securityHeaders(mux))), log: log}
}

// metricsAuth lets through callers with a bearer API token for all connections.
func metricsAuth(tokens store.TokenStore, log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, err := api.Authenticate(r.Context(), tokens, r)
		switch {
		case errors.Is(err, api.ErrNoBearer):
			w.Header().Set("WWW-Authenticate", `Bearer realm="bcconnector"`)
			http.Error(w, "send Authorization: Bearer bcc_… with an API token for all connections (`bcconnector token create`), or scrape the address of serve --metrics-listen", http.StatusUnauthorized)
			return
		case err != nil:
			if !errors.Is(err, store.ErrNotFound) {
				log.Error("metrics: token check failed", "err", err)
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="bcconnector", error="invalid_token"`)
			http.Error(w, "the token is unknown or revoked", http.StatusUnauthorized)
			return
		}
		if t.Connections != nil {
			http.Error(w, "the metrics name every connection: use an API token for all connections", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func placeholder(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write([]byte(`<!doctype html><title>bcconnector</title><h1>bcconnector</h1><p>The web UI is not built into this binary. The JSON API is at <a href="/api/v1/openapi.json">/api/v1</a>.</p><form method="post" action="/logout"><button>Sign out</button></form>`))
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.h.ServeHTTP(w, r) }

// Serve serves on ln until ctx ends, then shuts down gracefully: it stops accepting,
// waits up to grace for calls in flight (long-polls and event streams end with the
// context), and returns.
func (s *Server) Serve(ctx context.Context, ln net.Listener, grace time.Duration) error {
	base, cancelBase := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelBase()
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		BaseContext: func(net.Listener) context.Context { return base }, ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	cancelBase() // end long-polls and event streams
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	err := hs.Shutdown(sctx)
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

type ridKey struct{}

// RequestID returns the request's ID.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(ridKey{}).(string)
	return id
}

var saneID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// requestLog gives every call a request ID and writes one access log line; the query
// string is left out (it may carry filters with customer data).
func requestLog(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(RequestIDHeader)
		if !saneID.MatchString(id) {
			b := make([]byte, 8)
			_, _ = rand.Read(b)
			id = hex.EncodeToString(b)
		}
		w.Header().Set(RequestIDHeader, id)
		start := time.Now()
		sw := statusOf(w)
		next.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), ridKey{}, id)))
		log.LogAttrs(r.Context(), slog.LevelInfo, "http", slog.String("requestId", id), slog.String("method", r.Method),
			slog.String("path", r.URL.Path), slog.Int("status", sw.code()), slog.Int64("bytes", sw.n),
			slog.Int64("durationMs", time.Since(start).Milliseconds()), slog.String("remote", r.RemoteAddr))
	})
}

func recoverer(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				log.Error("panic serving a request", "path", r.URL.Path, "panic", p, "requestId", w.Header().Get(RequestIDHeader))
				http.Error(w, "internal error", http.StatusInternalServerError)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// MaxFormBytes bounds the body of a request to the sign-in pages and the UI, whose
// forms hold a few short fields.
const MaxFormBytes = 64 << 10

// formsOnly admits a request body only as an application/x-www-form-urlencoded form of at
// most MaxFormBytes, and parses it here, before anything else sees the request: anything
// else is 415 (multipart in particular, whose parts net/http spools to temporary files,
// and which nobody would clean up when parsed on a request copy) and a larger form 413.
func formsOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ct := r.Header.Get("Content-Type")
		if r.ContentLength != 0 || ct != "" {
			if mt, _, _ := mime.ParseMediaType(ct); mt != "application/x-www-form-urlencoded" {
				w.Header().Set("Accept-Post", "application/x-www-form-urlencoded")
				http.Error(w, "send the form as application/x-www-form-urlencoded (got "+strconv.Quote(ct)+")", http.StatusUnsupportedMediaType)
				return
			}
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxFormBytes)
		if err := r.ParseForm(); err != nil {
			if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
				http.Error(w, fmt.Sprintf("the form is larger than %d bytes", MaxFormBytes), http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(w, "the form cannot be read: "+err.Error(), http.StatusBadRequest)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// securityHeaders are set on every response; the Content-Security-Policy is the UI's
// (nothing inline, everything from this origin), which the sign-in pages also meet.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", ui.ContentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()")
		next.ServeHTTP(w, r)
	})
}

// statusWriter records the status and size of a response; it keeps Flush working
// (server-sent events) through Unwrap.
type statusWriter struct {
	http.ResponseWriter
	status int
	n      int64
}

func statusOf(w http.ResponseWriter) *statusWriter {
	if sw, ok := w.(*statusWriter); ok {
		return sw
	}
	return &statusWriter{ResponseWriter: w}
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.n += int64(n)
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

func itoa(n int) string {
	const digits = "0123456789"
	if n >= 100 && n < 1000 {
		return string([]byte{digits[n/100], digits[n/10%10], digits[n%10]})
	}
	return "other"
}
