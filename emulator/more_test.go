package emulator_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/emulator/fault"
	"github.com/bizzjoiner/bcconnector/emulator/idp"
)

// clock is a settable clock for expiry tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// TestExpiredTokenIsRejected: BC checks exp; an hour later the same token answers 401.
func TestExpiredTokenIsRejected(t *testing.T) {
	t.Parallel()
	clk := &clock{t: time.Now()}
	e := setup(t, emulator.Config{Now: clk.now})
	if r := e.get(e.api() + "/companies"); r.status != 200 {
		t.Fatalf("fresh token: %d", r.status)
	}
	clk.add(2 * time.Hour)
	if r := e.get(e.api() + "/companies"); r.status != 401 {
		t.Errorf("expired token: %d %s", r.status, r.body)
	}
}

func TestAdminCenterEnvironments(t *testing.T) {
	t.Parallel()
	e := setup(t, emulator.Config{})
	adminURL := e.srv.URL + "/admin/v2.24/applications/BusinessCentral/environments"
	// By the guide, the app has no AdminCenter.ReadWrite.All: 403.
	if r := e.get(adminURL); r.status != 403 {
		t.Errorf("without AdminCenter role: %d %s", r.status, r.body)
	}
	err := e.emu.Directory().UpdateApp(e.creds.TenantID, e.creds.ClientID, func(a *idp.App) {
		a.Permissions = append(a.Permissions, idp.Permission{Resource: idp.BCResourceID, Value: idp.RoleAdminCenterReadWriteAll, Type: idp.Application, Consented: true})
	})
	if err != nil {
		t.Fatal(err)
	}
	e.emu.AuthorizeAdminApp(e.creds.TenantID, e.creds.ClientID)
	e.token = "" // roles are frozen at issuance: get a new token
	r := e.get(adminURL)
	if r.status != 200 || !strings.Contains(string(r.body), `"name":"Production"`) || !strings.Contains(string(r.body), `"type":"Sandbox"`) {
		t.Errorf("environments: %d %s", r.status, r.body)
	}
	if r = e.get(e.srv.URL + "/admin/v2.24/applications/BusinessCentral/environments/Nope"); r.status != 404 || !strings.Contains(string(r.body), "environmentNotFound") {
		t.Errorf("unknown environment: %d %s", r.status, r.body)
	}
}

// TestAutomationAPINeedsItsRole: the automation API needs Automation.ReadWrite.All, which
// the guide's app does not have.
func TestAutomationAPINeedsItsRole(t *testing.T) {
	t.Parallel()
	e := setup(t, emulator.Config{})
	u := e.srv.URL + "/v2.0/" + e.creds.TenantID + "/Production/api/microsoft/automation/v2.0/automationCompanies"
	if r := e.get(u); r.status != 401 {
		t.Errorf("automation without role: %d", r.status)
	}
	_ = e.emu.Directory().UpdateApp(e.creds.TenantID, e.creds.ClientID, func(a *idp.App) {
		a.Permissions = append(a.Permissions, idp.Permission{Resource: idp.BCResourceID, Value: idp.RoleAutomationReadWriteAll, Type: idp.Application, Consented: true})
	})
	e.token = ""
	if r := e.get(u); r.status != 200 || !strings.Contains(string(r.body), "Company X") {
		t.Errorf("automation with role: %d %s", r.status, r.body)
	}
}

// TestMutatorChangesData: the mutator creates, updates and deletes through the write path,
// moving lastModifiedDateTime so incremental reads see it.
func TestMutatorChangesData(t *testing.T) {
	t.Parallel()
	e := setup(t, emulator.Config{})
	ref := e.emu.DemoCompanyRef()
	glBefore := e.emu.Count(ref, "generalLedgerEntries")
	since := time.Now().UTC().Add(-time.Second).Format("2006-01-02T15:04:05.000Z")
	if err := e.emu.Mutate(200, emulator.MutatorConfig{}); err != nil {
		t.Fatal(err)
	}
	if e.emu.Count(ref, "generalLedgerEntries") <= glBefore {
		t.Error("no new G/L postings")
	}
	changed := 0
	for _, set := range []string{"customers", "vendors", "items", "contacts", "generalLedgerEntries"} {
		r := e.get(e.companyURL() + "/" + set + "?$filter=" + esc("lastModifiedDateTime gt "+since))
		changed += len(r.json(t)["value"].([]any))
	}
	if changed < 100 {
		t.Errorf("only %d records changed since %s after 200 mutations", changed, since)
	}
	// With a rate, changes happen by themselves.
	e2 := setup(t, emulator.Config{Mutation: emulator.MutatorConfig{Rate: 200}})
	before := e2.emu.Stats()
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if n := e2.emu.Count(e2.emu.DemoCompanyRef(), "generalLedgerEntries"); n > glBefore {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("mutator at 200/s made no G/L posting in 3s (stats %+v)", before)
}

// TestTokenEndpointOutage: an injected token outage reaches azidentity as a failure.
func TestTokenEndpointOutage(t *testing.T) {
	t.Parallel()
	rules, err := fault.Parse("token-outage")
	if err != nil {
		t.Fatal(err)
	}
	e := setup(t, emulator.Config{Faults: rules})
	cred := e.credential(e.creds.TenantID, e.creds.ClientID, e.creds.ClientSecret)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{idp.BCDefaultScope}}); err == nil {
		t.Fatal("token during an outage")
	}
	e.emu.Faults().Reset()
	if _, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{idp.BCDefaultScope}}); err != nil {
		t.Errorf("after the outage: %v", err)
	}
}
