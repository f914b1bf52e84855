package ui

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
)

// watchConsole records, for the rest of the test, what the page reports on the console
// about the Content-Security-Policy (a refused inline script or style, a refused eval)
// and uncaught exceptions, and fails the test at its end if there was any: the UI must
// work under ContentSecurityPolicy.
func watchConsole(t *testing.T, ctx context.Context) {
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
