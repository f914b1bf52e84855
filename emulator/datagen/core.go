package datagen

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// Salts name the purposes hashes are drawn for, so that two attributes of a row never share
// randomness by accident.
const (
	sName uint64 = iota + 100
	sCountry
	sCity
	sStreet
	sStreetNo
	sLine2
	sPhone
	sContact
	sCurrency
	sTerms
	sShip
	sPayMethod
	sTaxArea
	sSalesperson
	sBlocked
	sPrice
	sCost
	sColour
	sInventory
	sGTIN
	sQty
	sDiscount
	sLineKind
	sLineItem
	sLineAcct
	sTaxReg
	sStatus
	sPerson
	sKind
	sAmount
	sDim1
	sDim2
	sExtDoc
	sDueExtra
)

// address is a postal address as BC's address fields hold it.
type address struct{ line1, line2, city, state, country, postCode string }

// addressIn returns an address in the given country (an index into countries with a locale).
func (c *company) addressIn(h uint64, ci int) address {
	cc := countries[ci].code
	loc := locales[cc]
	ct := loc.cities[pick(sub(h, sCity), len(loc.cities))]
	street := loc.streets[pick(sub(h, sStreet), len(loc.streets))]
	no := strconv.Itoa(1 + pick(sub(h, sStreetNo), 400))
	a := address{city: ct.name, state: ct.state, country: cc, postCode: ct.postCode}
	if loc.numberFirst {
		a.line1 = no + " " + street
	} else {
		a.line1 = street + " " + no
	}
	if loc.numberFirst && chance(sub(h, sLine2), 20) {
		a.line2 = []string{"Suite 200", "Building B", "Floor 3", "Unit 12", "Westminster", "Business Park"}[pick(h, 6)]
	}
	return a
}

// homeIndex is the countries index of the company's home country.
func (c *company) homeIndex() int {
	for k := range countries {
		if countries[k].code == c.home.country {
			return k
		}
	}
	return 0
}

// partyCountry picks where a customer or vendor is: mostly at home, sometimes abroad.
func (c *company) partyCountry(h uint64, abroadPct int) int {
	if len(c.foreignCountries) > 0 && chance(sub(h, sCountry), abroadPct) {
		return c.foreignCountries[pick(sub(h, sCountry+1000), len(c.foreignCountries))]
	}
	return c.homeIndex()
}

// phone fills a locale's phone pattern with digits from h.
func phone(loc *locale, h uint64) string {
	b := []byte(loc.phone)
	for k := range b {
		if b[k] == '#' {
			h = mix64(h + uint64(k))
			b[k] = byte('0' + h%10)
		}
	}
	return string(b)
}

// asciiFold lower-cases s and keeps only ASCII letters, folding common accents, for e-mail
// addresses and domains.
func asciiFold(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z':
			b.WriteRune(r)
		case strings.ContainsRune("äáàâãå", r):
			b.WriteByte('a')
		case strings.ContainsRune("éèêë", r):
			b.WriteByte('e')
		case strings.ContainsRune("íìîï", r):
			b.WriteByte('i')
		case strings.ContainsRune("öóòôõø", r):
			b.WriteByte('o')
		case strings.ContainsRune("üúùû", r):
			b.WriteByte('u')
		case r == 'ñ':
			b.WriteByte('n')
		case r == 'ç':
			b.WriteByte('c')
		case r == 'ß':
			b.WriteString("ss")
		case r == 'æ':
			b.WriteString("ae")
		}
	}
	return b.String()
}

// orgName returns the j-th organisation name of a set: unique for the first ~1,000 rows, and
// shuffled per company and set by off.
func orgName(j int, off uint64) string {
	f, s := len(orgFirst), len(orgSecond)
	a := (j + int(off%uint64(f))) % f
	b := (j/f + int((off>>20)%uint64(s)) + a*5) % s
	name := orgFirst[a] + " " + orgSecond[b]
	if r := j / (f * s); r > 0 {
		name += " " + strconv.Itoa(r+1)
	}
	return name
}

