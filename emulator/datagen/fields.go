package datagen

import (
	"strings"
	"time"
	"unicode"

	"github.com/bizzjoiner/bcconnector/bcschema"
)

// producer computes one field of one row.
type producer func(x *rowCtx) any

type fieldGen struct {
	name string
	gen  producer
}

// rowCtx is the state of one Row call: the row's identity plus lazily computed facts that
// several fields share (the document's party, a line's item, a person's name).
type rowCtx struct {
	s      *setState
	c      *company
	g      *Generator
	i      int
	k      uint64 // row key
	parent int    // parent row for child sets, else -1
	pos    int    // position among siblings

	partyDone bool
	pty       party
	ptyIdx    int

	itemDone bool
	itm      itemInfo

	addrDone bool
	addr     address

	personDone bool
	per        person

	docDone bool
	doc     docTotals

	lineDone bool
	line     lineData

	polyDone bool
	polySet  string
	polyIdx  int
	polyType any

	dimDone bool
	dim     int // dimension row, -1 none
	dimVal  int // dimensionValues row, -1 none
}

func (x *rowCtx) h(salt uint64) uint64 { return sub(x.k, salt) }
func (x *rowCtx) lm() int64            { return x.s.lmAt(x.i) }
func (x *rowCtx) day() int             { return x.s.dayAt(x.i) }
func (x *rowCtx) lmTime() any          { return msTime(x.lm()) }
func (x *rowCtx) key() any             { return x.s.keyAt(x.i) }

// frac is the row's position in its set in [0, 1): old rows are paid, recent ones open.
func (x *rowCtx) frac() float64 { return float64(x.i) / float64(max(x.s.count(), 1)) }

func (x *rowCtx) person() person {
	if !x.personDone {
		x.per, x.personDone = personFrom(x.h(sPerson)), true
	}
	return x.per
}

// ref returns a row index of set chosen by a hash of this row and salt, -1 if the set is empty.
func (x *rowCtx) ref(set string, salt uint64) int {
	n := x.c.count(set)
	if n == 0 {
		return -1
	}
	return pick(x.h(salt), n)
}

// refKey is the boxed key of row j of set, blank GUID for -1.
func (x *rowCtx) refKey(set string, j int) any {
	if j < 0 {
		return blankGUID
	}
	return x.c.set(set).keyAny(j)
}

// refCode / refName are the label of row j of set, "" for -1.
func (x *rowCtx) refCode(set string, j int) any {
	if j < 0 {
		return ""
	}
	code, _ := x.g.label(x.c.set(set), j)
	return code
}

func (x *rowCtx) refName(set string, j int) any {
	if j < 0 {
		return ""
	}
	_, name := x.g.label(x.c.set(set), j)
	return name
}

// own returns the row's own label.
func (x *rowCtx) own() (code, name string) { return x.g.label(x.s, x.i) }

// compile prepares a set: structure (parent, mirror, limits, number series, documents) and one
// producer per field.
func (g *Generator) compile(d *setDef) {
	e := d.ent
	if e.Parent != nil {
		d.parent = g.defs[e.Parent.EntitySet]
		d.childMin = childMinimum(d.name, d.size)
	}
	if m, ok := mirrors[d.name]; ok {
		d.mirror = g.defs[m]
	}
	if l, ok := tableLimits[d.name]; ok {
		if d.limit == 0 || l < d.limit {
			d.limit = l
		}
	}
	if s, ok := numberSeries[d.name]; ok {
		d.series = &s
	}
	d.doc = docDefs[d.name]
	d.line = lineDefs[d.name]
	d.enumBox = map[string]map[string]any{}
	d.enumList = map[string][]any{}
	for _, f := range e.Fields {
		if f.IsEnum() {
			box := make(map[string]any, len(f.EnumValues))
			var list []any
			for _, v := range f.EnumValues {
				box[v] = v
				if v != blankEnumVal {
					list = append(list, v)
				}
			}
			if len(list) == 0 {
				list = []any{f.EnumValues[0]}
			}
			d.enumBox[f.Name] = box
			d.enumList[f.Name] = list
		}
	}
	for _, f := range e.Fields {
		if f.Type == bcschema.TypeStream || f.FilterOnly {
			continue
		}
		d.fields = append(d.fields, fieldGen{name: f.Name, gen: g.producer(d, f)})
		if f.Type == bcschema.TypeString && f.MaxLength > 0 {
			d.limits = append(d.limits, strLimit{f.Name, f.MaxLength})
		}
	}
	if d.name == "generalLedgerEntries" && sameFields(d, glFields) {
		d.fast = glRow
	}
	d.mono = g.monotonic(d)
}

