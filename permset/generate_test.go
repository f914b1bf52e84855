package permset

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bizzjoiner/bcconnector/bcschema"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// defaultRead is the connector's default set of entity sets (issue 3).
var defaultRead = []string{"customers", "vendors", "items", "contacts", "employees", "accounts",
	"generalLedgerEntries", "salesOrders", "salesOrderLines", "salesInvoices", "salesInvoiceLines",
	"purchaseInvoices", "purchaseInvoiceLines", "currencies", "paymentTerms", "dimensions", "dimensionValues"}

var defaultWrite = []string{"customers", "salesInvoices"}

func generate(t testing.TB, read, write []string, opt Options) string {
	t.Helper()
	var buf bytes.Buffer
	if err := Generate(&buf, read, write, opt); err != nil {
		t.Fatalf("Generate(%v, %v): %v", read, write, err)
	}
	return buf.String()
}

// checkWellFormed parses src as AL and checks that its tabledata entries are exactly want.
func checkWellFormed(t testing.TB, src string, want []Table, opt Options) *alPermissionSet {
	t.Helper()
	ps, err := parseALPermissionSet(src)
	if err != nil {
		t.Fatalf("generated AL is not well-formed: %v\n%s", err, src)
	}
	wantOpt, _ := opt.withDefaults()
	if ps.ID != wantOpt.ObjectID || ps.Name != wantOpt.Name {
		t.Errorf("object header = %d %q, want %d %q", ps.ID, ps.Name, wantOpt.ObjectID, wantOpt.Name)
	}
	if ps.Assignable == nil || !*ps.Assignable {
		t.Error("permission set must be Assignable = true so the admin can assign it in Step 6")
	}
	if ps.Caption == nil || *ps.Caption != wantOpt.Caption {
		t.Errorf("Caption = %v, want %q", ps.Caption, wantOpt.Caption)
	}
	var got []Table
	for _, p := range ps.Permissions {
		if p.ObjectType == "tabledata" {
			got = append(got, Table{Name: p.Name, Perms: p.Perms})
		}
	}
	if len(got) != len(want) {
		t.Fatalf("AL grants %d tables, Permissions resolves %d", len(got), len(want))
	}
	for i := range want {
		if got[i].Name != want[i].Name || got[i].Perms != want[i].Perms {
			t.Errorf("entry %d = %s %s, want %s %s", i, got[i].Name, got[i].Perms, want[i].Name, want[i].Perms)
		}
		if i > 0 && !lessName(got[i-1].Name, got[i].Name) {
			t.Errorf("entries not sorted: %q before %q", got[i-1].Name, got[i].Name)
		}
	}
	return ps
}

func TestGenerateGolden(t *testing.T) {
	t.Parallel()
	got := generate(t, defaultRead, defaultWrite, Options{})
	want, _ := Permissions(defaultRead, defaultWrite)
	checkWellFormed(t, got, want, Options{})

	path := filepath.Join("testdata", "bizzjoiner-connector.al")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	golden, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./permset -run Golden -update to create it)", err)
	}
	if got != string(golden) {
		t.Errorf("generated AL differs from %s (rerun with -update after checking the diff):\n%s", path, got)
	}
}

func TestGenerateDefaultSetContents(t *testing.T) {
	t.Parallel()
	tables, err := Permissions(defaultRead, defaultWrite)
	if err != nil {
		t.Fatal(err)
	}
	perms := map[string]string{}
	for _, tb := range tables {
		perms[tb.Name] = tb.Perms
	}
	for name, want := range map[string]string{
		"Customer":                       "RIMD", // written
		"Sales Header":                   "RIMD", // salesInvoices drafts
		"Sales Invoice Header":           "RMD",  // posted invoices: read, PATCH due date, DELETE
		"Sales Invoice Entity Aggregate": "RIMD",
		"Vendor":                         "R", // read only
		"G/L Entry":                      "R",
		"Purchase Header":                "R",
		// salesOrders is only read, but Sales Header is writable (salesInvoices), so the
		// orders page recalculates discounts on GET and modifies its buffer.
		"Sales Order Entity Buffer": "RM",
	} {
		if perms[name] != want {
			t.Errorf("%s = %q, want %q", name, perms[name], want)
		}
	}
	for _, absent := range []string{"Sales Invoice Line Aggregate", "Purchase Order Entity Buffer", "Job Queue Entry"} {
		if _, ok := perms[absent]; ok {
			t.Errorf("%s granted but not needed by the default entity sets", absent)
		}
	}
}

