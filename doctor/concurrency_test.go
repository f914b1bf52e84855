package doctor_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/bc"
	"github.com/bizzjoiner/bcconnector/doctor"
	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/emulator/emulatortest"
	"github.com/bizzjoiner/bcconnector/emulator/throttle"
)

// BenchmarkDoctorReference times a full passing check of the default entity sets against
// the emulator at the `reference` latency profile (150 ms per request, as measured on BC
// SaaS): the goal of issue 15 is ≤ 1.5 s. Each run gets a fresh token (the doctor's own).
//
//	go test -run x -bench DoctorReference -benchtime 5x ./doctor/
func BenchmarkDoctorReference(b *testing.B) {
	lat, err := throttle.ParseLatencyProfile("reference")
	if err != nil {
		b.Fatal(err)
	}
	sb := emulatortest.Start(b, emulator.Config{Scenario: emulator.ScenarioOK, Latency: lat})
	cfg := sandboxConfig(sb)
	for b.Loop() {
		if rep := doctor.Run(context.Background(), cfg); !rep.OK {
			b.Fatalf("doctor failed: %s", text(rep))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/check")
}

// gate holds the company-scoped BC requests until want of them wait at once, then lets
// every request through; it records the most that were ever inside RoundTrip together.
type gate struct {
	next http.RoundTripper
	want int
	held chan struct{} // one value per request held
	open chan struct{} // closed to release them

	mu           sync.Mutex
	inside, most int
}

func (g *gate) RoundTrip(req *http.Request) (*http.Response, error) {
	if !strings.Contains(req.URL.Path, "/companies(") {
		return g.next.RoundTrip(req)
	}
	g.mu.Lock()
	g.inside++
	g.most = max(g.most, g.inside)
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		g.inside--
		g.mu.Unlock()
	}()
	select {
	case g.held <- struct{}{}:
		<-g.open
	case <-g.open:
	}
	return g.next.RoundTrip(req)
}

// TestReadsConcurrently: the doctor reads the entity sets BC's 5 at a time (bc-entra-facts
// §5), never more. The gate proves the 5 are in flight together without timing anything.
func TestReadsConcurrently(t *testing.T) {
	t.Parallel()
	sb := emulatortest.Start(t, emulator.Config{Scenario: emulator.ScenarioOK})
	g := &gate{next: sb.Client().Transport, want: bc.DefaultMaxInFlight, held: make(chan struct{}), open: make(chan struct{})}
	var once sync.Once
	release := func() { once.Do(func() { close(g.open) }) }
	t.Cleanup(release)
	cfg := sandboxConfig(sb)
	cfg.HTTPClient = &http.Client{Transport: g}
	done := make(chan *doctor.Report, 1)
	go func() { done <- doctor.Run(context.Background(), cfg) }()
	for i := range g.want {
		select {
		case <-g.held:
		case rep := <-done:
			t.Fatalf("the doctor finished with %d reads held (it reads one set after another): %s", i, text(rep))
		case <-time.After(time.Minute): // a guard against a hang, not a measurement
			t.Fatalf("only %d reads in flight together, want %d", i, g.want)
		}
	}
	release()
	if rep := <-done; !rep.OK {
		t.Fatalf("doctor failed: %s", text(rep))
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.most > bc.DefaultMaxInFlight {
		t.Errorf("%d requests in flight together, BC processes %d per app", g.most, bc.DefaultMaxInFlight)
	}
}