func sameFields(d *setDef, names []string) bool {
	if len(d.fields) != len(names) {
		return false
	}
	for k, f := range d.fields {
		if f.name != names[k] {
			return false
		}
	}
	return true
}

// childMinimum is the fewest rows a parent gets: documents have at least two fifths of the
// maximum lines (2–5 for 5), optional children (variants, log entries, workflow steps' options)
// may be absent.
func childMinimum(set string, size int) int {
	switch set {
	case "itemVariants", "jobQueueLogEntries", "timeRegistrationEntries", "workflowResponseOptions":
		return 0
	case "dimensionValues":
		return max(1, (size+1)/2)
	case "journalLines", "customerPayments", "vendorPayments", "workflowSteps":
		return max(1, size/2)
	}
	return max(1, size*2/5)
}

// mirrors are sets whose rows are views of another set's rows (same index, same key or
// referenced key), so their count is at most the base set's.
var mirrors = map[string]string{
	"agedAccountsReceivables":  "customers",
	"agedAccountsPayables":     "vendors",
	"customerFinancialDetails": "customers",
	"customerSales":            "customers",
	"vendorPurchases":          "vendors",
	"trialBalances":            "accounts",
	"contactsInformation":      "contacts",
	"pictures":                 "items",
	"pdfDocument":              "salesInvoices",
}

// tableLimits cap sets whose rows come from a fixed table.
var tableLimits = map[string]int{
	"countriesRegions":            len(countries),
	"currencies":                  len(currencyTable) - 1, // minus the local currency
	"paymentTerms":                len(paymentTermTable),
	"paymentMethods":              len(paymentMethodTable),
	"shipmentMethods":             len(shipmentMethodTable),
	"unitsOfMeasure":              len(unitTable),
	"itemCategories":              len(itemCategoryTable),
	"dimensions":                  len(dimensionTable),
	"taxAreas":                    min(len(salesTaxAreaTable), len(vatAreaTable), len(caTaxAreaTable)),
	"taxGroups":                   min(len(salesTaxGroupTable), len(vatGroupTable)),
	"generalProductPostingGroups": len(genProdPostingGroupTable),
	"inventoryPostingGroups":      len(inventoryPostingGroupTable),
	"customerReturnReasons":       len(customerReturnReasonTable),
	"disputeStatus":               len(disputeStatusTable),
	"fixedAssetLocations":         len(fixedAssetLocationTable),
	"workflows":                   len(workflowTable),
	"journals":                    len(journalTable),
	"customerPaymentJournals":     len(paymentJournalTable),
	"vendorPaymentJournals":       len(paymentJournalTable),
	"bankAccounts":                len(bankAccountTable),
	"balanceSheets":               len(balanceSheetLines),
	"incomeStatements":            len(incomeStatementLines),
	"cashFlowStatements":          len(cashFlowLines),
	"retainedEarningsStatements":  len(retainedEarningsLines),
	"companyInformation":          1,
	"generalLedgerSetup":          1,
	"companies":                   1000,
}

