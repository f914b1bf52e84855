package syncer

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
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
		cached, err := s.metadataOf(ctx, c, t.ConnectionID, api)
		if err != nil {
			return err
		}
		es, ok := cached.m.EntitySet(set)
		if !ok && s.markStale(t.ConnectionID, api, cached) {
			// Maybe read before the set was installed (for another set of the API): read
			// it again once.
			if cached, err = s.metadataOf(ctx, c, t.ConnectionID, api); err != nil {
				return err
			}
			es, ok = cached.m.EntitySet(set)
		}
		switch {
		case !ok:
			return fmt.Errorf("the $metadata of api/%s has no entity set %s any more (was the extension uninstalled or the API renamed?); remove %s/%s from the connection's entity sets", api.Route(), set, api.Route(), set)
		case len(es.Key) == 0:
			return fmt.Errorf("api/%s %s has no key (an API query): it cannot be replicated record by record", api.Route(), set)
		}
		ent := es.Entity()
		ent.EntitySet = t.EntitySet
		s.mu.Lock()
		done := s.recorded[t] == cached
		s.mu.Unlock()
		if !done {
			if err := s.opt.Store.EnsureReplica(ctx, ent); err != nil {
				return err
			}
			if _, err := s.opt.Store.ApplyBatch(ctx, store.ReplicaBatch{Key: t.key(), Schema: storeSchema(api, es), Now: s.opt.Now()}); err != nil {
				return err
			}
			s.remember(t, cached)
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
			if len(page.Records) > 0 {
				s.staleOnNewField(t, api, set, page.Records[0])
			}
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

// extend makes t's replica carry the fields table extensions added to its standard set:
// from the standard API's $metadata (metadataOf: cached per connection), the set's
// extension fields become typed columns of the replica's view and the set's schema is
// recorded, so a field added or removed makes a new version and a schema.changed entry.
// entity() then returns the set with its extension fields. While the cached document is
// the one this target last recorded, a pass writes nothing (idle passes stay free).
func (s *Syncer) extend(ctx context.Context, c *bc.Client, t Target) error {
	static, ok := s.opt.Schema.EntitySet(t.EntitySet)
	if !ok || static.Parent != nil {
		return nil
	}
	cached, err := s.metadataOf(ctx, c, t.ConnectionID, bc.StandardAPI)
	if err != nil {
		return fmt.Errorf("read the standard API's $metadata for extension fields: %w", err)
	}
	s.mu.Lock()
	done := s.recorded[t] == cached
	s.mu.Unlock()
	if done {
		return nil
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
	if _, err := s.opt.Store.ApplyBatch(ctx, store.ReplicaBatch{Key: t.key(), Schema: storeSchema(bc.StandardAPI, es), Now: s.opt.Now()}); err != nil {
		return err
	}
	s.remember(t, cached)
	return nil
}

// The $metadata cache.
//
// An API's $metadata (the standard API's for extension fields, a custom API's for its
// sets) is read once per connection and API and reused by every pass of every set of the
// connection, in every company, until one of these comes first:
//
//   - it is older than Options.SchemaMaxAge (10 minutes by default: serve's
//     --schema-refresh), so a field added or removed reaches the replica, the schema
//     version and schema.changed within that time even if no record changes;
//   - a page brought a record with a field the cached document does not list (checked on
//     the first record of each page of incremental and custom passes, at no request's
//     cost): an extension added a field and a record already carries it, so the next
//     pass reads $metadata again (staleOnNewField);
//   - the process restarts (the cache is in memory; each instance has its own).
//
// So an idle pass costs no $metadata request: with a 1-minute interval, one set per
// connection pays one extra request every 10 passes at most, shared by all its sets.

// metadataKey names a cached $metadata document: a connection's API.
type metadataKey struct {
	conn string
	api  bc.API
}

// metadataCache is a connection's $metadata of one API and when it was read; stale is
// set when a record showed a field the document does not list.
type metadataCache struct {
	m     *bc.Metadata
	at    time.Time
	stale bool
}

// metadataOf returns the cached $metadata of api for a connection, reading it again when
// it is missing, older than Options.SchemaMaxAge or marked stale. The standard API's has
// its extension fields marked (bc.MarkExtensions).
func (s *Syncer) metadataOf(ctx context.Context, c *bc.Client, conn string, api bc.API) (*metadataCache, error) {
	k := metadataKey{conn, api}
	s.mu.Lock()
	cached := s.metadata[k]
	fresh := cached != nil && !cached.stale && s.opt.Now().Sub(cached.at) < s.opt.SchemaMaxAge
	s.mu.Unlock()
	if fresh {
		return cached, nil
	}
	m, err := c.Metadata(ctx, api)
	if err != nil {
		return nil, err
	}
	if api == bc.StandardAPI {
		bc.MarkExtensions(m, s.opt.Schema)
	}
	cached = &metadataCache{m: m, at: s.opt.Now()}
	s.mu.Lock()
	if s.metadata == nil {
		s.metadata = map[metadataKey]*metadataCache{}
	}
	s.metadata[k] = cached
	s.mu.Unlock()
	return cached, nil
}

// markStale marks cached, the $metadata of api for a connection, stale if it is still
// the cached one; it reports whether it did.
func (s *Syncer) markStale(conn string, api bc.API, cached *metadataCache) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.metadata[metadataKey{conn, api}] != cached || cached.stale {
		return false
	}
	cached.stale = true
	return true
}

// remember notes that t's schema was recorded from cached, so passes reusing the same
// document skip recording it again.
func (s *Syncer) remember(t Target, cached *metadataCache) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.recorded == nil {
		s.recorded = map[Target]*metadataCache{}
	}
	s.recorded[t] = cached
}

// staleOnNewField marks the cached $metadata of api for t's connection stale when rec (the
// first record of a page of set) has a field the document does not list for set:
// annotations ("@odata.etag", "field@odata.…") and expanded lines (arrays and objects the
// document does not list) are not fields. A field the document lists that a record lacks
// is left to the cache's age, since BC may leave fields out of a record (streams).
func (s *Syncer) staleOnNewField(t Target, api bc.API, set string, rec bc.Record) {
	s.mu.Lock()
	cached := s.metadata[metadataKey{t.ConnectionID, api}]
	stale := cached == nil || cached.stale
	s.mu.Unlock()
	if stale {
		return
	}
	es, ok := cached.m.EntitySet(set)
	if !ok {
		return
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(rec.Raw, &fields) != nil {
		return
	}
	for name, v := range fields {
		if strings.Contains(name, "@") || len(v) > 0 && (v[0] == '[' || v[0] == '{') {
			continue
		}
		if !slices.ContainsFunc(es.Fields, func(f bc.FieldSchema) bool { return f.Name == name }) {
			if !s.markStale(t.ConnectionID, api, cached) {
				return
			}
			s.opt.Logger.Info("a record has a field $metadata does not list: $metadata is read again at the next pass",
				append(targetAttrs(t), "field", name)...)
			return
		}
	}
}
