package odata

import "testing"

// BenchmarkMatch evaluates the typical incremental-sync filter on a 13-field G/L entry.
func BenchmarkMatch(b *testing.B) {
	fields, opt := setup(b)
	f, err := ParseFilter("lastModifiedDateTime gt 2024-01-01T00:00:00Z and entryNumber ge 100", fields, opt)
	if err != nil {
		b.Fatal(err)
	}
	row := glRow()
	delete(row, "blocked")
	delete(row, "bigNumber")
	if len(row) != 13 || !f.Match(row) {
		b.Fatalf("row has %d fields / does not match", len(row))
	}
	b.ReportAllocs()
	for b.Loop() {
		if !f.Match(row) {
			b.Fatal("no match")
		}
	}
}

// BenchmarkParseFilter measures parsing and binding of the same filter.
func BenchmarkParseFilter(b *testing.B) {
	fields, opt := setup(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseFilter("lastModifiedDateTime gt 2024-01-01T00:00:00Z and entryNumber ge 100", fields, opt); err != nil {
			b.Fatal(err)
		}
	}
}
