package datagen

import (
	"runtime"
	"testing"
	"time"
)

func BenchmarkRowGLEntry(b *testing.B) {
	g := New(1, Sizes{"generalLedgerEntries": 1_000_000})
	n := g.Count(testCompany, "generalLedgerEntries")
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_ = g.Row(testCompany, "generalLedgerEntries", i)
		if i++; i == n {
			i = 0
		}
	}
}

func BenchmarkRowCustomer(b *testing.B) {
	g := New(1, nil)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_ = g.Row(testCompany, "customers", i%50)
		i++
	}
}

func BenchmarkRowSalesInvoice(b *testing.B) {
	g := New(1, nil)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_ = g.Row(testCompany, "salesInvoices", i%60)
		i++
	}
}

func BenchmarkIndexRangeLastModified(b *testing.B) {
	g := New(1, Sizes{"generalLedgerEntries": 1_000_000})
	mark := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, ok := g.IndexRange(testCompany, "generalLedgerEntries", "lastModifiedDateTime", "gt", mark); !ok {
			b.Fatal("not ok")
		}
	}
}

// BenchmarkAllGLEntries generates all 1,000,000 G/L entries one by one per iteration and
// reports the live heap growth across the run (heap-B), which must stay near zero: rows are
// computed, never retained.
func BenchmarkAllGLEntries(b *testing.B) {
	g := New(1, Sizes{"generalLedgerEntries": 1_000_000})
	const set = "generalLedgerEntries"
	n := g.Count(testCompany, set)
	_ = g.Row(testCompany, set, 0) // company state
	before := liveHeap()
	b.ReportAllocs()
	for b.Loop() {
		for i := 0; i < n; i++ {
			_ = g.Row(testCompany, set, i)
		}
	}
	b.ReportMetric(float64(int64(liveHeap())-int64(before)), "heap-B")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/row")
}

func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestMillionRowsDoNotGrowHeap generates 1,000,000 G/L entries and checks that the live heap
// afterwards is what it was before (within 1 MB): nothing is retained per row. It also checks
// the ordering invariants over the whole set: ids strictly increase, entries balance.
func TestMillionRowsDoNotGrowHeap(t *testing.T) {
	if testing.Short() {
		t.Skip("generates 1,000,000 rows")
	}
	g := New(1, Sizes{"generalLedgerEntries": 1_000_000})
	const set = "generalLedgerEntries"
	_ = g.Row(testCompany, set, 0)
	before := liveHeap()
	var debit, credit float64
	prev := ""
	for i := 0; i < g.Count(testCompany, set); i++ {
		r := g.Row(testCompany, set, i)
		if id := r["id"].(string); id <= prev {
			t.Fatalf("id %d %s not above %s", i, id, prev)
		} else {
			prev = id
		}
		debit += r["debitAmount"].(float64)
		credit += r["creditAmount"].(float64)
	}
	after := liveHeap()
	if grown := int64(after) - int64(before); grown > 1<<20 {
		t.Errorf("live heap grew by %d bytes over 1,000,000 rows", grown)
	}
	if d := debit - credit; d > 0.01 || d < -0.01 {
		t.Errorf("1,000,000 entries do not balance: %.2f", d)
	}
}
