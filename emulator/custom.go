package emulator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
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

// warehouseAPI is a custom API without lastModifiedDateTime: a client can only find its
// changes by comparing ids and ETags (§8).
var warehouseAPI = &customAPI{
	publisher: "contoso", group: "warehouse", version: "v1.0",
	entities: []*bcschema.Entity{mustIndex(&bcschema.Entity{
		EntitySet: "binContents", Entity: "binContent", Caption: "Bin Content",
		Key: []string{"id"}, Scope: "company", Operations: []string{"GET", "POST", "PATCH", "DELETE"},
		Fields: []*bcschema.Field{
			{Name: "id", Type: bcschema.TypeGuid, ReadOnly: true},
			{Name: "binCode", Type: bcschema.TypeString, MaxLength: 20},
			{Name: "itemNumber", Type: bcschema.TypeString, MaxLength: 20},
			{Name: "quantity", Type: bcschema.TypeDecimal},
		},
		AL: bcschema.ALObject{SourceTable: "Bin Content"},
	})},
}

// pricingAPI is a custom API page with composite ODataKeyFields (price list code, line
// number), so no webhooks (§7.5). Its records also carry the SystemId as "id", which the
// emulator orders pages and addresses writes by.
var pricingAPI = &customAPI{
	publisher: "fabrikam", group: "pricing", version: "v2.0",
	entities: []*bcschema.Entity{mustIndex(&bcschema.Entity{
		EntitySet: "priceListLines", Entity: "priceListLine", Caption: "Price List Line",
		Key: []string{"priceListCode", "lineNumber"}, Scope: "company", Operations: []string{"GET", "POST", "PATCH", "DELETE"},
		Fields: []*bcschema.Field{
			{Name: "priceListCode", Type: bcschema.TypeString, MaxLength: 20},
			{Name: "lineNumber", Type: bcschema.TypeInt32},
			{Name: "id", Type: bcschema.TypeGuid, ReadOnly: true},
			{Name: "itemNumber", Type: bcschema.TypeString, MaxLength: 20},
			{Name: "unitPrice", Type: bcschema.TypeDecimal},
			{Name: "lastModifiedDateTime", Type: bcschema.TypeDateTimeOffset, ReadOnly: true},
		},
		AL: bcschema.ALObject{SourceTable: "Price List Line"},
	})},
}

// customAPIs are the custom APIs every emulated environment has, in route order.
var customAPIs = []*customAPI{sampleCustomAPI, warehouseAPI, pricingAPI}

// prefix is the API's path below the environment, e.g. "api/contoso/inventory/v1.0".
func (a *customAPI) prefix() string {
	return "api/" + a.publisher + "/" + a.group + "/" + a.version
}

func (e *Emulator) customAPI(publisher, group, version string) *customAPI {
	for _, a := range customAPIs {
		if a.publisher == publisher && a.group == group && a.version == version {
			return a
		}
	}
	return nil
}

// customEntity finds a custom API's entity set by name, and its API.
func customEntity(set string) (*bcschema.Entity, *customAPI) {
	for _, a := range customAPIs {
		for _, ent := range a.entities {
			if ent.EntitySet == set {
				return ent, a
			}
		}
	}
	return nil, nil
}

// routeEntry is one entry of apicategoryroutes.
type routeEntry struct {
	Route     string `json:"route"`
	Publisher string `json:"publisher"`
	Group     string `json:"group"`
	Version   string `json:"version"`
}

