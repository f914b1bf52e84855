package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/bcschema"
	"github.com/bizzjoiner/bcconnector/conn"
	"github.com/bizzjoiner/bcconnector/internal/testlog"
)

// The soak test runs the product as an operator does: the real binary's `serve` against
// the emulator running as its own process, whose data keeps changing (the mutator, plus
// write-throughs through our API) under a fault mix (429, 5xx with Retry-After,
// connection resets, token endpoint outages), with `serve` killed by SIGKILL at
// seeded-random moments and started again on the same database and key. Then the
// emulator is made quiet (SIGUSR1) and the test proves the replica converges to BC
// exactly and stays there, the change feed replays to it, no job is left running by a
// dead process, no sync state shows a stale error, nothing went to a host the connection
// does not name, and no secret or token was printed or answered.
//
// Its short form runs in the suite. The long form is chosen by environment variables:
//
//	BCC_SOAK_DURATION=30m  how long data changes and serve is killed (default 40s)
//	BCC_SOAK_KILLS=20      SIGKILLs in that time (default 3)
//	BCC_SOAK_SEED=N        seed of the kill schedule, the emulator's data, mutator and faults
//	                       (default: from the clock; the test logs it)
//	BCC_SOAK_RATE=5        changes per second the emulator makes (default 5)
//	BCC_SOAK_FAULTS=...    the emulator's --faults (default soakFaults)
//	BCC_SOAK_TOKEN_OUTAGE=20s/2m  the emulator's --token-outage (default 6s/25s, long 30s/3m)
//	BCC_SOAK_CONVERGE=3m   how long convergence may take after the changes stop (default 2m)
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("the soak runs the real binary for a minute")
	}
	cfg := soakConfigFromEnv(t)
	t.Logf("soak: seed %d (BCC_SOAK_SEED=%d repeats the schedule), %s of changes at %g/s, %d kills, faults %q, token outage %s",
		cfg.seed, cfg.seed, cfg.duration, cfg.rate, cfg.kills, cfg.faults, cfg.tokenOutage)
	h := newSoak(t, cfg)
	h.setUp()
	h.churn()
	h.quiet()
	h.converge()
	h.writeThroughs()
	h.settle()
	h.checkFeed()
	h.stopAll()
	h.checkLogs()
	h.summary()
}

// soakFaults is the default fault mix on BC's API: throttling, 5xx with and without
// Retry-After, and connections reset in the middle of a body.
const soakFaults = "429(1s)@3%:bc,503(2s)@2%:bc,502@1%:bc,500@0.5%:bc,reset@1%:bc"

// soakSets are the entity sets the soak's connection reads: master data the mutator
// inserts, updates and deletes, an append-only ledger, and documents with their lines.
var soakSets = []string{"customers", "vendors", "items", "contacts", "generalLedgerEntries", "salesOrders", "salesOrderLines"}

// soakReplicated returns the sets the soak's connection replicates: soakSets with the
// line sets of each document set (itemVariants come with items), and per set read from
// BC the line sets that come expanded with it.
func soakReplicated() (all []string, lines map[string][]*bcschema.Entity) {
	schema := bcschema.MustLoad()
	lines = map[string][]*bcschema.Entity{}
	for _, name := range soakSets {
		ent, _ := schema.EntitySet(name)
		if ent.Parent != nil {
			continue
		}
		all = append(all, name)
		for _, c := range schema.Children(ent) {
			lines[name] = append(lines[name], c)
			all = append(all, c.EntitySet)
		}
	}
	slices.Sort(all)
	return slices.Compact(all), lines
}

type soakConfig struct {
	duration, converge time.Duration
	kills              int
	seed               int64
	rate               float64
	faults             string
	tokenOutage        string
}

func soakConfigFromEnv(t *testing.T) soakConfig {
	t.Helper()
	cfg := soakConfig{duration: 40 * time.Second, converge: 2 * time.Minute, kills: 3, seed: time.Now().UnixNano() % 1_000_000_000,
		rate: 5, faults: soakFaults, tokenOutage: "6s/25s"}
	if s := os.Getenv("BCC_SOAK_DURATION"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < 10*time.Second {
			t.Fatalf("BCC_SOAK_DURATION=%q: want a duration of 10s or more, e.g. 30m", s)
		}
		cfg.duration = d
		if d >= 10*time.Minute {
			cfg.tokenOutage = "30s/3m"
		}
	}
	if s := os.Getenv("BCC_SOAK_KILLS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			t.Fatalf("BCC_SOAK_KILLS=%q: want a number of kills, 0 or more", s)
		}
		cfg.kills = n
	}
	if s := os.Getenv("BCC_SOAK_SEED"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			t.Fatalf("BCC_SOAK_SEED=%q: want a positive number", s)
		}
		cfg.seed = n
	}
	if s := os.Getenv("BCC_SOAK_RATE"); s != "" {
		r, err := strconv.ParseFloat(s, 64)
		if err != nil || r <= 0 {
			t.Fatalf("BCC_SOAK_RATE=%q: want changes per second above 0", s)
		}
		cfg.rate = r
	}
	if s, ok := os.LookupEnv("BCC_SOAK_FAULTS"); ok {
		cfg.faults = s
	}
	if s, ok := os.LookupEnv("BCC_SOAK_TOKEN_OUTAGE"); ok {
		cfg.tokenOutage = s
	}
	if s := os.Getenv("BCC_SOAK_CONVERGE"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			t.Fatalf("BCC_SOAK_CONVERGE=%q: want a duration, e.g. 3m", s)
		}
		cfg.converge = d
	}
	return cfg
}

