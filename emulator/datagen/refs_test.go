package datagen

import (
	"math"
	"strings"
	"testing"

	"github.com/bizzjoiner/bcconnector/bcschema"
)

// rowsOf generates every row of a set.
func rowsOf(g *Generator, set string) []map[string]any {
	rows := make([]map[string]any, g.Count(testCompany, set))
	for i := range rows {
		rows[i] = g.Row(testCompany, set, i)
	}
	return rows
}

func byKey(rows []map[string]any, key string) map[string]map[string]any {
	m := make(map[string]map[string]any, len(rows))
	for _, r := range rows {
		m[r[key].(string)] = r
	}
	return m
}

func near(a, b float64) bool { return math.Abs(a-b) < 0.005 }

// derivedGUIDFields are GUID fields that hold identifiers of things that are not rows (users,
// system tasks, workflow step instances) or link to a parent's non-key GUID.
var derivedGUIDFields = map[string]bool{"systemCreatedBy": true, "systemModifiedBy": true, "userId": true,
	"systemTaskId": true, "workflowStepInstanceId": true, "argumentId": true, "argument": true,
	"jobQueueEntryId": true}

// TestEveryReferenceResolves checks that every non-blank GUID field other than the key is the
// key of a row in the same company.
func TestEveryReferenceResolves(t *testing.T) {
	t.Parallel()
	g := New(21, everySet(t))
	schema := bcschema.MustLoad()
	keys := map[string]string{} // key -> set
	for _, e := range schema.Entities {
		if e.Scope != "company" || len(e.Key) == 0 {
			continue
		}
		for i := 0; i < g.Count(testCompany, e.EntitySet); i++ {
			keys[g.Key(testCompany, e.EntitySet, i)] = e.EntitySet
		}
	}
	for _, e := range schema.Entities {
		if e.Scope != "company" {
			continue
		}
		for i := 0; i < g.Count(testCompany, e.EntitySet); i++ {
			row := g.Row(testCompany, e.EntitySet, i)
			for _, f := range e.Fields {
				if f.Type != bcschema.TypeGuid || (len(e.Key) > 0 && f.Name == e.Key[0]) || derivedGUIDFields[f.Name] {
					continue
				}
				if e.EntitySet == "workflowResponseOptions" && f.Name == "id" {
					continue // links to workflowSteps.argument, checked in TestChildLinks
				}
				v := row[f.Name].(string)
				if v == bcschema.BlankGUID {
					continue
				}
				if _, ok := keys[v]; !ok {
					t.Errorf("%s[%d].%s = %s is not the key of any row", e.EntitySet, i, f.Name, v)
				}
			}
		}
	}
}

