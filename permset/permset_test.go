package permset

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/bizzjoiner/bcconnector/bcschema"
)

func TestMappingLoads(t *testing.T) {
	t.Parallel()
	if _, err := load(); err != nil {
		t.Fatalf("embedded tables.json does not load: %v", err)
	}
}

// Every entity set the schema (and so the emulator and the connector) knows must have a
// mapping entry, and the mapping must not invent entity sets.
func TestEverySchemaEntitySetIsMapped(t *testing.T) {
	t.Parallel()
	schema := bcschema.MustLoad()
	var mapped []string
	for _, e := range Mapping() {
		mapped = append(mapped, e.EntitySet)
	}
	want := schema.EntitySetNames()
	for _, name := range want {
		if _, ok := slices.BinarySearch(mapped, name); !ok {
			t.Errorf("entity set %s is in bcschema but has no entry in tables.json", name)
		}
	}
	for _, name := range mapped {
		if _, ok := schema.EntitySet(name); !ok {
			t.Errorf("tables.json maps %s, which is not an API v2.0 entity set in bcschema", name)
		}
	}
	if len(mapped) != len(want) {
		t.Errorf("tables.json has %d entries, bcschema %d entity sets", len(mapped), len(want))
	}
}

var commitRe = regexp.MustCompile(`^[0-9a-f]{40}$`)

func TestMappingConsistentWithSchema(t *testing.T) {
	t.Parallel()
	schema := bcschema.MustLoad()
	platform := map[string]bool{"companies": true, "subscriptions": true}
	verified := 0
	for _, e := range Mapping() {
		se, ok := schema.EntitySet(e.EntitySet)
		if !ok {
			continue // reported by TestEverySchemaEntitySetIsMapped
		}
		if e.Verified {
			verified++
		}
		for _, tb := range append(append([]Table(nil), e.Read...), e.Write...) {
			if err := checkTableName(tb.Name); err != nil {
				t.Errorf("%s: %v", e.EntitySet, err)
			}
			if !validPerms(tb.Perms) {
				t.Errorf("%s: table %q has permissions %q", e.EntitySet, tb.Name, tb.Perms)
			}
		}
		for _, tb := range e.Read {
			if tb.Perms != "R" {
				t.Errorf("%s: read table %q has permissions %q, want R", e.EntitySet, tb.Name, tb.Perms)
			}
		}
		if !platform[e.EntitySet] && len(e.Read) == 0 {
			t.Errorf("%s: no tables read; every AL API page reads at least one real table", e.EntitySet)
		}
		switch {
		case platform[e.EntitySet]:
		case writable(se) && len(e.Write) == 0:
			t.Errorf("%s allows %v/actions %v but the mapping has no write tables", e.EntitySet, se.Operations, se.Actions)
		case !writable(se) && len(e.Write) > 0:
			t.Errorf("%s is GET-only in API v2.0 but the mapping lists write tables", e.EntitySet)
		}
		// A real source table is read by the page itself; a temporary one needs no
		// permission and must not be granted for its own sake.
		src := se.AL.SourceTable
		if src != "" {
			has := slices.ContainsFunc(e.Read, func(tb Table) bool { return tb.Name == src })
			if se.SourceTableTemporary && has {
				t.Errorf("%s: source table %q is temporary (SourceTableTemporary) and needs no permission, but is listed as read", e.EntitySet, src)
			}
			if !se.SourceTableTemporary && !has {
				t.Errorf("%s: real source table %q is missing from the read list", e.EntitySet, src)
			}
		}
		if len(e.Sources) == 0 {
			t.Errorf("%s: no source recorded", e.EntitySet)
		}
		if e.Verified && !platform[e.EntitySet] {
			pinned := slices.ContainsFunc(e.Sources, func(s Source) bool {
				return s.Repo == "microsoft/ALAppExtensions" && strings.HasPrefix(s.Path, "Apps/W1/APIV2/") && commitRe.MatchString(s.Commit)
			})
			if !pinned {
				t.Errorf("%s: verified entries must name the APIV2 file and commit they were read at", e.EntitySet)
			}
			if se.AL.File != "" && !slices.ContainsFunc(e.Sources, func(s Source) bool { return s.Path == se.AL.File }) {
				t.Errorf("%s: verified, but none of its sources is the page %s", e.EntitySet, se.AL.File)
			}
		}
		for _, c := range e.WhenWritable {
			if len(c.Grants) == 0 || c.Why == "" {
				t.Errorf("%s: conditional grant on %q needs grants and a reason", e.EntitySet, c.Table)
			}
		}
	}
	if verified < 40 {
		t.Errorf("only %d entries verified against source; the core sets alone are more", verified)
	}
}

