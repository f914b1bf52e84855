package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/bizzjoiner/bcconnector/internal/browsertest"
)

// e2e is a harness for the product as it runs: the real binary's `serve` on a SQLite
// file, against `bcconnector emulator --admin` in a process of its own, driven through
// our JSON API, the CLI and the emulator's admin surface.
type e2e struct {
	t     *testing.T
	bin   string
	dir   string
	db    string
	key   string
	token string
	api   *http.Client

	emu   *soakEmulator
	admin string // the emulator's admin surface, ending in /_emulator/
	bc    *bcTruth
	// customers are the emulator's --customers tenants (readCustomers).
	customers []*multiCustomer

	serveArgs []string
	serves    []*serveProcess
}

// newE2E starts the emulator with --admin and extra flags.
func newE2E(t *testing.T, emuArgs ...string) *e2e {
	h := &e2e{t: t, bin: buildBinary(t), dir: t.TempDir(), api: &http.Client{Timeout: 30 * time.Second}}
	h.db, h.key = filepath.Join(h.dir, "bcc.db"), filepath.Join(h.dir, "master.key")
	h.emu = startSoakEmulator(t, h.bin, filepath.Join(h.dir, "ca.pem"), append([]string{"--admin"}, emuArgs...)...)
	h.admin = emulatorAdminURL(h.emu)
	var err error
	if h.bc, err = newBCTruth(h.emu); err != nil {
		t.Fatal(err)
	}
	return h
}

// cli runs the binary on the harness's database and key; it returns standard output.
func (h *e2e) cli(stdin string, args ...string) string {
	h.t.Helper()
	out, _ := runBinary(h.t, h.bin, stdin, append([]string{"--db", h.db, "--key-file", h.key}, args...)...)
	return string(out)
}

// start starts serve (serveArgs) and makes it the current one.
func (h *e2e) start() {
	h.serves = append(h.serves, startServe(h.t, h.bin, h.serveArgs...))
}

func (h *e2e) serve() *serveProcess { return h.serves[len(h.serves)-1] }

