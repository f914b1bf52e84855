package api_test

import (
	"slices"
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
