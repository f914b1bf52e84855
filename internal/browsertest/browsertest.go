// Package browsertest runs the UI's browser tests in a real headless Chromium (Debian's
// chromium package) through chromedp: it starts the browser for one test, saves
// screenshots under $BCC_ARTIFACTS, fails a test whose page broke the
// Content-Security-Policy or threw, and measures a page's layout (horizontal overflow).
// Tests only; web/ui and cmd/bcconnector share it.
package browsertest

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
)

// Chromium finds Debian's Chromium. Without it the test is skipped, except under CI=true,
// where a missing browser is a failure.
func Chromium(t testing.TB) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	msg := "browser tests need Chromium at /usr/bin/chromium (apt-get install -y chromium)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + "; CI=true, so this is a failure, not a skip")
	}
	t.Skip(msg + "; skipping")
	return ""
}

// Artifacts is where screenshots go: $BCC_ARTIFACTS/sub, or a temporary directory of the
// test.
func Artifacts(t testing.TB, sub string) string {
	t.Helper()
	dir := os.Getenv("BCC_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	dir = filepath.Join(dir, sub)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Start starts a headless Chromium with a window of width × height CSS pixels for one
// test; it ends with the test.
func Start(t testing.TB, width, height int) context.Context {
	t.Helper()
	return start(t, width, height)
}

// StartTrusting is Start with a browser that also trusts the CA certificates in caPEM
// (the emulator's: its consent page is on HTTPS), by their public keys
// (--ignore-certificate-errors-spki-list), and nothing else besides the system roots.
func StartTrusting(t testing.TB, width, height int, caPEM []byte) context.Context {
	t.Helper()
	var spkis []string
	for rest := caPEM; ; {
		var blk *pem.Block
		if blk, rest = pem.Decode(rest); blk == nil {
			break
		}
		cert, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			t.Fatalf("browsertest: CA certificate: %v", err)
		}
		sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
		spkis = append(spkis, base64.StdEncoding.EncodeToString(sum[:]))
	}
	if len(spkis) == 0 {
		t.Fatal("browsertest: no CA certificate in the PEM")
	}
	return start(t, width, height, chromedp.Flag("ignore-certificate-errors-spki-list", strings.Join(spkis, ",")))
}

func start(t testing.TB, width, height int, extra ...chromedp.ExecAllocatorOption) context.Context {
	path := Chromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
	)
	opts = append(opts, extra...)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// No timeout on the first run: it would end the browser with it.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// Shoot saves a full-page screenshot as dir/name.png.
func Shoot(t testing.TB, ctx context.Context, dir, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	p := filepath.Join(dir, name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Error(err)
	}
	t.Logf("screenshot: %s", p)
}

// WatchConsole records, for the rest of the test, what the page reports on the console
// about the Content-Security-Policy (a refused inline script or style, a refused eval)
// and uncaught exceptions, and fails the test at its end if there was any: the UI must
// work under its policy.
func WatchConsole(t testing.TB, ctx context.Context) {
	t.Helper()
	wctx, cancel := context.WithCancel(ctx)
	msgs := chromedp.Console(wctx)
	var mu sync.Mutex
	var bad []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.IsException() || strings.Contains(m.Text, "Content Security Policy") || strings.Contains(m.Text, "Content-Security-Policy") {
				mu.Lock()
				bad = append(bad, string(m.Type)+": "+m.Text)
				mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, b := range bad {
			t.Errorf("browser console: %.300s", b)
		}
	})
}

// Overflow is what sticks out of a page horizontally.
type Overflow struct {
	// Page is how far the document is wider than the viewport, in CSS pixels: above 0,
	// the page scrolls sideways.
	Page int `json:"page"`
	// Viewport is the viewport's width.
	Viewport int `json:"viewport"`
	// Culprits name the elements (tag#id.class) whose right edge is past the viewport
	// while no ancestor clips them (a box that scrolls on its own clips its content).
	Culprits []string `json:"culprits"`
}

// MeasureOverflow measures the current page's horizontal overflow.
func MeasureOverflow(ctx context.Context) (Overflow, error) {
	return chromedp.Run(ctx, chromedp.Evaluate[Overflow](overflowJS))
}

const overflowJS = `(() => {
	const vw = document.documentElement.clientWidth;
	const name = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.classList.length ? '.' + [...e.classList].join('.') : '');
	const clipped = e => {
		for (let p = e.parentElement; p && p !== document.body; p = p.parentElement) {
			const o = getComputedStyle(p).overflowX;
			if (o !== 'visible') return true;
		}
		return false;
	};
	const culprits = [];
	for (const e of document.body.querySelectorAll('*')) {
		const r = e.getBoundingClientRect();
		if (r.width > 0 && r.right > vw + 1 && !clipped(e)) culprits.push(name(e) + ' right=' + Math.round(r.right));
	}
	return {page: Math.max(0, document.documentElement.scrollWidth - vw), viewport: vw, culprits: culprits.slice(0, 10)};
})()`
