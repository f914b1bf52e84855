package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/store/postgres/pgtest"
	"github.com/bizzjoiner/bcconnector/syncer"
	"github.com/jackc/pgx/v5"
)

// TestMultiInstance runs the product as a deployment that grows does: one emulator
// process holding several customer tenants (each its own Entra app, so its own BC
// budget), 3 `serve --database-url` instances on one PostgreSQL schema, a connection per
// tenant, their syncs running and customers created through every instance's API. One
// instance is killed with SIGKILL while the syncs run; the other two finish its work
// (River's rescuer hands them its jobs). Then every replica equals BC exactly, the change
// feed runs from 1 without gap or repeat and replays to the replicas, and the emulator's
// own counters show that BC never had more than 5 requests of one app in process at once
// and sent no 429: the instances shared each app's budget.
func TestMultiInstance(t *testing.T) {
	if testing.Short() {
		t.Skip("the multi-instance test runs the real binary four times for about a minute")
	}
	dbURL := pgtest.SchemaURL(t) // skips without BCC_TEST_DATABASE_URL, fails with CI=true
	h := &multi{t: t, bin: buildBinary(t), dir: t.TempDir(), db: dbURL, api: &http.Client{Timeout: 30 * time.Second}}
	h.key = filepath.Join(h.dir, "master.key")
	const customers = 3
	// 100 ms per request and 10-row pages: a full sync takes a few seconds, so the kill
	// lands while every instance runs sync jobs.
	h.emu = startSoakEmulator(t, h.bin, filepath.Join(h.dir, "ca.pem"), "--seed", "10",
		"--data-size", "small,generalLedgerEntries=300", "--customers", strconv.Itoa(customers), "--latency-profile", "100ms+0.2ms/row",
		"--max-page-size", "10")
	h.readCustomers(customers)
	h.addConnections()
	h.token = strings.TrimSpace(h.cli("", "token", "create", "--name", "multi"))

	start := time.Now()
	args := []string{"--database-url", h.db, "--key-file", h.key, "--log-level", "info", "serve", "--listen", "127.0.0.1:0",
		"--interval", "5s", "--sync-slice", "2s", "--grace", "5s", "--workers", "6", "--allow-endpoint-overrides"}
	for range 3 {
		h.serves = append(h.serves, startServe(t, h.bin, args...))
	}
	// Write-throughs on every instance while the syncs run: without the shared budget each
	// instance would send BC its own 5 requests of an app at once.
	writesDone := h.writeLoad()
	h.killMidSync()
	t.Logf("multi-instance: killed the first instance %s after the start", time.Since(start).Round(100*time.Millisecond))
	wrote := <-writesDone
	h.waitForPasses(wrote, 90*time.Second)
	t.Logf("multi-instance: every set passed twice after the writes, %s after the start", time.Since(start).Round(100*time.Millisecond))
	// The emulator's counters first: the harness's own reads of BC come after them.
	rep, _ := h.emu.makeQuiet(t)
	h.checkBudget(rep)
	h.readTruth()
	if diff := h.divergence(); len(diff) > 0 {
		t.Errorf("the replicas differ from BC:\n  %s", strings.Join(first(diff, 30), "\n  "))
	}
	h.checkFeed()
	h.checkRescued()
	for _, p := range h.serves[1:] {
		p.stop(t)
	}
	t.Logf("multi-instance: %d customers, 3 instances (one killed), converged and checked in %s", customers, time.Since(start).Round(100*time.Millisecond))
}

// multiSets are the entity sets each customer's connection replicates: many sets without
// lines, so that many sync jobs of one connection run at once on the instances.
var multiSets = []string{"accounts", "bankAccounts", "contacts", "countriesRegions", "currencies", "customers",
	"generalLedgerEntries", "itemCategories", "paymentMethods", "paymentTerms", "shipmentMethods", "taxGroups",
	"unitsOfMeasure", "vendors"}

// multi is the multi-instance harness.
type multi struct {
	t     *testing.T
	bin   string
	dir   string
	db    string // the PostgreSQL URL with the test's schema
	key   string
	token string
	api   *http.Client

	emu       *soakEmulator
	customers []*multiCustomer
	serves    []*serveProcess
	killedAt  time.Time
}

// multiCustomer is one customer tenant: its credentials, its connection and BC's truth.
type multiCustomer struct {
	tenant, clientID, secret, env, secretEnd string
	conn                                     string
	bc                                       *bcTruth
	truth                                    map[string]map[string]map[string]any // set -> id -> record
	mu                                       sync.Mutex
}

var customerLine = regexp.MustCompile(`^\s+Customer (\d+)\s+tenant (\S+)\s+client (\S+)\s+secret (\S+)\s+expires (\S+)\s+environment (\S+)`)

