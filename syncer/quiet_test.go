package syncer_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/conn"
	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/syncer"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// oneConn is a store of one connection, for Worker.Schedules.
type oneConn struct{ c store.Connection }

func (o oneConn) GetConnection(context.Context, string) (store.Connection, error) { return o.c, nil }

// countTransport calls hook once, after the nth response of a customers read was read.
type countTransport struct {
	base http.RoundTripper
	n    atomic.Int64
	at   int64
	hook func()
}

func (h *countTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := h.base.RoundTrip(r)
	if err == nil && strings.HasSuffix(r.URL.Path, "/customers") {
		resp.Body = onClose{resp.Body, func() {
			if h.n.Add(1) == h.at {
				h.hook()
			}
		}}
	}
	return resp, err
}

// TestQuietWindowStopsRunningPass: a scheduled pass running when its connection's quiet
// window starts (22:00 Europe/Berlin on a fake clock) stops at its next page boundary,
// its pages committed with their checkpoints, and snoozes until the target's moment after
// the window's end; a scheduled job due inside the window snoozes without a request to
// BC; after the window the job continues from its checkpoints (not from the start) and
// the replica equals BC. A pass a person asked for is not held back by the window.
func TestQuietWindowStopsRunningPass(t *testing.T) {
	t.Parallel()
	w := newWorld(t, emulator.Config{}, "small,customers=400", syncer.Options{PageSize: 10, Workers: 1, Partitions: 1})
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{t: time.Date(2026, 3, 10, 21, 59, 0, 0, berlin)}
	windowStart := time.Date(2026, 3, 10, 22, 0, 0, 0, berlin)
	windowEnd := time.Date(2026, 3, 11, 6, 0, 0, 0, berlin)
	c := store.Connection{ID: w.connID, Schedule: store.Schedule{Interval: "15m",
		Quiet: &store.QuietWindow{Start: "22:00", End: "06:00", TimeZone: "Europe/Berlin"}}}
	// After the 6th customers response (probes and the first pages), the window starts.
	sbClient := w.sb.Client()
	tr := &countTransport{base: sbClient.Transport, at: 6, hook: func() { clock.set(windowStart.Add(30 * time.Second)) }}
	cr := w.sb.Creds
	cn, err := conn.Open(store.Connection{TenantID: cr.TenantID, ClientID: cr.ClientID, Environment: cr.Environment,
		AuthorityHost: w.sb.AuthorityHost(), BCBaseURL: w.sb.BCBaseURL()}, secret.Credential{Secret: secret.Secret(cr.ClientSecret)},
		conn.Options{HTTPClient: &http.Client{Transport: tr, CheckRedirect: sbClient.CheckRedirect}, Retry: fastRetry})
	if err != nil {
		t.Fatal(err)
	}
	const def = 10 * time.Minute // serve's --interval
	worker := &syncer.Worker{Syncer: w.sync, Clients: fixedClients{cn.BC}, Schedules: oneConn{c}, Interval: def, Now: clock.now, RunFor: time.Hour}
	tg := w.target("customers")
	job := func(scheduled bool) *river.Job[syncer.SyncArgs] {
		return &river.Job[syncer.SyncArgs]{JobRow: &rivertype.JobRow{Attempt: 1},
			Args: syncer.SyncArgs{ConnectionID: tg.ConnectionID, CompanyID: tg.CompanyID, EntitySet: tg.EntitySet, Scheduled: scheduled}}
	}
	// resumes checks a snooze ends at the target's phase of --interval (shorter than the
	// connection's 15m) within --interval after the window's end.
	resumes := func(err error) {
		t.Helper()
		var sn *rivertype.JobSnoozeError
		if !errors.As(err, &sn) {
			t.Fatalf("the job ended with %v, want a snooze", err)
		}
		at := clock.now().Add(sn.Duration)
		if at.Before(windowEnd) || !at.Before(windowEnd.Add(def)) || time.Duration(at.UnixNano()%int64(def)) != syncer.Phase(tg, def) {
			t.Fatalf("the job resumes at %s, want its phase of %s in [%s, %s)", at.In(berlin), def, windowEnd, windowEnd.Add(def))
		}
	}
	key := store.ReplicaKey{ConnectionID: tg.ConnectionID, CompanyID: tg.CompanyID, EntitySet: tg.EntitySet}
	n := w.emu.Count(w.ref, "customers")

	resumes(worker.Work(t.Context(), job(true)))
	read := tr.n.Load()
	st, err := w.db.SyncState(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := w.db.ReplicaCount(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	if st.FullSyncDone || len(st.Checkpoints) == 0 || rows == 0 || rows >= int64(n) || read > 8 {
		t.Fatalf("after the window started: done %v, %d checkpoints, %d of %d rows, %d customers requests; want the pass stopped at the page after 6 requests with its checkpoint",
			st.FullSyncDone, len(st.Checkpoints), rows, n, read)
	}

	// Due inside the window: snoozes without asking BC.
	clock.set(time.Date(2026, 3, 11, 3, 0, 0, 0, berlin))
	resumes(worker.Work(t.Context(), job(true)))
	if tr.n.Load() != read {
		t.Fatalf("a job due inside the quiet window read BC (%d customers requests, %d before)", tr.n.Load(), read)
	}

	// After the window: it continues from its checkpoints.
	clock.set(windowEnd.Add(def))
	if err := worker.Work(t.Context(), job(true)); err != nil {
		t.Fatalf("after the window: %v", err)
	}
	w.assertEqual("customers")
	pages := int64(n+9) / 10
	if total := tr.n.Load(); total > pages+8 {
		t.Errorf("%d customers requests for %d pages: the pass started over instead of continuing", total, pages)
	}

	// A pass a person asked for runs inside the window.
	clock.set(time.Date(2026, 3, 11, 23, 0, 0, 0, berlin))
	if _, err := w.emu.Create(w.ref, "customers", map[string]any{"displayName": "Added at night"}); err != nil {
		t.Fatal(err)
	}
	if err := worker.Work(t.Context(), job(false)); err != nil {
		t.Fatalf("a person's job inside the window: %v", err)
	}
	w.assertEqual("customers")
}

// TestQuietWindowNextStart: the next start of a window, across midnight and the spring
// daylight saving change.
func TestQuietWindowNextStart(t *testing.T) {
	t.Parallel()
	berlin, _ := time.LoadLocation("Europe/Berlin")
	q := &store.QuietWindow{Start: "22:00", End: "06:00", TimeZone: "Europe/Berlin"}
	for _, c := range []struct{ now, want time.Time }{
		{time.Date(2026, 3, 10, 21, 59, 0, 0, berlin), time.Date(2026, 3, 10, 22, 0, 0, 0, berlin)},
		{time.Date(2026, 3, 10, 22, 0, 0, 0, berlin), time.Date(2026, 3, 11, 22, 0, 0, 0, berlin)},
		{time.Date(2026, 3, 11, 5, 0, 0, 0, berlin), time.Date(2026, 3, 11, 22, 0, 0, 0, berlin)},
	} {
		if got := q.NextStart(c.now); !got.Equal(c.want) {
			t.Errorf("NextStart(%s) = %s, want %s", c.now, got, c.want)
		}
	}
	dst := &store.QuietWindow{Start: "02:30", End: "04:00", TimeZone: "Europe/Berlin"} // 02:30 does not exist on 2026-03-29
	if got := dst.NextStart(time.Date(2026, 3, 29, 1, 0, 0, 0, berlin)); got.IsZero() || !got.After(time.Date(2026, 3, 29, 1, 0, 0, 0, berlin)) || got.Day() != 29 {
		t.Errorf("NextStart across the spring change = %s", got)
	}
	if got := (&store.QuietWindow{Start: "22:00", End: "06:00", TimeZone: "Nowhere/City"}).NextStart(time.Now()); !got.IsZero() {
		t.Errorf("an invalid zone: %s", got)
	}
}
