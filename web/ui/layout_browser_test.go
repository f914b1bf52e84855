package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/internal/browsertest"
	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/service"
)

// syncedUI is the UI over the real service with one connection to the emulator (the
// scenario "ok"), whose customers and items the first sync has replicated.
type syncedUI struct {
	URL  string
	Svc  service.Service
	Conn service.ConnectionView
	// In is what the connection was created from (another connection to the same
	// sandbox can be made from it).
	In service.ConnectionInput
}

func newSyncedUI(t *testing.T, ctx context.Context) syncedUI {
	t.Helper()
	svc, sb := sandboxServiceOf(t, emulator.ScenarioOK)
	cr := sb.Creds
	in := service.ConnectionInput{Name: "Production – " + cr.Company, TenantID: cr.TenantID, ClientID: cr.ClientID, Secret: secret.Secret(cr.ClientSecret),
		SecretEndDate: cr.SecretEndDate.Format(time.DateOnly), Environment: cr.Environment, Company: cr.Company,
		Entities:      []string{"customers", "items", "generalLedgerEntries"},
		AuthorityHost: sb.AuthorityHost(), BCBaseURL: sb.BCBaseURL(), CAFile: sb.CAFile}
	v, _, err := svc.CreateConnection(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Sync(ctx, v.ID, nil, false); err != nil {
		t.Fatal(err)
	}
	// The sync runs in the background: wait until every set's first full sync is done.
	for {
		v, err = svc.GetConnection(ctx, v.ID)
		if err != nil {
			t.Fatal(err)
		}
		done := map[string]bool{}
		for _, s := range v.Sync {
			if s.LastError != "" {
				t.Fatalf("sync of %s: %s", s.Key.EntitySet, s.LastError)
			}
			done[s.Key.EntitySet] = s.FullSyncDone
		}
		all := true
		for _, e := range in.Entities {
			all = all && done[e]
		}
		if all {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the first sync did not finish: %v", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	h, err := New(Options{Service: svc, SandboxNote: "Sandbox: the built-in Entra ID and Business Central."})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return syncedUI{URL: srv.URL, Svc: svc, Conn: v, In: in}
}

// browseSynced starts Chromium (watching its console) and newSyncedUI, with a deadline of
// two minutes for the test.
func browseSynced(t *testing.T) (context.Context, syncedUI) {
	t.Helper()
	bctx := browser(t)
	watchConsole(t, bctx)
	ctx, cancel := context.WithTimeout(bctx, 120*time.Second)
	t.Cleanup(cancel)
	return ctx, newSyncedUI(t, ctx)
}

// TestBrowserNarrow: at 390 CSS pixels (a phone held upright) no page of the UI scrolls
// sideways; wide tables scroll inside their own box instead.
func TestBrowserNarrow(t *testing.T) {
	ctx, u := browseSynced(t)
	dir := artifacts(t)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile)); err != nil {
		t.Fatal(err)
	}
	id := u.Conn.ID
	// table, when set, is a wide table that must scroll sideways in its own box.
	pages := []struct{ name, path, ready, table string }{
		{"dashboard", "/", "table.conns", "table.conns"},
		{"connection", "/connections/" + id, "#live table.sync", "table.sync"},
		{"data", "/connections/" + id + "/data/customers", "table.data", "table.data"},
		{"wizard-start", "/wizard", "#f-environment", ""},
		{"webhooks", "/webhooks", "main h1", ""},
		{"notfound", "/no/such/page", "main h1", ""},
	}
	for _, p := range pages {
		err := chromedp.Do(ctx, chromedp.Navigate(u.URL+p.path), chromedp.WaitVisible(chromedp.CSS(p.ready)))
		if err != nil {
			t.Fatalf("%s: %v", p.name, err)
		}
		browsertest.Shoot(t, ctx, dir, "narrow-"+p.name)
		o, err := browsertest.MeasureOverflow(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if o.Viewport != 390 {
			t.Fatalf("%s: the viewport is %d px wide, want 390", p.name, o.Viewport)
		}
		if o.Page > 0 || len(o.Culprits) > 0 {
			t.Errorf("%s at 390 px: the page scrolls %d px sideways; sticking out: %s", p.name, o.Page, strings.Join(o.Culprits, ", "))
		}
		if p.table == "" {
			continue
		}
		wide, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { const box = document.querySelector('`+p.table+`').parentElement;
			return getComputedStyle(box).overflowX === 'auto' && box.scrollWidth > box.clientWidth; })()`))
		if err != nil {
			t.Fatal(err)
		}
		if !wide {
			t.Errorf("%s: %s is not in a box that scrolls sideways", p.name, p.table)
		}
	}
}

// TestBrowserDashboard: "Recent changes" on the dashboard names each change's connection
// (linked to its page), the connection's own page does not repeat it; a connection that
// has synced nothing shows the chart's empty state, never "1 rows".
func TestBrowserDashboard(t *testing.T) {
	ctx, u := browseSynced(t)
	dir := artifacts(t)
	err := chromedp.Do(ctx, chromedp.Navigate(u.URL+"/"), chromedp.WaitVisible(chromedp.CSS(`table.changes`)))
	if err != nil {
		t.Fatal(err)
	}
	browsertest.Shoot(t, ctx, dir, "dashboard-changes")
	cols, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('table.changes th')].map(th => th.textContent)`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(cols, ",") != "#,When,Connection,Entity set,Op,Record" {
		t.Errorf("dashboard changes columns %q", cols)
	}
	cells, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('table.changes td.conn')].map(td => {
		const a = td.querySelector('a'); return a ? a.getAttribute('href') + ' ' + a.textContent : td.textContent; })`))
	if err != nil {
		t.Fatal(err)
	}
	if len(cells) == 0 {
		t.Fatal("no changes on the dashboard after a sync")
	}
	for _, c := range cells {
		if c != "/connections/"+u.Conn.ID+" "+u.Conn.Name {
			t.Errorf("connection cell %q, want a link to %s named %q", c, u.Conn.ID, u.Conn.Name)
		}
	}
	// The connection's own page: its changes only, without the column.
	err = chromedp.Do(ctx, chromedp.Navigate(u.URL+"/connections/"+u.Conn.ID), chromedp.WaitVisible(chromedp.CSS(`#live table.changes`)))
	if err != nil {
		t.Fatal(err)
	}
	cols, err = chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#live table.changes th')].map(th => th.textContent)`))
	if err != nil || strings.Join(cols, ",") != "#,When,Entity set,Op,Record" {
		t.Errorf("connection page changes columns %q, %v", cols, err)
	}

	// A second connection, never synced: once the page has polled, the chart says there is
	// nothing to draw.
	in := u.In
	in.Name, in.Entities = "Nothing synced", []string{"customers"}
	idle, _, err := u.Svc.CreateConnection(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	err = chromedp.Do(ctx, chromedp.Navigate(u.URL+"/connections/"+idle.ID), chromedp.WaitVisible(chromedp.CSS(`#chart-empty`)))
	if err != nil {
		browsertest.Shoot(t, ctx, dir, "chart-empty-error")
		t.Fatal(err)
	}
	browsertest.Shoot(t, ctx, dir, "chart-empty")
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#live`)))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(text, "1 rows") || !strings.Contains(text, "no rows replicated and no requests") || !strings.Contains(text, "0 rows in 1 entity set ·") {
		t.Errorf("the idle connection's sync section:\n%s", text)
	}
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#live svg.chart').length`)); err != nil || n != 0 {
		t.Errorf("%d charts drawn for an empty window (%v)", n, err)
	}
}

