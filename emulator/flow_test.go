package emulator_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/emulator"
)

// TestRequestFlow walks the request flow of bc-entra-facts §4 with a token from
// azidentity: companies, filter, create, patch with If-Match, delete, nextLink.
func TestRequestFlow(t *testing.T) {
	t.Parallel()
	e := setup(t, emulator.Config{})

	// List companies and find Company X by name.
	r := e.get(e.api() + "/companies")
	if r.status != 200 {
		t.Fatalf("companies: %d %s", r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); !strings.Contains(ct, "odata.metadata=minimal") {
		t.Errorf("Content-Type = %q", ct)
	}
	var companies struct {
		Context string `json:"@odata.context"`
		Value   []struct{ ID, Name string }
	}
	_ = json.Unmarshal(r.body, &companies)
	names := map[string]string{}
	for _, c := range companies.Value {
		names[c.Name] = c.ID
	}
	for _, want := range []string{emulator.DemoCompany, emulator.DemoCompanyAmpersand, emulator.DemoCompanyUnicode} {
		if names[want] == "" {
			t.Errorf("company %q missing from %v", want, names)
		}
	}
	if !strings.HasSuffix(companies.Context, "/$metadata#companies") {
		t.Errorf("@odata.context = %q", companies.Context)
	}
	// Filter companies by a name with & and ' (escaped as '' in the literal).
	r = e.get(e.api() + "/companies?$filter=" + esc("name eq 'Fabrikam & O''Brien Ltd.'"))
	if got := len(r.json(t)["value"].([]any)); r.status != 200 || got != 1 {
		t.Fatalf("filter by name with & and ': %d rows, %d %s", got, r.status, r.body)
	}

	// Create a customer, read it back, patch it with its ETag, then with a stale one.
	r = e.do(http.MethodPost, e.companyURL()+"/customers", map[string]any{"displayName": "O'Neil & Sons", "email": "ap@oneil.example"})
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	cust := r.json(t)
	id, etag := cust["id"].(string), cust["@odata.etag"].(string)
	if !strings.HasPrefix(etag, `W/"`) || cust["number"] == "" || cust["lastModifiedDateTime"] == "0001-01-01T00:00:00Z" {
		t.Errorf("created customer lacks etag/number/lastModifiedDateTime: %v", cust)
	}
	r = e.get(e.companyURL() + "/customers?$filter=" + esc("displayName eq 'O''Neil & Sons'"))
	if v := r.json(t)["value"].([]any); len(v) != 1 || v[0].(map[string]any)["id"] != id {
		t.Fatalf("filter found %v", v)
	}
	r = e.do(http.MethodPatch, e.companyURL()+"/customers("+id+")", map[string]any{"phoneNumber": "555-0100"})
	if r.status != 400 || r.errorCode() != "BadRequest_InvalidToken" || !strings.Contains(string(r.body), "Could not validate the client concurrency token") {
		t.Errorf("PATCH without If-Match: %d %s", r.status, r.body)
	}
	r = e.do(http.MethodPatch, e.companyURL()+"/customers("+id+")", map[string]any{"phoneNumber": "555-0100"}, "If-Match", etag)
	if r.status != 200 {
		t.Fatalf("PATCH: %d %s", r.status, r.body)
	}
	newTag := r.json(t)["@odata.etag"].(string)
	if newTag == etag {
		t.Error("ETag did not change on write")
	}
	r = e.do(http.MethodPatch, e.companyURL()+"/customers("+id+")", map[string]any{"phoneNumber": "555-0199"}, "If-Match", etag)
	if r.status != http.StatusConflict || r.errorCode() != "Request_EntityChanged" {
		t.Errorf("stale PATCH: %d %s", r.status, r.body)
	}
	r = e.do(http.MethodPatch, e.companyURL()+"/customers("+id+")", map[string]any{"balanceDue": 10}, "If-Match", "*")
	if r.status != 400 || r.errorCode() != "BadRequest_InvalidOperation" {
		t.Errorf("read-only field: %d %s", r.status, r.body)
	}
	r = e.do(http.MethodDelete, e.companyURL()+"/customers("+id+")", nil, "If-Match", newTag)
	if r.status != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", r.status, r.body)
	}
	if r = e.get(e.companyURL() + "/customers(" + id + ")"); r.status != 404 {
		t.Errorf("GET after delete: %d", r.status)
	}

	// Follow nextLink through all G/L entries with a small page size.
	ref := e.emu.DemoCompanyRef()
	want := e.emu.Count(ref, "generalLedgerEntries")
	seen := map[string]bool{}
	next := e.companyURL() + "/generalLedgerEntries"
	pages := 0
	for next != "" {
		r = e.get(next, "Prefer", "odata.maxpagesize=300", "Data-Access-Intent", "ReadOnly")
		if r.status != 200 {
			t.Fatalf("page %d: %d %s", pages, r.status, r.body)
		}
		if pages == 0 && r.header.Get("Preference-Applied") != "odata.maxpagesize=300" {
			t.Errorf("Preference-Applied = %q", r.header.Get("Preference-Applied"))
		}
		var page struct {
			Value []map[string]any `json:"value"`
			Next  string           `json:"@odata.nextLink"`
		}
		_ = json.Unmarshal(r.body, &page)
		if len(page.Value) > 300 {
			t.Fatalf("page of %d rows > maxpagesize", len(page.Value))
		}
		for _, row := range page.Value {
			id := row["id"].(string)
			if seen[id] {
				t.Fatalf("row %s served twice", id)
			}
			seen[id] = true
		}
		if page.Next != "" && !strings.HasPrefix(page.Next, "https://") {
			t.Fatalf("nextLink not absolute: %s", page.Next)
		}
		next = page.Next
		pages++
	}
	if len(seen) != want || pages != (want+299)/300 {
		t.Errorf("paged %d rows in %d pages, want %d rows", len(seen), pages, want)
	}
}

