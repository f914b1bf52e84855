package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/emulator/emulatortest"
	"github.com/bizzjoiner/bcconnector/emulator/idp"
)

// cliEnv runs CLI commands against a real emulator on TLS, with a temporary database and
// key file, and keeps everything printed so the test can scan it for secrets.
type cliEnv struct {
	t       *testing.T
	srv     *emulatortest.Sandbox
	db, key string
	printed bytes.Buffer
}

func newCLIEnv(t *testing.T, scenario string) *cliEnv {
	return newCLIEnvConfig(t, emulator.Config{Scenario: scenario})
}

func newCLIEnvConfig(t *testing.T, cfg emulator.Config) *cliEnv {
	dir := t.TempDir()
	srv := emulatortest.Start(t, cfg)
	t.Setenv("BCC_MASTER_KEY", "")
	return &cliEnv{t: t, srv: srv, db: filepath.Join(dir, "bcc.db"), key: filepath.Join(dir, "master.key")}
}

func (e *cliEnv) run(stdin string, args ...string) (int, string, string) {
	e.t.Helper()
	var out, errb bytes.Buffer
	all := append([]string{"--db", e.db, "--key-file", e.key}, args...)
	code := runWithStdin(context.Background(), all, strings.NewReader(stdin), &out, &errb)
	e.printed.Write(out.Bytes())
	e.printed.Write(errb.Bytes())
	return code, out.String(), errb.String()
}

func (e *cliEnv) add(name string, extra ...string) (int, string, string) {
	cr := e.srv.Credentials()
	args := []string{"connection", "add", "--name", name, "--tenant", cr.TenantID, "--client-id", cr.ClientID,
		"--environment", cr.Environment, "--company", cr.Company, "--secret-stdin",
		"--secret-end-date", cr.SecretEndDate.Format("2006-01-02"),
		"--authority-host", e.srv.AuthorityHost(), "--bc-base-url", e.srv.BCBaseURL(), "--ca-file", e.srv.CAFile}
	return e.run(cr.ClientSecret+"\n", append(args, extra...)...)
}

