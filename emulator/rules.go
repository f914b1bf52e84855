package emulator

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bizzjoiner/bcconnector/bcschema"
)

// seriesPrefix is the number series of entity sets whose number BC assigns on insert
// (§10.2: number from series unless given).
var seriesPrefix = map[string]string{
	"customers": "C", "vendors": "V", "items": "I", "contacts": "CT", "employees": "E",
	"salesInvoices": "S-INV", "salesOrders": "S-ORD", "salesQuotes": "S-QUO", "salesCreditMemos": "S-CR",
	"purchaseInvoices": "P-INV", "purchaseOrders": "P-ORD", "purchaseCreditMemos": "P-CR",
}

// customerDocs and vendorDocs are documents whose create needs a customer or vendor.
var (
	customerDocs = map[string]bool{"salesInvoices": true, "salesOrders": true, "salesQuotes": true, "salesCreditMemos": true}
	vendorDocs   = map[string]bool{"purchaseInvoices": true, "purchaseOrders": true, "purchaseCreditMemos": true}
)

// businessRules applies the AL page logic the emulator models for the core entity sets:
// number series, mandatory fields, references resolved by id or number, line amounts.
func (e *Emulator) businessRules(w *writer, ent *bcschema.Entity, row, body map[string]any, creating bool) *apiError {
	set := ent.EntitySet
	if creating {
		if p, ok := seriesPrefix[set]; ok {
			if n, _ := row["number"].(string); n == "" {
				row["number"] = fmt.Sprintf("%s%06d", p, w.c.nextNumber(set, 100001))
			}
		}
		if set == "customers" {
			// APIV2 Customers: 'A "displayName" must be provided.' (bc-entra-facts §10.2, CODE)
			if s, _ := row["displayName"].(string); s == "" {
				return errf(http.StatusBadRequest, codeDialog, `A "displayName" must be provided.`)
			}
		}
		if _, ok := ent.Field("status"); ok && (customerDocs[set] || vendorDocs[set]) {
			row["status"] = "Draft"
		}
	}
	switch {
	case customerDocs[set]:
		return e.resolveParty(w, row, body, creating, "customers", "customer", "customerId", "customerNumber", "customerName")
	case vendorDocs[set]:
		return e.resolveParty(w, row, body, creating, "vendors", "vendor", "vendorId", "vendorNumber", "vendorName")
	case ent.Parent != nil && (customerDocs[ent.Parent.EntitySet] || vendorDocs[ent.Parent.EntitySet]):
		return e.lineRules(w, ent, row, body, creating)
	}
	return nil
}

// resolveParty fills a document's customer or vendor from its id or number.
func (e *Emulator) resolveParty(w *writer, row, body map[string]any, creating bool, set, noun, idField, numField, nameField string) *apiError {
	_, hasID := body[idField]
	_, hasNum := body[numField]
	if !hasID && !hasNum {
		if creating {
			// APIV2 Sales Invoices: 'A "customerNumber" or a "customerId" must be provided.'
			return errf(http.StatusBadRequest, codeDialog, `A "%s" or a "%s" must be provided.`, numField, idField)
		}
		return nil
	}
	ent, _ := e.sch().EntitySet(set)
	tab := e.tableOf(w.c, ent)
	var party rowRef
	var ok bool
	if hasID {
		party, ok = tab.get(row[idField].(string))
	} else {
		party, ok = findBy(tab, "number", row[numField])
	}
	if !ok {
		return errf(http.StatusBadRequest, "Internal_InvalidTableRelation",
			"The field %s of table %s contains a value (%v) that cannot be found in the related table (%s).", caption(numField), "Document", firstNonEmpty(body[numField], body[idField]), caption(noun))
	}
	row[idField] = party.row["id"]
	row[numField] = party.row["number"]
	if _, ok := row[nameField]; ok {
		row[nameField] = party.row["displayName"]
	}
	e.copyParty(w, row, body, party.row, set == "vendors")
	return nil
}

// addressParts pairs a party's address fields with a document's address suffixes.
var addressParts = [][2]string{
	{"addressLine1", "AddressLine1"}, {"addressLine2", "AddressLine2"}, {"city", "City"},
	{"state", "State"}, {"country", "Country"}, {"postalCode", "PostCode"},
}

