package bc

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/emulator/throttle"
	"github.com/bizzjoiner/bcconnector/internal/testlog"
)

func TestBackoff(t *testing.T) {
	t.Parallel()
	o := RetryOptions{BaseDelay: time.Second, MaxDelay: 10 * time.Second}.withDefaults()
	for n, base := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 4: 8 * time.Second, 5: 10 * time.Second, 30: 10 * time.Second} {
		for range 50 {
			d := o.backoff(n)
			if d < base*8/10 || d > base*12/10 {
				t.Fatalf("backoff(%d) = %v, want %v ±20%%", n, d, base)
			}
		}
	}
	if d := (RetryOptions{}).withDefaults(); d.MaxAttempts != 6 || d.MaxRetryAfter != time.Minute {
		t.Errorf("defaults = %+v", d)
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	tests := []struct {
		h    http.Header
		want time.Duration
	}{
		{http.Header{"Retry-After": {"7"}}, 7 * time.Second},
		{http.Header{"Retry-After": {now.Add(90 * time.Second).Format(http.TimeFormat)}}, 90 * time.Second},
		{http.Header{"Retry-After": {now.Add(-time.Minute).Format(http.TimeFormat)}}, 0},
		{http.Header{"Retry-After": {"-3"}}, 0},
		{http.Header{"Retry-After": {"soon"}}, 0},
		{http.Header{"Retry-After": {"7"}, "Retry-After-Ms": {"250"}}, 250 * time.Millisecond},
		{http.Header{"X-Ms-Retry-After-Ms": {"1500"}}, 1500 * time.Millisecond},
		{http.Header{}, 0},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.h, clock); got != tt.want {
			t.Errorf("parseRetryAfter(%v) = %v, want %v", tt.h, got, tt.want)
		}
	}
}

func TestA429StormIsAbsorbed(t *testing.T) {
	t.Parallel()
	e := setup(t, emulator.Config{})
	c := e.client(Options{})
	slept := withFakeSleep(c)
	e.addFaults("seq:bc=429,429,429,429,429,ok")
	p, err := c.ListPage(t.Context(), e.set("customers"), &Query{PageSize: 10})
	if err != nil {
		t.Fatalf("five 429s in a row were not absorbed: %v", err)
	}
	if len(p.Records) != 10 {
		t.Errorf("got %d records", len(p.Records))
	}
	delays := slept.recorded()
	if len(delays) != 5 {
		t.Fatalf("slept %d times, want 5: %v", len(delays), delays)
	}
	for _, d := range delays {
		// The fault answers Retry-After: 1; the client waits at least that, plus ≤10% jitter.
		if d < time.Second || d > 1100*time.Millisecond {
			t.Errorf("delay %v does not honour Retry-After: 1", d)
		}
	}
	if n := e.bcRequests.Load(); n != 6 {
		t.Errorf("BC saw %d requests, want 6", n)
	}
}

func TestA503WithRetryAfterIsHonoured(t *testing.T) {
	t.Parallel()
	e := setup(t, emulator.Config{})
	c := e.client(Options{})
	slept := withFakeSleep(c)
	e.addFaults("seq(7s):bc=503,ok;seq(3s):bc=502,ok")
	if _, err := c.ListPage(t.Context(), e.set("customers"), &Query{Top: 1}); err != nil {
		t.Fatal(err)
	}
	delays := slept.recorded()
	if len(delays) != 2 || delays[0] < 7*time.Second || delays[1] < 3*time.Second || delays[1] > 3300*time.Millisecond {
		t.Errorf("delays = %v, want ≥7s then ≥3s", delays)
	}
}

func TestRetryAfterAboveTheCapIsNotSleptThrough(t *testing.T) {
	t.Parallel()
	e := setup(t, emulator.Config{})
	c := e.client(Options{Retry: RetryOptions{MaxRetryAfter: 60 * time.Second}})
	slept := withFakeSleep(c)
	e.addFaults("seq(120s):bc=503,ok")
	_, err := c.ListPage(t.Context(), e.set("customers"), nil)
	var be *Error
	if !errors.As(err, &be) || !IsThrottled(err) || be.RetryAfter != 120*time.Second {
		t.Fatalf("err = %v, want a throttled *Error with RetryAfter 2m", err)
	}
	if len(slept.recorded()) != 0 || e.bcRequests.Load() != 1 {
		t.Errorf("slept %v and sent %d requests; want no retry", slept.recorded(), e.bcRequests.Load())
	}
}

