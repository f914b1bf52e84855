package api_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/bizzjoiner/bcconnector/bcschema"
)

// TestSchema: GET /connections/{id}/schema lists every API the app sees with its sets,
// keys, fields and EDM types (an extension field marked), the names to pick, and the
// schema version of a replicated custom set; picking a custom set syncs it.
func TestSchema(t *testing.T) {
	t.Parallel()
	e := setup(t)
	id := e.createConn("Schema")
	if err := e.emu.AddExtensionField("customers", bcschema.Field{Name: "loyaltyTier", Type: bcschema.TypeString}); err != nil {
		t.Fatal(err)
	}
	e.do("POST", "/connections/"+id+"/sync", e.token, map[string]any{"entities": []string{"contoso/warehouse/v1.0/binContents"}}, 202, nil)
	e.waitRows(id, "contoso__warehouse__v1_0__binContents")

	type field struct {
		Name, Type string
		Extension  bool
	}
	var doc struct {
		APIs []struct {
			Route      string
			EntitySets []struct {
				Name         string
				Key          []string
				LastModified bool
				Fields       []field
				Pick         string
				Replicas     []struct {
					Replica string
					Version int
				}
			}
		}
	}
	e.do("GET", "/connections/"+id+"/schema", e.token, nil, 200, &doc)
	var routes []string
	found := map[string]bool{}
	for _, a := range doc.APIs {
		routes = append(routes, a.Route)
		for _, s := range a.EntitySets {
			switch a.Route + " " + s.Name {
			case "v2.0 customers":
				found["customers"] = true
				if f := s.Fields[len(s.Fields)-1]; f.Name != "loyaltyTier" || !f.Extension || f.Type != "Edm.String" {
					t.Errorf("customers' last field %+v", f)
				}
				if s.Pick != "customers" {
					t.Errorf("customers pick %q", s.Pick)
				}
			case "fabrikam/pricing/v2.0 priceListLines":
				found["priceListLines"] = true
				if !slices.Equal(s.Key, []string{"priceListCode", "lineNumber"}) || s.Pick != "fabrikam/pricing/v2.0/priceListLines" {
					t.Errorf("priceListLines %+v", s)
				}
			case "contoso/warehouse/v1.0 binContents":
				found["binContents"] = true
				if s.LastModified || len(s.Replicas) != 1 || s.Replicas[0].Version != 1 || s.Replicas[0].Replica != "contoso__warehouse__v1_0__binContents" {
					t.Errorf("binContents %+v", s)
				}
			}
		}
	}
	if !slices.Equal(routes, []string{"v2.0", "contoso/inventory/v1.0", "contoso/warehouse/v1.0", "fabrikam/pricing/v2.0"}) || len(found) != 3 {
		t.Fatalf("routes %v, found %v", routes, found)
	}
	e.do("POST", "/connections/"+id+"/sync", e.token, map[string]any{"entities": []string{"con-toso/x/v1.0/y"}}, 400, nil)
	tok := e.newToken("other", []string{"nothing"})
	if st, _, body := e.call("GET", "/connections/"+id+"/schema", tok, nil); st != 404 {
		t.Errorf("another connection's token: %d %s", st, body)
	}
}

