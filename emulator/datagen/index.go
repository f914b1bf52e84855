package datagen

import (
	"cmp"
	"sort"
	"strings"
	"time"

	"github.com/bizzjoiner/bcconnector/bcschema"
)

type monoKind uint8

const (
	monoString monoKind = iota // strings and dates ("YYYY-MM-DD" sorts chronologically)
	monoInt
	monoTime // DateTimeOffset, held as Unix milliseconds
)

// monoField is a field that is non-decreasing in the row index, with a getter that computes it
// without generating the row.
type monoField struct {
	kind monoKind
	guid bool // compare lower-cased (GUIDs are case-insensitive in BC URLs and filters)
	str  func(s *setState, i int) string
	num  func(s *setState, i int) int64
}

// mirrorKeyFields are fields of API query / view sets that carry the mirrored row's key.
var mirrorKeyFields = map[string]string{"customerSales": "customerId", "vendorPurchases": "vendorId", "pdfDocument": "parentId"}

// monotonic lists the set's fields that grow with the row index; TestMonotonicFields checks
// every declaration against the generated rows.
func (g *Generator) monotonic(d *setDef) map[string]*monoField {
	m := map[string]*monoField{}
	key := func(s *setState, i int) string { return s.keyAt(i) }
	if d.keyField != "" {
		f, _ := d.ent.Field(d.keyField)
		m[d.keyField] = &monoField{kind: monoString, guid: f.Type == bcschema.TypeGuid, str: key}
	}
	// Children are stored parent by parent, so a link to the parent's key grows with the child
	// index: `documentId eq X` on salesInvoiceLines is an index range too.
	if p := d.ent.Parent; p != nil && p.ParentKeyField == d.parent.keyField {
		if f, ok := d.ent.Field(p.ChildField); ok && f.Type == bcschema.TypeGuid {
			pset := p.EntitySet
			m[p.ChildField] = &monoField{kind: monoString, guid: true, str: func(s *setState, i int) string {
				parent, _ := s.parentOf(i)
				return s.c.set(pset).keyAt(parent)
			}}
		}
	}
	if kf, ok := mirrorKeyFields[d.name]; ok {
		m[kf] = &monoField{kind: monoString, guid: true, str: key}
	}
	if d.fast != nil {
		// The G/L fast path posts both entries of a pair on one date.
		m["postingDate"] = &monoField{kind: monoString, str: func(s *setState, i int) string {
			return s.c.g.dayString(glPostingDay(s, i))
		}}
	}
	for _, f := range d.ent.Fields {
		switch {
		case f.Name == "postingDate" && d.fast != nil:
		case isLastModified(f.Name) && f.Type == bcschema.TypeDateTimeOffset:
			m[f.Name] = &monoField{kind: monoTime, num: func(s *setState, i int) int64 { return s.lmAt(i) }}
		case f.Name == "postingDate" && f.Type == bcschema.TypeDate && d.line == nil:
			m[f.Name] = &monoField{kind: monoString, str: func(s *setState, i int) string { return s.c.g.dayString(s.dayAt(i)) }}
		case f.Name == "entryNumber" && isInt(f):
			m[f.Name] = &monoField{kind: monoInt, num: func(s *setState, i int) int64 { return int64(i + 1) }}
		case f.Name == "lineNumber" && isInt(f) && d.parent == nil && d.name != "documentAttachments":
			m[f.Name] = &monoField{kind: monoInt, num: func(s *setState, i int) int64 { return int64(i+1) * 10000 }}
		case f.Name == "startingDate" && d.name == "accountingPeriods":
			m[f.Name] = &monoField{kind: monoString, str: func(s *setState, i int) string {
				return epoch.AddDate(0, i, 0).Format(time.DateOnly)
			}}
		case f.Name == "number" && f.Type == bcschema.TypeString:
			switch {
			case d.series != nil:
				m[f.Name] = &monoField{kind: monoString, str: func(s *setState, i int) string { return s.num.at(i) }}
			case d.name == "accounts":
				m[f.Name] = &monoField{kind: monoString, str: func(s *setState, i int) string { return s.c.g.account(i).number }}
			case d.mirror != nil && (d.mirror.series != nil || d.mirror.name == "accounts"):
				base := d.mirror.name
				m[f.Name] = &monoField{kind: monoString, str: func(s *setState, i int) string {
					code, _ := s.c.g.label(s.c.set(base), i)
					return code
				}}
			}
		}
	}
	return m
}