func TestDocumentsReferenceRealRowsAndTotalTheirLines(t *testing.T) {
	t.Parallel()
	g := New(22, nil)
	customers := byKey(rowsOf(g, "customers"), "id")
	vendors := byKey(rowsOf(g, "vendors"), "id")
	items := byKey(rowsOf(g, "items"), "id")
	accounts := byKey(rowsOf(g, "accounts"), "id")
	for _, tc := range []struct{ header, lines, party, partyID, partyNo, partyName, price string }{
		{"salesInvoices", "salesInvoiceLines", "c", "customerId", "customerNumber", "customerName", "unitPrice"},
		{"salesOrders", "salesOrderLines", "c", "customerId", "customerNumber", "customerName", "unitPrice"},
		{"salesQuotes", "salesQuoteLines", "c", "customerId", "customerNumber", "customerName", "unitPrice"},
		{"salesCreditMemos", "salesCreditMemoLines", "c", "customerId", "customerNumber", "customerName", "unitPrice"},
		{"purchaseInvoices", "purchaseInvoiceLines", "v", "vendorId", "vendorNumber", "vendorName", "unitCost"},
		{"purchaseOrders", "purchaseOrderLines", "v", "vendorId", "vendorNumber", "vendorName", "directUnitCost"},
		{"purchaseCreditMemos", "purchaseCreditMemoLines", "v", "vendorId", "vendorNumber", "vendorName", "unitCost"},
	} {
		parties := customers
		if tc.party == "v" {
			parties = vendors
		}
		for p := 0; p < g.Count(testCompany, tc.header); p++ {
			h := g.Row(testCompany, tc.header, p)
			pr, ok := parties[h[tc.partyID].(string)]
			if !ok {
				t.Fatalf("%s[%d].%s does not resolve", tc.header, p, tc.partyID)
			}
			if h[tc.partyNo] != pr["number"] || h[tc.partyName] != pr["displayName"] {
				t.Errorf("%s[%d]: party %v/%v, row says %v/%v", tc.header, p, h[tc.partyNo], h[tc.partyName], pr["number"], pr["displayName"])
			}
			if tc.party == "c" && (h["sellToCity"] != pr["city"] || h["billToCustomerId"] != pr["id"]) {
				t.Errorf("%s[%d]: sellToCity %v vs customer city %v", tc.header, p, h["sellToCity"], pr["city"])
			}
			if h["currencyCode"] != pr["currencyCode"] || h["currencyId"] != pr["currencyId"] {
				t.Errorf("%s[%d]: currency %v/%v, party %v/%v", tc.header, p, h["currencyCode"], h["currencyId"], pr["currencyCode"], pr["currencyId"])
			}
			lo, hi := g.ChildRange(testCompany, tc.lines, p)
			var excl, tax, incl float64
			for ci := lo; ci < hi; ci++ {
				l := g.Row(testCompany, tc.lines, ci)
				if l["documentId"] != h["id"] {
					t.Fatalf("%s[%d].documentId = %v, want header %v", tc.lines, ci, l["documentId"], h["id"])
				}
				if l["sequence"] != int64(ci-lo+1)*10000 {
					t.Errorf("%s[%d].sequence = %v", tc.lines, ci, l["sequence"])
				}
				switch l["lineType"] {
				case "Item":
					it, ok := items[l["itemId"].(string)]
					if !ok || l["lineObjectNumber"] != it["number"] || l["description"] != it["displayName"] {
						t.Errorf("%s[%d]: item line %v/%v does not match an item", tc.lines, ci, l["itemId"], l["lineObjectNumber"])
					}
					if l["accountId"] != bcschema.BlankGUID {
						t.Errorf("%s[%d]: item line with an account", tc.lines, ci)
					}
					wantPrice := it["unitPrice"]
					if tc.party == "v" {
						wantPrice = it["unitCost"]
					}
					if l[tc.price] != wantPrice {
						t.Errorf("%s[%d].%s = %v, item says %v", tc.lines, ci, tc.price, l[tc.price], wantPrice)
					}
				case "Account":
					a, ok := accounts[l["accountId"].(string)]
					if !ok || l["lineObjectNumber"] != a["number"] || a["accountType"] != "Posting" {
						t.Errorf("%s[%d]: account line %v does not match a posting account", tc.lines, ci, l["lineObjectNumber"])
					}
				case "Comment":
					if l["amountIncludingTax"] != 0.0 || l["itemId"] != bcschema.BlankGUID {
						t.Errorf("%s[%d]: comment line with amounts", tc.lines, ci)
					}
				default:
					t.Errorf("%s[%d].lineType = %v", tc.lines, ci, l["lineType"])
				}
				q, price := l["quantity"].(float64), l[tc.price].(float64)
				if !near(l["amountExcludingTax"].(float64), round2(q*price)-l["discountAmount"].(float64)) {
					t.Errorf("%s[%d]: amountExcludingTax %v != %v*%v - %v", tc.lines, ci, l["amountExcludingTax"], q, price, l["discountAmount"])
				}
				if !near(l["amountIncludingTax"].(float64), l["amountExcludingTax"].(float64)+l["totalTaxAmount"].(float64)) {
					t.Errorf("%s[%d]: amountIncludingTax inconsistent", tc.lines, ci)
				}
				excl += l["amountExcludingTax"].(float64)
				tax += l["totalTaxAmount"].(float64)
				incl += l["amountIncludingTax"].(float64)
			}
			if !near(h["totalAmountExcludingTax"].(float64), excl) || !near(h["totalTaxAmount"].(float64), tax) ||
				!near(h["totalAmountIncludingTax"].(float64), incl) {
				t.Errorf("%s[%d]: totals %v/%v/%v, lines sum to %v/%v/%v", tc.header, p,
					h["totalAmountExcludingTax"], h["totalTaxAmount"], h["totalAmountIncludingTax"], excl, tax, incl)
			}
		}
	}
}

