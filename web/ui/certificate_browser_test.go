package ui

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/emulator/idp"
	"github.com/bizzjoiner/bcconnector/secret"
)

// TestBrowserWizardCertificate walks the wizard with a certificate instead of a secret:
// Step 3 generates it and shows its thumbprint and a download link for the .cer; the check
// before the upload fails at Step 3 saying so; after the upload (the sandbox's stand-in for
// the portal) it passes and the connection is created with the certificate. On the
// connection's page the admin then rotates to a new certificate: it stays pending (the
// first keeps serving) until it is uploaded and activated.
func TestBrowserWizardCertificate(t *testing.T) {
	dir := artifacts(t)
	bctx := browser(t)
	watchConsole(t, bctx)
	svc, sb := sandboxServiceOf(t, emulator.ScenarioOK)
	cr := sb.Creds
	upload := func(der []byte) error {
		return sb.Directory().UpdateApp(cr.TenantID, cr.ClientID, func(a *idp.App) { a.Certificates = append(a.Certificates, idp.Certificate{DER: der}) })
	}
	h, err := New(Options{Service: svc, SandboxNote: "Sandbox", AuthorityHost: sb.AuthorityHost(), SandboxUpload: upload,
		Endpoints: Endpoints{AuthorityHost: sb.AuthorityHost(), BCBaseURL: sb.BCBaseURL(), CAFile: sb.CAFile}})
	if err != nil {
		t.Fatal(err)
	}
	ui := httptest.NewServer(h)
	t.Cleanup(ui.Close)
	ctx, cancel := context.WithTimeout(bctx, 150*time.Second)
	defer cancel()
	w := newWizardActs(t)
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			shoot(t, ctx, dir, "certificate-error")
			t.Fatalf("%s: %v", sel, err)
		}
		return strings.TrimSpace(v)
	}
	do := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		for i, a := range actions {
			actx, cancel := context.WithTimeout(ctx, 30*time.Second)
			start := time.Now()
			err := chromedp.Do(actx, a)
			cancel()
			loc, _ := chromedp.Run(ctx, chromedp.Location())
			t.Logf("%s, action %d: %v, at %s", what, i, time.Since(start).Round(time.Millisecond), loc)
			if err != nil {
				shoot(t, ctx, dir, "certificate-error")
				loc, _ := chromedp.Run(ctx, chromedp.Location())
				t.Fatalf("%s, action %d at %s: %v", what, i, loc, err)
			}
		}
	}
	// download fetches a link of the page (same origin; the test server has no sign-in)
	// and returns the certificate's thumbprint.
	download := func(sel string) string {
		t.Helper()
		href, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(sel), "href"))
		if err != nil {
			t.Fatalf("%s: %v", sel, err)
		}
		resp, err := http.Get(ui.URL + href.Value)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		der, _ := io.ReadAll(resp.Body)
		if _, err := x509.ParseCertificate(der); err != nil || resp.Header.Get("Content-Type") != "application/pkix-cert" {
			t.Fatalf("%s (%s) is not a .cer: %v", href.Value, resp.Header.Get("Content-Type"), err)
		}
		return secret.Thumbprint(der)
	}
	// landed waits until the page whose URL holds part has loaded (a flash of the page
	// before would match too early).
	landed := func(part string) chromedp.Action[chromedp.Void] {
		expr := fmt.Sprintf(`location.href.includes(%q) && document.readyState === "complete" && !!document.querySelector("#credential")`, part)
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			for {
				// An evaluation during the navigation fails ("Cannot find context"): try again.
				if ok, err := chromedp.Evaluate[bool](expr)(ctx, tg); err == nil && ok {
					return nil
				}
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(50 * time.Millisecond):
				}
			}
		})
	}
	toCheck := []chromedp.Action[chromedp.Void]{
		w.next, chromedp.WaitVisible(chromedp.CSS("#delegated-note")),
		w.next, chromedp.WaitVisible(chromedp.CSS("#consent")),
		w.next, chromedp.WaitVisible(chromedp.CSS("#permset")),
		w.next, chromedp.WaitVisible(chromedp.CSS("#check")),
		chromedp.Click(chromedp.CSS("#check")),
		chromedp.WaitVisible(chromedp.CSS(`#progress[data-running="false"] .check`)),
	}

	do("steps 0-2",
		chromedp.Navigate(ui.URL+"/wizard"),
		w.typeField("environment", cr.Environment), w.typeField("company", cr.Company), w.next,
		chromedp.WaitVisible(chromedp.CSS(".steps li.current a[href^='/wizard/step/1']")), w.next,
		w.typeField("tenant", cr.TenantID), w.typeField("client", cr.ClientID), w.next,
		chromedp.WaitVisible(chromedp.CSS("#tab-certificate")),
		chromedp.Click(chromedp.CSS("#tab-certificate")),
		chromedp.WaitVisible(chromedp.CSS("#cert-generate")),
		chromedp.Click(chromedp.CSS("#cert-generate")),
		chromedp.WaitVisible(chromedp.CSS("#cert-thumbprint")),
	)
	thumb := text("#cert-thumbprint")
	if len(thumb) != 40 || download("#cert-download") != thumb {
		t.Fatalf("Step 3 shows thumbprint %q; the download has %s", thumb, download("#cert-download"))
	}
	shoot(t, ctx, dir, "certificate-step3")

	// The check before the upload names Step 3 and the thumbprint.
	do("check before the upload", toCheck...)
	failed := text("li.check.failed")
	if !strings.Contains(failed, "Step 3") || !strings.Contains(failed, "has not been uploaded") || !strings.Contains(failed, thumb) {
		t.Fatalf("check before the upload:\n%s", failed)
	}
	shoot(t, ctx, dir, "certificate-not-uploaded")

	// Back to Step 3, upload to the sandbox, check again: it passes.
	do("upload and check",
		chromedp.Navigate(ui.URL+"/wizard/step/3?d="+draftOf(t, ctx)+"&kind=certificate"),
		chromedp.Click(chromedp.CSS("#sandbox-upload")),
		chromedp.WaitVisible(chromedp.CSS("#uploaded")),
	)
	do("check after the upload", toCheck...)
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("li.check.failed").length`)); n != 0 {
		t.Fatalf("the check failed after the upload:\n%s", text("#progress"))
	}
	do("finish",
		chromedp.Click(chromedp.CSS("#next")), chromedp.WaitVisible(chromedp.CSS("#finish")),
		chromedp.Click(chromedp.CSS("#finish")), chromedp.WaitVisible(chromedp.CSS("#credential")),
	)
	if c := text("#credential"); !strings.Contains(c, thumb) {
		t.Errorf("the connection page shows %q, not the certificate %s", c, thumb)
	}
	shoot(t, ctx, dir, "certificate-dashboard")

	// Rotation to a new certificate on the connection's page.
	do("new certificate", chromedp.Click(chromedp.CSS("#new-certificate")), landed("done=certificate"), chromedp.WaitVisible(chromedp.CSS("#pending-thumbprint")))
	next := text("#pending-thumbprint")
	if next == thumb || download("#pending-download") != next {
		t.Fatalf("pending certificate %q (first %s)", next, thumb)
	}
	do("activate before the upload", chromedp.Click(chromedp.CSS("#activate")), landed("/activate"), chromedp.WaitVisible(chromedp.CSS(".problem")))
	if c := text("#credential"); !strings.Contains(c, thumb) {
		t.Errorf("the first certificate stopped being used: %q", c)
	}
	do("upload and activate",
		chromedp.Click(chromedp.CSS("#pending-sandbox-upload")), landed("done=uploaded"),
		chromedp.Click(chromedp.CSS("#activate")), landed("done=activated"),
	)
	if c := text("#credential"); !strings.Contains(c, next) {
		t.Errorf("after activation the page shows %q, want the new certificate %s", c, next)
	}
	if html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html"))); strings.Contains(html, "PRIVATE KEY") || strings.Contains(html, "pending-thumbprint") {
		t.Error("the page shows a private key, or still a pending certificate")
	}
	shoot(t, ctx, dir, "certificate-rotated")
}

// draftOf reads the wizard draft's ID from the page.
func draftOf(t *testing.T, ctx context.Context) string {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector('input[name=d]') || {}).value || new URL(location).searchParams.get('d')`))
	if err != nil || v == "" {
		t.Fatalf("no draft on the page: %v", err)
	}
	return v
}
