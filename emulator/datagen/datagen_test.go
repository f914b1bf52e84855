package datagen

import (
	"bytes"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/bizzjoiner/bcconnector/bcschema"
)

const testCompany = "4d0e744d-44e3-ea11-bb43-000d3a2feca1"

var (
	guidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	dateRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
)

// everySet is a size map with at least three rows in every set (root sets, report views and
// subscriptions included), so that type checks reach every entity set.
func everySet(t testing.TB) Sizes {
	t.Helper()
	s, err := ParseSizes("small,subscriptions=3,companies=3,generalLedgerEntries=300")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestEveryFieldPresentWithContractType(t *testing.T) {
	t.Parallel()
	g := New(7, everySet(t))
	schema := bcschema.MustLoad()
	if len(schema.Entities) != 90 {
		t.Fatalf("schema has %d entity sets, want 90", len(schema.Entities))
	}
	for _, e := range schema.Entities {
		n := g.Count(testCompany, e.EntitySet)
		if n == 0 {
			t.Errorf("%s: no rows with sizes %v", e.EntitySet, everySet(t)[e.EntitySet])
			continue
		}
		want := 0
		for _, f := range e.Fields {
			if f.Type != bcschema.TypeStream && !f.FilterOnly {
				want++
			}
		}
		for i := 0; i < n && i < 60; i++ {
			row := g.Row(testCompany, e.EntitySet, i)
			if len(row) != want {
				t.Errorf("%s[%d]: %d fields, want %d", e.EntitySet, i, len(row), want)
			}
			for _, f := range e.Fields {
				v, ok := row[f.Name]
				if f.Type == bcschema.TypeStream || f.FilterOnly {
					if ok {
						t.Errorf("%s[%d].%s: %s field must not be materialised", e.EntitySet, i, f.Name, f.Type)
					}
					continue
				}
				if !ok {
					t.Errorf("%s[%d]: field %s missing", e.EntitySet, i, f.Name)
					continue
				}
				if err := checkValue(f, v); err != nil {
					t.Errorf("%s[%d].%s = %#v: %v", e.EntitySet, i, f.Name, v, err)
				}
			}
		}
	}
}

// checkValue checks a value against docs/ARCHITECTURE.md "Data representation".
func checkValue(f *bcschema.Field, v any) error {
	switch f.Type {
	case bcschema.TypeString:
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("want string, got %T", v)
		}
		if f.MaxLength > 0 && utf8.RuneCountInString(s) > f.MaxLength {
			return fmt.Errorf("longer than maxLength %d", f.MaxLength)
		}
		if f.IsEnum() && !contains(f.EnumValues, s) {
			return fmt.Errorf("not one of the enum values %v", f.EnumValues)
		}
		if !utf8.ValidString(s) {
			return fmt.Errorf("invalid UTF-8")
		}
	case bcschema.TypeGuid:
		s, ok := v.(string)
		if !ok || !guidRE.MatchString(s) {
			return fmt.Errorf("want lower-case canonical GUID string, got %T", v)
		}
	case bcschema.TypeDecimal:
		d, ok := v.(float64)
		if !ok || math.IsNaN(d) || math.IsInf(d, 0) {
			return fmt.Errorf("want finite float64, got %T", v)
		}
	case bcschema.TypeInt32, bcschema.TypeInt64:
		n, ok := v.(int64)
		if !ok {
			return fmt.Errorf("want int64, got %T", v)
		}
		if f.Type == bcschema.TypeInt32 && (n > math.MaxInt32 || n < math.MinInt32) {
			return fmt.Errorf("out of Int32 range")
		}
	case bcschema.TypeBoolean:
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("want bool, got %T", v)
		}
	case bcschema.TypeDate:
		s, ok := v.(string)
		if !ok || !dateRE.MatchString(s) {
			return fmt.Errorf("want YYYY-MM-DD string, got %T", v)
		}
		if _, err := time.Parse(time.DateOnly, s); err != nil {
			return err
		}
	case bcschema.TypeDateTimeOffset:
		tm, ok := v.(time.Time)
		if !ok {
			return fmt.Errorf("want time.Time, got %T", v)
		}
		if tm.Location() != time.UTC || tm.Nanosecond()%int(time.Millisecond) != 0 {
			return fmt.Errorf("want UTC with millisecond precision")
		}
	default:
		return fmt.Errorf("unexpected EDM type %s", f.Type)
	}
	return nil
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func TestDeterministic(t *testing.T) {
	t.Parallel()
	a, b := New(42, everySet(t)), New(42, everySet(t))
	other := New(43, everySet(t))
	for _, set := range bcschema.MustLoad().EntitySetNames() {
		n := a.Count(testCompany, set)
		if m := b.Count(testCompany, set); m != n {
			t.Fatalf("%s: counts %d vs %d", set, n, m)
		}
		// b generates in reverse order, so a row must not depend on the rows before it.
		for i := n - 1; i >= 0 && i >= n-20; i-- {
			rb := b.Row(testCompany, set, i)
			ra := a.Row(testCompany, set, i)
			if !reflect.DeepEqual(ra, rb) {
				t.Fatalf("%s[%d] differs between generators with the same seed:\n%v\n%v", set, i, ra, rb)
			}
		}
		if n > 0 && a.Key(testCompany, set, 0) == other.Key(testCompany, set, 0) {
			t.Errorf("%s: seeds 42 and 43 give the same first key", set)
		}
	}
}