func TestConditionalGrantsOnlyWhenWritable(t *testing.T) {
	t.Parallel()
	perms := func(read, write []string) map[string]string {
		tables, err := Permissions(read, write)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, tb := range tables {
			m[tb.Name] = tb.Perms
		}
		return m
	}
	readOnly := perms([]string{"salesOrders"}, nil)
	if readOnly["Sales Line"] != "R" || readOnly["Sales Order Entity Buffer"] != "R" {
		t.Errorf("read-only salesOrders: Sales Line %q, buffer %q; want R (its lines are read) and R", readOnly["Sales Line"], readOnly["Sales Order Entity Buffer"])
	}
	withWrite := perms([]string{"salesOrders"}, []string{"salesQuotes"})
	if withWrite["Sales Order Entity Buffer"] != "RM" || !strings.Contains(withWrite["Sales Line"], "M") {
		t.Errorf("salesOrders with writable Sales Header: buffer %q, Sales Line %q; want RM and Modify", withWrite["Sales Order Entity Buffer"], withWrite["Sales Line"])
	}
}

func TestGenerateEveryEntitySetWellFormed(t *testing.T) {
	t.Parallel()
	schema := bcschema.MustLoad()
	all := schema.EntitySetNames()
	var writable []string
	for _, name := range all {
		e, _ := schema.EntitySet(name)
		if e.Allows("POST") || e.Allows("PATCH") || e.Allows("DELETE") || len(e.Actions) > 0 {
			writable = append(writable, name)
		}
	}
	cases := [][2][]string{{all, nil}, {all, writable}}
	for _, name := range all {
		cases = append(cases, [2][]string{{name}, nil})
	}
	for _, name := range writable {
		cases = append(cases, [2][]string{nil, {name}})
	}
	for _, opt := range []Options{{}, {PageExecute: true}} {
		for _, c := range cases {
			src := generate(t, c[0], c[1], opt)
			want, _ := Permissions(c[0], c[1])
			ps := checkWellFormed(t, src, want, opt)
			if opt.PageExecute {
				for _, p := range ps.Permissions {
					if p.ObjectType != "tabledata" && p.Perms != "X" {
						t.Errorf("%s %q = %s, want X", p.ObjectType, p.Name, p.Perms)
					}
				}
			}
		}
	}
}

func TestGeneratePageExecute(t *testing.T) {
	t.Parallel()
	src := generate(t, []string{"customers", "customerSales", "companies"}, nil, Options{PageExecute: true})
	ps, err := parseALPermissionSet(src)
	if err != nil {
		t.Fatal(err)
	}
	var objs []string
	for _, p := range ps.Permissions {
		if p.ObjectType != "tabledata" {
			objs = append(objs, p.ObjectType+" "+p.Name+" = "+p.Perms)
		}
	}
	want := []string{`page APIV2 - Customers = X`, `query APIV2 - Customer Sales = X`}
	if !slices.Equal(objs, want) {
		t.Errorf("object permissions = %q, want %q (companies is a platform entity without a page)", objs, want)
	}
	if !strings.Contains(src, APIV2AppID) {
		t.Error("header must tell the reader which app dependency page permissions need")
	}
}

func TestGenerateNoTablesNeeded(t *testing.T) {
	t.Parallel()
	src := generate(t, []string{"companies"}, nil, Options{})
	ps := checkWellFormed(t, src, nil, Options{})
	if len(ps.Permissions) != 0 {
		t.Errorf("companies needs no permissions, got %v", ps.Permissions)
	}
	if strings.Contains(src, "Permissions =") {
		t.Error("an empty Permissions list is not valid AL; the property must be omitted")
	}
}

func TestGenerateOptions(t *testing.T) {
	t.Parallel()
	opt := Options{ObjectID: 50999, Name: "BJ CONNECTOR RO", Caption: "Bizzjoiner's read-only set"}
	src := generate(t, []string{"customers"}, nil, opt)
	want, _ := Permissions([]string{"customers"}, nil)
	checkWellFormed(t, src, want, opt)
	if !strings.Contains(src, `Caption = 'Bizzjoiner''s read-only set';`) {
		t.Errorf("caption quote not escaped by doubling:\n%s", src)
	}
	if !strings.Contains(src, `permissionset 50999 "BJ CONNECTOR RO"`) {
		t.Errorf("object header missing:\n%s", src)
	}
}

func TestGenerateOptionErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		opt     Options
		wantErr string
	}{
		{"id below range", Options{ObjectID: 18}, "outside the per-tenant extension range"},
		{"id above range", Options{ObjectID: 100000}, "outside the per-tenant extension range"},
		{"negative id", Options{ObjectID: -1}, "outside"},
		{"long name", Options{Name: "BIZZJOINER CONNECTOR X"}, "at most 20"},
		{"quote in name", Options{Name: `BJ "CONN"`}, "double quote"},
		{"newline in name", Options{Name: "BJ\nCONN"}, "control character"},
		{"padded name", Options{Name: " BJ"}, "leading or trailing spaces"},
		{"newline in caption", Options{Caption: "a\nb"}, "control character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			err := Generate(&buf, []string{"customers"}, nil, tt.opt)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
			}
			if buf.Len() != 0 {
				t.Error("nothing may be written when the options are invalid")
			}
		})
	}
}

func TestGenerateEntitySetErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		read, write []string
		wantErr     string
		suggestions map[string][]string
	}{
		{"nothing", nil, nil, "no entity sets given", nil},
		{"only blanks", []string{" ", ""}, nil, "no entity sets given", nil},
		{"singular", []string{"customer"}, nil, `unknown API v2.0 entity set "customer"`, map[string][]string{"customer": {"customers"}}},
		{"wrong case", []string{"SalesInvoices"}, nil, "case-sensitive", map[string][]string{"SalesInvoices": {"salesInvoices"}}},
		{"typo", nil, []string{"salesInvoces"}, "did you mean", map[string][]string{"salesInvoces": {"salesInvoices"}}},
		{"no match", []string{"zzzz"}, nil, `"zzzz"`, map[string][]string{}},
		{"several", []string{"vendor", "itemz", "customers"}, nil, "entity sets", map[string][]string{"vendor": {"vendors"}, "itemz": {"items"}}},
		{"read-only written", []string{"customers"}, []string{"accounts", "generalLedgerEntries"}, "only reads accounts, generalLedgerEntries", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			err := Generate(&buf, tt.read, tt.write, Options{})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
			}
			if buf.Len() != 0 {
				t.Error("nothing may be written on error")
			}
			if tt.suggestions != nil {
				var ue *UnknownEntitySetError
				if !errors.As(err, &ue) {
					t.Fatalf("error %T is not *UnknownEntitySetError", err)
				}
				for name, want := range tt.suggestions {
					if got := ue.Suggestions[name]; !slices.Equal(got, want) {
						t.Errorf("suggestions for %q = %v, want %v", name, got, want)
					}
				}
			}
		})
	}
	var ro *ReadOnlyEntitySetError
	err := Generate(&bytes.Buffer{}, nil, []string{"dimensions"}, Options{})
	if !errors.As(err, &ro) || !slices.Equal(ro.EntitySets, []string{"dimensions"}) {
		t.Errorf("error = %v, want *ReadOnlyEntitySetError for dimensions", err)
	}
}

func TestGenerateDeterministicAndDeduplicated(t *testing.T) {
	t.Parallel()
	a := generate(t, []string{"salesInvoices", "customers", "customers"}, []string{"salesInvoices"}, Options{})
	b := generate(t, []string{"customers"}, []string{"salesInvoices", "salesInvoices"}, Options{})
	if a != b {
		t.Errorf("order and duplicates of the inputs changed the output:\n%s\n---\n%s", a, b)
	}
	if strings.Count(a, `tabledata "Sales Header" =`) != 1 {
		t.Error("Sales Header must appear once with merged letters")
	}
}

func TestHeaderNamesEntitySetsAndGaps(t *testing.T) {
	t.Parallel()
	src := generate(t, []string{"vendors", "salesQuoteLines"}, []string{"salesOrders"}, Options{})
	for _, want := range []string{
		"// Read:  salesOrderLines, salesQuoteLines, salesQuotes, vendors", // lines and parents as the sync reads them
		"// Write: salesOrders",
		"microsoft/ALAppExtensions",
		"salesOrders/shipAndInvoice", // posting action not covered
		"salesQuoteLines",            // unverified entry is called out
	} {
		if !strings.Contains(src, want) {
			t.Errorf("header lacks %q:\n%s", want, src)
		}
	}
	var inferred []string
	lines := strings.Split(src, "\n")
	for i, l := range lines {
		if l == "// Inferred, not read from source:" {
			for _, cont := range lines[i+1:] {
				if !strings.HasPrefix(cont, "//     ") {
					break
				}
				inferred = append(inferred, strings.Split(strings.TrimPrefix(cont, "//     "), ", ")...)
			}
		}
	}
	if !slices.Equal(inferred, []string{"salesQuoteLines"}) {
		t.Errorf("inferred entity sets = %q, want [salesQuoteLines] (vendors and salesOrders are verified)\n%s", inferred, src)
	}
}