// call sends a request to our API with the token and returns the status and body.
func (h *e2e) call(method, path string, body any) (int, []byte) {
	h.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			h.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, h.serve().URL+"/api/v1"+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+h.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := h.api.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// getJSON reads an API resource into v (an error for any status but 200).
func (h *e2e) getJSON(path string, v any) error {
	status, b := h.call("GET", path, nil)
	if status != http.StatusOK {
		return fmt.Errorf("GET %s: %d %s", path, status, b)
	}
	return json.Unmarshal(b, v)
}

// adminCall sends a request to the emulator's admin surface (path below /_emulator/).
func (h *e2e) adminCall(method, path, body string, want int, v any) {
	h.t.Helper()
	req, err := http.NewRequest(method, h.admin+path, strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	resp, err := h.bc.hc.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		h.t.Fatalf("%s %s%s: %d %s, want %d", method, h.admin, path, resp.StatusCode, b, want)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			h.t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
}

// waitFor polls cond every 300 ms until it returns "" (done) or the deadline passes,
// failing the test with cond's last answer and serve's log tail.
func (h *e2e) waitFor(what string, within time.Duration, cond func() string) {
	h.t.Helper()
	deadline := time.Now().Add(within)
	for {
		why := cond()
		if why == "" {
			return
		}
		select {
		case <-h.serve().exited:
			h.t.Fatalf("%s: serve exited by itself: %v\n%s", what, h.serve().waitErr, tail(h.serve().stderr.String(), 4000))
		default:
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("%s: not within %s: %s\nserve log tail:\n%s", what, within, why, tail(h.serve().stderr.String(), 6000))
		}
		time.Sleep(300 * time.Millisecond) // polling interval; the deadline bounds the wait
	}
}

// syncState is one (company, entity set) of GET /connections/{id}/sync.
type syncState struct {
	EntitySet     string
	CompanyID     string
	CompanyName   string
	Rows          int64
	FullSyncDone  bool
	LastRunAt     time.Time
	LastSuccessAt time.Time
	LastError     string
	Requests      int64
}

func (h *e2e) syncStates(conn string) []syncState {
	h.t.Helper()
	var st struct{ Sets []syncState }
	if err := h.getJSON("/connections/"+url.PathEscape(conn)+"/sync", &st); err != nil {
		h.t.Fatal(err)
	}
	return st.Sets
}

// feedEntry is one entry of the change feed.
type feedEntry struct {
	Seq       int64
	CompanyID string
	EntitySet string
	ID        string
	Op        string
	ETag      string
}

// feed reads the change feed after a sequence number with the query's filters, to its end.
func (h *e2e) feed(after int64, filters url.Values) []feedEntry {
	h.t.Helper()
	var out []feedEntry
	for {
		q := url.Values{"after": {strconv.FormatInt(after, 10)}, "limit": {"5000"}}
		for k, v := range filters {
			q[k] = v
		}
		var page struct{ Changes []feedEntry }
		if err := h.getJSON("/changes?"+q.Encode(), &page); err != nil {
			h.t.Fatal(err)
		}
		if len(page.Changes) == 0 {
			return out
		}
		out = append(out, page.Changes...)
		after = page.Changes[len(page.Changes)-1].Seq
	}
}

// bcSet reads a company's entity set from BC: id → record.
func (h *e2e) bcSet(companyID, set string) map[string]map[string]any {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out := map[string]map[string]any{}
	for u := h.bc.api + "/companies(" + companyID + ")/" + set; u != ""; {
		var page struct {
			Value    []map[string]any `json:"value"`
			NextLink string           `json:"@odata.nextLink"`
		}
		if err := h.bc.get(ctx, u, &page); err != nil {
			h.t.Fatalf("read %s of company %s from BC: %v", set, companyID, err)
		}
		for _, r := range page.Value {
			id, _ := r["id"].(string)
			out[id] = r
		}
		u = page.NextLink
	}
	return out
}

// bcPatch changes a record in BC, as a user would (read for its ETag, then PATCH with
// If-Match), and returns its new ETag.
func (h *e2e) bcPatch(companyID, set, id, body string) string {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	u := h.bc.api + "/companies(" + companyID + ")/" + set + "(" + id + ")"
	var rec map[string]any
	if err := h.bc.get(ctx, u, &rec); err != nil {
		h.t.Fatal(err)
	}
	tok, err := h.bc.accessToken(ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(ctx, "PATCH", u, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("If-Match", fmt.Sprint(rec["@odata.etag"]))
	resp, err := h.bc.hc.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
		h.t.Fatalf("PATCH %s: %d %v %v", u, resp.StatusCode, err, out)
	}
	return fmt.Sprint(out["@odata.etag"])
}

// replicaOf reads every record of a company's set through our API (company: id or name).
func (h *e2e) replicaOf(conn, company, set string) (map[string]map[string]any, error) {
	return readReplica(func(path string, v any) error {
		path, q, _ := strings.Cut(path, "?")
		return h.getJSON(path+"?company="+url.QueryEscape(company)+"&"+q, v)
	}, url.PathEscape(conn), set)
}

// bcCompanies lists BC's companies: id → name.
func (h *e2e) bcCompanies() map[string]string {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var page struct {
		Value []struct{ ID, Name string }
	}
	if err := h.bc.get(ctx, h.bc.api+"/companies", &page); err != nil {
		h.t.Fatal(err)
	}
	out := map[string]string{}
	for _, c := range page.Value {
		out[c.ID] = c.Name
	}
	return out
}

// e2eCompanySets are the entity sets TestServeAllCompanies replicates in every company:
// master data and documents with their lines.
var e2eCompanySets = []string{"customers", "vendors", "salesOrders", "salesOrderLines"}

// TestServeAllCompanies runs a connection of "all companies, including companies added
// later" in the real binary's serve against the emulator in its own process, with company
// names holding &, ' and spaces:
//   - serve is killed with SIGKILL while the first full syncs of several companies run,
//     and started again: every company's replica then equals BC, and the change feed holds
//     each record once (the pages read again after the restart changed nothing);
//   - the change feed and the sync status are per company, and the feed filters by a
//     company named with & and ';
//   - a company created in BC while serve runs (the emulator's admin surface) is picked
//     up and synced without a restart;
//   - a company renamed in BC keeps its replica (records are keyed by the company's id, a
//     GUID BC never changes): nothing is lost or logged twice, the connection shows the new
//     name, and the records API finds the company by it.
func TestServeAllCompanies(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary and the emulator as processes for about a minute")
	}
	// 120 ms per request and 10-row pages: the first full syncs take about 50 requests per
	// company, through BC's 5 slots of the app, so 4 s or more even on an idle machine
	// (polled every 300 ms): the kill lands while several of them run.
	h := newE2E(t, "--seed", "12", "--data-size", "small,customers=200,vendors=200,salesOrders=40",
		"--latency-profile", "120ms+0.2ms/row", "--max-page-size", "10")
	const conn = "all & every's"
	h.cli(h.emu.secret+"\n", "connection", "add", "--name", conn, "--tenant", h.emu.tenant, "--client-id", h.emu.clientID,
		"--environment", h.emu.env, "--company", "Company X", "--all-companies", "--secret-stdin", "--secret-end-date", h.emu.secretEnd,
		"--authority-host", h.emu.authority, "--bc-base-url", h.emu.bcBase, "--ca-file", h.emu.caFile,
		"--entities", "customers,vendors,salesOrders")
	h.token = strings.TrimSpace(h.cli("", "token", "create", "--name", "e2e"))
	h.serveArgs = []string{"--db", h.db, "--key-file", h.key, "--log-level", "info", "serve", "--listen", "127.0.0.1:0",
		"--interval", "5s", "--sync-slice", "2s", "--grace", "5s", "--allow-endpoint-overrides"}
	companies := h.bcCompanies()
	if len(companies) < 3 || !slices.Contains(mapValues(companies), "Fabrikam & O'Brien Ltd.") {
		t.Fatalf("the emulator's companies: %v", companies)
	}
	h.start()

	// Kill serve once two companies have rows and some first full sync is unfinished.
	h.waitFor("the first full syncs of two companies under way", 3*time.Minute, func() string {
		started, unfinished := map[string]bool{}, 0
		for _, s := range h.syncStates(conn) {
			if s.Rows > 0 {
				started[s.CompanyID] = true
			}
			if !s.FullSyncDone {
				unfinished++
			}
		}
		if len(started) >= 2 && unfinished == 0 {
			t.Fatalf("every full sync ended before the kill could land; slow the emulator down")
		}
		if len(started) < 2 {
			return fmt.Sprintf("%d companies with rows", len(started))
		}
		return ""
	})
	h.serve().kill()
	t.Logf("killed serve with SIGKILL in the middle of the companies' first full syncs")
	h.start()

	// Every company converges to BC; the feed holds each record once.
	h.converged(conn, companies, 3*time.Minute)
	entries := h.feed(0, url.Values{"connection": {conn}})
	h.checkOnce(entries, companies)
	var last int64
	if len(entries) > 0 {
		last = entries[len(entries)-1].Seq
	}
	// The feed filtered by a company named with & and ' holds that company's entries only.
	fab := companyByName(companies, "Fabrikam & O'Brien Ltd.")
	only := h.feed(0, url.Values{"connection": {conn}, "company": {"Fabrikam & O'Brien Ltd."}})
	want := 0
	for _, e := range entries {
		if e.CompanyID == fab {
			want++
		}
	}
	if len(only) != want || want == 0 || slices.ContainsFunc(only, func(e feedEntry) bool { return e.CompanyID != fab }) {
		t.Errorf("the feed filtered by company=Fabrikam & O'Brien Ltd. has %d entries (want %d, all of company %s)", len(only), want, fab)
	}

	// A company created in BC while serve runs is synced without a restart.
	var added struct{ ID, Name string }
	h.adminCall("POST", "tenants/"+h.emu.tenant+"/environments/"+h.emu.env+"/companies", `{"name":"New Co & Sons' Branch"}`, http.StatusCreated, &added)
	companies[added.ID] = added.Name
	h.converged(conn, companies, 3*time.Minute)
	later := h.feed(last, url.Values{"connection": {conn}})
	if bad := slices.ContainsFunc(later, func(e feedEntry) bool { return e.CompanyID != added.ID }); bad || len(later) == 0 {
		t.Errorf("after the new company was added the feed has %d entries, want only (and some) of company %s", len(later), added.ID)
	}
	h.checkOnce(h.feed(0, url.Values{"connection": {conn}}), companies)
	last = max(last, lastSeq(later))

	// A company renamed in BC: same id, same replica, the new name shown.
	renamed := companyByName(companies, "Müller Bäckerei GmbH")
	const newName = "Müller & Söhne's Bäckerei"
	h.adminCall("POST", "tenants/"+h.emu.tenant+"/environments/"+h.emu.env+"/companies/"+renamed+"/rename", `{"name":"`+newName+`"}`, http.StatusNoContent, nil)
	companies[renamed] = newName
	renamedAt := time.Now()
	h.waitFor("the connection shows the new company name", 2*time.Minute, func() string {
		var v struct{ CompanyStatus []struct{ ID, Name string } }
		if err := h.getJSON("/connections/"+url.PathEscape(conn), &v); err != nil {
			return err.Error()
		}
		for _, cs := range v.CompanyStatus {
			if cs.ID == renamed && cs.Name == newName {
				return ""
			}
		}
		return fmt.Sprintf("companies %+v", v.CompanyStatus)
	})
	h.waitFor("a pass of every set after the rename", 2*time.Minute, func() string {
		for _, s := range h.syncStates(conn) {
			if !s.LastSuccessAt.After(renamedAt) {
				return fmt.Sprintf("%s of %s last succeeded at %s", s.EntitySet, s.CompanyID, s.LastSuccessAt)
			}
		}
		return ""
	})
	h.converged(conn, companies, time.Minute)
	if after := h.feed(last, url.Values{"connection": {conn}}); len(after) != 0 {
		t.Errorf("the rename put %d entries in the change feed (first: %+v), want none: no record changed", len(after), after[0])
	}
	if n, err := h.replicaOf(conn, newName, "customers"); err != nil || len(n) == 0 {
		t.Errorf("records by the new company name: %d, %v", len(n), err)
	}
	if status, body := h.call("GET", "/connections/"+url.PathEscape(conn)+"/entities/customers/records?company="+url.QueryEscape("Müller Bäckerei GmbH"), nil); status != http.StatusNotFound {
		t.Errorf("records by the old company name: %d %s, want 404 naming the companies", status, body)
	}
	// A change in BC in the company named with & and ' reaches its replica by an
	// incremental pass, and the feed names that company only.
	last = max(last, lastSeq(h.feed(last, url.Values{"connection": {conn}})))
	var cust string
	for id := range h.bcSet(fab, "customers") {
		cust = id
		break
	}
	etag := h.bcPatch(fab, "customers", cust, `{"displayName":"Changed in BC & O'Brien's"}`)
	h.waitFor("the change in BC in the feed", 2*time.Minute, func() string {
		for _, e := range h.feed(last, url.Values{"connection": {conn}}) {
			if e.ID == cust && e.Op == "update" && e.ETag == etag {
				return ""
			}
		}
		return "no update of customer " + cust + " with ETag " + etag
	})
	changed := h.feed(last, url.Values{"connection": {conn}})
	if len(changed) != 1 || changed[0].CompanyID != fab || changed[0].EntitySet != "customers" {
		t.Errorf("after one change in BC the feed has %+v, want one update of customer %s in company %s", changed, cust, fab)
	}
	h.checkUI(conn, companies)
	h.serve().stop(t)
}

// checkUI signs in to serve's UI in headless Chromium and checks that the dashboard and
// the connection's page show each company with its sync status by name (screenshots
// under $BCC_ARTIFACTS/companies-e2e).
func (h *e2e) checkUI(conn string, companies map[string]string) {
	t := h.t
	const password = "correct horse battery staple"
	h.cli(password+"\n", "admin", "create", "--name", "admin")
	ctx := browsertest.Start(t, 1280, 900)
	browsertest.WatchConsole(t, ctx)
	shots := browsertest.Artifacts(t, "companies-e2e")
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := signIn(ctx, h.serve().URL, password); err != nil {
		t.Fatalf("sign in: %v", err)
	}
	dash, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`table.conns`)))
	if err != nil {
		t.Fatal(err)
	}
	browsertest.Shoot(t, ctx, shots, "dashboard")
	if !strings.Contains(dash, conn) {
		t.Errorf("the dashboard does not list connection %q:\n%s", conn, dash)
	}
	// Each company's sets under its name, and the company of each recent change.
	groups, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]int](`Object.fromEntries([...document.querySelectorAll("table.conns .sets[data-company]")].map(d => [d.dataset.company, d.querySelectorAll(".badge").length]))`))
	if err != nil {
		t.Fatal(err)
	}
	changeCos, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("table.changes td.company")].map(td => td.textContent)`))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range companies {
		if groups[name] != len(e2eCompanySets) {
			t.Errorf("the dashboard shows %d sets under company %q, want %d: %v", groups[name], name, len(e2eCompanySets), groups)
		}
	}
	if len(changeCos) == 0 || slices.ContainsFunc(changeCos, func(n string) bool { return !slices.Contains(mapValues(companies), n) }) {
		t.Errorf("the dashboard's recent changes name the companies %v, want names of %v", changeCos, mapValues(companies))
	}
	var v struct{ ID string }
	if err := h.getJSON("/connections/"+url.PathEscape(conn), &v); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx,
		chromedp.Navigate(h.serve().URL+"/connections/"+v.ID),
		chromedp.WaitVisible(chromedp.CSS(`#companies`)),
		chromedp.WaitVisible(chromedp.CSS(`td.company`)),
	); err != nil {
		t.Fatal(err)
	}
	listed, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#companies`)))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("tr[data-company]")].map(r => r.dataset.company + "|" + r.dataset.set)`))
	if err != nil {
		t.Fatal(err)
	}
	browsertest.Shoot(t, ctx, shots, "connection")
	per := map[string]int{}
	for _, r := range rows {
		name, _, _ := strings.Cut(r, "|")
		per[name]++
	}
	for id, name := range companies {
		if !strings.Contains(listed, name) || !strings.Contains(listed, id) {
			t.Errorf("the connection page's companies lack %q (%s):\n%s", name, id, listed)
		}
		if per[name] != len(e2eCompanySets) {
			t.Errorf("the connection page's sync table has %d rows of company %q, want %d: %v", per[name], name, len(e2eCompanySets), rows)
		}
	}
}

