package emulator

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/bizzjoiner/bcconnector/emulator/idp"
	"github.com/bizzjoiner/bcconnector/emulator/throttle"
)

// apiKind is which API family a request addresses (bc-entra-facts §4.1).
type apiKind int

const (
	apiStandard   apiKind = iota // /api/v2.0
	apiCustom                    // /api/{publisher}/{group}/{version}
	apiAutomation                // /api/microsoft/automation/v2.0
)

// requestContext is what a BC request resolved to before its handler runs.
type requestContext struct {
	ctx       context.Context
	tenant    *bcTenant
	tenantSeg string // the tenant segment as sent ("" when omitted)
	env       *environment
	app       *BCApp // nil for internal calls (mutator, tests)
	appID     string
	roles     []string // roles claim of the token
	kind      apiKind
	custom    *customAPI
	prefix    string // "api/v2.0", "api/contoso/inventory/v1.0", ...
	baseURL   string // absolute URL of the API root, e.g. https://host/v2.0/{t}/{env}/api/v2.0
	now       time.Time
	txn       *txn // set inside a transactional $batch
	batch     bool // inside a $batch (no nested $batch, no extra throttling)
	host      string
}

// limitKey is what BC counts its limits per: the app (its service principal) in one
// environment. bc-entra-facts §5: the OData/API limits are per user, app users alike, and
// "limits are per environment, not per company" [DOC]: the same app in two environments
// has two budgets. Stats by app (AppLimitStats) add its environments up.
func limitKey(appID string, env *environment) string {
	k := strings.ToLower(appID)
	if env != nil {
		k += "@" + strings.ToLower(env.TenantID) + "/" + strings.ToLower(env.Name)
	}
	return k
}

// AppLimitStats is the limiter's Stats of an app (client ID) over its environments: counts
// and busy time added up, InFlight, Queued and InWindow added, MaxOpen the highest of one
// environment (each environment has its own 5 slots and 95 queued).
func (e *Emulator) AppLimitStats(clientID string) throttle.Stats {
	var out throttle.Stats
	for _, k := range e.limiter.Keys() {
		if app, _, _ := strings.Cut(k, "@"); app != strings.ToLower(clientID) {
			continue
		}
		s := e.limiter.Stats(k)
		out.InFlight += s.InFlight
		out.Queued += s.Queued
		out.InWindow += s.InWindow
		out.Admitted += s.Admitted
		out.Rejected429 += s.Rejected429
		out.Rejected503 += s.Rejected503
		out.Canceled += s.Canceled
		out.MaxOpen = max(out.MaxOpen, s.MaxOpen)
		out.Busy += s.Busy
	}
	return out
}

// LimitedApps lists the client IDs (lower case) the limiter has seen, sorted.
func (e *Emulator) LimitedApps() []string {
	var out []string
	for _, k := range e.limiter.Keys() {
		app, _, _ := strings.Cut(k, "@")
		if !slices.Contains(out, app) {
			out = append(out, app)
		}
	}
	slices.Sort(out)
	return out
}