// domain makes a web domain from an organisation name: "Wide World Importers" -> wideworld.com.
func domain(org, tld string) string {
	words := strings.Fields(org)
	d := asciiFold(words[0])
	if len(words) > 2 || (len(words) == 2 && !isSuffixWord(words[1])) {
		d += asciiFold(words[1])
	}
	if d == "" {
		d = "example"
	}
	return d + tld
}

func isSuffixWord(w string) bool {
	for _, s := range orgSecond {
		if s == w {
			return true
		}
	}
	return false
}

// person is a generated person's name.
type person struct{ first, middle, last string }

func (p person) full() string { return p.first + " " + p.last }

func personFrom(h uint64) person {
	p := person{first: firstNames[pick(h, len(firstNames))], last: lastNames[pick(mix64(h^1), len(lastNames))]}
	if chance(mix64(h^2), 15) {
		p.middle = string(rune('A' + pick(mix64(h^3), 26)))
	}
	return p
}

func (p person) email(dom string) string {
	return asciiFold(p.first) + "." + asciiFold(p.last) + "@" + dom
}

// ownDomain is the company's own e-mail domain.
func (c *company) ownDomain() string { return "cronus" + c.loc.tld }

// party is what documents copy from a customer or vendor.
type party struct {
	number, name string
	addr         address
	phone        string
	email        string
	website      string
	contact      string
	currency     int // row index into currencies, -1 = local currency
	terms        int // row indexes, -1 = none
	shipMethod   int
	payMethod    int
	taxArea      int
	salesperson  int
	taxLiable    bool
	taxReg       string
}

// partyName is the name of row j of customers or vendors, cheaper than party.
func (c *company) partyName(s *setState, j int) string { return orgName(j, s.key) }

// party returns the profile of row j of customers or vendors.
func (c *company) party(s *setState, j int) party {
	k := rowKey(s.key, j)
	ci := c.partyCountry(k, 20)
	p := party{number: s.num.at(j), name: c.partyName(s, j)}
	p.addr = c.addressIn(k, ci)
	loc := locales[countries[ci].code]
	dom := domain(p.name, loc.tld)
	contact := personFrom(sub(k, sContact))
	p.contact = contact.full()
	p.phone = phone(loc, sub(k, sPhone))
	p.email = contact.email(dom)
	if chance(sub(k, sPhone+1), 60) {
		p.website = "www." + dom
	}
	p.currency = -1
	nCur := c.count("currencies")
	if cur := countries[ci].currency; cur != c.lcy {
		for r := 0; r < nCur; r++ {
			if currencyTable[c.currencies[r]].code == cur {
				p.currency = r
			}
		}
	}
	if p.currency < 0 && nCur > 0 && chance(sub(k, sCurrency), 4) {
		p.currency = pick(sub(k, sCurrency+1), nCur)
	}
	p.terms = skewedRef(sub(k, sTerms), c.count("paymentTerms"), 2)
	p.shipMethod = -1
	if chance(sub(k, sShip), 60) {
		p.shipMethod = skewedRef(sub(k, sShip+1), c.count("shipmentMethods"), 3)
	}
	p.payMethod = skewedRef(sub(k, sPayMethod), c.count("paymentMethods"), 3)
	p.taxArea = -1
	if c.home.salesTax || chance(sub(k, sTaxArea+1), 90) {
		p.taxArea = skewedRef(sub(k, sTaxArea), c.count("taxAreas"), 1)
	}
	p.salesperson = skewedRef(sub(k, sSalesperson), c.count("salespeoplePurchasers"), 3)
	p.taxLiable = c.home.salesTax && ci == c.homeIndex()
	if loc.vatPrefix != "" {
		p.taxReg = loc.vatPrefix + strconv.Itoa(100000000+pick(sub(k, sTaxReg), 899999999))
	}
	return p
}

