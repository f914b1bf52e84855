package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bizzjoiner/bcconnector/store"
	"golang.org/x/crypto/argon2"
)

// SessionCookie is the name of the UI's session cookie.
const SessionCookie = "bcc_session"

// Argon2id parameters (OWASP's second recommended set: 19 MiB, 2 passes, 1 lane).
const (
	argonMemory  = 19 * 1024
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
)

// HashPassword returns an Argon2id PHC string for a password.
func HashPassword(password string) (string, error) {
	if len(password) < 12 {
		return "", errors.New("the password must have at least 12 characters")
	}
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// CheckPassword reports whether password matches a PHC string from HashPassword, in
// constant time.
func CheckPassword(phc, password string) bool {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m > 1<<20 || t > 10 || p == 0 {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// AuthOptions configures NewAuth.
type AuthOptions struct {
	// Users keeps admins and sessions. Required.
	Users store.UserStore
	// SessionTTL is how long a session lasts; default 12h.
	SessionTTL time.Duration
	// SecureCookies sets the Secure flag (serve over https); default false for loopback http.
	SecureCookies bool
	// FreeFailures is how many failed sign-ins a source (an IPv4 address or an IPv6 /64)
	// has before it must wait between attempts: BaseDelay, doubled with every further
	// failure up to MaxDelay; a success clears the source, and so does ForgetAfter without
	// an attempt. Limits are per source only, so failures elsewhere never lock the real
	// admin out. Defaults 5, 1s, 15 minutes and 24 hours.
	FreeFailures int
	BaseDelay    time.Duration
	MaxDelay     time.Duration
	ForgetAfter  time.Duration
	// Attempts keeps the failures per source; default in memory (MemoryAttempts), which
	// counts for one process only: give the store when several instances serve.
	Attempts AttemptStore
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names the source;
	// without them the peer address is the source.
	TrustedProxies []netip.Prefix
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger receives login events (never passwords); default discard.
	Logger *slog.Logger
}

// Auth protects the web UI: admin accounts, sessions in HttpOnly SameSite=Lax cookies,
// cross-origin protection of every unsafe request (http.CrossOriginProtection), sign-in
// throttling per source, and a first-run setup page that needs a one-time token.
type Auth struct {
	opt      AuthOptions
	csrf     *http.CrossOriginProtection
	throttle *throttle

	setupMu   sync.Mutex
	setupHash []byte // SHA-256 of the open setup token; nil when none is open
}

// NewAuth returns the UI's authentication.
func NewAuth(opt AuthOptions) *Auth {
	if opt.SessionTTL <= 0 {
		opt.SessionTTL = 12 * time.Hour
	}
	if opt.FreeFailures <= 0 {
		opt.FreeFailures = 5
	}
	if opt.BaseDelay <= 0 {
		opt.BaseDelay = time.Second
	}
	if opt.MaxDelay <= 0 {
		opt.MaxDelay = 15 * time.Minute
	}
	if opt.ForgetAfter <= 0 {
		opt.ForgetAfter = 24 * time.Hour
	}
	if opt.Attempts == nil {
		opt.Attempts = &MemoryAttempts{}
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	return &Auth{opt: opt, csrf: http.NewCrossOriginProtection(), throttle: &throttle{store: opt.Attempts, free: opt.FreeFailures,
		base: opt.BaseDelay, max: opt.MaxDelay, forget: opt.ForgetAfter, now: opt.Now, trusted: opt.TrustedProxies}}
}

type userKey struct{}

// User returns the signed-in admin of a request that went through Protect.
func User(r *http.Request) (string, bool) {
	u, ok := r.Context().Value(userKey{}).(string)
	return u, ok
}

// Protect lets only signed-in admins reach next (others are sent to /login, or /setup
// when there is no admin yet) and refuses cross-origin unsafe requests.
func (a *Auth) Protect(next http.Handler) http.Handler {
	return a.csrf.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if user, ok := a.session(r); ok {
			// What the admin changes, the audit log attributes to the admin's name.
			ctx := store.WithActor(context.WithValue(r.Context(), userKey{}, user), store.Actor{Kind: store.ActorAdmin, Name: user})
			next.ServeHTTP(w, r.WithContext(ctx))
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, "sign in first", http.StatusUnauthorized)
			return
		}
		if n, err := a.opt.Users.CountUsers(r.Context()); err == nil && n == 0 {
			http.Redirect(w, r, "/setup", http.StatusSeeOther)
			return
		}
		http.Redirect(w, r, "/login?next="+safeNext(r.URL.RequestURI()), http.StatusSeeOther)
	}))
}