func TestCompaniesDiffer(t *testing.T) {
	t.Parallel()
	g := New(1, nil)
	c1, c2 := testCompany, "0b2f3b37-2b52-460e-8863-3561295b1e08"
	if g.Key(c1, "customers", 0) == g.Key(c2, "customers", 0) {
		t.Error("two companies share customer ids")
	}
	same := 0
	for i := 0; i < g.Count(c1, "customers"); i++ {
		if g.Row(c1, "customers", i)["displayName"] == g.Row(c2, "customers", i)["displayName"] {
			same++
		}
	}
	if same > 10 {
		t.Errorf("%d of 50 customer names are the same in two companies", same)
	}
	// Company IDs are GUIDs, case-insensitive.
	if !reflect.DeepEqual(g.Row(c1, "items", 3), g.Row(strings.ToUpper(c1), "items", 3)) {
		t.Error("upper-case company ID gives different data")
	}
}

func TestKeysStrictlyIncreaseAndLookRandom(t *testing.T) {
	t.Parallel()
	g := New(3, everySet(t))
	for _, set := range bcschema.MustLoad().EntitySetNames() {
		n := g.Count(testCompany, set)
		prev := ""
		for i := 0; i < n; i++ {
			k := g.Key(testCompany, set, i)
			if k <= prev {
				t.Fatalf("%s: key %d %q not above key %d %q", set, i, k, i-1, prev)
			}
			prev = k
		}
		if n > 0 && strings.HasPrefix(g.Key(testCompany, set, 0), "0000") {
			t.Errorf("%s: first key %s does not look random", set, g.Key(testCompany, set, 0))
		}
	}
	// A large set still spreads over the GUID space.
	big := New(3, Sizes{"generalLedgerEntries": 1_000_000})
	first, last := big.Key(testCompany, "generalLedgerEntries", 0), big.Key(testCompany, "generalLedgerEntries", 999_999)
	if first[0] == last[0] || !(first < last) {
		t.Errorf("1,000,000 keys from %s to %s are not spread", first, last)
	}
	for _, i := range []int{0, 1, 2, 499_999, 500_000, 999_998} {
		if a, b := big.Key(testCompany, "generalLedgerEntries", i), big.Key(testCompany, "generalLedgerEntries", i+1); a >= b {
			t.Errorf("keys %d/%d not increasing: %s %s", i, i+1, a, b)
		}
	}
}

