package bc

import (
	"sync"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/emulator/throttle"
)

func TestTheSixthConcurrentCallWaits(t *testing.T) {
	t.Parallel()
	const serverTime = 400 * time.Millisecond
	e := setup(t, emulator.Config{Latency: throttle.Latency{Overhead: serverTime}})
	c := e.client(Options{})
	ref := e.set("items")
	// Warm up: one token, so every call below only waits for BC.
	if _, err := c.ListPage(t.Context(), ref, &Query{Top: 1}); err != nil {
		t.Fatal(err)
	}
	e.maxInFlight.Store(0)
	start := time.Now()
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			if _, err := c.ListPage(t.Context(), ref, &Query{Top: 1}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if got := e.maxInFlight.Load(); got != 5 {
		t.Errorf("BC saw %d requests at once, want 5", got)
	}
	if elapsed < 2*serverTime {
		t.Errorf("6 calls took %v: the 6th did not wait for a slot (each holds one for %v)", elapsed, serverTime)
	}
	if s := e.emu.Limiter().Stats(e.creds.ClientID); s.Rejected429 != 0 || s.Canceled != 0 {
		t.Errorf("BC's limiter: %+v", s)
	}
}
