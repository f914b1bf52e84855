package main

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/emulator"
)

// TestExpressBinaryEndToEnd runs express setup with the real binary: the operator sets
// Bizzjoiner's app (express-app set), serve starts, one express connection is added with
// the CLI and one through the API; the customer's admin follows each consent link and
// Entra's redirect lands on serve's /consent/callback; the doctor names Step 6 until the
// app is registered in BC, then passes; both sync; consent revoked, the doctor names Step 5,
// and granted again it passes. The express app's secret is never printed or logged.
func TestExpressBinaryEndToEnd(t *testing.T) {
	bin := buildBinary(t)
	e := newCLIEnvConfig(t, emulator.Config{})
	x := e.srv.Express()
	var printed bytes.Buffer
	run := func(stdin string, args ...string) (int, string) {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"--db", e.db, "--key-file", e.key}, args...)...)
		cmd.Env = append(os.Environ(), "BCC_MASTER_KEY=")
		cmd.Stdin = strings.NewReader(stdin)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		printed.Write(out.Bytes())
		printed.Write(errb.Bytes())
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("bcconnector %s: %v", strings.Join(args, " "), err)
		}
		return code, out.String() + errb.String()
	}
	code, token := run("", "token", "create", "--name", "platform")
	if code != 0 {
		t.Fatalf("token create: %s", token)
	}
	token = strings.TrimSpace(strings.SplitN(token, "\n", 2)[0])
	p := startServe(t, bin, "--db", e.db, "--key-file", e.key, "--log-level", "debug", "serve", "--listen", "127.0.0.1:0", "--allow-endpoint-overrides")
	defer p.stop(t)
	var st struct{ Offered bool }
	callAPI(t, p.URL, token, "GET", "/express", nil, 200, &st)
	if st.Offered {
		t.Fatal("express offered before an express app was set")
	}
	redirect := p.URL + "/consent/callback"
	if err := e.srv.AllowExpressRedirect(redirect); err != nil {
		t.Fatal(err)
	}
	if code, out := run(x.ClientSecret+"\n", "express-app", "set", "--client-id", x.ClientID, "--tenant", x.VendorTenantID,
		"--redirect-uri", redirect, "--secret-stdin", "--secret-end-date", x.SecretEndDate.Format("2006-01-02")); code != 0 {
		t.Fatalf("express-app set: %s", out)
	}
	callAPI(t, p.URL, token, "GET", "/express", nil, 200, &st)
	if !st.Offered {
		t.Fatal("express not offered after express-app set")
	}

	// One express connection through the CLI, one through the API.
	code, out := run("", "connection", "add", "--express", "--name", "cli-express", "--tenant", emulator.DemoTenantDomain,
		"--environment", emulator.DemoEnvironment, "--company", emulator.DemoCompany, "--entities", "customers",
		"--authority-host", e.srv.AuthorityHost(), "--bc-base-url", e.srv.BCBaseURL(), "--ca-file", e.srv.CAFile)
	if code != 0 {
		t.Fatalf("connection add --express: %s", out)
	}
	cliLink := ""
	for _, l := range strings.Split(out, "\n") {
		if l = strings.TrimSpace(l); strings.Contains(l, "/adminconsent?") {
			cliLink = l
		}
	}
	type view struct {
		ID, Kind string
		Express  struct{ Consent, ConsentURL string }
	}
	var api view
	// The CLI's company again, with the tenant typed as its GUID: the same tenant, so the
	// same connection, refused naming it.
	var dup struct{ Field, Detail string }
	callAPI(t, p.URL, token, "POST", "/connections/express", map[string]any{"name": "api-express", "tenantId": e.srv.Credentials().TenantID,
		"environment": emulator.DemoEnvironment, "company": emulator.DemoCompany, "entities": []string{"customers"},
		"authorityHost": e.srv.AuthorityHost(), "bcBaseUrl": e.srv.BCBaseURL(), "caPem": string(e.srv.CAPEM)}, 422, &dup)
	if dup.Field != "tenant ID" || !strings.Contains(dup.Detail, `"cli-express"`) {
		t.Errorf("a duplicate express connection: %+v", dup)
	}
	callAPI(t, p.URL, token, "POST", "/connections/express", map[string]any{"name": "api-express", "tenantId": emulator.DemoTenantDomain,
		"environment": emulator.DemoEnvironment, "company": emulator.DemoCompanyAmpersand, "entities": []string{"customers"},
		"authorityHost": e.srv.AuthorityHost(), "bcBaseUrl": e.srv.BCBaseURL(), "caPem": string(e.srv.CAPEM)}, 201, &api)
	if api.Kind != "express" || api.Express.Consent != "pending" || !strings.Contains(api.Express.ConsentURL, "/adminconsent?") || cliLink == "" {
		t.Fatalf("express connections: API %+v, CLI link %q", api, cliLink)
	}

	// consent follows a link as the customer's admin's browser: Entra's consent page, then
	// the redirect to serve's callback.
	consent := func(link string) {
		t.Helper()
		loc := e.srv.FollowConsent(link, "grant")
		if !strings.HasPrefix(loc.String(), redirect+"?") {
			t.Fatalf("consent redirected to %s, want %s", loc, redirect)
		}
		resp, err := http.Get(loc.String())
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || !strings.Contains(string(b), `data-outcome="granted"`) || !strings.Contains(string(b), x.ClientID) {
			t.Fatalf("callback: %d %s", resp.StatusCode, b)
		}
	}
	doctor := func(wantCode int, want ...string) {
		t.Helper()
		code, out := run("", "doctor", "cli-express")
		if (code == 0) != (wantCode == 0) {
			t.Fatalf("doctor: exit %d, want %d\n%s", code, wantCode, out)
		}
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("doctor output lacks %q:\n%s", w, out)
			}
		}
	}
	doctor(1, "Step 5", "has not been granted")
	consent(cliLink)
	consent(api.Express.ConsentURL)
	callAPI(t, p.URL, token, "GET", "/connections/api-express", nil, 200, &api)
	if api.Express.Consent != "granted" {
		t.Errorf("API consent after the callback: %q", api.Express.Consent)
	}
	doctor(1, "Step 6", x.ClientID, "BIZZJOINER CONNECTOR")
	e.srv.RegisterInBC(e.srv.Credentials().TenantID, emulator.DemoEnvironment, x.ClientID)
	doctor(0, "The setup is right")
	var rep struct{ OK bool }
	callAPI(t, p.URL, token, "POST", "/connections/api-express/doctor", nil, 200, &rep)
	if !rep.OK {
		t.Fatal("the API's doctor run of the express connection failed")
	}

	// Both sync through serve.
	synced := func(name string) {
		t.Helper()
		// Once the doctor pinned the company, serve's scheduler may have queued the first
		// pass already: then the request starts nothing (409 sync_already_queued), and
		// that pass is the one waited for.
		req, _ := http.NewRequest("POST", p.URL+"/api/v1/connections/"+name+"/sync", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted && !(resp.StatusCode == http.StatusConflict && strings.Contains(string(b), "sync_already_queued")) {
			t.Fatalf("POST sync %s: %d %s", name, resp.StatusCode, b)
		}
		for deadline := time.Now().Add(60 * time.Second); ; {
			if sets := getSyncSets(t, p.URL, token, name); len(sets) == 1 && sets[0].FullSyncDone {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: no full sync within 60s\n%s", name, p.stderr.String())
			}
			time.Sleep(50 * time.Millisecond) // polling interval
		}
	}
	synced("cli-express")
	synced("api-express")
	if code, out := run("", "connection", "list"); code != 0 || !strings.Contains(out, "consent granted") {
		t.Errorf("list: %s", out)
	}

	// Consent revoked (the enterprise application deleted): Step 5, revoked.
	e.srv.RevokeExpress(e.srv.Credentials().TenantID)
	doctor(1, "Step 5", "revoked", "/adminconsent?")
	consent(cliLink)
	doctor(0, "The setup is right")

	if strings.Contains(printed.String(), x.ClientSecret) || strings.Contains(p.stderr.String(), x.ClientSecret) || strings.Contains(p.stdout.String(), x.ClientSecret) {
		t.Error("the express app's secret was printed or logged")
	}
}
