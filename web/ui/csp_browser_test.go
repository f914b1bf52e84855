package ui

import (
	"context"
	"testing"

	"github.com/bizzjoiner/bcconnector/internal/browsertest"
)

// watchConsole fails the test at its end if the page reported a Content-Security-Policy
// violation or an uncaught exception (browsertest.WatchConsole): the UI must work under
// ContentSecurityPolicy.
func watchConsole(t *testing.T, ctx context.Context) {
	t.Helper()
	browsertest.WatchConsole(t, ctx)
}
