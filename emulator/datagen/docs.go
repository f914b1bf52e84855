package datagen

import (
	"strconv"
	"strings"
	"time"

	"github.com/bizzjoiner/bcconnector/bcschema"
)

// docDef describes a document header set (salesInvoices, purchaseOrders, …).
type docDef struct {
	sales bool   // party is a customer (else a vendor)
	lines string // the line set
	kind  string // quote, order, invoice, creditMemo, shipment, receipt
	order string // the order set shipments and receipts come from
}

// lineDef describes a document line set.
type lineDef struct {
	header string
	sales  bool
}

var docDefs = map[string]*docDef{
	"salesQuotes":         {true, "salesQuoteLines", "quote", ""},
	"salesOrders":         {true, "salesOrderLines", "order", ""},
	"salesInvoices":       {true, "salesInvoiceLines", "invoice", ""},
	"salesCreditMemos":    {true, "salesCreditMemoLines", "creditMemo", ""},
	"salesShipments":      {true, "salesShipmentLines", "shipment", "salesOrders"},
	"purchaseOrders":      {false, "purchaseOrderLines", "order", ""},
	"purchaseInvoices":    {false, "purchaseInvoiceLines", "invoice", ""},
	"purchaseCreditMemos": {false, "purchaseCreditMemoLines", "creditMemo", ""},
	"purchaseReceipts":    {false, "purchaseReceiptLines", "receipt", "purchaseOrders"},
}

var lineDefs = map[string]*lineDef{
	"salesQuoteLines":         {"salesQuotes", true},
	"salesOrderLines":         {"salesOrders", true},
	"salesInvoiceLines":       {"salesInvoices", true},
	"salesCreditMemoLines":    {"salesCreditMemos", true},
	"salesShipmentLines":      {"salesShipments", true},
	"purchaseOrderLines":      {"purchaseOrders", false},
	"purchaseInvoiceLines":    {"purchaseInvoices", false},
	"purchaseCreditMemoLines": {"purchaseCreditMemos", false},
	"purchaseReceiptLines":    {"purchaseReceipts", false},
}

// Line kinds.
const (
	lineItem = iota
	lineAccount
	lineComment
)

// lineData is the content of one document line; header totals are the sums of their lines.
type lineData struct {
	kind    int
	item    int // items row, -1
	acct    int // accounts row, -1
	it      itemInfo
	qty     float64
	price   float64
	discPct float64
	discAmt float64
	excl    float64
	taxPct  float64
	tax     float64
	incl    float64
	comment string
}

var lineComments = []string{"Delivery as agreed", "Thank you for your order", "Assembly included",
	"Deliver to the back entrance", "Prices valid for this order only", "Partial delivery accepted"}

// lineData computes line ci of a line set; it depends only on the company, the set and ci, so
// headers can total their lines without generating them.
func (c *company) lineData(ls *setState, ci int, sales bool) lineData {
	k := rowKey(ls.key, ci)
	g := c.g
	ld := lineData{item: -1, acct: -1}
	r := pick(sub(k, sLineKind), 100)
	nItems := c.count("items")
	role := roleRevenue
	if !sales {
		role = roleExpense
	}
	acct := g.roleAccount(role, sub(k, sLineAcct))
	if acct >= c.count("accounts") {
		acct = -1
	}
	switch {
	case r < 86 && nItems > 0:
		ld.kind, ld.item = lineItem, pick(sub(k, sLineItem), nItems)
		ld.it = c.item(ld.item)
		if ld.it.prod.kind == "Service" {
			ld.qty = float64(1 + pick(sub(k, sQty), 8))
		} else {
			ld.qty = float64(1 + pick(sub(k, sQty), 20))
		}
		ld.price = ld.it.price
		if !sales {
			ld.price = ld.it.cost
		}
	case r < 96 && acct >= 0:
		ld.kind, ld.acct = lineAccount, acct
		ld.qty = 1
		ld.price = money(sub(k, sPrice), 20, 2_000)
	default:
		ld.kind = lineComment
		ld.comment = lineComments[pick(sub(k, sKind), len(lineComments))]
		return ld
	}
	gross := round2(ld.qty * ld.price)
	if chance(sub(k, sDiscount), 15) {
		ld.discPct = float64(5 * (1 + pick(sub(k, sDiscount+1), 2)))
		ld.discAmt = round2(gross * ld.discPct / 100)
	}
	ld.excl = round2(gross - ld.discAmt)
	ld.taxPct = c.taxRate(ld)
	ld.tax = round2(ld.excl * ld.taxPct / 100)
	ld.incl = round2(ld.excl + ld.tax)
	return ld
}

