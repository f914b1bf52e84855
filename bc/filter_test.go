package bc

import (
	"encoding/json"
	"math"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/bcschema"
	"github.com/bizzjoiner/bcconnector/emulator/odata"
)

type enumValue string

func TestLiteral(t *testing.T) {
	t.Parallel()
	cet := time.FixedZone("CET", 3600)
	tests := []struct {
		in      any
		want    string
		wantErr string
	}{
		{"Open", "'Open'", ""},
		{"O'Brien", "'O''Brien'", ""},
		{"''", "''''''", ""},
		{"", "''", ""},
		{"Müller & Söhne", "'Müller & Söhne'", ""},
		{"a\x00b", "'a\x00b'", ""},
		{"\xff", "", "not valid UTF-8"},
		{enumValue("Credit_x0020_Memo"), "'Credit_x0020_Memo'", ""},
		{GUID("5D115C9C-44E3-EA11-BB43-000D3A2FECA1"), "5d115c9c-44e3-ea11-bb43-000d3a2feca1", ""},
		{GUID("5d115c9c-44e3-ea11-bb43-000d3a2feca1') or (1 eq 1"), "", "is not a GUID"},
		{GUID("{5d115c9c-44e3-ea11-bb43-000d3a2feca1}"), "", "is not a GUID"},
		{Date{2019, time.May, 1}, "2019-05-01", ""},
		{Date{}, "0001-01-01", ""},
		{Date{2023, time.February, 30}, "", "invalid date"},
		{time.Date(2019, 8, 18, 21, 5, 51, 603_900_000, cet), "2019-08-18T20:05:51.603Z", ""},
		{time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), "2024-01-01T00:00:00.000Z", ""},
		{time.Time{}.Add(-time.Hour), "", "outside years"},
		{42, "42", ""},
		{int64(-7), "-7", ""},
		{uint16(7), "7", ""},
		{1000.5, "1000.5", ""},
		{1e21, "1000000000000000000000", ""},
		{float32(0.1), "0.1", ""},
		{math.NaN(), "", "not a number"},
		{math.Inf(-1), "", "not a number"},
		{json.Number("1000.00"), "1000.00", ""},
		{json.Number("1e5"), "", "not a decimal"},
		{json.Number("1 or 1 eq 1"), "", "not a decimal"},
		{true, "true", ""},
		{nil, "null", ""},
		{struct{}{}, "", "unsupported value type"},
		{[]string{"a"}, "", "unsupported value type"},
	}
	for _, tt := range tests {
		got, err := Literal(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Literal(%#v) = %q, %v; want error %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Literal(%#v) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestExprComposition(t *testing.T) {
	t.Parallel()
	since := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		expr Expr
		want string
	}{
		{"zero", Expr{}, ""},
		{"and skips zero", And(Expr{}, Eq("number", "10000"), Expr{}), "number eq '10000'"},
		{"and of or", And(Or(Eq("status", "Open"), Eq("status", "Paid")), Gt("lastModifiedDateTime", since)),
			"(status eq 'Open' or status eq 'Paid') and lastModifiedDateTime gt 2024-05-01T10:00:00.000Z"},
		{"or of and", Or(And(Ge("entryNumber", 1), Lt("entryNumber", 5001)), Eq("entryNumber", 9)),
			"(entryNumber ge 1 and entryNumber lt 5001) or entryNumber eq 9"},
		{"flattened and", And(And(Eq("a", 1), Eq("b", 2)), Eq("c", 3)), "a eq 1 and b eq 2 and c eq 3"},
		{"not", Not(Eq("blocked", true)), "not (blocked eq true)"},
		{"raw is parenthesised", And(Raw("a eq 1 or a eq 2"), Ne("b", "x")), "(a eq 1 or a eq 2) and b ne 'x'"},
		{"functions", Or(Contains("displayName", "O'B"), StartsWith("displayName", "A"), EndsWith("displayName", "z")),
			"contains(displayName,'O''B') or startswith(displayName,'A') or endswith(displayName,'z')"},
		{"in", In("number", "10000", "20000"), "number in ('10000','20000')"},
		{"guid", Eq("customerId", GUID(companyID)), "customerId eq " + companyID},
		{"date", Le("postingDate", Date{2024, 12, 31}), "postingDate le 2024-12-31"},
	}
	for _, tt := range tests {
		if err := tt.expr.Err(); err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if got := tt.expr.String(); got != tt.want {
			t.Errorf("%s:\n got  %s\n want %s", tt.name, got, tt.want)
		}
	}
}

func TestExprErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		expr Expr
		want string
	}{
		{"field injection", Eq("displayName eq 'x' or id", "y"), "is not a field name"},
		{"function field injection", Contains("a,'b') or contains(c", "d"), "is not a field name"},
		{"bad guid inside and", And(Eq("a", 1), Eq("id", GUID("nope"))), "is not a GUID"},
		{"not of nothing", Not(Expr{}), "Not of an empty"},
		{"empty in", In("number"), "no values"},
		{"bad value type", Gt("amount", []int{1}), "unsupported value type"},
	}
	for _, tt := range tests {
		err := tt.expr.Err()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.want)
		}
		if tt.expr.String() != "" {
			t.Errorf("%s: an invalid expression rendered %q", tt.name, tt.expr.String())
		}
		if _, err := (&Query{Filter: tt.expr}).encode(); err == nil {
			t.Errorf("%s: a Query with an invalid filter encoded", tt.name)
		}
	}
	if _, err := (&Query{Filter: In("number", "1")}).encode(); err == nil || !strings.Contains(err.Error(), "2.1") {
		t.Errorf("In without $schemaversion=2.1: err = %v", err)
	}
	if _, err := (&Query{Filter: In("number", "1"), SchemaVersion: "2.1"}).encode(); err != nil {
		t.Errorf("In with 2.1: %v", err)
	}
}