// numberSeries are the BC number series of sets with a `number` (customers C00010, C00020, …).
var numberSeries = map[string]seriesDef{
	"customers":           {"C", 10, 10, 5},
	"vendors":             {"V", 10, 10, 5},
	"items":               {"", 1000, 1, 4},
	"contacts":            {"CT", 10, 10, 6},
	"employees":           {"E", 10, 10, 4},
	"fixedAssets":         {"FA", 10, 10, 6},
	"projects":            {"J", 10, 10, 5},
	"opportunities":       {"OP", 1, 1, 6},
	"salesQuotes":         {"S-QUO", 1001, 1, 4},
	"salesOrders":         {"S-ORD", 101001, 1, 6},
	"salesShipments":      {"S-SHPT", 102001, 1, 6},
	"salesInvoices":       {"PS-INV", 103001, 1, 6},
	"salesCreditMemos":    {"PS-CR", 104001, 1, 6},
	"purchaseOrders":      {"P-ORD", 106001, 1, 6},
	"purchaseReceipts":    {"P-RCPT", 107001, 1, 6},
	"purchaseInvoices":    {"PP-INV", 108001, 1, 6},
	"purchaseCreditMemos": {"PP-CR", 109001, 1, 6},
}

// label returns the code/number and display name of row j of a set: what other sets copy when
// they reference it (customerNumber, itemCategoryCode, taxAreaDisplayName, …).
func (g *Generator) label(s *setState, j int) (code, name string) {
	c := s.c
	switch s.def.name {
	case "customers", "vendors":
		return s.num.at(j), c.partyName(s, j)
	case "items":
		it := c.item(j)
		return it.number, it.name
	case "contacts":
		return s.num.at(j), c.contactName(j)
	case "employees":
		p := personFrom(rowKey(s.key, j) ^ sPerson)
		return s.num.at(j), p.full()
	case "accounts":
		a := g.account(j)
		return a.number, a.name
	case "salespeoplePurchasers":
		p := personFrom(rowKey(s.key, j) ^ sPerson)
		return initials(p) + twoDigits(j+1), p.full()
	case "countriesRegions":
		return countries[j].code, countries[j].name
	case "currencies":
		cur := currencyTable[c.currencies[j]]
		return cur.code, cur.name
	case "paymentTerms":
		return paymentTermTable[j].code, paymentTermTable[j].name
	case "paymentMethods":
		return paymentMethodTable[j].code, paymentMethodTable[j].name
	case "shipmentMethods":
		return shipmentMethodTable[j].code, shipmentMethodTable[j].name
	case "unitsOfMeasure":
		return unitTable[j].code, unitTable[j].name
	case "itemCategories":
		return itemCategoryTable[j].code, itemCategoryTable[j].name
	case "dimensions":
		return dimensionTable[j].code, dimensionTable[j].name
	case "dimensionValues":
		p, pos := s.parentOf(j)
		dim := dimensionTable[p%len(dimensionTable)]
		v := dim.values[pos%len(dim.values)]
		if r := pos / len(dim.values); r > 0 {
			return v.code + twoDigits(r), v.name + " " + twoDigits(r)
		}
		return v.code, v.name
	case "taxAreas":
		t := c.taxAreaTable()
		return t[j].code, t[j].name
	case "taxGroups":
		if c.home.salesTax {
			return salesTaxGroupTable[j].code, salesTaxGroupTable[j].name
		}
		return vatGroupTable[j].code, vatGroupTable[j].name
	case "generalProductPostingGroups":
		return genProdPostingGroupTable[j].code, genProdPostingGroupTable[j].name
	case "inventoryPostingGroups":
		return inventoryPostingGroupTable[j].code, inventoryPostingGroupTable[j].name
	case "customerReturnReasons":
		return customerReturnReasonTable[j].code, customerReturnReasonTable[j].name
	case "disputeStatus":
		return disputeStatusTable[j].code, disputeStatusTable[j].name
	case "fixedAssetLocations":
		return fixedAssetLocationTable[j].code, fixedAssetLocationTable[j].name
	case "workflows":
		return workflowTable[j].code, workflowTable[j].description
	case "journals":
		return journalTable[j].code, journalTable[j].name
	case "customerPaymentJournals", "vendorPaymentJournals":
		return paymentJournalTable[j].code, paymentJournalTable[j].name
	case "bankAccounts":
		return bankAccountTable[j].code, bankAccountTable[j].name
	case "locations":
		if j < len(locationTable) {
			return locationTable[j].code, locationTable[j].name
		}
		return "LOC" + twoDigits(j+1), "Warehouse " + twoDigits(j+1)
	case "projects":
		return s.num.at(j), projectNames[(j+int(s.key%7))%len(projectNames)]
	case "fixedAssets":
		return s.num.at(j), fixedAssetNames[(j+int(s.key%5))%len(fixedAssetNames)]
	case "opportunities":
		return s.num.at(j), opportunityDescriptions[pick(rowKey(s.key, j), len(opportunityDescriptions))]
	}
	if s.def.doc != nil {
		return s.num.at(j), ""
	}
	if s.def.series != nil {
		return s.num.at(j), s.def.ent.Caption + " " + s.num.at(j)
	}
	ab := abbreviation(s.def.ent.Caption)
	return ab + twoDigits(j+1), s.def.ent.Caption + " " + twoDigits(j+1)
}