// The entity sets the connector uses by default must be read from source, not inferred.
func TestCoreEntitySetsVerified(t *testing.T) {
	t.Parallel()
	core := []string{"companies", "customers", "vendors", "items", "contacts", "employees", "accounts",
		"generalLedgerEntries", "salesOrders", "salesOrderLines", "salesInvoices", "salesInvoiceLines",
		"purchaseInvoices", "purchaseInvoiceLines", "currencies", "paymentTerms", "dimensions",
		"dimensionValues", "countriesRegions", "itemCategories"}
	entries := map[string]Entry{}
	for _, e := range Mapping() {
		entries[e.EntitySet] = e
	}
	for _, name := range core {
		if !entries[name].Verified {
			t.Errorf("core entity set %s is not verified against its AL source", name)
		}
	}
}

func names(ts []Table) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Name)
	}
	return out
}

func TestTablesCoreMappings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		entitySet string
		readHas   []string
		readLacks []string
		writeHas  map[string]string // table -> exact letters
	}{
		{"salesInvoices", []string{"Sales Invoice Entity Aggregate", "Sales Header", "Sales Invoice Header", "Cust. Ledger Entry"}, []string{"Sales Invoice Line Aggregate"},
			map[string]string{"Sales Header": "RIMD", "Sales Line": "RIMD", "Sales Invoice Entity Aggregate": "RIMD", "No. Series Line": "RM", "Customer": "R"}},
		{"salesInvoiceLines", []string{"Sales Line", "Sales Invoice Line", "Sales Invoice Entity Aggregate"}, []string{"Sales Invoice Line Aggregate"},
			map[string]string{"Sales Line": "RIMD", "Item": "R"}},
		{"salesOrders", []string{"Sales Order Entity Buffer", "Sales Header"}, []string{"Sales Invoice Header"}, map[string]string{"Sales Header": "RIMD"}},
		{"purchaseInvoices", []string{"Purch. Inv. Entity Aggregate", "Purchase Header"}, nil, map[string]string{"Purchase Header": "RIMD", "Vendor": "R"}},
		{"customers", []string{"Customer", "General Ledger Setup"}, nil,
			map[string]string{"Customer": "RIMD", "Sales & Receivables Setup": "R", "Contact Business Relation": "RIMD", "Config. Template Header": "R"}},
		{"generalLedgerEntries", []string{"G/L Entry"}, []string{"G/L Account"}, nil},
		{"accounts", []string{"G/L Account", "G/L Entry"}, nil, nil},
		{"items", []string{"Item", "Item Ledger Entry"}, nil, map[string]string{"Item": "RIMD", "Item Unit of Measure": "RIMD"}},
		{"dimensions", []string{"Dimension"}, []string{"Dimension Value"}, nil},
		{"taxAreas", []string{"Tax Area", "VAT Business Posting Group"}, []string{"Tax Area Buffer"}, map[string]string{"Tax Area": "RIMD"}},
	}
	for _, tt := range tests {
		t.Run(tt.entitySet, func(t *testing.T) {
			t.Parallel()
			read, write, ok := Tables(tt.entitySet)
			if !ok {
				t.Fatalf("Tables(%q) not found", tt.entitySet)
			}
			rn := names(read)
			for _, n := range tt.readHas {
				if !slices.Contains(rn, n) {
					t.Errorf("read lacks %q: %v", n, rn)
				}
			}
			for _, n := range tt.readLacks {
				if slices.Contains(rn, n) {
					t.Errorf("read should not list %q: %v", n, rn)
				}
			}
			for n, want := range tt.writeHas {
				i := slices.IndexFunc(write, func(tb Table) bool { return tb.Name == n })
				if i < 0 {
					t.Errorf("write lacks %q", n)
					continue
				}
				if write[i].Perms != want {
					t.Errorf("write %q = %q, want %q", n, write[i].Perms, want)
				}
			}
			if tt.writeHas == nil && len(write) != 0 {
				t.Errorf("read-only entity set has write tables %v", names(write))
			}
		})
	}
}

