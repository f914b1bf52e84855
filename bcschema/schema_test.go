package bcschema

import (
	"slices"
	"testing"
)

func TestLoad(t *testing.T) {
	s, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if got := len(s.Entities); got != 90 {
		t.Errorf("entity sets = %d, want 90", got)
	}
	inv, ok := s.EntitySet("salesInvoices")
	if !ok {
		t.Fatal("salesInvoices missing")
	}
	if !inv.HasAction("post") || !inv.Allows("PATCH") || !inv.Webhooks {
		t.Errorf("salesInvoices: actions/ops/webhooks not as in the schema: %+v", inv.Operations)
	}
	lines, _ := s.EntitySet("salesInvoiceLines")
	if lines.Parent == nil || lines.Parent.ChildField != "documentId" || lines.HasLastModified() {
		t.Errorf("salesInvoiceLines parent = %+v", lines.Parent)
	}
	gl, _ := s.EntitySet("generalLedgerEntries")
	if gl.Allows("POST") {
		t.Error("generalLedgerEntries must be read-only")
	}
	f, ok := gl.Field("documentType")
	if !ok || !f.IsEnum() || f.EnumValues[0] != "_x0020_" {
		t.Errorf("documentType enum = %+v", f)
	}
	if kids := s.Children(inv); len(kids) != 1 || kids[0].EntitySet != "salesInvoiceLines" {
		t.Errorf("children of salesInvoices = %v", kids)
	}
}

func TestParseRejectsUnknownFormat(t *testing.T) {
	if _, err := Parse([]byte(`{"schemaFormat":"other"}`)); err == nil {
		t.Fatal("want error for unknown schemaFormat")
	}
	if _, err := Parse([]byte(`{`)); err == nil {
		t.Fatal("want error for malformed JSON")
	}
}

func TestReplicated(t *testing.T) {
	t.Parallel()
	s := MustLoad()
	for _, tc := range []struct {
		in, want []string
	}{
		{[]string{"customers"}, []string{"customers"}},
		{[]string{"items"}, []string{"items", "itemVariants"}},
		{[]string{"salesInvoiceLines"}, []string{"salesInvoices", "salesInvoiceLines"}},
		{[]string{"salesInvoiceLines", "salesInvoices", "employees"}, []string{"salesInvoices", "salesInvoiceLines", "employees", "timeRegistrationEntries"}},
		{[]string{"noSuchSet", "contoso/app/v1.0/things"}, []string{"noSuchSet", "contoso/app/v1.0/things"}},
		{nil, []string{}},
	} {
		if got := s.Replicated(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("Replicated(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestNaturalKey(t *testing.T) {
	s := MustLoad()
	for set, want := range map[string]string{
		"customers": "number", "salesInvoices": "number", "generalLedgerEntries": "entryNumber", "itemLedgerEntries": "entryNumber",
		"currencies": "code", "itemVariants": "code", "companies": "displayName", "salesInvoiceLines": "sequence",
		"journalLines": "lineNumber", "applyVendorEntries": "postingDate", "subscriptions": "",
	} {
		e, ok := s.EntitySet(set)
		if !ok {
			t.Fatalf("no entity set %s", set)
		}
		if got := e.NaturalKey(); got != want {
			t.Errorf("%s: natural key %q, want %q", set, got, want)
		}
	}
}
