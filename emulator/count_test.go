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
