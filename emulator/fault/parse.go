package fault

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Syntax describes the --faults syntax read by [Parse]; errors quote it.
const Syntax = `rules separated by ";" or ",":
  KIND[(RETRY)][@PROB][:ROUTE]          e.g. 429@0.05  503(30s)@2%:bc  reset@0.01:/v2.0/*/production/
  token-outage[(RETRY)][@PROB]          503 from the Entra token endpoint (route /*/oauth2/)
  seq[(RETRY)][:ROUTE]=STEP,STEP,...    scripted: the Nth matching request gets the Nth STEP, then all pass;
                                        a seq rule runs to the next ";" or the end
  KIND   429 500 502 503 504 reset slow malformed     STEP  a KIND or ok
  PROB   0.05 or 5% (default: every matching request)
  ROUTE  path prefix starting with /; * = within a segment, ** = across segments, ? = one character,
         final $ = whole path; or token (/*/oauth2/), bc (/v2.0/), admin (/admin/)
  RETRY  Retry-After of 429/502/503: 30s, 30 (seconds) or none (default 1s)
  example: "429@0.05,503@0.02:bc,reset@0.01;seq:token=503,503,ok"`

// routeAliases are the route names Parse accepts besides paths.
var routeAliases = map[string]string{
	"token": "/*/oauth2/", // Entra's token endpoint is /{tenant}/oauth2/v2.0/token
	"bc":    "/v2.0/",     // BC API: /v2.0/{tenant}/{environment}/api/...
	"admin": "/admin/",    // BC Admin Center API
}

// tokenOutage is the Rule behind the token-outage alias.
var tokenOutage = Rule{Kind: Kind503, Probability: 1, Route: routeAliases["token"]}

const maxSpec = 64 << 10

// Parse reads rules in the --faults syntax (see [Syntax]), e.g.
//
//	429@0.05,503@0.02:/v2.0/,reset@0.01;seq:token=503,503,ok
//
// An empty spec means no rules. Errors name the bad rule and show the syntax.
func Parse(spec string) ([]Rule, error) {
	if len(spec) > maxSpec {
		return nil, fmt.Errorf("fault: --faults spec is %d bytes long: at most %d are allowed", len(spec), maxSpec)
	}
	var rules []Rule
	for group := range strings.SplitSeq(spec, ";") {
		toks := strings.Split(group, ",")
		for i := 0; i < len(toks); i++ {
			tok := strings.TrimSpace(toks[i])
			if tok == "" {
				continue
			}
			var (
				r   Rule
				err error
			)
			if isSeq(tok) {
				tok = strings.TrimSpace(strings.Join(toks[i:], ","))
				i = len(toks)
				r, err = parseSeq(tok)
			} else {
				r, err = parseRule(tok)
			}
			if err == nil {
				err = r.Validate()
			}
			if err != nil {
				return nil, fmt.Errorf("fault: bad rule %q: %s\nsyntax: %s", tok, strings.TrimPrefix(err.Error(), "fault: "), Syntax)
			}
			rules = append(rules, r)
		}
	}
	return rules, nil
}

func isSeq(tok string) bool {
	kw := strings.ToLower(tok)
	return kw == "seq" || strings.HasPrefix(kw, "seq(") || strings.HasPrefix(kw, "seq:") || strings.HasPrefix(kw, "seq=")
}

// parseRule reads KIND[(RETRY)][@PROB][:ROUTE] and token-outage[(RETRY)][@PROB].
func parseRule(tok string) (Rule, error) {
	head, route, hasRoute := strings.Cut(tok, ":")
	kindPart, probPart, hasProb := strings.Cut(head, "@")
	name, retry, err := parseRetry(kindPart)
	if err != nil {
		return Rule{}, err
	}
	var r Rule
	if name == "token-outage" {
		if hasRoute {
			return Rule{}, fmt.Errorf("token-outage has its own route (%s): drop %q", tokenOutage.Route, ":"+route)
		}
		r = tokenOutage
	} else {
		k := Kind(name)
		if !k.valid() {
			return Rule{}, fmt.Errorf("unknown kind %q: want one of %v or token-outage", name, kinds)
		}
		r = Rule{Kind: k, Probability: 1}
	}
	r.RetryAfter = retry
	if hasProb {
		if r.Probability, err = parseProbability(probPart); err != nil {
			return Rule{}, err
		}
	}
	if hasRoute {
		if r.Route, err = parseRoute(route); err != nil {
			return Rule{}, err
		}
	}
	return r, nil
}