// taxRate is the line's tax percentage: the home country's VAT rate, or its sales tax rate for
// taxable goods (labor and G/L lines are not taxed in sales-tax countries).
func (c *company) taxRate(ld lineData) float64 {
	if !c.home.salesTax {
		return c.home.taxRate
	}
	if ld.kind == lineItem && ld.it.prod.kind != "Service" {
		return c.home.taxRate
	}
	return 0
}

// taxCode is what BC shows as a line's taxCode: the tax group in sales-tax countries, the VAT
// identifier elsewhere.
func (c *company) taxCode(ld lineData) string {
	if ld.kind == lineComment {
		return ""
	}
	if c.home.salesTax {
		if ld.kind == lineItem && ld.it.taxGroup >= 0 {
			code, _ := c.g.label(c.set("taxGroups"), ld.it.taxGroup)
			return code
		}
		return ""
	}
	return "VAT" + strconv.FormatFloat(ld.taxPct, 'f', -1, 64)
}

func (x *rowCtx) lineInfo() *lineData {
	if !x.lineDone {
		x.line, x.lineDone = x.c.lineData(x.s, x.i, x.s.def.line.sales), true
	}
	return &x.line
}

// docTotals are a header's sums over its lines.
type docTotals struct{ excl, tax, incl float64 }

func (x *rowCtx) totals() docTotals {
	if !x.docDone {
		x.docDone = true
		ls := x.c.set(x.s.def.doc.lines)
		lo, hi := ls.children(x.i)
		var t docTotals
		for ci := lo; ci < hi; ci++ {
			ld := x.c.lineData(ls, ci, x.s.def.doc.sales)
			t.excl += ld.excl
			t.tax += ld.tax
			t.incl += ld.incl
		}
		x.doc = docTotals{round2(t.excl), round2(t.tax), round2(t.incl)}
	}
	return x.doc
}

// docParty is the header's customer or vendor.
func (x *rowCtx) docParty() (*party, int) {
	if !x.partyDone {
		x.partyDone = true
		set, salt := "customers", hashString("ref:customer")
		if !x.s.def.doc.sales {
			set, salt = "vendors", hashString("ref:vendor")
		}
		x.ptyIdx = x.ref(set, salt)
		if x.ptyIdx >= 0 {
			x.pty = x.c.party(x.c.set(set), x.ptyIdx)
		} else {
			x.pty = party{currency: -1, terms: -1, shipMethod: -1, payMethod: -1, taxArea: -1, salesperson: -1}
		}
	}
	return &x.pty, x.ptyIdx
}

// companyAddress is the company's own address (purchase documents ship to it).
func (c *company) companyAddress() address {
	return c.addressIn(mix64(c.key^0xadd), c.homeIndex())
}

// docStatus is the header's status: old invoices are paid, recent ones open, the newest drafts.
func (x *rowCtx) docStatus(field string) any {
	d := x.s.def
	f, h := x.frac(), x.h(sStatus)
	switch d.doc.kind {
	case "quote":
		switch {
		case f > 0.95:
			return d.enum(field, "Draft")
		case f > 0.7:
			return d.enum(field, "Sent")
		case chance(h, 60):
			return d.enum(field, "Accepted")
		}
		return d.enum(field, "Expired_x0020_")
	case "order":
		switch r := pick(h, 100); {
		case r < 85:
			return d.enum(field, "Open")
		case r < 95:
			return d.enum(field, "Draft")
		}
		return d.enum(field, "In_x0020_Review")
	}
	switch {
	case f > 0.97:
		return d.enum(field, "Draft")
	case chance(h, 2):
		return d.enum(field, "Canceled")
	case f > 0.8 || chance(mix64(h), 8):
		return d.enum(field, "Open")
	}
	return d.enum(field, "Paid")
}