func TestServerThrottleIsAbsorbed(t *testing.T) {
	t.Parallel()
	// BC's limiter (emulated) allows 3 requests per 1.5 s; the client is configured far
	// above that, as if another process shared the app. Every call must still succeed.
	e := setup(t, emulator.Config{Limits: throttle.Config{WindowRequests: 3, Window: 1500 * time.Millisecond}})
	c := e.client(Options{RateLimit: 1000})
	for i := range 5 {
		if _, err := c.ListPage(t.Context(), e.set("customers"), &Query{Top: 1}); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if s := e.emu.AppLimitStats(e.creds.ClientID); s.Rejected429 == 0 {
		t.Errorf("the emulator never throttled (%+v); the test proves nothing", s)
	}
}

func TestReadsRetryResetAndMalformedBodies(t *testing.T) {
	t.Parallel()
	e := setup(t, emulator.Config{})
	c := e.client(Options{})
	e.addFaults("seq:bc=reset,malformed,500,504,ok")
	var n int
	for _, err := range c.List(t.Context(), e.set("customers"), nil) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if want := e.emu.Count(e.emu.DemoCompanyRef(), "customers"); n != want {
		t.Errorf("listed %d customers, want %d", n, want)
	}
}

func TestRetriesKeepTheClientRequestID(t *testing.T) {
	t.Parallel()
	e := setup(t, emulator.Config{})
	var logs testlog.Buffer
	c := e.client(Options{Logger: logs.Logger()})
	withFakeSleep(c)
	e.addFaults("seq:bc=503,500,ok")
	ctx := WithClientRequestID(t.Context(), "sync-run-42")
	if _, err := c.ListPage(ctx, e.set("items"), &Query{Top: 1}); err != nil {
		t.Fatal(err)
	}
	reqs := e.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests", len(reqs))
	}
	for _, r := range reqs {
		if got := r.Header.Get(ClientRequestIDHeader); got != "sync-run-42" {
			t.Errorf("client-request-id = %q", got)
		}
	}
	if n := countLines(logs.String(), `"clientRequestId":"sync-run-42"`); n < 5 {
		t.Errorf("the client request id is in %d log lines, want every attempt and retry logged:\n%s", n, logs.String())
	}
	// Without a context id every call gets its own UUID, kept across its retries.
	e.addFaults("seq:bc=503,ok")
	if _, err := c.ListPage(t.Context(), e.set("items"), &Query{Top: 1}); err != nil {
		t.Fatal(err)
	}
	reqs = e.requests()[3:]
	id := reqs[0].Header.Get(ClientRequestIDHeader)
	if len(id) != 36 || reqs[1].Header.Get(ClientRequestIDHeader) != id {
		t.Errorf("ids %q, %q: want one UUID for both tries", id, reqs[1].Header.Get(ClientRequestIDHeader))
	}
}

func TestPostIsNotRepeatedAfterAmbiguousFailures(t *testing.T) {
	t.Parallel()
	e := setup(t, emulator.Config{})
	c := e.client(Options{})
	withFakeSleep(c)
	ref := e.set("customers")
	before := e.emu.Count(e.emu.DemoCompanyRef(), "customers")

	// 500 and 502 may come after BC processed the request: no retry.
	for _, kind := range []string{"500", "502", "504"} {
		e.addFaults("seq:bc=" + kind + ",ok")
		sent := e.bcRequests.Load()
		_, err := c.Create(t.Context(), ref, map[string]any{"displayName": "Once " + kind})
		var be *Error
		if !errors.As(err, &be) || be.StatusCode == 0 {
			t.Fatalf("%s: err = %v", kind, err)
		}
		if n := e.bcRequests.Load() - sent; n != 1 {
			t.Errorf("%s: the POST was sent %d times", kind, n)
		}
		e.emu.Faults().Reset()
	}
	// 429 and 503 come before processing: retried, created once.
	e.addFaults("seq:bc=429,503,ok")
	rec, err := c.Create(t.Context(), ref, map[string]any{"displayName": "After throttling"})
	if err != nil {
		t.Fatal(err)
	}
	if rec.ID == "" || rec.ETag == "" {
		t.Errorf("created record %+v", rec)
	}
	// BC created the record but the answer is lost: Create must not create it a second
	// time.
	e.loseAnswers(http.MethodPost, 1)
	if _, err := c.Create(t.Context(), ref, map[string]any{"displayName": "Lost answer"}); err == nil {
		t.Error("Create after a lost answer reported success without a record")
	}
	if got := e.emu.Count(e.emu.DemoCompanyRef(), "customers"); got != before+2 {
		t.Errorf("customers = %d, want %d (one per successful or lost create)", got, before+2)
	}
}

func TestPostIsRetriedWhenTheConnectionWasRefused(t *testing.T) {
	t.Parallel()
	e := setup(t, emulator.Config{})
	var dials atomic.Int64
	tr := e.sb.Client().Transport.(*http.Transport).Clone()
	base := tr.DialContext
	if base == nil {
		base = (&net.Dialer{}).DialContext
	}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if dials.Add(1) == 1 {
			return nil, &net.OpError{Op: "dial", Net: network, Err: errors.New("connection refused")}
		}
		return base(ctx, network, addr)
	}
	c := e.client(Options{HTTPClient: &http.Client{Transport: tr}})
	rec, err := c.Action(t.Context(), e.set("customers"), "", "x")
	if err == nil || rec != nil {
		t.Fatal("Action with an empty id was sent")
	}
	created, err := c.Create(t.Context(), e.set("customers"), map[string]any{"displayName": "Dial retry"})
	if err != nil {
		t.Fatalf("a refused connection was not retried: %v", err)
	}
	if created.ID == "" || dials.Load() < 2 {
		t.Errorf("created %q after %d dials", created.ID, dials.Load())
	}
}

func TestClientStatsCountThrottling(t *testing.T) {
	e := setup(t, emulator.Config{})
	c := e.client(Options{Retry: RetryOptions{BaseDelay: time.Millisecond}})
	e.addFaults("seq:bc=429,429,ok")
	if _, err := c.Companies(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := c.Stats(); s.Requests != 3 || s.Throttled != 2 || s.Retries != 2 {
		t.Errorf("stats = %+v, want 3 requests, 2 throttled, 2 retries", s)
	}
}