func initials(p person) string {
	return strings.ToUpper(string([]rune(asciiFold(p.first))[:1]) + string([]rune(asciiFold(p.last))[:1]))
}

func twoDigits(n int) string { return string(appendPadded(nil, int64(n), 2)) }

// abbreviation makes a code prefix from a caption: "Job Queue Entry" -> "JQE".
func abbreviation(caption string) string {
	var b strings.Builder
	for _, w := range strings.Fields(caption) {
		r := []rune(w)[0]
		if unicode.IsLetter(r) {
			b.WriteRune(unicode.ToUpper(r))
		}
	}
	if b.Len() == 0 {
		return "X"
	}
	return b.String()
}

// contactName is the display name of contact j: every fourth contact is a company (the
// customer it belongs to), the others are people working there.
func (c *company) contactName(j int) string {
	if j%4 == 0 {
		return c.contactCompanyName(j)
	}
	return personFrom(rowKey(c.set("contacts").key, j) ^ sPerson).full()
}

// contactCustomer is the customer row behind the company of contact j, -1 if there are no
// customers.
func (c *company) contactCustomer(j int) int {
	n := c.count("customers")
	if n == 0 {
		return -1
	}
	return (j / 4) % n
}

func (c *company) contactCompanyName(j int) string {
	if cu := c.contactCustomer(j); cu >= 0 {
		return c.partyName(c.set("customers"), cu)
	}
	return orgName(j/4, c.set("contacts").key)
}

// producer picks how a field is generated, most specific rule first.
func (g *Generator) producer(d *setDef, f *bcschema.Field) producer {
	if p := g.special(d, f); p != nil {
		return p
	}
	if f.Name == d.keyField {
		return func(x *rowCtx) any { return x.key() }
	}
	if d.parent != nil && f.Name == d.ent.Parent.ChildField {
		return g.childLink(d)
	}
	if d.doc != nil {
		if p := g.docField(d, f); p != nil {
			return p
		}
	}
	if d.line != nil {
		if p := g.lineField(d, f); p != nil {
			return p
		}
	}
	if p := g.commonField(d, f); p != nil {
		return p
	}
	if p := g.refField(d, f); p != nil {
		return p
	}
	return g.fallback(d, f)
}

// childLink is the producer of a child's link field: the parent's ParentKeyField value.
func (g *Generator) childLink(d *setDef) producer {
	pk := d.ent.Parent.ParentKeyField
	pset := d.parent.name
	switch {
	case pk == d.parent.keyField:
		return func(x *rowCtx) any { return x.c.set(pset).keyAny(x.parent) }
	case pk == "code":
		return func(x *rowCtx) any { code, _ := x.g.label(x.c.set(pset), x.parent); return code }
	default:
		salt := hashString(pk)
		return func(x *rowCtx) any { return derivedGUID(rowKey(x.c.set(pset).key, x.parent), salt) }
	}
}

