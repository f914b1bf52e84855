package datagen

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/bizzjoiner/bcconnector/bcschema"
)

// Sizes maps an entity set name (as in BC URLs, e.g. "generalLedgerEntries") to its row count
// per company.
//
// For a child set (one with a parent in the schema, e.g. salesInvoiceLines under salesInvoices,
// dimensionValues under dimensions) the number is the MAXIMUM rows per parent row: each parent
// gets a deterministic count between a set-specific minimum and that maximum (document lines
// 2–5 for 5), so the set's total is only known once generated; Generator.Count reports it.
//
// Some sets are capped by what makes sense (see Generator.Count): sets drawn from a fixed table
// (currencies, countriesRegions, paymentTerms, unitsOfMeasure, …), single-record sets
// (companyInformation, generalLedgerSetup) and report rows that mirror another set
// (agedAccountsReceivables ≤ customers, trialBalances ≤ accounts, …).
type Sizes map[string]int

// maxRows bounds a top-level set: ids spread 2^31 values and lastModifiedDateTime two years of
// milliseconds over the rows, and entryNumber is an Int32.
const maxRows = 50_000_000

// maxPerParent bounds the per-parent maximum of a child set.
const maxPerParent = 10_000

// presetNames lists the presets in the order the error message shows them.
var presetNames = []string{"small", "medium", "large"}

// Preset returns the named size preset: "small" (the test default: customers 50, vendors 30,
// items 60, generalLedgerEntries 2,000, …), "medium" (about ten times the core sets,
// generalLedgerEntries 100,000) or "large" (about a hundred times, generalLedgerEntries
// 1,000,000). The map holds every entity set of the schema.
func Preset(name string) (Sizes, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "small":
		return presetSizes(1, 2_000), nil
	case "medium":
		return presetSizes(10, 100_000), nil
	case "large":
		return presetSizes(100, 1_000_000), nil
	}
	return nil, fmt.Errorf("datagen: unknown size preset %q; use one of %s", name, strings.Join(presetNames, ", "))
}

// smallSizes are the "small" counts that differ from the default of 5 rows.
var smallSizes = map[string]int{
	// Platform sets: the emulator manages companies and webhook subscriptions itself; one
	// generated company is enough for a plain sandbox.
	"companies":     1,
	"subscriptions": 0,

	"customers":            50,
	"vendors":              30,
	"items":                60,
	"contacts":             40,
	"employees":            15,
	"accounts":             80,
	"generalLedgerEntries": 2_000,
	"salesOrders":          40,
	"salesInvoices":        60,
	"purchaseInvoices":     40,
	"currencies":           8,
	"paymentTerms":         6,
	"dimensions":           3,
	"countriesRegions":     20,
	"itemCategories":       8,
	"accountingPeriods":    24,
	"unitsOfMeasure":       8,

	"companyInformation": 1,
	"generalLedgerSetup": 1,

	// Child sets: maximum rows per parent row.
	"dimensionValues":         5,
	"salesOrderLines":         5,
	"salesInvoiceLines":       5,
	"salesQuoteLines":         5,
	"salesCreditMemoLines":    5,
	"salesShipmentLines":      5,
	"purchaseInvoiceLines":    5,
	"purchaseOrderLines":      5,
	"purchaseCreditMemoLines": 5,
	"purchaseReceiptLines":    5,
	"journalLines":            5,
	"customerPayments":        5,
	"vendorPayments":          5,
	"itemVariants":            1,
	"jobQueueLogEntries":      3,
	"timeRegistrationEntries": 5,
	"workflowSteps":           4,
	"workflowResponseOptions": 1,
}

// unscaled sets keep their "small" count in every preset: fixed tables, single records, child
// sets (per-parent maxima) and the chart of accounts, which grows only a little.
var unscaled = map[string]bool{
	"companies": true, "subscriptions": true, "currencies": true, "paymentTerms": true,
	"dimensions": true, "countriesRegions": true, "itemCategories": true, "accountingPeriods": true,
	"unitsOfMeasure": true, "companyInformation": true, "generalLedgerSetup": true,
	"paymentMethods": true, "shipmentMethods": true, "taxAreas": true, "taxGroups": true,
	"generalProductPostingGroups": true, "inventoryPostingGroups": true, "customerReturnReasons": true,
	"disputeStatus": true, "balanceSheets": true, "incomeStatements": true, "cashFlowStatements": true,
	"retainedEarningsStatements": true, "workflows": true, "fixedAssetLocations": true,
	"journals": true, "customerPaymentJournals": true, "vendorPaymentJournals": true, "bankAccounts": true,
}