func TestGeneralLedgerEntries(t *testing.T) {
	t.Parallel()
	g := New(23, nil)
	accounts := byKey(rowsOf(g, "accounts"), "id")
	var debit, credit float64
	prevDate := ""
	for i := 0; i < g.Count(testCompany, "generalLedgerEntries"); i++ {
		r := g.Row(testCompany, "generalLedgerEntries", i)
		if r["entryNumber"] != int64(i+1) {
			t.Fatalf("entry %d: entryNumber %v", i, r["entryNumber"])
		}
		a, ok := accounts[r["accountId"].(string)]
		if !ok || a["number"] != r["accountNumber"] || a["accountType"] != "Posting" {
			t.Fatalf("entry %d: account %v/%v is not a posting account row", i, r["accountId"], r["accountNumber"])
		}
		d, c := r["debitAmount"].(float64), r["creditAmount"].(float64)
		if (d == 0) == (c == 0) || d < 0 || c < 0 {
			t.Errorf("entry %d: debit %v credit %v, want exactly one positive", i, d, c)
		}
		debit += d
		credit += c
		if pd := r["postingDate"].(string); pd < prevDate {
			t.Errorf("entry %d: postingDate %s before %s", i, pd, prevDate)
		} else {
			prevDate = pd
		}
		if doc := r["documentNumber"].(string); doc == "" || len(doc) > 20 {
			t.Errorf("entry %d: documentNumber %q", i, doc)
		}
		if i%2 == 1 {
			prev := g.Row(testCompany, "generalLedgerEntries", i-1)
			if prev["documentNumber"] != r["documentNumber"] || prev["debitAmount"] != r["creditAmount"] ||
				prev["postingDate"] != r["postingDate"] {
				t.Errorf("entries %d/%d are not a balanced pair", i-1, i)
			}
		}
	}
	if !near(debit, credit) {
		t.Errorf("G/L does not balance: debit %v credit %v", debit, credit)
	}
}

func TestMasterDataReferences(t *testing.T) {
	t.Parallel()
	g := New(24, nil)
	cats := byKey(rowsOf(g, "itemCategories"), "id")
	units := byKey(rowsOf(g, "unitsOfMeasure"), "id")
	terms := byKey(rowsOf(g, "paymentTerms"), "id")
	currencies := byKey(rowsOf(g, "currencies"), "id")
	dims := byKey(rowsOf(g, "dimensions"), "id")
	countryCodes := map[string]bool{}
	iso := map[string]bool{}
	for _, c := range countries {
		iso[c.code] = true
	}
	for _, r := range rowsOf(g, "countriesRegions") {
		if !iso[r["code"].(string)] || len(r["code"].(string)) != 2 {
			t.Errorf("country code %v is not ISO 3166", r["code"])
		}
		countryCodes[r["code"].(string)] = true
	}
	symbols := map[string]string{"EUR": "€", "USD": "$", "GBP": "£"}
	for _, r := range currencies {
		if s, ok := symbols[r["code"].(string)]; ok && r["symbol"] != s {
			t.Errorf("currency %v symbol %v", r["code"], r["symbol"])
		}
		if r["code"] == g.LocalCurrency(testCompany) {
			t.Errorf("local currency %v listed in currencies", r["code"])
		}
	}
	for _, it := range rowsOf(g, "items") {
		if c, ok := cats[it["itemCategoryId"].(string)]; ok {
			if c["code"] != it["itemCategoryCode"] {
				t.Errorf("item %v: category code %v vs %v", it["number"], it["itemCategoryCode"], c["code"])
			}
		} else if it["itemCategoryId"] != bcschema.BlankGUID || it["itemCategoryCode"] != "" {
			t.Errorf("item %v: category %v does not resolve", it["number"], it["itemCategoryId"])
		}
		if u, ok := units[it["baseUnitOfMeasureId"].(string)]; !ok || u["code"] != it["baseUnitOfMeasureCode"] {
			t.Errorf("item %v: unit %v does not resolve", it["number"], it["baseUnitOfMeasureCode"])
		}
		if it["unitPrice"].(float64) <= 0 || it["unitCost"].(float64) >= it["unitPrice"].(float64) {
			t.Errorf("item %v: price %v cost %v", it["number"], it["unitPrice"], it["unitCost"])
		}
	}
	local := 0
	for _, set := range []string{"customers", "vendors"} {
		for _, c := range rowsOf(g, set) {
			if _, ok := terms[c["paymentTermsId"].(string)]; !ok {
				t.Errorf("%s %v: paymentTermsId does not resolve", set, c["number"])
			}
			if c["currencyId"] == bcschema.BlankGUID {
				local++
				if c["currencyCode"] != g.LocalCurrency(testCompany) {
					t.Errorf("%s %v: blank currency with code %v", set, c["number"], c["currencyCode"])
				}
			} else if cur, ok := currencies[c["currencyId"].(string)]; !ok || cur["code"] != c["currencyCode"] {
				t.Errorf("%s %v: currency %v/%v does not resolve", set, c["number"], c["currencyId"], c["currencyCode"])
			}
			if !countryCodes[c["country"].(string)] {
				t.Errorf("%s %v: country %v not in countriesRegions", set, c["number"], c["country"])
			}
			if !strings.Contains(c["email"].(string), "@") || c["city"] == "" || c["addressLine1"] == "" {
				t.Errorf("%s %v: incomplete contact data %v", set, c["number"], c)
			}
		}
	}
	if local < 60 {
		t.Errorf("only %d of 80 customers and vendors use the local currency", local)
	}
	for _, v := range rowsOf(g, "dimensionValues") {
		if _, ok := dims[v["dimensionId"].(string)]; !ok {
			t.Errorf("dimension value %v: dimensionId does not resolve", v["code"])
		}
	}
	for i, r := range rowsOf(g, "customers") {
		if want := "C" + string(appendPadded(nil, int64(10*(i+1)), 5)); r["number"] != want {
			t.Errorf("customer %d number %v, want %s", i, r["number"], want)
		}
	}
}

