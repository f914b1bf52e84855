package fault

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		spec string
		want []Rule
	}{
		{"", nil},
		{"  ", nil},
		{"429", []Rule{{Kind: Kind429, Probability: 1}}},
		{"429@0.05,503@0.02:/v2.0/,reset@0.01", []Rule{
			{Kind: Kind429, Probability: 0.05},
			{Kind: Kind503, Probability: 0.02, Route: "/v2.0/"},
			{Kind: KindReset, Probability: 0.01},
		}},
		{"503(30s)@2%:bc", []Rule{{Kind: Kind503, Probability: 0.02, Route: "/v2.0/", RetryAfter: 30 * time.Second}}},
		{"502(90)", []Rule{{Kind: Kind502, Probability: 1, RetryAfter: 90 * time.Second}}},
		{"429(none)@100%:admin", []Rule{{Kind: Kind429, Probability: 1, Route: "/admin/", RetryAfter: -1}}},
		{"token-outage", []Rule{{Kind: Kind503, Probability: 1, Route: "/*/oauth2/"}}},
		{"token-outage(5s)@50%", []Rule{{Kind: Kind503, Probability: 0.5, Route: "/*/oauth2/", RetryAfter: 5 * time.Second}}},
		{"seq:/oauth2/=503,503,ok", []Rule{{Route: "/oauth2/", Sequence: []Kind{Kind503, Kind503, KindOK}}}},
		{"seq:token=503,503,ok;429@0.05", []Rule{
			{Route: "/*/oauth2/", Sequence: []Kind{Kind503, Kind503, KindOK}},
			{Kind: Kind429, Probability: 0.05},
		}},
		{" 429@0.05 , seq(10):admin = 502 , OK ; slow:/v2.0/*/production/**/customers$ ", []Rule{
			{Kind: Kind429, Probability: 0.05},
			{Route: "/admin/", Sequence: []Kind{Kind502, KindOK}, RetryAfter: 10 * time.Second},
			{Kind: KindSlow, Probability: 1, Route: "/v2.0/*/production/**/customers$"},
		}},
		{"Reset@5%", []Rule{{Kind: KindReset, Probability: 0.05}}},
		{"seq=500,504,malformed", []Rule{{Sequence: []Kind{Kind500, Kind504, KindMalformed}}}},
		{"malformed:/v2.0/**/salesInvoices(*)", []Rule{{Kind: KindMalformed, Probability: 1, Route: "/v2.0/**/salesInvoices(*)"}}},
		{"429;;500,", []Rule{{Kind: Kind429, Probability: 1}, {Kind: Kind500, Probability: 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			got, err := Parse(tt.spec)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.spec, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Parse(%q) =\n  %#v\nwant\n  %#v", tt.spec, got, tt.want)
			}
			back, err := Parse(Format(got))
			if err != nil || !reflect.DeepEqual(back, got) {
				t.Errorf("round trip via %q = %#v, %v", Format(got), back, err)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		spec    string
		badRule string // the token the error must quote
		reason  string // part of the explanation
	}{
		{"418", "418", `unknown kind "418"`},
		{"ok", "ok", `unknown kind "ok"`},
		{"429@0", "429@0", "out of range"},
		{"429@1.5", "429@1.5", "out of range"},
		{"429@200%", "429@200%", "out of range"},
		{"429@-0.1", "429@-0.1", "out of range"},
		{"429@abc", "429@abc", "not a number"},
		{"429@NaN", "429@NaN", "not a number"},
		{"429@0.1,503@", "503@", "not a number"},
		{"429:v2.0/", "429:v2.0/", "must start with /"},
		{"429:", "429:", "empty route"},
		{"429:/a b", "429:/a b", "cannot hold"},
		{"429:/a$b", "429:/a$b", "$ before its end"},
		{"500(30s)", "500(30s)", "never answers 429, 502 or 503"},
		{"503(0)", "503(0)", "out of range"},
		{"503(-5s)", "503(-5s)", "out of range"},
		{"503(48h)", "503(48h)", "out of range"},
		{"503(30", "503(30", "missing ')'"},
		{"503(abc)", "503(abc)", "not a duration"},
		{"token-outage:/x", "token-outage:/x", "own route"},
		{"seq", "seq", "needs its steps"},
		{"seq:token=", "seq:token=", "empty step"},
		{"seq=503,bogus", "seq=503,bogus", `unknown step "bogus"`},
		{"seq=503,ok,429@0.05", "seq=503,ok,429@0.05", "end a seq rule with ';'"},
		{"seq(5s)=500,504", "seq(5s)=500,504", "never answers 429, 502 or 503"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			got, err := Parse(tt.spec)
			if err == nil {
				t.Fatalf("Parse(%q) = %v, want error", tt.spec, got)
			}
			msg := err.Error()
			for _, want := range []string{`bad rule "` + tt.badRule + `"`, tt.reason, "syntax:", "KIND[(RETRY)][@PROB][:ROUTE]"} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not contain %q", msg, want)
				}
			}
		})
	}
}