// parseSeq reads seq[(RETRY)][:ROUTE]=STEP,STEP,...
func parseSeq(tok string) (Rule, error) {
	head, steps, ok := strings.Cut(tok, "=")
	if !ok {
		return Rule{}, fmt.Errorf("a seq rule needs its steps after '=', e.g. seq:token=503,503,ok")
	}
	kwPart, route, hasRoute := strings.Cut(head, ":")
	_, retry, err := parseRetry(kwPart)
	if err != nil {
		return Rule{}, err
	}
	r := Rule{RetryAfter: retry}
	if hasRoute {
		if r.Route, err = parseRoute(route); err != nil {
			return Rule{}, err
		}
	}
	for step := range strings.SplitSeq(steps, ",") {
		step = strings.ToLower(strings.TrimSpace(step))
		k := Kind(step)
		if k != KindOK && !k.valid() {
			if step == "" {
				return Rule{}, fmt.Errorf("empty step in sequence %q", steps)
			}
			return Rule{}, fmt.Errorf("unknown step %q in sequence: want ok or one of %v (end a seq rule with ';' before the next rule)", step, kinds)
		}
		r.Sequence = append(r.Sequence, k)
		if len(r.Sequence) > maxSequence {
			return Rule{}, fmt.Errorf("sequence has more than %d steps", maxSequence)
		}
	}
	return r, nil
}

// parseRetry splits "name(RETRY)" into the lower-cased name and the Retry-After: zero when
// absent, -1 for "none".
func parseRetry(s string) (string, time.Duration, error) {
	s = strings.TrimSpace(s)
	name, arg, ok := strings.Cut(s, "(")
	name = strings.ToLower(strings.TrimSpace(name))
	if !ok {
		return name, 0, nil
	}
	arg, ok = strings.CutSuffix(strings.TrimSpace(arg), ")")
	if !ok {
		return "", 0, fmt.Errorf("missing ')' after Retry-After %q", "("+arg)
	}
	arg = strings.TrimSpace(arg)
	if strings.EqualFold(arg, "none") {
		return name, -1, nil
	}
	var d time.Duration
	if n, err := strconv.ParseUint(arg, 10, 32); err == nil {
		d = time.Duration(n) * time.Second
	} else if d, err = time.ParseDuration(arg); err != nil {
		return "", 0, fmt.Errorf("the Retry-After %q is not a duration: write 30s, 30 (seconds) or none", arg)
	}
	if d <= 0 || d > maxRetryAfter {
		return "", 0, fmt.Errorf("the Retry-After %q is out of range: use a duration above 0 and up to %v, or none", arg, maxRetryAfter)
	}
	return name, d, nil
}

func parseProbability(s string) (float64, error) {
	s = strings.TrimSpace(s)
	num, pct := strings.CutSuffix(s, "%")
	p, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || math.IsNaN(p) || math.IsInf(p, 0) {
		return 0, fmt.Errorf("probability %q is not a number: write 0.05 or 5%%", s)
	}
	if pct {
		p /= 100
	}
	if p <= 0 || p > 1 {
		return 0, fmt.Errorf("probability %q is out of range: use a value above 0 and up to 1 (or 100%%), or drop the rule", s)
	}
	return p, nil
}

func parseRoute(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fmt.Errorf("empty route after ':': write a path such as /v2.0/, or token, bc, admin")
	}
	if alias, ok := routeAliases[strings.ToLower(s)]; ok {
		return alias, nil
	}
	if !strings.HasPrefix(s, "/") {
		return "", fmt.Errorf("route %q must start with / or be one of token, bc, admin", s)
	}
	return s, nil
}