// TestBrowserWizardDuplicate: walking the wizard in Chromium to a company the sandbox's
// app already reads through a stored connection warns on the company page; finishing
// without ticking "create anyway" creates nothing, ticking it creates the second one.
func TestBrowserWizardDuplicate(t *testing.T) {
	bctx := browser(t)
	watchConsole(t, bctx)
	svc, sb := sandboxServiceOf(t, emulator.ScenarioOK)
	cr := sb.Creds
	endpoints := Endpoints{AuthorityHost: sb.AuthorityHost(), BCBaseURL: sb.BCBaseURL(), CAFile: sb.CAFile}
	ctx, cancel := context.WithTimeout(bctx, 150*time.Second)
	defer cancel()
	first, _, err := svc.CreateConnection(ctx, endpoints.apply(service.ConnectionInput{Name: "First", TenantID: cr.TenantID, ClientID: cr.ClientID,
		Secret: secret.Secret(cr.ClientSecret), Environment: cr.Environment, Company: cr.Company, Entities: []string{"customers"}}))
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(Options{Service: svc, AuthorityHost: endpoints.AuthorityHost, Endpoints: endpoints})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	dir := artifacts(t)
	completeWizard(t, ctx, srv.URL, cr, dir, "duplicate")
	err = chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#next")), chromedp.WaitVisible(chromedp.CSS("#duplicate-warning")))
	if err != nil {
		browsertest.Shoot(t, ctx, dir, "duplicate-error")
		t.Fatal(err)
	}
	browsertest.Shoot(t, ctx, dir, "duplicate-warning")
	warning, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#duplicate-warning")))
	if !strings.Contains(warning, "already reads a selected company") || !strings.Contains(warning, "First") {
		t.Errorf("warning %q", warning)
	}
	count := func() int {
		views, err := svc.ListConnections(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		return len(views)
	}
	err = chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#finish")), chromedp.WaitVisible(chromedp.CSS(".problem")))
	if err != nil {
		t.Fatal(err)
	}
	problem, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".problem")))
	if !strings.Contains(problem, "already connected with the same app and environment: First") || count() != 1 {
		t.Fatalf("finish without ticking: %q, %d connections", problem, count())
	}
	err = chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#f-duplicate")), chromedp.Click(chromedp.CSS("#finish")),
		chromedp.WaitVisible(chromedp.CSS("#live")))
	if err != nil {
		browsertest.Shoot(t, ctx, dir, "duplicate-error")
		t.Fatal(err)
	}
	if n := count(); n != 2 {
		t.Errorf("%d connections after ticking, want 2", n)
	}
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	if strings.Contains(loc, first.ID) {
		t.Errorf("landed on the first connection's page %s", loc)
	}
}

