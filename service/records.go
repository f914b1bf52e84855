package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/bizzjoiner/bcconnector/bcschema"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/syncer"
)

// MaxRecordsLimit caps a page of Records.
const MaxRecordsLimit = 1000

// entitySet returns the schema entity of a set name, or an error naming it.
func (s *Impl) entitySet(name string) (*bcschema.Entity, error) {
	e, ok := s.schema.EntitySet(name)
	if !ok {
		return nil, fmt.Errorf("%w: %q is not an entity set of API v2.0", store.ErrNotFound, name)
	}
	return e, nil
}

// replicaEntity returns the entity to read a replicated set of a connection's company by:
// a standard set with the fields table extensions added in the connection's tenant, or a
// custom API set (its replica name, publisher__group__version__entitySet), both as the
// schema the syncer last recorded for it (store.SchemaStore). A set that is neither, or a
// custom set never synced in that company, is an error naming it.
func (s *Impl) replicaEntity(ctx context.Context, c store.Connection, companyID, name string) (*bcschema.Entity, error) {
	static, isStatic := s.schema.EntitySet(name)
	_, _, custom := syncer.CustomSet(name)
	if !isStatic && !custom {
		return nil, fmt.Errorf("%w: %q is not an entity set of API v2.0, nor a custom API set's replica (publisher__group__version__entitySet, as the change feed names it)", store.ErrNotFound, name)
	}
	stored, err := s.st.ReplicaSchemas(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	var sch *store.SetSchema
	for i := range stored {
		if stored[i].Key.CompanyID == companyID && stored[i].Key.EntitySet == name {
			sch = &stored[i].Schema
		}
	}
	if custom {
		if sch != nil {
			return entityOfSchema(name, sch, nil), nil
		}
		for _, entry := range c.Entities {
			if n, ok, _ := syncer.ParseCustomEntry(entry); ok && n == name {
				return nil, fmt.Errorf("%w: %s (%s) of connection %s was never synced in company %s; start a sync with POST /api/v1/connections/%s/sync {\"entities\":[\"%s\"]}",
					ErrNotSynced, name, entry, c.Name, companyID, c.ID, entry)
			}
		}
		return nil, fmt.Errorf("%w: %q is not a custom API set connection %s replicates; list it in its entity sets as publisher/group/version/entitySet (GET /api/v1/connections/%s/schema names each set's pick)",
			store.ErrNotFound, name, c.Name, c.ID)
	}
	if sch == nil || !slices.ContainsFunc(sch.Fields, func(f store.SchemaField) bool { return f.Extension }) {
		return static, nil
	}
	return entityOfSchema(name, sch, static), nil
}

// entityOfSchema makes an entity of a stored schema: static's fields and the schema's
// extension fields for a standard set (static non-nil), or all the schema's fields for a
// custom API set. Enums are strings (their wire form).
func entityOfSchema(name string, sch *store.SetSchema, static *bcschema.Entity) *bcschema.Entity {
	e := &bcschema.Entity{EntitySet: name, Entity: name, Key: slices.Clone(sch.Key), Scope: "company"}
	if static != nil {
		clone := *static
		clone.Fields = slices.Clone(static.Fields)
		e = &clone
	}
	for _, f := range sch.Fields {
		if static != nil && !f.Extension {
			continue
		}
		if static != nil {
			if _, ok := static.Field(f.Name); ok {
				continue
			}
		}
		bf := &bcschema.Field{Name: f.Name, Type: f.Type, MaxLength: f.MaxLength, ReadOnly: f.ReadOnly}
		if !strings.HasPrefix(f.Type, "Edm.") {
			bf.EdmType, bf.Type = f.Type, bcschema.TypeString
		}
		e.Fields = append(e.Fields, bf)
	}
	// Index the fields (Entity.Field, NaturalKey); a stored schema has unique names.
	if sch, err := bcschema.FromEntities([]*bcschema.Entity{e}); err == nil {
		e, _ = sch.EntitySet(name)
	}
	return e
}

// naturalOrder is the field Browse lists a set in the order of: the first field of a key
// other than id (a custom API page's ODataKeyFields), otherwise the natural key ("" for
// id order).
func naturalOrder(ent *bcschema.Entity) string {
	if len(ent.Key) > 0 && ent.Key[0] != "id" {
		if f, ok := ent.Field(ent.Key[0]); ok && f.Type != bcschema.TypeStream {
			return f.Name
		}
	}
	return ent.NaturalKey()
}

// Records implements Service. cursor is the id of the last record of the previous page.
func (s *Impl) Records(ctx context.Context, id, companyIDOrName, entitySet, filter, cursor string, limit int) (RecordsPage, error) {
	return s.records(ctx, id, companyIDOrName, entitySet, filter, cursor, limit, false)
}

// Browse implements Service: Records in the set's natural order.
func (s *Impl) Browse(ctx context.Context, id, companyIDOrName, entitySet, filter, cursor string, limit int) (RecordsPage, error) {
	return s.records(ctx, id, companyIDOrName, entitySet, filter, cursor, limit, true)
}

// records reads a page of the replica, in id order or (natural) in the order of the set's
// natural key (bcschema.Entity.NaturalKey), ties by id.
func (s *Impl) records(ctx context.Context, id, companyIDOrName, entitySet, filter, cursor string, limit int, natural bool) (RecordsPage, error) {
	c, err := s.st.GetConnection(ctx, id)
	if err != nil {
		return RecordsPage{}, err
	}
	co, err := company(c, companyIDOrName)
	if err != nil {
		return RecordsPage{}, err
	}
	ent, err := s.replicaEntity(ctx, c, co.ID, entitySet)
	if err != nil {
		return RecordsPage{}, err
	}
	filters, err := ParseFilter(ent, filter)
	if err != nil {
		return RecordsPage{}, err
	}
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, MaxRecordsLimit)
	key := store.ReplicaKey{ConnectionID: c.ID, CompanyID: co.ID, EntitySet: ent.EntitySet}
	st, err := s.syncedState(ctx, c, key)
	if err != nil {
		return RecordsPage{}, err
	}
	var orderBy string
	if natural {
		orderBy = naturalOrder(ent)
	}
	rows, err := s.st.ReplicaQueryOrdered(ctx, key, filters, orderBy, cursor, limit)
	if err != nil {
		return RecordsPage{}, err
	}
	page := RecordsPage{Records: make([]json.RawMessage, 0, len(rows)), FullSyncDone: st.FullSyncDone, OrderBy: orderBy}
	for _, r := range rows {
		page.Records = append(page.Records, r.Raw)
	}
	if len(rows) == limit {
		page.NextCursor = rows[len(rows)-1].ID
	}
	return page, nil
}

