package ui

import (
	"bytes"
	"context"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/doctor"
	"github.com/bizzjoiner/bcconnector/guide"
	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/service"
	"github.com/bizzjoiner/bcconnector/store"
)

const (
	testSecret  = "Zq48Q~abcDEFghiJKLmnoPQRstuVWXyz0123456789"
	testTenant  = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	testClient  = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
	testEndDate = "2027-06-30"
)

// env is a UI over a fake service, with every response scanned for the secret.
type env struct {
	t    *testing.T
	fake *fakeService
	h    http.Handler
	logs *bytes.Buffer
}

func setup(t *testing.T) *env {
	t.Helper()
	fake := newFake()
	var logs bytes.Buffer
	h, err := New(Options{
		Service: fake, Now: fake.now, SandboxNote: "Sandbox: a built-in Entra ID and Business Central; nothing leaves this machine.",
		AuthorityHost: "https://login.example.test/",
		Logger:        slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, fake: fake, h: h, logs: &logs}
	t.Cleanup(func() {
		for _, s := range []string{testSecret, "NewSecret8Q~"} {
			if strings.Contains(logs.String(), s) {
				t.Errorf("logs contain a secret")
			}
		}
	})
	return e
}

type resp struct {
	Code   int
	Header http.Header
	Body   string
}

func (e *env) do(method, target string, form url.Values, hx bool) resp {
	e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, target, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if hx {
		req.Header.Set("HX-Request", "true")
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	r := resp{Code: rec.Code, Header: rec.Header(), Body: rec.Body.String()}
	// No secret ever goes back to the browser: not in a body, a header or a redirect.
	for _, s := range []string{testSecret, "NewSecret8Q~", "rejected-by-entra-secret-value"} {
		if strings.Contains(r.Body, s) || strings.Contains(r.Header.Get("Location"), s) || strings.Contains(r.Header.Get("HX-Redirect"), s) {
			e.t.Errorf("%s %s: the response contains a secret", method, target)
		}
	}
	return r
}

func (e *env) get(target string) resp { return e.do("GET", target, nil, false) }

func (e *env) post(target string, form url.Values) resp { return e.do("POST", target, form, false) }

func want(t *testing.T, r resp, code int, contains ...string) {
	t.Helper()
	if r.Code != code {
		t.Fatalf("status %d, want %d; body:\n%.2000s", r.Code, code, r.Body)
	}
	for _, s := range contains {
		if !strings.Contains(r.Body, s) {
			t.Errorf("body does not contain %q:\n%.3000s", s, r.Body)
		}
	}
}

var draftRE = regexp.MustCompile(`name="d" value="([0-9a-f]{32})"`)

// startDraft opens the wizard and fills in the first screens, returning the draft ID.
func (e *env) startDraft() string {
	e.t.Helper()
	r := e.get("/wizard")
	want(e.t, r, 200, "Before you begin", "Log out", "Sandbox:")
	m := draftRE.FindStringSubmatch(r.Body)
	if m == nil {
		e.t.Fatal("no draft ID in the start page")
	}
	d := m[1]
	r = e.post("/wizard", url.Values{"d": {d}, "environment": {"Production"}, "company": {"Company X"}})
	want(e.t, r, 303)
	if loc := r.Header.Get("Location"); loc != "/wizard/step/1?d="+d {
		e.t.Fatalf("after start: Location %q", loc)
	}
	r = e.post("/wizard/step/2", url.Values{"d": {d}, "tenant": {testTenant}, "client": {testClient}})
	want(e.t, r, 303)
	r = e.post("/wizard/step/3", url.Values{"d": {d}, "secret": {testSecret}, "endDate": {testEndDate}})
	want(e.t, r, 303)
	return d
}

func TestTemplatesParse(t *testing.T) {
	e := setup(t)
	h := e.h.(*handler)
	for _, v := range []string{"connections", "connection", "data", "error", "wizard_start", "wizard_1", "wizard_2", "wizard_3",
		"wizard_4", "wizard_5", "wizard_6", "wizard_check", "wizard_company"} {
		if h.views[v] == nil {
			t.Errorf("view %s not parsed", v)
		}
	}
	for _, f := range []string{"progress", "checks", "live", "fieldmsg", "synctable", "changes"} {
		if h.base.Lookup(f) == nil {
			t.Errorf("fragment %s not parsed", f)
		}
	}
	if _, err := New(Options{}); err == nil {
		t.Error("New without a service: want an error")
	}
}

func TestStatic(t *testing.T) {
	e := setup(t)
	r := e.get("/static/htmx.min.js")
	want(t, r, 200, "htmx")
	r = e.get("/static/style.css")
	want(t, r, 200, "--ok")
	r = e.get("/static/favicon.svg")
	want(t, r, 200, "<svg")
	if ct := r.Header.Get("Content-Type"); ct != "image/svg+xml" {
		t.Errorf("favicon.svg: Content-Type %q", ct)
	}
	r = e.get("/favicon.ico")
	want(t, r, http.StatusMovedPermanently)
	if loc := r.Header.Get("Location"); loc != "/static/favicon.svg" {
		t.Errorf("/favicon.ico: Location %q", loc)
	}
	if !strings.Contains(e.get("/").Body, `<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">`) {
		t.Error("the layout names no icon")
	}
}

// TestNotFound: an unknown page, a wizard step that does not exist and a download the
// server does not offer are the styled 404 page inside the layout; a path known with other
// methods is still 405 with Allow.
func TestNotFound(t *testing.T) {
	e := setup(t)
	for _, p := range []string{"/no/such/page", "/wizard/step/99", "/wizard/certificate/sandbox-upload"} {
		method := "GET"
		if strings.HasSuffix(p, "upload") {
			method = "POST"
		}
		r := e.do(method, p, nil, false)
		want(t, r, http.StatusNotFound, "<h1>Page not found</h1>", `href="/static/style.css"`, "Log out")
		if ct := r.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("%s: Content-Type %q", p, ct)
		}
	}
	// A connection that does not exist: the error page, as styled.
	want(t, e.get("/connections/nope"), http.StatusNotFound, "<h1>Not found</h1>", "No such connection", `href="/static/style.css"`)
	r := e.get("/no/such/<page>")
	if strings.Contains(r.Body, "<page>") {
		t.Error("the 404 page reflects the path unescaped")
	}
	r = e.get("/connections/x/pause")
	if r.Code != http.StatusMethodNotAllowed || r.Header.Get("Allow") == "" {
		t.Errorf("GET of a POST route: %d, Allow %q", r.Code, r.Header.Get("Allow"))
	}
}

func TestWizardStepsShowTheGuideValues(t *testing.T) {
	e := setup(t)
	d := e.startDraft()
	q := "?d=" + d
	cases := []struct {
		path string
		want []string
	}{
		{"/wizard/step/1", []string{"Step 1 – Register a New Application", "Bizzjoiner – BC Connector – Production – Company X", guide.AccountType, guide.RedirectURI}},
		{"/wizard/step/2", []string{testTenant, testClient, `hx-post="/wizard/validate"`}},
		{"/wizard/step/3", []string{guide.SecretDescription, "12 to 24 months", "A secret is held", `type="password"`, testEndDate}},
		{"/wizard/step/4", []string{guide.ApplicationPermission, "Application permissions", guide.DelegatedTrap, "Delegated"}},
		{"/wizard/step/5", []string{"Grant admin consent", `target="_blank"`, "https://login.example.test/" + testTenant + "/adminconsent"}},
		{"/wizard/step/6", []string{guide.BCPageName, guide.BCAppDescription, guide.PermissionSetName, testClient, "/wizard/permission-set.al?d=" + d}},
		{"/wizard/check", []string{"Check my setup", "held, not shown", "not checked yet"}},
	}
	for _, c := range cases {
		r := e.get(c.path + q)
		want(t, r, 200, c.want...)
		if strings.Contains(r.Body, `type="password" value=`) {
			t.Errorf("%s: password input has a value", c.path)
		}
	}
	if r := e.get("/wizard/step/9" + q); r.Code != 404 {
		t.Errorf("step 9: %d", r.Code)
	}
	if r := e.get("/wizard/step/2?d=ffffffffffffffffffffffffffffffff"); r.Code != 303 || !strings.Contains(r.Header.Get("Location"), "expired") {
		t.Errorf("unknown draft: %d %s", r.Code, r.Header.Get("Location"))
	}
}

func TestWizardStepValidation(t *testing.T) {
	e := setup(t)
	r := e.get("/wizard")
	d := draftRE.FindStringSubmatch(r.Body)[1]
	r = e.post("/wizard/step/2", url.Values{"d": {d}, "tenant": {"common"}, "client": {"not-a-guid"}})
	_, fe := guide.CheckTenant("common")
	_, fc := guide.CheckClientID("not-a-guid")
	want(t, r, 422, "Step 2 – Copy", template.HTMLEscapeString(fe.Problem), template.HTMLEscapeString(fc.Problem), `value="common"`)
	// The secret: the guide's message, and neither the value nor a redirect.
	_, fs := guide.CheckSecret(testClient)
	r = e.post("/wizard/step/3", url.Values{"d": {d}, "secret": {testClient}})
	want(t, r, 422, template.HTMLEscapeString(fs.Problem))
}

func TestWizardValidateFragment(t *testing.T) {
	e := setup(t)
	cases := []struct {
		field, value string
		want         string
	}{
		{"tenant", "common", "tenant ID:"},
		{"tenant", testTenant, "looks right"},
		{"client", "x", "client ID:"},
		{"secret", testSecret, "looks right"},
		{"secret", testClient, "client secret:"},
		{"endDate", "2/12/2027", "could be 12 February 2027 or 2 December 2027"},
		{"endDate", "30/06/2027", "read as 30 June 2027"},
		{"environment", "Prod uction!", "environment:"},
	}
	for _, c := range cases {
		r := e.do("POST", "/wizard/validate", url.Values{"field": {c.field}, c.field: {c.value}}, true)
		want(t, r, 200, c.want)
		if strings.Contains(r.Body, "<html") {
			t.Errorf("%s: fragment has the layout", c.field)
		}
	}
	if r := e.post("/wizard/validate", url.Values{"field": {"nope"}}); r.Code != 400 {
		t.Errorf("unknown field: %d", r.Code)
	}
}

// TestWizardExpiredDraft: the hidden inputs bring the values back; only the secret is asked again.
func TestWizardExpiredDraft(t *testing.T) {
	e := setup(t)
	h := e.h.(*handler)
	d := e.startDraft()
	h.drafts.remove(d)
	r := e.post("/wizard/step/4", url.Values{"d": {d}, "environment": {"Production"}, "tenant": {testTenant}, "client": {testClient}, "endDate": {testEndDate}})
	want(t, r, 422, "draft expired", testTenant)
	// And drafts expire by themselves.
	now := time.Date(2026, 9, 1, 12, 0, 0, 0, time.UTC)
	ds := &draftStore{ttl: 30 * time.Minute, now: func() time.Time { return now }, m: map[string]*draft{}}
	dr := ds.create()
	dr.in.Secret = "s"
	now = now.Add(31 * time.Minute)
	if ds.get(dr.ID) != nil || dr.in.Secret != "" {
		t.Error("draft not expired after 31 minutes, or secret not wiped")
	}
}

// TestDraftKeepsCertificate: a draft holding a generated certificate outlives the idle
// half hour (the admin may have uploaded the .cer to Entra already) for its own TTL, then
// goes with its private key; Step 3 says how long it is kept.
func TestDraftKeepsCertificate(t *testing.T) {
	e := setup(t)
	h := e.h.(*handler)
	now := time.Date(2026, 9, 1, 12, 0, 0, 0, time.UTC)
	ds := &draftStore{ttl: 30 * time.Minute, certTTL: DefaultDraftCertificateTTL, now: func() time.Time { return now }, m: map[string]*draft{}}
	plain, withCert := ds.create(), ds.create()
	cert, err := secret.GenerateCertificate(secret.CertificateOptions{Subject: "draft", NotAfter: now.AddDate(1, 0, 0), Bits: 2048, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	withCert.in.Certificate = &cert
	now = now.Add(31 * time.Minute)
	if ds.get(plain.ID) != nil {
		t.Error("a draft without a certificate outlived 30 minutes")
	}
	now = now.Add(23 * time.Hour)
	if ds.get(withCert.ID) == nil || withCert.snapshot().Certificate == nil {
		t.Fatal("a draft holding a certificate is gone after 23 hours")
	}
	now = now.Add(24*time.Hour + time.Minute)
	if ds.get(withCert.ID) != nil || withCert.in.Certificate != nil {
		t.Error("a draft holding a certificate outlived its TTL, or kept the key")
	}

	d := e.startDraft()
	h.drafts.get(d).in.Certificate = &cert
	want(t, e.get("/wizard/step/3?d="+d+"&kind=certificate"), 200, `id="cert-kept"`, "for 24 hours without activity", "a restart of the server loses it")
}

func TestWizardCheckAndFinish(t *testing.T) {
	e := setup(t)
	d := e.startDraft()
	r := e.do("POST", "/wizard/check", url.Values{"d": {d}}, true)
	want(t, r, 200, `id="progress"`)
	deadline := time.Now().Add(5 * time.Second)
	for strings.Contains(r.Body, `hx-trigger="every 500ms"`) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		r = e.do("GET", "/wizard/progress?d="+d, nil, true)
	}
	want(t, r, 200, "Your setup is right", "/wizard/company?d="+d, "✔")
	if strings.Contains(r.Body, "every 500ms") {
		t.Error("polling does not stop when the run is done")
	}
	e.fake.mu.Lock()
	in := e.fake.seen[0]
	e.fake.mu.Unlock()
	if in.Secret != testSecret || in.TenantID != testTenant || in.SecretEndDate != testEndDate {
		t.Errorf("Diagnose got %+v", in)
	}

	r = e.get("/wizard/company?d=" + d)
	want(t, r, 200, "Company X", "Company Y &amp; Co", `value="customers" checked`, "generalLedgerEntries")
	r = e.post("/wizard/finish", url.Values{"d": {d}, "company": {e.fake.companies[0][0]}, "entity": {"customers", "vendors"}, "more": {"custmers"}})
	want(t, r, 422, "customers") // the unknown name is named, with a suggestion
	r = e.post("/wizard/finish", url.Values{"d": {d}, "company": {e.fake.companies[0][0]}, "entity": {"customers", "vendors"}, "name": {"My connection"}})
	want(t, r, 303)
	loc := r.Header.Get("Location")
	if !strings.HasPrefix(loc, "/connections/c") || !e.fake.called("Sync c") {
		t.Fatalf("finish: Location %q, calls %v", loc, e.fake.calls)
	}
	// The draft (and the secret it held) is gone.
	if e.e().drafts.get(d) != nil {
		t.Error("draft kept after finishing")
	}
	r = e.get(loc)
	want(t, r, 200, "My connection", "Connection created", "customers", "vendors", "Full resync", "Rows synced, requests and 429s", "Rotate the client secret", "Re-run the setup check")
}

func (e *env) e() *handler { return e.h.(*handler) }

func TestWizardCheckFailureShowsFix(t *testing.T) {
	e := setup(t)
	step4 := guide.Step4Permissions
	e.fake.diagnoseFunc = func(ctx context.Context, in service.ConnectionInput, onCheck func(doctor.Check)) *doctor.Report {
		rep := &doctor.Report{FailedStep: &step4}
		for _, c := range []doctor.Check{
			{ID: doctor.CheckInput, Title: "Input", Status: doctor.Passed},
			{ID: doctor.CheckToken, Title: "Token", Status: doctor.Passed},
			{ID: doctor.CheckRoles, Title: "Roles", Step: step4, Steps: []guide.Step{guide.Step4Permissions, guide.Step5Consent}, Status: doctor.Failed,
				Problem: "the token has no roles", Fix: "pick Application permissions → API.ReadWrite.All"},
			{ID: doctor.CheckBCAccess, Title: "BC", Status: doctor.NotChecked},
		} {
			onCheck(c)
			rep.Checks = append(rep.Checks, c)
		}
		return rep
	}
	d := e.startDraft()
	e.post("/wizard/check", url.Values{"d": {d}})
	var r resp
	for range 200 {
		r = e.get("/wizard/check?d=" + d)
		if !strings.Contains(r.Body, "every 500ms") {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	want(t, r, 200, "✘", "fixbox", "the token has no roles", "pick Application permissions", "Step 4 – Assign API Permissions", "or Step 5",
		"/wizard/step/4?d="+d, "not checked yet", "Check again")
	// Re-check without retyping: the draft still holds everything.
	r = e.do("POST", "/wizard/check", url.Values{"d": {d}}, true)
	want(t, r, 200, `id="progress"`)
}

func TestPermissionSetDownload(t *testing.T) {
	e := setup(t)
	r := e.get("/wizard/permission-set.al?entity=customers")
	want(t, r, 200, "permissionset", "BIZZJOINER CONNECTOR", "Customer")
	if !strings.Contains(r.Header.Get("Content-Disposition"), "attachment") {
		t.Error("not a download")
	}
	r = e.get("/wizard/permission-set.al?entity=custmers")
	want(t, r, 400, "custmers")
}

func created(t *testing.T, e *env) string {
	t.Helper()
	v, _, err := e.fake.CreateConnection(context.Background(), service.ConnectionInput{Name: "Conn A", TenantID: testTenant, ClientID: testClient,
		Secret: testSecret, SecretEndDate: "2026-09-20", Environment: "Production", Company: e.fake.companies[0][0], Entities: []string{"customers", "items"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.fake.Sync(context.Background(), v.ID, nil, false); err != nil {
		t.Fatal(err)
	}
	return v.ID
}

func TestDashboard(t *testing.T) {
	e := setup(t)
	want(t, e.get("/"), 200, "No connections yet")
	id := created(t, e)
	r := e.get("/")
	want(t, r, 200, "Conn A", "days left: plan the rotation", `class="expiry warn"`, "✔", "customers 3", "Recent changes", "items-2")
	r = e.get("/connections/" + id)
	want(t, r, 200, "Conn A", "Company X", "Pause sync", `data-set="customers"`, "up to date", `hx-trigger="every 2s"`)
	r = e.do("GET", "/connections/"+id+"/live", nil, true)
	want(t, r, 200, `id="live"`, "6 rows in 2 entity sets")
	if strings.Contains(r.Body, "<html") {
		t.Error("live fragment has the layout")
	}
	want(t, e.get("/connections/nope"), 404, "No such connection")
}

func TestConnectionActions(t *testing.T) {
	e := setup(t)
	id := created(t, e)
	base := "/connections/" + id
	r := e.post(base+"/pause", url.Values{})
	want(t, r, 303)
	want(t, e.get(r.Header.Get("Location")), 200, "Sync paused", "Resume sync")
	r = e.post(base+"/resume", url.Values{})
	want(t, r, 303)
	if !e.fake.called("SetPaused false") {
		t.Error("resume did not call SetPaused(false)")
	}
	r = e.post(base+"/resync", url.Values{"entitySet": {"items"}})
	want(t, r, 303)
	if !e.fake.called("Sync " + id + " [items] true") {
		t.Errorf("resync: calls %v", e.fake.calls)
	}
	// Rotation: validated like the CLI, then handed to the service.
	r = e.post(base+"/rotate", url.Values{"secret": {testClient}, "endDate": {"2027-01-01"}})
	want(t, r, 422, "client secret:")
	if e.fake.called("RotateSecret") {
		t.Error("an invalid secret reached RotateSecret")
	}
	r = e.post(base+"/rotate", url.Values{"secret": {"rejected-by-entra-secret-value~abc"}, "endDate": {"2027-01-01"}})
	want(t, r, 422, "old one stays in use")
	r = e.post(base+"/rotate", url.Values{"secret": {"NewSecret8Q~abcdefghijklmnopqrstuvwxyz0123"}, "endDate": {"2027-01-01"}})
	want(t, r, 303)
	want(t, e.get(r.Header.Get("Location")), 200, "New secret verified")
	// Doctor re-run, live.
	r = e.do("POST", base+"/doctor", url.Values{}, true)
	want(t, r, 200, `id="progress"`)
	for range 200 {
		r = e.do("GET", base+"/doctor", nil, true)
		if !strings.Contains(r.Body, "every 500ms") {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	want(t, r, 200, "Your setup is right")
	want(t, e.get(base+"/permission-set.al"), 200, "permissionset")
}

func TestDataBrowser(t *testing.T) {
	e := setup(t)
	id := created(t, e)
	r := e.get("/connections/" + id + "/data/customers")
	want(t, r, 200, `<th>id</th><th class="sorted" aria-sort="ascending">number ▲</th><th>displayName</th><th>balance</th>`, "r000",
		"&lt;b&gt;Adatum &amp; Co&lt;/b&gt;", "Next page", "50 rows on this page", "In the order of number, then id.", "Columns: 4 of 4 shown",
		`<script src="/static/data.js" defer></script>`)
	// Two columns picked: the table, the pager and the filter form keep them.
	r = e.get("/connections/" + id + "/data/customers?col=displayName&col=number&col=nosuch&filter=balance+gt+1")
	want(t, r, 200, `<th class="sorted" aria-sort="ascending">number ▲</th><th>displayName</th></tr>`, "<td>10000</td><td>&lt;b&gt;Adatum",
		"Columns: 2 of 4 shown", `<input type="checkbox" name="col" value="balance">`, `<input type="checkbox" name="col" value="number" checked>`,
		`<input type="hidden" name="col" value="number">`, `href="?col=%2A&amp;filter=balance&#43;gt&#43;1"`)
	if !strings.Contains(r.Body, `id="nextpage" href="?col=number&amp;col=displayName&amp;cursor=50&amp;filter=balance&#43;gt&#43;1"`) {
		t.Errorf("the next page forgets the columns or the filter:\n%s", r.Body)
	}
	if strings.Contains(r.Body, "<th>id</th>") || strings.Contains(r.Body, "<td>r000</td>") {
		t.Error("a column not picked is shown")
	}
	// col=* shows them all again.
	want(t, e.get("/connections/"+id+"/data/customers?col=*"), 200, "Columns: 4 of 4 shown", "<th>id</th>")
	r = e.get("/connections/" + id + "/data/customers?cursor=100")
	want(t, r, 200, "r119", "First page", "20 rows")
	if strings.Contains(r.Body, "Next page") {
		t.Error("a next page after the last")
	}
	r = e.get("/connections/" + id + "/data/customers?filter=bad")
	want(t, r, 400, "field op value")
}

func TestChangeTail(t *testing.T) {
	f := newFake()
	for i := range 1000 {
		f.changes = append(f.changes, storeChange(int64(i*3+1), "a"))
	}
	var tail changeTail
	got := tail.recent(context.Background(), f, 5, "")
	if len(got) != 5 || got[0].Seq != 2998 || got[4].Seq != 2986 {
		t.Fatalf("recent: %+v", got)
	}
	f.changes = append(f.changes, storeChange(5000, "b"))
	got = tail.recent(context.Background(), f, 5, "b")
	if len(got) != 1 || got[0].Seq != 5000 {
		t.Fatalf("recent for b: %+v", got)
	}
}

func TestChart(t *testing.T) {
	if c := renderChart(nil); c.SVG != "" || c.Empty {
		t.Error("a chart from no samples")
	}
	t0 := time.Date(2026, 9, 1, 12, 0, 0, 0, time.UTC)
	c := renderChart([]sample{{At: t0}, {At: t0.Add(5 * time.Second), Rows: 100, Requests: 10, Throttled: 2}, {At: t0.Add(10 * time.Second), Rows: 250, Requests: 25, Throttled: 2}})
	for _, s := range []string{"<svg", "polyline", `class="thr"`, "250 rows", "15 requests / interval"} {
		if !strings.Contains(string(c.SVG), s) {
			t.Errorf("chart lacks %q", s)
		}
	}
	if !strings.Contains(c.Summary, "250 rows now; 25 requests and 2 × 429") {
		t.Errorf("summary %q", c.Summary)
	}
	// Every bar, the last one too, lies within the plot (x from 28 to 612 of 640).
	bars := regexp.MustCompile(`<rect class="\w+" x="([0-9.]+)" y="[0-9.]+" width="([0-9.]+)"`).FindAllStringSubmatch(string(c.SVG), -1)
	if len(bars) != 3 {
		t.Fatalf("%d bars, want 3 (two request bars, one 429 bar): %s", len(bars), c.SVG)
	}
	for _, m := range bars {
		x, _ := strconv.ParseFloat(m[1], 64)
		w, _ := strconv.ParseFloat(m[2], 64)
		if x < 28 || x+w > 612 {
			t.Errorf("bar from %.1f to %.1f leaves the plot (28 to 612)", x, x+w)
		}
	}

	// Nothing happened: an empty state, not a chart labelled "1 rows".
	c = renderChart([]sample{{At: t0}, {At: t0.Add(4 * time.Second)}})
	if !c.Empty || c.SVG != "" || !strings.Contains(c.Summary, "no rows replicated and no requests") || !strings.Contains(c.Summary, "4s") {
		t.Errorf("empty window: %+v", c)
	}
	// One row, one request: singular nouns.
	c = renderChart([]sample{{At: t0}, {At: t0.Add(2 * time.Second), Rows: 1, Requests: 1}})
	if c.Empty || !strings.Contains(string(c.SVG), ">1 row<") || !strings.Contains(string(c.SVG), ">1 request / interval<") ||
		!strings.HasPrefix(c.Summary, "1 row now; 1 request and 0 × 429") {
		t.Errorf("one row and one request: %s / %s", c.SVG, c.Summary)
	}
	// Requests but no rows yet (a first full sync of an empty set): a chart, at 0 rows.
	c = renderChart([]sample{{At: t0}, {At: t0.Add(2 * time.Second), Requests: 3}})
	if c.Empty || !strings.Contains(string(c.SVG), ">0 rows<") || strings.Contains(string(c.SVG), "1 rows") {
		t.Errorf("requests without rows: %s", c.SVG)
	}
}

// TestVerdictMatchesFailure: the check's closing line asks for the value to enter again
// when the failure needs one (a wrong secret), and says nothing needs retyping only when
// the fix is in the portal (consent).
func TestVerdictMatchesFailure(t *testing.T) {
	e := setup(t)
	step3, step5 := guide.Step3Secret, guide.Step5Consent
	for _, tc := range []struct {
		rep       *doctor.Report
		want, not string
	}{
		{&doctor.Report{FailedStep: &step3, Checks: []doctor.Check{{ID: doctor.CheckToken, Step: step3, Status: doctor.Failed, Retype: []string{"client secret"}}}},
			"Enter the client secret again on that step", "nothing needs to be retyped"},
		{&doctor.Report{FailedStep: &step5, Checks: []doctor.Check{{ID: doctor.CheckRoles, Step: step5, Status: doctor.Failed}}},
			"Fix it in the portal, then check again: nothing needs to be retyped", "again on that step"},
	} {
		run := &doctorRun{cancel: func() {}}
		run.finish(tc.rep, nil)
		rec := httptest.NewRecorder()
		e.e().fragment(rec, http.StatusOK, "progress", progress(run, "/poll", "", func(guide.Step) string { return "" }))
		if body := rec.Body.String(); !strings.Contains(body, tc.want) || strings.Contains(body, tc.not) {
			t.Errorf("verdict for %v: want %q, not %q:\n%s", tc.rep.Retype(), tc.want, tc.not, body)
		}
	}
}

// TestWizardSandboxPrefilled: with serve --sandbox the wizard starts with the sandbox's
// values, so each step can be walked with Next; the secret is held, never rendered.
func TestWizardSandboxPrefilled(t *testing.T) {
	e := setup(t)
	h := e.e()
	h.sandboxInput = &service.ConnectionInput{TenantID: testTenant, ClientID: testClient, Secret: testSecret,
		SecretEndDate: testEndDate, Environment: "Sandbox", Company: "CRONUS USA, Inc."}
	r := e.get("/wizard")
	want(t, r, 200, `value="Sandbox"`, `value="CRONUS USA, Inc."`)
	m := draftRE.FindStringSubmatch(r.Body)
	if m == nil {
		t.Fatal("no draft ID in the start page")
	}
	want(t, e.get("/wizard/step/2?d="+m[1]), 200, `value="`+testTenant+`"`, `value="`+testClient+`"`)
	d := h.drafts.get(m[1])
	if d == nil || d.snapshot().Secret != testSecret || d.snapshot().SecretEndDate != testEndDate {
		t.Errorf("the draft does not hold the sandbox's secret and end date")
	}
}

// TestRemoveConnection: the connection page links to a confirmation that says what goes
// (the sealed secret, the replica's rows) and what stays; only the typed name removes it.
func TestRemoveConnection(t *testing.T) {
	e := setup(t)
	id := created(t, e) // synced: 3 rows in each of 2 sets
	want(t, e.get("/connections/"+id), 200, `href="/connections/`+id+`/remove"`)
	r := e.get("/connections/" + id + "/remove")
	want(t, r, 200, "Remove Conn A?", "the client secret in use, which is stored sealed", "6 rows in 2 entity sets",
		"webhook subscriptions in Business Central", "change feed", "Not touched: the app registration in Entra", `name="confirm"`)
	for _, typed := range []string{"", "Conn", "Conn B", "ConnA"} {
		r = e.post("/connections/"+id+"/remove", url.Values{"confirm": {typed}})
		want(t, r, http.StatusUnprocessableEntity, "Type the connection&#39;s name as shown to confirm", "nothing was removed")
		if e.fake.called("DeleteConnection") {
			t.Fatalf("removed after typing %q", typed)
		}
	}
	r = e.post("/connections/"+id+"/remove", url.Values{"confirm": {" conn  A "}})
	want(t, r, http.StatusSeeOther)
	if loc := r.Header.Get("Location"); loc != "/?done=removed" {
		t.Errorf("after removal: Location %q", loc)
	}
	if !e.fake.called("DeleteConnection " + id) {
		t.Fatal("DeleteConnection not called")
	}
	want(t, e.get("/?done=removed"), 200, "Connection removed, with its sealed credentials, its replica and its sync state.", "No connections yet")
	want(t, e.get("/connections/"+id+"/remove"), http.StatusNotFound, "No such connection")
	want(t, e.post("/connections/"+id+"/remove", url.Values{"confirm": {"Conn A"}}), http.StatusNotFound)
}

// TestRemoveConnectionLeavesWebhooks: a removal that could not delete the connection's
// webhook subscriptions at BC says so, naming them and when they expire, instead of the
// plain confirmation.
func TestRemoveConnectionLeavesWebhooks(t *testing.T) {
	e := setup(t)
	id := created(t, e)
	e.fake.leftBehind = []service.LeftSubscription{{ID: "sub-1", CompanyID: "11111111-2222-3333-4444-555555555555", EntitySet: "customers",
		ExpiresAt: time.Date(2026, 9, 4, 12, 0, 0, 0, time.UTC)}}
	r := e.post("/connections/"+id+"/remove", url.Values{"confirm": {"Conn A"}})
	want(t, r, http.StatusOK, "Conn A removed", "Business Central still has 1 webhook subscription", "BC did not answer within 30s",
		"customers (company 11111111-2222-3333-4444-555555555555), expires 2026-09-04 12:00 UTC", "until they expire")
	if !e.fake.called("DeleteConnection " + id) {
		t.Fatal("DeleteConnection not called")
	}
}

// TestExpressConsentRevokedShown: an express connection whose consent was seen revoked
// says so, with when and what showed it, on the dashboard and its express page.
func TestExpressConsentRevokedShown(t *testing.T) {
	e := setup(t)
	id := created(t, e)
	e.fake.mu.Lock()
	e.fake.conns[id].Kind = store.KindExpress
	e.fake.conns[id].Express = &service.ExpressView{Consent: "revoked", ConsentAt: time.Date(2026, 9, 1, 11, 30, 0, 0, time.UTC),
		ConsentError: "a token request: AADSTS7000229: The client application is missing service principal in the tenant."}
	e.fake.mu.Unlock()
	want(t, e.get("/"), 200, "consent revoked 2026-09-01 11:30 UTC")
	want(t, e.get("/wizard/express/"+id), 200, `data-consent="revoked"`, "Consent was revoked", "a token request: AADSTS7000229", "a new consent restores it")
}

func TestSameName(t *testing.T) {
	for _, c := range []struct {
		typed, name string
		want        bool
	}{
		{"Sandbox - Company X", "Sandbox – Company X", true},
		{"sandbox  –  company x", "Sandbox – Company X", true},
		{"Sandbox – Company Y", "Sandbox – Company X", false},
		{"Sandbox", "Sandbox – Company X", false},
		{"", "", false},
		{"Contoso & Co", "Contoso & Co", true},
	} {
		if got := sameName(c.typed, c.name); got != c.want {
			t.Errorf("sameName(%q, %q) = %v", c.typed, c.name, got)
		}
	}
}

// TestWizardWarnsBeforeDuplicate: a company already connected with the same tenant, app
// and environment is marked on the company page, with a warning when it is the one
// selected; finishing with it needs the box ticked, another company does not.
func TestWizardWarnsBeforeDuplicate(t *testing.T) {
	e := setup(t)
	first := created(t, e) // Conn A: testTenant, testClient, Production, Company X
	d := e.startDraft()
	x, y := e.fake.companies[0][0], e.fake.companies[1][0]
	r := e.get("/wizard/company?d=" + d)
	want(t, r, 200, `id="duplicate-warning"`, `href="/connections/`+first+`">Conn A</a>`, "already connected: Conn A", `name="duplicate" value="ok"`)
	if n := strings.Count(r.Body, "already connected:"); n != 1 {
		t.Errorf("%d companies marked as connected, want 1 (Company X)", n)
	}
	creates := func() int {
		e.fake.mu.Lock()
		defer e.fake.mu.Unlock()
		n := 0
		for _, c := range e.fake.calls {
			if c == "CreateConnection" {
				n++
			}
		}
		return n
	}
	before := creates()
	r = e.post("/wizard/finish", url.Values{"d": {d}, "company": {x}, "entity": {"customers"}, "name": {"Conn B"}})
	want(t, r, http.StatusConflict, "A company you picked is already connected with the same app and environment: Conn A", `id="duplicate-warning"`,
		`value="`+x+`" checked`)
	if creates() != before {
		t.Fatal("a duplicate was created without the box ticked")
	}
	// Another company of the same app and environment is no duplicate.
	d2 := e.startDraft()
	r = e.post("/wizard/finish", url.Values{"d": {d2}, "company": {y}, "entity": {"customers"}, "name": {"Conn Y"}})
	want(t, r, http.StatusSeeOther)
	// Ticked: created.
	r = e.post("/wizard/finish", url.Values{"d": {d}, "company": {x}, "entity": {"customers"}, "name": {"Conn B"}, "duplicate": {"ok"}})
	want(t, r, http.StatusSeeOther)
	if creates() != before+2 {
		t.Errorf("%d connections created, want 2", creates()-before)
	}
	// All companies overlaps Company X.
	d4 := e.startDraft()
	r = e.post("/wizard/finish", url.Values{"d": {d4}, "allCompanies": {"on"}, "entity": {"customers"}, "name": {"Conn All"}})
	want(t, r, http.StatusConflict, "already connected with the same app and environment")
	// Another environment: no warning.
	d3 := e.startDraft()
	want(t, e.post("/wizard", url.Values{"d": {d3}, "environment": {"Sandbox"}, "company": {"Company X"}}), http.StatusSeeOther)
	if r = e.get("/wizard/company?d=" + d3); strings.Contains(r.Body, "already connected") {
		t.Error("a connection to another environment is taken for a duplicate")
	}
}

// TestPermissionSetCustomTables: a connection of custom API sets gets a form on its page,
// one "set=" line per custom set; the download grants the tables named, leaves a line without a table not covered, and a malformed line answers 400
// naming the field and the expected form.
func TestPermissionSetCustomTables(t *testing.T) {
	e := setup(t)
	v, _, err := e.fake.CreateConnection(context.Background(), service.ConnectionInput{Name: "Custom", TenantID: testTenant, ClientID: testClient,
		Secret: testSecret, SecretEndDate: "2026-09-20", Environment: "Production", Company: e.fake.companies[0][0],
		Entities: []string{"customers", "contoso/warehouse/v1.0/binContents", "fabrikam/pricing/v2.0/priceListLines"}})
	if err != nil {
		t.Fatal(err)
	}
	base := "/connections/" + v.ID
	want(t, e.get(base), 200, `id="custom-tables"`, "contoso/warehouse/v1.0/binContents=\nfabrikam/pricing/v2.0/priceListLines=</textarea>")
	q := url.Values{"customTables": {"contoso/warehouse/v1.0/binContents=Bin Content\r\nfabrikam/pricing/v2.0/priceListLines=\r\n"}}
	r := e.get(base + "/permission-set.al?" + q.Encode())
	want(t, r, 200, `tabledata "Bin Content" = R,`, "tabledata Customer = R", "Not covered", "fabrikam/pricing/v2.0/priceListLines")
	q = url.Values{"customTables": {"binContents=Bin Content"}}
	want(t, e.get(base+"/permission-set.al?"+q.Encode()), 400, "Tables behind custom API pages", "publisher/group/version/entitySet=Table Name")
	// Without custom sets there is no form.
	id := created(t, e)
	if r := e.get("/connections/" + id); strings.Contains(r.Body, `id="custom-tables"`) {
		t.Error("a connection without custom sets shows the custom tables form")
	}
	q = url.Values{"customTable": {`a/b/v1.0/c="Sales Header"`}}
	want(t, e.get("/wizard/permission-set.al?entity=customers&"+q.Encode()), 200, `tabledata "Sales Header" = R`)
}
