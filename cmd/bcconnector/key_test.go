package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/secret"
)

// keyEnv is a CLI environment with one stored connection, so the database holds a
// secret sealed under the key file's master key.
func keyEnv(t *testing.T) (*cliEnv, string) {
	t.Helper()
	e := newCLIEnv(t, emulator.ScenarioOK)
	if code, out, errOut := e.add("contoso"); code != 0 {
		t.Fatalf("add: %s %s", out, errOut)
	}
	kr, err := secret.ReadKeyFile(e.key)
	if err != nil {
		t.Fatal(err)
	}
	return e, kr.PrimaryID()
}

// TestMissingKeyFileRefused (issue 9.3): with the key file gone, commands and serve refuse
// to start, naming the key ID and where the key was looked for, and no new key is made.
func TestMissingKeyFileRefused(t *testing.T) {
	e, id := keyEnv(t)
	if err := os.Remove(e.key); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := e.run("", "connection", "list")
	for _, want := range []string{id, e.key, secret.EnvMasterKey, e.db, "none was created"} {
		if code == 0 || !strings.Contains(errOut, want) {
			t.Errorf("connection list without the key file: exit %d, stderr lacks %q: %s", code, want, errOut)
		}
	}
	if _, err := os.Stat(e.key); err == nil {
		t.Error("a new key file was created next to a database with secrets")
	}
	s := NewServer(testServeCmd(), &Globals{DB: e.db, KeyFile: e.key, LogLevel: "error", Stdout: io.Discard, Stderr: io.Discard})
	err := s.Open(t.Context())
	if err == nil || !strings.Contains(err.Error(), id) {
		t.Errorf("serve without the key file: %v", err)
	}
	if _, err := os.Stat(e.key); err == nil {
		t.Error("serve created a new key file next to a database with secrets")
	}
}

// TestWrongKeyRefused (issue 9.3): another key in the key file or in BCC_MASTER_KEY is
// refused with the missing key ID and the source that lacks it.
func TestWrongKeyRefused(t *testing.T) {
	e, id := keyEnv(t)
	other := secret.GenerateKeyring()
	if err := other.Save(e.key); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := e.run("", "status", "contoso")
	for _, want := range []string{id, "key file " + e.key, other.PrimaryID()} {
		if code == 0 || !strings.Contains(errOut, want) {
			t.Errorf("status with another key file: exit %d, stderr lacks %q: %s", code, want, errOut)
		}
	}
	t.Setenv(secret.EnvMasterKey, other.EnvValue().Reveal())
	code, _, errOut = e.run("", "status", "contoso")
	if code == 0 || !strings.Contains(errOut, id) || !strings.Contains(errOut, "environment variable "+secret.EnvMasterKey) {
		t.Errorf("status with another key in %s: exit %d: %s", secret.EnvMasterKey, code, errOut)
	}
	if strings.Contains(errOut, other.EnvValue().Reveal()) {
		t.Error("the key was printed")
	}
}

// TestNewKeyOnlyForAnEmptyDatabase: the first run still creates the key file.
func TestNewKeyOnlyForAnEmptyDatabase(t *testing.T) {
	e := newCLIEnv(t, emulator.ScenarioOK)
	if code, _, errOut := e.run("", "connection", "list"); code != 0 {
		t.Fatalf("first run: %s", errOut)
	}
	if _, err := secret.ReadKeyFile(e.key); err != nil {
		t.Errorf("no key file after the first run: %v", err)
	}
}

// TestReadyzFailsWhenSecretsCannotBeOpened (issue 9.3): a running serve whose master key
// was rotated by another process (its keyring lacks the new key) is not ready.
func TestReadyzFailsWhenSecretsCannotBeOpened(t *testing.T) {
	e, _ := keyEnv(t)
	s := NewServer(testServeCmd(), &Globals{DB: e.db, KeyFile: e.key, LogLevel: "error", Stdout: io.Discard, Stderr: io.Discard})
	if err := s.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() {
		cancel()
		<-done
		s.Close()
	}()
	readyz := func() int {
		resp, err := http.Get(s.URL() + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := readyz(); st != http.StatusOK {
		t.Fatalf("readyz before the rotation: %d", st)
	}
	if code, out, errOut := e.run("", "key", "rotate"); code != 0 {
		t.Fatalf("key rotate: %s %s", out, errOut)
	}
	if st := readyz(); st != http.StatusServiceUnavailable {
		t.Errorf("readyz with secrets sealed under a key serve lacks: %d, want 503", st)
	}
}

// TestKeyRotateFromEnvironment: the master key of several instances comes from
// BCC_MASTER_KEY. With "NEW,OLD", `key rotate` re-seals every secret in the database with
// NEW; afterwards NEW alone opens them, OLD alone is refused with the key it lacks, and the
// connection still reaches BC.
func TestKeyRotateFromEnvironment(t *testing.T) {
	e, oldID := keyEnv(t)
	raw, err := os.ReadFile(e.key)
	if err != nil {
		t.Fatal(err)
	}
	var kf struct {
		Keys []struct{ Key string } `json:"keys"`
	}
	if err := json.Unmarshal(raw, &kf); err != nil || len(kf.Keys) != 1 {
		t.Fatalf("key file: %v", err)
	}
	oldKey := kf.Keys[0].Key
	b := make([]byte, secret.KeySize)
	_, _ = rand.Read(b)
	newKey := base64.StdEncoding.EncodeToString(b)

	t.Setenv(secret.EnvMasterKey, oldKey)
	code, _, errOut := e.run("", "key", "rotate")
	if code == 0 || !strings.Contains(errOut, "NEW,OLD") {
		t.Errorf("key rotate with one key in %s: exit %d, %s; want the procedure", secret.EnvMasterKey, code, errOut)
	}
	t.Setenv(secret.EnvMasterKey, newKey+","+oldKey)
	code, out, errOut := e.run("", "key", "rotate")
	if code != 0 || !strings.Contains(out, "Re-sealed 1 secrets") {
		t.Fatalf("key rotate with NEW,OLD: exit %d, %s %s", code, out, errOut)
	}
	t.Setenv(secret.EnvMasterKey, newKey)
	if code, out, errOut := e.run("", "get", "contoso", "customers"); code != 0 {
		t.Fatalf("with the new key alone: exit %d, %s %s", code, out, errOut)
	}
	t.Setenv(secret.EnvMasterKey, oldKey)
	code, _, errOut = e.run("", "connection", "list")
	newKR, err := secret.NewKeyring(b)
	if err != nil {
		t.Fatal(err)
	}
	if code == 0 || !strings.Contains(errOut, "sealed with master key "+newKR.PrimaryID()) || newKR.PrimaryID() == oldID {
		t.Errorf("with the old key alone: exit %d, %s; want a refusal naming the new key %s", code, errOut, newKR.PrimaryID())
	}
	for _, k := range []string{oldKey, newKey} {
		if strings.Contains(e.printed.String(), k) {
			t.Error("a master key was printed")
		}
	}
}
