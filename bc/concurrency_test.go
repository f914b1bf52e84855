package bc

import (
	"io"
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
	if s := e.emu.AppLimitStats(e.creds.ClientID); s.Rejected429 != 0 || s.Canceled != 0 {
		t.Errorf("BC's limiter: %+v", s)
	}
}

// TestSlotFreedAtEndOfBody: a request's limiter slot comes back when its body has been
// read to the end, before the caller closes it (BC has finished the request; a caller
// waiting for a slot need not wait for this one to decode what it read).
func TestSlotFreedAtEndOfBody(t *testing.T) {
	t.Parallel()
	e := setup(t, emulator.Config{})
	c := e.client(Options{MaxInFlight: 1})
	u := c.root.JoinPath("api/v2.0/companies").String()
	resp, err := c.send(t.Context(), &call{op: "list", method: "GET", url: u, requestID: "end-of-body"}, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if got := c.limiter.Stats().InFlight; got != 1 {
		t.Fatalf("%d slots in use while the body is unread, want 1", got)
	}
	if _, err := io.ReadAll(resp.Body); err != nil {
		t.Fatal(err)
	}
	if got := c.limiter.Stats().InFlight; got != 0 {
		t.Errorf("%d slots in use after the body was read to its end, want 0", got)
	}
}
