package bc

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/emulator/emulatortest"
)

// testEnv is one emulator behind a real TLS server, with a handler in front that records
// what the client sent.
type testEnv struct {
	t     testing.TB
	sb    *emulatortest.Sandbox
	emu   *emulator.Emulator
	creds emulator.Credentials

	mu          sync.Mutex
	seen        []seenRequest
	lose        map[string]int // method → how many answers to drop after BC processed them
	inFlight    atomic.Int64
	maxInFlight atomic.Int64
	bcRequests  atomic.Int64
}

// seenRequest is a BC request as it arrived.
type seenRequest struct {
	Method     string
	RequestURI string
	Header     http.Header
	At         time.Time
}

func setup(t testing.TB, cfg emulator.Config) *testEnv {
	t.Helper()
	e := &testEnv{t: t}
	e.sb = emulatortest.Start(t, cfg, emulatortest.Wrap(e.record))
	e.emu, e.creds = e.sb.Emulator, e.sb.Creds
	return e
}

// record wraps the emulator: it counts and records BC requests and drops the answers
// loseAnswers asked for.
func (e *testEnv) record(emu http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v2.0/") {
			e.bcRequests.Add(1)
			n := e.inFlight.Add(1)
			defer e.inFlight.Add(-1)
			for {
				m := e.maxInFlight.Load()
				if n <= m || e.maxInFlight.CompareAndSwap(m, n) {
					break
				}
			}
			e.mu.Lock()
			e.seen = append(e.seen, seenRequest{Method: r.Method, RequestURI: r.RequestURI, Header: r.Header.Clone(), At: time.Now()})
			lost := e.lose[r.Method] > 0
			if lost {
				e.lose[r.Method]--
			}
			e.mu.Unlock()
			if lost {
				// BC processes the request, but its answer never reaches the client.
				emu.ServeHTTP(httptest.NewRecorder(), r)
				panic(http.ErrAbortHandler)
			}
		}
		emu.ServeHTTP(w, r)
	})
}

// loseAnswers makes the next n requests with method reach BC but lose their answer.
func (e *testEnv) loseAnswers(method string, n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.lose == nil {
		e.lose = map[string]int{}
	}
	e.lose[method] = n
}

// requests returns the BC requests seen so far.
func (e *testEnv) requests() []seenRequest {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]seenRequest(nil), e.seen...)
}

// addFaults scripts faults from now on, in the --faults syntax.
func (e *testEnv) addFaults(spec string) { e.sb.AddFaults(spec) }

func (e *testEnv) tokens() *emulatortest.Tokens { return e.sb.Tokens() }

// client returns a Client for the scenario's connection. Fields of opt that are set win;
// retries back off by a millisecond so tests stay fast.
func (e *testEnv) client(opt Options) *Client {
	e.t.Helper()
	if opt.BaseURL == "" {
		opt.BaseURL = e.sb.BCBaseURL()
	}
	if opt.TenantID == "" {
		opt.TenantID = e.creds.TenantID
	}
	if opt.Environment == "" {
		opt.Environment = e.creds.Environment
	}
	if opt.Tokens == nil {
		opt.Tokens = e.tokens()
	}
	if opt.HTTPClient == nil {
		opt.HTTPClient = e.sb.Client()
	}
	if opt.Retry.BaseDelay == 0 {
		opt.Retry.BaseDelay = time.Millisecond
		opt.Retry.MaxDelay = 5 * time.Millisecond
	}
	c, err := New(opt)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *testEnv) companyID() string { return e.emu.DemoCompanyRef().CompanyID }

func (e *testEnv) set(name string) Ref { return Set(e.companyID(), name) }

// fakeSleep replaces the client's retry sleep: it records each delay and moves the
// client's clock instead of waiting.
type fakeSleep struct {
	mu     sync.Mutex
	delays []time.Duration
	clock  *emulatortest.Clock
}

func (f *fakeSleep) sleep(ctx context.Context, d time.Duration) error {
	f.mu.Lock()
	f.delays = append(f.delays, d)
	f.mu.Unlock()
	f.clock.Advance(d)
	return ctx.Err()
}

func (f *fakeSleep) recorded() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.delays...)
}

// withFakeSleep makes c's retries instant and recorded.
func withFakeSleep(c *Client) *fakeSleep {
	clock := &emulatortest.Clock{}
	f := &fakeSleep{clock: clock}
	c.now = clock.Now
	c.limiter.now = clock.Now
	c.sleep = f.sleep
	return f
}

// collect drains an iterator.
func collect(t testing.TB, seq func(func(Record, error) bool)) []Record {
	t.Helper()
	var out []Record
	for rec, err := range seq {
		if err != nil {
			t.Fatalf("iteration: %v", err)
		}
		out = append(out, rec)
	}
	return out
}

func countLines(s, sub string) int {
	n := 0
	for line := range strings.SplitSeq(s, "\n") {
		if strings.Contains(line, sub) {
			n++
		}
	}
	return n
}
