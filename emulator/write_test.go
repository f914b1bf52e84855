package emulator_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/emulator/fault"
	"github.com/bizzjoiner/bcconnector/emulator/throttle"
)

func claimRoles(t *testing.T, tok string) []any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token is not a JWT")
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	_ = json.Unmarshal(raw, &c)
	roles, _ := c["roles"].([]any)
	return roles
}

func TestDeepInsertAndPosting(t *testing.T) {
	t.Parallel()
	e := setup(t, emulator.Config{})
	c := e.companyURL()
	cust := e.get(c + "/customers?$top=1").json(t)["value"].([]any)[0].(map[string]any)
	item := e.get(c + "/items?$top=1").json(t)["value"].([]any)[0].(map[string]any)

	r := e.do(http.MethodPost, c+"/salesInvoices", map[string]any{})
	if r.status != 400 || !strings.Contains(string(r.body), `A \"customerNumber\" or a \"customerId\" must be provided.`) {
		t.Errorf("invoice without customer: %d %s", r.status, r.body)
	}
	r = e.do(http.MethodPost, c+"/salesInvoices", map[string]any{
		"customerNumber": cust["number"],
		"salesInvoiceLines": []any{
			map[string]any{"lineType": "Item", "lineObjectNumber": item["number"], "quantity": 3},
			map[string]any{"itemId": item["id"], "quantity": 1, "unitPrice": 10},
		},
	})
	if r.status != 201 {
		t.Fatalf("deep insert: %d %s", r.status, r.body)
	}
	inv := r.json(t)
	id := inv["id"].(string)
	if inv["customerId"] != cust["id"] || inv["customerName"] != cust["displayName"] || inv["status"] != "Draft" {
		t.Errorf("invoice did not resolve its customer: %v", inv)
	}
	lines := e.get(c + "/salesInvoices(" + id + ")/salesInvoiceLines").json(t)["value"].([]any)
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2", len(lines))
	}
	first := lines[0].(map[string]any)
	if first["sequence"].(float64) != 10000 {
		first = lines[1].(map[string]any)
	}
	if first["itemId"] != item["id"] || first["amountExcludingTax"].(float64) != 3*item["unitPrice"].(float64) {
		t.Errorf("line amounts: %v", first)
	}
	got := e.get(c + "/salesInvoices(" + id + ")").json(t)
	if want := 3*item["unitPrice"].(float64) + 10; got["totalAmountExcludingTax"].(float64) != want {
		t.Errorf("invoice total %v, want %v", got["totalAmountExcludingTax"], want)
	}
	// Post it: 204; then it is read-only, and post again fails with BC's message.
	r = e.do(http.MethodPost, c+"/salesInvoices("+id+")/Microsoft.NAV.post", nil)
	if r.status != http.StatusNoContent {
		t.Fatalf("post: %d %s", r.status, r.body)
	}
	r = e.do(http.MethodPost, c+"/salesInvoices("+id+")/Microsoft.NAV.post", nil)
	if r.status != 400 || !strings.Contains(string(r.body), "The action can be applied to a draft invoice only.") {
		t.Errorf("second post: %d %s", r.status, r.body)
	}
	r = e.do(http.MethodPatch, c+"/salesInvoices("+id+")", map[string]any{"externalDocumentNumber": "X"}, "If-Match", "*")
	if r.status != 400 {
		t.Errorf("PATCH of a posted invoice: %d %s", r.status, r.body)
	}
	// G/L entries are read-only: POST is refused with BC's method-not-allowed.
	r = e.do(http.MethodPost, c+"/generalLedgerEntries", map[string]any{"description": "x"})
	if r.status != 405 || r.errorCode() != "BadRequest_MethodNotAllowed" {
		t.Errorf("POST on G/L entries: %d %s", r.status, r.body)
	}
}

