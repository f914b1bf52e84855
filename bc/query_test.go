package bc

import (
	"net/url"
	"strings"
	"testing"
)

func TestQueryEncode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		q    *Query
		want string
	}{
		{"nil", nil, ""},
		{"zero", &Query{}, ""},
		{"page size is a header, not a query option", &Query{PageSize: 500}, ""},
		{"select and order", &Query{Select: []string{"id", "number"}, OrderBy: []string{"lastModifiedDateTime asc", "id"}},
			"$select=id,number&$orderby=lastModifiedDateTime%20asc,id"},
		{"expand nested", &Query{Expand: []Expansion{{Nav: "salesInvoiceLines", Select: []string{"id", "amountIncludingTax"},
			Filter: Eq("lineType", "Item"), Expand: []Expansion{{Nav: "item", Select: []string{"number"}}}}}},
			"$expand=salesInvoiceLines($select%3Did,amountIncludingTax%3B$filter%3DlineType%20eq%20'Item'%3B$expand%3Ditem($select%3Dnumber))"},
		{"top count schemaversion", &Query{Top: 1, Count: true, SchemaVersion: "2.1"}, "$top=1&$count=true&$schemaversion=2.1"},
		{"reserved characters", &Query{Filter: Eq("displayName", "a+b&c=d;e#f%g h")},
			"$filter=displayName%20eq%20'a%2Bb%26c%3Dd%3Be%23f%25g%20h'"},
	}
	for _, tt := range tests {
		got, err := tt.q.encode()
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if got != tt.want {
			t.Errorf("%s:\n got  %s\n want %s", tt.name, got, tt.want)
		}
	}
	// The reserved characters survive a server's decoding unchanged.
	vals, _ := url.ParseQuery(tests[len(tests)-1].want)
	if got := vals.Get("$filter"); got != "displayName eq 'a+b&c=d;e#f%g h'" {
		t.Errorf("decoded filter = %q", got)
	}
}

func TestQueryEncodeErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		q    *Query
		want string
	}{
		{"page size above BC's cap", &Query{PageSize: 20001}, "1–20000"},
		{"negative page size", &Query{PageSize: -1}, "PageSize"},
		{"select injection", &Query{Select: []string{"id&$top=1"}}, "not a field name"},
		{"orderby injection", &Query{OrderBy: []string{"id desc&$top=1"}}, "$orderby"},
		{"orderby direction", &Query{OrderBy: []string{"id sideways"}}, "$orderby"},
		{"expand name", &Query{Expand: []Expansion{{Nav: "lines($top=1)"}}}, "navigation property"},
		{"expand filter", &Query{Expand: []Expansion{{Nav: "lines", Filter: Eq("x y", 1)}}}, "not a field name"},
		{"expand in needs 2.1", &Query{Expand: []Expansion{{Nav: "lines", Filter: In("x", 1)}}}, "2.1"},
		{"schema version", &Query{SchemaVersion: "2.1&$top=1"}, "SchemaVersion"},
	}
	for _, tt := range tests {
		_, err := tt.q.encode()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.want)
		}
	}
}