// TestCLIAgainstEmulator walks what a newcomer does: add a connection, list it, run the
// doctor, read, write, rotate the secret, rotate the master key.
func TestCLIAgainstEmulator(t *testing.T) {
	e := newCLIEnv(t, emulator.ScenarioOK)
	cr := e.srv.Credentials()
	code, out, errOut := e.add("contoso", "--write-entities", "customers")
	if code != 0 || !strings.Contains(out, "Added connection \"contoso\"") || !strings.Contains(out, "The setup is right") {
		t.Fatalf("connection add: %d\n%s\n%s", code, out, errOut)
	}
	if code, out, _ = e.run("", "connection", "list"); code != 0 || !strings.Contains(out, "contoso") || !strings.Contains(out, "Company X") {
		t.Errorf("list: %s", out)
	}
	if code, out, _ = e.run("", "doctor", "contoso"); code != 0 || !strings.Contains(out, "The setup is right") {
		t.Errorf("doctor: %d %s", code, out)
	}
	code, out, _ = e.run("", "doctor", "contoso", "--json")
	var rep map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &rep) != nil || rep["ok"] != true {
		t.Errorf("doctor --json: %d %s", code, out)
	}
	if code, out, _ = e.run("", "companies", "contoso"); code != 0 || !strings.Contains(out, "Fabrikam & O'Brien Ltd.") {
		t.Errorf("companies: %s", out)
	}
	// Read everything as JSON lines.
	code, out, _ = e.run("", "get", "contoso", "customers", "--all", "--page-size", "7")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != e.srv.Count(e.srv.DemoCompanyRef(), "customers") {
		t.Fatalf("get --all: %d, %d lines", code, len(lines))
	}
	// Create, update (reads the ETag first), delete.
	code, out, errOut = e.run("", "create", "contoso", "customers", "--data", `{"displayName":"CLI & Sons"}`)
	var created map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &created) != nil {
		t.Fatalf("create: %d %s %s", code, out, errOut)
	}
	id := created["id"].(string)
	if code, out, errOut = e.run("", "update", "contoso", "customers", id, "--data", `{"phoneNumber":"555"}`); code != 0 || !strings.Contains(out, `"phoneNumber":"555"`) {
		t.Errorf("update: %d %s %s", code, out, errOut)
	}
	if code, _, errOut = e.run("", "update", "contoso", "customers", id, "--data", `{"phoneNumber":"556"}`, "--etag", created["@odata.etag"].(string)); code == 0 || !strings.Contains(errOut, "Request_EntityChanged") {
		t.Errorf("stale update: %d %s", code, errOut)
	}
	if code, _, errOut = e.run("", "delete", "contoso", "customers", id); code != 0 {
		t.Errorf("delete: %d %s", code, errOut)
	}
	// Rotate the secret: Entra gets a second secret, the CLI verifies it and switches.
	newSecret := "Nw48Q~rotated-secret-value-0123456789abcd"
	if err := e.srv.Directory().UpdateApp(cr.TenantID, cr.ClientID, func(a *idp.App) {
		a.Secrets = append(a.Secrets, idp.Secret{Value: newSecret, EndDate: time.Now().AddDate(1, 0, 0)})
	}); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut = e.run("not-the-secret-value-at-all-xyz\n", "connection", "rotate-secret", "contoso", "--secret-stdin"); code == 0 || !strings.Contains(errOut, "current one stays active") {
		t.Errorf("rotate with a wrong secret: %d %s", code, errOut)
	}
	if code, out, errOut = e.run(newSecret+"\n", "connection", "rotate-secret", "contoso", "--secret-stdin"); code != 0 {
		t.Fatalf("rotate-secret: %d %s %s", code, out, errOut)
	}
	if code, out, _ = e.run("", "doctor", "contoso"); code != 0 {
		t.Errorf("doctor after rotation: %s", out)
	}
	// Rotate the master key, then everything still opens.
	if code, out, errOut = e.run("", "key", "rotate"); code != 0 || !strings.Contains(out, "re-sealed 1 secrets") {
		t.Errorf("key rotate: %d %s %s", code, out, errOut)
	}
	if code, out, _ = e.run("", "companies", "contoso"); code != 0 {
		t.Errorf("companies after key rotation: %s", out)
	}
	// The permission set and the consent URL.
	if code, out, _ = e.run("", "permission-set", "--entities", "customers,salesInvoices", "--write", "customers"); code != 0 || !strings.Contains(out, `permissionset 50100 "BIZZJOINER CONNECTOR"`) {
		t.Errorf("permission-set: %s", out)
	}
	if code, out, _ = e.run("", "consent-url", "contoso"); code != 0 || !strings.Contains(out, "/adminconsent?client_id="+cr.ClientID) {
		t.Errorf("consent-url: %s", out)
	}
	// No secret in anything printed, nor in the database files.
	for _, s := range []string{cr.ClientSecret, newSecret} {
		if strings.Contains(e.printed.String(), s) {
			t.Errorf("a client secret was printed")
		}
		for _, f := range []string{e.db, e.db + "-wal"} {
			if b, err := os.ReadFile(f); err == nil && bytes.Contains(b, []byte(s)) {
				t.Errorf("%s holds a client secret in clear", f)
			}
		}
	}
}

// TestCLIAddKeepsDraft: a failed check prints the report naming the step, keeps the
// connection as a draft that does not sync, and says how to re-check it: the doctor after a
// portal fix.
func TestCLIAddKeepsDraft(t *testing.T) {
	e := newCLIEnv(t, emulator.ScenarioPermissionDelegatedOnly)
	code, out, errOut := e.add("contoso")
	if code == 0 || !strings.Contains(out, "Step 4") || !strings.Contains(out, "API.ReadWrite.All") ||
		!strings.Contains(errOut, `kept as draft "contoso"`) || !strings.Contains(errOut, "re-check the draft: bcconnector doctor contoso") {
		t.Errorf("add with the guide's Step 4: %d\n%s\n%s", code, out, errOut)
	}
	if _, out, _ = e.run("", "connection", "list"); !strings.Contains(out, "contoso") {
		t.Errorf("the draft was not kept: %s", out)
	}
	if code, _, errOut = e.run("", "sync", "contoso"); code == 0 {
		t.Errorf("a draft synced: %s", errOut)
	}
	if code, out, _ = e.run("", "doctor", "contoso"); code == 0 || !strings.Contains(out, "Step 4") {
		t.Errorf("doctor of the draft: %d %s", code, out)
	}
}