// converged waits until the connection's sync status has every company of companies
// (id → name) with every set done without error, and each replica equals BC.
func (h *e2e) converged(conn string, companies map[string]string, within time.Duration) {
	h.t.Helper()
	h.waitFor("every company converged", within, func() string {
		done := map[string]int{}
		for _, s := range h.syncStates(conn) {
			if s.LastError != "" {
				return fmt.Sprintf("%s of %s: %s", s.EntitySet, s.CompanyID, s.LastError)
			}
			if s.CompanyName != companies[s.CompanyID] {
				return fmt.Sprintf("the sync status names company %s %q, BC %q", s.CompanyID, s.CompanyName, companies[s.CompanyID])
			}
			if s.FullSyncDone {
				done[s.CompanyID]++
			}
		}
		for id, name := range companies {
			if done[id] != len(e2eCompanySets) {
				return fmt.Sprintf("company %q (%s): %d of %d sets done", name, id, done[id], len(e2eCompanySets))
			}
		}
		return ""
	})
	for id, name := range companies {
		for _, set := range []string{"customers", "vendors"} {
			rep, err := h.replicaOf(conn, id, set)
			if err != nil {
				h.t.Fatal(err)
			}
			if diff, _ := diffRows(set, h.bcSet(id, set), rep); len(diff) > 0 {
				h.t.Errorf("company %q: the replica of %s differs from BC:\n  %s", name, set, strings.Join(first(diff, 10), "\n  "))
			}
		}
	}
}