func TestChildLinks(t *testing.T) {
	t.Parallel()
	g := New(25, everySet(t))
	for _, e := range bcschema.MustLoad().Entities {
		if e.Parent == nil {
			continue
		}
		for i := 0; i < g.Count(testCompany, e.EntitySet); i++ {
			p := g.ParentIndex(testCompany, e.EntitySet, i)
			child := g.Row(testCompany, e.EntitySet, i)
			parent := g.Row(testCompany, e.Parent.EntitySet, p)
			if child[e.Parent.ChildField] != parent[e.Parent.ParentKeyField] {
				t.Errorf("%s[%d].%s = %v, parent %s[%d].%s = %v", e.EntitySet, i, e.Parent.ChildField,
					child[e.Parent.ChildField], e.Parent.EntitySet, p, e.Parent.ParentKeyField, parent[e.Parent.ParentKeyField])
			}
		}
	}
}

func TestChildRangeParentIndexRoundTrip(t *testing.T) {
	t.Parallel()
	g := New(26, nil)
	for _, e := range bcschema.MustLoad().Entities {
		if e.Parent == nil {
			if lo, hi := g.ChildRange(testCompany, e.EntitySet, 0); lo != 0 || hi != 0 {
				t.Errorf("ChildRange(%s) = %d,%d for a set without parent", e.EntitySet, lo, hi)
			}
			if p := g.ParentIndex(testCompany, e.EntitySet, 0); p != -1 {
				t.Errorf("ParentIndex(%s) = %d for a set without parent", e.EntitySet, p)
			}
			continue
		}
		n, parents := g.Count(testCompany, e.EntitySet), g.Count(testCompany, e.Parent.EntitySet)
		next := 0
		for p := 0; p < parents; p++ {
			lo, hi := g.ChildRange(testCompany, e.EntitySet, p)
			if lo != next || hi < lo {
				t.Fatalf("%s: ChildRange(%d) = [%d,%d), want to start at %d", e.EntitySet, p, lo, hi, next)
			}
			for c := lo; c < hi; c++ {
				if got := g.ParentIndex(testCompany, e.EntitySet, c); got != p {
					t.Fatalf("%s: ParentIndex(%d) = %d, want %d", e.EntitySet, c, got, p)
				}
			}
			next = hi
		}
		if next != n {
			t.Errorf("%s: ranges cover %d rows, Count = %d", e.EntitySet, next, n)
		}
		if lo, hi := g.ChildRange(testCompany, e.EntitySet, parents); lo != 0 || hi != 0 {
			t.Errorf("%s: ChildRange past the last parent = %d,%d", e.EntitySet, lo, hi)
		}
		if g.ParentIndex(testCompany, e.EntitySet, n) != -1 || g.ParentIndex(testCompany, e.EntitySet, -1) != -1 {
			t.Errorf("%s: ParentIndex out of range != -1", e.EntitySet)
		}
	}
}
