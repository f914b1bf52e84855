package syncer

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/bizzjoiner/bcconnector/bc"
	"github.com/bizzjoiner/bcconnector/bcschema"
	"github.com/bizzjoiner/bcconnector/store"
)

// Custom API entity sets (schema discovery, issue 12) are replicated from what their
// $metadata says, read at every pass: the key (composite too), the fields (each a typed
// column of the replica's view) and whether lastModifiedDateTime exists. A set with it is
// read incrementally (from the watermark minus Options.Overlap) and compared whole by id
// and ETag when a reconciliation is due; a set without it is compared whole at every
// pass, which is how its deletes are found (bc-entra-facts §8: no other way exists).
// Every pass records the set's schema (ReplicaBatch.Schema): a field added or removed
// makes a new schema version and a schema.changed entry in the change log; the rows keep
// their JSON, so nothing is lost.
//
// A custom API set is named in a connection's entity sets as
// "{publisher}/{group}/{version}/{entitySet}"; its replica (and Target.EntitySet) is
// "{publisher}__{group}__{version with '.' as '_'}__{entitySet}", which ReplicaName makes.

// ReplicaName returns the replica name of a custom API's entity set: publisher, group,
// version and set joined by "__", the version's dots written as '_' ("contoso__inventory__v1_0__inventoryLevels").
// Segments that could not be read back (holding "__", '-', or '_' in the version) are
// refused with an error naming them.
func ReplicaName(api bc.API, set string) (string, error) {
	route := strings.Split(api.Route(), "/")
	if len(route) != 3 {
		return "", fmt.Errorf("%q is not a custom API route ({publisher}/{group}/{version})", api.Route())
	}
	for i, seg := range []string{route[0], route[1], set} {
		if !isIdent(seg) || strings.Contains(seg, "__") {
			what := [...]string{"publisher", "group", "entity set"}[i]
			return "", fmt.Errorf("custom API %s: the %s %q cannot be named in the replica (letters, digits and single underscores only)", api.Route(), what, seg)
		}
	}
	v := route[2]
	if strings.ContainsAny(v, "_-") || !isIdent(strings.ReplaceAll("v"+v, ".", "")) {
		return "", fmt.Errorf("custom API %s: the version %q cannot be named in the replica (letters, digits and dots only)", api.Route(), v)
	}
	name := route[0] + "__" + route[1] + "__" + strings.ReplaceAll(v, ".", "_") + "__" + set
	if err := store.ValidEntitySet(name); err != nil {
		return "", err
	}
	return name, nil
}

// CustomSet reads a replica name made by ReplicaName back into its API and entity set;
// ok is false for any other name (a standard set's).
func CustomSet(name string) (api bc.API, set string, ok bool) {
	parts := strings.Split(name, "__")
	if len(parts) != 4 || parts[0] == "" || parts[1] == "" || parts[2] == "" || parts[3] == "" {
		return "", "", false
	}
	return bc.CustomAPI(parts[0], parts[1], strings.ReplaceAll(parts[2], "_", ".")), parts[3], true
}