func TestParseLongSpec(t *testing.T) {
	t.Parallel()
	if _, err := Parse(strings.Repeat("429,", 20000)); err == nil || !strings.Contains(err.Error(), "at most") {
		t.Fatalf("Parse(80 KB) error = %v, want a length error", err)
	}
}

func TestRuleValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		rule Rule
		want string // "" = valid
	}{
		{"zero probability means always", Rule{Kind: Kind503}, ""},
		{"empty kind", Rule{}, "Rule.Kind"},
		{"ok kind", Rule{Kind: KindOK}, "Rule.Kind"},
		{"kind with sequence", Rule{Kind: Kind503, Sequence: []Kind{Kind503}}, "leave Kind empty"},
		{"probability with sequence", Rule{Probability: 0.5, Sequence: []Kind{Kind503}}, "no probability"},
		{"bad step", Rule{Sequence: []Kind{"404"}}, "Rule.Sequence[0]"},
		{"probability above 1", Rule{Kind: Kind429, Probability: 2}, "Rule.Probability"},
		{"route without slash", Rule{Kind: Kind429, Route: "v2.0"}, "must start with /"},
		{"route with comma", Rule{Kind: Kind429, Route: "/a,b"}, "cannot hold"},
		{"retry-after on reset", Rule{Kind: KindReset, RetryAfter: time.Second}, "never answers"},
		{"retry-after on sequence with 503", Rule{Sequence: []Kind{KindOK, Kind503}, RetryAfter: time.Second}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.rule.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Validate() = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestMatchRoute(t *testing.T) {
	t.Parallel()
	const customers = "/v2.0/tid/production/api/v2.0/companies(1f0c)/customers"
	tests := []struct {
		route, path string
		want        bool
	}{
		{"", "/anything", true},
		{"/v2.0/", customers, true},
		{"/v2.0/", "/tid/oauth2/v2.0/token", false},
		{"/*/oauth2/", "/tid/oauth2/v2.0/token", true},
		{"/*/oauth2/", "/a/b/oauth2/v2.0/token", false},
		{"/*/oauth2/", "/v2.0/tid/production/api", false},
		{"/**/oauth2/", "/a/b/oauth2/v2.0/token", true},
		{"/v2.0/**/customers", customers, true},
		{"/v2.0/**/customers", customers + "(5)", true},
		{"/v2.0/**/customers", "/v2.0/customers", false},
		{"/v2.0/*/*/api/v2.0/companies(*)/customers$", customers, true},
		{"/v2.0/*/*/api/v2.0/companies(*)/customers$", customers + "(5)", false},
		{"/v2.0/*/sandbox/", customers, false},
		{"/a?c", "/abc", true},
		{"/a?c", "/a/c", false},
		{"/?x$", "/éx", true},
		{"/x$", "/x", true},
		{"/x$", "/xy", false},
		{"/x", "/", false},
		{"/***/z", "/a/b/z", true},
		{"/*$", "/", true},
		{"/*$", "/a/", false},
	}
	for _, tt := range tests {
		if got := matchRoute(tt.route, tt.path); got != tt.want {
			t.Errorf("matchRoute(%q, %q) = %v, want %v", tt.route, tt.path, got, tt.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", "429", "429@0.05,503@0.02:/v2.0/,reset@0.01", "seq:token=503,503,ok;429@0.05",
		"503(30s)@2%:bc", "token-outage(none)@50%", "slow:/v2.0/*/production/**/customers$",
		"seq(10):admin=502,ok", "malformed:/a?c", "429@1e-3:/x(y):z", "503(1m30s)", "seq=",
	} {
		f.Add(s)
	}
	paths := []string{"/", "/tid/oauth2/v2.0/token", "/v2.0/tid/production/api/v2.0/companies(1)/customers"}
	f.Fuzz(func(t *testing.T, spec string) {
		rules, err := Parse(spec)
		if err != nil {
			if !strings.Contains(err.Error(), "fault: ") {
				t.Fatalf("error without package prefix: %v", err)
			}
			return
		}
		for i, r := range rules {
			if err := r.Validate(); err != nil {
				t.Fatalf("Parse(%q) rule %d invalid: %v", spec, i, err)
			}
			for _, p := range append(paths, spec) {
				matchRoute(r.Route, p)
			}
		}
		formatted := Format(rules)
		back, err := Parse(formatted)
		if err != nil {
			t.Fatalf("Parse(Format(Parse(%q))) = Parse(%q): %v", spec, formatted, err)
		}
		if !reflect.DeepEqual(back, rules) {
			t.Fatalf("round trip of %q via %q:\n  %#v\nwant\n  %#v", spec, formatted, back, rules)
		}
		if _, err := New(rules, Options{Seed: 1}); err != nil {
			t.Fatalf("New rejects parsed rules: %v", err)
		}
	})
}
