package ui

import (
	"context"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/bizzjoiner/bcconnector/doctor"
	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/emulator/emulatortest"
	"github.com/bizzjoiner/bcconnector/guide"
	"github.com/bizzjoiner/bcconnector/internal/browsertest"
	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/service"
	"github.com/bizzjoiner/bcconnector/store/sqlite"
	"github.com/bizzjoiner/bcconnector/syncer"
)

// artifacts is where screenshots go: $BCC_ARTIFACTS/ui, or a temporary directory.
func artifacts(t *testing.T) string { return browsertest.Artifacts(t, "ui") }

// browser starts a headless Chromium (1280 × 900) for one test.
func browser(t *testing.T) context.Context { return browsertest.Start(t, 1280, 900) }

// sandboxService is the real service (SQLite store, syncer, a job queue that runs each
// sync at once) against an emulator on a real TLS listener loaded with a scenario: the
// wizard sees the doctor's real checks and fixes, and the first sync really runs.
func sandboxService(t *testing.T, scenario string) (service.Service, emulator.Credentials, Endpoints) {
	t.Helper()
	svc, sb := sandboxServiceOf(t, scenario)
	return svc, sb.Creds, Endpoints{AuthorityHost: sb.AuthorityHost(), BCBaseURL: sb.BCBaseURL(), CAFile: sb.CAFile}
}

// sandboxServiceOf is sandboxService, with the sandbox.
func sandboxServiceOf(t *testing.T, scenario string) (service.Service, *emulatortest.Sandbox) {
	t.Helper()
	svc, sb, _ := sandboxServiceDB(t, scenario)
	return svc, sb
}

// sandboxServiceDB is sandboxServiceOf, with the store.
func sandboxServiceDB(t *testing.T, scenario string) (service.Service, *emulatortest.Sandbox, *sqlite.DB) {
	t.Helper()
	dir := t.TempDir()
	emu := emulatortest.Start(t, emulator.Config{Scenario: scenario})
	db, err := sqlite.Open(context.Background(), filepath.Join(dir, "bcc.db"), secret.GenerateKeyring(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	sy, err := syncer.New(syncer.Options{Store: db})
	if err != nil {
		t.Fatal(err)
	}
	jobs := &inlineJobs{sync: sy}
	// Registered after the store's cleanup, so it runs first: no sync outlives the test's
	// store and emulator.
	t.Cleanup(jobs.stop)
	svc, err := service.New(service.Options{Store: db, Syncer: sy, Jobs: jobs, AllowEndpointOverrides: true})
	if err != nil {
		t.Fatal(err)
	}
	jobs.clients = svc
	return svc, emu, db
}

// inlineJobs runs each sync job in its own goroutine at once (serve uses River); stop
// cancels the runs still going and waits for them.
type inlineJobs struct {
	sync    *syncer.Syncer
	clients syncer.Clients

	once    sync.Once
	ctx     context.Context
	cancel  context.CancelFunc
	running sync.WaitGroup
}

func (j *inlineJobs) init() {
	j.once.Do(func() { j.ctx, j.cancel = context.WithCancel(context.Background()) })
}

func (j *inlineJobs) Enqueue(_ context.Context, a syncer.SyncArgs, _ time.Time) (syncer.Enqueued, error) {
	j.init()
	j.running.Go(func() {
		c, err := j.clients.Client(j.ctx, a.ConnectionID)
		if err == nil {
			_, _ = j.sync.Sync(j.ctx, c, a.Target())
		}
	})
	return syncer.Enqueued{State: "running"}, nil
}

func (j *inlineJobs) stop() {
	j.init()
	j.cancel()
	j.running.Wait()
}

func shoot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	browsertest.Shoot(t, ctx, dir, name)
}

// wizardActs are the browser actions a wizard walk is made of.
type wizardActs struct {
	// typeInto clears the input sel and types v.
	typeInto func(sel, v string) chromedp.Action[chromedp.Void]
	// typeField types a value the validation accepts into a field and waits for its message.
	typeField func(name, v string) chromedp.Action[chromedp.Void]
	// next submits the step (button.primary) and waits for the next page.
	next chromedp.Action[chromedp.Void]
}

func newWizardActs(t *testing.T) wizardActs {
	t.Helper()
	typeInto := func(sel, v string) chromedp.Action[chromedp.Void] {
		clear := chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Evaluate[bool](fmt.Sprintf("(document.querySelector(%q).value = '', true)", sel))(ctx, tg)
			return err
		})
		return chromedp.Steps(chromedp.WaitVisible(chromedp.CSS(sel)), clear, chromedp.SendKeys(chromedp.CSS(sel), v))
	}
	// typeField types a value the validation accepts and waits for its message (looks
	// right, or a notice): the message appears below the field and moves the submit
	// button, so a click computed before it lands would miss the button.
	typeField := func(name, v string) chromedp.Action[chromedp.Void] {
		return chromedp.Steps(typeInto("#f-"+name, v),
			chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf("#m-%s .fieldok, #m-%s .notice", name, name))))
	}
	click := chromedp.Click(chromedp.CSS(`button[type=submit].primary`))
	// next submits the step; if the page has not changed after a while (a click that hit
	// the button while htmx was swapping a field message can be lost on a loaded machine),
	// it clicks again, but only while still on the same page. A click or a location read
	// that races with the navigation it caused fails with "Inspected target navigated or
	// closed" or "Not attached to an active page": such an error says nothing about the
	// outcome, so the loop keeps reading the location until it has changed.
	next := chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		before, err := chromedp.Location()(ctx, tg)
		if err != nil {
			return err
		}
		var lastErr error
		for try := 0; try < 3; try++ {
			if try > 0 {
				t.Logf("the page is still %s after clicking submit; clicking again (last error: %v)", before, lastErr)
			}
			if _, err := click(ctx, tg); err != nil {
				if ctx.Err() != nil {
					return err
				}
				lastErr = err
			}
			deadline := time.Now().Add(10 * time.Second)
			for time.Now().Before(deadline) {
				now, err := chromedp.Location()(ctx, tg)
				switch {
				case ctx.Err() != nil:
					return ctx.Err()
				case err != nil:
					lastErr = err
				case now != before:
					return nil
				}
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(100 * time.Millisecond):
				}
			}
		}
		return fmt.Errorf("the page did not change after 3 clicks on the submit button (last error: %v)", lastErr)
	})
	return wizardActs{typeInto: typeInto, typeField: typeField, next: next}
}

