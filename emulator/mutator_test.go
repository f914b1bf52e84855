package emulator_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/emulator"
)

// TestMutatorChangesDocumentsWithLines: on a document set the mutator creates documents
// with lines, deletes documents, changes headers and adds, changes and deletes lines; its
// counts say so, and StopMutation stops a running mutator for good.
func TestMutatorChangesDocumentsWithLines(t *testing.T) {
	t.Parallel()
	e := setup(t, emulator.Config{})
	ref := e.emu.DemoCompanyRef()
	lines := func() map[string]string {
		out := map[string]string{}
		for row, etag := range e.emu.Rows(ref, "salesOrderLines") {
			out[row["id"].(string)] = etag
		}
		return out
	}
	before := lines()
	if err := e.emu.Mutate(300, emulator.MutatorConfig{EntitySets: []string{"salesOrders"}}); err != nil {
		t.Fatal(err)
	}
	st := e.emu.MutationStats()
	if st.Inserts == 0 || st.Updates == 0 || st.Deletes == 0 || st.Lines == 0 || st.Changes() < 200 {
		t.Fatalf("mutation stats after 300 document steps: %+v", st)
	}
	after := lines()
	var added, changed, gone int
	for id, etag := range after {
		switch old, ok := before[id]; {
		case !ok:
			added++
		case old != etag:
			changed++
		}
	}
	for id := range before {
		if _, ok := after[id]; !ok {
			gone++
		}
	}
	if added == 0 || changed == 0 || gone == 0 {
		t.Errorf("lines added %d, changed %d, deleted %d: want all three", added, changed, gone)
	}

	run := setup(t, emulator.Config{Mutation: emulator.MutatorConfig{Rate: 1000}})
	stopped := run.emu.StopMutation()
	if again := run.emu.StopMutation(); again != stopped || run.emu.MutationStats() != stopped {
		t.Errorf("changes after StopMutation: %+v then %+v", stopped, again)
	}
}

// mutationSets are the sets TestMutatorRealisticDeterministic changes.
var mutationSets = []string{"customers", "vendors", "items", "contacts", "employees", "salesOrders", "purchaseInvoices", "generalLedgerEntries"}

// dump is every record of the changed sets (and their lines) by set and id, as JSON.
func dump(t *testing.T, emu *emulator.Emulator) map[string]map[string]string {
	t.Helper()
	ref := emu.DemoCompanyRef()
	out := map[string]map[string]string{}
	for _, set := range append(slices.Clone(mutationSets), "salesOrderLines", "purchaseInvoiceLines") {
		out[set] = map[string]string{}
		for row := range emu.Rows(ref, set) {
			b, err := json.Marshal(row)
			if err != nil {
				t.Fatal(err)
			}
			out[set][row["id"].(string)] = string(b)
		}
	}
	return out
}

func newMutated(t *testing.T, seed int64, steps ...int) *emulator.Emulator {
	t.Helper()
	clock := time.Date(2026, 12, 3, 9, 30, 0, 0, time.UTC)
	emu, err := emulator.New(emulator.Config{Seed: seed, Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emu.Close() })
	for _, n := range steps {
		if err := emu.Mutate(n, emulator.MutatorConfig{EntitySets: mutationSets}); err != nil {
			t.Fatal(err)
		}
	}
	return emu
}

// TestMutatorRealisticDeterministic: the mutator's changes look like business data (new
// records as complete as the seed's, edits of phone, e-mail, address, credit limit, price,
// document references and line quantities; never "Mutated customers 429"), and follow from
// the seed: the same seed gives the same data, whether mutated in one call or two; another
// seed other data.
func TestMutatorRealisticDeterministic(t *testing.T) {
	t.Parallel()
	base := dump(t, newMutated(t, 5))
	one := newMutated(t, 5, 400)
	got := dump(t, one)
	if two := dump(t, newMutated(t, 5, 150, 250)); !reflect.DeepEqual(got, two) {
		t.Error("Mutate(400) and Mutate(150)+Mutate(250) with the same seed left different data")
	}
	if other := dump(t, newMutated(t, 6, 400)); reflect.DeepEqual(got, other) {
		t.Error("seeds 5 and 6 left the same data")
	}
	st := one.MutationStats()
	if st.Inserts == 0 || st.Updates == 0 || st.Deletes == 0 || st.Lines == 0 {
		t.Fatalf("mutation stats: %+v", st)
	}

	// Which fields a user plausibly edits, per set (lastModifiedDateTime moves with any edit;
	// a line's amounts follow its quantity).
	editable := map[string][]string{
		"customers": {"phoneNumber", "email", "addressLine1", "addressLine2", "city", "state", "postalCode", "creditLimit"},
		"vendors":   {"phoneNumber", "email", "addressLine1", "addressLine2", "city", "state", "postalCode"},
		"contacts":  {"phoneNumber", "mobilePhoneNumber", "email", "jobTitle", "addressLine1", "addressLine2", "city", "state", "postalCode"},
		"employees": {"phoneNumber", "mobilePhone", "email", "jobTitle", "addressLine1", "addressLine2", "city", "state", "postalCode"},
		"items":     {"unitPrice"},
	}
	var added, edited = map[string]int{}, map[string]int{}
	for set, rows := range got {
		for id, js := range rows {
			for _, bad := range []string{"Mutated", "Updated ", "Changed line", "EXT-"} {
				if strings.Contains(js, bad) {
					t.Errorf("%s %s holds %q: %s", set, id, bad, js)
				}
			}
			var row, was map[string]any
			_ = json.Unmarshal([]byte(js), &row)
			old, existed := base[set][id]
			if !existed {
				added[set]++
				for _, f := range []string{"displayName", "number", "addressLine1", "city", "postalCode", "phoneNumber", "email",
					"sellToAddressLine1", "sellToCity", "billToName", "buyFromAddressLine1", "buyFromCity", "payToName",
					"orderDate", "invoiceDate", "dueDate", "description", "lineObjectNumber"} {
					if v, has := row[f]; has && (strings.TrimSpace(fmt.Sprint(v)) == "" || v == "0001-01-01") {
						t.Errorf("new %s record without %s: %s", set, f, js)
					}
				}
				continue
			}
			if old == js || editable[set] == nil {
				continue
			}
			edited[set]++
			_ = json.Unmarshal([]byte(old), &was)
			for f, v := range row {
				if f == "lastModifiedDateTime" || reflect.DeepEqual(v, was[f]) {
					continue
				}
				if !slices.Contains(editable[set], f) {
					t.Errorf("%s %s: edit changed %s from %v to %v", set, id, f, was[f], v)
				}
			}
			if set == "items" {
				p0, p1 := was["unitPrice"].(float64), row["unitPrice"].(float64)
				// 2–10% per edit; an item may have been edited more than once.
				if r := p1 / p0; r < 0.7 || r > 1.45 || p1 == p0 {
					t.Errorf("item %s: price %v -> %v, want a change of a few per cent", id, p0, p1)
				}
			}
			if was["country"] != row["country"] {
				t.Errorf("%s %s moved abroad (%v -> %v): an edit keeps the country", set, id, was["country"], row["country"])
			}
		}
	}
	for _, set := range []string{"customers", "vendors", "items", "contacts", "employees", "salesOrders", "purchaseInvoices", "generalLedgerEntries"} {
		if added[set] == 0 {
			t.Errorf("no new %s records (added: %v)", set, added)
		}
	}
	for _, set := range []string{"customers", "vendors", "items", "contacts"} {
		if edited[set] == 0 {
			t.Errorf("no edited %s records (edited: %v)", set, edited)
		}
	}
}