func (a *Auth) session(r *http.Request) (string, bool) {
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return "", false
	}
	s, err := a.opt.Users.GetSession(r.Context(), store.HashToken(c.Value))
	if err != nil {
		return "", false
	}
	return s.User, true
}

// safeNext keeps a redirect target on this site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	return next
}

// pageTmpl is the sign-in, first-run and sign-out page. It looks like the UI: it uses
// the UI's stylesheet and icon, which ui.Public serves before sign-in (the
// Content-Security-Policy allows no inline style).
var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}} · bcconnector</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/static/style.css">
</head><body class="signin">
<header class="top"><span class="brand">bcconnector</span></header>
<main><div class="card signin-card">
<h1>{{.Title}}</h1>{{if .Intro}}<p>{{.Intro}}</p>{{end}}{{if .Error}}<div class="problem" role="alert">{{.Error}}</div>{{end}}
<form method="post" action="{{.Action}}">{{if .Next}}<input type="hidden" name="next" value="{{.Next}}">{{end}}
{{if .Setup}}<div class="field"><label for="token">Setup token</label><input id="token" name="token" autocomplete="off" spellcheck="false" required></div>{{end}}
{{if not .Confirm}}<div class="field"><label for="name">Admin name</label><input id="name" name="name" autocomplete="username" required value="{{.Name}}"></div>
<div class="field"><label for="password">Password</label><input id="password" name="password" type="password" autocomplete="{{if .Setup}}new-password{{else}}current-password{{end}}" required></div>{{end}}
<div class="buttons"><button type="submit" class="primary">{{.Button}}</button></div></form>
</div></main></body></html>`))

type page struct {
	Title, Intro, Error, Action, Next, Name, Button string
	// Setup asks for the setup token too; Confirm asks for nothing but the button.
	Setup, Confirm bool
}

func render(w http.ResponseWriter, status int, p page) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = pageTmpl.Execute(w, p)
}

// unknownUserHash is checked against for a name that does not exist.
var unknownUserHash = sync.OnceValue(func() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	h, _ := HashPassword(base64.RawStdEncoding.EncodeToString(b))
	return h
})

// LoginHandler serves GET and POST /login.
func (a *Auth) LoginHandler() http.Handler {
	return a.csrf.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next := safeNext(r.FormValue("next"))
		p := page{Title: "Sign in", Action: "/login", Next: next, Button: "Sign in"}
		if r.Method != http.MethodPost {
			render(w, http.StatusOK, p)
			return
		}
		name := strings.TrimSpace(r.PostFormValue("name"))
		src := a.throttle.source(r)
		wait, err := a.throttle.begin(r.Context(), src)
		if err != nil {
			a.opt.Logger.Error("login throttle", "err", err)
			http.Error(w, "sign-in is unavailable; see the server log", http.StatusServiceUnavailable)
			return
		}
		if wait > 0 {
			secs := int((wait + time.Second - 1) / time.Second)
			a.opt.Logger.Warn("login throttled", "user", name, "source", src, "waitMs", wait.Milliseconds())
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			p.Error, p.Name = fmt.Sprintf("Too many failed sign-ins from your address. Try again in %d seconds.", secs), name
			render(w, http.StatusTooManyRequests, p)
			return
		}
		hash, err := a.opt.Users.UserPasswordHash(r.Context(), name)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			_ = a.throttle.undo(r.Context(), src)
			a.opt.Logger.Error("login: read the user", "err", err)
			http.Error(w, "sign-in is unavailable; see the server log", http.StatusServiceUnavailable)
			return
		}
		if err != nil {
			hash = unknownUserHash() // as slow as a known name: the timing does not tell names apart
		}
		if !CheckPassword(hash, r.PostFormValue("password")) || err != nil {
			a.opt.Logger.Info("login failed", "user", name, "source", src)
			p.Error, p.Name = "Wrong name or password.", name
			render(w, http.StatusUnauthorized, p)
			return
		}
		if err := a.throttle.succeeded(r.Context(), src); err != nil {
			a.opt.Logger.Warn("login throttle: clear the source", "err", err)
		}
		if err := a.startSession(w, r, name); err != nil {
			a.opt.Logger.Error("create session", "err", err)
			http.Error(w, "could not sign in; see the server log", http.StatusInternalServerError)
			return
		}
		a.opt.Logger.Info("login", "user", name, "source", src)
		http.Redirect(w, r, next, http.StatusSeeOther)
	}))
}

func (a *Auth) startSession(w http.ResponseWriter, r *http.Request, user string) error {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	id := base64.RawURLEncoding.EncodeToString(b)
	exp := a.opt.Now().Add(a.opt.SessionTTL)
	if err := a.opt.Users.CreateSession(r.Context(), store.Session{Hash: store.HashToken(id), User: user, ExpiresAt: exp}); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: id, Path: "/", Expires: exp, HttpOnly: true,
		Secure: a.opt.SecureCookies, SameSite: http.SameSiteLaxMode})
	return nil
}

// LogoutHandler serves /logout: POST ends the session; GET shows a button that does.
func (a *Auth) LogoutHandler() http.Handler {
	return a.csrf.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			render(w, http.StatusOK, page{Title: "Sign out", Intro: "End your session on this browser.", Action: "/logout", Button: "Sign out", Confirm: true})
			return
		}
		if c, err := r.Cookie(SessionCookie); err == nil {
			_ = a.opt.Users.DeleteSession(r.Context(), store.HashToken(c.Value))
		}
		http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
			Secure: a.opt.SecureCookies, SameSite: http.SameSiteLaxMode})
		http.Redirect(w, r, "/login", http.StatusSeeOther)
	}))
}

// SetupToken opens the first-run setup: while there is no admin, it returns a new
// one-time token that /setup asks for (it replaces an earlier one), and "" once an admin
// exists. Show it only where the operator sees it (serve prints it on its standard
// output, never in the log); creating the first admin consumes it.
func (a *Auth) SetupToken(ctx context.Context) (string, error) {
	n, err := a.opt.Users.CountUsers(ctx)
	if err != nil || n > 0 {
		return "", err
	}
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	tok := base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(tok))
	a.setupMu.Lock()
	a.setupHash = sum[:]
	a.setupMu.Unlock()
	return tok, nil
}

// SetupHandler serves /setup, the first-run page that creates the first admin: only
// while there is no admin, and only with the one-time token from SetupToken (a source
// address proves nothing: behind a proxy on the same host every request is local).
func (a *Auth) SetupHandler() http.Handler {
	return a.csrf.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := a.opt.Users.CountUsers(r.Context())
		if err != nil {
			http.Error(w, "store unavailable", http.StatusServiceUnavailable)
			return
		}
		if n > 0 {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		p := page{Title: "Create the first admin", Intro: "Nobody can sign in yet. Enter the setup token that `bcconnector serve` printed when it started, then choose the admin's name and a password of at least 12 characters.",
			Action: "/setup", Button: "Create admin", Setup: true}
		if r.Method != http.MethodPost {
			render(w, http.StatusOK, p)
			return
		}
		name := strings.TrimSpace(r.PostFormValue("name"))
		p.Name = name
		// One setup at a time: the token is checked and consumed together with the
		// creation, so two posts cannot both create an admin.
		a.setupMu.Lock()
		defer a.setupMu.Unlock()
		if a.setupHash == nil {
			p.Error = "No setup token is open. Restart `bcconnector serve` to print one, or run `bcconnector admin create --name NAME`."
			render(w, http.StatusForbidden, p)
			return
		}
		sum := sha256.Sum256([]byte(strings.TrimSpace(r.PostFormValue("token"))))
		if subtle.ConstantTimeCompare(sum[:], a.setupHash) != 1 {
			a.opt.Logger.Warn("setup with a wrong token", "source", a.throttle.source(r))
			p.Error = "Wrong setup token. Copy it from the output of `bcconnector serve` (the line that starts with \"No admin yet\")."
			render(w, http.StatusForbidden, p)
			return
		}
		if n, err := a.opt.Users.CountUsers(r.Context()); err != nil || n > 0 {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		hash, err := HashPassword(r.PostFormValue("password"))
		if err == nil && name == "" {
			err = errors.New("give the admin a name")
		}
		if err == nil {
			// The holder of the setup token becomes this admin: the audit log names them.
			err = a.opt.Users.CreateUser(store.WithActor(r.Context(), store.Actor{Kind: store.ActorAdmin, Name: name}), name, hash)
		}
		if err != nil {
			p.Error = err.Error()
			render(w, http.StatusUnprocessableEntity, p)
			return
		}
		a.setupHash = nil
		a.opt.Logger.Info("first admin created", "user", name)
		if err := a.startSession(w, r, name); err != nil {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	}))
}