// soak is one run of the harness.
type soak struct {
	t   *testing.T
	cfg soakConfig
	rng *rand.Rand
	bin string
	dir string
	db  string
	key string

	emu   *soakEmulator
	bc    *bcTruth
	token string // our API token
	conn  string // the connection's name

	serveArgs []string
	serves    []*serveProcess
	lastStart time.Time
	cur       atomic.Pointer[string] // the running serve's base URL

	api      *http.Client
	seen     testlog.Buffer // every API response body and CLI output the harness saw
	writes   writeCounts
	quietRep QuietReport
	quietAt  time.Time // the last change: when the emulator went quiet

	kills       int
	convergedIn time.Duration
	compared    int
	replayed    int
}

type writeCounts struct {
	mu                                      sync.Mutex
	creates, updates, deletes, batches, bad int
}

func newSoak(t *testing.T, cfg soakConfig) *soak {
	dir := t.TempDir()
	return &soak{t: t, cfg: cfg, rng: rand.New(rand.NewPCG(uint64(cfg.seed), 0x50a4)), bin: buildBinary(t), dir: dir,
		db: filepath.Join(dir, "bcc.db"), key: filepath.Join(dir, "master.key"), conn: "soak",
		api: &http.Client{Timeout: 30 * time.Second}}
}

// setUp starts the emulator, adds the connection and an API token with the CLI, and
// starts serve.
func (h *soak) setUp() {
	t := h.t
	h.emu = startSoakEmulator(t, h.bin, filepath.Join(h.dir, "ca.pem"),
		"--seed", strconv.FormatInt(h.cfg.seed, 10), "--data-size", "small",
		"--mutation-rate", strconv.FormatFloat(h.cfg.rate, 'g', -1, 64),
		"--mutation-sets", "customers,vendors,items,contacts,generalLedgerEntries,salesOrders",
		"--faults", h.cfg.faults, "--token-outage", h.cfg.tokenOutage, "--token-lifetime", "6m",
		"--max-page-size", "100")
	var err error
	if h.bc, err = newBCTruth(h.emu); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// The harness's own reads retry through the faults; the connection is stored with the
	// company's id and without the doctor's check (the faults are on from the start).
	companyID, err := h.bc.companyID(ctx)
	if err != nil {
		t.Fatalf("read the emulator's companies: %v", err)
	}
	h.bc.company = companyID
	out := h.cli(h.emu.secret+"\n", "connection", "add", "--name", h.conn, "--no-check", "--tenant", h.emu.tenant, "--client-id", h.emu.clientID,
		"--environment", h.emu.env, "--company", companyID, "--secret-stdin", "--secret-end-date", h.emu.secretEnd,
		"--authority-host", h.emu.authority, "--bc-base-url", h.emu.bcBase, "--ca-file", h.emu.caFile,
		"--entities", strings.Join(soakSets, ","), "--write-entities", "customers")
	_ = out
	h.token = strings.TrimSpace(h.cli("", "token", "create", "--name", "soak"))
	h.serveArgs = []string{"--db", h.db, "--key-file", h.key, "--log-level", "info", "serve", "--listen", "127.0.0.1:0",
		"--interval", "5s", "--reconcile-every", "1", "--reconcile-interval", "0", "--sync-slice", "2s", "--grace", "5s",
		"--allow-endpoint-overrides"}
	h.start()
}

// cli runs the binary with the test's database and key and returns its standard output.
func (h *soak) cli(stdin string, args ...string) string {
	h.t.Helper()
	out, errb := runBinary(h.t, h.bin, stdin, append([]string{"--db", h.db, "--key-file", h.key}, args...)...)
	h.seen.Write(out)
	h.seen.Write(errb)
	return string(out)
}

// start starts serve on the database and key and makes it the current one.
func (h *soak) start() {
	h.lastStart = time.Now()
	p := startServe(h.t, h.bin, h.serveArgs...)
	h.serves = append(h.serves, p)
	u := p.URL
	h.cur.Store(&u)
}

func (h *soak) serve() *serveProcess { return h.serves[len(h.serves)-1] }