// serveRoutes lists the environment's API routes: GET …/api/v2.0/apicategoryroutes. The
// endpoint's place and fields follow the apicategoryroutes resource page; the facts file
// has no entry for it (§4.1 lists the route shapes only), so the shape is UNCONFIRMED.
func (e *Emulator) serveRoutes(w http.ResponseWriter, rc *requestContext) {
	routes := []routeEntry{
		{Route: "v2.0", Version: "v2.0"},
		{Route: "microsoft/automation/v2.0", Publisher: "microsoft", Group: "automation", Version: "v2.0"},
	}
	for _, a := range customAPIs {
		routes = append(routes, routeEntry{Route: a.publisher + "/" + a.group + "/" + a.version, Publisher: a.publisher, Group: a.group, Version: a.version})
	}
	body, err := json.Marshal(struct {
		Context string       `json:"@odata.context"`
		Value   []routeEntry `json:"value"`
	}{rc.baseURL + "/$metadata#apicategoryroutes", routes})
	if err != nil {
		writeError(w, errf(http.StatusInternalServerError, codeServerError, "%v", err))
		return
	}
	writeJSONHeaders(w)
	_, _ = w.Write(body)
}

// AddExtensionField adds a field to a standard entity set, as installing a table
// extension that the API page shows would: from now on $metadata lists it and every
// record carries it (blank until written; writes may set it). It fails for an unknown
// set, a name the set has, a name that is not an identifier, or a type other than
// Edm.String, Edm.Int32, Edm.Int64, Edm.Decimal, Edm.Boolean, Edm.Date,
// Edm.DateTimeOffset, Edm.Guid.
func (e *Emulator) AddExtensionField(entitySet string, f bcschema.Field) error {
	switch f.Type {
	case bcschema.TypeString, bcschema.TypeInt32, bcschema.TypeInt64, bcschema.TypeDecimal, bcschema.TypeBoolean,
		bcschema.TypeDate, bcschema.TypeDateTimeOffset, bcschema.TypeGuid:
	default:
		return fmt.Errorf("emulator: extension field %q: type %q is not one of Edm.String, Edm.Int32, Edm.Int64, Edm.Decimal, Edm.Boolean, Edm.Date, Edm.DateTimeOffset, Edm.Guid", f.Name, f.Type)
	}
	if !isFieldName(f.Name) {
		return fmt.Errorf("emulator: extension field name %q must be letters, digits and underscores, starting with a letter", f.Name)
	}
	return e.changeEntity(entitySet, func(ent *bcschema.Entity) error {
		if _, ok := ent.Field(f.Name); ok {
			return fmt.Errorf("emulator: entity set %s already has a field %q", entitySet, f.Name)
		}
		nf := f
		ent.Fields = append(ent.Fields, &nf)
		return nil
	})
}

// RemoveExtensionField removes a field AddExtensionField added, as uninstalling the
// extension would: $metadata and records no longer carry it.
func (e *Emulator) RemoveExtensionField(entitySet, name string) error {
	base, ok := bcschema.MustLoad().EntitySet(entitySet)
	if ok {
		if _, static := base.Field(name); static {
			return fmt.Errorf("emulator: %s.%s is a field of API v2.0, not an extension field", entitySet, name)
		}
	}
	return e.changeEntity(entitySet, func(ent *bcschema.Entity) error {
		i := slices.IndexFunc(ent.Fields, func(f *bcschema.Field) bool { return f.Name == name })
		if i < 0 {
			return fmt.Errorf("emulator: entity set %s has no extension field %q", entitySet, name)
		}
		ent.Fields = slices.Delete(slices.Clone(ent.Fields), i, i+1)
		return nil
	})
}

// changeEntity replaces the schema with a copy in which one entity set is changed by fn.
// Requests in flight keep the schema they started with.
func (e *Emulator) changeEntity(entitySet string, fn func(*bcschema.Entity) error) error {
	e.extMu.Lock()
	defer e.extMu.Unlock()
	old := e.sch()
	cur, ok := old.EntitySet(entitySet)
	if !ok {
		return fmt.Errorf("emulator: API v2.0 has no entity set %q", entitySet)
	}
	clone := *cur
	clone.Fields = slices.Clone(cur.Fields)
	if err := fn(&clone); err != nil {
		return err
	}
	ents := slices.Clone(old.Entities)
	for i, ent := range ents {
		if ent == cur {
			ents[i] = &clone
		}
	}
	next, err := bcschema.FromEntities(ents)
	if err != nil {
		return err
	}
	next.APIVersion, next.Enums, next.WebhookSupportedEntitySets = old.APIVersion, old.Enums, old.WebhookSupportedEntitySets
	e.schemaP.Store(next)
	return nil
}