// TestCLIAddDraftWrongSecret: with a wrong secret the advice is to give the right one;
// rotating it in and checking makes the draft a working connection, and running the add
// again instead replaces the draft.
func TestCLIAddDraftWrongSecret(t *testing.T) {
	e := newCLIEnv(t, emulator.ScenarioOK)
	cr := e.srv.Credentials()
	args := []string{"connection", "add", "--name", "contoso", "--tenant", cr.TenantID, "--client-id", cr.ClientID,
		"--environment", cr.Environment, "--company", cr.Company, "--secret-stdin",
		"--authority-host", e.srv.AuthorityHost(), "--bc-base-url", e.srv.BCBaseURL(), "--ca-file", e.srv.CAFile}
	code, out, errOut := e.run("Wr48Q~wrong-secret-value-0123456789abcdef\n", args...)
	if code == 0 || !strings.Contains(out, "enter the client secret again") ||
		!strings.Contains(errOut, "bcconnector connection rotate-secret contoso --secret-stdin") {
		t.Fatalf("add with a wrong secret: %d\n%s\n%s", code, out, errOut)
	}
	if code, out, errOut = e.run(cr.ClientSecret+"\n", "connection", "rotate-secret", "contoso", "--secret-stdin"); code != 0 {
		t.Fatalf("rotate-secret into the draft: %d %s %s", code, out, errOut)
	}
	if code, out, _ = e.run("", "doctor", "contoso"); code != 0 {
		t.Fatalf("doctor after the right secret: %d %s", code, out)
	}
	if code, _, errOut = e.run("", "sync", "contoso", "--entities", "customers"); code != 0 {
		t.Errorf("sync after the check passed: %d %s", code, errOut)
	}

	// A second draft, then the same command with the right secret replaces it.
	args[3] = "fabrikam"
	if code, _, _ = e.run("Wr48Q~wrong-secret-value-0123456789abcdef\n", args...); code == 0 {
		t.Fatal("a wrong secret passed")
	}
	if code, out, errOut = e.run(cr.ClientSecret+"\n", args...); code != 0 || !strings.Contains(out, `Added connection "fabrikam"`) {
		t.Errorf("add again over the draft: %d %s %s", code, out, errOut)
	}
	// A working connection is never replaced.
	if code, _, errOut = e.run("Wr48Q~wrong-secret-value-0123456789abcdef\n", args...); code == 0 || strings.Contains(errOut, "kept as draft") {
		t.Errorf("a failed add replaced a working connection: %d %s", code, errOut)
	}
	if code, out, _ = e.run("", "doctor", "fabrikam"); code != 0 {
		t.Errorf("the working connection broke: %s", out)
	}
}

func TestCLISecretNeverFromAFlag(t *testing.T) {
	e := newCLIEnv(t, emulator.ScenarioOK)
	code, _, errOut := e.run("", "connection", "add", "--tenant", "contoso.onmicrosoft.com", "--client-id", "4f6c2b1d-1111-4222-8333-944455556666", "--company", "Company X", "--secret", "abc")
	if code == 0 || !strings.Contains(errOut, "shell history") {
		t.Errorf("--secret: %d %s", code, errOut)
	}
	code, _, errOut = e.run("", "connection", "add", "--tenant", "nope", "--client-id", "x", "--company", "Company X", "--secret-stdin")
	if code == 0 || !strings.Contains(errOut, "empty") {
		t.Errorf("no secret on stdin: %d %s", code, errOut)
	}
	code, _, errOut = e.run("0e2b8f5a-1111-4222-8333-944455556666\n", "connection", "add", "--tenant", "nope", "--client-id", "x", "--company", "Company X", "--secret-stdin")
	for _, want := range []string{"tenant ID (Step 2", "client ID (Step 2", "Secret ID"} {
		if code == 0 || !strings.Contains(errOut, want) {
			t.Errorf("bad values: %d, stderr lacks %q: %s", code, want, errOut)
		}
	}
}