// readCustomers reads the extra customers from the emulator's banner.
func (h *multi) readCustomers(n int) {
	t := h.t
	for _, line := range strings.Split(h.emu.out.String(), "\n") {
		m := customerLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		c := &multiCustomer{tenant: m[2], clientID: m[3], secret: m[4], secretEnd: m[5], env: m[6], conn: "customer-" + m[1]}
		e := *h.emu
		e.tenant, e.clientID, e.secret, e.env = c.tenant, c.clientID, c.secret, c.env
		var err error
		if c.bc, err = newBCTruth(&e); err != nil {
			t.Fatal(err)
		}
		h.customers = append(h.customers, c)
	}
	if len(h.customers) != n {
		t.Fatalf("the emulator's banner lists %d customers, want %d:\n%s", len(h.customers), n, h.emu.out.String())
	}
}

// addConnections adds a connection per customer with the CLI.
func (h *multi) addConnections() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, c := range h.customers {
		companyID, err := c.bc.companyID(ctx)
		if err != nil {
			h.t.Fatalf("%s: read the companies: %v", c.conn, err)
		}
		c.bc.company = companyID
		h.cli(c.secret+"\n", "connection", "add", "--name", c.conn, "--no-check", "--tenant", c.tenant, "--client-id", c.clientID,
			"--environment", c.env, "--company", companyID, "--secret-stdin", "--secret-end-date", c.secretEnd,
			"--authority-host", h.emu.authority, "--bc-base-url", h.emu.bcBase, "--ca-file", h.emu.caFile,
			"--entities", strings.Join(multiSets, ","), "--write-entities", "customers")
	}
}

// cli runs the binary on the test's database and key and returns its standard output.
func (h *multi) cli(stdin string, args ...string) string {
	h.t.Helper()
	out, _ := runBinary(h.t, h.bin, stdin, append([]string{"--database-url", h.db, "--key-file", h.key}, args...)...)
	return string(out)
}

// live returns a serve that was not killed.
func (h *multi) live() *serveProcess { return h.serves[len(h.serves)-1] }

func (h *multi) getJSON(path string, v any) error {
	req, _ := http.NewRequest("GET", h.live().URL+"/api/v1"+path, nil)
	req.Header.Set("Authorization", "Bearer "+h.token)
	resp, err := h.api.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		return fmt.Errorf("GET %s: %d %s", path, resp.StatusCode, b.String())
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

type syncSets struct {
	Sets []struct {
		EntitySet     string
		FullSyncDone  bool
		LastError     string
		LastSuccessAt time.Time
		Rows          int64
	}
}

// readTruth reads every customer's sets from BC, 5 at a time per customer (each customer
// is its own app), after the emulator's counters were taken, so the harness's requests are
// not in them.
func (h *multi) readTruth() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	for _, c := range h.customers {
		c.truth = map[string]map[string]map[string]any{}
		slots := make(chan struct{}, 5) // BC's 5 per app, which the emulator counts
		for _, set := range multiSets {
			wg.Go(func() {
				slots <- struct{}{}
				defer func() { <-slots }()
				rows, err := readSet(ctx, c.bc, set)
				if err != nil {
					h.t.Errorf("%s: read %s from BC: %v", c.conn, set, err)
				}
				c.mu.Lock()
				c.truth[set] = rows
				c.mu.Unlock()
			})
		}
	}
	wg.Wait()
	if h.t.Failed() {
		h.t.FailNow()
	}
}

// readSet reads every record of a set of the customer's company: id -> record.
func readSet(ctx context.Context, b *bcTruth, set string) (map[string]map[string]any, error) {
	out := map[string]map[string]any{}
	for u := b.api + "/companies(" + b.company + ")/" + set; u != ""; {
		var page struct {
			Value    []map[string]any `json:"value"`
			NextLink string           `json:"@odata.nextLink"`
		}
		if err := b.get(ctx, u, &page); err != nil {
			return nil, err
		}
		for _, r := range page.Value {
			id, _ := r["id"].(string)
			out[id] = r
		}
		u = page.NextLink
	}
	return out, nil
}

// riverDB connects to the instances' database, for River's job table.
func (h *multi) riverDB() *pgx.Conn {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	db, err := pgx.Connect(ctx, h.db)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { db.Close(context.Background()) })
	return db
}