// churn lets the data change for the configured time while the harness writes through
// our API, and kills serve with SIGKILL at seeded-random moments, each time starting it
// again on the same database and key.
func (h *soak) churn() {
	t := h.t
	at := make([]time.Duration, h.cfg.kills)
	for i := range at {
		// Not in the first 3 s of the run, so the first pass has begun.
		at[i] = 3*time.Second + time.Duration(h.rng.Int64N(int64(h.cfg.duration-3*time.Second)))
	}
	slices.Sort(at)
	t.Logf("soak: kill schedule %v", at)

	stopWrites := make(chan struct{})
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		h.writer(stopWrites, rand.New(rand.NewPCG(uint64(h.cfg.seed), 0x77)))
	}()
	begin := time.Now()
	for _, d := range at {
		h.waitUntil(begin.Add(d))
		h.serve().kill()
		h.kills++
		h.start()
	}
	h.waitUntil(begin.Add(h.cfg.duration))
	close(stopWrites)
	<-writerDone
}

// waitUntil waits for the moment when, failing the test if serve or the emulator dies
// by itself meanwhile.
func (h *soak) waitUntil(when time.Time) {
	h.t.Helper()
	timer := time.NewTimer(time.Until(when))
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-h.serve().exited:
		h.t.Fatalf("serve exited by itself: %v\n%s", h.serve().waitErr, tail(h.serve().stderr.String(), 4000))
	case <-h.emu.exited:
		h.t.Fatalf("the emulator exited: %s", tail(h.emu.out.String(), 4000))
	}
}

// writer writes through our API (creates, updates and deletes of customers, one by one
// and in $batch) until stop is closed. Calls that fail (serve killed, BC faults) are
// counted; the final comparison reads BC, so what they did or did not do is checked too.
func (h *soak) writer(stop <-chan struct{}, rng *rand.Rand) {
	var ids []string
	for n := 0; ; n++ {
		select {
		case <-stop:
			return
		case <-time.After(time.Duration(200+rng.IntN(800)) * time.Millisecond):
		}
		base := *h.cur.Load() + "/api/v1/connections/" + h.conn
		roll := rng.Float64()
		var (
			status int
			body   []byte
			kind   *int
		)
		switch {
		case roll < 0.35 || len(ids) == 0:
			status, body = h.call("POST", base+"/entities/customers/records", fmt.Sprintf(`{"displayName":"Soak write %d"}`, n))
			kind = &h.writes.creates
			var rec struct{ ID string }
			if status == http.StatusCreated && json.Unmarshal(body, &rec) == nil && rec.ID != "" {
				ids = append(ids, rec.ID)
			}
		case roll < 0.65:
			id := ids[rng.IntN(len(ids))]
			status, _ = h.call("PATCH", base+"/entities/customers/records/"+id, fmt.Sprintf(`{"displayName":"Soak update %d"}`, n))
			kind = &h.writes.updates
		case roll < 0.8:
			i := rng.IntN(len(ids))
			status, _ = h.call("DELETE", base+"/entities/customers/records/"+ids[i], "")
			kind = &h.writes.deletes
			if status == http.StatusNoContent {
				ids = slices.Delete(ids, i, i+1)
			}
		default:
			id := ids[rng.IntN(len(ids))]
			status, _ = h.call("POST", base+"/$batch", fmt.Sprintf(`{"requests":[`+
				`{"id":"1","method":"POST","url":"customers","body":{"displayName":"Soak batch %d"}},`+
				`{"id":"2","method":"PATCH","url":"customers(%s)","body":{"displayName":"Soak batch update %d"}}]}`, n, id, n))
			kind = &h.writes.batches
		}
		h.writes.mu.Lock()
		if status >= 200 && status < 300 {
			*kind++
		} else {
			h.writes.bad++
		}
		h.writes.mu.Unlock()
	}
}

// writeThroughs makes one write-through of each kind (create, update, delete, and a
// $batch of a create and an update) and checks that each is in the replica when the
// call returns, not at a later pass.
func (h *soak) writeThroughs() {
	t := h.t
	base := *h.cur.Load() + "/api/v1/connections/" + h.conn
	mustID := func(status int, body []byte) (string, string) {
		t.Helper()
		var rec map[string]any
		if status/100 != 2 || json.Unmarshal(body, &rec) != nil {
			t.Fatalf("write-through: %d %s", status, body)
		}
		id, _ := rec["id"].(string)
		etag, _ := rec["@odata.etag"].(string)
		return id, etag
	}
	id, etag := mustID(h.call("POST", base+"/entities/customers/records", `{"displayName":"Soak final create"}`))
	h.checkAtOnce("create", id, etag)
	_, etag = mustID(h.call("PATCH", base+"/entities/customers/records/"+id, `{"displayName":"Soak final update"}`))
	h.checkAtOnce("update", id, etag)
	status, body := h.call("POST", base+"/$batch", fmt.Sprintf(`{"requests":[`+
		`{"id":"c","method":"POST","url":"customers","body":{"displayName":"Soak final batch create"}},`+
		`{"id":"u","method":"PATCH","url":"customers(%s)","body":{"displayName":"Soak final batch update"}}]}`, id))
	var br struct {
		Responses []struct {
			ID     string
			Status int
			Body   json.RawMessage
		}
	}
	if status != http.StatusOK || json.Unmarshal(body, &br) != nil || len(br.Responses) != 2 {
		t.Fatalf("$batch: %d %s", status, body)
	}
	for _, r := range br.Responses {
		rid, retag := mustID(r.Status, r.Body)
		h.checkAtOnce("$batch "+r.ID, rid, retag)
	}
	if status, body = h.call("DELETE", base+"/entities/customers/records/"+id, ""); status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", status, body)
	}
	h.checkAtOnce("delete", id, "")
}