// copyParty fills a document header from its customer or vendor as BC's Sales and Purchase
// Header do when the party is validated: the sell-to/buy-from, bill-to/pay-to (and, on
// sales documents, ship-to) names and addresses, phone and e-mail, currency, payment terms,
// shipment method and salesperson, and blank document dates (today; the due date from the
// payment terms). Fields the request body sets keep its values.
func (e *Emulator) copyParty(w *writer, row, body, party map[string]any, vendor bool) {
	set := func(field string, v any) {
		if _, given := body[field]; given || v == nil {
			return
		}
		if _, has := row[field]; has {
			row[field] = v
		}
	}
	from, to := []string{"sellTo", "billTo", "shipTo"}, "billTo"
	if vendor {
		from, to = []string{"buyFrom", "payTo"}, "payTo"
	}
	for _, prefix := range from {
		for _, p := range addressParts {
			set(prefix+p[1], party[p[0]])
		}
	}
	set(to+"Name", party["displayName"])
	set(to+"CustomerId", party["id"])
	set(to+"CustomerNumber", party["number"])
	set(to+"VendorId", party["id"])
	set(to+"VendorNumber", party["number"])
	if !vendor {
		set("shipToName", party["displayName"])
		set("phoneNumber", party["phoneNumber"])
		set("email", party["email"])
		set("salesperson", party["salespersonCode"])
		set("shipmentMethodId", party["shipmentMethodId"])
	}
	for _, f := range []string{"currencyId", "currencyCode", "paymentTermsId"} {
		set(f, party[f])
	}
	today := w.rc.now.Format(time.DateOnly)
	for _, f := range []string{"orderDate", "postingDate", "invoiceDate", "documentDate", "creditMemoDate"} {
		if row[f] == blankDate {
			set(f, today)
		}
	}
	if row["dueDate"] == blankDate {
		set("dueDate", w.rc.now.AddDate(0, 0, e.dueDays(w, party)).Format(time.DateOnly))
	}
}

// blankDate is BC's "no date".
const blankDate = "0001-01-01"

// dueDays reads a party's payment terms' due date formula ("14D", "1M"; 30 days otherwise).
func (e *Emulator) dueDays(w *writer, party map[string]any) int {
	ent, _ := e.sch().EntitySet("paymentTerms")
	id, _ := party["paymentTermsId"].(string)
	terms, ok := e.tableOf(w.c, ent).get(strings.ToLower(id))
	if !ok {
		return 30
	}
	calc, _ := terms.row["dueDateCalculation"].(string)
	calc = strings.ToUpper(strings.TrimSpace(calc))
	if len(calc) < 2 {
		return 30
	}
	n, err := strconv.Atoi(calc[:len(calc)-1])
	if err != nil || n < 0 {
		return 30
	}
	switch calc[len(calc)-1] {
	case 'D':
		return n
	case 'W':
		return 7 * n
	case 'M':
		return 30 * n
	}
	return 30
}