// skewedRef picks a row index in [0, n), favouring the first `common` rows (the usual choices,
// like "30 DAYS" payment terms) 80% of the time; -1 when n is 0.
func skewedRef(h uint64, n, common int) int {
	if n <= 0 {
		return -1
	}
	if common < n && chance(h, 80) {
		return pick(mix64(h), common)
	}
	return pick(mix64(h^7), n)
}

// currencyCode is the code shown for a currency row index, the LCY code for -1: BC's v2.0 pages
// translate a blank currency to the local currency code (see the customers example in the
// schema), while currencyId stays blank.
func (c *company) currencyCode(r int) string {
	if r < 0 {
		return c.lcy
	}
	return currencyTable[c.currencies[r]].code
}

// itemInfo is what lines and item rows need of an item.
type itemInfo struct {
	number, name string
	baseName     string // name without colour
	prod         *product
	price, cost  float64
	category     int // row indexes, -1 = none
	unit         int
	taxGroup     int
	genProd      int
	invPosting   int
	inventory    float64
	gtin         string
	blocked      bool
}

func (c *company) item(j int) itemInfo {
	s := c.set("items")
	k := rowKey(s.key, j)
	np, nc := len(productTable), len(itemPrefixes)
	pi := (j + int(s.key%uint64(np))) % np
	prod := &productTable[pi]
	it := itemInfo{number: s.num.at(j), prod: prod}
	// (product, prefix) pairs are unique for the first np*nc items.
	it.name = itemPrefixes[(j/np+pi*7+int((s.key>>16)%uint64(nc)))%nc] + " " + prod.name
	it.baseName = it.name
	if prod.colours && chance(sub(k, sColour), 60) {
		it.name += ", " + colours[pick(sub(k, sColour+1), len(colours))]
	}
	if r := j / (np * nc); r > 0 {
		it.name += " " + strconv.Itoa(r+1)
	}
	it.price = math.Round(prod.price * (0.85 + 0.3*unit(sub(k, sPrice))))
	if it.price < 10 {
		it.price = round2(prod.price * (0.85 + 0.3*unit(sub(k, sPrice))))
	} else if chance(sub(k, sPrice+1), 40) {
		it.price -= 0.01
	}
	it.cost = round2(it.price * (0.5 + 0.3*unit(sub(k, sCost))))
	it.category = tableRow(c, "itemCategories", itemCategoryTable, prod.category)
	it.unit = -1
	for r := 0; r < c.count("unitsOfMeasure"); r++ {
		if unitTable[r].code == prod.unit {
			it.unit = r
		}
	}
	switch {
	case c.home.salesTax && prod.kind == "Service":
		it.taxGroup = tableRow(c, "taxGroups", salesTaxGroupTable, "LABOR")
	case c.home.salesTax && (prod.category == "SUPPLIERS" || prod.category == "PARTS"):
		it.taxGroup = tableRow(c, "taxGroups", salesTaxGroupTable, "SUPPLIES")
	case c.home.salesTax:
		it.taxGroup = tableRow(c, "taxGroups", salesTaxGroupTable, "FURNITURE")
	case prod.kind == "Service":
		it.taxGroup = tableRow(c, "taxGroups", vatGroupTable, "SERVICES")
	default:
		it.taxGroup = tableRow(c, "taxGroups", vatGroupTable, "STANDARD")
	}
	switch prod.kind {
	case "Inventory":
		it.genProd = tableRow(c, "generalProductPostingGroups", genProdPostingGroupTable, "RETAIL")
		it.invPosting = tableRow(c, "inventoryPostingGroups", inventoryPostingGroupTable, "RESALE")
		it.inventory = float64(pick(sub(k, sInventory), 250))
		it.gtin = gtin(sub(k, sGTIN))
	case "Service":
		it.genProd = tableRow(c, "generalProductPostingGroups", genProdPostingGroupTable, "SERVICES")
		it.invPosting = -1
	default:
		it.genProd = tableRow(c, "generalProductPostingGroups", genProdPostingGroupTable, "MISC")
		it.invPosting = -1
	}
	it.blocked = chance(sub(k, sBlocked), 3)
	return it
}

