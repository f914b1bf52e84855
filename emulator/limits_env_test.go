package emulator_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/emulator/emulatortest"
	"github.com/bizzjoiner/bcconnector/emulator/throttle"
)

// TestLimitsPerEnvironment: BC counts its limits per app and environment (bc-entra-facts
// §5: per user, "per environment, not per company"), so an app that spent its window in
// one environment is still served in another; the app's stats add both up.
func TestLimitsPerEnvironment(t *testing.T) {
	t.Parallel()
	srv := emulatortest.Start(t, emulator.Config{Limits: throttle.Config{WindowRequests: 3}})
	cr := srv.Creds
	srv.RegisterInBC(cr.TenantID, emulator.DemoSandbox, cr.ClientID) // Step 6 in the second environment too
	tok := &emulatortest.Tokens{URL: srv.TokenURL(), ClientID: cr.ClientID, Secret: cr.ClientSecret, HTTP: srv.Client()}
	token, err := tok.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	get := func(env string) int {
		req, _ := http.NewRequest("GET", srv.BCBaseURL()+"/"+cr.TenantID+"/"+env+"/api/v2.0/companies", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for i := range 3 {
		if s := get(emulator.DemoEnvironment); s != 200 {
			t.Fatalf("request %d in %s: %d", i+1, emulator.DemoEnvironment, s)
		}
	}
	if s := get(emulator.DemoEnvironment); s != http.StatusTooManyRequests {
		t.Fatalf("4th request in %s: %d, want 429 (window of 3)", emulator.DemoEnvironment, s)
	}
	if s := get(emulator.DemoSandbox); s != 200 {
		t.Errorf("first request in %s after %s's window is spent: %d, want 200", emulator.DemoSandbox, emulator.DemoEnvironment, s)
	}
	if st := srv.Emulator.AppLimitStats(cr.ClientID); st.Admitted != 4 || st.Rejected429 != 1 {
		t.Errorf("app stats %+v, want 4 admitted and one 429 over both environments", st)
	}
}
