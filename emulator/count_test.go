package emulator_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/bizzjoiner/bcconnector/emulator"
)

// TestCountFollowsListing: /$count of a line set without its document is refused with the
// same status and error as listing it, and answers with its document; CountBOM puts BC's
// UTF-8 byte order mark before the number (bc-entra-facts §4.2).
func TestCountFollowsListing(t *testing.T) {
	t.Parallel()
	for _, bom := range []bool{false, true} {
		t.Run(fmt.Sprintf("bom=%v", bom), func(t *testing.T) {
			t.Parallel()
			e := setup(t, emulator.Config{CountBOM: bom})
			c := e.companyURL()
			list, count := e.get(c+"/salesOrderLines"), e.get(c+"/salesOrderLines/$count")
			if list.status != 400 || count.status != list.status {
				t.Fatalf("lines without a document: list %d %s, /$count %d %s", list.status, list.body, count.status, count.body)
			}
			var le, ce struct {
				Error struct{ Code, Message string }
			}
			_ = json.Unmarshal(list.body, &le)
			_ = json.Unmarshal(count.body, &ce)
			if le.Error.Code == "" || ce.Error.Code != le.Error.Code || trimCorrelation(ce.Error.Message) != trimCorrelation(le.Error.Message) {
				t.Errorf("/$count error %+v, listing's %+v", ce.Error, le.Error)
			}

			ref := e.emu.DemoCompanyRef()
			var doc string
			for row := range e.emu.Rows(ref, "salesOrders") {
				doc = row["id"].(string)
				break
			}
			want := 0
			for row := range e.emu.Rows(ref, "salesOrderLines") {
				if row["documentId"] == doc {
					want++
				}
			}
			prefix := ""
			if bom {
				prefix = "\ufeff"
			}
			for _, u := range []string{
				c + "/salesOrderLines/$count?$filter=" + esc("documentId eq "+doc),
				c + "/salesOrders(" + doc + ")/salesOrderLines/$count",
			} {
				r := e.get(u)
				if r.status != 200 || string(r.body) != prefix+fmt.Sprint(want) {
					t.Errorf("GET %s: %d %q, want %q", u, r.status, r.body, prefix+fmt.Sprint(want))
				}
			}
			if r := e.get(c + "/customers/$count"); string(r.body) != prefix+fmt.Sprint(e.emu.Count(ref, "customers")) {
				t.Errorf("customers/$count = %q", r.body)
			}
		})
	}
}

// trimCorrelation drops BC's "  CorrelationId:  …." suffix, which differs per request.
func trimCorrelation(msg string) string {
	before, _, _ := strings.Cut(msg, "  CorrelationId:")
	return before
}

// TestCountWithOverlay: a whole set's count, which the emulator works out without
// generating its rows ($count=true and /$count without a filter), is the number of rows a
// listing returns after records were created, changed and deleted; with a filter it is
// counted row by row, and both agree with the listing.
func TestCountWithOverlay(t *testing.T) {
	t.Parallel()
	e := setup(t, emulator.Config{})
	ref := e.emu.DemoCompanyRef()
	var ids []string
	for row := range e.emu.Rows(ref, "customers") {
		ids = append(ids, row["id"].(string))
	}
	if len(ids) < 3 {
		t.Fatalf("%d customers in the seed", len(ids))
	}
	if err := e.emu.Delete(ref, "customers", ids[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := e.emu.Update(ref, "customers", ids[1], map[string]any{"phoneNumber": "555-0100"}); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if _, err := e.emu.Create(ref, "customers", map[string]any{"displayName": fmt.Sprintf("Count test %d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	listed := 0
	for range e.emu.Rows(ref, "customers") {
		listed++
	}
	if want := len(ids) + 1; listed != want {
		t.Fatalf("the listing has %d customers, want %d (one deleted, two created)", listed, want)
	}
	c := e.companyURL()
	if r := e.get(c + "/customers/$count"); r.status != 200 || string(r.body) != fmt.Sprint(listed) {
		t.Errorf("customers/$count = %d %q, want %d", r.status, r.body, listed)
	}
	var page struct {
		Count int `json:"@odata.count"`
	}
	r := e.get(c + "/customers?$count=true&$top=1")
	if err := json.Unmarshal(r.body, &page); err != nil || page.Count != listed {
		t.Errorf("customers?$count=true: %d %s, want @odata.count %d", r.status, r.body, listed)
	}
	// With a filter every row is looked at: the updated one matches, the deleted one not.
	for _, f := range []string{"phoneNumber eq '555-0100'", "id eq " + ids[0]} {
		want := 0
		if strings.HasPrefix(f, "phoneNumber") {
			want = 1
		}
		if r := e.get(c + "/customers/$count?$filter=" + esc(f)); string(r.body) != fmt.Sprint(want) {
			t.Errorf("customers/$count?$filter=%s = %d %q, want %d", f, r.status, r.body, want)
		}
	}
}

// TestIndexRangePage: a page of an entryNumber range, which the emulator serves from the
// index without evaluating the filter on its generated rows, holds exactly what the same
// filter evaluated row by row holds (one more condition makes it so), including G/L
// entries posted later, which live outside the generated rows.
func TestIndexRangePage(t *testing.T) {
	t.Parallel()
	e := setup(t, emulator.Config{})
	if err := e.emu.Mutate(40, emulator.MutatorConfig{EntitySets: []string{"generalLedgerEntries"}}); err != nil {
		t.Fatal(err)
	}
	total := e.emu.Count(e.emu.DemoCompanyRef(), "generalLedgerEntries")
	c := e.companyURL() + "/generalLedgerEntries?$select=id,entryNumber&$filter="
	ids := func(filter string) []string {
		t.Helper()
		var page struct {
			Value []struct {
				ID          string `json:"id"`
				EntryNumber int64  `json:"entryNumber"`
			} `json:"value"`
		}
		r := e.get(c + esc(filter))
		if err := json.Unmarshal(r.body, &page); r.status != 200 || err != nil {
			t.Fatalf("%s: %d %s", filter, r.status, r.body)
		}
		var out []string
		for _, v := range page.Value {
			out = append(out, fmt.Sprint(v.EntryNumber, " ", v.ID))
		}
		return out
	}
	for _, f := range []string{
		"entryNumber ge 11 and entryNumber lt 31",
		fmt.Sprintf("entryNumber ge %d", total-30),
		"entryNumber gt 5 and entryNumber le 6",
	} {
		exact, evaluated := ids(f), ids(f+" and description ne 'no such description'")
		if len(exact) == 0 || strings.Join(exact, ",") != strings.Join(evaluated, ",") {
			t.Errorf("%s: %d rows from the index range, %d evaluated:\n%v\n%v", f, len(exact), len(evaluated), exact, evaluated)
		}
	}
}