// taxAreaTable is the company's tax areas: US or Canadian sales tax jurisdictions, or VAT
// business posting groups.
func (c *company) taxAreaTable() []codeName {
	switch {
	case c.home.country == "CA":
		return caTaxAreaTable
	case c.home.salesTax:
		return salesTaxAreaTable
	}
	return vatAreaTable
}

// tableRow returns the row index of code in a table-backed set, -1 if the company's set is too
// small to hold it.
func tableRow(c *company, set string, table []codeName, code string) int {
	n := c.count(set)
	for r := 0; r < n && r < len(table); r++ {
		if table[r].code == code {
			return r
		}
	}
	return -1
}

// gtin returns a 13-digit EAN with a valid check digit.
func gtin(h uint64) string {
	var b [13]byte
	b[0] = '5'
	sum := 5
	for k := 1; k < 12; k++ {
		h = mix64(h + uint64(k))
		d := int(h % 10)
		b[k] = byte('0' + d)
		if k%2 == 1 {
			sum += 3 * d
		} else {
			sum += d
		}
	}
	b[12] = byte('0' + (10-sum%10)%10)
	return string(b[:])
}

// buildChart maps the rows of the accounts set onto the chart of accounts: a spread subset when
// fewer rows than the chart are asked for (keeping numbers increasing), the whole chart followed
// by "Other Expense" accounts 70010, 70020, … when more.
func (g *Generator) buildChart(n int) {
	t := len(chartOfAccounts)
	g.defs["accounts"].limit = t + 2999
	n = min(n, t+2999)
	g.chart = make([]int, n)
	g.chartNums = make([]any, n)
	for j := range g.chart {
		switch {
		case n <= t:
			g.chart[j] = j * t / n
		case j < t:
			g.chart[j] = j
		default:
			g.chart[j] = -1 - (j - t)
		}
		a := g.account(j)
		g.chartNums[j] = a.number
		if a.accountType == typePosting {
			g.posting = append(g.posting, j)
			g.roleAccts[a.role] = append(g.roleAccts[a.role], j)
		}
	}
}

// account returns chart row j of the accounts set.
func (g *Generator) account(j int) account {
	if v := g.chart[j]; v >= 0 {
		return chartOfAccounts[v]
	}
	e := -1 - g.chart[j]
	return account{
		number:      strconv.Itoa(70000 + (e+1)*10),
		name:        "Other Expense " + strconv.Itoa(e+1),
		category:    catExpense,
		subCategory: "Other Expense",
		accountType: typePosting,
	}
}

// roleAccount picks a posting account for a G/L role; any posting account when the company's
// chart lacks one for the role, -1 when it has none at all.
func (g *Generator) roleAccount(r glRole, h uint64) int {
	if l := g.roleAccts[r]; len(l) > 0 {
		return l[pick(h, len(l))]
	}
	if len(g.posting) > 0 {
		return g.posting[pick(h, len(g.posting))]
	}
	return -1
}

// glKind is one kind of two-line transaction the G/L is made of.
type glKind struct {
	weight         int
	docType        string // wire enum value
	prefix         string
	debit, credit  glRole
	lo, hi         float64
	text           string // description prefix; "" = the debit account's name
	docNumberFirst int64
}

var glKinds = []glKind{
	{30, "Invoice", "PS-INV", roleReceivables, roleRevenue, 40, 40_000, "Invoice", 100_000},
	{20, "Payment", "G02", roleBank, roleReceivables, 40, 40_000, "Payment", 100_000},
	{18, "Invoice", "PP-INV", roleCOGS, rolePayables, 25, 30_000, "Invoice", 100_000},
	{12, "Payment", "G04", rolePayables, roleBank, 25, 30_000, "Payment", 100_000},
	{4, "Credit_x0020_Memo", "PS-CR", roleReturns, roleReceivables, 20, 5_000, "Credit Memo", 100_000},
	{12, blankEnumVal, "GJ", roleExpense, roleBank, 15, 12_000, "", 100_000},
	{4, blankEnumVal, "PAYROLL", roleSalaries, roleBank, 2_000, 60_000, "Salaries", 100_000},
}