// Record implements Service.
func (s *Impl) Record(ctx context.Context, id, companyIDOrName, entitySet, recordID string) (json.RawMessage, error) {
	c, err := s.st.GetConnection(ctx, id)
	if err != nil {
		return nil, err
	}
	co, err := company(c, companyIDOrName)
	if err != nil {
		return nil, err
	}
	ent, err := s.replicaEntity(ctx, c, co.ID, entitySet)
	if err != nil {
		return nil, err
	}
	key := store.ReplicaKey{ConnectionID: c.ID, CompanyID: co.ID, EntitySet: ent.EntitySet}
	if _, err := s.syncedState(ctx, c, key); err != nil {
		return nil, err
	}
	row, err := s.st.ReplicaGet(ctx, key, recordID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: no %s record with id %q in the replica of %s", store.ErrNotFound, ent.EntitySet, recordID, c.Name)
	}
	if err != nil {
		return nil, err
	}
	return row.Raw, nil
}

// syncedState returns the sync state of a set, or ErrNotSynced if no sync of it ever
// started: its replica is then empty because nothing was read, not because BC has nothing.
func (s *Impl) syncedState(ctx context.Context, c store.Connection, key store.ReplicaKey) (store.SyncState, error) {
	st, err := s.st.SyncState(ctx, key)
	if err != nil {
		return st, err
	}
	if !st.FullSyncDone && st.LastRunAt.IsZero() && len(st.Checkpoints) == 0 {
		return st, fmt.Errorf("%w: %s of connection %s was never synced; start a sync with POST /api/v1/connections/%s/sync {\"entities\":[\"%s\"]} or `bcconnector sync %s --entities %s`",
			ErrNotSynced, key.EntitySet, c.Name, c.ID, key.EntitySet, c.Name, key.EntitySet)
	}
	return st, nil
}