// completeWizard walks the wizard in the browser up to the check's result.
func completeWizard(t *testing.T, ctx context.Context, base string, cr emulator.Credentials, dir, scenario string) {
	t.Helper()
	w := newWizardActs(t)
	typeInto, typeField, next := w.typeInto, w.typeField, w.next
	steps := []chromedp.Action[chromedp.Void]{
		chromedp.Navigate(base + "/wizard"),
		chromedp.WaitVisible(chromedp.CSS("#f-environment")),
		typeField("environment", cr.Environment),
		typeField("company", cr.Company),
		next,
		chromedp.WaitVisible(chromedp.CSS(".steps li.current a[href^='/wizard/step/1']")),
		next,
		chromedp.WaitVisible(chromedp.CSS("#f-tenant")),
		// Validation as typed: the htmx fragment arrives without a submit.
		typeField("tenant", cr.TenantID),
		typeInto("#f-client", "not-a-guid"),
		chromedp.WaitVisible(chromedp.CSS("#m-client .fieldproblem")),
		typeField("client", cr.ClientID),
		next,
		chromedp.WaitVisible(chromedp.CSS("#f-secret")),
		typeField("secret", cr.ClientSecret),
		typeField("endDate", cr.SecretEndDate.Format("2006-01-02")),
		next,
		chromedp.WaitVisible(chromedp.CSS("#delegated-note")),
		next,
		chromedp.WaitVisible(chromedp.CSS("#consent")),
		next,
		chromedp.WaitVisible(chromedp.CSS("#permset")),
		next,
		chromedp.WaitVisible(chromedp.CSS("#check")),
		chromedp.Click(chromedp.CSS("#check")),
		chromedp.WaitVisible(chromedp.CSS(`#progress[data-running="false"] .check`)),
	}
	for i, s := range steps {
		start := time.Now()
		err := chromedp.Do(ctx, s)
		if d := time.Since(start); d > 2*time.Second {
			t.Logf("wizard step %d took %v", i, d)
		}
		if err != nil {
			shoot(t, ctx, dir, scenario+"-error")
			loc, _ := chromedp.Run(ctx, chromedp.Location())
			t.Fatalf("wizard step %d at %s: %v", i, loc, err)
		}
	}
	shoot(t, ctx, dir, scenario+"-check")
}

// customersSettled is a page expression that is null while the dashboard's customers row
// shows neither rows nor an error, else "rows N" or "error: ...".
const customersSettled = `(() => {
	const tr = document.querySelector('tr[data-set="customers"]');
	if (!tr) return null;
	const rows = tr.querySelector('td.rows').textContent.trim();
	const err = tr.querySelector('td.err').textContent.trim();
	if (err !== '') return 'error: ' + err;
	if (rows !== '' && rows !== '0') return 'rows ' + rows;
	return null;
})()`

