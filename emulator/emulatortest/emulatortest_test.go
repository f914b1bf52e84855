package emulatortest_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/emulator/emulatortest"
)

// TestSandbox: the client trusts the sandbox, the token source gets a token BC accepts, the
// wrapper sees the traffic, and Close is safe to call early.
func TestSandbox(t *testing.T) {
	t.Parallel()
	var seen atomic.Int64
	sb := emulatortest.Start(t, emulator.Config{}, emulatortest.Sizes("small,customers=3"),
		emulatortest.Wrap(func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen.Add(1); h.ServeHTTP(w, r) })
		}))
	if sb.Creds.TenantID == "" || sb.Creds.ClientSecret == "" || !strings.Contains(string(sb.CAPEM), "CERTIFICATE") {
		t.Fatalf("sandbox: %+v", sb.Creds)
	}
	if n := sb.Count(sb.Company(), "customers"); n != 3 {
		t.Errorf("customers: %d, want 3", n)
	}
	tokens := sb.Tokens()
	tok, err := tokens.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, sb.BCBaseURL()+"/"+sb.Creds.TenantID+"/"+sb.Creds.Environment+"/api/v2.0/companies", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := sb.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("companies: %s", resp.Status)
	}
	if f, _ := tokens.Counts(); f != 1 || seen.Load() != 2 {
		t.Errorf("fetches %d, requests seen %d", f, seen.Load())
	}
	sb.Close()
	sb.Close()
	if _, err := sb.Client().Get(sb.URL); err == nil {
		t.Error("the sandbox still answers after Close")
	}
}