var filterTerm = regexp.MustCompile(`^\s*([A-Za-z_][A-Za-z0-9_]*)\s+(eq|ne|gt|ge|lt|le)\s+('(?:[^']|'')*'|[^\s']+)\s*$`)

// ParseFilter parses a filter of the form "field op value [and field op value]…" with op
// one of eq, ne, gt, ge, lt, le and value a 'quoted string' (” for a quote), a number,
// true, false, null, or a bare GUID or date. Fields must be fields of ent; values are
// converted to the field's type.
func ParseFilter(ent *bcschema.Entity, filter string) ([]store.FieldFilter, error) {
	if strings.TrimSpace(filter) == "" {
		return nil, nil
	}
	var out []store.FieldFilter
	for _, term := range splitAnd(filter) {
		m := filterTerm.FindStringSubmatch(term)
		if m == nil {
			return nil, fmt.Errorf("%w: filter %q: write conditions as field op value joined by and, e.g. balance gt 100 and blocked eq ' '", store.ErrInvalid, strings.TrimSpace(term))
		}
		f, ok := ent.Field(m[1])
		if !ok || f.FilterOnly || f.Type == bcschema.TypeStream {
			return nil, fmt.Errorf("%w: filter field %q is not a field of %s", store.ErrInvalid, m[1], ent.EntitySet)
		}
		v, err := filterValue(f, m[3])
		if err != nil {
			return nil, err
		}
		out = append(out, store.FieldFilter{Field: f.Name, Op: m[2], Value: v})
	}
	return out, nil
}

// splitAnd splits on " and " outside quotes.
func splitAnd(s string) []string {
	var parts []string
	inQuote := false
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\'' {
			inQuote = !inQuote
			continue
		}
		if !inQuote && i+5 <= len(s) && strings.EqualFold(s[i:i+5], " and ") {
			parts = append(parts, s[start:i])
			start = i + 5
			i += 4
		}
	}
	return append(parts, s[start:])
}

func filterValue(f *bcschema.Field, lit string) (any, error) {
	if lit == "null" {
		return nil, nil
	}
	str := lit
	quoted := strings.HasPrefix(lit, "'")
	if quoted {
		str = strings.ReplaceAll(lit[1:len(lit)-1], "''", "'")
	}
	bad := func(want string) error {
		return fmt.Errorf("%w: filter value %s for %s: want %s", store.ErrInvalid, lit, f.Name, want)
	}
	switch f.Type {
	case bcschema.TypeDecimal, "Edm.Double", "Edm.Single":
		v, err := strconv.ParseFloat(str, 64)
		if err != nil || quoted {
			return nil, bad("a number")
		}
		return v, nil
	case bcschema.TypeInt32, bcschema.TypeInt64, "Edm.Int16", "Edm.Byte", "Edm.SByte":
		v, err := strconv.ParseInt(str, 10, 64)
		if err != nil || quoted {
			return nil, bad("an integer")
		}
		return v, nil
	case bcschema.TypeBoolean:
		switch str {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return nil, bad("true or false")
	case bcschema.TypeGuid:
		return strings.ToLower(str), nil
	}
	return str, nil
}
