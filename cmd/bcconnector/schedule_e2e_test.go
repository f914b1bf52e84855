package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/emulator/control"
	"github.com/bizzjoiner/bcconnector/syncer"
)

// TestServeSchedules runs three connections, each of its own customer tenant and Entra
// app (so the emulator counts each one's BC requests apart), in the real binary's serve:
//   - "fast" keeps serve's --interval (5 s) and passes again and again;
//   - "hourly" has an interval of an hour or more set through the JSON API, chosen so that
//     its next moment (syncer.Phase) is well after the test's end: after its first full
//     pass it sends BC no request at all;
//   - "quiet" passes every 5 s until a quiet window covering now in Asia/Kathmandu (UTC+5:45)
//     is set through the JSON API: then it sends BC nothing while "fast" keeps passing, and
//     it passes again once the window is removed.
//
// Everything is read from observable state, with wide margins: the sync status of our API
// and the emulator's per-app request counters. A connection is idle (no run in flight) when
// the emulator counted exactly the requests its finished runs report.
func TestServeSchedules(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary and the emulator as processes for about a minute")
	}
	h := newE2E(t, "--seed", "21", "--customers", "2", "--data-size", "small")
	h.readCustomers(2)
	type connInfo struct {
		name, tenant, client, secret, secretEnd, env string
		id, company                                  string
	}
	conns := []*connInfo{{name: "fast", tenant: h.emu.tenant, client: h.emu.clientID, secret: h.emu.secret, secretEnd: h.emu.secretEnd, env: h.emu.env}}
	for i, name := range []string{"hourly", "quiet"} {
		c := h.customers[i]
		conns = append(conns, &connInfo{name: name, tenant: c.tenant, client: c.clientID, secret: c.secret, secretEnd: c.secretEnd, env: c.env})
	}
	for _, c := range conns {
		h.cli(c.secret+"\n", "connection", "add", "--name", c.name, "--tenant", c.tenant, "--client-id", c.client,
			"--environment", c.env, "--company", "Company X", "--secret-stdin", "--secret-end-date", c.secretEnd,
			"--authority-host", h.emu.authority, "--bc-base-url", h.emu.bcBase, "--ca-file", h.emu.caFile, "--entities", "customers")
	}
	fast, hourly, quiet := conns[0], conns[1], conns[2]
	h.token = strings.TrimSpace(h.cli("", "token", "create", "--name", "e2e"))
	h.serveArgs = []string{"--db", h.db, "--key-file", h.key, "--log-level", "info", "serve", "--listen", "127.0.0.1:0",
		"--interval", "5s", "--sync-slice", "2s", "--grace", "5s", "--allow-endpoint-overrides"}
	// What the CLI's checks sent BC; from here on every request of an app is serve's.
	base := h.stats()
	h.start()
	for _, c := range conns {
		var v struct{ ID, CompanyID string }
		if err := h.getJSON("/connections/"+c.name, &v); err != nil || v.ID == "" || v.CompanyID == "" {
			t.Fatalf("connection %s: %+v %v", c.name, v, err)
		}
		c.id, c.company = v.ID, v.CompanyID
	}

	// The hourly connection's interval, through the JSON API: the first of 1h, 2h, 3h…
	// whose next moment for its target is more than 20 minutes away, so the test (which
	// fails long before) never reaches it.
	target := syncer.Target{ConnectionID: hourly.id, CompanyID: hourly.company, EntitySet: "customers"}
	interval := time.Hour
	for ; ; interval += time.Hour {
		now := time.Now()
		into := time.Duration(now.UnixNano() % int64(interval))
		if next := (syncer.Phase(target, interval) - into + interval) % interval; next > 20*time.Minute {
			break
		}
	}
	if status, body := h.call("PATCH", "/connections/hourly", map[string]any{"schedule": map[string]string{"interval": interval.String()}}); status != http.StatusOK {
		t.Fatalf("PATCH hourly's schedule: %d %s", status, body)
	}
	t.Logf("hourly's interval: %s", interval)

	// requests is what a connection's finished runs report having sent; lastRun its
	// latest run's end.
	state := func(c *connInfo) (requests int64, lastRun, lastOK time.Time, done bool) {
		sets := h.syncStates(c.name)
		done = len(sets) > 0
		for _, s := range sets {
			requests += s.Requests
			done = done && s.FullSyncDone && s.LastError == ""
			if s.LastRunAt.After(lastRun) {
				lastRun = s.LastRunAt
			}
			if s.LastSuccessAt.After(lastOK) {
				lastOK = s.LastSuccessAt
			}
		}
		return
	}
	// sent is how many reads of customers BC admitted from c's app since serve started,
	// with the $metadata reads for its extension fields, which the set's runs count (serve
	// also reads a connection's company list now and then: not a pass).
	sent := func(st control.Stats, c *connInfo) int64 {
		app := strings.ToLower(c.client)
		read := func(st control.Stats) int64 {
			return st.Apps[app].Resources["customers"] + st.Apps[app].Resources["$metadata"]
		}
		return read(st) - read(base)
	}
	// idle says why c has a run in flight ("" when it has none): the emulator counted more
	// of its app's reads of customers than its finished runs report requests.
	idle := func(c *connInfo) string {
		reported, _, _, _ := state(c)
		if n := sent(h.stats(), c); n != reported {
			return fmt.Sprintf("%s: BC counted %d requests, its finished runs report %d", c.name, n, reported)
		}
		return ""
	}
	// passes waits until c has finished n more successful passes.
	passes := func(c *connInfo, n int, within time.Duration) {
		t.Helper()
		_, _, last, _ := state(c)
		seen := 0
		h.waitFor(fmt.Sprintf("%d passes of %s", n, c.name), within, func() string {
			_, _, ok, _ := state(c)
			if ok.After(last) {
				seen, last = seen+1, ok
			}
			if seen < n {
				return fmt.Sprintf("%d of %d passes", seen, n)
			}
			return ""
		})
	}

	h.waitFor("every connection's first full pass", 3*time.Minute, func() string {
		for _, c := range conns {
			if _, _, _, done := state(c); !done {
				return c.name + " has not finished its first full pass"
			}
		}
		return idle(hourly)
	})
	_, hourlyRun, _, _ := state(hourly)
	hourlySent := sent(h.stats(), hourly)
	passes(fast, 2, 2*time.Minute)
	passes(quiet, 2, 2*time.Minute)

	// A quiet window around now in the customer's time zone, through the JSON API.
	loc, err := time.LoadLocation("Asia/Kathmandu")
	if err != nil {
		t.Fatal(err)
	}
	local := time.Now().In(loc)
	window := map[string]string{"start": local.Add(-time.Hour).Format("15:04"), "end": local.Add(2 * time.Hour).Format("15:04"), "timeZone": "Asia/Kathmandu"}
	if status, body := h.call("PATCH", "/connections/quiet", map[string]any{"schedule": map[string]any{"quiet": window}}); status != http.StatusOK {
		t.Fatalf("PATCH quiet's schedule: %d %s", status, body)
	}
	// A pass queued before the window was set may still run: wait for fast's passes to
	// show the scheduler ran again, then for quiet to be idle.
	passes(fast, 2, 2*time.Minute)
	h.waitFor("quiet idle", time.Minute, func() string { return idle(quiet) })
	_, quietRun, _, _ := state(quiet)
	quietSent := sent(h.stats(), quiet)
	fastBefore := sent(h.stats(), fast)
	passes(fast, 3, 2*time.Minute)
	st := h.stats()
	if n := sent(st, quiet); n != quietSent {
		t.Errorf("inside its quiet window (%s–%s Asia/Kathmandu) quiet sent BC %d requests", window["start"], window["end"], n-quietSent)
	}
	if _, run, _, _ := state(quiet); !run.Equal(quietRun) {
		t.Errorf("inside its quiet window quiet ran at %s", run)
	}
	if n := sent(st, fast); n <= fastBefore {
		t.Errorf("fast sent BC nothing during 3 of its passes")
	}

	// Without the window quiet passes again.
	if status, body := h.call("PATCH", "/connections/quiet", map[string]any{"schedule": map[string]any{}}); status != http.StatusOK {
		t.Fatalf("PATCH quiet's schedule: %d %s", status, body)
	}
	passes(quiet, 1, 2*time.Minute)

	// The hourly connection ran once, its first full pass, and sent BC nothing since.
	if n := sent(h.stats(), hourly); n != hourlySent {
		t.Errorf("hourly (every %s) sent BC %d requests after its first full pass", interval, n-hourlySent)
	}
	if _, run, _, _ := state(hourly); !run.Equal(hourlyRun) {
		t.Errorf("hourly (every %s) ran again at %s", interval, run)
	}
	h.serve().stop(t)
}

// stats reads the emulator's counters through its admin surface.
func (h *e2e) stats() control.Stats {
	h.t.Helper()
	var s control.Stats
	h.adminCall("GET", "stats", "", http.StatusOK, &s)
	return s
}

// readCustomers reads the --customers tenants from the emulator's banner.
func (h *e2e) readCustomers(n int) {
	h.t.Helper()
	for line := range strings.SplitSeq(h.emu.out.String(), "\n") {
		if m := customerLine.FindStringSubmatch(line); m != nil {
			h.customers = append(h.customers, &multiCustomer{tenant: m[2], clientID: m[3], secret: m[4], secretEnd: m[5], env: m[6]})
		}
	}
	if len(h.customers) != n {
		h.t.Fatalf("the emulator's banner lists %d customers, want %d:\n%s", len(h.customers), n, h.emu.out.String())
	}
}