func TestTablesIDs(t *testing.T) {
	t.Parallel()
	read, _, _ := Tables("salesInvoices")
	ids := map[string]int{}
	for _, tb := range read {
		ids[tb.Name] = tb.ID
	}
	for name, want := range map[string]int{"Sales Header": 36, "Sales Invoice Header": 112, "Sales Invoice Entity Aggregate": 5475, "General Ledger Setup": 98} {
		if ids[name] != want {
			t.Errorf("ID of %q = %d, want %d", name, ids[name], want)
		}
	}
}

func TestTablesUnknownAndCopies(t *testing.T) {
	t.Parallel()
	if _, _, ok := Tables("Customers"); ok {
		t.Error("Tables is case-sensitive: Customers must not resolve")
	}
	if _, _, ok := Tables(""); ok {
		t.Error("empty name must not resolve")
	}
	read, write, _ := Tables("customers")
	read[0].Name, write[0].Perms = "changed", "D"
	read2, write2, _ := Tables("customers")
	if read2[0].Name == "changed" || write2[0].Perms == "D" {
		t.Error("Tables returned slices that alias the package's mapping")
	}
	m := Mapping()
	m[0].Notes = append(m[0].Notes[:0], "changed")
	for i := range m {
		for j := range m[i].WhenWritable {
			m[i].WhenWritable[j].Grants[0].Perms = "D"
		}
	}
	for _, e := range Mapping() {
		for _, c := range e.WhenWritable {
			if c.Grants[0].Perms == "D" {
				t.Fatal("Mapping returned conditional grants that alias the package's mapping")
			}
		}
	}
}

func TestValidPerms(t *testing.T) {
	t.Parallel()
	for p, want := range map[string]bool{
		"R": true, "RIMD": true, "RM": true, "ID": true, "D": true,
		"": false, "DR": false, "RR": false, "r": false, "X": false, "RIMDX": false, "R I": false,
	} {
		if got := validPerms(p); got != want {
			t.Errorf("validPerms(%q) = %v, want %v", p, got, want)
		}
	}
}

func TestParseRejectsBadMapping(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, json, wantErr string
	}{
		{"syntax", `{`, "parse tables.json"},
		{"format", `{"format":"other","tables":{},"entries":[]}`, "format"},
		{"unknown table", `{"format":"bcconnector-permset/1","tables":{"Customer":18},"entries":[{"entitySet":"customers","read":["Vendor"]}]}`, `table "Vendor" is not in the tables catalog`},
		{"bad perms", `{"format":"bcconnector-permset/1","tables":{"Customer":18},"entries":[{"entitySet":"customers","read":[],"write":[{"table":"Customer","perms":"RX"}]}]}`, `permissions "RX"`},
		{"duplicate", `{"format":"bcconnector-permset/1","tables":{},"entries":[{"entitySet":"a"},{"entitySet":"a"}]}`, "twice"},
		{"no entity set", `{"format":"bcconnector-permset/1","tables":{},"entries":[{}]}`, "without entitySet"},
		{"long name", `{"format":"bcconnector-permset/1","tables":{"A Table Name Longer Than Thirty Chars":1},"entries":[]}`, "longer than 30"},
		{"quote in name", `{"format":"bcconnector-permset/1","tables":{"Bad \"Name\"":1},"entries":[]}`, "double quote"},
		{"conditional table", `{"format":"bcconnector-permset/1","tables":{},"entries":[{"entitySet":"a","whenWritable":[{"table":"X","grants":[]}]}]}`, `whenWritable table "X"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := parse([]byte(tt.json))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("parse error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}
