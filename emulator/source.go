package emulator

import (
	"github.com/bizzjoiner/bcconnector/bcschema"
	"github.com/bizzjoiner/bcconnector/emulator/datagen"
)

// genSource adapts the datagen generator to one (company, entity set).
type genSource struct {
	gen     *datagen.Generator
	company string
	ent     *bcschema.Entity
	schema  *bcschema.Schema
	// postedParent is set for line sets of aggregate documents: lines inherit the posted
	// flag of their header, which drives silent permission filtering.
	postedParent *bcschema.Entity
}

func (s *genSource) Count() int { return s.gen.Count(s.company, s.ent.EntitySet) }

func (s *genSource) Row(i int) map[string]any {
	row := s.gen.Row(s.company, s.ent.EntitySet, i)
	if s.postedParent != nil {
		p := s.gen.ParentIndex(s.company, s.ent.EntitySet, i)
		parent := s.gen.Row(s.company, s.postedParent.EntitySet, p)
		row[postedKey] = isPosted(s.postedParent, parent)
	}
	return row
}

// IndexRange answers monotonic fields from the generator, and the parent link of a line set
// (documentId eq X) through the parent's index, so lines of one document are found without
// scanning all lines.
func (s *genSource) IndexRange(field, op string, value any) (int, int, bool) {
	if p := s.ent.Parent; p != nil && field == p.ChildField && op == "eq" {
		plo, phi, ok := s.gen.IndexRange(s.company, p.EntitySet, p.ParentKeyField, "eq", value)
		if !ok {
			return 0, 0, false
		}
		if plo >= phi {
			return 0, 0, true
		}
		lo, hi := s.gen.ChildRange(s.company, s.ent.EntitySet, plo)
		return lo, hi, true
	}
	return s.gen.IndexRange(s.company, s.ent.EntitySet, field, op, value)
}

// newSource returns the base rows of an entity set in a company.
func (e *Emulator) newSource(c *company, ent *bcschema.Entity) baseSource {
	if ent.Scope == "root" {
		return emptySource{}
	}
	s := &genSource{gen: e.gen, company: c.ID, ent: ent, schema: e.sch()}
	if ent.Parent != nil {
		if _, ok := aggregateTables[ent.Parent.EntitySet]; ok {
			s.postedParent, _ = e.sch().EntitySet(ent.Parent.EntitySet)
		}
	}
	return s
}

// Monotonic reports whether field never decreases with the row index, so $orderby on it
// needs no sort of the whole set.
func (s *genSource) Monotonic(field string) bool {
	for _, f := range s.gen.MonotonicFields(s.ent.EntitySet) {
		if f == field {
			return true
		}
	}
	return false
}
