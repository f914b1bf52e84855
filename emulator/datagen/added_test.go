package datagen

import (
	"reflect"
	"strings"
	"testing"
)

// TestAddedRecordsAreCompleteAndNew: a record a user adds has every field a seed record has,
// its name, number and key are not a seed record's, the contact fields are filled, what a new
// record cannot have yet is reset, and the same inputs give the same record.
func TestAddedRecordsAreCompleteAndNew(t *testing.T) {
	t.Parallel()
	g := New(7, nil)
	filled := map[string][]string{
		"customers": {"displayName", "number", "addressLine1", "city", "postalCode", "country", "phoneNumber", "email"},
		"vendors":   {"displayName", "number", "addressLine1", "city", "postalCode", "country", "phoneNumber", "email"},
		"items":     {"displayName", "number", "baseUnitOfMeasureCode", "generalProductPostingGroupCode", "taxGroupCode"},
		"contacts":  {"displayName", "number", "addressLine1", "city", "phoneNumber", "email"},
		"employees": {"displayName", "givenName", "surname", "number", "addressLine1", "city", "phoneNumber", "email", "jobTitle"},
	}
	for set, fields := range filled {
		seed := map[string]bool{}
		n := g.Count(testCompany, set)
		first := g.Row(testCompany, set, 0)
		for i := 0; i < n; i++ {
			r := g.Row(testCompany, set, i)
			seed[r["id"].(string)], seed[r["number"].(string)] = true, true
			if set != "contacts" && set != "employees" { // people may share a name
				seed[r["displayName"].(string)] = true
			}
		}
		for k := 0; k < 40; k++ {
			row, ok := g.Added(testCompany, set, k)
			if !ok {
				t.Fatalf("Added(%s, %d) not ok", set, k)
			}
			if len(row) != len(first) {
				t.Errorf("%s added %d: %d fields, a seed row has %d", set, k, len(row), len(first))
			}
			for _, f := range fields {
				if s, _ := row[f].(string); strings.TrimSpace(s) == "" {
					t.Errorf("%s added %d: %s is empty: %v", set, k, f, row)
				}
			}
			for _, f := range []string{"id", "number", "displayName"} {
				if (set == "contacts" || set == "employees") && f == "displayName" {
					continue
				}
				if seed[row[f].(string)] {
					t.Errorf("%s added %d: %s %q is a seed record's (or an earlier added one's)", set, k, f, row[f])
				}
				seed[row[f].(string)] = true
			}
			for _, f := range []string{"balanceDue", "balance", "inventory"} {
				if v, has := row[f]; has && v != 0.0 {
					t.Errorf("%s added %d: %s = %v, want 0 for a new record", set, k, f, v)
				}
			}
			if st, has := row["status"]; has && st != "Active" {
				t.Errorf("%s added %d: status %v, want Active", set, k, st)
			}
			if again, _ := g.Added(testCompany, set, k); !reflect.DeepEqual(again, row) {
				t.Errorf("%s added %d differs between calls", set, k)
			}
		}
	}
	if other, _ := New(8, nil).Added(testCompany, "customers", 0); reflect.DeepEqual(other, mustAdded(t, g, "customers", 0)) {
		t.Error("another seed gave the same added customer")
	}
	for _, set := range []string{"salesOrders", "salesOrderLines", "generalLedgerEntries", "currencies", "nope"} {
		if _, ok := g.Added(testCompany, set, 0); ok {
			t.Errorf("Added(%s) ok, want false", set)
		}
	}
	if _, ok := g.Added(testCompany, "customers", -1); ok {
		t.Error("Added(customers, -1) ok")
	}
}

func mustAdded(t *testing.T, g *Generator, set string, n int) map[string]any {
	t.Helper()
	row, ok := g.Added(testCompany, set, n)
	if !ok {
		t.Fatalf("Added(%s, %d) not ok", set, n)
	}
	return row
}
