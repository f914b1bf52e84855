package datagen

import (
	"strconv"
	"strings"
	"time"

	"github.com/bizzjoiner/bcconnector/bcschema"
)

// special returns the producer of fields whose meaning is particular to their set, nil for the
// others.
func (g *Generator) special(d *setDef, f *bcschema.Field) producer {
	if d.mirror != nil {
		if p := g.mirrorField(d, f); p != nil {
			return p
		}
	}
	n := f.Name
	switch d.name {
	case "companies":
		return companiesField(n)
	case "subscriptions":
		return subscriptionsField(n)
	case "accountingPeriods":
		return accountingPeriodsField(n)
	case "accounts":
		return accountsField(n)
	case "customers", "vendors":
		return partyField(d, n)
	case "items":
		return itemsField(d, n)
	case "contacts":
		return contactsField(d, n)
	case "employees":
		return employeesField(d, n)
	case "customerContacts":
		return customerContactsField(n)
	case "countriesRegions":
		if n == "addressFormat" {
			return func(x *rowCtx) any { return d.enum(n, countries[x.i].addressFormat) }
		}
	case "currencies":
		return currenciesField(n)
	case "currencyExchangeRates":
		return exchangeRatesField(n)
	case "paymentTerms":
		return paymentTermsField(n)
	case "unitsOfMeasure":
		switch n {
		case "internationalStandardCode":
			return func(x *rowCtx) any { return unitTable[x.i].intl }
		case "symbol":
			return func(x *rowCtx) any { return unitTable[x.i].symbol }
		}
	case "taxAreas", "taxGroups":
		if n == "taxType" {
			return func(x *rowCtx) any {
				if x.c.home.salesTax {
					return d.enum(n, "Sales_x0020_Tax")
				}
				return d.enum(n, "VAT")
			}
		}
	case "generalProductPostingGroups":
		switch n {
		case "defaultVATProductPostingGroup":
			return func(x *rowCtx) any {
				switch genProdPostingGroupTable[x.i].code {
				case "NO VAT":
					return "ZERO"
				case "SERVICES":
					return "SERVICES"
				}
				return "STANDARD"
			}
		case "autoInsertDefault":
			return func(x *rowCtx) any { return true }
		}
	case "dimensions", "dimensionValues":
		if n == "consolidationCode" {
			return func(x *rowCtx) any { return "" }
		}
	case "dimensionSetLines":
		return dimensionSetLinesField(d, n)
	case "defaultDimensions":
		return defaultDimensionsField(d, n)
	case "attachments", "documentAttachments":
		return attachmentsField(d, n)
	case "companyInformation":
		return companyInformationField(n)
	case "generalLedgerSetup":
		return glSetupField(n)
	case "generalLedgerEntries":
		// Only used when the schema differs from the fast path's field list.
	case "salespeoplePurchasers":
		return salespeopleField(n)
	case "locations":
		return locationsField(n)
	case "bankAccounts":
		return bankAccountsField(n)
	case "journals", "customerPaymentJournals", "vendorPaymentJournals":
		return journalsField(d, n)
	case "journalLines":
		return journalLinesField(d, n)
	case "customerPayments", "vendorPayments":
		return paymentsField(d, n)
	case "applyVendorEntries":
		return applyVendorEntriesField(d, n)
	case "itemLedgerEntries":
		return itemLedgerEntriesField(d, n)
	case "itemVariants":
		return itemVariantsField(d, n)
	case "fixedAssets":
		return fixedAssetsField(n)
	case "opportunities":
		return opportunitiesField(d, n)
	case "timeRegistrationEntries":
		return timeRegistrationField(d, n)
	case "jobQueueEntries":
		return jobQueueEntriesField(n)
	case "jobQueueLogEntries":
		return jobQueueLogEntriesField(d, n)
	case "workflows":
		return workflowsField(n)
	case "workflowSteps":
		return workflowStepsField(d, n)
	case "workflowApprovers":
		return workflowApproversField(d, n)
	case "approvalEntries", "postedApprovalEntries":
		return approvalEntriesField(d, n)
	case "approvalUserSetups":
		return approvalUserSetupsField(n)
	case "balanceSheets", "incomeStatements", "cashFlowStatements", "retainedEarningsStatements":
		return reportLinesField(d, n)
	}
	return nil
}

// mirrorField generates the fields of sets that view another set's rows.
func (g *Generator) mirrorField(d *setDef, f *bcschema.Field) producer {
	base := d.mirror.name
	n := f.Name
	baseKey := func(x *rowCtx) any { return x.c.set(base).keyAny(x.i) }
	baseCode := func(x *rowCtx) any { code, _ := x.g.label(x.c.set(base), x.i); return code }
	baseName := func(x *rowCtx) any { _, name := x.g.label(x.c.set(base), x.i); return name }
	switch d.name {
	case "agedAccountsReceivables", "agedAccountsPayables", "customerSales", "vendorPurchases":
		switch n {
		case "customerId", "vendorId":
			return baseKey
		case "customerNumber", "vendorNumber":
			return baseCode
		case "name":
			return baseName
		case "currencyCode":
			return func(x *rowCtx) any { return x.c.currencyCode(x.c.party(x.c.set(base), x.i).currency) }
		case "balanceDue":
			return func(x *rowCtx) any { a := agedAmounts(x); return round2(a[0] + a[1] + a[2] + a[3]) }
		case "currentAmount":
			return func(x *rowCtx) any { return agedAmounts(x)[0] }
		case "period1Amount", "period2Amount", "period3Amount":
			k := int(n[6] - '0')
			return func(x *rowCtx) any { return agedAmounts(x)[k] }
		case "period1Label":
			return func(x *rowCtx) any { return "31-60 days" }
		case "period2Label":
			return func(x *rowCtx) any { return "61-90 days" }
		case "period3Label":
			return func(x *rowCtx) any { return "Over 90 days" }
		case "periodLengthFilter":
			return func(x *rowCtx) any { return "30D" }
		case "totalSalesAmount", "totalPurchaseAmount":
			return func(x *rowCtx) any { return money(x.h(0x7a), 500, 400_000) }
		}
	case "customerFinancialDetails":
		switch n {
		case "number":
			return baseCode
		case "balance":
			return func(x *rowCtx) any { return money(x.h(0xba), 100, 80_000) }
		case "totalSalesExcludingTax":
			return func(x *rowCtx) any { return money(x.h(0x75), 1_000, 500_000) }
		case "overdueAmount":
			return func(x *rowCtx) any {
				if chance(x.h(0x0d), 70) {
					return 0.0
				}
				return money(x.h(0x0e), 50, 20_000)
			}
		}
	case "trialBalances":
		switch n {
		case "number":
			return baseCode
		case "display":
			return baseName
		case "accountType":
			return func(x *rowCtx) any { return d.enum(n, x.g.account(x.i).accountType) }
		case "totalDebit", "totalCredit", "balanceAtDateDebit", "balanceAtDateCredit":
			salt := hashString(n)
			return func(x *rowCtx) any {
				if x.g.account(x.i).accountType != typePosting || chance(x.h(salt), 40) {
					return "0.00"
				}
				return formatAmount(money(x.h(salt^1), 100, 900_000))
			}
		}
	case "contactsInformation":
		switch n {
		case "contactNumber":
			return baseCode
		case "contactName":
			return baseName
		case "contactType":
			return func(x *rowCtx) any { return d.enum(n, contactType(x.i)) }
		case "relatedId":
			return func(x *rowCtx) any { return x.refKey("customers", x.c.contactCustomer(x.i)) }
		case "relatedType":
			return func(x *rowCtx) any {
				if x.c.contactCustomer(x.i) < 0 {
					return d.enum(n, blankEnumVal)
				}
				return d.enum(n, "Customer")
			}
		}
	case "pictures":
		switch n {
		case "parentType":
			return func(x *rowCtx) any { return d.enum(n, "Item") }
		case "width", "height":
			return func(x *rowCtx) any {
				if chance(x.h(0x91c), 30) {
					return int64(0)
				}
				return int64(600)
			}
		case "contentType":
			return func(x *rowCtx) any {
				if chance(x.h(0x91c), 30) {
					return ""
				}
				return "image/jpeg"
			}
		}
	case "pdfDocument":
		switch n {
		case "parentId":
			return baseKey
		case "parentType":
			return func(x *rowCtx) any { return d.enum(n, "Sales_x0020_Invoice") }
		}
	}
	return nil
}

