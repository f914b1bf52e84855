package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/bc"
	"github.com/bizzjoiner/bcconnector/conn"
	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/store/sqlite"
	"github.com/bizzjoiner/bcconnector/webhook"
)

// removeEnv is a CLI environment whose connection "contoso" has BC webhook subscriptions,
// made as serve with --public-url makes them (the emulator's handshakes reach a TLS
// receiver of the test's).
type removeEnv struct {
	*cliEnv
	bc *bc.Client
}

func newRemoveEnv(t *testing.T, sets ...string) *removeEnv {
	recv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(r.URL.Query().Get("validationToken")))
	}))
	recv.StartTLS()
	t.Cleanup(recv.Close)
	e := newCLIEnvConfig(t, emulator.Config{WebhookClient: recv.Client(), WebhookDelay: -1})
	if code, out, errOut := e.add("contoso"); code != 0 {
		t.Fatalf("connection add: %d\n%s\n%s", code, out, errOut)
	}
	ctx := t.Context()
	db := e.openDB(t)
	defer db.Close()
	c, err := db.GetConnection(ctx, "contoso")
	if err != nil {
		t.Fatal(err)
	}
	cr := e.srv.Creds
	cn, err := conn.Open(store.Connection{TenantID: cr.TenantID, ClientID: cr.ClientID, Environment: cr.Environment,
		AuthorityHost: e.srv.AuthorityHost(), BCBaseURL: e.srv.BCBaseURL()}, secret.Credential{Secret: secret.Secret(cr.ClientSecret)},
		conn.Options{HTTPClient: e.srv.Client(), Retry: bc.RetryOptions{MaxAttempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := webhook.NewManager(webhook.Options{PublicURL: recv.URL + "/webhooks/bc", Store: db, Hint: func(context.Context, webhook.Hint) {}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := m.Ensure(ctx, cn.BC, c.ID, c.CompanyID, sets); err != nil {
		t.Fatal(err)
	}
	re := &removeEnv{cliEnv: e, bc: cn.BC}
	if n := re.remote(t); n != len(sets) {
		t.Fatalf("BC holds %d subscriptions, want %d", n, len(sets))
	}
	return re
}

// openDB opens the CLI's database (closed again before the next command).
func (e *cliEnv) openDB(t *testing.T) *sqlite.DB {
	t.Helper()
	kr, err := secret.LoadKeyring(secret.Options{KeyFile: e.key, NoCreate: true})
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(t.Context(), e.db, kr, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// remote counts the subscriptions BC holds.
func (e *removeEnv) remote(t *testing.T) int {
	t.Helper()
	n := 0
	for rec, err := range e.bc.List(t.Context(), bc.Ref{Path: "subscriptions"}, &bc.Query{Primary: true}) {
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if json.Unmarshal(rec.Raw, &m) != nil {
			t.Fatalf("subscription %s", rec.Raw)
		}
		n++
	}
	return n
}

// TestCLIRemoveDeletesWebhooks: `connection remove` goes through the service, so the
// webhook subscriptions serve created are deleted at BC (no public URL needed) and BC stops
// calling the server for a connection that is gone.
func TestCLIRemoveDeletesWebhooks(t *testing.T) {
	e := newRemoveEnv(t, "customers", "vendors")
	code, out, errOut := e.run("", "connection", "remove", "contoso")
	if code != 0 || !strings.Contains(out, `Removed connection "contoso"`) || !strings.Contains(out, "Deleted its 2 webhook subscriptions in Business Central") ||
		strings.Contains(out, "warning") {
		t.Fatalf("connection remove: %d\n%s\n%s", code, out, errOut)
	}
	if n := e.remote(t); n != 0 {
		t.Errorf("after remove BC holds %d subscriptions", n)
	}
	db := e.openDB(t)
	defer db.Close()
	if subs, _ := db.Subscriptions(t.Context(), ""); len(subs) != 0 {
		t.Errorf("the store still holds %d subscriptions", len(subs))
	}
}

// TestCLIRemoveWithBCDown: a BC that cannot be reached does not block the removal past
// --bc-timeout; the output and the audit log name what was left at BC.
func TestCLIRemoveWithBCDown(t *testing.T) {
	e := newRemoveEnv(t, "customers", "vendors")
	db := e.openDB(t)
	c, err := db.GetConnection(t.Context(), "contoso")
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	e.srv.Close() // Entra and BC are gone
	start := time.Now()
	code, out, errOut := e.run("", "connection", "remove", "contoso", "--bc-timeout", "2s")
	if code != 0 || !strings.Contains(out, `Removed connection "contoso"`) ||
		!strings.Contains(out, "warning: 2 BC webhook subscriptions left at BC (customers, vendors)") ||
		!strings.Contains(out, "until they expire by ") || strings.Count(out, "left at BC: ") != 2 {
		t.Fatalf("connection remove with BC down: %d\n%s\n%s", code, out, errOut)
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("removal took %s with --bc-timeout 2s", took)
	}
	db = e.openDB(t)
	defer db.Close()
	if _, err := db.GetConnection(t.Context(), c.ID); err == nil {
		t.Error("the connection is still stored")
	}
	if subs, _ := db.Subscriptions(t.Context(), ""); len(subs) != 0 {
		t.Errorf("the store still holds %d subscriptions of a removed connection", len(subs))
	}
	entries, err := db.Audit(t.Context(), store.AuditFilter{ConnectionID: c.ID, Action: store.AuditConnectionDeleted})
	if err != nil || len(entries) != 1 || !strings.Contains(entries[0].Detail, "2 BC webhook subscriptions left at BC (customers, vendors)") ||
		entries[0].Actor.Kind != store.ActorCLI {
		t.Errorf("audit entry of the removal: %+v, %v", entries, err)
	}
}
