package conn_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/budget"
	"github.com/bizzjoiner/bcconnector/conn"
	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/emulator/emulatortest"
	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/store/sqlite"
	"github.com/bizzjoiner/bcconnector/store/storetest"
)

// TestOpenTrustsTheCAFile: a connection with the emulator's CA file reaches it over real
// TLS; without it the certificate is refused.
func TestOpenTrustsTheCAFile(t *testing.T) {
	srv := emulatortest.Start(t, emulator.Config{})
	cr := srv.Creds
	c := store.Connection{TenantID: cr.TenantID, ClientID: cr.ClientID, Environment: cr.Environment,
		AuthorityHost: srv.AuthorityHost(), BCBaseURL: srv.BCBaseURL(), CAFile: srv.CAFile}
	cn, err := conn.Open(c, secret.Credential{Secret: secret.Secret(cr.ClientSecret)}, conn.Options{})
	if err != nil {
		t.Fatal(err)
	}
	companies, err := cn.BC.Companies(context.Background())
	if err != nil || len(companies) == 0 {
		t.Fatalf("companies over TLS with the CA file: %v", err)
	}
	c.CAFile = ""
	cn, err = conn.Open(c, secret.Credential{Secret: secret.Secret(cr.ClientSecret)}, conn.Options{TokenRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cn.Tokens.Token(context.Background()); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("without the CA file: %v", err)
	}
}

// TestOpenTrustsTheStoredCA: a connection whose CA certificates are stored with it
// (CAPEM) reaches the emulator on a machine without the CA file, and CAPEM wins over a
// CA file path left from before.
func TestOpenTrustsTheStoredCA(t *testing.T) {
	srv := emulatortest.Start(t, emulator.Config{})
	cr := srv.Creds
	c := store.Connection{TenantID: cr.TenantID, ClientID: cr.ClientID, Environment: cr.Environment,
		AuthorityHost: srv.AuthorityHost(), BCBaseURL: srv.BCBaseURL(), CAPEM: string(srv.CAPEM),
		CAFile: filepath.Join(t.TempDir(), "not-on-this-machine.pem")}
	cn, err := conn.Open(c, secret.Credential{Secret: secret.Secret(cr.ClientSecret)}, conn.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if companies, err := cn.BC.Companies(context.Background()); err != nil || len(companies) == 0 {
		t.Fatalf("companies over TLS with the stored CA: %v", err)
	}
}

func TestHTTPClientErrors(t *testing.T) {
	if _, err := conn.HTTPClient(store.Connection{CAFile: filepath.Join(t.TempDir(), "missing.pem")}); err == nil || !strings.Contains(err.Error(), "--ca-file") {
		t.Errorf("missing file: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.pem")
	_ = os.WriteFile(bad, []byte("not a certificate"), 0o600)
	if _, err := conn.HTTPClient(store.Connection{CAFile: bad}); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("bad file: %v", err)
	}
	if _, err := conn.HTTPClient(store.Connection{CAPEM: "not a certificate"}); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("bad PEM: %v", err)
	}
}

// TestOpenSharesTheBudget: Conns of one app and environment opened with the process's
// Limiters share one limiter, whose requests count in the budget on the database; another
// environment has its own.
func TestOpenSharesTheBudget(t *testing.T) {
	srv := emulatortest.Start(t, emulator.Config{})
	cr := srv.Creds
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "bcconnector.db"), secret.GenerateKeyring(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	limits := budget.NewLimiters(db, budget.Options{})
	defer limits.Close(context.Background())
	c := store.Connection{TenantID: cr.TenantID, ClientID: cr.ClientID, Environment: cr.Environment,
		AuthorityHost: srv.AuthorityHost(), BCBaseURL: srv.BCBaseURL(), CAFile: srv.CAFile}
	cred := secret.Credential{Secret: secret.Secret(cr.ClientSecret)}
	a, err := conn.Open(c, cred, conn.Options{Limiters: limits})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := conn.Open(c, cred, conn.Options{Limiters: limits})
	if a.BC.Limiter() != b.BC.Limiter() {
		t.Error("two Conns of one app and environment have limiters of their own")
	}
	other := c
	other.Environment = "Sandbox"
	if o, _ := conn.Open(other, cred, conn.Options{Limiters: limits}); o.BC.Limiter() == a.BC.Limiter() {
		t.Error("another environment shares the limiter")
	}
	if _, err := a.BC.Companies(t.Context()); err != nil {
		t.Fatal(err)
	}
	// The request was counted in the budget on the database: the window has one request
	// less (a block is reserved at once).
	g, err := db.ReserveRequests(t.Context(), store.RequestReservation{
		Key:  store.BudgetKey{TenantID: cr.TenantID, ClientID: cr.ClientID, Environment: cr.Environment},
		Want: 1000, Limit: 1000, Span: time.Hour, Now: time.Now()})
	if err != nil || g.Granted != 1000-budget.DefaultBlock {
		t.Errorf("after one request the budget granted %+v, %v; want %d (a block reserved)", g, err, 1000-budget.DefaultBlock)
	}
}

// TestTransportsShared: connections that trust the same CA certificates share one
// transport (so a thousand connections keep a few idle TLS connections, not a thousand);
// another CA gets its own; both reach BC.
func TestTransportsShared(t *testing.T) {
	srv := emulatortest.Start(t, emulator.Config{})
	cr := srv.Creds
	var ts conn.Transports
	open := func(ca string) *conn.Conn {
		t.Helper()
		c := store.Connection{TenantID: cr.TenantID, ClientID: cr.ClientID, Environment: cr.Environment,
			AuthorityHost: srv.AuthorityHost(), BCBaseURL: srv.BCBaseURL(), CAPEM: ca}
		cn, err := conn.Open(c, secret.Credential{Secret: secret.Secret(cr.ClientSecret)}, conn.Options{Transports: &ts})
		if err != nil {
			t.Fatal(err)
		}
		return cn
	}
	a, b := open(string(srv.CAPEM)), open(string(srv.CAPEM))
	other := open(string(srv.CAPEM) + storetest.CAPEM(t, "Other CA"))
	if a.HTTP.Transport != b.HTTP.Transport {
		t.Error("two connections trusting the same CA have their own transports")
	}
	if a.HTTP.Transport == other.HTTP.Transport {
		t.Error("a connection trusting another CA shares the transport")
	}
	for _, cn := range []*conn.Conn{a, b, other} {
		if companies, err := cn.BC.Companies(context.Background()); err != nil || len(companies) == 0 {
			t.Fatalf("companies: %v", err)
		}
	}
}
