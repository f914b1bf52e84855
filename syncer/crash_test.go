package syncer_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/conn"
	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/emulator/emulatortest"
	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/store/sqlite"
	"github.com/bizzjoiner/bcconnector/syncer"
)

// crashChild is the environment variable that makes the test binary act as the sync
// process of TestCrashResume.
const crashChild = "BCC_SYNCER_CRASH_CHILD"

// childConfig is what the parent hands the child process.
type childConfig struct {
	Connection               store.Connection // with the sandbox's endpoints and CA file
	DB, Key, Secret, Company string
}

func TestMain(m *testing.M) {
	if raw := os.Getenv(crashChild); raw != "" {
		os.Exit(runChild(raw))
	}
	os.Exit(m.Run())
}

// runChild syncs until done (or killed): full sync of G/L entries and customers, then
// incremental runs.
func runChild(raw string) int {
	var cfg childConfig
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx := context.Background()
	cn, err := conn.Open(cfg.Connection, secret.Credential{Secret: secret.Secret(cfg.Secret)}, conn.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	client := cn.BC
	key, _ := base64.StdEncoding.DecodeString(cfg.Key)
	kr, err := secret.NewKeyring(key)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	db, err := sqlite.Open(ctx, cfg.DB, kr, sqlite.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer db.Close()
	s, _ := syncer.New(syncer.Options{Store: db, PageSize: 250})
	for _, set := range []string{"generalLedgerEntries", "customers"} {
		t := syncer.Target{ConnectionID: "conn1", CompanyID: cfg.Company, EntitySet: set}
		if _, err := s.Sync(ctx, client, t); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if _, err := s.Sync(ctx, client, t); err != nil { // an incremental run after the full one
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if _, err := s.Reconcile(ctx, client, t); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return 0
}

// TestCrashResume kills the sync process with SIGKILL at 20 random moments during a full
// and an incremental sync, while BC keeps changing; after each restart the sync resumes,
// and at the end the replica equals BC exactly and the change log has no gap and no
// duplicate.
func TestCrashResume(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts 20 processes")
	}
	dir := t.TempDir()
	srv := emulatortest.Start(t, emulator.Config{}, emulatortest.Sizes("small,generalLedgerEntries=20000,customers=2000"))
	cr := srv.Creds
	key := secret.GenerateKey()
	cfg := childConfig{DB: filepath.Join(dir, "replica.db"), Key: base64.StdEncoding.EncodeToString(key), Secret: cr.ClientSecret, Company: cr.CompanyID,
		Connection: store.Connection{TenantID: cr.TenantID, ClientID: cr.ClientID, Environment: cr.Environment,
			AuthorityHost: srv.AuthorityHost(), BCBaseURL: srv.BCBaseURL(), CAFile: srv.CAFile}}
	raw, _ := json.Marshal(cfg)
	rng := rand.New(rand.NewPCG(7, 11))
	kills := 0
	for round := 0; round < 100 && kills < 20; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashChild+"="+string(raw))
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		// BC keeps changing while the sync runs.
		_ = srv.Mutate(30, emulator.MutatorConfig{EntitySets: []string{"customers", "generalLedgerEntries"}})
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("sync process failed: %v", err)
			}
		case <-time.After(time.Duration(10+rng.IntN(120)) * time.Millisecond):
			_ = cmd.Process.Signal(syscall.SIGKILL)
			<-done
			kills++
		}
	}
	if kills < 20 {
		t.Logf("only %d kills: the sync finished faster than the kill schedule", kills)
	}
	// A last, uninterrupted run, then compare.
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChild+"="+string(raw))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("final sync: %v\n%s", err, out)
	}
	db, err := sqlite.Open(context.Background(), cfg.DB, mustKeyring(t, key), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	w := &world{t: t, emu: srv.Emulator, ref: srv.DemoCompanyRef(), db: db, rs: db, connID: "conn1"}
	w.assertEqual("generalLedgerEntries", "customers")
	w.assertChangeLog()
	t.Logf("%d kills", kills)
}

func mustKeyring(t *testing.T, key []byte) *secret.Keyring {
	kr, err := secret.NewKeyring(key)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}