// dueDay returns the due date (day index) for a posting day and payment terms row.
func (c *company) dueDay(day, terms int) int {
	if terms < 0 || terms >= len(paymentTermTable) {
		return day + 30
	}
	pt := paymentTermTable[terms]
	if pt.days < 0 {
		t := epoch.AddDate(0, 0, day)
		end := time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, -1)
		return int(end.Sub(epoch).Hours() / 24)
	}
	return day + pt.days
}

var addrPrefixes = []string{"sellTo", "billTo", "buyFrom", "payTo", "shipTo"}

// docField generates header fields.
func (g *Generator) docField(d *setDef, f *bcschema.Field) producer {
	n := f.Name
	dd := d.doc
	partySet := "customers"
	if !dd.sales {
		partySet = "vendors"
	}
	for _, p := range addrPrefixes {
		if suffix, ok := strings.CutPrefix(n, p); ok {
			part := addrPart(suffix)
			if part == nil {
				break
			}
			if p == "shipTo" && !dd.sales {
				return func(x *rowCtx) any { return part(x.c.companyAddress()) }
			}
			return func(x *rowCtx) any { pt, _ := x.docParty(); return part(pt.addr) }
		}
	}
	switch n {
	case "number":
		return func(x *rowCtx) any { return x.s.num.at(x.i) }
	case "customerId", "billToCustomerId", "vendorId", "payToVendorId":
		return func(x *rowCtx) any { _, j := x.docParty(); return x.refKey(partySet, j) }
	case "customerNumber", "billToCustomerNumber", "vendorNumber", "payToVendorNumber":
		return func(x *rowCtx) any { pt, _ := x.docParty(); return pt.number }
	case "customerName", "billToName", "vendorName", "payToName":
		return func(x *rowCtx) any { pt, _ := x.docParty(); return pt.name }
	case "shipToName":
		if !dd.sales {
			return func(x *rowCtx) any { return x.c.home.displayName }
		}
		return func(x *rowCtx) any { pt, _ := x.docParty(); return pt.name }
	case "shipToContact", "payToContact":
		if n == "shipToContact" && !dd.sales {
			return func(x *rowCtx) any { return x.c.user(1 + pick(x.h(0x5c), numUsers-1)).fullName }
		}
		return func(x *rowCtx) any { pt, _ := x.docParty(); return pt.contact }
	case "phoneNumber":
		return func(x *rowCtx) any { pt, _ := x.docParty(); return pt.phone }
	case "email":
		return func(x *rowCtx) any { pt, _ := x.docParty(); return pt.email }
	case "currencyId":
		return func(x *rowCtx) any { pt, _ := x.docParty(); return x.refKey("currencies", pt.currency) }
	case "currencyCode":
		return func(x *rowCtx) any { pt, _ := x.docParty(); return x.c.currencyCode(pt.currency) }
	case "paymentTermsId":
		return func(x *rowCtx) any { pt, _ := x.docParty(); return x.refKey("paymentTerms", pt.terms) }
	case "paymentTermsCode":
		return func(x *rowCtx) any { pt, _ := x.docParty(); return x.refCode("paymentTerms", pt.terms) }
	case "shipmentMethodId":
		return func(x *rowCtx) any { pt, _ := x.docParty(); return x.refKey("shipmentMethods", pt.shipMethod) }
	case "shipmentMethodCode":
		return func(x *rowCtx) any { pt, _ := x.docParty(); return x.refCode("shipmentMethods", pt.shipMethod) }
	case "salesperson", "purchaser":
		return func(x *rowCtx) any { pt, _ := x.docParty(); return x.refCode("salespeoplePurchasers", pt.salesperson) }
	case "pricesIncludeTax", "discountAppliedBeforeTax":
		return func(x *rowCtx) any { return false }
	case "discountAmount":
		return func(x *rowCtx) any { return 0.0 }
	case "totalAmountExcludingTax":
		return func(x *rowCtx) any { return x.totals().excl }
	case "totalTaxAmount":
		return func(x *rowCtx) any { return x.totals().tax }
	case "totalAmountIncludingTax":
		return func(x *rowCtx) any { return x.totals().incl }
	case "remainingAmount":
		return func(x *rowCtx) any {
			if x.docStatus("status") == "Open" {
				return x.totals().incl
			}
			return 0.0
		}
	case "status":
		if f.IsEnum() {
			return func(x *rowCtx) any { return x.docStatus(n) }
		}
	case "orderDate", "invoiceDate", "documentDate", "creditMemoDate":
		return func(x *rowCtx) any { return x.g.day(x.day()) }
	case "dueDate":
		return func(x *rowCtx) any { pt, _ := x.docParty(); return x.g.day(x.c.dueDay(x.day(), pt.terms)) }
	case "requestedDeliveryDate", "requestedReceiptDate":
		return func(x *rowCtx) any {
			if chance(x.h(sDueExtra), 50) {
				return blankDate
			}
			return x.g.day(x.day() + 7 + pick(x.h(sDueExtra+1), 8))
		}
	case "validUntilDate":
		return func(x *rowCtx) any { return x.g.day(x.day() + 30) }
	case "acceptedDate":
		return func(x *rowCtx) any {
			if x.docStatus("status") == "Accepted" {
				return x.g.day(x.day() + 3 + pick(x.h(sDueExtra), 10))
			}
			return blankDate
		}
	case "sentDate":
		return func(x *rowCtx) any {
			if s := x.docStatus("status"); s == "Sent" || s == "Accepted" {
				return msTime(x.lm() + hourMs)
			}
			return blankTime
		}
	case "externalDocumentNumber", "customerPurchaseOrderReference":
		salt := hashString(n)
		return func(x *rowCtx) any {
			if chance(x.h(salt), 60) {
				return ""
			}
			return "PO-" + string(appendPadded(nil, int64(10000+pick(x.h(salt^1), 89999)), 5))
		}
	case "vendorInvoiceNumber", "vendorCreditMemoNumber":
		prefix := "INV-"
		if n == "vendorCreditMemoNumber" {
			prefix = "CM-"
		}
		return func(x *rowCtx) any {
			return prefix + string(appendPadded(nil, int64(pick(x.h(sExtDoc), 999_999)), 6))
		}
	case "orderId":
		return func(x *rowCtx) any { return blankGUID }
	case "orderNumber":
		if dd.order == "" {
			return func(x *rowCtx) any { return "" }
		}
		return func(x *rowCtx) any { return x.refCode(dd.order, x.ref(dd.order, 0x0d)) }
	case "invoiceId", "invoiceNumber":
		inv := "salesInvoices"
		if !dd.sales {
			inv = "purchaseInvoices"
		}
		idx := func(x *rowCtx) int {
			if chance(x.h(0x1f), 50) {
				return -1
			}
			return x.ref(inv, 0x1e)
		}
		if n == "invoiceId" {
			return func(x *rowCtx) any { return x.refKey(inv, idx(x)) }
		}
		return func(x *rowCtx) any { return x.refCode(inv, idx(x)) }
	case "disputeStatusId":
		return func(x *rowCtx) any { return blankGUID }
	case "disputeStatus":
		return func(x *rowCtx) any { return "" }
	case "fullyShipped", "fullyReceived":
		return func(x *rowCtx) any { return false }
	case "partialShipping":
		return func(x *rowCtx) any { return true }
	case "shortcutDimension1Code", "shortcutDimension2Code":
		dim := 0
		if n == "shortcutDimension2Code" {
			dim = 1
		}
		return func(x *rowCtx) any { return x.shortcutDim(dim) }
	}
	return nil
}