// sch is the API v2.0 schema now.
func (e *Emulator) sch() *bcschema.Schema { return e.schemaP.Load() }

func isFieldName(s string) bool {
	if s == "" || len(s) > 100 {
		return false
	}
	for i, c := range s {
		if !(c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9') {
			return false
		}
	}
	return true
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
	switch {
	case ent == sampleCustomAPI.entities[0]:
		items := e.gen.Count(c.ID, "items")
		return &inventorySource{seed: e.cfg.Seed, company: c.ID, n: items * len(locations)}
	case ent == warehouseAPI.entities[0]:
		return &binSource{seed: e.cfg.Seed, company: c.ID, n: e.gen.Count(c.ID, "items")}
	case ent == pricingAPI.entities[0]:
		return &priceLineSource{seed: e.cfg.Seed, company: c.ID, n: 3 * priceLinesPerList}
	}
	return nil
}

// binSource generates binContents rows: one per item, no timestamp.
type binSource struct {
	seed    int64
	company string
	n       int
}

func (s *binSource) Count() int { return s.n }

func (s *binSource) id(i int) string {
	return fmt.Sprintf("%08x-%s", 0x20000000+i*0x1000, seededGUID(s.seed, s.company+"/bin/"+fmt.Sprint(i))[9:])
}

func (s *binSource) Row(i int) map[string]any {
	return map[string]any{
		"id":         s.id(i),
		"binCode":    fmt.Sprintf("BIN-%02d", i%12),
		"itemNumber": fmt.Sprintf("1%03d-W", i+100),
		"quantity":   float64((i*53 + 7) % 200),
	}
}

func (s *binSource) IndexRange(field, op string, value any) (int, int, bool) {
	if field != "id" {
		return 0, 0, false
	}
	return monotonicRange(s.n, func(i int) any { return s.id(i) }, op, value)
}

// Monotonic reports the fields IndexRange can answer.
func (s *binSource) Monotonic(field string) bool { return field == "id" }

// priceLinesPerList is how many lines each of the three price lists has.
const priceLinesPerList = 10

// priceLineSource generates priceListLines rows: three lists of priceLinesPerList lines.
type priceLineSource struct {
	seed    int64
	company string
	n       int
}

func (s *priceLineSource) Count() int { return s.n }

func (s *priceLineSource) id(i int) string {
	return fmt.Sprintf("%08x-%s", 0x30000000+i*0x1000, seededGUID(s.seed, s.company+"/price/"+fmt.Sprint(i))[9:])
}

func (s *priceLineSource) Row(i int) map[string]any {
	return map[string]any{
		"priceListCode":        fmt.Sprintf("P%05d", i/priceLinesPerList+1),
		"lineNumber":           int64((i%priceLinesPerList + 1) * 10000),
		"id":                   s.id(i),
		"itemNumber":           fmt.Sprintf("1%03d-W", i+100),
		"unitPrice":            float64(10+i*3) + 0.5,
		"lastModifiedDateTime": time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Hour),
	}
}

func (s *priceLineSource) IndexRange(field, op string, value any) (int, int, bool) {
	switch field {
	case "id":
		return monotonicRange(s.n, func(i int) any { return s.id(i) }, op, value)
	case "lastModifiedDateTime":
		return monotonicRange(s.n, func(i int) any { return s.Row(i)["lastModifiedDateTime"] }, op, value)
	}
	return 0, 0, false
}

// Monotonic reports the fields IndexRange can answer.
func (s *priceLineSource) Monotonic(field string) bool {
	return field == "id" || field == "lastModifiedDateTime"
}

// Monotonic reports the fields IndexRange can answer; all grow with the index.
func (s *inventorySource) Monotonic(field string) bool {
	return field == "id" || field == "systemRowVersion" || field == "lastModifiedDateTime"
}