// checkAtOnce fails the test unless the replica holds customer id with etag now (etag
// "": does not hold it).
func (h *soak) checkAtOnce(what, id, etag string) {
	h.t.Helper()
	var page struct{ Records []json.RawMessage }
	if err := h.getJSON("/connections/"+h.conn+"/entities/customers/records?filter="+url.QueryEscape("id eq "+id), &page); err != nil {
		h.t.Fatal(err)
	}
	got := ""
	if len(page.Records) == 1 {
		rec, _ := decodeRecord(page.Records[0])
		got, _ = rec["@odata.etag"].(string)
	}
	switch {
	case etag == "" && len(page.Records) != 0:
		h.t.Errorf("write-through %s: customer %s is still in the replica after the call returned", what, id)
	case etag != "" && got != etag:
		h.t.Errorf("write-through %s: the replica has customer %s with ETag %q when the call returned, BC answered %q", what, id, got, etag)
	}
}

// call sends one request to our API with the token; status 0 means no answer.
func (h *soak) call(method, u, body string) (int, []byte) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		return 0, nil
	}
	req.Header.Set("Authorization", "Bearer "+h.token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := h.api.Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	h.seen.Write(b)
	h.seen.Write([]byte{'\n'})
	return resp.StatusCode, b
}

// getJSON reads an API resource of the running serve into v.
func (h *soak) getJSON(path string, v any) error {
	status, b := h.call("GET", *h.cur.Load()+"/api/v1"+path, "")
	if status != http.StatusOK {
		return fmt.Errorf("GET %s: %d %s", path, status, b)
	}
	return json.Unmarshal(b, v)
}

// quiet makes the emulator stop changing its data and drop its faults, and records what
// it did.
func (h *soak) quiet() {
	h.quietRep, h.quietAt = h.emu.makeQuiet(h.t)
}

// converge waits until the replica equals BC, every sync state is clean and no job of a
// dead process is running; then waits for one more pass of every set and checks that it
// still equals BC (a page in flight must not bring an old version back).
func (h *soak) converge() {
	t := h.t
	deadline := h.quietAt.Add(h.cfg.converge)
	var last []string
	for {
		last = h.divergence()
		if len(last) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no convergence within %s of the last change; still different:\n  %s\nserve log tail:\n%s",
				h.cfg.converge, strings.Join(first(last, 30), "\n  "), tail(h.serve().stderr.String(), 6000))
		}
		time.Sleep(500 * time.Millisecond) // polling interval; the deadline bounds the wait
	}
	converged := time.Now()
	h.convergedIn = converged.Sub(h.quietAt)
	t.Logf("soak: converged %s after the last change", h.convergedIn.Round(100*time.Millisecond))

	h.settle()
}

// settle waits for one more pass of every set and checks that the replica still equals
// BC: a page in flight must not bring an old version back for good.
func (h *soak) settle() {
	t := h.t
	converged := time.Now()
	for {
		var st struct {
			Sets []struct{ LastSuccessAt time.Time }
		}
		if err := h.getJSON("/connections/"+h.conn+"/sync", &st); err != nil {
			t.Fatal(err)
		}
		done := len(st.Sets) > 0
		for _, s := range st.Sets {
			done = done && s.LastSuccessAt.After(converged)
		}
		if done {
			break
		}
		if time.Now().After(converged.Add(time.Minute)) {
			t.Fatalf("no pass of every set within a minute after convergence: %+v", st.Sets)
		}
		time.Sleep(500 * time.Millisecond) // polling interval
	}
	if diff := h.divergence(); len(diff) > 0 {
		t.Fatalf("the replica equalled BC, then differed after the next pass:\n  %s", strings.Join(first(diff, 30), "\n  "))
	}
}