// shortcutDim returns a value code of the company's dimension dim (the G/L setup's shortcut
// dimensions are its first two dimensions), "" for rows without one.
func (x *rowCtx) shortcutDim(dim int) any {
	if dim >= x.c.count("dimensions") || chance(x.h(sDim1+uint64(dim)), 40) {
		return ""
	}
	lo, hi := x.c.set("dimensionValues").children(dim)
	if hi <= lo {
		return ""
	}
	return x.refCode("dimensionValues", lo+pick(x.h(sDim2+uint64(dim)), hi-lo))
}

// addrPart returns the accessor of an address field suffix.
func addrPart(suffix string) func(a address) any {
	switch suffix {
	case "AddressLine1":
		return func(a address) any { return a.line1 }
	case "AddressLine2":
		return func(a address) any { return a.line2 }
	case "City":
		return func(a address) any { return a.city }
	case "Country":
		return func(a address) any { return a.country }
	case "State":
		return func(a address) any { return a.state }
	case "PostCode", "PostalCode":
		return func(a address) any { return a.postCode }
	}
	return nil
}

// lineField generates document line fields.
func (g *Generator) lineField(d *setDef, f *bcschema.Field) producer {
	n := f.Name
	switch n {
	case "documentNo":
		return func(x *rowCtx) any { return x.c.set(d.line.header).num.at(x.parent) }
	case "itemId":
		return func(x *rowCtx) any { return x.refKey("items", x.lineInfo().item) }
	case "accountId":
		return func(x *rowCtx) any { return x.refKey("accounts", x.lineInfo().acct) }
	case "lineType":
		return func(x *rowCtx) any {
			switch x.lineInfo().kind {
			case lineItem:
				return d.enum(n, "Item")
			case lineAccount:
				if _, ok := d.enumBox[n]["Account"]; ok {
					return d.enum(n, "Account")
				}
				return d.enum(n, "G_x002F_L_x0020_Account")
			}
			if _, ok := d.enumBox[n]["Comment"]; ok {
				return d.enum(n, "Comment")
			}
			return d.enum(n, blankEnumVal)
		}
	case "lineObjectNumber":
		return func(x *rowCtx) any {
			switch ld := x.lineInfo(); ld.kind {
			case lineItem:
				return ld.it.number
			case lineAccount:
				return x.g.chartNums[ld.acct]
			}
			return ""
		}
	case "description":
		return func(x *rowCtx) any {
			switch ld := x.lineInfo(); ld.kind {
			case lineItem:
				return ld.it.name
			case lineAccount:
				return x.g.account(ld.acct).name
			default:
				return ld.comment
			}
		}
	case "description2":
		return func(x *rowCtx) any { return "" }
	case "unitOfMeasureId":
		return func(x *rowCtx) any {
			if ld := x.lineInfo(); ld.kind == lineItem {
				return x.refKey("unitsOfMeasure", ld.it.unit)
			}
			return blankGUID
		}
	case "unitOfMeasureCode":
		return func(x *rowCtx) any {
			if ld := x.lineInfo(); ld.kind == lineItem {
				return x.refCode("unitsOfMeasure", ld.it.unit)
			}
			return ""
		}
	case "quantity":
		return func(x *rowCtx) any { return x.lineInfo().qty }
	case "unitPrice", "unitCost", "directUnitCost":
		return func(x *rowCtx) any { return x.lineInfo().price }
	case "discountAmount":
		return func(x *rowCtx) any { return x.lineInfo().discAmt }
	case "discountPercent":
		return func(x *rowCtx) any { return x.lineInfo().discPct }
	case "discountAppliedBeforeTax":
		return func(x *rowCtx) any { return false }
	case "amountExcludingTax", "netAmount":
		return func(x *rowCtx) any { return x.lineInfo().excl }
	case "taxCode":
		return func(x *rowCtx) any { return x.c.taxCode(*x.lineInfo()) }
	case "taxPercent":
		return func(x *rowCtx) any { return x.lineInfo().taxPct }
	case "totalTaxAmount", "netTaxAmount":
		return func(x *rowCtx) any { return x.lineInfo().tax }
	case "amountIncludingTax", "netAmountIncludingTax":
		return func(x *rowCtx) any { return x.lineInfo().incl }
	case "invoiceDiscountAllocation":
		return func(x *rowCtx) any { return 0.0 }
	case "shipmentDate", "expectedReceiptDate":
		hdr := d.line.header
		return func(x *rowCtx) any { return x.g.day(x.c.set(hdr).dayAt(x.parent)) }
	case "shippedQuantity", "receivedQuantity", "invoicedQuantity":
		return func(x *rowCtx) any { return 0.0 }
	case "shipQuantity", "receiveQuantity", "invoiceQuantity":
		return func(x *rowCtx) any { return x.lineInfo().qty }
	case "itemVariantId":
		return func(x *rowCtx) any { return blankGUID }
	case "locationId":
		return func(x *rowCtx) any {
			if ld := x.lineInfo(); ld.kind == lineItem && ld.it.prod.kind == "Inventory" && chance(x.h(0x10c), 50) {
				return x.refKey("locations", min(0, x.c.count("locations")-1))
			}
			return blankGUID
		}
	}
	return nil
}