// killMidSync waits until each of the 3 instances runs sync jobs (River's job table
// names the client of each running attempt) and no connection has finished its full
// sync, then kills the first instance with SIGKILL.
func (h *multi) killMidSync() {
	t := h.t
	db := h.riverDB()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var busy int
		if err := db.QueryRow(context.Background(), `SELECT count(DISTINCT attempted_by[array_upper(attempted_by, 1)])
			FROM river_job WHERE state = 'running' AND queue = $1`, syncer.QueueSync).Scan(&busy); err != nil {
			t.Fatal(err)
		}
		if busy == len(h.serves) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the 3 instances did not all run sync jobs within 30s (%d did)\n%s", busy, tail(h.serves[0].stderr.String(), 3000))
		}
		time.Sleep(20 * time.Millisecond) // polling interval; the deadline bounds the wait
	}
	h.serves[0].kill()
	h.killedAt = time.Now()
	for _, c := range h.customers {
		var st syncSets
		if err := h.getJSON("/connections/"+c.conn+"/sync", &st); err != nil {
			t.Fatal(err)
		}
		done := len(st.Sets) > 0
		for _, s := range st.Sets {
			done = done && s.FullSyncDone
		}
		if !done {
			return
		}
	}
	t.Fatal("every connection had finished its full sync when the instance was killed; make the sync longer")
}

// checkRescued checks that the killed instance's sync jobs were taken over: River's
// rescuer marked them and made them available to the other instances, which ran them on
// (a job of a target runs again every interval, so it may be in any live state), and
// none was given up.
func (h *multi) checkRescued() {
	var rescued, givenUp int
	if err := h.riverDB().QueryRow(context.Background(), `SELECT count(*),
			count(*) FILTER (WHERE state IN ('discarded', 'cancelled'))
		FROM river_job WHERE queue = $1 AND errors::text LIKE '%Stuck job rescued%'`, syncer.QueueSync).Scan(&rescued, &givenUp); err != nil {
		h.t.Fatal(err)
	}
	if rescued == 0 || givenUp > 0 {
		h.t.Errorf("sync jobs rescued from the killed instance: %d, of which %d were given up; want some, none given up", rescued, givenUp)
	}
	h.t.Logf("multi-instance: %d sync jobs of the killed instance taken over by the others", rescued)
}

// writeLoad creates customers through every instance's API, 3 writers per instance and
// connection, each 8 creates (those sent to the killed instance fail). The channel gets
// the time the last write ended.
func (h *multi) writeLoad() <-chan time.Time {
	done := make(chan time.Time, 1)
	var wg sync.WaitGroup
	for i, p := range h.serves {
		for _, c := range h.customers {
			for w := range 3 {
				wg.Go(func() {
					for n := range 8 {
						body := fmt.Sprintf(`{"displayName":"Instance %d writer %d create %d"}`, i, w, n)
						req, _ := http.NewRequest("POST", p.URL+"/api/v1/connections/"+c.conn+"/entities/customers/records", strings.NewReader(body))
						req.Header.Set("Authorization", "Bearer "+h.token)
						req.Header.Set("Content-Type", "application/json")
						resp, err := h.api.Do(req)
						if err != nil {
							return // the instance was killed
						}
						resp.Body.Close()
						if resp.StatusCode != http.StatusCreated && i != 0 {
							h.t.Errorf("create through instance %d for %s: %s", i, c.conn, resp.Status)
						}
					}
				})
			}
		}
	}
	go func() {
		wg.Wait()
		done <- time.Now()
	}()
	return done
}

// waitForPasses waits until every set of every connection has finished its full sync
// without error and passed twice since after: the second pass started after the first
// ended, so it read everything written before after, also what a killed instance wrote to
// BC but not to the replica.
func (h *multi) waitForPasses(after time.Time, within time.Duration) {
	t := h.t
	deadline := time.Now().Add(within)
	for pass := range 2 {
		for {
			var waiting []string
			for _, c := range h.customers {
				var st syncSets
				if err := h.getJSON("/connections/"+c.conn+"/sync", &st); err != nil {
					t.Fatal(err)
				}
				if len(st.Sets) != len(multiSets) {
					waiting = append(waiting, fmt.Sprintf("%s: %d of %d sets", c.conn, len(st.Sets), len(multiSets)))
				}
				for _, s := range st.Sets {
					if !s.FullSyncDone || s.LastError != "" || !s.LastSuccessAt.After(after) {
						waiting = append(waiting, fmt.Sprintf("%s %s: full sync done %v, last success %s, last error %q",
							c.conn, s.EntitySet, s.FullSyncDone, s.LastSuccessAt.Format(time.RFC3339Nano), s.LastError))
					}
				}
			}
			if len(waiting) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("pass %d after %s not done within %s:\n  %s\nlog tail of a live instance:\n%s", pass+1,
					after.Format(time.RFC3339Nano), within, strings.Join(first(waiting, 30), "\n  "), tail(h.live().stderr.String(), 4000))
			}
			time.Sleep(300 * time.Millisecond) // polling interval; the deadline bounds the wait
		}
		after = time.Now()
	}
}

