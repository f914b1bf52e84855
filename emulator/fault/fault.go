// Package fault injects the failures a Business Central client must survive into the
// emulator's HTTP handler: throttling (429), server and gateway errors (500, 502, 503, 504)
// with Retry-After, a connection reset in the middle of a body, a body that trickles in, a
// body that is not valid JSON, and an outage of the Entra token endpoint
// (bc-entra-facts §3.3, §5, §11 item 15).
//
// Faults come from [Rule]s, chosen either by probability (a deterministic random source
// when seeded) or by a scripted sequence per route, and can be added and removed while the
// emulator runs. [Parse] reads the --faults command-line syntax described by [Syntax].
package fault

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Kind is a kind of fault.
type Kind string

// Fault kinds. The status kinds answer with that status instead of calling the handler; the
// others let the handler answer and damage its response on the way out.
const (
	// KindOK is a step of a sequence that lets the request through untouched.
	KindOK Kind = "ok"

	Kind429 Kind = "429" // Too Many Requests, with Retry-After
	Kind500 Kind = "500" // Internal Server Error
	Kind502 Kind = "502" // Bad Gateway, with Retry-After (bc-entra-facts §3.3)
	Kind503 Kind = "503" // Service Unavailable, with Retry-After (bc-entra-facts §3.3)
	Kind504 Kind = "504" // Gateway Timeout

	// KindReset lets the handler answer, sends the status line, headers and the first
	// Options.ResetAfterBytes bytes of the body (half the body if it is shorter), then drops
	// the connection: the client sees an unexpected EOF (HTTP/1.1) or a stream reset (HTTP/2)
	// in the middle of the body.
	KindReset Kind = "reset"

	// KindSlow lets the handler answer, sends the status line and headers at once, then
	// sends the body in Options.SlowChunks pieces spread over Options.SlowDelay.
	KindSlow Kind = "slow"

	// KindMalformed lets the handler answer, keeps its status and headers (Content-Length
	// is corrected) and cuts the body to two thirds of its length, so a JSON body no longer
	// parses.
	KindMalformed Kind = "malformed"
)

// kinds lists the fault kinds a Rule can inject, in a stable order.
var kinds = []Kind{Kind429, Kind500, Kind502, Kind503, Kind504, KindReset, KindSlow, KindMalformed}

// Status returns the HTTP status a status kind answers with, or 0 for the others.
func (k Kind) Status() int {
	switch k {
	case Kind429:
		return http.StatusTooManyRequests
	case Kind500:
		return http.StatusInternalServerError
	case Kind502:
		return http.StatusBadGateway
	case Kind503:
		return http.StatusServiceUnavailable
	case Kind504:
		return http.StatusGatewayTimeout
	}
	return 0
}

// valid reports whether k is a fault kind (KindOK is not).
func (k Kind) valid() bool { return slices.Contains(kinds, k) }

// hasRetryAfter reports whether k's responses carry Retry-After: BC documents it for 502 and
// 503 (bc-entra-facts §3.3); for 429 it is UNCONFIRMED but the emulator sends it, as most
// clients expect it there.
func (k Kind) hasRetryAfter() bool { return k == Kind429 || k == Kind502 || k == Kind503 }

// Rule says which requests get which fault.
type Rule struct {
	// Kind is the fault to inject. Leave it empty when Sequence is set.
	Kind Kind

	// Probability is the chance, in (0, 1], that a matching request gets the fault. Zero
	// means 1: every matching request. Unused (must be zero) when Sequence is set.
	Probability float64

	// Route selects requests by URL path: "" matches all; otherwise a path prefix such as
	// "/v2.0/", in which "*" matches within one path segment, "**" matches across segments,
	// "?" matches one character other than "/", and a final "$" anchors the end (then the
	// whole path must match). Entra paths start with the tenant, so the token endpoint is
	// "/*/oauth2/". Route must start with "/" and cannot hold ",", ";", "=" or spaces.
	Route string

	// Sequence scripts the rule: the Nth request matching Route (counting from zero) gets
	// Sequence[N], where KindOK lets it through; requests after the end pass.
	Sequence []Kind

	// RetryAfter is the Retry-After of 429, 502 and 503 answers. Zero means
	// Options.RetryAfter; negative means send none. Not allowed for rules that cannot
	// answer 429, 502 or 503.
	RetryAfter time.Duration
}

// Limits on rules, so that a spec or rule from outside cannot make the injector slow.
const (
	maxRoute      = 1024
	maxSequence   = 10000
	maxRetryAfter = 24 * time.Hour
)

