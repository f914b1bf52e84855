package emulator

import (
	"fmt"
	"math"
	"net/http"

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
	ent, _ := e.schema.EntitySet(set)
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
	return nil
}

// lineRules resolves a document line's document, item or account, sequence and amounts.
func (e *Emulator) lineRules(w *writer, ent *bcschema.Entity, row, body map[string]any, creating bool) *apiError {
	parent, _ := e.schema.EntitySet(ent.Parent.EntitySet)
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
		items, _ := e.schema.EntitySet("items")
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