// TestTopSuppressesNextLink reproduces BC's silent truncation with $top (peers §0).
func TestTopSuppressesNextLink(t *testing.T) {
	t.Parallel()
	e := setup(t, emulator.Config{MaxPageSize: 100})
	r := e.get(e.companyURL() + "/generalLedgerEntries?$top=250")
	m := r.json(t)
	if n := len(m["value"].([]any)); n != 100 {
		t.Errorf("$top=250 with cap 100 returned %d rows, want 100", n)
	}
	if _, ok := m["@odata.nextLink"]; ok {
		t.Error("$top must suppress @odata.nextLink")
	}
	r = e.get(e.companyURL() + "/generalLedgerEntries")
	if _, ok := r.json(t)["@odata.nextLink"]; !ok {
		t.Error("a full page without $top needs @odata.nextLink")
	}
}

func TestQueryOptions(t *testing.T) {
	t.Parallel()
	e := setup(t, emulator.Config{})
	c := e.companyURL()

	// $orderby with paging stays complete and ordered.
	var last float64 = -1
	seen := 0
	next := c + "/generalLedgerEntries?$orderby=" + esc("debitAmount desc") + "&$select=id,debitAmount"
	for next != "" {
		r := e.get(next, "Prefer", "odata.maxpagesize=500")
		var page struct {
			Value []map[string]any `json:"value"`
			Next  string           `json:"@odata.nextLink"`
		}
		if err := json.Unmarshal(r.body, &page); err != nil || r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		for _, row := range page.Value {
			d := row["debitAmount"].(float64)
			if last >= 0 && d > last {
				t.Fatalf("not descending: %v after %v", d, last)
			}
			if len(row) != 3 { // id, debitAmount, @odata.etag
				t.Fatalf("$select returned %v", row)
			}
			last = d
			seen++
		}
		next = page.Next
	}
	if want := e.emu.Count(e.emu.DemoCompanyRef(), "generalLedgerEntries"); seen != want {
		t.Errorf("ordered paging saw %d rows, want %d", seen, want)
	}

	// /$count and $count=true.
	r := e.get(c + "/customers/$count")
	if want := fmt.Sprint(e.emu.Count(e.emu.DemoCompanyRef(), "customers")); string(r.body) != want {
		t.Errorf("/$count = %q, want %s", r.body, want)
	}
	// Unsupported OR across fields is rejected with BC's message.
	r = e.get(c + "/customers?$filter=" + esc("number eq '1' or displayName eq 'x'"))
	if r.status != 501 || !strings.Contains(string(r.body), "The 'OR' operator is not supported on distinct fields on an OData filter.") {
		t.Errorf("or across fields: %d %s", r.status, r.body)
	}
	// Unknown option and unknown property.
	if r = e.get(c + "/customers?$search=x"); r.status != 400 {
		t.Errorf("$search: %d", r.status)
	}
	if r = e.get(c + "/customers?$filter=" + esc("nope eq 1")); r.status != 400 {
		t.Errorf("unknown property: %d", r.status)
	}
	// Lines need their document (schema note).
	r = e.get(c + "/salesInvoiceLines")
	if r.status != 400 || !strings.Contains(string(r.body), "You must specify an Id or a Document Id to get the lines.") {
		t.Errorf("lines without document: %d %s", r.status, r.body)
	}
	// $expand of lines, nested $select.
	r = e.get(c + "/salesInvoices?$top=3&$expand=" + esc("salesInvoiceLines($select=id,documentId,amountExcludingTax),customer"))
	for _, inv := range r.json(t)["value"].([]any) {
		m := inv.(map[string]any)
		lines := m["salesInvoiceLines"].([]any)
		if len(lines) == 0 {
			t.Errorf("invoice %v has no expanded lines", m["number"])
		}
		var sum float64
		for _, l := range lines {
			lm := l.(map[string]any)
			if lm["documentId"] != m["id"] {
				t.Fatalf("line of another document: %v", lm)
			}
			sum += lm["amountExcludingTax"].(float64)
		}
		if cu, ok := m["customer"].(map[string]any); !ok || cu["id"] != m["customerId"] {
			t.Errorf("expanded customer %v does not match customerId %v", m["customer"], m["customerId"])
		}
		if diff := sum - m["totalAmountExcludingTax"].(float64); diff > 0.05 || diff < -0.05 {
			t.Errorf("invoice total %v != sum of lines %v", m["totalAmountExcludingTax"], sum)
		}
	}
	// Navigation path to the lines of one invoice, and ?company= addressing by name.
	inv := e.get(c + "/salesInvoices?$top=1").json(t)["value"].([]any)[0].(map[string]any)
	r = e.get(c + "/salesInvoices(" + inv["id"].(string) + ")/salesInvoiceLines")
	if r.status != 200 || len(r.json(t)["value"].([]any)) == 0 {
		t.Errorf("lines through navigation: %d %s", r.status, r.body)
	}
	r = e.get(e.api() + "/customers?$top=1&company=" + esc(emulator.DemoCompanyAmpersand))
	if r.status != 200 {
		t.Errorf("?company= by name with & and ': %d %s", r.status, r.body)
	}
}