func TestIndexOf(t *testing.T) {
	t.Parallel()
	g := New(5, nil)
	for _, i := range []int{0, 17, 1999} {
		k := g.Key(testCompany, "generalLedgerEntries", i)
		if j, ok := g.IndexOf(testCompany, "generalLedgerEntries", strings.ToUpper(k)); !ok || j != i {
			t.Errorf("IndexOf(key %d) = %d, %v", i, j, ok)
		}
	}
	if _, ok := g.IndexOf(testCompany, "generalLedgerEntries", NewID(nil)); ok {
		t.Error("random id found")
	}
	if _, ok := g.IndexOf(testCompany, "nope", "x"); ok {
		t.Error("unknown set found")
	}
}

func TestOutOfRange(t *testing.T) {
	t.Parallel()
	g := New(5, nil)
	for _, tc := range []struct {
		set string
		i   int
	}{{"customers", -1}, {"customers", 50}, {"noSuchSet", 0}} {
		if r := g.Row(testCompany, tc.set, tc.i); r != nil {
			t.Errorf("Row(%s, %d) = %v, want nil", tc.set, tc.i, r)
		}
		if k := g.Key(testCompany, tc.set, tc.i); k != "" {
			t.Errorf("Key(%s, %d) = %q, want empty", tc.set, tc.i, k)
		}
	}
	if n := g.Count(testCompany, "noSuchSet"); n != 0 {
		t.Errorf("Count(noSuchSet) = %d", n)
	}
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	want := New(9, nil)
	g := New(9, nil)
	sets := []string{"salesInvoiceLines", "salesInvoices", "generalLedgerEntries", "dimensionValues", "customers"}
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for k := 0; k < 40; k++ {
				set := sets[(w+k)%len(sets)]
				i := (w*31 + k*7) % g.Count(testCompany, set)
				if !reflect.DeepEqual(g.Row(testCompany, set, i), want.Row(testCompany, set, i)) {
					errs <- fmt.Sprintf("%s[%d] differs under concurrency", set, i)
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func TestSmallPresetCounts(t *testing.T) {
	t.Parallel()
	g := New(11, nil)
	for set, want := range map[string][2]int{
		"customers": {50, 50}, "vendors": {30, 30}, "items": {60, 60}, "contacts": {40, 40}, "employees": {15, 15},
		"accounts": {60, 120}, "generalLedgerEntries": {2000, 2000}, "salesOrders": {40, 40}, "salesInvoices": {60, 60},
		"purchaseInvoices": {40, 40}, "currencies": {6, 10}, "paymentTerms": {4, 8}, "dimensions": {3, 3},
		"dimensionValues": {8, 16}, "countriesRegions": {20, 20}, "itemCategories": {8, 8},
		"salesOrderLines": {80, 200}, "workflows": {5, 5}, "subscriptions": {0, 0}, "companyInformation": {1, 1},
	} {
		if n := g.Count(testCompany, set); n < want[0] || n > want[1] {
			t.Errorf("Count(%s) = %d, want %d..%d", set, n, want[0], want[1])
		}
	}
	for _, set := range []string{"salesOrders", "salesInvoices", "purchaseInvoices"} {
		child := strings.TrimSuffix(set, "s") + "Lines"
		for p := 0; p < g.Count(testCompany, set); p++ {
			lo, hi := g.ChildRange(testCompany, child, p)
			if hi-lo < 2 || hi-lo > 5 {
				t.Errorf("%s[%d] has %d lines, want 2-5", set, p, hi-lo)
			}
		}
	}
}

func TestLargePreset(t *testing.T) {
	t.Parallel()
	sizes, err := Preset("large")
	if err != nil {
		t.Fatal(err)
	}
	g := New(1, sizes)
	if n := g.Count(testCompany, "generalLedgerEntries"); n != 1_000_000 {
		t.Fatalf("large generalLedgerEntries = %d", n)
	}
	last := g.Row(testCompany, "generalLedgerEntries", 999_999)
	if last["entryNumber"] != int64(1_000_000) {
		t.Errorf("last entryNumber = %v", last["entryNumber"])
	}
	lm := last["lastModifiedDateTime"].(time.Time)
	if !lm.Before(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) || lm.Before(time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("last lastModifiedDateTime = %v, want late 2025", lm)
	}
}

func TestCompanyNamesFollowHomeCountry(t *testing.T) {
	t.Parallel()
	g := New(2, Sizes{"companies": 12})
	names := map[string]bool{}
	for i := 0; i < g.Count("production", "companies"); i++ {
		row := g.Row("production", "companies", i)
		id := row["id"].(string)
		name, display := g.CompanyNames(id)
		if row["name"] != name && !strings.HasPrefix(row["name"].(string), name+" ") {
			t.Errorf("companies[%d].name = %v, CompanyNames = %s", i, row["name"], name)
		}
		if !strings.HasPrefix(row["displayName"].(string), display) {
			t.Errorf("companies[%d].displayName = %v, CompanyNames = %s", i, row["displayName"], display)
		}
		if names[row["name"].(string)] {
			t.Errorf("duplicate company name %v", row["name"])
		}
		names[row["name"].(string)] = true
		info := g.Row(id, "companyInformation", 0)
		setup := g.Row(id, "generalLedgerSetup", 0)
		if info["displayName"] != display || info["currencyCode"] != g.LocalCurrency(id) || setup["localCurrencyCode"] != g.LocalCurrency(id) {
			t.Errorf("company %s: information %v / %v, setup %v, local currency %s", id, info["displayName"], info["currencyCode"], setup["localCurrencyCode"], g.LocalCurrency(id))
		}
	}
}

func TestNewID(t *testing.T) {
	t.Parallel()
	a, b := NewID(nil), NewID(nil)
	if a == b || !guidRE.MatchString(a) || a[14] != '4' || !strings.ContainsRune("89ab", rune(a[19])) {
		t.Errorf("NewID = %s, %s", a, b)
	}
	r := bytes.NewReader(bytes.Repeat([]byte{0xff}, 16))
	if got := NewID(r); got != "ffffffff-ffff-4fff-bfff-ffffffffffff" {
		t.Errorf("NewID(0xff…) = %s", got)
	}
	if got := NewID(bytes.NewReader(nil)); !guidRE.MatchString(got) {
		t.Errorf("NewID(empty reader) = %s", got)
	}
}

func TestMaxLengthTruncation(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{{"abc", 5, "abc"}, {"abcdef", 3, "abc"}, {"Münchenstraße", 7, "München"}, {"ab, cd", 3, "ab"}} {
		if got := truncate(tc.in, tc.n); got != tc.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

// TestDegenerateSizes generates every set while all other sets are empty or tiny: references
// fall back to blank values instead of panicking, and types stay valid.
func TestDegenerateSizes(t *testing.T) {
	t.Parallel()
	schema := bcschema.MustLoad()
	for _, fill := range []int{0, 1} {
		for _, e := range schema.Entities {
			sizes := Sizes{}
			for _, name := range schema.EntitySetNames() {
				sizes[name] = fill
			}
			sizes[e.EntitySet] = 3
			if e.Parent != nil {
				sizes[e.Parent.EntitySet] = 2
			}
			g := New(int64(fill), sizes)
			for i := 0; i < g.Count(testCompany, e.EntitySet); i++ {
				row := g.Row(testCompany, e.EntitySet, i)
				for _, f := range e.Fields {
					if v, ok := row[f.Name]; ok {
						if err := checkValue(f, v); err != nil {
							t.Errorf("fill %d: %s[%d].%s = %#v: %v", fill, e.EntitySet, i, f.Name, v, err)
						}
					}
				}
			}
		}
	}
}
