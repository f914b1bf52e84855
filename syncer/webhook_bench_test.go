package syncer_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/syncer"
	"github.com/bizzjoiner/bcconnector/webhook"
)

// hintRunner runs an incremental sync per hinted target, one run at a time per target,
// re-running once if a hint arrived during a run (what the River worker does).
type hintRunner struct {
	w       *world
	mu      sync.Mutex
	running map[syncer.Target]bool
	dirty   map[syncer.Target]bool
}

func (h *hintRunner) hint(_ context.Context, hn webhook.Hint) {
	t := syncer.Target{ConnectionID: hn.ConnectionID, CompanyID: hn.CompanyID, EntitySet: hn.EntitySet}
	h.mu.Lock()
	if h.running[t] {
		h.dirty[t] = true
		h.mu.Unlock()
		return
	}
	h.running[t] = true
	h.mu.Unlock()
	go func() {
		for {
			_, _ = h.w.sync.Incremental(context.Background(), h.w.client, t)
			h.mu.Lock()
			if !h.dirty[t] {
				delete(h.running, t)
				h.mu.Unlock()
				return
			}
			delete(h.dirty, t)
			h.mu.Unlock()
		}
	}()
}

// BenchmarkWebhookToReplica: target 4. With webhooks on and BC's coalescing delay at 0, the
// time from a change in BC to the change being in the replica (and its change log), at
// the 50th and 99th percentile over 200 changes.
func BenchmarkWebhookToReplica(b *testing.B) {
	for i := 0; i < b.N; i++ {
		runner := &hintRunner{running: map[syncer.Target]bool{}, dirty: map[syncer.Target]bool{}}
		var mgr *webhook.Manager
		recv := httptest.NewUnstartedServer(nil)
		recv.Config.Handler = httpHandlerFunc(func() *webhook.Manager { return mgr })
		recv.StartTLS()
		defer recv.Close()
		w := newWorld(b, emulator.Config{WebhookDelay: -1, WebhookClient: recv.Client()}, "", syncer.Options{})
		runner.w = w
		var err error
		mgr, err = webhook.NewManager(webhook.Options{PublicURL: recv.URL + "/webhooks/bc", Hint: runner.hint})
		if err != nil {
			b.Fatal(err)
		}
		defer mgr.Close()
		ctx := context.Background()
		tg := w.target("customers")
		if _, err := w.sync.Full(ctx, w.client, tg, false); err != nil {
			b.Fatal(err)
		}
		if _, err := mgr.Ensure(ctx, w.client, w.connID, w.ref.CompanyID, []string{"customers"}); err != nil {
			b.Fatal(err)
		}
		var ids []string
		for row := range w.emu.Rows(w.ref, "customers") {
			ids = append(ids, row["id"].(string))
		}
		last := lastSeq(b, w)
		var lat []time.Duration
		for n := 0; n < 200; n++ {
			start := time.Now()
			if _, err := w.emu.Update(w.ref, "customers", ids[n%len(ids)], map[string]any{"displayName": fmt.Sprintf("Change %d", n)}); err != nil {
				b.Fatal(err)
			}
			for {
				if ch, _ := w.db.Changes(ctx, last, 100); len(ch) > 0 {
					last = ch[len(ch)-1].Seq
					break
				}
				if time.Since(start) > 10*time.Second {
					b.Fatalf("change %d never reached the replica", n)
				}
				time.Sleep(time.Millisecond)
			}
			lat = append(lat, time.Since(start))
		}
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
	}
}

func lastSeq(b *testing.B, w *world) int64 {
	var last int64
	for {
		ch, err := w.db.Changes(context.Background(), last, 10000)
		if err != nil {
			b.Fatal(err)
		}
		if len(ch) == 0 {
			return last
		}
		last = ch[len(ch)-1].Seq
	}
}

// httpHandlerFunc defers to a handler created after the server started.
type httpHandlerFunc func() *webhook.Manager

func (f httpHandlerFunc) ServeHTTP(w http.ResponseWriter, r *http.Request) { f().ServeHTTP(w, r) }
