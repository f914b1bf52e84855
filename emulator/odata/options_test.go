package odata

import (
	"reflect"
	"strings"
	"testing"

	"github.com/bizzjoiner/bcconnector/bcschema"
)

func TestParseOrderBy(t *testing.T) {
	t.Parallel()
	fields, opt := setup(t)
	tests := []struct {
		in   string
		want []OrderBy
	}{
		{"", nil},
		{"  ", nil},
		{"entryNumber", []OrderBy{{"entryNumber", false}}},
		{"entryNumber asc", []OrderBy{{"entryNumber", false}}},
		{"entryNumber desc", []OrderBy{{"entryNumber", true}}},
		{"postingDate desc, entryNumber", []OrderBy{{"postingDate", true}, {"entryNumber", false}}},
		{" lastModifiedDateTime   desc ,id asc ", []OrderBy{{"lastModifiedDateTime", true}, {"id", false}}},
	}
	for _, tt := range tests {
		got, err := ParseOrderBy(tt.in, fields, opt)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseOrderBy(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	errs := []struct {
		in     string
		status int
		code   string
		msg    string
	}{
		{"foo", 400, CodeNotFound, "Could not find a property named 'foo' on type 'Microsoft.NAV.generalLedgerEntry'."},
		{"entryNumber desc, foo asc", 400, CodeNotFound, "Could not find a property named 'foo' on type 'Microsoft.NAV.generalLedgerEntry'."},
		{"entryNumber,", 400, CodeNotFound, "Expression expected at position 12 in 'entryNumber,'."},
		{",entryNumber", 400, CodeNotFound, "Expression expected at position 0 in ',entryNumber'."},
		{"entryNumber up", 400, CodeNotFound, "Syntax error at position 14 in 'entryNumber up'."},
		{"entryNumber desc desc", 400, CodeNotFound, "Syntax error at position 21 in 'entryNumber desc desc'."},
		{"entryNumber/x", 400, CodeNotFound, "Could not find a property named 'x' on type 'Edm.Int32'."},
		{"entryNumber/", 400, CodeNotFound, "Syntax error at position 12 in 'entryNumber/'."},
		{"foo/bar", 400, CodeNotFound, "Could not find a property named 'foo' on type 'Microsoft.NAV.generalLedgerEntry'."},
		{"entryNumber #", 400, CodeNotFound, "Syntax error: character '#' is not valid at position 12 in 'entryNumber #'."},
		{"foo(description)", 400, CodeNotFound, "An unknown function with name 'foo' was found. …"},
		{"tolower(description)", 501, CodeNotImplemented, "The $orderby item 'tolower(…)' at position 0 is a function call; …"},
		{"length(description) desc", 501, CodeNotImplemented, "The $orderby item 'length(…)' at position 0 is a function call; …"},
		{"1", 501, CodeNotImplemented, "The $orderby item at position 0 is not a property; …"},
		{"'x' desc", 501, CodeNotImplemented, "The $orderby item at position 0 is not a property; …"},
	}
	for _, tt := range errs {
		got, err := ParseOrderBy(tt.in, fields, opt)
		checkError(t, "ParseOrderBy("+tt.in+")", got, err, tt.status, tt.code, tt.msg)
	}
}

func TestParseSelect(t *testing.T) {
	t.Parallel()
	fields, opt := setup(t)
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"*", nil},
		{"entryNumber,*", nil},
		{"entryNumber", []string{"entryNumber"}},
		{"id,entryNumber,postingDate", []string{"id", "entryNumber", "postingDate"}},
		{" id , entryNumber ", []string{"id", "entryNumber"}},
		{"entryNumber,id,entryNumber", []string{"entryNumber", "id"}},
	}
	for _, tt := range tests {
		got, err := ParseSelect(tt.in, fields, opt)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseSelect(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	errs := []struct{ in, msg string }{
		{"foo", "Could not find a property named 'foo' on type 'Microsoft.NAV.generalLedgerEntry'."},
		{"id,Foo", "Could not find a property named 'Foo' on type 'Microsoft.NAV.generalLedgerEntry'."},
		{"customer/displayName", "Could not find a property named 'customer' on type 'Microsoft.NAV.generalLedgerEntry'."},
		{"entryNumber/x", "Could not find a property named 'x' on type 'Edm.Int32'."},
		{"id,,entryNumber", "Syntax error at position 3 in 'id,,entryNumber'."},
		{"id,", "Syntax error at position 3 in 'id,'."},
		{"id, entry Number", "Syntax error at position 9 in 'id, entry Number'."},
		{"id,1x", "Syntax error at position 3 in 'id,1x'."},
		{"id,$count", "Syntax error at position 3 in 'id,$count'."},
		{"a($select=b)", "Syntax error at position 1 in 'a($select=b)'."},
		{"id,entryNumber/", "Syntax error at position 15 in 'id,entryNumber/'."},
	}
	for _, tt := range errs {
		got, err := ParseSelect(tt.in, fields, opt)
		checkError(t, "ParseSelect("+tt.in+")", got, err, 400, CodeNotFound, tt.msg)
	}
}

func intp(n int) *int { return &n }

func TestParseExpand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []ExpandItem
	}{
		{"", nil},
		{"customer", []ExpandItem{{Navigation: "customer"}}},
		{"*", []ExpandItem{{Navigation: "*"}}},
		{" customer , currency ", []ExpandItem{{Navigation: "customer"}, {Navigation: "currency"}}},
		{
			"salesInvoiceLines($select=a,b;$filter=x eq 1;$expand=item($expand=itemCategory)),customer",
			[]ExpandItem{
				{Navigation: "salesInvoiceLines", Select: "a,b", Filter: "x eq 1", Expand: "item($expand=itemCategory)"},
				{Navigation: "customer"},
			},
		},
		{
			// Separators inside quoted literals do not split; doubled quotes survive raw.
			"lines($filter=description eq 'a,b;c)(''d';$orderby=lineNumber desc;$top=5;$skip=2),customer($select=displayName)",
			[]ExpandItem{
				{Navigation: "lines", Filter: "description eq 'a,b;c)(''d'", OrderBy: "lineNumber desc", Top: intp(5), Skip: intp(2)},
				{Navigation: "customer", Select: "displayName"},
			},
		},
		{"lines( $SELECT = a ; $Top=0 ;)", []ExpandItem{{Navigation: "lines", Select: "a", Top: intp(0)}}},
		{"lines($filter=contains(description,'(')) ", []ExpandItem{{Navigation: "lines", Filter: "contains(description,'(')"}}},
	}
	for _, tt := range tests {
		got, err := ParseExpand(tt.in)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseExpand(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
	errs := []struct {
		in     string
		status int
		code   string
		msg    string
	}{
		{"lines()", 400, CodeNotFound, "Missing expand option on navigation property 'lines'. If a parenthesis expression follows an expanded navigation property, then at least one expand option must be provided."},
		{"lines( )", 400, CodeNotFound, "Missing expand option on navigation property 'lines'. …"},
		{"lines($top=-1)", 400, CodeNotFound, "Top option must be a non-negative integer, it is set to '-1' instead."},
		{"lines($skip=x)", 400, CodeNotFound, "Skip option must be a non-negative integer, it is set to 'x' instead."},
		{"lines($foo=1)", 400, CodeNotFound, "Term '$foo=1' is not valid in a $select or $expand expression."},
		{"lines(select)", 400, CodeNotFound, "Term 'select' is not valid in a $select or $expand expression."},
		{"lines($levels=2)", 501, CodeNotImplemented, "The query option '$levels' is not supported inside $expand. …"},
		{"lines($count=true)", 501, CodeNotImplemented, "The query option '$count' is not supported inside $expand. …"},
		{"lines($select=a;$select=b)", 400, CodeNotFound, "Query option '$select' was specified more than once, but it must be specified at most once."},
		{"customer,customer", 400, CodeNotFound, "Found multiple expand terms with same path 'customer' at one $expand, please combine them together."},
		{"lines($select=a", 400, CodeNotFound, "Found an unbalanced bracket expression."},
		{"lines)", 400, CodeNotFound, "Found an unbalanced bracket expression."},
		{"lines($filter=x eq 'a)", 400, CodeNotFound, "There is an unterminated string literal at position 22 in 'lines($filter=x eq 'a)'."},
		{"lines/$ref", 501, CodeNotImplemented, "$expand=lines/$ref is not supported; …"},
		{",lines", 400, CodeNotFound, "Syntax error at position 0 in ',lines'."},
		{"lines,", 400, CodeNotFound, "Syntax error at position 6 in 'lines,'."},
		{"lines x", 400, CodeNotFound, "Syntax error at position 5 in 'lines x'."},
		{"lines($top=1) x", 400, CodeNotFound, "Syntax error at position 14 in 'lines($top=1) x'."},
		{"lines/item", 400, CodeNotFound, "Syntax error at position 5 in 'lines/item'."},
	}
	for _, tt := range errs {
		got, err := ParseExpand(tt.in)
		checkError(t, "ParseExpand("+tt.in+")", got, err, tt.status, tt.code, tt.msg)
	}
	if _, err := ParseExpand(strings.Repeat("a", maxExpandLength+1)); err == nil {
		t.Error("ParseExpand accepted an over-long value")
	}
}

// TestExpandNested parses nested options the way the emulator will: each level against
// its own entity.
func TestExpandNested(t *testing.T) {
	t.Parallel()
	items, err := ParseExpand("salesInvoiceLines($expand=item($expand=itemCategory($select=code));$filter=quantity gt 1)")
	if err != nil {
		t.Fatal(err)
	}
	lines := map[string]string{"quantity": "Edm.Decimal"}
	f, err := ParseFilter(items[0].Filter, func(n string) (string, bool) { v, ok := lines[n]; return v, ok }, Options{})
	if err != nil || !f.Match(map[string]any{"quantity": 2.0}) || f.Match(map[string]any{"quantity": 1.0}) {
		t.Fatalf("nested $filter: %v", err)
	}
	inner, err := ParseExpand(items[0].Expand)
	if err != nil || len(inner) != 1 || inner[0].Navigation != "item" || inner[0].Expand != "itemCategory($select=code)" {
		t.Fatalf("nested $expand = %+v, %v", inner, err)
	}
	innermost, err := ParseExpand(inner[0].Expand)
	if err != nil || innermost[0].Navigation != "itemCategory" || innermost[0].Select != "code" {
		t.Fatalf("innermost $expand = %+v, %v", innermost, err)
	}
}

// TestSchemaEntity runs the helpers against the real API v2.0 schema.
func TestSchemaEntity(t *testing.T) {
	t.Parallel()
	gl, ok := bcschema.MustLoad().EntitySet("generalLedgerEntries")
	if !ok {
		t.Fatal("generalLedgerEntries missing from the schema")
	}
	opt := OptionsFor(gl, "2.0")
	fields := FieldsOf(gl)
	f, err := ParseFilter("documentType eq 'Credit_x0020_Memo' and lastModifiedDateTime gt 2024-01-01T00:00:00Z and entryNumber ge 100", fields, opt)
	if err != nil {
		t.Fatal(err)
	}
	row := map[string]any{"documentType": "Credit_x0020_Memo", "lastModifiedDateTime": glRow()["lastModifiedDateTime"], "entryNumber": int64(100)}
	if !f.Match(row) {
		t.Error("schema filter does not match")
	}
	_, err = ParseFilter("documentType eq 'Credit Memo'", fields, opt)
	checkError(t, "AL enum name", nil, err, 400, CodeNotFound, "The string 'Credit Memo' is not a valid enumeration type constant.")
	_, err = ParseFilter("nope eq 1", fields, opt)
	checkError(t, "unknown", nil, err, 400, CodeNotFound, "Could not find a property named 'nope' on type 'Microsoft.NAV.generalLedgerEntry'.")
	// A null enum is the " " member.
	f, err = ParseFilter("documentType eq null", fields, opt)
	if err != nil || !f.Match(map[string]any{"documentType": "_x0020_"}) {
		t.Errorf("documentType eq null: %v", err)
	}
}