// isLastModified reports whether name is the last-modified timestamp (timeRegistrationEntries
// spells it lastModfiedDateTime on the wire, see the schema).
func isLastModified(name string) bool {
	return name == "lastModifiedDateTime" || name == "lastModfiedDateTime"
}

// commonField handles fields whose meaning is the same in every set.
func (g *Generator) commonField(d *setDef, f *bcschema.Field) producer {
	n := f.Name
	switch {
	case isLastModified(n) && f.Type == bcschema.TypeDateTimeOffset:
		return func(x *rowCtx) any { return x.lmTime() }
	case n == "postingDate" && f.Type == bcschema.TypeDate:
		return func(x *rowCtx) any { return x.g.day(x.day()) }
	case n == "entryNumber" && isInt(f):
		return func(x *rowCtx) any { return int64(x.i + 1) }
	case (n == "lineNumber" || n == "sequence") && isInt(f):
		if d.parent != nil {
			return func(x *rowCtx) any { return int64(x.pos+1) * 10000 }
		}
		return func(x *rowCtx) any { return int64(x.i+1) * 10000 }
	case n == "number" && f.Type == bcschema.TypeString, n == "code" && f.Type == bcschema.TypeString:
		return func(x *rowCtx) any { code, _ := x.own(); return code }
	case (n == "displayName" || n == "name") && f.Type == bcschema.TypeString && d.hasLabel():
		return func(x *rowCtx) any { _, name := x.own(); return name }
	case n == "description" && f.Type == bcschema.TypeString && d.hasLabel() && !d.hasField("displayName"):
		return func(x *rowCtx) any { _, name := x.own(); return name }
	case n == "systemCreatedAt":
		return func(x *rowCtx) any {
			return msTime(max(x.lm()-int64(pick(x.h(0xc7ea), 90*86_400))*1000, epochMs-400*86_400_000))
		}
	case n == "systemModifiedAt":
		return func(x *rowCtx) any { return x.lmTime() }
	case f.Type == bcschema.TypeGuid && (n == "systemCreatedBy" || n == "systemModifiedBy" || n == "userId"):
		salt := hashString(n)
		return func(x *rowCtx) any { return x.c.user(pick(x.h(salt), numUsers)).id }
	}
	return nil
}

func isInt(f *bcschema.Field) bool {
	return f.Type == bcschema.TypeInt32 || f.Type == bcschema.TypeInt64
}

// hasLabel reports whether the set has meaningful code/name labels (not the generic fallback).
func (d *setDef) hasLabel() bool {
	switch d.name {
	case "customers", "vendors", "items", "contacts", "employees", "accounts", "salespeoplePurchasers",
		"countriesRegions", "currencies", "paymentTerms", "paymentMethods", "shipmentMethods", "unitsOfMeasure",
		"itemCategories", "dimensions", "dimensionValues", "taxAreas", "taxGroups", "generalProductPostingGroups",
		"inventoryPostingGroups", "customerReturnReasons", "disputeStatus", "fixedAssetLocations", "workflows",
		"journals", "customerPaymentJournals", "vendorPaymentJournals", "bankAccounts", "locations", "projects",
		"fixedAssets", "opportunities":
		return true
	}
	return false
}

func (d *setDef) hasField(name string) bool {
	_, ok := d.ent.Field(name)
	return ok
}

