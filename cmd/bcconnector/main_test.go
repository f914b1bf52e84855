package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/kong"

	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/internal/testlog"
)

func runCLI(t *testing.T, ctx context.Context, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(ctx, args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestHelpAndVersion(t *testing.T) {
	code, out, _ := runCLI(t, context.Background(), "--help")
	if code != 0 || !strings.Contains(out, "emulator") {
		t.Errorf("--help: %d %s", code, out)
	}
	code, out, _ = runCLI(t, context.Background(), "version")
	if code != 0 || !strings.HasPrefix(out, "bcconnector ") {
		t.Errorf("version: %d %q", code, out)
	}
}

func TestEmulatorFlagsAreValidated(t *testing.T) {
	for _, tc := range []struct{ args, want string }{
		{"emulator --data-size=huge", "--data-size"},
		{"emulator --latency-profile=fast", "--latency-profile"},
		{"emulator --faults=429@2", "--faults"},
		{"emulator --scenario=nope --listen=127.0.0.1:0", "unknown scenario"},
		{"emulator --conflict-status=500", "conflict-status"},
		{"emulator --token-lifetime=0s", "--token-lifetime"},
		{"emulator --token-outage=20s", "--token-outage"},
		{"emulator --token-outage=2m/20s", "--token-outage"},
	} {
		code, _, errOut := runCLI(t, context.Background(), strings.Fields(tc.args)...)
		if code == 0 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want an error naming %s", tc.args, code, errOut, tc.want)
		}
	}
}

func TestEmulatorListScenarios(t *testing.T) {
	code, out, _ := runCLI(t, context.Background(), "emulator", "--list-scenarios")
	for _, s := range []string{"permission-delegated-only", "Step 4", "bc-app-missing", "Step 6", "AADSTS7000222"} {
		if code != 0 || !strings.Contains(out, s) {
			t.Errorf("--list-scenarios lacks %q: %s", s, out)
		}
	}
}

// TestEmulatorStarts runs the command as a person would and checks the banner prints
// everything needed to connect.
func TestEmulatorStarts(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	ca := filepath.Join(t.TempDir(), "ca.pem")
	done := make(chan struct{})
	var code int
	var out, errb testlog.Buffer
	go func() {
		code = run(ctx, []string{"emulator", "--listen", "127.0.0.1:0", "--ca-file", ca, "--scenario", "secret-expired"}, &out, &errb)
		close(done)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "Press Ctrl+C") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	banner := out.String()
	for _, want := range []string{"Authority host", "https://127.0.0.1:", "BC API base URL", ca, "Tenant ID", "Client ID", "Client secret", "Environment", "Production", "Company X", `scenario "secret-expired"`} {
		if !strings.Contains(banner, want) {
			t.Errorf("banner lacks %q:\n%s", want, banner)
		}
	}
	if code != 0 {
		t.Errorf("exit code %d, stderr %s", code, errb.String())
	}
}

// TestHelpHasPlainQuotes: every command's help prints apostrophes and quotes as typed (kong
// formats help as a Go doc comment, which turns ” and “ in running text into “ and ”;
// a filter copied from `get --help` with O”Brien fails at BC).
func TestHelpHasPlainQuotes(t *testing.T) {
	t.Parallel()
	parser, err := kong.New(&CLI{}, kong.Name("bcconnector"))
	if err != nil {
		t.Fatal(err)
	}
	var paths [][]string
	var walk func(n *kong.Node, path []string)
	walk = func(n *kong.Node, path []string) {
		paths = append(paths, path)
		for _, c := range n.Children {
			walk(c, append(slices.Clone(path), c.Name))
		}
	}
	walk(parser.Model.Node, nil)
	for _, p := range paths {
		var out, errb bytes.Buffer
		code := runWithStdin(context.Background(), append(slices.Clone(p), "--help"), strings.NewReader(""), &out, &errb)
		if code != 0 {
			t.Errorf("%q --help: exit %d %s", p, code, errb.String())
		}
		if strings.ContainsAny(out.String(), "“”") {
			t.Errorf("%q --help has a typographic quote:\n%s", p, out.String())
		}
	}
	var out bytes.Buffer
	runWithStdin(context.Background(), []string{"get", "--help"}, strings.NewReader(""), &out, &out)
	if !strings.Contains(out.String(), `--filter "displayName eq 'O''Brien'"`) {
		t.Errorf("get --help lacks the quoting example:\n%s", out.String())
	}
}

// TestChangesCursorFlag: the CLI's cursor has the API's name, --after; --since still
// works but is not advertised.
func TestChangesCursorFlag(t *testing.T) {
	dir := t.TempDir()
	base := []string{"--db", filepath.Join(dir, "bcc.db"), "--key-file", filepath.Join(dir, "master.key"), "changes"}
	for _, flag := range []string{"--after", "--since"} {
		if code, out, errOut := runCLI(t, context.Background(), append(slices.Clone(base), flag, "0")...); code != 0 {
			t.Errorf("changes %s 0: exit %d\n%s%s", flag, code, out, errOut)
		}
	}
	// A position past the end of the (empty) log is an error naming the fix, not silence.
	code, _, errOut := runCLI(t, context.Background(), append(slices.Clone(base), "--after", "7")...)
	if code == 0 || !strings.Contains(errOut, "past the end of the change log (0)") || !strings.Contains(errOut, "--after 0") {
		t.Errorf("changes --after 7 on an empty log: exit %d\n%s", code, errOut)
	}
	_, out, _ := runCLI(t, context.Background(), "changes", "--help")
	if !strings.Contains(out, "--after") || strings.Contains(out, "--since") {
		t.Errorf("changes --help should show --after and not --since:\n%s", out)
	}
}

// TestEmulatorAdminSurface: --admin mounts the admin surface next to the emulator, which
// still answers everything else.
func TestEmulatorAdminSurface(t *testing.T) {
	t.Parallel()
	emu, err := emulator.New(emulator.Config{})
	if err != nil {
		t.Fatal(err)
	}
	h := withControl(emu)
	cr := emu.Credentials()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/_emulator/tenants/"+cr.TenantID+"/apps/"+cr.ClientID+"/consent/revoke", nil))
	if a, _ := emu.Directory().LookupApp(cr.TenantID, cr.ClientID); rec.Code != http.StatusNoContent || a.Permissions[0].Consented {
		t.Errorf("revoke through --admin: %d %s", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/"+cr.TenantID+"/v2.0/.well-known/openid-configuration", nil))
	if rec.Code != http.StatusOK {
		t.Errorf("the emulator behind --admin: %d", rec.Code)
	}
}
