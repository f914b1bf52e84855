package datagen

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/bcschema"
)

// TestMonotonicFields checks every declared monotonic field of every set against the generated
// rows: the getter equals the row's value, and values never decrease.
func TestMonotonicFields(t *testing.T) {
	t.Parallel()
	g := New(31, everySet(t))
	for _, set := range bcschema.MustLoad().EntitySetNames() {
		s := g.state(testCompany, set)
		for field, mf := range s.def.mono {
			var prev any
			for i := 0; i < s.count(); i++ {
				v := g.Row(testCompany, set, i)[field]
				var got any
				switch mf.kind {
				case monoString:
					got = mf.str(s, i)
				case monoInt:
					got = mf.num(s, i)
				case monoTime:
					got = time.UnixMilli(mf.num(s, i)).UTC()
				}
				if !reflect.DeepEqual(got, v) {
					t.Fatalf("%s[%d].%s: getter %v, row %v", set, i, field, got, v)
				}
				if prev != nil && less(v, prev) {
					t.Fatalf("%s[%d].%s = %v decreases from %v", set, i, field, v, prev)
				}
				prev = v
			}
		}
	}
	for set, fields := range map[string][]string{
		"generalLedgerEntries": {"id", "entryNumber", "lastModifiedDateTime", "postingDate"},
		"customers":            {"id", "number", "lastModifiedDateTime"},
		"salesInvoices":        {"id", "number", "postingDate", "lastModifiedDateTime"},
		"salesInvoiceLines":    {"id", "documentId"},
		"dimensionValues":      {"id", "dimensionId", "lastModifiedDateTime"},
		"trialBalances":        {"accountId", "number"},
		"customerSales":        {"customerId"},
	} {
		got := strings.Join(g.MonotonicFields(set), ",")
		for _, f := range fields {
			if !strings.Contains(","+got+",", ","+f+",") {
				t.Errorf("MonotonicFields(%s) = %s, missing %s", set, got, f)
			}
		}
	}
	if got := g.MonotonicFields("salesInvoiceLines"); strings.Contains(strings.Join(got, ","), "sequence") {
		t.Errorf("sequence restarts per document but is declared monotonic: %v", got)
	}
}

func less(a, b any) bool {
	switch x := a.(type) {
	case string:
		return x < b.(string)
	case int64:
		return x < b.(int64)
	case time.Time:
		return x.Before(b.(time.Time))
	}
	panic("unexpected type")
}

var ops = []string{"eq", "gt", "ge", "lt", "le"}

// bruteRange returns the indexes satisfying field op value by scanning, as the expected range.
func bruteRange(t *testing.T, rows []map[string]any, field, op string, value any) (int, int) {
	t.Helper()
	lo, hi := -1, -1
	for i, r := range rows {
		c := compareAny(r[field], value)
		var ok bool
		switch op {
		case "eq":
			ok = c == 0
		case "gt":
			ok = c > 0
		case "ge":
			ok = c >= 0
		case "lt":
			ok = c < 0
		case "le":
			ok = c <= 0
		}
		if ok {
			if lo < 0 {
				lo = i
			} else if hi != i {
				t.Fatalf("%s %s %v: matches are not contiguous at %d", field, op, value, i)
			}
			hi = i + 1
		}
	}
	if lo < 0 {
		return -1, -1
	}
	return lo, hi
}

func compareAny(a, b any) int {
	switch x := a.(type) {
	case string:
		y := b.(string)
		if guidRE.MatchString(x) {
			y = strings.ToLower(y)
		}
		return strings.Compare(x, y)
	case int64:
		var y float64
		switch v := b.(type) {
		case int64:
			y = float64(v)
		case int:
			y = float64(v)
		case float64:
			y = v
		}
		switch {
		case float64(x) < y:
			return -1
		case float64(x) > y:
			return 1
		}
		return 0
	case time.Time:
		return x.Compare(b.(time.Time))
	}
	panic("unexpected type")
}