// divergence lists what keeps the run from being converged: replica rows that differ from
// BC, sync states with an error or an unfinished full pass, and jobs left running by a
// killed process. It also counts the rows compared.
func (h *soak) divergence() []string {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var diff []string
	truth, err := h.bc.readAll(ctx)
	if err != nil {
		return []string{"read BC: " + err.Error()}
	}
	compared := 0
	all, _ := soakReplicated()
	for _, set := range all {
		rep, err := h.replica(set)
		if err != nil {
			return []string{err.Error()}
		}
		d, n := diffRows(set, truth[set], rep)
		diff = append(diff, d...)
		compared += n
	}
	h.compared = compared
	var st struct {
		Sets []struct {
			EntitySet    string
			FullSyncDone bool
			LastError    string
		}
	}
	if err := h.getJSON("/connections/"+h.conn+"/sync", &st); err != nil {
		return append(diff, err.Error())
	}
	var names []string
	for _, s := range st.Sets {
		names = append(names, s.EntitySet)
		if s.LastError != "" || !s.FullSyncDone {
			diff = append(diff, fmt.Sprintf("sync state of %s: full pass done %v, last error %q", s.EntitySet, s.FullSyncDone, s.LastError))
		}
	}
	slices.Sort(names)
	if !slices.Equal(names, all) {
		diff = append(diff, fmt.Sprintf("sync shows the sets %v, want %v", names, all))
	}
	if stuck, err := h.jobsOfDeadProcesses(); err != nil {
		diff = append(diff, err.Error())
	} else {
		diff = append(diff, stuck...)
	}
	return diff
}

// replica reads every row of a set through our API: id -> the record as stored.
func (h *soak) replica(set string) (map[string]map[string]any, error) {
	return readReplica(h.getJSON, h.conn, set)
}