// glFields are the fields the fast path writes; compile falls back to the generic path if the
// schema's generalLedgerEntries differs.
var glFields = []string{"id", "entryNumber", "postingDate", "documentNumber", "documentType", "accountId",
	"accountNumber", "description", "debitAmount", "creditAmount", "additionalCurrencyDebitAmount",
	"additionalCurrencyCreditAmount", "lastModifiedDateTime"}

// glRow is the hand-written fast path for generalLedgerEntries: entries come in balanced pairs
// (row 2p debits, row 2p+1 credits the same amount on the same posting date), entryNumber = i+1
// and postingDate is the date of the pair's first lastModifiedDateTime, so both grow with i.
func glRow(s *setState, i int) map[string]any {
	c, g := s.c, s.c.g
	accts := c.set("accounts")
	pair := i / 2
	pk := rowKey(s.key^0x9a1, pair)
	w := pick(pk, 100)
	kind := &glKinds[len(glKinds)-1]
	for k := range glKinds {
		if w < glKinds[k].weight {
			kind = &glKinds[k]
			break
		}
		w -= glKinds[k].weight
	}
	amount := money(sub(pk, sAmount), kind.lo, kind.hi)
	debitAcct := g.roleAccount(kind.debit, sub(pk, 1))
	creditAcct := g.roleAccount(kind.credit, sub(pk, 2))
	acct, debit := debitAcct, true
	if i%2 == 1 {
		acct, debit = creditAcct, false
	}

	// One allocation holds id, document number and description.
	var b [160]byte
	buf := b[:0]
	buf = append(buf, s.keyAt(i)...)
	docStart := len(buf)
	buf = append(buf, kind.prefix...)
	buf = appendPadded(buf, kind.docNumberFirst+int64(pair)+1, 6)
	docEnd := len(buf)
	descFromAccount := kind.text == "" && debitAcct >= 0
	if !descFromAccount {
		buf = append(buf, kind.text...)
		buf = append(buf, ' ')
		buf = append(buf, buf[docStart:docEnd]...)
	}
	str := string(buf)

	m := make(map[string]any, len(glFields))
	m["id"] = str[:36]
	m["entryNumber"] = int64(i + 1)
	lm := s.lmAt(i)
	m["postingDate"] = g.day(glPostingDay(s, i))
	m["documentNumber"] = str[docStart:docEnd]
	m["documentType"] = s.def.glDocType(kind.docType)
	if descFromAccount {
		m["description"] = g.account(debitAcct).name
	} else {
		m["description"] = str[docEnd:] // at most 6+1+20 characters, within maxLength 100
	}
	if acct >= 0 && acct < accts.count() {
		m["accountId"] = accts.keyAny(acct)
		m["accountNumber"] = g.chartNums[acct]
	} else {
		m["accountId"] = blankGUID
		m["accountNumber"] = ""
	}
	if debit {
		m["debitAmount"] = amount
		m["creditAmount"] = 0.0
	} else {
		m["debitAmount"] = 0.0
		m["creditAmount"] = amount
	}
	m["additionalCurrencyDebitAmount"] = 0.0
	m["additionalCurrencyCreditAmount"] = 0.0
	m["lastModifiedDateTime"] = time.UnixMilli(lm).UTC()
	return m
}

// glPostingDay is the posting date (day index) of entry i: both entries of a transaction post on
// the date of its first entry, so postingDate stays non-decreasing in i.
func glPostingDay(s *setState, i int) int { return s.dayAt(i &^ 1) }

// glDocType returns the boxed enum value, or blank when the schema lacks it.
func (d *setDef) glDocType(v string) any {
	if b, ok := d.enumBox["documentType"][v]; ok {
		return b
	}
	return blankEnumVal
}