// serveBC handles /v2.0/{tenant?}/{environment}/api/... (bc-entra-facts §4.1).
func (e *Emulator) serveBC(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	e.stats.requests.Add(1)
	segs := strings.Split(strings.TrimPrefix(r.URL.Path, "/v2.0/"), "/")
	var tenantSeg, envName string
	var rest []string
	switch {
	case len(segs) >= 2 && segs[1] == "api":
		envName, rest = segs[0], segs[2:]
	case len(segs) >= 3 && segs[2] == "api":
		tenantSeg, envName, rest = segs[0], segs[1], segs[3:]
	default:
		writeError(w, errf(http.StatusNotFound, codeNotFound, "No HTTP resource was found that matches the request URI '%s'.", requestURL(r)))
		return
	}
	rc, aerr := e.authenticate(r, tenantSeg, envName)
	if aerr != nil {
		if aerr.Status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer authorization_uri="https://`+r.Host+`/common/oauth2/authorize", resource_id="`+idp.BCResourceURI+`"`)
		}
		writeError(w, aerr)
		e.logRequest(r, aerr.Status, start, "")
		return
	}
	if aerr := e.resolveAPI(rc, r, envName, &rest); aerr != nil {
		writeError(w, aerr)
		e.logRequest(r, aerr.Status, start, rc.appID)
		return
	}
	release, rej := e.limiter.Acquire(r.Context(), limitKey(rc.appID, rc.env))
	if rej != nil {
		e.stats.throttled.Add(1)
		writeError(w, &apiError{Status: rej.Status, Code: rej.Code, Message: rej.Message, RetryAfter: rej.RetryAfter})
		e.logRequest(r, rej.Status, start, rc.appID)
		return
	}
	defer release()
	e.stats.countResource(rc.appID, rest)
	// bc-entra-facts §5: the latency model is the time a request holds one of the app's
	// processing slots; the per-row part is spent while rows stream out. It is BC's whole
	// server time, so the emulator's own work (generating and encoding rows) counts
	// towards it rather than adding to it: the request is held until the time the model
	// gives, measured from the slot's start, not for that time after each piece of work.
	clk := &serverClock{due: time.Now().Add(e.cfg.Latency.Overhead)}
	r = r.WithContext(context.WithValue(r.Context(), serverClockKey{}, clk))
	e.spendUntil(r.Context(), clk.due)
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	e.serveOData(sw, r, rc, rest)
	e.logRequest(r, sw.status, start, rc.appID)
}

// authenticate validates the bearer token and the BC-side registration of the app: the
// misconfiguration matrix of bc-entra-facts §3.4.
func (e *Emulator) authenticate(r *http.Request, tenantSeg, envName string) (*requestContext, *apiError) {
	auth := r.Header.Get("Authorization")
	raw, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		raw, ok = strings.CutPrefix(auth, "bearer ")
	}
	if !ok || strings.TrimSpace(raw) == "" {
		return nil, errf(http.StatusUnauthorized, codeGatewayUnauthorized, msgGatewayRejected)
	}
	claims, err := e.verify(strings.TrimSpace(raw))
	if err != nil {
		// Expired or forged tokens are turned away by the gateway (§3.4, body UNCONFIRMED).
		return nil, errf(http.StatusUnauthorized, codeGatewayUnauthorized, msgGatewayRejected)
	}
	if claims.Aud != idp.BCResourceURI && claims.Aud != idp.BCResourceID && claims.Aud != idp.BCResourceURI+"/" {
		return nil, errf(http.StatusUnauthorized, codeGatewayUnauthorized, msgGatewayRejected)
	}
	tid := claims.TID
	if tenantSeg != "" {
		t, ok := e.dir.LookupTenant(tenantSeg)
		if !ok || !strings.EqualFold(t.ID, claims.TID) {
			// Tenant in URL differs from the token's tid (§3.4: 401, UNCONFIRMED body).
			return nil, errf(http.StatusUnauthorized, codeInvalidCredentials, msgInvalidCredentials)
		}
	}
	bt := e.tenant(tid)
	if bt == nil {
		return nil, errf(http.StatusUnauthorized, codeInvalidCredentials, msgInvalidCredentials)
	}
	env := bt.envNamed(envName, e.cfg.CaseSensitiveEnvironments)
	if env == nil {
		// §3.4: wrong environment name → 404 from the gateway (body UNCONFIRMED).
		return nil, errf(http.StatusNotFound, "EnvironmentNotFound", "The environment '%s' does not exist in tenant '%s'.", envName, tid)
	}
	rc := &requestContext{
		ctx:       r.Context(),
		tenant:    bt,
		tenantSeg: tenantSeg,
		env:       env,
		appID:     claims.AppID,
		now:       e.cfg.Now().UTC(),
		host:      r.Host,
	}
	rc.roles = claims.Roles
	app, ok := env.app(claims.AppID)
	// §3.4: no roles, app not on the Microsoft Entra Applications page, or State=Disabled all
	// answer the same 401; the cause is not visible to the client.
	if !ok || !app.Enabled {
		return nil, errf(http.StatusUnauthorized, codeInvalidCredentials, msgInvalidCredentials)
	}
	rc.app = &app
	return rc, nil
}

// resolveAPI picks the API family from the path after /api/ and checks the role it needs.
func (e *Emulator) resolveAPI(rc *requestContext, r *http.Request, envName string, rest *[]string) *apiError {
	segs := *rest
	root := "https://" + r.Host + "/v2.0/"
	if rc.tenantSeg != "" {
		root += rc.tenantSeg + "/"
	}
	root += envName + "/api/"
	role := idp.RoleAPIReadWriteAll
	switch {
	case len(segs) >= 1 && segs[0] == "v2.0":
		rc.kind, rc.prefix, *rest = apiStandard, "api/v2.0", segs[1:]
	case len(segs) >= 3 && segs[0] == "microsoft" && segs[1] == "automation" && segs[2] == "v2.0":
		rc.kind, rc.prefix, *rest = apiAutomation, "api/microsoft/automation/v2.0", segs[3:]
		role = idp.RoleAutomationReadWriteAll
	case len(segs) >= 3:
		api := e.customAPI(segs[0], segs[1], segs[2])
		if api == nil {
			return errf(http.StatusNotFound, codeNotFound, "No HTTP resource was found that matches the request URI '%s'.", requestURL(r))
		}
		rc.kind, rc.custom, rc.prefix, *rest = apiCustom, api, "api/"+strings.Join(segs[:3], "/"), segs[3:]
	default:
		return errf(http.StatusNotFound, codeNotFound, "No HTTP resource was found that matches the request URI '%s'.", requestURL(r))
	}
	rc.baseURL = root + strings.TrimPrefix(rc.prefix, "api/")
	if !hasRole(rc.roles, role) {
		// §0.1/§3.4: a token without the application role (delegated-only permission or no
		// admin consent) is rejected like an unknown app.
		return errf(http.StatusUnauthorized, codeInvalidCredentials, msgInvalidCredentials)
	}
	return nil
}

func hasRole(roles []string, want string) bool {
	for _, r := range roles {
		if r == want {
			return true
		}
	}
	return false
}

// serverClock is the simulated server time of one request: when the latency model says
// its work so far is done.
type serverClock struct{ due time.Time }

type serverClockKey struct{}

// spendUntil holds the caller until the simulated server time due (the latency model).
func (e *Emulator) spendUntil(ctx context.Context, due time.Time) {
	e.spend(ctx, time.Until(due))
}

// spend holds the caller for d of simulated server time (the latency model).
func (e *Emulator) spend(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

func requestURL(r *http.Request) string {
	return "https://" + r.Host + r.URL.RequestURI()
}

// statusWriter remembers the status for the request log.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (s *statusWriter) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(b)
}

func (s *statusWriter) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (e *Emulator) logRequest(r *http.Request, status int, start time.Time, appID string) {
	e.cfg.Logger.LogAttrs(r.Context(), levelFor(status), "bc request",
		slogStr("method", r.Method), slogStr("path", r.URL.Path), slogInt("status", status),
		slogStr("app", appID), slogDur("elapsed", time.Since(start)))
}

// verify checks a bearer token, remembering tokens whose signature was already verified
// (an RSA check per request would dominate the emulator's CPU); expiry is checked every
// time against the clock.
func (e *Emulator) verify(raw string) (*idp.Claims, error) {
	e.tokenMu.Lock()
	c, ok := e.tokenCache[raw]
	e.tokenMu.Unlock()
	if ok && e.cfg.Now().Unix() < c.EXP {
		return c, nil
	}
	c, err := e.idp.Verify(raw)
	if err != nil {
		return nil, err
	}
	e.tokenMu.Lock()
	if len(e.tokenCache) > 1000 {
		clear(e.tokenCache)
	}
	e.tokenCache[raw] = c
	e.tokenMu.Unlock()
	return c, nil
}