// refGroups maps the stem of a reference field (customerId, customerNumber, customerName ->
// "customer") to the set it references. Aliases share the referenced row: billToCustomerId is
// customerId.
var refGroups = map[string]string{
	"customer": "customers", "vendor": "vendors", "item": "items", "account": "accounts",
	"balancingAccount": "accounts", "paymentTerms": "paymentTerms", "shipmentMethod": "shipmentMethods",
	"paymentMethod": "paymentMethods", "taxArea": "taxAreas", "taxGroup": "taxGroups", "dimension": "dimensions",
	"dimensionValue": "dimensionValues", "value": "dimensionValues", "itemCategory": "itemCategories",
	"unitOfMeasure": "unitsOfMeasure", "baseUnitOfMeasure": "unitsOfMeasure", "location": "locations",
	"employee": "employees", "contact": "contacts", "job": "projects", "fixedAssetLocation": "fixedAssetLocations",
	"generalProductPostingGroup": "generalProductPostingGroups", "inventoryPostingGroup": "inventoryPostingGroups",
	"disputeStatus": "disputeStatus", "customerReturnReason": "customerReturnReasons",
	"salesperson": "salespeoplePurchasers", "purchaser": "salespeoplePurchasers",
	"salespersonPurchaser": "salespeoplePurchasers", "salesPersonPurchaser": "salespeoplePurchasers",
	"salespersonPurch": "salespeoplePurchasers", "workflow": "workflows", "journal": "journals",
	"currency": "currencies",
}

var refAliases = map[string]string{"billToCustomer": "customer", "payToVendor": "vendor"}

// refField generates the fields of a reference group consistently: the id, number/code and
// name of one referenced row.
func (g *Generator) refField(d *setDef, f *bcschema.Field) producer {
	n := f.Name
	var stem, role string
	switch {
	case f.Type == bcschema.TypeGuid && strings.HasSuffix(n, "Id"):
		stem, role = strings.TrimSuffix(n, "Id"), "id"
	case f.Type != bcschema.TypeString || f.IsEnum():
		return nil
	case strings.HasSuffix(n, "DisplayName"):
		stem, role = strings.TrimSuffix(n, "DisplayName"), "name"
	case strings.HasSuffix(n, "Description"):
		stem, role = strings.TrimSuffix(n, "Description"), "name"
	case strings.HasSuffix(n, "Name"):
		stem, role = strings.TrimSuffix(n, "Name"), "name"
	case strings.HasSuffix(n, "Number"):
		stem, role = strings.TrimSuffix(n, "Number"), "code"
	case strings.HasSuffix(n, "Code"):
		stem, role = strings.TrimSuffix(n, "Code"), "code"
	default:
		stem, role = n, "code"
	}
	if a, ok := refAliases[stem]; ok {
		stem = a
	}
	target, ok := refGroups[stem]
	if !ok || target == d.name {
		return nil
	}
	salt := hashString("ref:" + stem)
	if target == "currencies" {
		switch role {
		case "id":
			return func(x *rowCtx) any { return x.refKey("currencies", x.currencyRef(salt)) }
		case "code":
			return func(x *rowCtx) any { return x.c.currencyCode(x.currencyRef(salt)) }
		}
		return func(x *rowCtx) any { return x.refName("currencies", x.currencyRef(salt)) }
	}
	if target == "dimensionValues" {
		switch role {
		case "id":
			return func(x *rowCtx) any { _, v := x.dimPick(); return x.refKey(target, v) }
		case "code":
			return func(x *rowCtx) any { _, v := x.dimPick(); return x.refCode(target, v) }
		}
		return func(x *rowCtx) any { _, v := x.dimPick(); return x.refName(target, v) }
	}
	if target == "dimensions" {
		switch role {
		case "id":
			return func(x *rowCtx) any { dm, _ := x.dimPick(); return x.refKey(target, dm) }
		case "code":
			return func(x *rowCtx) any { dm, _ := x.dimPick(); return x.refCode(target, dm) }
		}
		return func(x *rowCtx) any { dm, _ := x.dimPick(); return x.refName(target, dm) }
	}
	// Optional references (a fixed asset's employee, a time entry's project) are often unset.
	optional := map[string]bool{"job": true, "employee": true, "disputeStatus": true, "customerReturnReason": true,
		"location": true, "fixedAssetLocation": true}[stem]
	idx := func(x *rowCtx) int {
		if optional && chance(x.h(salt^1), 40) {
			return -1
		}
		return x.ref(target, salt)
	}
	switch role {
	case "id":
		return func(x *rowCtx) any { return x.refKey(target, idx(x)) }
	case "code":
		return func(x *rowCtx) any { return x.refCode(target, idx(x)) }
	}
	return func(x *rowCtx) any { return x.refName(target, idx(x)) }
}