// divergence lists what differs between the replicas and BC as readTruth read it, and
// unclean sync states.
func (h *multi) divergence() []string {
	var diff []string
	all := multiSets
	for _, c := range h.customers {
		truth := c.truth
		for _, set := range all {
			rep, err := h.replica(c.conn, set)
			if err != nil {
				return []string{c.conn + ": " + err.Error()}
			}
			d, _ := diffRows(set, truth[set], rep)
			for _, x := range d {
				diff = append(diff, c.conn+": "+x)
			}
		}
		var st syncSets
		if err := h.getJSON("/connections/"+c.conn+"/sync", &st); err != nil {
			return append(diff, err.Error())
		}
		var names []string
		for _, s := range st.Sets {
			names = append(names, s.EntitySet)
			if s.LastError != "" || !s.FullSyncDone {
				diff = append(diff, fmt.Sprintf("%s: sync state of %s: full pass done %v, last error %q", c.conn, s.EntitySet, s.FullSyncDone, s.LastError))
			}
		}
		slices.Sort(names)
		if !slices.Equal(names, all) {
			diff = append(diff, fmt.Sprintf("%s: sync shows the sets %v, want %v", c.conn, names, all))
		}
	}
	return diff
}

// replica reads every row of a connection's set through a live instance's API.
func (h *multi) replica(conn, set string) (map[string]map[string]any, error) {
	return readReplica(h.getJSON, conn, set)
}

// checkFeed reads the change feed from 0: sequence numbers run from 1 without gap or
// repeat across the instances' writers, and replaying it per connection and set gives
// the replicas' ids and ETags exactly.
func (h *multi) checkFeed() {
	t := h.t
	type key struct{ conn, set string }
	state := map[key]map[string]string{} // -> id -> etag
	var after int64
	for {
		var page struct {
			Changes []struct {
				Seq          int64
				ConnectionID string
				EntitySet    string
				ID           string
				Op           string
				ETag         string
			}
		}
		if err := h.getJSON("/changes?after="+strconv.FormatInt(after, 10)+"&limit=5000", &page); err != nil {
			t.Fatal(err)
		}
		if len(page.Changes) == 0 {
			break
		}
		for _, c := range page.Changes {
			if c.Seq != after+1 {
				t.Fatalf("change feed: seq %d follows %d (a gap or a repeat)", c.Seq, after)
			}
			after = c.Seq
			k := key{c.ConnectionID, c.EntitySet}
			if state[k] == nil {
				state[k] = map[string]string{}
			}
			switch c.Op {
			case "insert", "update":
				state[k][c.ID] = c.ETag
			case "delete":
				delete(state[k], c.ID)
			default:
				t.Fatalf("change feed: seq %d has op %q", c.Seq, c.Op)
			}
		}
	}
	var conns struct {
		Connections []struct{ ID, Name string }
	}
	if err := h.getJSON("/connections", &conns); err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for _, c := range conns.Connections {
		ids[c.Name] = c.ID
	}
	all := multiSets
	rows := 0
	for _, c := range h.customers {
		for _, set := range all {
			rep, err := h.replica(c.conn, set)
			if err != nil {
				t.Fatal(err)
			}
			rows += len(rep)
			if bad := replayDiff(state[key{ids[c.conn], set}], rep); len(bad) > 0 {
				t.Errorf("%s: change feed replay of %s differs from the replica (%d rows):\n  %s", c.conn, set, len(rep), strings.Join(first(bad, 20), "\n  "))
			}
		}
	}
	if rows == 0 || after == 0 {
		t.Fatalf("nothing was replicated (%d rows, %d changes)", rows, after)
	}
	t.Logf("multi-instance: %d changes in the feed, %d rows in the replicas", after, rows)
}

// checkBudget checks the emulator's counters of each customer's app: at most 5 requests
// in process at once, and no 429 from BC's limits.
func (h *multi) checkBudget(rep QuietReport) {
	for _, c := range h.customers {
		app, ok := rep.Apps[strings.ToLower(c.clientID)]
		if !ok || app.Requests == 0 {
			h.t.Errorf("%s: the emulator counted no requests of its app %s: %+v", c.conn, c.clientID, rep.Apps)
			continue
		}
		if app.MaxInProcess > 5 {
			h.t.Errorf("%s: BC had %d requests of the app in process at once; it allows 5 (the instances did not share the budget)", c.conn, app.MaxInProcess)
		}
		if app.Throttled > 0 {
			h.t.Errorf("%s: BC answered %d requests of the app with 429", c.conn, app.Throttled)
		}
		h.t.Logf("multi-instance: %s: %d requests, at most %d in process at once, %d throttled", c.conn, app.Requests, app.MaxInProcess, app.Throttled)
	}
}