// lineRules resolves a document line's document, item or account, sequence and amounts.
func (e *Emulator) lineRules(w *writer, ent *bcschema.Entity, row, body map[string]any, creating bool) *apiError {
	parent, _ := e.sch().EntitySet(ent.Parent.EntitySet)
	docID, _ := row[ent.Parent.ChildField].(string)
	doc, ok := e.tableOf(w.c, parent).get(docID)
	if !ok {
		return errf(http.StatusBadRequest, codeDialog, "The %s with id '%s' does not exist; add lines to an existing document (set %s).", parent.Caption, docID, ent.Parent.ChildField)
	}
	if isPosted(parent, doc.row) {
		return errf(http.StatusBadRequest, codeDialog, "You cannot change the lines of a posted document (%s %v).", parent.Caption, doc.row["number"])
	}
	if creating {
		if s, _ := row["sequence"].(int64); s == 0 {
			row["sequence"] = int64(10000 * (1 + e.countLines(w.c, ent, docID)))
		}
		if _, given := body["lineType"]; !given {
			if _, has := ent.Field("lineType"); has {
				row["lineType"] = "Item" // a line with an item or number is an item line
			}
		}
	}
	_, hasItem := body["itemId"]
	_, hasObj := body["lineObjectNumber"]
	if lt, _ := row["lineType"].(string); lt == "Item" && (hasItem || hasObj) {
		items, _ := e.sch().EntitySet("items")
		tab := e.tableOf(w.c, items)
		var item rowRef
		var found bool
		if hasItem {
			item, found = tab.get(row["itemId"].(string))
		} else {
			item, found = findBy(tab, "number", row["lineObjectNumber"])
		}
		if !found {
			return errf(http.StatusBadRequest, "Internal_InvalidTableRelation", "The item %v does not exist. Identification fields and values: No.='%v'", firstNonEmpty(body["lineObjectNumber"], body["itemId"]), firstNonEmpty(body["lineObjectNumber"], body["itemId"]))
		}
		row["itemId"] = item.row["id"]
		row["lineObjectNumber"] = item.row["number"]
		if d, _ := row["description"].(string); d == "" {
			row["description"] = item.row["displayName"]
		}
		if _, given := body["unitPrice"]; !given {
			if _, has := ent.Field("unitPrice"); has {
				row["unitPrice"] = item.row["unitPrice"]
			}
		}
	}
	computeLineAmounts(ent, row)
	return nil
}

// computeLineAmounts keeps a line's read-only amounts consistent with quantity and price.
func computeLineAmounts(ent *bcschema.Entity, row map[string]any) {
	qty, _ := row["quantity"].(float64)
	price, _ := row["unitPrice"].(float64)
	if _, ok := ent.Field("unitPrice"); !ok {
		price, _ = row["unitCost"].(float64)
	}
	disc, _ := row["discountAmount"].(float64)
	net := round2(qty*price - disc)
	tax, _ := row["taxPercent"].(float64)
	set := func(name string, v float64) {
		if _, ok := ent.Field(name); ok {
			row[name] = v
		}
	}
	set("amountExcludingTax", net)
	set("netAmount", net)
	set("totalTaxAmount", round2(net*tax/100))
	set("amountIncludingTax", round2(net*(1+tax/100)))
	set("netAmountIncludingTax", round2(net*(1+tax/100)))
}

// recomputeTotals sums a document's lines into its header totals.
func (e *Emulator) recomputeTotals(c *company, parent, child *bcschema.Entity, header map[string]any) {
	id, _ := header["id"].(string)
	tab := e.tableOf(c, child)
	link := map[string]any{child.Parent.ChildField: id}
	rng := planRange(tab, child, nil, link)
	var excl, tax float64
	for {
		rows, last, done := tab.next(rng, chunkRows, rowPredicate(nil, link, nil))
		for _, ref := range rows {
			a, _ := ref.row["amountExcludingTax"].(float64)
			t, _ := ref.row["totalTaxAmount"].(float64)
			excl += a
			tax += t
		}
		if done {
			break
		}
		rng.after = last
	}
	set := func(name string, v float64) {
		if _, ok := parent.Field(name); ok {
			header[name] = round2(v)
		}
	}
	set("totalAmountExcludingTax", excl)
	set("totalTaxAmount", tax)
	set("totalAmountIncludingTax", excl+tax)
}

func (e *Emulator) countLines(c *company, ent *bcschema.Entity, docID string) int {
	tab := e.tableOf(c, ent)
	link := map[string]any{ent.Parent.ChildField: docID}
	return countMatches(tab, planRange(tab, ent, nil, link), rowPredicate(nil, link, nil))
}

// findBy returns the first row whose field equals v.
func findBy(tab *table, field string, v any) (rowRef, bool) {
	keep := func(row map[string]any) bool { return row[field] == v }
	rng := scanRange{lo: 0, hi: tab.src.Count()}
	if lo, hi, ok := tab.src.IndexRange(field, "eq", v); ok {
		rng.lo, rng.hi = lo, hi
	}
	rows, _, _ := tab.next(rng, 1, keep)
	if len(rows) == 0 {
		return rowRef{}, false
	}
	return rows[0], true
}

func round2(x float64) float64 { return math.Round(x*100) / 100 }

func firstNonEmpty(vs ...any) any {
	for _, v := range vs {
		if v != nil && v != "" {
			return v
		}
	}
	return ""
}