// currencyRef is the currency of a row that is not a document: the local currency (-1) most of
// the time.
func (x *rowCtx) currencyRef(salt uint64) int {
	if chance(x.h(salt^3), 85) {
		return -1
	}
	return x.ref("currencies", salt)
}

// dimPick picks a dimension and one of its values for the row.
func (x *rowCtx) dimPick() (dim, val int) {
	if !x.dimDone {
		x.dimDone = true
		x.dim, x.dimVal = x.ref("dimensions", 0xd13), -1
		if x.dim >= 0 {
			lo, hi := x.c.set("dimensionValues").children(x.dim)
			if hi > lo {
				x.dimVal = lo + pick(x.h(0xd14), hi-lo)
			}
		}
	}
	return x.dim, x.dimVal
}

// pickEnum chooses a value of an enum field: its first non-blank value most of the time.
func (d *setDef) pickEnum(name string, h uint64) any {
	l := d.enumList[name]
	if chance(h, 70) {
		return l[0]
	}
	return l[pick(mix64(h), len(l))]
}

// enum returns the boxed wire value v of the field, or the field's first non-blank value when
// the schema's enum lacks v (guards against schema changes).
func (d *setDef) enum(name, v string) any {
	if b, ok := d.enumBox[name][v]; ok {
		return b
	}
	if l := d.enumList[name]; len(l) > 0 {
		return l[0]
	}
	return v
}