// TestCLISync: sync, status and the change log from the command line.
func TestCLISync(t *testing.T) {
	e := newCLIEnv(t, emulator.ScenarioOK)
	if code, out, errOut := e.add("contoso"); code != 0 {
		t.Fatalf("add: %s %s", out, errOut)
	}
	code, out, errOut := e.run("", "sync", "contoso", "--entities", "customers,salesInvoices,salesInvoiceLines")
	if code != 0 || !strings.Contains(errOut, "customers") || !strings.Contains(errOut, "salesInvoices") || !strings.Contains(out, "requests to BC") {
		t.Fatalf("sync: %d\n%s\n%s", code, out, errOut)
	}
	// The last line counts the requests, the 429s and the failures (BenchmarkSyncCeiling
	// reads it); nothing failed against the emulator without faults.
	if m := syncCounts.FindStringSubmatch(out); m == nil || m[1] == "0" || m[2] != "0" || m[3] != "0" {
		t.Errorf("sync's request counts: %q", out)
	}
	// The counts add up: what was read from BC, then what the replica stored, lines
	// counted with their documents and said so.
	ref := e.srv.DemoCompanyRef()
	nCust, nInv, nLines := e.srv.Count(ref, "customers"), e.srv.Count(ref, "salesInvoices"), e.srv.Count(ref, "salesInvoiceLines")
	for _, want := range []string{
		fmt.Sprintf("%d records read; replica: %d new, 0 changed, 0 unchanged, 0 deleted in", nCust, nCust),
		fmt.Sprintf("%d records read; replica: %d new, 0 changed, 0 unchanged, 0 deleted (records and their lines) in", nInv, nInv+nLines),
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("sync output lacks %q:\n%s", want, errOut)
		}
	}
	code, out, _ = e.run("", "status", "contoso")
	if code != 0 || !strings.Contains(out, "customers") || !strings.Contains(out, "ok") {
		t.Errorf("status: %s", out)
	}
	code, out, _ = e.run("", "changes", "--after", "0", "--limit", "3")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 3 || !strings.Contains(lines[0], `"seq":1`) || !strings.Contains(lines[0], `"op":"insert"`) {
		t.Errorf("changes: %s", out)
	}
	// An incremental run after a change in BC logs the update.
	var id string
	for row := range e.srv.Rows(ref, "customers") {
		id = row["id"].(string)
		break
	}
	if _, err := e.srv.Update(ref, "customers", id, map[string]any{"displayName": "Changed"}); err != nil {
		t.Fatal(err)
	}
	_, _, errOut = e.run("", "sync", "contoso", "--entities", "customers", "--reconcile")
	if !regexp.MustCompile(`(?m)^customers +incremental +1 records read; replica: 0 new, 1 changed, 0 unchanged, 0 deleted in .*: ok$`).MatchString(errOut) ||
		!regexp.MustCompile(`(?m)^customers +reconcile +reconciliation: ids compared with BC; replica: 0 deleted in .*: ok$`).MatchString(errOut) {
		t.Errorf("incremental sync with --reconcile, one labelled line each:\n%s", errOut)
	}
	_, out, _ = e.run("", "changes", "--since", "0", "--limit", "100000")
	if !strings.Contains(out, `"id":"`+id+`","op":"update"`) {
		t.Errorf("the update was not logged")
	}
}

// TestCLIEndDateReadAsTyped: the end date is echoed as read, and a date that reads two
// ways is refused before the secret is asked for, naming the forms that are read.
func TestCLIEndDateReadAsTyped(t *testing.T) {
	e := newCLIEnv(t, emulator.ScenarioOK)
	cr := e.srv.Credentials()
	code, _, errOut := e.add("contoso")
	if want := "note: secret end date: read as " + cr.SecretEndDate.Format("2 January 2006"); code != 0 || !strings.Contains(errOut, want) {
		t.Fatalf("add: %d, want %q in\n%s", code, want, errOut)
	}
	code, _, errOut = e.run("Nw48Q~rotated-secret-value-0123456789abcd\n", "connection", "rotate-secret", "contoso", "--secret-stdin", "--secret-end-date", "2/12/2027")
	if code == 0 || !strings.Contains(errOut, "could be 12 February 2027 or 2 December 2027") || !strings.Contains(errOut, "12 Feb 2027") {
		t.Errorf("rotate-secret with 2/12/2027: %d %s", code, errOut)
	}
	code, _, errOut = e.run("not-the-secret-value-at-all-xyz\n", "connection", "rotate-secret", "contoso", "--secret-stdin", "--secret-end-date", "Feb 12, 2027")
	if !strings.Contains(errOut, "note: secret end date: read as 12 February 2027 (2027-02-12)") {
		t.Errorf("rotate-secret with Feb 12, 2027: %d %s", code, errOut)
	}
}