func TestBrowserWizard(t *testing.T) {
	cases := []struct {
		scenario string
		failed   string // the failing check; "" when the setup is right
		step     string
	}{
		{emulator.ScenarioOK, "", ""},
		{emulator.ScenarioPermissionDelegatedOnly, doctor.CheckRoles, "Step 4"},
		{emulator.ScenarioBCAppMissing, doctor.CheckBCAccess, "Step 6"},
	}
	dir := artifacts(t)
	for _, c := range cases {
		t.Run(c.scenario, func(t *testing.T) {
			bctx := browser(t)
			watchConsole(t, bctx)
			svc, cr, endpoints := sandboxService(t, c.scenario)
			h, err := New(Options{Service: svc, SandboxNote: "Sandbox: the built-in Entra ID and Business Central (scenario " + c.scenario + ").",
				AuthorityHost: endpoints.AuthorityHost, Endpoints: endpoints})
			if err != nil {
				t.Fatal(err)
			}
			ui := httptest.NewServer(h)
			t.Cleanup(ui.Close)
			ctx, cancel := context.WithTimeout(bctx, 150*time.Second)
			defer cancel()

			completeWizard(t, ctx, ui.URL, cr, dir, c.scenario)
			// The progress fragment is replaced while polling: read it once the run has
			// ended (completeWizard waited for data-running="false"; polling stops there).
			html, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS(`#progress[data-running="false"]`)))
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(html, cr.ClientSecret) {
				t.Error("the page shows the secret")
			}
			if c.failed != "" {
				failed, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`li.check.failed`)))
				if err != nil {
					t.Fatalf("no failed check on the page: %v\n%s", err, html)
				}
				if !strings.Contains(html, `data-check="`+c.failed+`" data-status="failed"`) || !strings.Contains(failed, c.step) || !strings.Contains(failed, "Fix:") {
					t.Errorf("want %s failed at %s with a fix; got:\n%s", c.failed, c.step, failed)
				}
				if c.failed == doctor.CheckRoles && !strings.Contains(failed, guide.ApplicationPermission) {
					t.Errorf("the roles fix does not name %s:\n%s", guide.ApplicationPermission, failed)
				}
				return
			}
			err = chromedp.Do(ctx,
				chromedp.Click(chromedp.CSS("#next")),
				chromedp.WaitVisible(chromedp.CSS("#finish")),
			)
			if err != nil {
				t.Fatal(err)
			}
			// A second company of the environment, named with & ' and spaces: the
			// connection syncs both, and the dashboard names each row's company.
			tick := `(() => { const i = [...document.querySelectorAll('input[name="company"]')].find(i => i.parentElement.textContent.includes(` +
				strconv.Quote(emulator.DemoCompanyAmpersand) + `)); if (!i) return false; i.checked = true; return true; })()`
			if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](tick)); err != nil || !ok {
				t.Fatalf("the company step does not list %q: %v", emulator.DemoCompanyAmpersand, err)
			}
			shoot(t, ctx, dir, c.scenario+"-company")
			err = chromedp.Do(ctx,
				chromedp.Click(chromedp.CSS("#finish")),
				chromedp.WaitVisible(chromedp.CSS(`tr[data-set="customers"] td.rows`)),
				chromedp.WaitVisible(chromedp.CSS(`tr[data-set="customers"][data-company="`+emulator.DemoCompanyAmpersand+`"]`)),
				chromedp.WaitVisible(chromedp.CSS(`tr[data-set="customers"][data-company="`+cr.Company+`"]`)),
				chromedp.WaitVisible(chromedp.CSS(`table.changes td.company`)), // recent changes name their company
				chromedp.WaitVisible(chromedp.CSS(`#companies`)),
				// The live fragment polls every 2s: once it has, the chart has two points.
				chromedp.WaitVisible(chromedp.CSS(`#live svg.chart polyline.rows`)),
			)
			if err != nil {
				shoot(t, ctx, dir, c.scenario+"-error")
				t.Fatal(err)
			}
			// The first sync runs in the background and the dashboard may well show the
			// customers row at 0 before it has written anything (on a loaded machine it
			// did): wait until the polled fragment shows rows or an error for the set.
			settled, err := chromedp.Run(ctx, chromedp.Poll[string](customersSettled,
				chromedp.WithPollingMutation(), chromedp.WithPollingTimeout(0)))
			if err != nil {
				shoot(t, ctx, dir, c.scenario+"-error")
				t.Fatalf("customers never showed rows or an error: %v", err)
			}
			if rows, ok := strings.CutPrefix(settled, "rows "); !ok || rows == "" || rows == "0" {
				shoot(t, ctx, dir, c.scenario+"-error")
				t.Errorf("customers: %s", settled)
			}
			t.Logf("dashboard: customers %s", settled)
			flash, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".flash")))
			if !strings.Contains(flash, "Connection created") {
				t.Errorf("flash %q", flash)
			}
			shoot(t, ctx, dir, c.scenario+"-dashboard")
		})
	}
}
