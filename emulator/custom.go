package emulator

import (
	"fmt"
	"sort"
	"time"

	"github.com/bizzjoiner/bcconnector/bcschema"
	"github.com/bizzjoiner/bcconnector/emulator/odata"
)

// customAPI is an API page extension installed in the tenant, routed at
// /api/{publisher}/{group}/{version} (bc-entra-facts §4.1).
type customAPI struct {
	publisher, group, version string
	entities                  []*bcschema.Entity
}

// sampleCustomAPI is the custom API every emulated environment has:
// /api/contoso/inventory/v1.0/companies({id})/inventoryLevels, with SystemRowVersion
// exposed as custom APIs may do (§8).
var sampleCustomAPI = &customAPI{
	publisher: "contoso", group: "inventory", version: "v1.0",
	entities: []*bcschema.Entity{mustIndex(&bcschema.Entity{
		EntitySet: "inventoryLevels", Entity: "inventoryLevel", Caption: "Inventory Level",
		Key: []string{"id"}, Scope: "company", Operations: []string{"GET", "POST", "PATCH", "DELETE"},
		Webhooks: true,
		Fields: []*bcschema.Field{
			{Name: "id", Type: bcschema.TypeGuid, ReadOnly: true},
			{Name: "itemNumber", Type: bcschema.TypeString, MaxLength: 20},
			{Name: "locationCode", Type: bcschema.TypeString, MaxLength: 10},
			{Name: "quantity", Type: bcschema.TypeDecimal},
			{Name: "systemRowVersion", Type: bcschema.TypeInt64, ReadOnly: true},
			{Name: "lastModifiedDateTime", Type: bcschema.TypeDateTimeOffset, ReadOnly: true},
		},
		AL: bcschema.ALObject{SourceTable: "Item"},
	})},
}

// prefix is the API's path below the environment, e.g. "api/contoso/inventory/v1.0".
func (a *customAPI) prefix() string {
	return "api/" + a.publisher + "/" + a.group + "/" + a.version
}

func (e *Emulator) customAPI(publisher, group, version string) *customAPI {
	a := sampleCustomAPI
	if a.publisher == publisher && a.group == group && a.version == version {
		return a
	}
	return nil
}

// inventorySource generates inventoryLevels rows: one per item and location.
type inventorySource struct {
	seed    int64
	company string
	n       int
}

var locations = []string{"MAIN", "EAST", "WEST"}

func (s *inventorySource) Count() int { return s.n }

func (s *inventorySource) id(i int) string {
	return fmt.Sprintf("%08x-%s", 0x10000000+i*0x1000, seededGUID(s.seed, s.company+"/inv/"+fmt.Sprint(i))[9:])
}

func (s *inventorySource) Row(i int) map[string]any {
	return map[string]any{
		"id":                   s.id(i),
		"itemNumber":           fmt.Sprintf("1%03d-W", i/len(locations)+100),
		"locationCode":         locations[i%len(locations)],
		"quantity":             float64((i*37 + 11) % 500),
		"systemRowVersion":     int64(1000 + i),
		"lastModifiedDateTime": time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Hour),
	}
}

func (s *inventorySource) IndexRange(field, op string, value any) (int, int, bool) {
	var key func(i int) any
	switch field {
	case "id":
		key = func(i int) any { return s.id(i) }
	case "systemRowVersion":
		key = func(i int) any { return int64(1000 + i) }
	case "lastModifiedDateTime":
		key = func(i int) any { return s.Row(i)["lastModifiedDateTime"] }
	default:
		return 0, 0, false
	}
	return monotonicRange(s.n, key, op, value)
}

// monotonicRange finds the index range where key(i) op value holds, for key
// non-decreasing in i.
func monotonicRange(n int, key func(int) any, op string, value any) (int, int, bool) {
	first := func(pred func(c int) bool) int {
		return sort.Search(n, func(i int) bool { return pred(odata.Compare(key(i), value)) })
	}
	ge := first(func(c int) bool { return c >= 0 })
	gt := first(func(c int) bool { return c > 0 })
	switch op {
	case "eq":
		return ge, gt, true
	case "gt":
		return gt, n, true
	case "ge":
		return ge, n, true
	case "lt":
		return 0, ge, true
	case "le":
		return 0, gt, true
	}
	return 0, 0, false
}

// customSource returns the base rows of a custom API entity set, or nil for standard sets.
func customSource(e *Emulator, c *company, ent *bcschema.Entity) baseSource {
	if ent.EntitySet == "inventoryLevels" && ent == sampleCustomAPI.entities[0] {
		items := e.gen.Count(c.ID, "items")
		return &inventorySource{seed: e.cfg.Seed, company: c.ID, n: items * len(locations)}
	}
	return nil
}

// Monotonic reports the fields IndexRange can answer; all grow with the index.
func (s *inventorySource) Monotonic(field string) bool {
	return field == "id" || field == "systemRowVersion" || field == "lastModifiedDateTime"
}