// TestRecordsOfDiscoveredSets: the records API reads what schema discovery replicates:
// a custom API set by its replica name (filters on its own fields, one record by id or
// by a composite key's predicate, the data browser's order by its key), a standard set
// with the fields a table extension added (filterable, in the JSON); an unknown set is a
// 404 naming it, a field the set does not have a 400 naming it.
func TestRecordsOfDiscoveredSets(t *testing.T) {
	t.Parallel()
	e := setup(t)
	id := e.createConn("Discovered")
	if err := e.emu.AddExtensionField("customers", bcschema.Field{Name: "loyaltyTier", Type: bcschema.TypeString}); err != nil {
		t.Fatal(err)
	}
	ref := e.sb.Company()
	var gold string
	for row := range e.emu.Rows(ref, "customers") {
		gold = row["id"].(string)
		break
	}
	if _, err := e.emu.Update(ref, "customers", gold, map[string]any{"loyaltyTier": "Gold"}); err != nil {
		t.Fatal(err)
	}
	const bins, prices = "contoso__warehouse__v1_0__binContents", "fabrikam__pricing__v2_0__priceListLines"
	e.do("POST", "/connections/"+id+"/sync", e.token, map[string]any{"entities": []string{"customers", "contoso/warehouse/v1.0/binContents", "fabrikam/pricing/v2.0/priceListLines"}}, 202, nil)
	for _, set := range []string{"customers", bins, prices} {
		e.waitRows(id, set)
	}

	type page struct {
		Records    []map[string]any
		NextCursor string
	}
	var p page
	e.do("GET", "/connections/"+id+"/entities/customers/records?filter="+url.QueryEscape("loyaltyTier eq 'Gold'"), e.token, nil, 200, &p)
	if len(p.Records) != 1 || p.Records[0]["id"] != gold || p.Records[0]["loyaltyTier"] != "Gold" {
		t.Fatalf("customers by the extension field: %+v", p.Records)
	}

	var want int
	for range e.emu.Rows(ref, "binContents") {
		want++
	}
	e.do("GET", "/connections/"+id+"/entities/"+bins+"/records?limit=1000", e.token, nil, 200, &p)
	if len(p.Records) != want || want == 0 {
		t.Fatalf("%d bin contents, BC has %d", len(p.Records), want)
	}
	bin := p.Records[0]
	e.do("GET", "/connections/"+id+"/entities/"+bins+"/records?filter="+url.QueryEscape(fmt.Sprintf("binCode eq '%s'", bin["binCode"])), e.token, nil, 200, &p)
	if len(p.Records) == 0 || !slices.ContainsFunc(p.Records, func(r map[string]any) bool { return r["id"] == bin["id"] }) {
		t.Fatalf("bin contents by binCode %v: %+v", bin["binCode"], p.Records)
	}
	var one map[string]any
	e.do("GET", "/connections/"+id+"/entities/"+bins+"/records/"+bin["id"].(string), e.token, nil, 200, &one)
	if one["binCode"] != bin["binCode"] {
		t.Fatalf("one bin content: %+v", one)
	}
	e.do("GET", "/connections/"+id+"/entities/"+prices+"/records/"+url.PathEscape("priceListCode='P00001',lineNumber=10000"), e.token, nil, 200, &one)
	if one["priceListCode"] != "P00001" || one["lineNumber"] != float64(10000) {
		t.Fatalf("a price line by its composite key: %+v", one)
	}

	// The data browser lists a composite-keyed set in its key's order.
	bp, err := e.svc.Browse(t.Context(), id, "", prices, "", "", 1000)
	if err != nil || bp.OrderBy != "priceListCode" || len(bp.Records) == 0 {
		t.Fatalf("browse price lines: order %q, %d records, %v", bp.OrderBy, len(bp.Records), err)
	}
	last := ""
	for _, raw := range bp.Records {
		var r map[string]any
		if err := json.Unmarshal(raw, &r); err != nil {
			t.Fatal(err)
		}
		if code := r["priceListCode"].(string); code < last {
			t.Fatalf("browse order: %s after %s", code, last)
		} else {
			last = code
		}
	}

	for path, want := range map[string]string{
		"/entities/contoso__nope__v1_0__things/records":                                     "contoso__nope__v1_0__things",
		"/entities/noSuchSet/records":                                                       "noSuchSet",
		"/entities/" + bins + "/records?filter=" + url.QueryEscape("loyaltyTier eq 'Gold'"): "loyaltyTier",
	} {
		st, _, body := e.call("GET", "/connections/"+id+path, e.token, nil)
		if (st != 404 && st != 400) || !strings.Contains(string(body), want) {
			t.Errorf("GET %s: %d %s; want 404 or 400 naming %s", path, st, body, want)
		}
	}
}
