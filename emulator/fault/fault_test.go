package fault

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	bcPath    = "/v2.0/tid/production/api/v2.0/companies(1f0c)/customers"
	tokenPath = "/tid/oauth2/v2.0/token"
	odataJSON = "application/json; odata.metadata=minimal; odata.streaming=true; charset=utf-8"
)

// backend answers like a BC list: ?rows=N rows (default 40, about 2.6 KB) written one Write
// per row; ?cl=1 sets Content-Length. It counts its calls.
type backend struct{ calls atomic.Int64 }

func (b *backend) body(rows int) []byte {
	var buf bytes.Buffer
	buf.WriteString(`{"@odata.context":"https://localhost/v2.0/$metadata#customers","value":[`)
	for i := range rows {
		if i > 0 {
			buf.WriteByte(',')
		}
		fmt.Fprintf(&buf, `{"id":"%08d-0000-0000-0000-000000000000","displayName":"Customer %d"}`, i, i)
	}
	buf.WriteString("]}")
	return buf.Bytes()
}

func (b *backend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.calls.Add(1)
	rows := 40
	if s := r.URL.Query().Get("rows"); s != "" {
		rows, _ = strconv.Atoi(s)
	}
	body := b.body(rows)
	w.Header().Set("Content-Type", odataJSON)
	if r.URL.Query().Get("cl") == "1" {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	}
	w.WriteHeader(http.StatusOK)
	// Write in pieces, as a streaming handler does.
	for len(body) > 0 {
		n := min(len(body), 70)
		if _, err := w.Write(body[:n]); err != nil {
			return
		}
		body = body[n:]
	}
}

type fixture struct {
	in      *Injector
	srv     *httptest.Server
	backend *backend
}

func setup(t *testing.T, spec string, opt Options) *fixture {
	t.Helper()
	rules, err := Parse(spec)
	if err != nil {
		t.Fatal(err)
	}
	in, err := New(rules, opt)
	if err != nil {
		t.Fatal(err)
	}
	b := &backend{}
	srv := httptest.NewServer(in.Middleware(b))
	t.Cleanup(srv.Close)
	return &fixture{in: in, srv: srv, backend: b}
}

func (f *fixture) get(t *testing.T, path string) (*http.Response, []byte, error) {
	t.Helper()
	resp, err := f.srv.Client().Get(f.srv.URL + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

var correlationSuffix = regexp.MustCompile(`  CorrelationId:  ([0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})\.$`)

func TestStatusKinds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		kind       string
		status     int
		code       string
		retryAfter string
	}{
		{"429", 429, "Application_TooManyRequests", "1"},
		{"500", 500, "Internal_ServerError", ""},
		{"502", 502, "BadGateway", "1"},
		{"503", 503, "ServiceUnavailable", "1"},
		{"504", 504, "GatewayTimeout", ""},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			t.Parallel()
			f := setup(t, tt.kind+":bc", Options{})
			resp, body, err := f.get(t, bcPath)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.status)
			}
			if got := resp.Header.Get("Retry-After"); got != tt.retryAfter {
				t.Errorf("Retry-After = %q, want %q", got, tt.retryAfter)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type = %q, want JSON", ct)
			}
			var e struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatalf("body %s: %v", body, err)
			}
			if e.Error.Code != tt.code {
				t.Errorf("code = %q, want %q", e.Error.Code, tt.code)
			}
			m := correlationSuffix.FindStringSubmatch(e.Error.Message)
			if m == nil {
				t.Fatalf("message %q lacks BC's CorrelationId suffix", e.Error.Message)
			}
			if got := resp.Header.Get("ms-correlation-x"); got != m[1] {
				t.Errorf("ms-correlation-x = %q, want the message's %q", got, m[1])
			}
			if n := f.backend.calls.Load(); n != 0 {
				t.Errorf("handler called %d times, want 0", n)
			}
			if got := f.in.Injected()[Kind(tt.kind)]; got != 1 {
				t.Errorf("Injected()[%s] = %d, want 1", tt.kind, got)
			}
			// Other routes are untouched.
			if resp, _, err := f.get(t, tokenPath); err != nil || resp.StatusCode != 200 {
				t.Errorf("token path: %v %v, want 200", resp.StatusCode, err)
			}
		})
	}
}

func TestRetryAfterValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		spec string
		opt  Options
		want string
	}{
		{"503", Options{}, "1"},
		{"503(30s)", Options{}, "30"},
		{"503(1500ms)", Options{}, "2"},
		{"503(none)", Options{}, ""},
		{"429", Options{RetryAfter: 5 * time.Second}, "5"},
		{"429", Options{RetryAfter: -1}, ""},
		{"504", Options{RetryAfter: 5 * time.Second}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			t.Parallel()
			f := setup(t, tt.spec, tt.opt)
			resp, _, _ := f.get(t, bcPath)
			if got := resp.Header.Get("Retry-After"); got != tt.want {
				t.Errorf("Retry-After = %q, want %q", got, tt.want)
			}
			if _, ok := resp.Header["Retry-After"]; tt.want == "" && ok {
				t.Errorf("Retry-After header present, want none")
			}
		})
	}
}

func TestTokenOutage(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	f := setup(t, "token-outage", Options{Now: func() time.Time { return now }})
	resp, err := f.srv.Client().Post(f.srv.URL+tokenPath, "application/x-www-form-urlencoded",
		strings.NewReader("grant_type=client_credentials"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "1" {
		t.Fatalf("status %d Retry-After %q, want 503 with Retry-After 1", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	var e struct {
		Error            string `json:"error"`
		ErrorDescription string `json:"error_description"`
		ErrorCodes       []int  `json:"error_codes"`
		Timestamp        string `json:"timestamp"`
		TraceID          string `json:"trace_id"`
		CorrelationID    string `json:"correlation_id"`
		ErrorURI         string `json:"error_uri"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("body %s: %v", body, err)
	}
	// bc-entra-facts §1.3
	if e.Error != "temporarily_unavailable" || len(e.ErrorCodes) != 1 || e.ErrorCodes[0] != 90033 {
		t.Errorf("error = %q codes %v", e.Error, e.ErrorCodes)
	}
	wantDesc := "AADSTS90033: A transient error has occurred. Please try again.\r\nTrace ID: " + e.TraceID +
		"\r\nCorrelation ID: " + e.CorrelationID + "\r\nTimestamp: 2026-03-04 05:06:07Z"
	if e.ErrorDescription != wantDesc {
		t.Errorf("error_description = %q, want %q", e.ErrorDescription, wantDesc)
	}
	if e.Timestamp != "2026-03-04 05:06:07Z" || e.TraceID == "" || e.CorrelationID == "" || e.TraceID == e.CorrelationID {
		t.Errorf("timestamp %q trace %q correlation %q", e.Timestamp, e.TraceID, e.CorrelationID)
	}
	if e.ErrorURI != "https://login.microsoftonline.com/error?code=90033" {
		t.Errorf("error_uri = %q", e.ErrorURI)
	}
	if resp, _, _ := f.get(t, bcPath); resp.StatusCode != 200 {
		t.Errorf("BC path status = %d during a token outage, want 200", resp.StatusCode)
	}
}

func TestResetHTTP1(t *testing.T) {
	t.Parallel()
	f := setup(t, "reset", Options{})
	full := f.backend.body(40)
	tests := []struct {
		query string
		want  int // body bytes received before the cut
	}{
		{"", 512},                               // chunked
		{"?cl=1", 512},                          // Content-Length
		{"?rows=1", len(f.backend.body(1)) / 2}, // shorter than 512: half
	}
	for _, tt := range tests {
		resp, body, err := f.get(t, bcPath+tt.query)
		if resp.StatusCode != 200 {
			t.Errorf("%s: status = %d, want 200 before the reset", tt.query, resp.StatusCode)
		}
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("%s: read error = %v, want unexpected EOF", tt.query, err)
		}
		if len(body) != tt.want || !bytes.HasPrefix(full, body) {
			t.Errorf("%s: got %d bytes before the cut, want the first %d", tt.query, len(body), tt.want)
		}
	}
	if got := f.in.Injected()[KindReset]; got != 3 {
		t.Errorf("Injected()[reset] = %d, want 3", got)
	}
	// The server survives: a later request without faults works.
	f.in.Reset()
	if resp, body, err := f.get(t, bcPath); err != nil || resp.StatusCode != 200 || !bytes.Equal(body, full) {
		t.Errorf("after Reset: %d, %d bytes, %v", resp.StatusCode, len(body), err)
	}
}

func TestResetHTTP2(t *testing.T) {
	t.Parallel()
	in, err := New([]Rule{{Kind: KindReset}}, Options{ResetAfterBytes: 100})
	if err != nil {
		t.Fatal(err)
	}
	b := &backend{}
	srv := httptest.NewUnstartedServer(in.Middleware(b))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + bcPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.ProtoMajor != 2 || resp.StatusCode != 200 {
		t.Fatalf("proto %s status %d, want HTTP/2 200", resp.Proto, resp.StatusCode)
	}
	body, err := io.ReadAll(resp.Body)
	if err == nil {
		t.Fatalf("read %d bytes without error, want a stream reset", len(body))
	}
	if len(body) > 100 || !bytes.HasPrefix(b.body(40), body) {
		t.Errorf("got %d bytes before the reset, want a prefix of at most 100", len(body))
	}
}

func TestSlow(t *testing.T) {
	t.Parallel()
	const delay = 400 * time.Millisecond
	f := setup(t, "slow:bc", Options{SlowDelay: delay, SlowChunks: 4})
	start := time.Now()
	resp, err := f.srv.Client().Get(f.srv.URL + bcPath + "?cl=1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	headersAt := time.Since(start)
	body, err := io.ReadAll(resp.Body)
	total := time.Since(start)
	if err != nil || resp.StatusCode != 200 || !bytes.Equal(body, f.backend.body(40)) {
		t.Fatalf("status %d, %d bytes, err %v: want the whole body", resp.StatusCode, len(body), err)
	}
	if resp.Header.Get("Content-Type") != odataJSON {
		t.Errorf("Content-Type = %q", resp.Header.Get("Content-Type"))
	}
	if total < delay {
		t.Errorf("whole response took %v, want at least %v", total, delay)
	}
	// Headers come first and the body trickles after them.
	if total-headersAt < delay/2 {
		t.Errorf("body took %v after the headers, want at least %v", total-headersAt, delay/2)
	}
}

func TestSlowStopsWhenClientLeaves(t *testing.T) {
	t.Parallel()
	done := make(chan time.Duration, 1)
	in, _ := New([]Rule{{Kind: KindSlow}}, Options{SlowDelay: 10 * time.Second, SlowChunks: 2})
	mw := in.Middleware(&backend{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		mw.ServeHTTP(w, r)
		done <- time.Since(start)
	}))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + bcPath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close() // leave before the first chunk
	select {
	case d := <-done:
		if d > 5*time.Second {
			t.Errorf("handler ran %v after the client left", d)
		}
	case <-time.After(8 * time.Second):
		t.Fatal("slow handler still running 8s after the client left")
	}
}

func TestMalformed(t *testing.T) {
	t.Parallel()
	f := setup(t, "malformed", Options{})
	full := f.backend.body(40)
	for _, query := range []string{"", "?cl=1"} {
		resp, body, err := f.get(t, bcPath+query)
		if err != nil {
			t.Fatalf("%s: read error %v, want a complete (bad) body", query, err)
		}
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != odataJSON {
			t.Errorf("%s: status %d Content-Type %q, want 200 and the handler's type", query, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if query != "" && resp.ContentLength != int64(len(body)) {
			t.Errorf("%s: Content-Length %d, body %d bytes", query, resp.ContentLength, len(body))
		}
		if len(body) == 0 || len(body) >= len(full) || !bytes.HasPrefix(full, body) {
			t.Errorf("%s: body is %d bytes, want a proper prefix of the %d-byte body", query, len(body), len(full))
		}
		var v any
		if err := json.Unmarshal(body, &v); err == nil {
			t.Errorf("%s: body parses as JSON, want a syntax error", query)
		}
	}
}

func TestCorrupt(t *testing.T) {
	t.Parallel()
	for _, in := range []string{`{"a":"b"}`, `[1,2,3]`, `12345`, `"x"`, `{}   `, `1`, `{"value":[]}`} {
		out := corrupt([]byte(in))
		if json.Valid(out) {
			t.Errorf("corrupt(%q) = %q, still valid JSON", in, out)
		}
	}
	if out := corrupt(nil); len(out) != 0 {
		t.Errorf("corrupt(nil) = %q, want empty", out)
	}
}

// pattern sends n requests and returns which ones got a fault ('x') or passed ('.').
func pattern(t *testing.T, f *fixture, n int) string {
	t.Helper()
	var b strings.Builder
	for range n {
		resp, _, _ := f.get(t, bcPath+"?rows=1")
		if resp.StatusCode == 200 {
			b.WriteByte('.')
		} else {
			b.WriteByte('x')
		}
	}
	return b.String()
}

func TestProbabilityIsDeterministicWithASeed(t *testing.T) {
	t.Parallel()
	const n = 300
	a := setup(t, "503@0.3", Options{Seed: 42})
	b := setup(t, "503@30%", Options{Seed: 42})
	c := setup(t, "503@0.3", Options{Seed: 43})
	pa, pb, pc := pattern(t, a, n), pattern(t, b, n), pattern(t, c, n)
	if pa != pb {
		t.Errorf("same seed, different faults:\n%s\n%s", pa, pb)
	}
	if pa == pc {
		t.Errorf("seeds 42 and 43 gave the same %d faults", n)
	}
	hits := int64(strings.Count(pa, "x"))
	if hits < n*2/10 || hits > n*4/10 {
		t.Errorf("%d of %d requests got a fault at probability 0.3", hits, n)
	}
	if got := a.in.Injected()[Kind503]; got != hits {
		t.Errorf("Injected()[503] = %d, want %d", got, hits)
	}
	if got := a.backend.calls.Load(); got != n-hits {
		t.Errorf("handler called %d times, want %d", got, n-hits)
	}
}

func TestSequence(t *testing.T) {
	t.Parallel()
	f := setup(t, "seq:token=503,503,ok,429", Options{})
	var got []int
	for i := range 6 {
		// BC requests in between do not advance the token endpoint's script.
		if resp, _, _ := f.get(t, bcPath+"?rows=1"); resp.StatusCode != 200 {
			t.Fatalf("BC request %d: status %d, want 200", i, resp.StatusCode)
		}
		resp, _, _ := f.get(t, tokenPath)
		got = append(got, resp.StatusCode)
	}
	if want := []int{503, 503, 200, 429, 200, 200}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("token endpoint statuses = %v, want %v", got, want)
	}
	if inj := f.in.Injected(); inj[Kind503] != 2 || inj[Kind429] != 1 || len(inj) != 2 {
		t.Errorf("Injected() = %v, want 503:2 429:1", inj)
	}
}

func TestFirstFiringRuleWins(t *testing.T) {
	t.Parallel()
	statuses := func(f *fixture, n int) string {
		var got []int
		for range n {
			resp, _, _ := f.get(t, tokenPath)
			got = append(got, resp.StatusCode)
		}
		return fmt.Sprint(got)
	}
	// The 500 rule fires first every time, so the sequence is never consulted.
	f := setup(t, "500:token;seq:token=ok,503,ok", Options{})
	if got := statuses(f, 3); got != "[500 500 500]" {
		t.Errorf("500 rule first: statuses = %s, want [500 500 500]", got)
	}
	// Sequence first: its ok steps and its end fall through to the 500 rule.
	f.in.Reset()
	for _, r := range []Rule{{Route: "/*/oauth2/", Sequence: []Kind{KindOK, Kind503, KindOK}}, {Kind: Kind500, Route: "/*/oauth2/"}} {
		if err := f.in.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	if got := statuses(f, 4); got != "[500 503 500 500]" {
		t.Errorf("sequence first: statuses = %s, want [500 503 500 500]", got)
	}
	if inj := f.in.Injected(); inj[Kind500] != 3 || inj[Kind503] != 1 {
		t.Errorf("Injected() = %v after Reset, want 500:3 503:1", inj)
	}
}

func TestAddResetWhileServing(t *testing.T) {
	t.Parallel()
	f := setup(t, "", Options{Seed: 7})
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := f.srv.Client().Get(f.srv.URL + bcPath + "?rows=1")
				if err != nil {
					t.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
	for range 50 {
		if err := f.in.Add(Rule{Kind: Kind503, Probability: 0.5}); err != nil {
			t.Fatal(err)
		}
		_ = f.in.Injected()
		_ = f.in.Rules()
		f.in.Reset()
		time.Sleep(time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if len(f.in.Rules()) != 0 || len(f.in.Injected()) != 0 {
		t.Errorf("after Reset: rules %v, counts %v", f.in.Rules(), f.in.Injected())
	}
}

func TestNewAndAddValidate(t *testing.T) {
	t.Parallel()
	if _, err := New([]Rule{{Kind: Kind503}, {Kind: "404"}}, Options{}); err == nil || !strings.Contains(err.Error(), "rule 1") {
		t.Errorf("New with a bad rule: err = %v, want one naming rule 1", err)
	}
	in, _ := New(nil, Options{})
	if err := in.Add(Rule{Kind: KindReset, RetryAfter: time.Second}); err == nil {
		t.Error("Add accepted Retry-After on a reset rule")
	}
	if len(in.Rules()) != 0 {
		t.Errorf("invalid rule was added: %v", in.Rules())
	}
}

func TestRulesAreCopied(t *testing.T) {
	t.Parallel()
	seq := []Kind{Kind503, KindOK}
	in, _ := New([]Rule{{Sequence: seq}}, Options{})
	seq[0] = Kind500
	got := in.Rules()
	got[0].Sequence[1] = Kind429
	if s := in.Rules()[0].Sequence; s[0] != Kind503 || s[1] != KindOK {
		t.Errorf("Sequence = %v, want [503 ok] unaffected by callers", s)
	}
}

func TestCustomErrorWriterAndLogger(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	var gotStatus int
	var gotRetry time.Duration
	f := setup(t, "503(7s)", Options{
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		ErrorWriter: func(w http.ResponseWriter, r *http.Request, status int, retryAfter time.Duration) {
			gotStatus, gotRetry = status, retryAfter
			w.WriteHeader(status)
			_, _ = io.WriteString(w, "custom")
		},
	})
	resp, body, _ := f.get(t, bcPath)
	if resp.StatusCode != 503 || string(body) != "custom" || gotStatus != 503 || gotRetry != 7*time.Second {
		t.Errorf("status %d body %q; writer got %d %v", resp.StatusCode, body, gotStatus, gotRetry)
	}
	if !strings.Contains(logs.String(), "fault injected") || !strings.Contains(logs.String(), "kind=503") {
		t.Errorf("log = %q, want a fault injected line with kind=503", logs.String())
	}
}

func TestRemove(t *testing.T) {
	t.Parallel()
	f := setup(t, "429:/v2.0/;503@0.5", Options{Seed: 3})
	outage := Rule{Kind: Kind503, Probability: 1, Route: "/*/oauth2/"}
	if err := f.in.Add(outage); err != nil {
		t.Fatal(err)
	}
	if resp, _, _ := f.get(t, tokenPath); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("token request during the outage rule: %d, want 503", resp.StatusCode)
	}
	if !f.in.Remove(outage) {
		t.Fatal("Remove of a rule in force reported false")
	}
	if f.in.Remove(outage) {
		t.Error("a second Remove of the same rule reported true")
	}
	if got := Format(f.in.Rules()); got != "429:/v2.0/;503@0.5" {
		t.Errorf("rules after Remove: %q, want the two others in their order", got)
	}
}