// ParseCustomEntry reads a connection's entity set entry "{publisher}/{group}/{version}/{set}"
// into its replica name; custom is false for any other entry (a standard set's name).
func ParseCustomEntry(entry string) (name string, custom bool, err error) {
	parts := strings.Split(entry, "/")
	if len(parts) != 4 {
		return "", false, nil
	}
	name, err = ReplicaName(bc.CustomAPI(parts[0], parts[1], parts[2]), parts[3])
	return name, true, err
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range []byte(s) {
		if !(c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// storeSchema is the store's form of a discovered set's schema.
func storeSchema(api bc.API, s *bc.EntitySetSchema) *store.SetSchema {
	out := &store.SetSchema{API: api.Route(), EntitySet: s.Name, Key: s.Key, LastModified: s.LastModified}
	for _, f := range s.Fields {
		out.Fields = append(out.Fields, store.SchemaField{Name: f.Name, Type: f.Type, MaxLength: f.MaxLength, ReadOnly: f.ReadOnly, Extension: f.Extension})
	}
	return out
}

// keyOf is a record's replica id: its id for a set keyed by id, otherwise the OData key
// predicate of its key fields, "priceListCode='P00001',lineNumber=10000" (strings quoted,
// quotes doubled, as in a URL, bc-entra-facts §4.1).
func keyOf(rec bc.Record, key []string) (string, error) {
	if len(key) == 1 && key[0] == "id" && rec.ID != "" {
		return rec.ID, nil
	}
	var b strings.Builder
	for i, k := range key {
		raw, ok := rec.Lookup(k)
		if !ok {
			return "", fmt.Errorf("a record has no key field %s", k)
		}
		if i > 0 {
			b.WriteByte(',')
		}
		if len(key) > 1 {
			b.WriteString(k + "=")
		}
		var s string
		if json.Unmarshal(raw, &s) == nil {
			b.WriteString("'" + strings.ReplaceAll(s, "'", "''") + "'")
		} else {
			b.Write(raw)
		}
	}
	if b.Len() == 0 {
		return "", fmt.Errorf("a record has an empty key")
	}
	return b.String(), nil
}

// syncCustom runs one pass of a custom API set (see the comment at the top of the file).
func (s *Syncer) syncCustom(ctx context.Context, c *bc.Client, t Target, api bc.API, set string) (Result, error) {
	start := s.opt.Now()
	before := c.Stats()
	res := Result{Target: t, Mode: ModeFull}
	var watermark, reconciled time.Time
	run := func() error {
		m, err := c.Metadata(ctx, api)
		if err != nil {
			return err
		}
		es, ok := m.EntitySet(set)
		switch {
		case !ok:
			return fmt.Errorf("the $metadata of api/%s has no entity set %s any more (was the extension uninstalled or the API renamed?); remove %s/%s from the connection's entity sets", api.Route(), set, api.Route(), set)
		case len(es.Key) == 0:
			return fmt.Errorf("api/%s %s has no key (an API query): it cannot be replicated record by record", api.Route(), set)
		}
		ent := es.Entity()
		ent.EntitySet = t.EntitySet
		if err := s.opt.Store.EnsureReplica(ctx, ent); err != nil {
			return err
		}
		if _, err := s.opt.Store.ApplyBatch(ctx, store.ReplicaBatch{Key: t.key(), Schema: storeSchema(api, es), Now: s.opt.Now()}); err != nil {
			return err
		}
		st, err := s.opt.Store.SyncState(ctx, t.key())
		if err != nil {
			return err
		}
		full := !es.LastModified || !st.FullSyncDone || s.reconcileDue(t, ent, st)
		q := &bc.Query{PageSize: s.opt.PageSize}
		if !full {
			res.Mode = ModeIncremental
			q.Filter = bc.Ge(bc.LastModifiedField, st.Watermark.Add(-s.opt.Overlap))
		}
		ref := bc.Ref{API: api, CompanyID: t.CompanyID, Path: set}
		seen := map[string]bool{}
		for page, err := range c.Pages(ctx, ref, q) {
			if err != nil {
				return err
			}
			b := store.ReplicaBatch{Key: t.key(), Now: s.opt.Now()}
			for _, rec := range page.Records {
				id, err := keyOf(rec, es.Key)
				if err != nil {
					return fmt.Errorf("api/%s %s: %w", api.Route(), set, err)
				}
				seen[id] = true
				if rec.LastModified.After(watermark) {
					watermark = rec.LastModified
				}
				b.Upserts = append(b.Upserts, store.ReplicaRow{ID: id, ETag: rec.ETag, LastModified: rec.LastModified, Raw: rec.Raw})
			}
			r, err := s.opt.Store.ApplyBatch(ctx, b)
			if err != nil {
				return err
			}
			res.Pages++
			res.Rows += int64(len(b.Upserts))
			res.Inserted += int64(r.Inserted)
			res.Updated += int64(r.Updated)
			res.Same += int64(r.Unchanged)
		}
		if !full {
			return nil
		}
		// The whole set was read: what the replica has beyond it, BC deleted.
		var gone []string
		if err := s.opt.Store.ReplicaIDs(ctx, t.key(), func(id, _ string) error {
			if !seen[id] {
				gone = append(gone, id)
			}
			return nil
		}); err != nil {
			return err
		}
		for len(gone) > 0 {
			n := min(len(gone), 1000)
			r, err := s.opt.Store.ApplyBatch(ctx, store.ReplicaBatch{Key: t.key(), Deletes: gone[:n], Now: s.opt.Now()})
			if err != nil {
				return err
			}
			res.Deleted += int64(r.Deleted)
			gone = gone[n:]
		}
		reconciled = s.opt.Now().UTC()
		s.resetPasses(t)
		return nil
	}
	err := run()
	res.Duration = s.opt.Now().Sub(start)
	return res, s.finish(ctx, t, c, before, err, func(st *store.SyncState) {
		if res.Mode == ModeFull {
			st.FullSyncDone = true
			if st.FullSyncStartedAt.IsZero() {
				st.FullSyncStartedAt = start.UTC()
			}
		}
		if !reconciled.IsZero() {
			st.LastReconcileAt = reconciled
		}
		if watermark.After(st.Watermark) {
			st.Watermark = watermark
		}
	})
}

// extend reads the standard API's $metadata (at most every Options.SchemaMaxAge per
// connection) and, when a table extension added fields to t's set, makes the replica's
// view carry them as typed columns; every pass records the set's schema, so a field
// added or removed makes a new version and a schema.changed entry. entity() then returns
// the set with its extension fields.
func (s *Syncer) extend(ctx context.Context, c *bc.Client, t Target) error {
	static, ok := s.opt.Schema.EntitySet(t.EntitySet)
	if !ok || static.Parent != nil {
		return nil
	}
	s.mu.Lock()
	cached, fresh := s.metadata[t.ConnectionID], false
	if cached != nil && s.opt.Now().Sub(cached.at) < s.opt.SchemaMaxAge {
		fresh = true
	}
	s.mu.Unlock()
	if !fresh {
		m, err := c.Metadata(ctx, bc.StandardAPI)
		if err != nil {
			return fmt.Errorf("read the standard API's $metadata for extension fields: %w", err)
		}
		bc.MarkExtensions(m, s.opt.Schema)
		cached = &metadataCache{m: m, at: s.opt.Now()}
		s.mu.Lock()
		if s.metadata == nil {
			s.metadata = map[string]*metadataCache{}
		}
		s.metadata[t.ConnectionID] = cached
		s.mu.Unlock()
	}
	es, ok := cached.m.EntitySet(t.EntitySet)
	if !ok {
		return nil
	}
	var ext []*bcschema.Field
	for _, f := range es.Fields {
		if f.Extension {
			bf := &bcschema.Field{Name: f.Name, Type: f.Type, MaxLength: f.MaxLength, ReadOnly: f.ReadOnly}
			if !strings.HasPrefix(f.Type, "Edm.") {
				bf.EdmType, bf.Type, bf.EnumValues = f.Type, bcschema.TypeString, f.EnumValues
			}
			ext = append(ext, bf)
		}
	}
	ent := static
	if len(ext) > 0 {
		clone := *static
		clone.Fields = append(append([]*bcschema.Field(nil), static.Fields...), ext...)
		if sch, err := bcschema.FromEntities([]*bcschema.Entity{&clone}); err == nil {
			ent, _ = sch.EntitySet(clone.EntitySet)
		}
	}
	s.mu.Lock()
	if s.extended == nil {
		s.extended = map[Target]*bcschema.Entity{}
	}
	if ent == static {
		delete(s.extended, t)
	} else {
		s.extended[t] = ent
	}
	s.mu.Unlock()
	if err := s.opt.Store.EnsureReplica(ctx, ent); err != nil {
		return err
	}
	_, err := s.opt.Store.ApplyBatch(ctx, store.ReplicaBatch{Key: t.key(), Schema: storeSchema(bc.StandardAPI, es), Now: s.opt.Now()})
	return err
}

// metadataCache is a connection's standard $metadata and when it was read.
type metadataCache struct {
	m  *bc.Metadata
	at time.Time
}