func presetSizes(scale, glEntries int) Sizes {
	s := make(Sizes, 90)
	for _, name := range bcschema.MustLoad().EntitySetNames() {
		n, ok := smallSizes[name]
		if !ok {
			n = 5
		}
		e, _ := bcschema.MustLoad().EntitySet(name)
		if !unscaled[name] && e.Parent == nil {
			n *= scale
		}
		s[name] = n
	}
	s["generalLedgerEntries"] = glEntries
	s["accounts"] = map[int]int{1: 80, 10: 100, 100: 120}[scale]
	return s
}

// ParseSizes parses a size specification: a comma-separated list whose first item may be a
// preset name (small, medium, large; default small) followed by entitySet=count overrides, e.g.
// "medium", "generalLedgerEntries=1000000,customers=500" or "medium,customers=10". Counts are
// non-negative integers and may use "_" separators or a k/m suffix ("1_000_000", "1m", "20k").
// Entity set names are case-sensitive, as in BC URLs. The result holds every entity set.
func ParseSizes(spec string) (Sizes, error) {
	sizes, _ := Preset("small")
	for idx, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, val, hasEq := strings.Cut(item, "=")
		if !hasEq {
			p, err := Preset(item)
			if err != nil {
				return nil, fmt.Errorf("datagen: sizes %q: %q is neither a preset (%s) nor entitySet=count", spec, item, strings.Join(presetNames, ", "))
			}
			if idx != 0 {
				return nil, fmt.Errorf("datagen: sizes %q: preset %q must be the first item, before the entitySet=count overrides", spec, item)
			}
			sizes = p
			continue
		}
		name = strings.TrimSpace(name)
		e, ok := bcschema.MustLoad().EntitySet(name)
		if !ok {
			return nil, fmt.Errorf("datagen: sizes %q: unknown entity set %q%s", spec, name, suggestSet(name))
		}
		n, err := parseCount(strings.TrimSpace(val))
		if err != nil {
			return nil, fmt.Errorf("datagen: sizes %q: %s=%q: %v", spec, name, val, err)
		}
		limit := maxRows
		if e.Parent != nil {
			limit = maxPerParent
		}
		if n > limit {
			what := "rows"
			if e.Parent != nil {
				what = "rows per parent (child sets count per parent row)"
			}
			return nil, fmt.Errorf("datagen: sizes %q: %s=%d is more than the %d %s the generator supports", spec, name, n, limit, what)
		}
		sizes[name] = n
	}
	return sizes, nil
}

// parseCount reads a non-negative row count: digits with optional "_" separators and an
// optional k (thousand) or m (million) suffix.
func parseCount(s string) (int, error) {
	mult := int64(1)
	switch {
	case strings.HasSuffix(s, "k") || strings.HasSuffix(s, "K"):
		mult, s = 1_000, s[:len(s)-1]
	case strings.HasSuffix(s, "m") || strings.HasSuffix(s, "M"):
		mult, s = 1_000_000, s[:len(s)-1]
	}
	digits := strings.ReplaceAll(s, "_", "")
	if digits == "" || strings.HasPrefix(s, "_") || strings.HasSuffix(s, "_") {
		return 0, fmt.Errorf("want a non-negative whole number of rows such as 500, 20k or 1_000_000")
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("want a non-negative whole number of rows such as 500, 20k or 1_000_000")
		}
	}
	v, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || v > maxRows*1000 {
		return 0, fmt.Errorf("row count too large (at most %d)", maxRows)
	}
	return int(v * mult), nil
}

// suggestSet returns a hint for a misspelled entity set name.
func suggestSet(name string) string {
	s := bcschema.MustLoad()
	for _, n := range s.EntitySetNames() {
		if strings.EqualFold(n, name) {
			return fmt.Sprintf("; entity set names are case-sensitive: did you mean %q?", n)
		}
	}
	var close []string
	for _, n := range s.EntitySetNames() {
		if len(name) >= 4 && (strings.Contains(strings.ToLower(n), strings.ToLower(name)) || strings.HasPrefix(strings.ToLower(name), strings.ToLower(n))) {
			close = append(close, n)
		}
	}
	sort.Strings(close)
	if len(close) > 0 && len(close) <= 5 {
		return fmt.Sprintf("; did you mean one of %s?", strings.Join(close, ", "))
	}
	return "; use an API v2.0 entity set name such as customers or generalLedgerEntries"
}