func TestServiceDocumentAndMetadata(t *testing.T) {
	t.Parallel()
	e := setup(t, emulator.Config{})
	r := e.get(e.api() + "/")
	if r.status != 200 || !strings.Contains(string(r.body), `"name":"customers"`) {
		t.Errorf("service document: %d %.200s", r.status, r.body)
	}
	r = e.get(e.api() + "/$metadata")
	if r.status != 200 || !strings.Contains(string(r.body), `<EntityType Name="customer"`) {
		t.Errorf("$metadata: %d %.200s", r.status, r.body)
	}
	// A custom API route with its own entity set.
	r = e.get(e.srv.URL + "/v2.0/" + e.creds.TenantID + "/Production/api/contoso/inventory/v1.0/companies(" + e.emu.DemoCompanyRef().CompanyID + ")/inventoryLevels?$top=2")
	if r.status != 200 || len(r.json(t)["value"].([]any)) != 2 {
		t.Errorf("custom API: %d %s", r.status, r.body)
	}
}

// TestOrderByMonotonicField pages through $orderby on fields the base rows are ordered by,
// with written rows mixed in, and checks order and completeness.
func TestOrderByMonotonicField(t *testing.T) {
	t.Parallel()
	e := setup(t, emulator.Config{})
	ref := e.emu.DemoCompanyRef()
	if err := e.emu.Mutate(120, emulator.MutatorConfig{EntitySets: []string{"generalLedgerEntries", "customers"}}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		set, order, field string
		desc              bool
	}{
		{"generalLedgerEntries", "entryNumber desc", "entryNumber", true},
		{"generalLedgerEntries", "entryNumber", "entryNumber", false},
		{"customers", "lastModifiedDateTime", "lastModifiedDateTime", false},
	} {
		next := e.companyURL() + "/" + tc.set + "?$orderby=" + esc(tc.order)
		var prev any
		seen := map[string]bool{}
		for next != "" {
			r := e.get(next, "Prefer", "odata.maxpagesize=97")
			var page struct {
				Value []map[string]any `json:"value"`
				Next  string           `json:"@odata.nextLink"`
			}
			if err := json.Unmarshal(r.body, &page); err != nil || r.status != 200 {
				t.Fatalf("%s: %d %s", tc.order, r.status, r.body)
			}
			for _, row := range page.Value {
				v := row[tc.field]
				if prev != nil {
					a, b := fmt.Sprint(prev), fmt.Sprint(v)
					if f, ok := v.(float64); ok {
						a, b = fmt.Sprintf("%020.0f", prev.(float64)), fmt.Sprintf("%020.0f", f)
					}
					if ta, err := time.Parse(time.RFC3339Nano, a); err == nil {
						tb, _ := time.Parse(time.RFC3339Nano, b)
						a, b = ta.Format("2006-01-02T15:04:05.000Z"), tb.Format("2006-01-02T15:04:05.000Z")
					}
					if (!tc.desc && b < a) || (tc.desc && b > a) {
						t.Fatalf("%s: %v after %v", tc.order, v, prev)
					}
				}
				prev = v
				id := row["id"].(string)
				if seen[id] {
					t.Fatalf("%s: %s twice", tc.order, id)
				}
				seen[id] = true
			}
			next = page.Next
		}
		if want := e.emu.Count(ref, tc.set); len(seen) != want {
			t.Errorf("%s: %d rows, want %d", tc.order, len(seen), want)
		}
	}
	// $top with $orderby desc is the cheap probe for the highest entry number.
	r := e.get(e.companyURL() + "/generalLedgerEntries?$top=1&$orderby=" + esc("entryNumber desc") + "&$select=entryNumber")
	top := r.json(t)["value"].([]any)[0].(map[string]any)["entryNumber"].(float64)
	if int(top) != e.emu.Count(ref, "generalLedgerEntries") {
		t.Errorf("highest entryNumber %v, want %d", top, e.emu.Count(ref, "generalLedgerEntries"))
	}
}