// fallback generates a plausible value from the field's type and name.
func (g *Generator) fallback(d *setDef, f *bcschema.Field) producer {
	n := f.Name
	salt := hashString(n)
	lower := strings.ToLower(n)
	switch f.Type {
	case bcschema.TypeString:
		if f.IsEnum() {
			return func(x *rowCtx) any { return d.pickEnum(n, x.h(salt)) }
		}
		switch {
		case strings.Contains(lower, "email"):
			return func(x *rowCtx) any { return x.person().email(x.c.ownDomain()) }
		case strings.Contains(lower, "phone"):
			return func(x *rowCtx) any { return phone(x.c.loc, x.h(salt)) }
		case lower == "jobtitle" || lower == "professionaltitle":
			return func(x *rowCtx) any { return jobTitles[pick(x.h(salt), len(jobTitles))] }
		case lower == "userid" || lower == "senderid" || lower == "approverid" || lower == "lastmodifiedbyid":
			return func(x *rowCtx) any { return x.c.user(pick(x.h(salt), numUsers)).name }
		case userNameOf[n] != "":
			// The display name of the user in the paired id field (senderName <-> senderId).
			idSalt := hashString(userNameOf[n])
			return func(x *rowCtx) any { return x.c.user(pick(x.h(idSalt), numUsers)).fullName }
		case lower == "documentnumber":
			return func(x *rowCtx) any { return "G" + string(appendPadded(nil, int64(x.i+1), 5)) }
		}
		return func(x *rowCtx) any { return "" }
	case bcschema.TypeDecimal:
		switch {
		case strings.Contains(lower, "percent") || strings.HasSuffix(lower, "prc"):
			return func(x *rowCtx) any { return float64(pick(x.h(salt), 21)) * 5 }
		case strings.Contains(lower, "quantity"):
			return func(x *rowCtx) any { return float64(1 + pick(x.h(salt), 20)) }
		case strings.Contains(lower, "amount") || strings.Contains(lower, "balance") || strings.Contains(lower, "value") ||
			strings.Contains(lower, "price") || strings.Contains(lower, "cost") || strings.Contains(lower, "change") ||
			strings.Contains(lower, "limit"):
			return func(x *rowCtx) any { return money(x.h(salt), 10, 50_000) }
		}
		return func(x *rowCtx) any { return 0.0 }
	case bcschema.TypeInt32, bcschema.TypeInt64:
		switch {
		case lower == "timestamp":
			return func(x *rowCtx) any { return int64(1000 + x.i*37 + pick(x.h(salt), 30)) }
		case strings.HasPrefix(lower, "numberof") || strings.HasPrefix(lower, "pending"):
			return func(x *rowCtx) any { return int64(pick(x.h(salt), 4)) }
		case strings.Contains(lower, "limit"):
			return func(x *rowCtx) any { return int64(1+pick(x.h(salt), 20)) * 1000 }
		case strings.Contains(lower, "sequence") || strings.Contains(lower, "iteration"):
			return func(x *rowCtx) any { return int64(1 + pick(x.h(salt), 3)) }
		}
		return func(x *rowCtx) any { return int64(0) }
	case bcschema.TypeBoolean:
		switch lower {
		case "enabled", "autoinsertdefault", "recurringjob", "scheduled":
			return func(x *rowCtx) any { return !chance(x.h(salt), 20) }
		}
		return func(x *rowCtx) any { return chance(x.h(salt), 3) }
	case bcschema.TypeDate:
		switch {
		case strings.Contains(lower, "due") || strings.Contains(lower, "estimated") || strings.Contains(lower, "expected") ||
			strings.Contains(lower, "requested") || strings.Contains(lower, "validuntil"):
			return func(x *rowCtx) any { return x.g.day(x.day() + 7 + pick(x.h(salt), 30)) }
		case lower == "datefilter" || lower == "agedasofdate":
			return func(x *rowCtx) any { return "2025-12-31" }
		case strings.Contains(lower, "closed") || strings.Contains(lower, "termination") || strings.Contains(lower, "accepted") ||
			strings.Contains(lower, "allowposting") || strings.Contains(lower, "promised"):
			return func(x *rowCtx) any { return blankDate }
		}
		return func(x *rowCtx) any { return x.g.day(x.day()) }
	case bcschema.TypeDateTimeOffset:
		switch {
		case strings.Contains(lower, "expiration"):
			return func(x *rowCtx) any { return msTime(x.lm() + 3*86_400_000) }
		case strings.Contains(lower, "started") || strings.Contains(lower, "sent"):
			return func(x *rowCtx) any { return blankTime }
		}
		return func(x *rowCtx) any { return msTime(x.lm() - int64(pick(x.h(salt), 3_600_000))) }
	case bcschema.TypeGuid:
		switch n {
		case "jobQueueEntryId", "systemTaskId", "workflowStepInstanceId", "argument", "argumentId":
			return func(x *rowCtx) any { return derivedGUID(x.k, salt) }
		}
		return func(x *rowCtx) any { return blankGUID }
	}
	return func(x *rowCtx) any { return "" }
}

// userNameOf pairs user display-name fields with the user id field they describe.
var userNameOf = map[string]string{"userName": "userId", "userFullName": "userId", "senderName": "senderId",
	"approverName": "approverId"}

// user is a BC user of the company (approval, job queue and audit fields name them).
type user struct{ name, fullName, id string }

const numUsers = 8

// user returns user k of the company; user 0 is the administrator.
func (c *company) user(k int) user {
	h := mix64(c.key ^ 0x05e4 ^ uint64(k)*golden)
	id := derivedGUID(h, 1)
	if k == 0 {
		return user{name: "ADMIN", fullName: "Administrator", id: id}
	}
	p := personFrom(h)
	return user{name: strings.ToUpper(asciiFold(p.first)), fullName: p.full(), id: id}
}

// ms helpers for readability.
const (
	hourMs = int64(time.Hour / time.Millisecond)
	dayMs  = int64(24 * time.Hour / time.Millisecond)
)
