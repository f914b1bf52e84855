package emulator

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/bizzjoiner/bcconnector/bcschema"
	"github.com/bizzjoiner/bcconnector/emulator/odata"
)

// companyRow renders a company as the companies entity (§10.2).
func (c *company) row() map[string]any {
	return map[string]any{
		"id":                c.ID,
		"systemVersion":     "27.0.38460.41164",
		"timestamp":         c.CreatedAt.UnixMilli(),
		"name":              c.Name,
		"displayName":       c.DisplayName,
		"businessProfileId": c.BusinessProfileID,
		"systemCreatedAt":   c.CreatedAt,
		"systemCreatedBy":   bcschema.BlankGUID,
		"systemModifiedAt":  c.CreatedAt,
		"systemModifiedBy":  bcschema.BlankGUID,
		// automationCompanies fields
		"evaluationCompany": false,
	}
}

// automationCompaniesEntity is the one automation API entity set the emulator serves
// (/api/microsoft/automation/v2.0/automationCompanies; needs Automation.ReadWrite.All, §4.1).
var automationCompaniesEntity = mustIndex(&bcschema.Entity{
	EntitySet: "automationCompanies", Entity: "automationCompany", Caption: "Automation Company",
	Key: []string{"id"}, Scope: "root", Operations: []string{"GET"},
	Fields: []*bcschema.Field{
		{Name: "id", Type: bcschema.TypeGuid, ReadOnly: true},
		{Name: "name", Type: bcschema.TypeString, ReadOnly: true},
		{Name: "displayName", Type: bcschema.TypeString, ReadOnly: true},
		{Name: "evaluationCompany", Type: bcschema.TypeBoolean, ReadOnly: true},
		{Name: "businessProfileId", Type: bcschema.TypeString, ReadOnly: true},
		{Name: "systemCreatedAt", Type: bcschema.TypeDateTimeOffset, ReadOnly: true},
	},
})

// mustIndex builds the field index of an entity declared in Go.
func mustIndex(ent *bcschema.Entity) *bcschema.Entity {
	s, err := bcschema.FromEntities([]*bcschema.Entity{ent})
	if err != nil {
		panic(err)
	}
	out, _ := s.EntitySet(ent.EntitySet)
	return out
}

func (e *Emulator) companiesEntity(rc *requestContext) *bcschema.Entity {
	if rc.kind == apiAutomation {
		return automationCompaniesEntity
	}
	ent, _ := e.sch().EntitySet("companies")
	return ent
}

// listCompanies answers GET companies (with $filter, $select, $count) — the first call of
// every BC integration (§4 request flow). Companies are few: no paging.
func (e *Emulator) listCompanies(w http.ResponseWriter, r *http.Request, rc *requestContext, countOnly bool) {
	ent := e.companiesEntity(rc)
	q, aerr := e.parseListQuery(r, ent)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	var rows []map[string]any
	for _, c := range rc.env.companyList() {
		row := rc.env.companyRow(c)
		if q.filter == nil || q.filter.Match(row) {
			rows = append(rows, row)
		}
	}
	if len(q.orderBy) > 0 {
		sortRows(rows, q.orderBy)
	}
	if countOnly {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte(strconv.Itoa(len(rows))))
		return
	}
	if q.skip > 0 {
		rows = rows[min(q.skip, len(rows)):]
	}
	if q.hasTop && q.top < len(rows) {
		rows = rows[:q.top]
	}
	writeJSONHeaders(w)
	b := []byte(`{"@odata.context":`)
	b = appendString(b, rc.baseURL+"/$metadata#"+ent.EntitySet)
	if q.count {
		b = append(b, `,"@odata.count":`...)
		b = strconv.AppendInt(b, int64(len(rows)), 10)
	}
	b = append(b, `,"value":[`...)
	for i, row := range rows {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(appendRow(b, ent, row, companyETag(row), q.sel), '}')
	}
	b = append(b, "]}"...)
	_, _ = w.Write(b)
}

func (e *Emulator) getCompany(w http.ResponseWriter, r *http.Request, rc *requestContext, c *company) {
	ent := e.companiesEntity(rc)
	q, aerr := e.parseListQuery(r, ent)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	row := rc.env.companyRow(c)
	writeJSONHeaders(w)
	b := []byte(`{"@odata.context":`)
	b = appendString(b, rc.baseURL+"/$metadata#"+ent.EntitySet+"/$entity")
	b = append(b, ',')
	body := append(appendRow(nil, ent, row, companyETag(row), q.sel), '}')
	b = append(b, body[1:]...)
	_, _ = w.Write(b)
}

func companyETag(row map[string]any) string {
	return baseETag(row["id"].(string) + "/company")
}

func sortRows(rows []map[string]any, by []odata.OrderBy) {
	slices.SortStableFunc(rows, func(a, b map[string]any) int {
		for _, o := range by {
			c := odata.Compare(a[o.Field], b[o.Field])
			if o.Desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return 0
	})
}