// The test parser must itself reject what the AL compiler rejects, or the well-formedness
// tests prove nothing.
func TestALParserRejects(t *testing.T) {
	t.Parallel()
	const ok = "permissionset 50100 \"X\"\n{\n    Assignable = true;\n    Caption = 'X';\n    Permissions =\n        tabledata Customer = R,\n        tabledata \"Sales Header\" = RIMD;\n}\n"
	if _, err := parseALPermissionSet(ok); err != nil {
		t.Fatalf("valid AL rejected: %v", err)
	}
	bad := map[string]string{
		"missing semicolon":        strings.Replace(ok, "= RIMD;", "= RIMD", 1),
		"trailing comma":           strings.Replace(ok, "= RIMD;", "= RIMD,;", 1),
		"unbalanced brace":         strings.TrimSuffix(ok, "}\n"),
		"extra brace":              ok + "}",
		"space in bare name":       strings.Replace(ok, `"Sales Header"`, "Sales Header", 1),
		"bad letters":              strings.Replace(ok, "= RIMD", "= RIMX", 1),
		"repeated letter":          strings.Replace(ok, "= RIMD", "= RRIMD", 1),
		"wrong order":              strings.Replace(ok, "= RIMD", "= DMIR", 1),
		"quoted name too long":     strings.Replace(ok, `"Sales Header"`, `"Sales Header With A Much Longer Name"`, 1),
		"unterminated quote":       strings.Replace(ok, `"Sales Header"`, `"Sales Header`, 1),
		"quote inside name":        strings.Replace(ok, `"Sales Header"`, `"Sales "Header"`, 1),
		"duplicate entry":          strings.Replace(ok, `tabledata "Sales Header"`, `tabledata customer`, 1),
		"unknown object type":      strings.Replace(ok, "tabledata Customer", "tabeldata Customer", 1),
		"caption not a string":     strings.Replace(ok, "Caption = 'X'", "Caption = X", 1),
		"unterminated caption":     strings.Replace(ok, "Caption = 'X'", "Caption = 'X", 1),
		"assignable not boolean":   strings.Replace(ok, "Assignable = true", "Assignable = yes", 1),
		"assignable name too long": strings.Replace(ok, `"X"`, `"BIZZJOINER CONNECTOR 2"`, 1),
		"reserved bare name":       strings.Replace(ok, "tabledata Customer", "tabledata Page", 1),
		"missing id":               strings.Replace(ok, "50100 ", "", 1),
		"empty permissions":        strings.Replace(ok, "        tabledata Customer = R,\n        tabledata \"Sales Header\" = RIMD;", ";", 1),
		"duplicate property":       strings.Replace(ok, "Caption = 'X';", "Caption = 'X';\n    Caption = 'Y';", 1),
		"unknown property":         strings.Replace(ok, "Caption", "Captoin", 1),
		"page with RIMD":           strings.Replace(ok, "tabledata Customer = R", "page Customer = R", 1),
	}
	for name, src := range bad {
		if _, err := parseALPermissionSet(src); err == nil {
			t.Errorf("%s: accepted\n%s", name, src)
		}
	}
	// Escaped quotes in text literals and comments are fine.
	good := strings.Replace(ok, "Caption = 'X'", "Caption = 'It''s' /* c */", 1)
	ps, err := parseALPermissionSet("// header\n" + good)
	if err != nil || *ps.Caption != "It's" {
		t.Errorf("escaped caption: %v, %v", err, ps)
	}
}

// FuzzGenerate feeds arbitrary entity set lists (the CLI's --entities input) to Generate:
// it must either fail with an error or produce AL that parses.
func FuzzGenerate(f *testing.F) {
	f.Add("customers,salesInvoices", "customers")
	f.Add("customer", "")
	f.Add("", "accounts")
	f.Add("companies", "subscriptions")
	f.Add(" salesOrders , ,items", "salesQuotes")
	f.Add("\"Sales\nHeader\"", "'; tabledata * = RIMD;")
	f.Fuzz(func(t *testing.T, read, write string) {
		split := func(s string) []string {
			if s == "" {
				return nil
			}
			return strings.Split(s, ",")
		}
		var buf bytes.Buffer
		err := Generate(&buf, split(read), split(write), Options{})
		if err != nil {
			if buf.Len() != 0 {
				t.Fatal("output written despite error")
			}
			return
		}
		if _, err := parseALPermissionSet(buf.String()); err != nil {
			t.Fatalf("Generate(%q, %q) produced malformed AL: %v\n%s", read, write, err, buf.String())
		}
	})
}

// TestCoversWhatSyncReads: naming a document or a line set grants read on both, and a set
// with lines (items → itemVariants) grants its lines, because the sync reads them together.
func TestCoversWhatSyncReads(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		read  []string
		table string
	}{
		{[]string{"items"}, "Item Variant"},
		{[]string{"employees"}, "Time Sheet Line"},
		{[]string{"salesInvoiceLines"}, "Sales Invoice Header"},
		{[]string{"salesInvoices"}, "Sales Invoice Line"},
	} {
		tables, err := Permissions(tc.read, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(tables, func(tb Table) bool { return tb.Name == tc.table && strings.Contains(tb.Perms, "R") }) {
			t.Errorf("Permissions(%q) lacks read on %s: %v", tc.read, tc.table, tables)
		}
	}
}