// validateRoute checks a Rule.Route.
func validateRoute(route string) error {
	if route == "" {
		return nil
	}
	if len(route) > maxRoute {
		return fmt.Errorf("fault: Rule.Route is %d bytes long: at most %d are allowed", len(route), maxRoute)
	}
	if route[0] != '/' {
		return fmt.Errorf("fault: Rule.Route %q must start with /", route)
	}
	if !utf8.ValidString(route) {
		return fmt.Errorf("fault: Rule.Route %q is not valid UTF-8", route)
	}
	for i, c := range route {
		switch {
		case c == ',' || c == ';' || c == '=' || unicode.IsSpace(c) || unicode.IsControl(c):
			return fmt.Errorf("fault: Rule.Route %q contains %q, which routes cannot hold: use * or ? in its place", route, c)
		case c == '$' && i != len(route)-1:
			return fmt.Errorf("fault: Rule.Route %q has $ before its end: $ only anchors the end", route)
		}
	}
	return nil
}

// String returns r in the syntax of Parse; Parse(r.String()) gives r back for rules that
// Parse produced.
func (r Rule) String() string {
	var b strings.Builder
	if len(r.Sequence) > 0 {
		b.WriteString("seq")
	} else {
		b.WriteString(string(r.Kind))
	}
	switch {
	case r.RetryAfter < 0:
		b.WriteString("(none)")
	case r.RetryAfter > 0:
		b.WriteString("(" + r.RetryAfter.String() + ")")
	}
	if len(r.Sequence) == 0 && r.Probability != 0 && r.Probability != 1 {
		b.WriteString("@" + strconv.FormatFloat(r.Probability, 'g', -1, 64))
	}
	if r.Route != "" {
		b.WriteString(":" + r.Route)
	}
	if len(r.Sequence) > 0 {
		b.WriteByte('=')
		for i, k := range r.Sequence {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(string(k))
		}
	}
	return b.String()
}

// Format returns rules in the syntax of Parse, separated by ";".
func Format(rules []Rule) string {
	parts := make([]string, len(rules))
	for i, r := range rules {
		parts[i] = r.String()
	}
	return strings.Join(parts, ";")
}

// matchRoute reports whether route (see Rule.Route) matches path. Patterns with wildcards
// are matched by tracking the set of path positions reachable after each pattern element,
// which is O(len(route)·len(path)) whatever the pattern.
func matchRoute(route, path string) bool {
	if route == "" {
		return true
	}
	anchored := strings.HasSuffix(route, "$")
	if anchored {
		route = route[:len(route)-1]
	}
	if !strings.ContainsAny(route, "*?") {
		if anchored {
			return path == route
		}
		return strings.HasPrefix(path, route)
	}
	cur := make([]bool, len(path)+1)
	next := make([]bool, len(path)+1)
	cur[0] = true
	for i := 0; i < len(route); {
		clear(next)
		switch {
		case strings.HasPrefix(route[i:], "**"):
			reach := false
			for j := range cur {
				reach = reach || cur[j]
				next[j] = reach
			}
			i += 2
			for i < len(route) && route[i] == '*' {
				i++
			}
		case route[i] == '*':
			for j := range cur {
				next[j] = cur[j] || (j > 0 && next[j-1] && path[j-1] != '/')
			}
			i++
		case route[i] == '?':
			for j := 0; j < len(path); j++ {
				if cur[j] && path[j] != '/' {
					_, size := utf8.DecodeRuneInString(path[j:])
					next[j+size] = true
				}
			}
			i++
		default:
			c := route[i]
			for j := 0; j < len(path); j++ {
				if cur[j] && path[j] == c {
					next[j+1] = true
				}
			}
			i++
		}
		cur, next = next, cur
		if !anyTrue(cur) {
			return false
		}
	}
	if anchored {
		return cur[len(path)]
	}
	return true
}

func anyTrue(bs []bool) bool {
	for _, b := range bs {
		if b {
			return true
		}
	}
	return false
}