func TestIndexRangeMatchesBruteForce(t *testing.T) {
	t.Parallel()
	g := New(32, Sizes{"generalLedgerEntries": 600, "customers": 50})
	rng := rand.New(rand.NewPCG(1, 2))
	const set = "generalLedgerEntries"
	n := g.Count(testCompany, set)
	glRows, custRows := rowsOf(g, set), rowsOf(g, "customers")
	row := func(i int) map[string]any { return glRows[i] }
	var values []struct {
		field string
		v     any
	}
	add := func(field string, v any) {
		values = append(values, struct {
			field string
			v     any
		}{field, v})
	}
	// Boundaries: below the first row, first, last, above the last, and exact row values.
	add("entryNumber", int64(0))
	add("entryNumber", int64(1))
	add("entryNumber", int64(n))
	add("entryNumber", int64(n+1))
	add("entryNumber", 300)
	add("entryNumber", 299.5)
	add("id", "00000000-0000-0000-0000-000000000000")
	add("id", "ffffffff-ffff-ffff-ffff-ffffffffffff")
	add("id", row(0)["id"])
	add("id", strings.ToUpper(row(n - 1)["id"].(string)))
	add("lastModifiedDateTime", time.Time{})
	add("lastModifiedDateTime", row(0)["lastModifiedDateTime"])
	add("lastModifiedDateTime", row(n - 1)["lastModifiedDateTime"])
	add("lastModifiedDateTime", row(n - 1)["lastModifiedDateTime"].(time.Time).Add(time.Millisecond))
	add("lastModifiedDateTime", row(10)["lastModifiedDateTime"].(time.Time).Add(500*time.Microsecond))
	add("lastModifiedDateTime", time.Date(2030, 1, 1, 0, 0, 0, 0, time.FixedZone("x", 3600)))
	add("postingDate", "2023-12-31")
	add("postingDate", row(0)["postingDate"])
	add("postingDate", row(n / 2)["postingDate"])
	add("postingDate", "2026-01-01")
	for k := 0; k < 40; k++ {
		i := rng.IntN(n)
		r := row(i)
		add("entryNumber", r["entryNumber"])
		add("id", r["id"])
		add("lastModifiedDateTime", r["lastModifiedDateTime"])
		add("postingDate", r["postingDate"])
		// Values between rows.
		add("id", NewID(nil))
		add("lastModifiedDateTime", r["lastModifiedDateTime"].(time.Time).Add(-time.Duration(rng.IntN(100_000))*time.Millisecond))
	}
	for _, tc := range values {
		for _, op := range ops {
			lo, hi, ok := g.IndexRange(testCompany, set, tc.field, op, tc.v)
			if !ok {
				t.Fatalf("IndexRange(%s %s %v) not ok", tc.field, op, tc.v)
			}
			wlo, whi := bruteRange(t, glRows, tc.field, op, tc.v)
			if wlo < 0 {
				if lo != hi {
					t.Errorf("%s %s %v: got [%d,%d), want empty", tc.field, op, tc.v, lo, hi)
				}
				continue
			}
			if lo != wlo || hi != whi {
				t.Errorf("%s %s %v: got [%d,%d), want [%d,%d)", tc.field, op, tc.v, lo, hi, wlo, whi)
			}
		}
	}
	// number on customers.
	for _, v := range []string{"C00000", "C00010", "C00255", "C00500", "C99999", "D"} {
		for _, op := range ops {
			lo, hi, ok := g.IndexRange(testCompany, "customers", "number", op, v)
			wlo, whi := bruteRange(t, custRows, "number", op, v)
			if wlo < 0 {
				wlo, whi = lo, lo
			}
			if !ok || lo != wlo || hi != whi {
				t.Errorf("customers number %s %s: got [%d,%d) %v, want [%d,%d)", op, v, lo, hi, ok, wlo, whi)
			}
		}
	}
}

func TestIndexRangeRefuses(t *testing.T) {
	t.Parallel()
	g := New(33, nil)
	for _, tc := range []struct {
		set, field, op string
		value          any
	}{
		{"generalLedgerEntries", "debitAmount", "gt", 5.0},               // not monotonic
		{"generalLedgerEntries", "entryNumber", "ne", int64(5)},          // no range for ne
		{"generalLedgerEntries", "entryNumber", "gt", "5"},               // wrong type
		{"generalLedgerEntries", "lastModifiedDateTime", "gt", "2024"},   // wrong type
		{"salesInvoiceLines", "sequence", "gt", int64(10000)},            // restarts per document
		{"noSuchSet", "id", "eq", "x"},                                   // unknown set
		{"customers", "displayName", "eq", "Contoso"},                    // not monotonic
		{"generalLedgerEntries", "postingDate", "between", "2024-01-01"}, // unknown op
	} {
		if _, _, ok := g.IndexRange(testCompany, tc.set, tc.field, tc.op, tc.value); ok {
			t.Errorf("IndexRange(%s.%s %s %v) ok, want refusal", tc.set, tc.field, tc.op, tc.value)
		}
	}
	doc := g.Key(testCompany, "salesInvoices", 7)
	lo, hi, ok := g.IndexRange(testCompany, "salesInvoiceLines", "documentId", "eq", doc)
	if wlo, whi := g.ChildRange(testCompany, "salesInvoiceLines", 7); !ok || lo != wlo || hi != whi {
		t.Errorf("documentId eq invoice 7 = [%d,%d) %v, ChildRange = [%d,%d)", lo, hi, ok, wlo, whi)
	}
	if lo, hi, ok := g.IndexRange(testCompany, "generalLedgerEntries", "entryNumber", "GT", 1998); !ok || lo != 1998 || hi != 2000 {
		t.Errorf("entryNumber GT 1998 = [%d,%d) %v", lo, hi, ok)
	}
}

// TestIndexRangeLarge runs the incremental-sync query shape on a million entries.
func TestIndexRangeLarge(t *testing.T) {
	t.Parallel()
	g := New(34, Sizes{"generalLedgerEntries": 1_000_000})
	const set = "generalLedgerEntries"
	mark := g.Row(testCompany, set, 765_432)["lastModifiedDateTime"].(time.Time)
	lo, hi, ok := g.IndexRange(testCompany, set, "lastModifiedDateTime", "gt", mark)
	if !ok || lo != 765_433 || hi != 1_000_000 {
		t.Errorf("lastModifiedDateTime gt row 765432 = [%d,%d) %v", lo, hi, ok)
	}
	lo, hi, ok = g.IndexRange(testCompany, set, "entryNumber", "le", int64(10))
	if !ok || lo != 0 || hi != 10 {
		t.Errorf("entryNumber le 10 = [%d,%d) %v", lo, hi, ok)
	}
}
