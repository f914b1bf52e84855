package emulator_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/emulator/datagen"
)

// TestPrewarmSameWire: pages of prewarmed sets are byte for byte the pages the emulator
// generates and encodes: all pages through nextLink, $skip, index-range filters, filters
// it must evaluate, $select, with records created, changed and deleted since the seed.
func TestPrewarmSameWire(t *testing.T) {
	t.Parallel()
	sizes, err := datagen.ParseSizes("small,generalLedgerEntries=9000")
	if err != nil {
		t.Fatal(err)
	}
	e := setup(t, emulator.Config{Sizes: sizes})
	ref := e.emu.DemoCompanyRef()
	var ids []string
	for row := range e.emu.Rows(ref, "customers") {
		ids = append(ids, row["id"].(string))
	}
	if err := e.emu.Delete(ref, "customers", ids[3]); err != nil {
		t.Fatal(err)
	}
	if _, err := e.emu.Update(ref, "customers", ids[5], map[string]any{"phoneNumber": "555-0101"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.emu.Create(ref, "customers", map[string]any{"displayName": "Prewarm test"}); err != nil {
		t.Fatal(err)
	}
	if err := e.emu.Mutate(30, emulator.MutatorConfig{EntitySets: []string{"generalLedgerEntries"}}); err != nil {
		t.Fatal(err)
	}
	c := e.companyURL()
	urls := []string{
		c + "/customers",
		c + "/customers?$skip=4",
		c + "/customers?$filter=" + esc("phoneNumber eq '555-0101'"),
		c + "/customers?$select=id,displayName",
		c + "/generalLedgerEntries",
		c + "/generalLedgerEntries?$filter=" + esc("entryNumber ge 101 and entryNumber lt 350"),
		c + "/generalLedgerEntries?$filter=" + esc("entryNumber ge 8990"),
		c + "/generalLedgerEntries?$filter=" + esc("entryNumber ge 4000 and entryNumber lt 8200"),
		c + "/generalLedgerEntries?$filter=" + esc("entryNumber ge 101 and description ne 'x'"),
		c + "/generalLedgerEntries?$count=true&$skip=7",
	}
	pages := func() map[string][]byte {
		t.Helper()
		out := map[string][]byte{}
		for _, u := range urls {
			var all [][]byte
			for next := u; next != ""; {
				size := "40"
				if strings.Contains(u, "generalLedgerEntries") {
					size = "997" // pages across the cache's chunks of 4,096 rows
				}
				r := e.get(next, "Prefer", "odata.maxpagesize="+size)
				if r.status != 200 {
					t.Fatalf("GET %s: %d %s", next, r.status, r.body)
				}
				all = append(all, r.body)
				var p struct {
					Next string `json:"@odata.nextLink"`
				}
				_ = json.Unmarshal(r.body, &p)
				next = p.Next
			}
			out[u] = bytes.Join(all, []byte("\n"))
		}
		return out
	}
	before := pages()
	if err := e.emu.Prewarm(ref, "customers", "generalLedgerEntries"); err != nil {
		t.Fatal(err)
	}
	after := pages()
	for _, u := range urls {
		if !bytes.Equal(before[u], after[u]) {
			t.Errorf("GET %s differs once prewarmed:\n%s\nwant\n%s", u, after[u], before[u])
		}
	}
	if len(before[urls[4]]) < 9000*100 {
		t.Errorf("the G/L pages hold %d bytes, fewer than 9,000 entries", len(before[urls[4]]))
	}
	if err := e.emu.Prewarm(ref, "salesOrderLines"); err == nil {
		t.Error("prewarming a line set: no error")
	}
}