// checkOnce fails the test unless the feed holds every record of every company once, as
// an insert (nothing in BC changed), and names a company of the connection.
func (h *e2e) checkOnce(entries []feedEntry, companies map[string]string) {
	h.t.Helper()
	seen := map[string]int{}
	per := map[string]int{}
	for _, e := range entries {
		if _, ok := companies[e.CompanyID]; !ok {
			h.t.Errorf("feed entry %d names company %q, not one of the connection's", e.Seq, e.CompanyID)
		}
		k := e.CompanyID + "/" + e.EntitySet + "/" + e.ID
		if seen[k]++; seen[k] == 2 {
			h.t.Errorf("feed entry %d (%s) repeats %s: the record did not change", e.Seq, e.Op, k)
		}
		if e.Op != "insert" {
			h.t.Errorf("feed entry %d is a %s of %s: the record did not change", e.Seq, e.Op, k)
		}
		if e.EntitySet == "customers" {
			per[e.CompanyID]++
		}
	}
	for id, name := range companies {
		if n := len(h.bcSet(id, "customers")); per[id] != n {
			h.t.Errorf("company %q: %d customers in the feed, BC has %d", name, per[id], n)
		}
	}
}

func companyByName(companies map[string]string, name string) string {
	for id, n := range companies {
		if n == name {
			return id
		}
	}
	return ""
}

func mapValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func lastSeq(entries []feedEntry) int64 {
	if len(entries) == 0 {
		return 0
	}
	return entries[len(entries)-1].Seq
}