// readReplica reads every row of a connection's set through our API with getJSON (a path
// below /api/v1): id -> the record as stored.
func readReplica(getJSON func(path string, v any) error, conn, set string) (map[string]map[string]any, error) {
	out := map[string]map[string]any{}
	cursor := ""
	for {
		var page struct {
			Records    []json.RawMessage
			NextCursor string
		}
		q := url.Values{"limit": {"1000"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		if err := getJSON("/connections/"+conn+"/entities/"+set+"/records?"+q.Encode(), &page); err != nil {
			return nil, err
		}
		for _, raw := range page.Records {
			rec, err := decodeRecord(raw)
			if err != nil {
				return nil, fmt.Errorf("replica %s: %w", set, err)
			}
			id, _ := rec["id"].(string)
			if _, dup := out[id]; dup {
				return nil, fmt.Errorf("replica %s: id %s listed twice", set, id)
			}
			out[id] = rec
		}
		if page.NextCursor == "" {
			return out, nil
		}
		cursor = page.NextCursor
	}
}

// jobsOfDeadProcesses lists River jobs in state running that were started before the
// running serve: only a killed process can have left them.
func (h *soak) jobsOfDeadProcesses() ([]string, error) {
	db, err := sql.Open("sqlite", "file:"+h.db+"?mode=ro")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.Query(`SELECT id, kind, attempted_at, attempted_by FROM river_job WHERE state = 'running' AND julianday(attempted_at) < julianday(?)`,
		h.lastStart.UTC().Format("2006-01-02 15:04:05.000"))
	if err != nil {
		return nil, fmt.Errorf("read the job queue: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id int64
		var kind, at string
		var by sql.NullString
		if err := rows.Scan(&id, &kind, &at, &by); err != nil {
			return nil, err
		}
		out = append(out, fmt.Sprintf("job %d (%s) running since %s by %s, before the running serve started at %s", id, kind, at, by.String, h.lastStart.UTC().Format(time.RFC3339Nano)))
	}
	return out, rows.Err()
}

// checkFeed reads the change feed from 0: sequence numbers run from 1 without gap or
// repeat, and replaying it gives the replica's ids and ETags exactly.
func (h *soak) checkFeed() {
	t := h.t
	state := map[string]map[string]string{} // set -> id -> etag
	var after int64
	for {
		var page struct {
			Changes []struct {
				Seq       int64
				EntitySet string
				ID        string
				Op        string
				ETag      string
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
			h.replayed++
			if state[c.EntitySet] == nil {
				state[c.EntitySet] = map[string]string{}
			}
			switch c.Op {
			case "insert", "update":
				state[c.EntitySet][c.ID] = c.ETag
			case "delete":
				if _, ok := state[c.EntitySet][c.ID]; !ok {
					t.Errorf("change feed: seq %d deletes %s %s, which the feed never inserted", c.Seq, c.EntitySet, c.ID)
				}
				delete(state[c.EntitySet], c.ID)
			default:
				t.Fatalf("change feed: seq %d has op %q", c.Seq, c.Op)
			}
		}
	}
	all, _ := soakReplicated()
	for _, set := range all {
		rep, err := h.replica(set)
		if err != nil {
			t.Fatal(err)
		}
		if bad := replayDiff(state[set], rep); len(bad) > 0 {
			t.Errorf("change feed replay of %s differs from the replica (%d rows):\n  %s", set, len(rep), strings.Join(first(bad, 20), "\n  "))
		}
	}
}

// replayDiff compares a set's state replayed from the change feed (id -> ETag) with the
// replica's rows.
func replayDiff(fed map[string]string, rep map[string]map[string]any) []string {
	var bad []string
	for id, rec := range rep {
		if etag, ok := fed[id]; !ok {
			bad = append(bad, "in the replica, not in the replayed feed: "+id)
		} else if etag != rec["@odata.etag"] {
			bad = append(bad, fmt.Sprintf("%s: feed ETag %s, replica %v", id, etag, rec["@odata.etag"]))
		}
	}
	for id := range fed {
		if _, ok := rep[id]; !ok {
			bad = append(bad, "in the replayed feed, not in the replica: "+id)
		}
	}
	return bad
}

// stopAll stops serve with SIGINT (a clean stop must leave no job running) and the
// emulator.
func (h *soak) stopAll() {
	t := h.t
	h.serve().stop(t)
	db, err := sql.Open("sqlite", "file:"+h.db+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var running int
	if err := db.QueryRow(`SELECT count(*) FROM river_job WHERE state = 'running'`).Scan(&running); err != nil {
		t.Fatal(err)
	}
	if running != 0 {
		t.Errorf("%d jobs are still running after serve stopped cleanly", running)
	}
	h.emu.stop(t)
}

// jwtLike matches a JSON Web Token, as every access token Entra (and the emulator) issues.
var jwtLike = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.`)

// checkLogs reads everything every serve process printed: each outbound host it logged
// is one the connection names, and no line (nor any API answer or CLI output the harness
// saw) holds the client secret or an access token.
func (h *soak) checkLogs() {
	t := h.t
	allowed := map[string]bool{}
	for _, s := range []string{h.emu.authority, h.emu.bcBase} {
		u, err := url.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		allowed[u.Scheme+"://"+u.Host] = true
	}
	hostLines, lastLines := 0, 0
	for i, p := range h.serves {
		for line := range strings.SplitSeq(p.stderr.String(), "\n") {
			var l struct{ Msg, Host, Scheme string }
			if json.Unmarshal([]byte(line), &l) != nil || l.Msg != conn.OutboundHostMsg {
				continue
			}
			hostLines++
			if i == len(h.serves)-1 {
				lastLines++
			}
			if !allowed[l.Scheme+"://"+l.Host] {
				t.Errorf("serve #%d sent a request to %s://%s, which the connection does not name (it names %v)", i+1, l.Scheme, l.Host, allowed)
			}
		}
	}
	// A process killed right after its start may have sent nothing; the last one synced.
	if lastLines == 0 {
		t.Errorf("the last serve, which synced until the end, logged no outbound host (%d lines from %d processes)", hostLines, len(h.serves))
	}
	var all strings.Builder
	for _, p := range h.serves {
		all.WriteString(p.stderr.String())
		all.WriteString(p.stdout.String())
	}
	all.WriteString(h.seen.String())
	text := all.String()
	if strings.Contains(text, h.emu.secret) {
		t.Error("the client secret appears in serve's output, an API answer or CLI output")
	}
	if m := jwtLike.FindString(text); m != "" {
		t.Errorf("an access token appears in serve's output, an API answer or CLI output: %s…", m[:20])
	}
}

func (h *soak) summary() {
	q := h.quietRep
	faults := make([]string, 0, len(q.Faults))
	for k, n := range q.Faults {
		faults = append(faults, fmt.Sprintf("%s=%d", k, n))
	}
	sort.Strings(faults)
	w := &h.writes
	w.mu.Lock()
	defer w.mu.Unlock()
	h.t.Logf("soak summary: seed %d, %s, changes made by BC's side %d (inserts %d, updates %d, deletes %d; %d of them lines), "+
		"write-throughs ok: %d creates, %d updates, %d deletes, %d $batch (%d failed as faults or kills hit them), "+
		"faults injected %s, token outages %d, BC requests %d, token requests %d, kills %d, "+
		"converged %s after the last change, rows compared %d, feed entries replayed %d",
		h.cfg.seed, h.cfg.duration, q.Changes, q.Inserts, q.Updates, q.Deletes, q.Lines,
		w.creates, w.updates, w.deletes, w.batches, w.bad,
		strings.Join(faults, " "), q.TokenOutages, q.Requests, q.TokenRequests, h.kills,
		h.convergedIn.Round(100*time.Millisecond), h.compared, h.replayed)
}

// diffRows compares a set's rows in BC with the replica's: the same ids, and for each the
// same ETag and field values. It returns the differences and the number of rows compared.
func diffRows(set string, bc, rep map[string]map[string]any) ([]string, int) {
	var diff []string
	for id, want := range bc {
		got, ok := rep[id]
		switch {
		case !ok:
			diff = append(diff, fmt.Sprintf("%s %s: in BC, missing in the replica", set, id))
		case !reflect.DeepEqual(got, want):
			diff = append(diff, fmt.Sprintf("%s %s: replica %s, BC %s", set, id, fieldDiff(got, want), fieldDiff(want, got)))
		}
	}
	for id := range rep {
		if _, ok := bc[id]; !ok {
			diff = append(diff, fmt.Sprintf("%s %s: in the replica, deleted in BC", set, id))
		}
	}
	sort.Strings(diff)
	return diff, len(bc)
}

// fieldDiff names the fields of a that differ from b, with a's values.
func fieldDiff(a, b map[string]any) string {
	var out []string
	for k, v := range a {
		if !reflect.DeepEqual(v, b[k]) {
			out = append(out, fmt.Sprintf("%s=%v", k, v))
		}
	}
	sort.Strings(out)
	return "{" + strings.Join(out, " ") + "}"
}

func decodeRecord(raw []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	return m, nil
}

func first(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], fmt.Sprintf("… and %d more", len(s)-n))
	}
	return s
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// soakEmulator is `bcconnector emulator` running as its own process.
type soakEmulator struct {
	cmd    *exec.Cmd
	out    *testlog.Buffer // everything it printed
	quietC chan string     // the "emulator quiet: " line
	exited chan struct{}

	authority, bcBase, caFile                string
	tenant, clientID, secret, env, secretEnd string
}

var bannerField = regexp.MustCompile(`^\s+(Authority host|BC API base URL|CA file|Tenant ID|Client ID|Client secret|Environment)\s+(\S+)(?:\s+\(.*?(\d{4}-\d{2}-\d{2})?\))?`)

// startSoakEmulator runs the binary's emulator on a free port and reads its banner.
func startSoakEmulator(t testing.TB, bin, caFile string, args ...string) *soakEmulator {
	t.Helper()
	return startEmulatorWithin(t, 30*time.Second, bin, caFile, args...)
}

// startEmulatorWithin is startSoakEmulator for an emulator whose start takes longer
// (--prewarm on a busy machine): it waits up to wait for the banner.
func startEmulatorWithin(t testing.TB, wait time.Duration, bin, caFile string, args ...string) *soakEmulator {
	t.Helper()
	e := &soakEmulator{out: &testlog.Buffer{}, quietC: make(chan string, 1), exited: make(chan struct{})}
	e.cmd = exec.Command(bin, append([]string{"emulator", "--listen", "127.0.0.1:0", "--ca-file", caFile, "--webhook-delay", "0"}, args...)...)
	e.cmd.Stderr = e.out
	stdout, err := e.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := e.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = e.cmd.Process.Kill()
		<-e.exited
	})
	ready := make(chan struct{})
	seen := map[string]bool{}
	go func() {
		defer close(e.exited)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			e.out.Write([]byte(line + "\n"))
			// The first of each field is the scenario's customer: lines further down (the
			// express setup's multi-tenant app) carry a "Client ID" of their own.
			if m := bannerField.FindStringSubmatch(line); m != nil && !seen[m[1]] {
				seen[m[1]] = true
				switch m[1] {
				case "Authority host":
					e.authority = m[2]
				case "BC API base URL":
					e.bcBase = m[2]
				case "CA file":
					e.caFile = m[2]
				case "Tenant ID":
					e.tenant = m[2]
				case "Client ID":
					e.clientID = m[2]
				case "Client secret":
					e.secret, e.secretEnd = m[2], m[3]
				case "Environment":
					e.env = m[2]
				}
			}
			if strings.HasPrefix(line, "Press Ctrl+C") {
				close(ready)
			}
			if rest, ok := strings.CutPrefix(line, QuietPrefix); ok {
				e.quietC <- rest
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		_ = e.cmd.Wait()
	}()
	select {
	case <-ready:
	case <-e.exited:
		t.Fatalf("the emulator exited before its banner:\n%s", e.out.String())
	case <-time.After(wait):
		t.Fatalf("no emulator banner within %s:\n%s", wait, e.out.String())
	}
	if e.secret == "" || e.authority == "" || e.tenant == "" || e.secretEnd == "" {
		t.Fatalf("could not read the emulator's banner:\n%s", e.out.String())
	}
	return e
}

// makeQuiet sends SIGUSR1 and returns the emulator's report and when it went quiet.
func (e *soakEmulator) makeQuiet(t testing.TB) (QuietReport, time.Time) {
	t.Helper()
	if err := e.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	var rep QuietReport
	select {
	case line := <-e.quietC:
		if err := json.Unmarshal([]byte(line), &rep); err != nil {
			t.Fatalf("emulator quiet line %q: %v", line, err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the emulator printed no quiet line within 30s of SIGUSR1:\n%s", tail(e.out.String(), 2000))
	}
	return rep, time.Now()
}

func (e *soakEmulator) stop(t *testing.T) {
	_ = e.cmd.Process.Signal(os.Interrupt)
	select {
	case <-e.exited:
	case <-time.After(30 * time.Second):
		t.Errorf("the emulator did not stop on SIGINT")
	}
}

// bcTruth reads BC (the emulator) directly, with a client that trusts its CA, as the
// truth the replica is compared with.
type bcTruth struct {
	hc       *http.Client
	tokenURL string
	form     url.Values
	api      string // .../api/v2.0
	company  string

	mu    sync.Mutex
	token string
}

func newBCTruth(e *soakEmulator) (*bcTruth, error) {
	pem, err := os.ReadFile(e.caFile)
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return nil, errors.New("the emulator's CA file holds no certificate")
	}
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}}
	return &bcTruth{hc: hc,
		tokenURL: strings.TrimSuffix(e.authority, "/") + "/" + e.tenant + "/oauth2/v2.0/token",
		form: url.Values{"grant_type": {"client_credentials"}, "client_id": {e.clientID}, "client_secret": {e.secret},
			"scope": {"https://api.businesscentral.dynamics.com/.default"}},
		api: strings.TrimSuffix(e.bcBase, "/") + "/" + e.tenant + "/" + e.env + "/api/v2.0"}, nil
}

// get reads a JSON document, with a fresh token when needed, retrying faults and
// throttling until ctx ends.
func (b *bcTruth) get(ctx context.Context, u string, v any) error {
	var last error
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return fmt.Errorf("%w (last: %v)", ctx.Err(), last)
			case <-time.After(time.Duration(min(attempt, 10)) * 200 * time.Millisecond): // backoff
			}
		}
		tok, err := b.accessToken(ctx)
		if err != nil {
			last = err
			continue
		}
		req, _ := http.NewRequestWithContext(ctx, "GET", u, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := b.hc.Do(req)
		if err != nil {
			last = err
			continue
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case err != nil:
			last = err
		case resp.StatusCode == http.StatusUnauthorized:
			b.mu.Lock()
			b.token = ""
			b.mu.Unlock()
			last = fmt.Errorf("401 %s", body)
		case resp.StatusCode != http.StatusOK:
			last = fmt.Errorf("GET %s: %d %s", u, resp.StatusCode, body)
			if resp.StatusCode < 429 {
				return last
			}
		default:
			dec := json.NewDecoder(bytes.NewReader(body))
			dec.UseNumber()
			if err := dec.Decode(v); err != nil {
				last = err // a malformed body is a fault too
				continue
			}
			return nil
		}
	}
}

func (b *bcTruth) accessToken(ctx context.Context) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.token != "" {
		return b.token, nil
	}
	req, _ := http.NewRequestWithContext(ctx, "POST", b.tokenURL, strings.NewReader(b.form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := b.hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &tok); err != nil || resp.StatusCode != http.StatusOK || tok.AccessToken == "" {
		return "", fmt.Errorf("token: %d %v %.300s", resp.StatusCode, err, raw)
	}
	b.token = tok.AccessToken
	return b.token, nil
}

// companyID returns the id of the demo company, "Company X".
func (b *bcTruth) companyID(ctx context.Context) (string, error) {
	var page struct {
		Value []struct{ ID, Name string }
	}
	if err := b.get(ctx, b.api+"/companies", &page); err != nil {
		return "", err
	}
	for _, c := range page.Value {
		if c.Name == "Company X" {
			return c.ID, nil
		}
	}
	return "", fmt.Errorf("no Company X among %d companies", len(page.Value))
}

// readAll reads every soak set from BC: set -> id -> record. Lines come expanded in
// their documents, as the connector reads them, and are cut out of the documents.
func (b *bcTruth) readAll(ctx context.Context) (map[string]map[string]map[string]any, error) {
	out := map[string]map[string]map[string]any{}
	all, children := soakReplicated()
	for _, set := range all {
		out[set] = map[string]map[string]any{}
	}
	for _, set := range all {
		ent, _ := bcschema.MustLoad().EntitySet(set)
		if ent.Parent != nil {
			continue
		}
		u := b.api + "/companies(" + b.company + ")/" + set
		var navs []string
		for _, c := range children[set] {
			navs = append(navs, c.Parent.Navigation)
		}
		if len(navs) > 0 {
			u += "?$expand=" + strings.Join(navs, ",")
		}
		for u != "" {
			var page struct {
				Value    []map[string]any `json:"value"`
				NextLink string           `json:"@odata.nextLink"`
			}
			if err := b.get(ctx, u, &page); err != nil {
				return nil, err
			}
			for _, r := range page.Value {
				for _, c := range children[set] {
					lines, _ := r[c.Parent.Navigation].([]any)
					for _, l := range lines {
						lm, _ := l.(map[string]any)
						id, _ := lm["id"].(string)
						out[c.EntitySet][id] = lm
					}
					delete(r, c.Parent.Navigation)
				}
				id, _ := r["id"].(string)
				out[set][id] = r
			}
			u = page.NextLink
		}
	}
	return out, nil
}