func TestBatchSnapshotIsAtomic(t *testing.T) {
	t.Parallel()
	e := setup(t, emulator.Config{})
	ref := e.emu.DemoCompanyRef()
	before := e.emu.Count(ref, "customers")
	batch := map[string]any{"requests": []any{
		map[string]any{"id": "1", "method": "POST", "url": "companies(" + ref.CompanyID + ")/customers", "headers": map[string]string{"Content-Type": "application/json"}, "body": map[string]any{"displayName": "Batch One"}},
		map[string]any{"id": "2", "method": "POST", "url": "companies(" + ref.CompanyID + ")/customers", "headers": map[string]string{"Content-Type": "application/json"}, "body": map[string]any{"displayName": "Batch Two"}},
		map[string]any{"id": "3", "method": "PATCH", "url": "companies(" + ref.CompanyID + ")/customers(00000000-0000-0000-0000-000000000001)", "headers": map[string]string{"If-Match": "*"}, "body": map[string]any{"displayName": "x"}},
	}}
	r := e.do(http.MethodPost, e.api()+"/$batch", batch, "Isolation", "snapshot")
	if r.status != 200 {
		t.Fatalf("$batch: %d %s", r.status, r.body)
	}
	var res struct {
		Responses []struct {
			ID     any `json:"id"`
			Status int `json:"status"`
		} `json:"responses"`
	}
	_ = json.Unmarshal(r.body, &res)
	if len(res.Responses) != 3 || res.Responses[0].Status != 201 || res.Responses[2].Status != 404 || res.Responses[0].ID != "1" {
		t.Fatalf("responses: %+v", res.Responses)
	}
	if after := e.emu.Count(ref, "customers"); after != before {
		t.Errorf("snapshot batch with a failure left %d customers, want %d (rolled back)", after, before)
	}
	// Without Isolation the successes stay.
	r = e.do(http.MethodPost, e.api()+"/$batch", batch)
	if after := e.emu.Count(ref, "customers"); after != before+2 {
		t.Errorf("non-transactional batch: %d customers, want %d", after, before+2)
	}
	// More than 100 operations is refused.
	var ops []any
	for i := 0; i < 101; i++ {
		ops = append(ops, map[string]any{"method": "GET", "url": "companies"})
	}
	if r = e.do(http.MethodPost, e.api()+"/$batch", map[string]any{"requests": ops}); r.status != 400 {
		t.Errorf("101 operations: %d", r.status)
	}
}

// TestConcurrencyLimits: with BC's limits scaled down (1 slot, 1 queued) and a slow server,
// the second request waits and the third gets 429 with Retry-After.
func TestConcurrencyLimits(t *testing.T) {
	t.Parallel()
	e := setup(t, emulator.Config{
		Limits:  throttle.Config{MaxConcurrent: 1, MaxQueue: 1},
		Latency: throttle.Latency{Overhead: 300 * time.Millisecond},
	})
	e.mustToken()
	var wg sync.WaitGroup
	statuses := make(chan int, 3)
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			time.Sleep(time.Duration(i) * 50 * time.Millisecond)
			statuses <- e.get(e.api() + "/companies").status
		}(i)
	}
	wg.Wait()
	close(statuses)
	count := map[int]int{}
	for s := range statuses {
		count[s]++
	}
	if count[200] != 2 || count[429] != 1 {
		t.Errorf("statuses %v, want two 200 and one 429", count)
	}
}

func TestInjectedFaults(t *testing.T) {
	t.Parallel()
	e := setup(t, emulator.Config{})
	rules, err := fault.Parse("seq:bc=503,429,ok")
	if err != nil {
		t.Fatal(err)
	}
	for _, rule := range rules {
		if err := e.emu.Faults().Add(rule); err != nil {
			t.Fatal(err)
		}
	}
	e.mustToken()
	want := []int{503, 429, 200}
	for i, w := range want {
		r := e.get(e.api() + "/companies")
		if r.status != w {
			t.Errorf("request %d: %d, want %d", i, r.status, w)
		}
		if w != 200 && r.header.Get("Retry-After") == "" {
			t.Errorf("request %d: no Retry-After", i)
		}
	}
}
