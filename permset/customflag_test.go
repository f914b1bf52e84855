package permset

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestParseCustomTable: the admin's "set=Table" for a custom API page, quoted or not;
// each malformed value is refused saying what is wrong and the expected form.
func TestParseCustomTable(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, set, table string }{
		{"contoso/warehouse/v1.0/binContents=Bin Content", "contoso/warehouse/v1.0/binContents", "Bin Content"},
		{` contoso/warehouse/v1.0/binContents = "Bin Content" `, "contoso/warehouse/v1.0/binContents", "Bin Content"},
		{"a/b/v2.0/c=Sales & Receivables Setup", "a/b/v2.0/c", "Sales & Receivables Setup"},
		{"a/b/v2.0/c=O'Brien=Table", "a/b/v2.0/c", "O'Brien=Table"},
	} {
		set, tb, err := ParseCustomTable(c.in)
		if err != nil || set != c.set || tb.Name != c.table {
			t.Errorf("%q: %q %+v %v, want %q %q", c.in, set, tb, err, c.set, c.table)
		}
	}
	for _, c := range []struct{ in, want string }{
		{"contoso/warehouse/v1.0/binContents", "has no '='"},
		{"binContents=Bin Content", "four parts"},
		{"a/b/c/d/e=T", "four parts"},
		{"a//v1.0/c=T", "the group"},
		{"a/b/v1.0/bin contents=T", "the entity set"},
		{"a/b/v1.0/c=", "gives no table"},
		{`a/b/v1.0/c=""`, "gives no table"},
		{`a/b/v1.0/c=Bin "Content"`, "double quote"},
		{"a/b/v1.0/c=" + strings.Repeat("x", 31), "longer than 30"},
	} {
		_, _, err := ParseCustomTable(c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "publisher") && c.want == "four parts" {
			t.Errorf("%q: %v, want an error with %q", c.in, err, c.want)
		}
	}
	if _, err := ParseCustomTables([]string{"a/b/v1.0/c=T1", "a/b/v1.0/c=T2"}); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("a set twice with two tables: %v", err)
	}
	m, err := ParseCustomTables([]string{"a/b/v1.0/c=T1", "a/b/v1.0/c=T1", "a/b/v1.0/d=T2"})
	if err != nil || len(m) != 2 || m["a/b/v1.0/d"].Name != "T2" {
		t.Errorf("two sets: %v %v", m, err)
	}
}

// FuzzParseCustomTable: any input is parsed or refused, never a panic; what is accepted
// is a four-part set and a table name Generate accepts, and parses again to itself.
func FuzzParseCustomTable(f *testing.F) {
	for _, s := range []string{"contoso/warehouse/v1.0/binContents=Bin Content", `a/b/v/c="T"`, "=", "a/b/c/d=", "////=x", "a/b/c/d=\"", "a/b/c/d=\x00", "a/b/c/d= \"\" "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		set, tb, err := ParseCustomTable(s)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an empty error")
			}
			return
		}
		if !isCustomEntry(set) || tb.Name == "" || checkTableName(tb.Name) != nil || !utf8.ValidString(set) && utf8.ValidString(s) {
			t.Fatalf("%q accepted as %q %q", s, set, tb.Name)
		}
		set2, tb2, err := ParseCustomTable(set + "=" + tb.Name)
		if err != nil || set2 != set || tb2.Name != tb.Name {
			t.Fatalf("%q → %q=%q does not parse to itself: %q %q %v", s, set, tb.Name, set2, tb2.Name, err)
		}
		var b strings.Builder
		if err := Generate(&b, []string{set}, nil, Options{Custom: map[string]Table{set: tb}}); err != nil {
			t.Fatalf("%q: Generate refused what the parser accepted: %v", s, err)
		}
	})
}