// Validate reports the first problem with r, naming the field and the fix.
func (r Rule) Validate() error {
	if len(r.Sequence) > 0 {
		if r.Kind != "" {
			return fmt.Errorf("fault: Rule.Kind is %q but Sequence is set: leave Kind empty for a scripted rule", r.Kind)
		}
		if r.Probability != 0 {
			return fmt.Errorf("fault: Rule.Probability is %v but Sequence is set: a scripted rule has no probability", r.Probability)
		}
		if len(r.Sequence) > maxSequence {
			return fmt.Errorf("fault: Rule.Sequence has %d steps: at most %d are allowed", len(r.Sequence), maxSequence)
		}
		for i, k := range r.Sequence {
			if k != KindOK && !k.valid() {
				return fmt.Errorf("fault: Rule.Sequence[%d] is %q: want ok or one of %v", i, k, kinds)
			}
		}
	} else {
		if !r.Kind.valid() {
			return fmt.Errorf("fault: Rule.Kind is %q: want one of %v", r.Kind, kinds)
		}
		if math.IsNaN(r.Probability) || r.Probability < 0 || r.Probability > 1 {
			return fmt.Errorf("fault: Rule.Probability is %v: want a number in (0, 1], or 0 for always", r.Probability)
		}
	}
	if err := validateRoute(r.Route); err != nil {
		return err
	}
	if r.RetryAfter != 0 {
		if !r.mayRetryAfter() {
			return fmt.Errorf("fault: Rule.RetryAfter is set for %s, which never answers 429, 502 or 503: drop it", r.describe())
		}
		if r.RetryAfter > maxRetryAfter {
			return fmt.Errorf("fault: Rule.RetryAfter is %v: at most %v is allowed", r.RetryAfter, maxRetryAfter)
		}
	}
	return nil
}

func (r Rule) mayRetryAfter() bool {
	if len(r.Sequence) == 0 {
		return r.Kind.hasRetryAfter()
	}
	return slices.ContainsFunc(r.Sequence, Kind.hasRetryAfter)
}

func (r Rule) describe() string {
	if len(r.Sequence) > 0 {
		return "a sequence"
	}
	return "kind " + string(r.Kind)
}

// Options configures an [Injector]. The zero value is usable.
type Options struct {
	// Rand is the random source for probabilistic rules; the Injector serialises its use.
	// Nil means a source seeded with Seed.
	Rand *rand.Rand

	// Seed seeds the random source when Rand is nil, so that the same requests in the same
	// order get the same faults. Zero means a random seed.
	Seed int64

	// ErrorWriter writes the answer of a status kind (429, 500, 502, 503, 504) with the
	// given Retry-After (zero: send none). Nil means BC's error body
	// {"error":{"code","message"}} with "  CorrelationId:  <guid>." (bc-entra-facts §3.2), or
	// Entra's error body (§1.3) on Entra paths (/{tenant}/oauth2/..., discovery, .well-known).
	ErrorWriter func(w http.ResponseWriter, r *http.Request, status int, retryAfter time.Duration)

	// RetryAfter is the Retry-After of 429, 502 and 503 answers from rules without their
	// own. Zero means 1 s; negative means send none. BC's values are UNCONFIRMED.
	RetryAfter time.Duration

	// SlowDelay is how long a "slow" body takes after the headers. Zero means 2 s.
	SlowDelay time.Duration

	// SlowChunks is how many pieces a "slow" body is sent in. Zero or negative means 8.
	SlowChunks int

	// ResetAfterBytes is how many body bytes a "reset" sends before dropping the
	// connection. Zero or negative means 512.
	ResetAfterBytes int

	// Now returns the current time for Entra error timestamps. Nil means time.Now.
	Now func() time.Time

	// Logger logs every injected fault at Info. Nil means discard.
	Logger *slog.Logger
}

// Injector decides per request whether to inject a fault, and injects it. It is safe for
// concurrent use; rules can change while requests are served.
type Injector struct {
	opt Options

	mu     sync.Mutex
	rules  []*ruleState
	rng    *rand.Rand
	counts map[Kind]int64
}

type ruleState struct {
	Rule
	seen int // requests that matched a scripted rule so far
}

