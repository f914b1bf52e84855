package main

import (
	"strings"
	"testing"

	"github.com/bizzjoiner/bcconnector/emulator"
)

// TestCLIExpressApp: the operator sets Bizzjoiner's app (the secret from standard input,
// never printed), adds an express connection, gets its consent link, and the doctor names
// Step 5 until the customer's admin consents.
func TestCLIExpressApp(t *testing.T) {
	e := newCLIEnvConfig(t, emulator.Config{ExpressRedirectURIs: []string{"https://bcconnector.test/consent/callback"}})
	x := e.srv.Express()
	if code, out, _ := e.run("", "express-app", "show"); code != 0 || !strings.Contains(out, "not offered") {
		t.Errorf("show before set: %d %s", code, out)
	}
	if code, _, errOut := e.run("", "connection", "add", "--express", "--tenant", emulator.DemoTenantDomain, "--company", "Company X"); code == 0 || !strings.Contains(errOut, "express-app set") {
		t.Errorf("express without an app: %d %s", code, errOut)
	}
	if code, _, errOut := e.run(x.ClientSecret+"\n", "express-app", "set", "--client-id", x.ClientID, "--redirect-uri", "http://bcconnector.test/consent/callback", "--secret-stdin"); code == 0 || !strings.Contains(errOut, "https") {
		t.Errorf("http redirect URI accepted: %d %s", code, errOut)
	}
	code, out, errOut := e.run(x.ClientSecret+"\n", "express-app", "set", "--client-id", x.ClientID, "--tenant", x.VendorTenantID,
		"--redirect-uri", "https://bcconnector.test/consent/callback", "--secret-stdin", "--secret-end-date", x.SecretEndDate.Format("2006-01-02"))
	if code != 0 || !strings.Contains(out, "Express app set: client ID "+x.ClientID) {
		t.Fatalf("express-app set: %d %s %s", code, out, errOut)
	}
	if code, out, _ = e.run("", "express-app", "show"); code != 0 || !strings.Contains(out, x.ClientID) || !strings.Contains(out, "expires "+x.SecretEndDate.Format("2006-01-02")) {
		t.Errorf("show: %d %s", code, out)
	}
	if code, _, errOut = e.run("", "connection", "add", "--express", "--client-id", x.ClientID, "--tenant", emulator.DemoTenantDomain, "--company", "Company X"); code == 0 || !strings.Contains(errOut, "leave out --client-id") {
		t.Errorf("express with a client ID: %d %s", code, errOut)
	}
	if code, _, errOut = e.run("", "connection", "add", "--tenant", emulator.DemoTenantDomain, "--company", "Company X"); code == 0 || !strings.Contains(errOut, "--express") {
		t.Errorf("no client ID, no express: %d %s", code, errOut)
	}
	code, out, errOut = e.run("", "connection", "add", "--express", "--name", "express", "--tenant", emulator.DemoTenantDomain, "--company", "Company X",
		"--entities", "customers", "--authority-host", e.srv.AuthorityHost(), "--bc-base-url", e.srv.BCBaseURL(), "--ca-file", e.srv.CAFile)
	if code != 0 || !strings.Contains(out, "Added express connection \"express\"") || !strings.Contains(out, "/adminconsent?") ||
		!strings.Contains(out, "Client ID       "+x.ClientID) || !strings.Contains(out, "BIZZJOINER CONNECTOR") {
		t.Fatalf("connection add --express: %d\n%s\n%s", code, out, errOut)
	}
	code, link, _ := e.run("", "consent-url", "express")
	if code != 0 || !strings.Contains(link, "/"+emulator.DemoTenantDomain+"/adminconsent?") || !strings.Contains(link, "redirect_uri=https%3A%2F%2Fbcconnector.test%2Fconsent%2Fcallback") {
		t.Fatalf("consent-url: %d %s", code, link)
	}
	if code, out, _ = e.run("", "doctor", "express"); code == 0 || !strings.Contains(out, "Step 5") || !strings.Contains(out, "has not been granted") {
		t.Errorf("doctor before consent: %d %s", code, out)
	}
	if code, out, _ = e.run("", "connection", "list"); code != 0 || !strings.Contains(out, "express  ") || !strings.Contains(out, "consent pending") {
		t.Errorf("list: %s", out)
	}
	if code, _, errOut = e.run(x.ClientSecret+"\n", "connection", "rotate-secret", "express", "--secret-stdin"); code == 0 || !strings.Contains(errOut, "express connection") {
		t.Errorf("rotate-secret on express: %d %s", code, errOut)
	}
	// Several companies (one with & ' and spaces), and all of them; the first connection
	// goes first, as a second express connection to the same company is refused.
	if code, out, errOut = e.run("", "connection", "remove", "express"); code != 0 {
		t.Fatalf("remove: %d %s %s", code, out, errOut)
	}
	code, out, errOut = e.run("", "connection", "add", "--express", "--name", "express-multi", "--tenant", emulator.DemoTenantDomain,
		"--company", "Company X", "--company", emulator.DemoCompanyAmpersand, "--all-companies",
		"--authority-host", e.srv.AuthorityHost(), "--bc-base-url", e.srv.BCBaseURL(), "--ca-file", e.srv.CAFile)
	if code != 0 || !strings.Contains(out, "all companies") || !strings.Contains(out, emulator.DemoCompanyAmpersand) {
		t.Errorf("connection add --express of several companies: %d\n%s\n%s", code, out, errOut)
	}
	if strings.Contains(e.printed.String(), x.ClientSecret) {
		t.Error("the express app's secret was printed")
	}
}