// agedAmounts are a receivable's or payable's buckets: current, 31-60, 61-90, over 90 days.
func agedAmounts(x *rowCtx) [4]float64 {
	var a [4]float64
	for k := range a {
		if k == 0 || chance(x.h(0xa9+uint64(k)), 30) {
			a[k] = money(x.h(0xa0+uint64(k)), 20, 15_000)
		}
	}
	return a
}

// formatAmount renders an amount the way trialBalances sends its text amounts: "72,893.84".
func formatAmount(v float64) string {
	s := strconv.FormatFloat(v, 'f', 2, 64)
	intPart, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	for k, r := range intPart {
		if k > 0 && (len(intPart)-k)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String() + "." + frac
}

func companiesField(n string) producer {
	switch n {
	case "systemVersion":
		return func(x *rowCtx) any { return "27.1.41698.42150" }
	case "name", "displayName":
		return func(x *rowCtx) any {
			short, long := companyNamesAt(x.g, x.s, x.i)
			if n == "name" {
				return short
			}
			return long
		}
	case "businessProfileId":
		return func(x *rowCtx) any { return "" }
	case "systemCreatedAt":
		return func(x *rowCtx) any { return msTime(x.lm()) }
	}
	return nil
}

// companyNamesAt names companies row i after the home country its data is generated for,
// numbering repeats ("CRONUS UK 2") so that names stay unique.
func companyNamesAt(g *Generator, s *setState, i int) (name, displayName string) {
	home := g.homeOf(s.keyAt(i))
	dup := 0
	for j := 0; j < i; j++ {
		if g.homeOf(s.keyAt(j)) == home {
			dup++
		}
	}
	if dup == 0 {
		return home.shortName, home.displayName
	}
	sfx := " " + strconv.Itoa(dup+1)
	return home.shortName + sfx, home.displayName + sfx
}

func subscriptionsField(n string) producer {
	switch n {
	case "notificationUrl":
		return func(x *rowCtx) any { return "https://hooks.example.com/bc/notify/" + strconv.Itoa(x.i+1) }
	case "resource":
		return func(x *rowCtx) any {
			sets := []string{"customers", "vendors", "items", "salesInvoices", "salesOrders", "purchaseInvoices"}
			company := bcschema.BlankGUID
			if cs := x.c.set("companies"); cs.count() > 0 {
				company = cs.keyAt(0)
			}
			return "api/v2.0/companies(" + company + ")/" + sets[pick(x.h(0x5e7), len(sets))]
		}
	case "clientState":
		return func(x *rowCtx) any { return derivedGUID(x.k, 0xc1)[:8] + "-secret" }
	case "expirationDateTime":
		return func(x *rowCtx) any { return msTime(x.lm() + 3*dayMs) }
	}
	return nil
}

var monthNames = []string{"January", "February", "March", "April", "May", "June", "July", "August", "September",
	"October", "November", "December"}

func accountingPeriodsField(n string) producer {
	switch n {
	case "startingDate":
		return func(x *rowCtx) any { return epoch.AddDate(0, x.i, 0).Format(time.DateOnly) }
	case "name":
		return func(x *rowCtx) any { return monthNames[x.i%12] }
	case "newFiscalYear":
		return func(x *rowCtx) any { return x.i%12 == 0 }
	case "closed", "dateLocked":
		return func(x *rowCtx) any { return x.i < 12 }
	}
	return nil
}

func accountsField(n string) producer {
	switch n {
	case "category":
		return func(x *rowCtx) any { return x.s.def.enum(n, x.g.account(x.i).category) }
	case "subCategory":
		return func(x *rowCtx) any { return x.g.account(x.i).subCategory }
	case "accountType":
		return func(x *rowCtx) any { return x.s.def.enum(n, x.g.account(x.i).accountType) }
	case "blocked", "excludeFromConsolidation":
		return func(x *rowCtx) any { return false }
	case "directPosting":
		return func(x *rowCtx) any {
			a := x.g.account(x.i)
			return a.accountType == typePosting && a.role != roleReceivables && a.role != rolePayables && a.role != roleInventory
		}
	case "netChange":
		return func(x *rowCtx) any {
			a := x.g.account(x.i)
			if a.accountType != typePosting {
				return 0.0
			}
			v := money(x.h(0x4e7), 100, 500_000)
			if a.category == catIncome || a.category == catLiab || a.category == catEquity || a.role == roleReceivables && chance(x.h(1), 5) {
				v = -v
			}
			return v
		}
	case "consolidationTranslationMethod":
		return func(x *rowCtx) any {
			switch x.g.account(x.i).category {
			case catIncome, catCOGS, catExpense:
				return "Average Rate (Manual)"
			}
			return "Closing Rate"
		}
	case "consolidationDebitAccount", "consolidationCreditAccount":
		return func(x *rowCtx) any {
			if a := x.g.account(x.i); a.accountType == typePosting {
				return a.number
			}
			return ""
		}
	}
	return nil
}

// ownParty returns the row's party profile (customers and vendors rows).
func (x *rowCtx) ownParty() *party {
	if !x.partyDone {
		x.pty, x.ptyIdx, x.partyDone = x.c.party(x.s, x.i), x.i, true
	}
	return &x.pty
}

func partyField(d *setDef, n string) producer {
	switch n {
	case "addressLine1":
		return func(x *rowCtx) any { return x.ownParty().addr.line1 }
	case "addressLine2":
		return func(x *rowCtx) any { return x.ownParty().addr.line2 }
	case "city":
		return func(x *rowCtx) any { return x.ownParty().addr.city }
	case "state":
		return func(x *rowCtx) any { return x.ownParty().addr.state }
	case "country":
		return func(x *rowCtx) any { return x.ownParty().addr.country }
	case "postalCode":
		return func(x *rowCtx) any { return x.ownParty().addr.postCode }
	case "phoneNumber":
		return func(x *rowCtx) any { return x.ownParty().phone }
	case "email":
		return func(x *rowCtx) any { return x.ownParty().email }
	case "website":
		return func(x *rowCtx) any { return x.ownParty().website }
	case "type":
		return func(x *rowCtx) any {
			if x.c.isPersonCustomer(x.s, x.i) {
				return d.enum(n, "Person")
			}
			return d.enum(n, "Company")
		}
	case "salespersonCode":
		return func(x *rowCtx) any { return x.refCode("salespeoplePurchasers", x.ownParty().salesperson) }
	case "balanceDue", "balance":
		return func(x *rowCtx) any {
			if chance(x.h(0xbd), 35) {
				return 0.0
			}
			return money(x.h(0xbe), 100, 60_000)
		}
	case "creditLimit":
		return func(x *rowCtx) any {
			if chance(x.h(0xc1), 50) {
				return 0.0
			}
			return float64(5+pick(x.h(0xc2), 20)) * 5000
		}
	case "taxLiable":
		return func(x *rowCtx) any { return x.ownParty().taxLiable }
	case "taxAreaId":
		return func(x *rowCtx) any { return x.refKey("taxAreas", x.ownParty().taxArea) }
	case "taxAreaDisplayName":
		return func(x *rowCtx) any { return x.refName("taxAreas", x.ownParty().taxArea) }
	case "taxRegistrationNumber":
		return func(x *rowCtx) any { return x.ownParty().taxReg }
	case "currencyId":
		return func(x *rowCtx) any { return x.refKey("currencies", x.ownParty().currency) }
	case "currencyCode":
		return func(x *rowCtx) any { return x.c.currencyCode(x.ownParty().currency) }
	case "paymentTermsId":
		return func(x *rowCtx) any { return x.refKey("paymentTerms", x.ownParty().terms) }
	case "shipmentMethodId":
		return func(x *rowCtx) any { return x.refKey("shipmentMethods", x.ownParty().shipMethod) }
	case "paymentMethodId":
		return func(x *rowCtx) any { return x.refKey("paymentMethods", x.ownParty().payMethod) }
	case "irs1099Code":
		return func(x *rowCtx) any {
			if x.c.home.country == "US" && chance(x.h(0x1099), 15) {
				return "MISC-07"
			}
			return ""
		}
	case "blocked":
		return func(x *rowCtx) any {
			if chance(x.h(sBlocked), 94) {
				return d.enum(n, blankEnumVal)
			}
			return d.enum(n, "All")
		}
	}
	return nil
}

// isPersonCustomer reports whether customer j is a private person rather than a company.
func (c *company) isPersonCustomer(s *setState, j int) bool {
	return s.def.name == "customers" && chance(sub(rowKey(s.key, j), sKind), 8)
}

func itemsField(d *setDef, n string) producer {
	it := func(x *rowCtx) *itemInfo {
		if !x.itemDone {
			x.itm, x.itemDone = x.c.item(x.i), true
		}
		return &x.itm
	}
	switch n {
	case "displayName2":
		return func(x *rowCtx) any { return "" }
	case "type":
		return func(x *rowCtx) any { return d.enum(n, it(x).prod.kind) }
	case "itemCategoryId":
		return func(x *rowCtx) any { return x.refKey("itemCategories", it(x).category) }
	case "itemCategoryCode":
		return func(x *rowCtx) any { return x.refCode("itemCategories", it(x).category) }
	case "blocked":
		return func(x *rowCtx) any { return it(x).blocked }
	case "gtin":
		return func(x *rowCtx) any { return it(x).gtin }
	case "inventory":
		return func(x *rowCtx) any { return it(x).inventory }
	case "unitPrice":
		return func(x *rowCtx) any { return it(x).price }
	case "unitCost":
		return func(x *rowCtx) any { return it(x).cost }
	case "priceIncludesTax":
		return func(x *rowCtx) any { return false }
	case "taxGroupId":
		return func(x *rowCtx) any { return x.refKey("taxGroups", it(x).taxGroup) }
	case "taxGroupCode":
		return func(x *rowCtx) any { return x.refCode("taxGroups", it(x).taxGroup) }
	case "baseUnitOfMeasureId":
		return func(x *rowCtx) any { return x.refKey("unitsOfMeasure", it(x).unit) }
	case "baseUnitOfMeasureCode":
		return func(x *rowCtx) any { return x.refCode("unitsOfMeasure", it(x).unit) }
	case "generalProductPostingGroupId":
		return func(x *rowCtx) any { return x.refKey("generalProductPostingGroups", it(x).genProd) }
	case "generalProductPostingGroupCode":
		return func(x *rowCtx) any { return x.refCode("generalProductPostingGroups", it(x).genProd) }
	case "inventoryPostingGroupId":
		return func(x *rowCtx) any { return x.refKey("inventoryPostingGroups", it(x).invPosting) }
	case "inventoryPostingGroupCode":
		return func(x *rowCtx) any { return x.refCode("inventoryPostingGroups", it(x).invPosting) }
	}
	return nil
}

func contactType(j int) string {
	if j%4 == 0 {
		return "Company"
	}
	return "Person"
}

func contactsField(d *setDef, n string) producer {
	// A contact's address is that of the customer its company contact stands for.
	addr := func(x *rowCtx) *address {
		if !x.addrDone {
			x.addrDone = true
			if cu := x.c.contactCustomer(x.i); cu >= 0 {
				x.addr = x.c.party(x.c.set("customers"), cu).addr
			} else {
				x.addr = x.c.addressIn(x.h(0xad), x.c.homeIndex())
			}
		}
		return &x.addr
	}
	companyNo := func(x *rowCtx) int { return x.i - x.i%4 }
	switch n {
	case "type":
		return func(x *rowCtx) any { return d.enum(n, contactType(x.i)) }
	case "jobTitle":
		return func(x *rowCtx) any {
			if x.i%4 == 0 {
				return ""
			}
			return jobTitles[pick(x.h(0x70b), len(jobTitles))]
		}
	case "companyNumber":
		return func(x *rowCtx) any { return x.s.num.at(companyNo(x)) }
	case "companyName":
		return func(x *rowCtx) any { return x.c.contactCompanyName(x.i) }
	case "contactBusinessRelation":
		return func(x *rowCtx) any {
			if x.c.contactCustomer(x.i) < 0 {
				return d.enum(n, "None")
			}
			return d.enum(n, "Customer")
		}
	case "addressLine1":
		return func(x *rowCtx) any { return addr(x).line1 }
	case "addressLine2":
		return func(x *rowCtx) any { return addr(x).line2 }
	case "city":
		return func(x *rowCtx) any { return addr(x).city }
	case "state":
		return func(x *rowCtx) any { return addr(x).state }
	case "country":
		return func(x *rowCtx) any { return addr(x).country }
	case "postalCode":
		return func(x *rowCtx) any { return addr(x).postCode }
	case "phoneNumber":
		return func(x *rowCtx) any { return phone(locales[countryByCode(addr(x).country).code], x.h(sPhone)) }
	case "mobilePhoneNumber":
		return func(x *rowCtx) any {
			if x.i%4 == 0 {
				return ""
			}
			return phone(locales[countryByCode(addr(x).country).code], x.h(sPhone+1))
		}
	case "email":
		return func(x *rowCtx) any {
			dom := domain(x.c.contactCompanyName(x.i), locales[countryByCode(addr(x).country).code].tld)
			if x.i%4 == 0 {
				return "info@" + dom
			}
			return personFrom(x.k ^ sPerson).email(dom)
		}
	case "website":
		return func(x *rowCtx) any {
			if x.i%4 != 0 {
				return ""
			}
			return "www." + domain(x.c.contactCompanyName(x.i), locales[countryByCode(addr(x).country).code].tld)
		}
	case "searchName":
		return func(x *rowCtx) any { return strings.ToUpper(x.c.contactName(x.i)) }
	case "privacyBlocked":
		return func(x *rowCtx) any { return false }
	case "taxRegistrationNumber":
		return func(x *rowCtx) any {
			if x.i%4 != 0 {
				return ""
			}
			if cu := x.c.contactCustomer(x.i); cu >= 0 {
				return x.c.party(x.c.set("customers"), cu).taxReg
			}
			return ""
		}
	case "lastInteractionDate":
		return func(x *rowCtx) any {
			if chance(x.h(0x11d), 40) {
				return blankDate
			}
			return x.g.day(x.day())
		}
	}
	return nil
}

func employeesField(d *setDef, n string) producer {
	p := func(x *rowCtx) person { return personFrom(x.k ^ sPerson) }
	addr := func(x *rowCtx) *address {
		if !x.addrDone {
			x.addr, x.addrDone = x.c.addressIn(x.h(0xad), x.c.homeIndex()), true
		}
		return &x.addr
	}
	status := func(x *rowCtx) string {
		switch r := pick(x.h(sStatus), 100); {
		case r < 90:
			return "Active"
		case r < 95:
			return "Inactive"
		}
		return "Terminated"
	}
	employed := func(x *rowCtx) int { return -pick(x.h(0xe3), 15*365) }
	switch n {
	case "givenName":
		return func(x *rowCtx) any { return p(x).first }
	case "middleName":
		return func(x *rowCtx) any { return p(x).middle }
	case "surname":
		return func(x *rowCtx) any { return p(x).last }
	case "displayName":
		return func(x *rowCtx) any { return p(x).full() }
	case "jobTitle":
		return func(x *rowCtx) any { return truncate(jobTitles[pick(x.h(0x70b), len(jobTitles))], 30) }
	case "addressLine1":
		return func(x *rowCtx) any { return addr(x).line1 }
	case "addressLine2":
		return func(x *rowCtx) any { return addr(x).line2 }
	case "city":
		return func(x *rowCtx) any { return addr(x).city }
	case "state":
		return func(x *rowCtx) any { return addr(x).state }
	case "country":
		return func(x *rowCtx) any { return addr(x).country }
	case "postalCode":
		return func(x *rowCtx) any { return addr(x).postCode }
	case "phoneNumber":
		return func(x *rowCtx) any { return phone(x.c.loc, x.h(sPhone)) }
	case "mobilePhone":
		return func(x *rowCtx) any { return phone(x.c.loc, x.h(sPhone+1)) }
	case "email":
		return func(x *rowCtx) any { return p(x).email(x.c.ownDomain()) }
	case "personalEmail":
		return func(x *rowCtx) any {
			if chance(x.h(0xe1), 50) {
				return ""
			}
			return p(x).email("example.com")
		}
	case "employmentDate":
		return func(x *rowCtx) any { return x.g.day(employed(x)) }
	case "terminationDate":
		return func(x *rowCtx) any {
			if status(x) != "Terminated" {
				return blankDate
			}
			return x.g.day(x.day())
		}
	case "status":
		return func(x *rowCtx) any { return d.enum(n, status(x)) }
	case "birthDate":
		return func(x *rowCtx) any {
			return epoch.AddDate(-25-pick(x.h(0xb1), 38), 0, pick(x.h(0xb2), 365)).Format(time.DateOnly)
		}
	case "statisticsGroupCode":
		return func(x *rowCtx) any { return "" }
	case "bankBranchNumber":
		return func(x *rowCtx) any { return string(appendPadded(nil, int64(pick(x.h(0xbb), 9999)), 4)) }
	case "bankAccountNumber":
		return func(x *rowCtx) any { return string(appendPadded(nil, int64(pick(x.h(0xba), 999_999_999)), 10)) }
	case "iban":
		return func(x *rowCtx) any { return iban(x.c.home.country, x.h(0x1ba)) }
	}
	return nil
}

// iban returns an IBAN-shaped account number for sandbox data (VAT countries), "" for the US.
func iban(cc string, h uint64) string {
	if cc == "US" || cc == "CA" || cc == "AU" {
		return ""
	}
	b := []byte(cc + string(appendPadded(nil, int64(10+pick(h, 89)), 2)) + " ")
	for k := 0; k < 16; k++ {
		if k > 0 && k%4 == 0 {
			b = append(b, ' ')
		}
		h = mix64(h + uint64(k))
		b = append(b, byte('0'+h%10))
	}
	return string(b)
}

func customerContactsField(n string) producer {
	p := func(x *rowCtx) person { return personFrom(x.k ^ sPerson) }
	cust := func(x *rowCtx) int { return x.ref("customers", hashString("ref:customer")) }
	switch n {
	case "firstName":
		return func(x *rowCtx) any { return p(x).first }
	case "lastName":
		return func(x *rowCtx) any { return p(x).last }
	case "email":
		return func(x *rowCtx) any {
			cu := cust(x)
			if cu < 0 {
				return p(x).email(x.c.ownDomain())
			}
			return p(x).email(domain(x.c.partyName(x.c.set("customers"), cu), x.c.loc.tld))
		}
	case "professionalTitle":
		return func(x *rowCtx) any { return jobTitles[pick(x.h(0x70b), len(jobTitles))] }
	case "primaryPhoneNumber":
		return func(x *rowCtx) any { return phone(x.c.loc, x.h(sPhone)) }
	}
	return nil
}

func currenciesField(n string) producer {
	cur := func(x *rowCtx) *currency { return &currencyTable[x.c.currencies[x.i]] }
	switch n {
	case "symbol":
		return func(x *rowCtx) any { return cur(x).symbol }
	case "amountDecimalPlaces":
		return func(x *rowCtx) any { return cur(x).decimals }
	case "amountRoundingPrecision":
		return func(x *rowCtx) any { return cur(x).rounding }
	}
	return nil
}

// exchangeRatesField: one rate per currency per quarter, relative to the local currency.
func exchangeRatesField(n string) producer {
	curRow := func(x *rowCtx) int {
		if nc := x.c.count("currencies"); nc > 0 {
			return x.i % nc
		}
		return -1
	}
	quarter := func(x *rowCtx) int {
		if nc := x.c.count("currencies"); nc > 0 {
			return x.i / nc
		}
		return x.i
	}
	perUnit := func(x *rowCtx) float64 {
		if nc := x.c.count("currencies"); nc > 0 && x.c.currencyCode(x.i%nc) == "JPY" {
			return 100
		}
		return 1
	}
	switch n {
	case "currencyCode":
		return func(x *rowCtx) any {
			if r := curRow(x); r >= 0 {
				return x.c.currencyCode(r)
			}
			return ""
		}
	case "startingDate":
		return func(x *rowCtx) any { return epoch.AddDate(0, 3*quarter(x), 0).Format(time.DateOnly) }
	case "exchangeRateAmount":
		return func(x *rowCtx) any { return perUnit(x) }
	case "relationalCurrencyCode":
		return func(x *rowCtx) any { return "" }
	case "relationalExchangeRateAmount":
		return func(x *rowCtx) any {
			r := curRow(x)
			if r < 0 {
				return 1.0
			}
			cur := currencyTable[x.c.currencies[r]]
			local := 1.0
			for _, lc := range currencyTable {
				if lc.code == x.c.lcy {
					local = lc.usd
				}
			}
			drift := 0.97 + 0.06*unit(x.h(0xd1))
			return float64(int64(perUnit(x)*cur.usd/local*drift*10000+0.5)) / 10000
		}
	}
	return nil
}

func paymentTermsField(n string) producer {
	switch n {
	case "dueDateCalculation":
		return func(x *rowCtx) any { return paymentTermTable[x.i].due }
	case "discountDateCalculation":
		return func(x *rowCtx) any { return paymentTermTable[x.i].discountDate }
	case "discountPercent":
		return func(x *rowCtx) any { return paymentTermTable[x.i].discount }
	case "calculateDiscountOnCreditMemos":
		return func(x *rowCtx) any { return paymentTermTable[x.i].onCreditMemos }
	}
	return nil
}

// polyParent picks the parent of a polymorphic child (attachments, dimension set lines) among
// the listed sets that have rows.
func (x *rowCtx) polyParent(d *setDef, field string, choices [][2]string) (set string, idx int, typ any) {
	if !x.polyDone {
		x.polyDone, x.polyIdx, x.polyType = true, -1, d.enum(field, blankEnumVal)
		start := pick(x.h(0x9a), len(choices))
		for k := range choices {
			ch := choices[(start+k)%len(choices)]
			if n := x.c.count(ch[0]); n > 0 {
				x.polySet, x.polyIdx, x.polyType = ch[0], pick(x.h(0x9b), n), d.enum(field, ch[1])
				break
			}
		}
	}
	return x.polySet, x.polyIdx, x.polyType
}

var dimensionSetParents = [][2]string{{"generalLedgerEntries", "General_x0020_Ledger_x0020_Entry"},
	{"salesInvoices", "Sales_x0020_Invoice"}, {"salesOrders", "Sales_x0020_Order"},
	{"purchaseInvoices", "Purchase_x0020_Invoice"}, {"journalLines", "Journal_x0020_Line"}}

func dimensionSetLinesField(d *setDef, n string) producer {
	switch n {
	case "parentId":
		return func(x *rowCtx) any {
			set, j, _ := x.polyParent(d, "parentType", dimensionSetParents)
			if j < 0 {
				return blankGUID
			}
			return x.refKey(set, j)
		}
	case "parentType":
		return func(x *rowCtx) any { _, _, t := x.polyParent(d, n, dimensionSetParents); return t }
	case "code":
		return func(x *rowCtx) any { dm, _ := x.dimPick(); return x.refCode("dimensions", dm) }
	case "displayName":
		return func(x *rowCtx) any { dm, _ := x.dimPick(); return x.refName("dimensions", dm) }
	case "consolidationCode", "valueConsolidationCode":
		return func(x *rowCtx) any { return "" }
	}
	return nil
}

var defaultDimensionParents = [][2]string{{"customers", "Customer"}, {"items", "Item"}, {"vendors", "Vendor"},
	{"employees", "Employee"}}

func defaultDimensionsField(d *setDef, n string) producer {
	switch n {
	case "parentId":
		return func(x *rowCtx) any {
			set, j, _ := x.polyParent(d, "parentType", defaultDimensionParents)
			if j < 0 {
				return blankGUID
			}
			return x.refKey(set, j)
		}
	case "parentType":
		return func(x *rowCtx) any { _, _, t := x.polyParent(d, n, defaultDimensionParents); return t }
	case "postingValidation":
		return func(x *rowCtx) any {
			switch r := pick(x.h(0x9f), 10); {
			case r < 5:
				return d.enum(n, blankEnumVal)
			case r < 8:
				return d.enum(n, "Code_x0020_Mandatory")
			}
			return d.enum(n, "Same_x0020_Code")
		}
	}
	return nil
}

var attachmentParents = [][2]string{{"salesInvoices", "Sales_x0020_Invoice"}, {"purchaseInvoices", "Purchase_x0020_Invoice"},
	{"salesOrders", "Sales_x0020_Order"}, {"purchaseOrders", "Purchase_x0020_Order"}, {"salesQuotes", "Sales_x0020_Quote"}}

func attachmentsField(d *setDef, n string) producer {
	switch n {
	case "parentId":
		return func(x *rowCtx) any {
			set, j, _ := x.polyParent(d, "parentType", attachmentParents)
			if j < 0 {
				return blankGUID
			}
			return x.refKey(set, j)
		}
	case "parentType":
		return func(x *rowCtx) any { _, _, t := x.polyParent(d, n, attachmentParents); return t }
	case "fileName":
		return func(x *rowCtx) any {
			set, j, _ := x.polyParent(d, "parentType", attachmentParents)
			stem := fileNameStems[pick(x.h(0xf1), len(fileNameStems))]
			if j >= 0 {
				code, _ := x.g.label(x.c.set(set), j)
				stem += "_" + code
			}
			return stem + fileExts[pick(x.h(0xf2), len(fileExts))]
		}
	case "byteSize":
		return func(x *rowCtx) any { return int64(8_000 + pick(x.h(0xb5), 2_000_000)) }
	case "lineNumber":
		return func(x *rowCtx) any { return int64(10000) }
	case "documentFlowSales":
		return func(x *rowCtx) any {
			s, _, _ := x.polyParent(d, "parentType", attachmentParents)
			return strings.HasPrefix(s, "sales")
		}
	case "documentFlowPurchase":
		return func(x *rowCtx) any {
			s, _, _ := x.polyParent(d, "parentType", attachmentParents)
			return strings.HasPrefix(s, "purchase")
		}
	}
	return nil
}

func companyInformationField(n string) producer {
	addr := func(x *rowCtx) address { return x.c.companyAddress() }
	switch n {
	case "displayName":
		return func(x *rowCtx) any { return x.c.home.displayName }
	case "addressLine1":
		return func(x *rowCtx) any { return addr(x).line1 }
	case "addressLine2":
		return func(x *rowCtx) any { return addr(x).line2 }
	case "city":
		return func(x *rowCtx) any { return addr(x).city }
	case "state":
		return func(x *rowCtx) any { return addr(x).state }
	case "country":
		return func(x *rowCtx) any { return addr(x).country }
	case "postalCode":
		return func(x *rowCtx) any { return addr(x).postCode }
	case "phoneNumber":
		return func(x *rowCtx) any { return phone(x.c.loc, mix64(x.c.key^0x9e0)) }
	case "faxNumber":
		return func(x *rowCtx) any { return phone(x.c.loc, mix64(x.c.key^0xfa0)) }
	case "email":
		return func(x *rowCtx) any { return "info@" + x.c.ownDomain() }
	case "website":
		return func(x *rowCtx) any { return "www." + x.c.ownDomain() }
	case "taxRegistrationNumber":
		return func(x *rowCtx) any {
			if x.c.loc.vatPrefix == "" {
				return ""
			}
			return x.c.loc.vatPrefix + strconv.Itoa(100000000+pick(mix64(x.c.key^0x7a), 899999999))
		}
	case "currencyCode":
		return func(x *rowCtx) any { return x.c.lcy }
	case "currentFiscalYearStartDate":
		return func(x *rowCtx) any { return "2025-01-01" }
	case "industry":
		return func(x *rowCtx) any { return "Furniture" }
	case "experience":
		return func(x *rowCtx) any { return "Essential" }
	}
	return nil
}

func glSetupField(n string) producer {
	if k, ok := strings.CutPrefix(n, "shortcutDimension"); ok {
		idx := int(k[0]-'0') - 1
		return func(x *rowCtx) any {
			if idx < x.c.count("dimensions") {
				return dimensionTable[idx].code
			}
			return ""
		}
	}
	switch n {
	case "allowPostingFrom", "allowPostingTo":
		return func(x *rowCtx) any { return blankDate }
	case "additionalReportingCurrency":
		return func(x *rowCtx) any { return "" }
	case "localCurrencyCode":
		return func(x *rowCtx) any { return x.c.lcy }
	case "localCurrencySymbol":
		return func(x *rowCtx) any {
			for _, cur := range currencyTable {
				if cur.code == x.c.lcy {
					return cur.symbol
				}
			}
			return ""
		}
	case "allowQueryFromConsolidation":
		return func(x *rowCtx) any { return false }
	}
	return nil
}

func salespeopleField(n string) producer {
	p := func(x *rowCtx) person { return personFrom(x.k ^ sPerson) }
	switch n {
	case "email":
		return func(x *rowCtx) any { return p(x).email(x.c.ownDomain()) }
	case "email2":
		return func(x *rowCtx) any { return "" }
	case "phoneNo":
		return func(x *rowCtx) any { return phone(x.c.loc, x.h(sPhone)) }
	case "jobTitle":
		return func(x *rowCtx) any {
			return []string{"Sales Manager", "Sales Representative", "Purchasing Agent", "Account Manager"}[pick(x.h(0x70b), 4)]
		}
	case "commisionPercent":
		return func(x *rowCtx) any { return float64(pick(x.h(0xc0), 6)) }
	case "privacyBlocked", "blocked":
		return func(x *rowCtx) any { return false }
	}
	return nil
}

func locationsField(n string) producer {
	addr := func(x *rowCtx) *address {
		if !x.addrDone {
			x.addr, x.addrDone = x.c.addressIn(x.h(0xad), x.c.homeIndex()), true
		}
		return &x.addr
	}
	switch n {
	case "contact":
		return func(x *rowCtx) any { return x.person().full() }
	case "addressLine1":
		return func(x *rowCtx) any { return addr(x).line1 }
	case "addressLine2":
		return func(x *rowCtx) any { return addr(x).line2 }
	case "city":
		return func(x *rowCtx) any { return addr(x).city }
	case "state":
		return func(x *rowCtx) any { return addr(x).state }
	case "country":
		return func(x *rowCtx) any { return addr(x).country }
	case "postalCode":
		return func(x *rowCtx) any { return addr(x).postCode }
	case "phoneNumber":
		return func(x *rowCtx) any { return phone(x.c.loc, x.h(sPhone)) }
	case "email":
		return func(x *rowCtx) any {
			code, _ := x.own()
			return asciiFold(code) + "@" + x.c.ownDomain()
		}
	case "website":
		return func(x *rowCtx) any { return "" }
	}
	return nil
}

func bankAccountsField(n string) producer {
	switch n {
	case "bankAccountNumber":
		return func(x *rowCtx) any { return string(appendPadded(nil, int64(pick(x.h(0xba), 999_999_999)), 10)) }
	case "blocked", "intercompanyEnabled":
		return func(x *rowCtx) any { return false }
	case "currencyCode":
		return func(x *rowCtx) any {
			if bankAccountTable[x.i].code == "EUR-ACC" && x.c.lcy != "EUR" {
				return "EUR"
			}
			return ""
		}
	case "currencyId":
		return func(x *rowCtx) any {
			if bankAccountTable[x.i].code == "EUR-ACC" && x.c.lcy != "EUR" {
				for r := 0; r < x.c.count("currencies"); r++ {
					if x.c.currencyCode(r) == "EUR" {
						return x.refKey("currencies", r)
					}
				}
			}
			return blankGUID
		}
	case "iban":
		return func(x *rowCtx) any { return iban(x.c.home.country, x.h(0x1ba)) }
	}
	return nil
}

// bankAccount is the G/L bank account journals balance against, -1 if the chart has none.
func (x *rowCtx) bankAccount() int {
	a := x.g.roleAccount(roleBank, 0)
	if a >= x.c.count("accounts") {
		return -1
	}
	return a
}

func journalsField(d *setDef, n string) producer {
	switch n {
	case "templateDisplayName":
		return func(x *rowCtx) any {
			switch d.name {
			case "customerPaymentJournals":
				return "CASHRCPT"
			case "vendorPaymentJournals":
				return "PAYMENT"
			}
			return "GENERAL"
		}
	case "balancingAccountId":
		return func(x *rowCtx) any { return x.refKey("accounts", x.bankAccount()) }
	case "balancingAccountNumber":
		return func(x *rowCtx) any { return x.refCode("accounts", x.bankAccount()) }
	}
	return nil
}

func journalLinesField(d *setDef, n string) producer {
	acct := func(x *rowCtx) int {
		a := x.g.roleAccount(roleExpense, x.h(0xac))
		if a >= x.c.count("accounts") {
			return -1
		}
		return a
	}
	switch n {
	case "journalDisplayName":
		return func(x *rowCtx) any { return x.refCode("journals", x.parent) }
	case "accountType", "balanceAccountType":
		return func(x *rowCtx) any { return d.enum(n, "G_x002F_L_x0020_Account") }
	case "accountId":
		return func(x *rowCtx) any { return x.refKey("accounts", acct(x)) }
	case "accountNumber":
		return func(x *rowCtx) any { return x.refCode("accounts", acct(x)) }
	case "description":
		return func(x *rowCtx) any { return x.refName("accounts", acct(x)) }
	case "documentNumber":
		return func(x *rowCtx) any { return "G0" + string(appendPadded(nil, int64(x.i+1), 4)) }
	case "externalDocumentNumber", "comment", "taxCode":
		return func(x *rowCtx) any { return "" }
	case "amount":
		return func(x *rowCtx) any { return money(x.h(0xa3), 10, 15_000) }
	case "balancingAccountId":
		return func(x *rowCtx) any { return x.refKey("accounts", x.bankAccount()) }
	case "balancingAccountNumber":
		return func(x *rowCtx) any { return x.refCode("accounts", x.bankAccount()) }
	}
	return nil
}

func paymentsField(d *setDef, n string) producer {
	sales := d.name == "customerPayments"
	partySet, journals, invoices, prefix := "customers", "customerPaymentJournals", "salesInvoices", "G02"
	if !sales {
		partySet, journals, invoices, prefix = "vendors", "vendorPaymentJournals", "purchaseInvoices", "G04"
	}
	pty := func(x *rowCtx) int { return x.ref(partySet, 0x9a7) }
	inv := func(x *rowCtx) int {
		if chance(x.h(0x1f), 40) {
			return -1
		}
		return x.ref(invoices, 0x1e)
	}
	switch n {
	case "journalDisplayName":
		return func(x *rowCtx) any { return x.refCode(journals, x.parent) }
	case "customerId", "vendorId":
		return func(x *rowCtx) any { return x.refKey(partySet, pty(x)) }
	case "customerNumber", "vendorNumber":
		return func(x *rowCtx) any { return x.refCode(partySet, pty(x)) }
	case "documentNumber":
		return func(x *rowCtx) any { return prefix + string(appendPadded(nil, int64(x.i+1), 4)) }
	case "externalDocumentNumber", "comment":
		return func(x *rowCtx) any { return "" }
	case "amount":
		return func(x *rowCtx) any {
			v := money(x.h(0xa3), 50, 25_000)
			if sales {
				return -v // payment lines credit the customer
			}
			return v
		}
	case "appliesToInvoiceId":
		return func(x *rowCtx) any { return x.refKey(invoices, inv(x)) }
	case "appliesToInvoiceNumber":
		return func(x *rowCtx) any { return x.refCode(invoices, inv(x)) }
	case "description":
		return func(x *rowCtx) any {
			j := pty(x)
			if j < 0 {
				return "Payment"
			}
			_, name := x.g.label(x.c.set(partySet), j)
			if sales {
				return "Payment from " + name
			}
			return "Payment to " + name
		}
	}
	return nil
}

func applyVendorEntriesField(d *setDef, n string) producer {
	inv := func(x *rowCtx) int { return x.ref("purchaseInvoices", 0x1e) }
	vend := func(x *rowCtx) int { return x.ref("vendors", 0x9a7) }
	switch n {
	case "applied":
		return func(x *rowCtx) any { return false }
	case "appliesToId":
		return func(x *rowCtx) any { return "" }
	case "documentType":
		return func(x *rowCtx) any { return d.enum(n, "Invoice") }
	case "documentNumber":
		return func(x *rowCtx) any { return x.refCode("purchaseInvoices", inv(x)) }
	case "externalDocumentNumber":
		return func(x *rowCtx) any { return "INV-" + string(appendPadded(nil, int64(pick(x.h(0xe0), 999_999)), 6)) }
	case "vendorNumber":
		return func(x *rowCtx) any { return x.refCode("vendors", vend(x)) }
	case "vendorName":
		return func(x *rowCtx) any { return x.refName("vendors", vend(x)) }
	case "description":
		return func(x *rowCtx) any { return "Invoice " + x.refCode("purchaseInvoices", inv(x)).(string) }
	case "remainingAmount":
		return func(x *rowCtx) any { return -money(x.h(0xa3), 50, 25_000) }
	}
	return nil
}

func itemLedgerEntriesField(d *setDef, n string) producer {
	kind := func(x *rowCtx) int { return pick(x.h(sKind), 100) } // <55 sale, <90 purchase, else adjustment
	item := func(x *rowCtx) int { return x.ref("items", hashString("ref:item")) }
	qty := func(x *rowCtx) float64 {
		q := float64(1 + pick(x.h(sQty), 20))
		if k := kind(x); k < 55 || k >= 95 {
			return -q
		}
		return q
	}
	switch n {
	case "entryType":
		return func(x *rowCtx) any {
			switch k := kind(x); {
			case k < 55:
				return d.enum(n, "Sale")
			case k < 90:
				return d.enum(n, "Purchase")
			case k < 95:
				return d.enum(n, "Positive_x0020_Adjmt_x002E_")
			}
			return d.enum(n, "Negative_x0020_Adjmt_x002E_")
		}
	case "sourceNumber":
		return func(x *rowCtx) any {
			switch k := kind(x); {
			case k < 55:
				return x.refCode("customers", x.ref("customers", 0x50))
			case k < 90:
				return x.refCode("vendors", x.ref("vendors", 0x51))
			}
			return ""
		}
	case "sourceType":
		return func(x *rowCtx) any {
			switch k := kind(x); {
			case k < 55:
				return "Customer"
			case k < 90:
				return "Vendor"
			}
			return ""
		}
	case "documentType":
		return func(x *rowCtx) any {
			switch k := kind(x); {
			case k < 55:
				return d.enum(n, "Sales_x0020_Shipment")
			case k < 90:
				return d.enum(n, "Purchase_x0020_Receipt")
			}
			return d.enum(n, blankEnumVal)
		}
	case "documentNumber":
		return func(x *rowCtx) any {
			switch k := kind(x); {
			case k < 55:
				return "S-SHPT" + strconv.Itoa(102001+x.i)
			case k < 90:
				return "P-RCPT" + strconv.Itoa(107001+x.i)
			}
			return "T" + string(appendPadded(nil, int64(x.i+1), 5))
		}
	case "itemNumber":
		return func(x *rowCtx) any { return x.refCode("items", item(x)) }
	case "description":
		return func(x *rowCtx) any { return "" }
	case "quantity":
		return func(x *rowCtx) any { return qty(x) }
	case "salesAmountActual":
		return func(x *rowCtx) any {
			if kind(x) >= 55 || item(x) < 0 {
				return 0.0
			}
			return round2(-qty(x) * x.c.item(item(x)).price)
		}
	case "costAmountActual":
		return func(x *rowCtx) any {
			if item(x) < 0 {
				return 0.0
			}
			return round2(qty(x) * x.c.item(item(x)).cost)
		}
	}
	return nil
}

func itemVariantsField(d *setDef, n string) producer {
	colour := func(x *rowCtx) string {
		return colours[(x.pos+pick(rowKey(x.s.key, x.parent), len(colours)))%len(colours)]
	}
	switch n {
	case "itemNumber":
		return func(x *rowCtx) any { return x.refCode("items", x.parent) }
	case "code":
		return func(x *rowCtx) any { return truncate(strings.ToUpper(colour(x)), 10) }
	case "description":
		return func(x *rowCtx) any { return x.c.item(x.parent).baseName + ", " + colour(x) }
	}
	return nil
}

func fixedAssetsField(n string) producer {
	class := func(x *rowCtx) int { return pick(x.h(0xfa), len(faClasses)) }
	switch n {
	case "classCode":
		return func(x *rowCtx) any { return faClasses[class(x)].class }
	case "subclassCode":
		return func(x *rowCtx) any { return faClasses[class(x)].subclass }
	case "blocked", "underMaintenance":
		return func(x *rowCtx) any { return false }
	case "serialNumber":
		return func(x *rowCtx) any { return "SN-" + string(appendPadded(nil, int64(pick(x.h(0x5e), 9_999_999)), 7)) }
	}
	return nil
}

func opportunitiesField(d *setDef, n string) producer {
	contact := func(x *rowCtx) int { return x.ref("contacts", 0xc0) }
	status := func(x *rowCtx) string {
		switch r := pick(x.h(sStatus), 100); {
		case r < 20:
			return "Not_x0020_Started"
		case r < 60:
			return "In_x0020_Progress"
		case r < 80:
			return "Won"
		}
		return "Lost"
	}
	closed := func(x *rowCtx) bool { s := status(x); return s == "Won" || s == "Lost" }
	value := func(x *rowCtx) float64 { return money(x.h(0xe5), 1_000, 250_000) }
	chances := func(x *rowCtx) float64 { return float64(10 * (1 + pick(x.h(0xc5), 9))) }
	switch n {
	case "contactNumber":
		return func(x *rowCtx) any { return x.refCode("contacts", contact(x)) }
	case "contactName":
		return func(x *rowCtx) any { return x.refName("contacts", contact(x)) }
	case "contactCompanyName":
		return func(x *rowCtx) any {
			if j := contact(x); j >= 0 {
				return x.c.contactCompanyName(j)
			}
			return ""
		}
	case "status":
		return func(x *rowCtx) any { return d.enum(n, status(x)) }
	case "closed":
		return func(x *rowCtx) any { return closed(x) }
	case "creationDate":
		return func(x *rowCtx) any { return x.g.day(x.day() - 30) }
	case "dateClosed":
		return func(x *rowCtx) any {
			if closed(x) {
				return x.g.day(x.day())
			}
			return blankDate
		}
	case "estimatedValue":
		return func(x *rowCtx) any { return value(x) }
	case "chancesOfSuccessPrc":
		return func(x *rowCtx) any { return chances(x) }
	case "calculatedCurrentValue":
		return func(x *rowCtx) any { return round2(value(x) * chances(x) / 100) }
	case "completedPrc":
		return func(x *rowCtx) any {
			if closed(x) {
				return 100.0
			}
			return float64(10 * pick(x.h(0xc6), 10))
		}
	case "estimatedClosingDate":
		return func(x *rowCtx) any { return x.g.day(x.day() + 30 + pick(x.h(0xec), 60)) }
	}
	return nil
}

func timeRegistrationField(d *setDef, n string) producer {
	job := func(x *rowCtx) int {
		if chance(x.h(0x10b), 50) {
			return -1
		}
		return x.ref("projects", 0x10c)
	}
	switch n {
	case "employeeNumber":
		return func(x *rowCtx) any { return x.refCode("employees", x.parent) }
	case "jobId":
		return func(x *rowCtx) any { return x.refKey("projects", job(x)) }
	case "jobNumber":
		return func(x *rowCtx) any { return x.refCode("projects", job(x)) }
	case "jobTaskNumber":
		return func(x *rowCtx) any {
			if job(x) < 0 {
				return ""
			}
			return strconv.Itoa(1000 * (1 + pick(x.h(0x10d), 4)))
		}
	case "absence":
		return func(x *rowCtx) any { return "" }
	case "date":
		return func(x *rowCtx) any { return x.g.day(x.day()) }
	case "quantity":
		return func(x *rowCtx) any { return float64(1 + pick(x.h(sQty), 8)) }
	case "status":
		return func(x *rowCtx) any {
			if x.frac() < 0.9 {
				return d.enum(n, "Approved")
			}
			return d.enum(n, "Open")
		}
	case "unitOfMeasureId":
		return func(x *rowCtx) any { return x.refKey("unitsOfMeasure", tableUnitRow(x.c, "HOUR")) }
	case "unitOfMeasureCode":
		return func(x *rowCtx) any { return x.refCode("unitsOfMeasure", tableUnitRow(x.c, "HOUR")) }
	}
	return nil
}

func tableUnitRow(c *company, code string) int {
	for r := 0; r < c.count("unitsOfMeasure"); r++ {
		if unitTable[r].code == code {
			return r
		}
	}
	return -1
}

func jobQueueEntriesField(n string) producer {
	obj := func(x *rowCtx) int { return (x.i + pick(x.s.key, len(jobQueueObjects))) % len(jobQueueObjects) }
	status := func(x *rowCtx) string {
		switch r := pick(x.h(sStatus), 100); {
		case r < 70:
			return "Ready"
		case r < 85:
			return "On Hold"
		case r < 95:
			return "In Process"
		}
		return "Error"
	}
	daily := func(x *rowCtx) bool { return chance(x.h(0xda), 60) }
	switch n {
	case "userId":
		return func(x *rowCtx) any { return x.c.user(0).name }
	case "lastReadyState", "earliestStartDateTime", "referenceStartingTime":
		return func(x *rowCtx) any { return msTime(x.lm() - x.lm()%dayMs + 20*hourMs) }
	case "expirationDateTime", "userSessionStarted":
		return func(x *rowCtx) any { return blankTime }
	case "objectTypeToRun":
		return func(x *rowCtx) any { return jobQueueObjects[obj(x)].kind }
	case "objectIdToRun":
		return func(x *rowCtx) any { return jobQueueObjects[obj(x)].id }
	case "objectCaptionToRun", "description":
		return func(x *rowCtx) any { return jobQueueObjects[obj(x)].caption }
	case "reportOutputType":
		return func(x *rowCtx) any {
			if jobQueueObjects[obj(x)].kind == "Report" {
				return "None (Processing only)"
			}
			return ""
		}
	case "maxNumberAttemptsToRun":
		return func(x *rowCtx) any { return int64(3) }
	case "numberOfAttemptsToRun":
		return func(x *rowCtx) any {
			if status(x) == "Error" {
				return int64(3)
			}
			return int64(0)
		}
	case "status":
		return func(x *rowCtx) any { return status(x) }
	case "recordIdToProcess", "parameterString", "printerName", "errorMessage":
		if n == "errorMessage" {
			return func(x *rowCtx) any {
				if status(x) == "Error" {
					return "The record in table Sales Header was locked by another user."
				}
				return ""
			}
		}
		return func(x *rowCtx) any { return "" }
	case "recurringJob", "scheduled":
		return func(x *rowCtx) any { return true }
	case "numberOfMinutesBetweenRuns":
		return func(x *rowCtx) any {
			if daily(x) {
				return int64(0)
			}
			return int64(60)
		}
	case "runOnMonday", "runOnTuesday", "runOnWednesday", "runOnThursday", "runOnFridays":
		return func(x *rowCtx) any { return true }
	case "runOnSaturdays", "runOnSundays":
		return func(x *rowCtx) any { return false }
	case "startingTime":
		return func(x *rowCtx) any {
			if daily(x) {
				return "20:00:00"
			}
			return "06:00:00"
		}
	case "endingTime":
		return func(x *rowCtx) any {
			if daily(x) {
				return ""
			}
			return "22:00:00"
		}
	case "nextRunDateFormula":
		return func(x *rowCtx) any {
			if daily(x) {
				return "1D"
			}
			return ""
		}
	case "runInUserSession", "notifyOnSuccess", "reportRequestPageOptions", "manualRecurrence":
		return func(x *rowCtx) any { return false }
	case "userSessionId", "userServiceInstanceId":
		return func(x *rowCtx) any { return int64(0) }
	case "jobQueueCategoryCode":
		return func(x *rowCtx) any { return jobQueueCategories[pick(x.h(0xca7), len(jobQueueCategories))] }
	case "userLanguageId":
		return func(x *rowCtx) any { return int64(1033) }
	case "rerunDelay":
		return func(x *rowCtx) any { return int64(60) }
	case "jobTimeOut":
		return func(x *rowCtx) any { return "12:00:00" }
	case "priorityWithinCategory":
		return func(x *rowCtx) any { return "Normal" }
	}
	return nil
}

func jobQueueLogEntriesField(d *setDef, n string) producer {
	obj := func(x *rowCtx) int {
		ps := x.c.set("jobQueueEntries")
		return (x.parent + pick(ps.key, len(jobQueueObjects))) % len(jobQueueObjects)
	}
	failed := func(x *rowCtx) bool { return chance(x.h(sStatus), 10) }
	switch n {
	case "userId":
		return func(x *rowCtx) any { return x.c.user(0).name }
	case "startDateTime":
		return func(x *rowCtx) any { return msTime(x.lm() - int64(1+pick(x.h(0x57), 300))*1000) }
	case "endDateTime":
		return func(x *rowCtx) any { return x.lmTime() }
	case "objectIdToRun":
		return func(x *rowCtx) any { return jobQueueObjects[obj(x)].id }
	case "objectTypeToRun":
		return func(x *rowCtx) any { return jobQueueObjects[obj(x)].kind }
	case "description":
		return func(x *rowCtx) any { return jobQueueObjects[obj(x)].caption }
	case "status":
		return func(x *rowCtx) any {
			if failed(x) {
				return "Error"
			}
			return "Success"
		}
	case "errorMessage":
		return func(x *rowCtx) any {
			if failed(x) {
				return "The record in table Sales Header was locked by another user."
			}
			return ""
		}
	case "jobQueueCategoryCode":
		return func(x *rowCtx) any {
			ps := x.c.set("jobQueueEntries")
			return jobQueueCategories[pick(sub(rowKey(ps.key, x.parent), 0xca7), len(jobQueueCategories))]
		}
	case "parameterString":
		return func(x *rowCtx) any { return "" }
	case "userSessionId", "userServiceInstanceId":
		return func(x *rowCtx) any { return int64(100 + pick(x.h(0x5e5), 900)) }
	}
	return nil
}

func workflowsField(n string) producer {
	switch n {
	case "enabled":
		return func(x *rowCtx) any { return x.i%3 != 2 }
	case "template":
		return func(x *rowCtx) any { return false }
	case "category":
		return func(x *rowCtx) any { return workflowTable[x.i].category }
	}
	return nil
}

func workflowStepsField(d *setDef, n string) producer {
	siblings := func(x *rowCtx) int { lo, hi := x.s.children(x.parent); return hi - lo }
	fn := func(x *rowCtx) string { return workflowFunctions[(x.pos*3+x.parent)%len(workflowFunctions)] }
	switch n {
	case "id":
		return func(x *rowCtx) any { return int64(x.pos + 1) }
	case "description":
		return func(x *rowCtx) any {
			f := strings.ToLower(fn(x))
			return strings.ToUpper(f[:1]) + f[1:]
		}
	case "entryPoint":
		return func(x *rowCtx) any { return x.pos == 0 }
	case "previousWorkflowStepId":
		return func(x *rowCtx) any { return int64(x.pos) }
	case "nextWorkflowStepId":
		return func(x *rowCtx) any {
			if x.pos+1 < siblings(x) {
				return int64(x.pos + 2)
			}
			return int64(0)
		}
	case "type":
		return func(x *rowCtx) any {
			if x.pos == 0 {
				return d.enum(n, "Event")
			}
			return d.enum(n, "Response")
		}
	case "functionName":
		return func(x *rowCtx) any { return fn(x) }
	case "sequenceNumber":
		return func(x *rowCtx) any { return int64(x.pos + 1) }
	}
	return nil
}

func workflowApproversField(d *setDef, n string) producer {
	u := func(x *rowCtx) user { return x.c.user(1 + pick(x.h(0x05e), numUsers-1)) }
	switch n {
	case "category":
		return func(x *rowCtx) any {
			if j := x.ref("workflows", hashString("ref:workflow")); j >= 0 {
				return workflowTable[j].category
			}
			return ""
		}
	case "enabled":
		return func(x *rowCtx) any { return true }
	case "workflowStepId":
		return func(x *rowCtx) any { return int64(2 + pick(x.h(0x5d), 3)) }
	case "userGroupCode", "userGroupDescription":
		return func(x *rowCtx) any { return "" }
	case "userId":
		return func(x *rowCtx) any { return u(x).id }
	case "userName":
		return func(x *rowCtx) any { return u(x).name }
	case "sequence":
		return func(x *rowCtx) any { return int64(1 + pick(x.h(0x5e), 3)) }
	}
	return nil
}

func approvalEntriesField(d *setDef, n string) producer {
	sales := func(x *rowCtx) bool { return chance(x.h(0x5a), 60) }
	doc := func(x *rowCtx) (string, int) {
		if sales(x) {
			return "salesOrders", x.ref("salesOrders", 0xd0)
		}
		return "purchaseInvoices", x.ref("purchaseInvoices", 0xd1)
	}
	sender := func(x *rowCtx) user { return x.c.user(1 + pick(x.h(0x5d), numUsers-1)) }
	approver := func(x *rowCtx) user { return x.c.user(pick(x.h(0xa9), 2)) }
	switch n {
	case "tableId":
		return func(x *rowCtx) any {
			if sales(x) {
				return int64(36)
			}
			return int64(38)
		}
	case "documentType":
		return func(x *rowCtx) any {
			if sales(x) {
				return "Order"
			}
			return "Invoice"
		}
	case "documentNumber":
		return func(x *rowCtx) any { set, j := doc(x); return x.refCode(set, j) }
	case "recordIdToApprove", "recordId":
		return func(x *rowCtx) any {
			set, j := doc(x)
			code := x.refCode(set, j).(string)
			if set == "salesOrders" {
				return "Sales Header: Order," + code
			}
			return "Purchase Header: Invoice," + code
		}
	case "sequenceNumber", "iterationNumber":
		return func(x *rowCtx) any { return int64(1) }
	case "senderId":
		return func(x *rowCtx) any { return sender(x).name }
	case "senderName":
		return func(x *rowCtx) any { return sender(x).fullName }
	case "approverId", "lastModifiedById":
		return func(x *rowCtx) any { return approver(x).name }
	case "approverName":
		return func(x *rowCtx) any { return approver(x).fullName }
	case "approvalCode":
		return func(x *rowCtx) any {
			if sales(x) {
				return "MS-SOAPW"
			}
			return "MS-PIAPW"
		}
	case "status":
		return func(x *rowCtx) any {
			if d.name == "approvalEntries" && x.frac() > 0.8 {
				return d.enum(n, "Open")
			}
			if chance(x.h(sStatus), 85) {
				return d.enum(n, "Approved")
			}
			return d.enum(n, "Rejected")
		}
	case "dateTimeSentForApproval":
		return func(x *rowCtx) any { return msTime(x.lm() - int64(1+pick(x.h(0xd7), 48))*hourMs) }
	case "lastDateTimeModified":
		return func(x *rowCtx) any { return x.lmTime() }
	case "comment", "relatedToChange":
		return func(x *rowCtx) any { return false }
	case "dueDate":
		return func(x *rowCtx) any { return x.g.day(x.day() + 2) }
	case "amount", "amountLCY":
		return func(x *rowCtx) any { return money(x.h(0xa3), 500, 60_000) }
	case "currencyCode":
		return func(x *rowCtx) any { return "" }
	case "approvalType":
		return func(x *rowCtx) any { return d.enum(n, "Approver") }
	case "limitType":
		return func(x *rowCtx) any { return d.enum(n, "Approval_x0020_Limits") }
	case "availableCreditLimitLCY":
		return func(x *rowCtx) any { return 0.0 }
	case "pendingApprovals":
		return func(x *rowCtx) any { return int64(0) }
	case "delegationDateFormula":
		return func(x *rowCtx) any { return "" }
	}
	return nil
}

func approvalUserSetupsField(n string) producer {
	u := func(x *rowCtx) user { return x.c.user(x.i % numUsers) }
	switch n {
	case "userId":
		return func(x *rowCtx) any { return u(x).name }
	case "userFullName":
		return func(x *rowCtx) any { return u(x).fullName }
	case "approverId":
		return func(x *rowCtx) any {
			if x.i == 0 {
				return ""
			}
			return x.c.user(0).name
		}
	case "salesAmountApprovalLimit", "purchaseAmountApprovalLimit", "requestApprovalAmountLimit":
		return func(x *rowCtx) any {
			if x.i == 0 {
				return int64(0)
			}
			return int64(5000 * (1 + x.i%4))
		}
	case "unlimitedSalesApproval", "unlimitedPurchaseApproval", "unlimitedRequestApprovalAmount", "approvalAdmin":
		return func(x *rowCtx) any { return x.i == 0 }
	case "substitute":
		return func(x *rowCtx) any { return "" }
	case "email":
		return func(x *rowCtx) any {
			if x.i%numUsers == 0 {
				return "admin@" + x.c.ownDomain()
			}
			return strings.ToLower(u(x).name) + "@" + x.c.ownDomain()
		}
	case "phoneNumber":
		return func(x *rowCtx) any { return phone(x.c.loc, x.h(sPhone)) }
	}
	return nil
}

func reportLinesField(d *setDef, n string) producer {
	var table []reportLine
	switch d.name {
	case "balanceSheets":
		table = balanceSheetLines
	case "incomeStatements":
		table = incomeStatementLines
	case "cashFlowStatements":
		table = cashFlowLines
	default:
		table = retainedEarningsLines
	}
	switch n {
	case "display":
		return func(x *rowCtx) any { return table[x.i].display }
	case "lineType":
		return func(x *rowCtx) any { return table[x.i].lineType }
	case "indentation":
		return func(x *rowCtx) any { return table[x.i].indentation }
	case "balance", "netChange":
		return func(x *rowCtx) any {
			if table[x.i].lineType == "header" {
				return 0.0
			}
			return money(x.h(0xba), 1_000, 900_000)
		}
	case "dateFilter":
		return func(x *rowCtx) any { return "2025-12-31" }
	}
	return nil
}