// injections are values an attacker (or an unlucky customer name) could put into a filter.
var injections = []string{
	"x' or displayName ne 'y",
	"x') or (1 eq 1",
	"'",
	"''",
	"O'Brien",
	"a' and number eq '1",
	"&$top=1",
	"x'&$filter=number eq '1",
	"%27 or 1 eq 1 or %27",
	"x';$expand=customer",
	"Fabrikam & O'Brien Ltd.",
	"Müller Bäckerei GmbH",
	"tab\tnew\nline",
	"#fragment?q=1",
	"+plus+",
	"\\' or 1 eq 1 --",
	"\u2019 or 1 eq 1 \u2019",
}

// roundTrip encodes expr as a request's query string, decodes it as a server would and
// parses the filter with the emulator's OData parser.
func roundTrip(t testing.TB, expr Expr) *odata.Filter {
	t.Helper()
	qs, err := (&Query{Filter: expr}).encode()
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	vals, err := url.ParseQuery(qs)
	if err != nil {
		t.Fatalf("the query string %q does not parse: %v", qs, err)
	}
	if len(vals) != 1 || len(vals["$filter"]) != 1 {
		t.Fatalf("the query string %q carries options besides one $filter: %v", qs, vals)
	}
	schema := bcschema.MustLoad()
	ent, _ := schema.EntitySet("customers")
	f, err := odata.ParseFilter(vals.Get("$filter"), odata.FieldsOf(ent), odata.OptionsFor(ent, "2.0"))
	if err != nil {
		t.Fatalf("BC's parser rejects %q: %v", vals.Get("$filter"), err)
	}
	return f
}

func TestFilterInjectionStaysLiteral(t *testing.T) {
	t.Parallel()
	for _, s := range injections {
		f := roundTrip(t, And(Eq("displayName", s), Eq("number", "10000")))
		got := f.Constraints("displayName")
		if len(got) != 1 || got[0].Op != "eq" || got[0].Value != s {
			t.Errorf("%q: displayName constraints = %v; want exactly eq %q", s, got, s)
		}
		if n := f.Constraints("number"); len(n) != 1 || n[0].Value != "10000" {
			t.Errorf("%q: number constraints = %v; the value changed the rest of the filter", s, n)
		}
		if !f.Match(map[string]any{"displayName": s, "number": "10000"}) {
			t.Errorf("%q: the filter does not match the record holding that very value", s)
		}
		if f.Match(map[string]any{"displayName": s + "x", "number": "10000"}) || f.Match(map[string]any{"displayName": "y", "number": "10000"}) {
			t.Errorf("%q: the filter matches other records: the value escaped its literal", s)
		}
		c := roundTrip(t, Contains("displayName", s))
		if !c.Match(map[string]any{"displayName": "<" + s + ">"}) || (s != "" && c.Match(map[string]any{"displayName": "unrelated"})) {
			t.Errorf("%q: contains() does not treat the value as a literal", s)
		}
	}
}