// New returns an Injector with rules and opt, or an error naming the first invalid rule.
func New(rules []Rule, opt Options) (*Injector, error) {
	if opt.RetryAfter == 0 {
		opt.RetryAfter = time.Second
	}
	if opt.SlowDelay <= 0 {
		opt.SlowDelay = 2 * time.Second
	}
	if opt.SlowChunks <= 0 {
		opt.SlowChunks = 8
	}
	if opt.ResetAfterBytes <= 0 {
		opt.ResetAfterBytes = 512
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	rng := opt.Rand
	if rng == nil {
		seed := uint64(opt.Seed)
		if seed == 0 {
			seed = rand.Uint64()
		}
		rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	}
	in := &Injector{opt: opt, rng: rng, counts: make(map[Kind]int64)}
	for i, r := range rules {
		if err := r.Validate(); err != nil {
			return nil, fmt.Errorf("%w (rule %d: %s)", err, i, r)
		}
		in.rules = append(in.rules, newRuleState(r))
	}
	return in, nil
}

func newRuleState(r Rule) *ruleState {
	r.Sequence = slices.Clone(r.Sequence)
	return &ruleState{Rule: r}
}

// Add appends rule after the existing rules, or returns why it is invalid.
func (in *Injector) Add(rule Rule) error {
	if err := rule.Validate(); err != nil {
		return err
	}
	in.mu.Lock()
	in.rules = append(in.rules, newRuleState(rule))
	in.mu.Unlock()
	return nil
}

// Remove removes the first rule in force that is rule (the same in the syntax of Parse)
// and reports whether there was one. A scripted rule added again starts from its first
// step.
func (in *Injector) Remove(rule Rule) bool {
	want := rule.String()
	in.mu.Lock()
	defer in.mu.Unlock()
	for i, rs := range in.rules {
		if rs.Rule.String() == want {
			in.rules = slices.Delete(in.rules, i, i+1)
			return true
		}
	}
	return false
}

// Reset removes every rule and zeroes the counts of Injected.
func (in *Injector) Reset() {
	in.mu.Lock()
	in.rules = nil
	clear(in.counts)
	in.mu.Unlock()
}

// Rules returns a copy of the rules in force, in evaluation order.
func (in *Injector) Rules() []Rule {
	in.mu.Lock()
	defer in.mu.Unlock()
	out := make([]Rule, len(in.rules))
	for i, rs := range in.rules {
		out[i] = rs.Rule
		out[i].Sequence = slices.Clone(rs.Sequence)
	}
	return out
}

// Injected returns how many faults of each kind were injected since New or Reset.
func (in *Injector) Injected() map[Kind]int64 {
	in.mu.Lock()
	defer in.mu.Unlock()
	out := make(map[Kind]int64, len(in.counts))
	for k, n := range in.counts {
		out[k] = n
	}
	return out
}

// decide returns the fault for a request to path, if any. Rules are consulted in order and
// the first that fires wins; the rules after it are not consulted, so their sequences do not
// advance and they draw no random number. A scripted rule advances on every request it
// matches (and is consulted for); a step of KindOK, or a request after its end, does not
// fire and the next rules are consulted.
func (in *Injector) decide(path string) (Kind, time.Duration, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, rs := range in.rules {
		if !matchRoute(rs.Route, path) {
			continue
		}
		var k Kind
		if len(rs.Sequence) > 0 {
			if rs.seen >= len(rs.Sequence) {
				continue
			}
			k = rs.Sequence[rs.seen]
			rs.seen++
			if k == KindOK {
				continue
			}
		} else {
			if p := rs.Probability; p > 0 && p < 1 && in.rng.Float64() >= p {
				continue
			}
			k = rs.Kind
		}
		in.counts[k]++
		return k, in.retryAfter(rs.RetryAfter, k), true
	}
	return "", 0, false
}

func (in *Injector) retryAfter(rule time.Duration, k Kind) time.Duration {
	if !k.hasRetryAfter() {
		return 0
	}
	d := rule
	if d == 0 {
		d = in.opt.RetryAfter
	}
	return max(d, 0)
}

// Middleware returns next with faults injected. Install it outermost (before routing and
// any panic recovery): a reset aborts the response with panic(http.ErrAbortHandler), which
// net/http turns into a dropped connection and which a recovering middleware outside this
// one would swallow.
func (in *Injector) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kind, retryAfter, ok := in.decide(r.URL.Path)
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		in.opt.Logger.LogAttrs(r.Context(), slog.LevelInfo, "fault injected",
			slog.String("kind", string(kind)), slog.String("method", r.Method), slog.String("path", r.URL.Path))
		if status := kind.Status(); status != 0 {
			if in.opt.ErrorWriter != nil {
				in.opt.ErrorWriter(w, r, status, retryAfter)
			} else {
				in.writeError(w, r, status, retryAfter)
			}
			return
		}
		switch kind {
		case KindReset:
			serveReset(w, r, next, in.opt.ResetAfterBytes)
		case KindSlow:
			serveSlow(w, r, next, in.opt.SlowDelay, in.opt.SlowChunks)
		case KindMalformed:
			serveMalformed(w, r, next)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// sleep waits d or until ctx ends; it reports whether the full time passed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