// TestBrowserDataBrowser: the data browser lists G/L entries by entryNumber as numbers
// across pages and customers by number, keeps its header in view while the table scrolls
// in its box, and shows the columns picked, remembered for the set in this browser (a
// bare URL shows them again) until "All columns".
func TestBrowserDataBrowser(t *testing.T) {
	ctx, u := browseSynced(t)
	dir := artifacts(t)
	base := u.URL + "/connections/" + u.Conn.ID + "/data/"
	headers := func() []string {
		t.Helper()
		h, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('table.data th')].map(th => th.textContent.replace(' ▲', ''))`))
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	column := func(name string) []string {
		t.Helper()
		c, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`(() => {
			const i = [...document.querySelectorAll('table.data th')].findIndex(th => th.textContent.replace(' ▲', '') === '`+name+`');
			return i < 0 ? [] : [...document.querySelectorAll('table.data tbody tr')].map(tr => tr.children[i].textContent);
		})()`))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	open := func(path string) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Navigate(base+path), chromedp.WaitVisible(chromedp.CSS(`table.data`))); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}

	// G/L entries by entryNumber, as numbers, across three pages.
	open("generalLedgerEntries")
	browsertest.Shoot(t, ctx, dir, "data-gl")
	var entries []int
	for page := 0; page < 3; page++ {
		if page > 0 {
			if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#nextpage`))); err != nil {
				t.Fatalf("page %d: %v", page+1, err)
			}
			waitPage(t, ctx, fmt.Sprintf(`location.search.includes('cursor=') && document.querySelector('table.data tbody td:nth-child(2)').textContent !== '%d'`, entries[len(entries)-50]))
		}
		for _, s := range column("entryNumber") {
			n, err := strconv.Atoi(s)
			if err != nil {
				t.Fatalf("entryNumber %q: %v", s, err)
			}
			entries = append(entries, n)
		}
	}
	if len(entries) != 150 || !slices.IsSorted(entries) || entries[0] >= entries[149] {
		t.Errorf("G/L entries over three pages not in entryNumber order (%d): %v", len(entries), entries)
	}
	// Customers by number. The sandbox's ids grow with its numbers, so three customers
	// written now (random ids, numbers that sort first) show the order is by number.
	for i, name := range []string{"Zeta Traders", "Alpha Foods", "Mid Supplies"} {
		body := fmt.Sprintf(`{"number":"00%d-NEW","displayName":%q}`, i+1, name)
		if _, err := u.Svc.Write(ctx, u.Conn.ID, "customers", service.WriteOp{Method: "POST", Body: json.RawMessage(body)}, ""); err != nil {
			t.Fatalf("create customer %s: %v", name, err)
		}
	}
	open("customers")
	if nums := column("number"); len(nums) < 10 || !slices.IsSorted(nums) || strings.Join(nums[:3], ",") != "001-NEW,002-NEW,003-NEW" {
		t.Errorf("customers not in number order: %v", nums)
	}
	if ids := column("id"); slices.IsSorted(ids) {
		t.Errorf("the customers' ids are in order too, so this test proves nothing: %v", ids)
	}
	if o, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#order`))); o != "In the order of number, then id." {
		t.Errorf("order note %q", o)
	}

	// The header stays at the top of the box when the table scrolls.
	open("generalLedgerEntries")
	gap, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`(() => {
		const box = document.getElementById('datatable');
		box.scrollTop = 800;
		return document.querySelector('table.data th').getBoundingClientRect().top - box.getBoundingClientRect().top;
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	scrolled, _ := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.getElementById('datatable').scrollTop`))
	browsertest.Shoot(t, ctx, dir, "data-sticky-header")
	if scrolled < 700 || gap < -1 || gap > 2 {
		t.Errorf("after scrolling the box %.0f px, the header is %.1f px below its top (want 0: sticky)", scrolled, gap)
	}

	// Pick two columns in the picker.
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`#columns summary`)),
		chromedp.WaitVisible(chromedp.CSS(`#columns-apply`)),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error { // "none": untick every box first
			_, err := chromedp.Evaluate[bool](`(document.querySelectorAll('#columns-form input[name=col]').forEach(c => c.checked = false), true)`)(ctx, tg)
			return err
		}),
		chromedp.Click(chromedp.CSS(`#columns-form input[value="description"]`)),
		chromedp.Click(chromedp.CSS(`#columns-form input[value="entryNumber"]`)),
		chromedp.Click(chromedp.CSS(`#columns-apply`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	waitPage(t, ctx, `location.search.includes('col=entryNumber')`)
	want := "entryNumber,description"
	if h := strings.Join(headers(), ","); h != want {
		t.Errorf("picked columns: %s, want %s", h, want)
	}
	browsertest.Shoot(t, ctx, dir, "data-columns")
	// Remembered: the bare URL shows them again (static/data.js adds them).
	err = chromedp.Do(ctx, chromedp.Navigate(base+"generalLedgerEntries"), chromedp.WaitVisible(chromedp.CSS(`#columns-form input[value="postingDate"]:not(:checked)`)))
	if err != nil {
		t.Fatal(err)
	}
	if h := strings.Join(headers(), ","); h != want {
		t.Errorf("columns after coming back: %s, want %s", h, want)
	}
	// Per set: customers still show all theirs.
	open("customers")
	if h := headers(); len(h) < 10 {
		t.Errorf("customers show %d columns after picking G/L entries' columns", len(h))
	}
	// All columns: shown and forgotten.
	err = chromedp.Do(ctx, chromedp.Navigate(base+"generalLedgerEntries"), chromedp.WaitVisible(chromedp.CSS(`#columns summary`)),
		chromedp.Click(chromedp.CSS(`#columns summary`)), chromedp.WaitVisible(chromedp.CSS(`#columns-all`)),
		chromedp.Click(chromedp.CSS(`#columns-all`)), chromedp.WaitReady(chromedp.CSS(`#columns-form input[value="postingDate"]:checked`)))
	if err != nil {
		t.Fatal(err)
	}
	open("generalLedgerEntries")
	if h := headers(); len(h) < 5 || !slices.Contains(h, "postingDate") {
		t.Errorf("after All columns and a bare URL: %v", h)
	}
}

// waitPage waits until the page that a click navigates to is loaded and cond (a page
// expression) holds. An evaluation that races with the navigation fails with "target
// navigated", which says nothing about the outcome, so it is tried again.
func waitPage(t *testing.T, ctx context.Context, cond string) {
	t.Helper()
	for {
		done, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.readyState === 'complete' && !!document.querySelector('table.data') && (`+cond+`)`))
		if err == nil && done {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for a page where %s: %v", cond, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