// MonotonicFields returns the fields of the entity set that IndexRange accepts: fields
// non-decreasing in the row index (the key, lastModifiedDateTime, entryNumber, number,
// postingDate where it holds, a child's link to its parent such as documentId, …), sorted.
func (g *Generator) MonotonicFields(entitySet string) []string {
	d, ok := g.defs[entitySet]
	if !ok {
		return nil
	}
	out := make([]string, 0, len(d.mono))
	for f := range d.mono {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

// IndexRange returns the half-open index range [lo, hi) of the base rows of the entity set
// whose field satisfies `field op value`, in O(log n), when field is non-decreasing in the row
// index for that set (see MonotonicFields); ok is false otherwise, and for an unknown set, an
// op other than eq, gt, ge, lt, le (case-insensitive), or a value of the wrong type, in which
// case the caller scans.
//
// value is typed per the data contract: string for Edm.String and Edm.Guid (GUIDs compare
// case-insensitively), "YYYY-MM-DD" string (or time.Time) for Edm.Date, time.Time for
// Edm.DateTimeOffset (compared at full precision, so `gt 10:00:00.0005` excludes 10:00:00.000),
// int64 (or int, int32, float64) for Edm.Int32/Int64. Strings compare byte-wise, the order the
// emulator sorts ids in. Rows created or changed through the API are not base rows: the
// emulator merges its overlay on top.
func (g *Generator) IndexRange(companyID, entitySet, field, op string, value any) (lo, hi int, ok bool) {
	s := g.state(companyID, entitySet)
	if s == nil {
		return 0, 0, false
	}
	mf := s.def.mono[field]
	if mf == nil {
		return 0, 0, false
	}
	c, ok := mf.comparator(s, value)
	if !ok {
		return 0, 0, false
	}
	n := s.count()
	ge := func() int { return sort.Search(n, func(i int) bool { return c(i) >= 0 }) }
	gt := func() int { return sort.Search(n, func(i int) bool { return c(i) > 0 }) }
	switch strings.ToLower(op) {
	case "eq":
		return ge(), gt(), true
	case "gt":
		return gt(), n, true
	case "ge":
		return ge(), n, true
	case "lt":
		return 0, ge(), true
	case "le":
		return 0, gt(), true
	}
	return 0, 0, false
}

// comparator returns cmp(row i's value, value) as -1/0/+1.
func (mf *monoField) comparator(s *setState, value any) (func(i int) int, bool) {
	switch mf.kind {
	case monoString:
		var v string
		switch t := value.(type) {
		case string:
			v = t
		case time.Time:
			v = t.UTC().Format(time.DateOnly)
		default:
			return nil, false
		}
		if mf.guid {
			v = strings.ToLower(v)
		}
		return func(i int) int { return strings.Compare(mf.str(s, i), v) }, true
	case monoInt:
		switch t := value.(type) {
		case int64:
			return func(i int) int { return cmp.Compare(mf.num(s, i), t) }, true
		case int:
			return func(i int) int { return cmp.Compare(mf.num(s, i), int64(t)) }, true
		case int32:
			return func(i int) int { return cmp.Compare(mf.num(s, i), int64(t)) }, true
		case float64:
			return func(i int) int { return cmp.Compare(float64(mf.num(s, i)), t) }, true
		}
	case monoTime:
		if t, ok := value.(time.Time); ok {
			return func(i int) int { return time.UnixMilli(mf.num(s, i)).Compare(t) }, true
		}
	}
	return nil, false
}
