package storetest

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/bcschema"
	"github.com/bizzjoiner/bcconnector/store"
)

// RunSchemas is the conformance suite of SchemaStore with ReplicaBatch.Schema: a first
// schema is version 1 and logs nothing; the same schema again changes nothing; a field
// added or removed makes the next version, logged as one OpSchema change in the batch's
// transaction, with the names added and removed; rows and their typed view are kept;
// schemas are per connection, company and set; a bad schema is refused whole.
func RunSchemas(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()
	lmTime := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	ensure(t, s, "customers")
	key := Key("customers")
	base := store.SetSchema{API: "v2.0", EntitySet: "customers", Key: []string{"id"}, LastModified: true, Fields: []store.SchemaField{
		{Name: "id", Type: "Edm.Guid", ReadOnly: true}, {Name: "displayName", Type: "Edm.String", MaxLength: 100},
		{Name: "lastModifiedDateTime", Type: "Edm.DateTimeOffset", ReadOnly: true}}}

	res := apply(t, s, store.ReplicaBatch{Key: key, Schema: &base})
	if res.SchemaVersion != 1 || res.SchemaChanged {
		t.Fatalf("first schema: version %d changed %v, want 1 false", res.SchemaVersion, res.SchemaChanged)
	}
	if c := allChanges(t, s, 0); len(c) != 0 {
		t.Fatalf("first schema logged %+v", c)
	}
	res = apply(t, s, store.ReplicaBatch{Key: key, Schema: &base, Upserts: []store.ReplicaRow{Customer(GUID(1), ETag(1), "Adatum", lmTime)}})
	if res.SchemaVersion != 1 || res.SchemaChanged || res.Inserted != 1 {
		t.Fatalf("same schema: %+v", res)
	}

	grown := base
	grown.Fields = append(slices.Clone(base.Fields), store.SchemaField{Name: "loyaltyTier", Type: "Edm.String", Extension: true})
	res = apply(t, s, store.ReplicaBatch{Key: key, Schema: &grown})
	if res.SchemaVersion != 2 || !res.SchemaChanged {
		t.Fatalf("grown schema: %+v", res)
	}
	changes := allChanges(t, s, 0)
	last := changes[len(changes)-1]
	if last.Op != store.OpSchema || last.EntitySet != "customers" || last.ID != "" || last.ETag != "2" || last.Seq != res.LastSeq {
		t.Fatalf("schema change logged as %+v (LastSeq %d)", last, res.LastSeq)
	}
	// Another company's and connection's sets have their own versions.
	other := key
	other.CompanyID = "other-company"
	if res := apply(t, s, store.ReplicaBatch{Key: other, Schema: &grown}); res.SchemaVersion != 1 {
		t.Fatalf("other company: version %d, want 1", res.SchemaVersion)
	}

	// The field removed again: version 3, the row untouched.
	res = apply(t, s, store.ReplicaBatch{Key: key, Schema: &base})
	if res.SchemaVersion != 3 || !res.SchemaChanged {
		t.Fatalf("shrunk schema: %+v", res)
	}
	if r := mustGet(t, s, key, GUID(1)); r.ETag != ETag(1) {
		t.Fatalf("row changed by a schema change: %+v", r)
	}
	all, err := s.ReplicaSchemas(ctx, key.ConnectionID)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 {
		t.Fatalf("%d schemas, want 2: %+v", len(all), all)
	}
	var got store.StoredSchema
	for _, sc := range all {
		if sc.Key == key {
			got = sc
		}
	}
	if got.Version != 3 || !slices.Equal(got.Removed, []string{"loyaltyTier"}) || len(got.Added) != 0 ||
		got.Schema.EntitySet != "customers" || len(got.Schema.Fields) != 3 || got.ChangedAt.IsZero() {
		t.Fatalf("stored schema %+v", got)
	}
	if none, err := s.ReplicaSchemas(ctx, "no-such-connection"); err != nil || len(none) != 0 {
		t.Fatalf("schemas of an unknown connection: %v %v", none, err)
	}

	// A bad schema is refused and nothing of its batch is applied.
	bad := base
	bad.Key = []string{"number"}
	_, err = s.ApplyBatch(ctx, store.ReplicaBatch{Key: key, Schema: &bad, Upserts: []store.ReplicaRow{Customer(GUID(2), ETag(1), "B", lmTime)}})
	if !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("bad key: err = %v, want ErrInvalid", err)
	}
	if n := count(t, s, key); n != 1 {
		t.Fatalf("%d rows after a refused batch, want 1", n)
	}
}

// RunSchemaViews: two connections whose schemas of one set differ (a table extension
// installed in one tenant and another in the other) share the set's replica view, whose
// columns are the union of their fields: while their passes alternate (EnsureReplica
// with each one's entity, then a batch with its schema), each connection filters and
// orders by exactly its own fields, never by the other's (ErrInvalid naming the field),
// at every point; a connection without a stored schema reads the view's columns but the
// other connections' extension fields; a field a schema loses stops being readable for
// that connection while the other keeps its own, and rows keep their JSON.
// (Each store's own tests check that the alternation re-creates no view.)
func RunSchemaViews(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()
	base := Entity(t, "customers")
	with := func(f *bcschema.Field) *bcschema.Entity {
		e := *base
		e.Fields = append(slices.Clone(base.Fields), f)
		return &e
	}
	schemaOf := func(ext ...store.SchemaField) *store.SetSchema {
		sc := &store.SetSchema{API: "v2.0", EntitySet: "customers", Key: []string{"id"}, LastModified: true}
		for _, f := range base.Fields {
			sc.Fields = append(sc.Fields, store.SchemaField{Name: f.Name, Type: f.Type})
		}
		sc.Fields = append(sc.Fields, ext...)
		return sc
	}
	row := func(id string, fields map[string]any) store.ReplicaRow {
		fields["id"] = id
		raw, _ := json.Marshal(fields)
		return store.ReplicaRow{ID: id, ETag: ETag(1), Raw: raw}
	}
	a := Key("customers")
	b := a
	b.ConnectionID = "conn-b"
	c := a
	c.ConnectionID = "conn-c" // synced before schema discovery: no stored schema
	entA, entB := with(&bcschema.Field{Name: "loyaltyTier", Type: bcschema.TypeString}), with(&bcschema.Field{Name: "creditScore", Type: bcschema.TypeDecimal})
	schemaA := schemaOf(store.SchemaField{Name: "loyaltyTier", Type: "Edm.String", Extension: true})
	schemaB := schemaOf(store.SchemaField{Name: "creditScore", Type: "Edm.Decimal", Extension: true})

	query := func(key store.ReplicaKey, f store.FieldFilter, orderBy string) ([]string, error) {
		rows, err := s.ReplicaQueryOrdered(ctx, key, []store.FieldFilter{f}, orderBy, "", 10)
		ids := []string{}
		for _, r := range rows {
			ids = append(ids, r.ID)
		}
		return ids, err
	}
	own := func(key store.ReplicaKey, f store.FieldFilter, want string) {
		t.Helper()
		for _, orderBy := range []string{"", f.Field} {
			if ids, err := query(key, f, orderBy); err != nil || !slices.Equal(ids, []string{want}) {
				t.Fatalf("%s: %s %s %v (order by %q) = %v, %v; want [%s]", key.ConnectionID, f.Field, f.Op, f.Value, orderBy, ids, err, want)
			}
		}
	}
	foreign := func(key store.ReplicaKey, field string) {
		t.Helper()
		_, err := query(key, store.FieldFilter{Field: field, Op: "ne", Value: nil}, "")
		if !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), field) {
			t.Fatalf("%s filtering by %s (not its field): err = %v, want ErrInvalid naming it", key.ConnectionID, field, err)
		}
		if _, err := query(key, store.FieldFilter{Field: "number", Op: "ne", Value: nil}, field); !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("%s ordering by %s (not its field): err = %v, want ErrInvalid", key.ConnectionID, field, err)
		}
	}
	check := func() {
		t.Helper()
		own(a, store.FieldFilter{Field: "loyaltyTier", Op: "eq", Value: "Gold"}, GUID(1))
		foreign(a, "creditScore")
		own(c, store.FieldFilter{Field: "displayName", Op: "eq", Value: "Contoso"}, GUID(3))
		foreign(c, "loyaltyTier")
		if _, err := s.ReplicaGet(ctx, b, GUID(2)); err == nil { // B's first pass has run
			own(b, store.FieldFilter{Field: "creditScore", Op: "gt", Value: 600.0}, GUID(2))
			foreign(b, "loyaltyTier")
		}
	}

	ensure(t, s, "customers")
	apply(t, s, store.ReplicaBatch{Key: c, Upserts: []store.ReplicaRow{row(GUID(3), map[string]any{"number": "C3", "displayName": "Contoso"})}})
	for range 3 {
		if err := s.EnsureReplica(ctx, entA); err != nil {
			t.Fatal(err)
		}
		apply(t, s, store.ReplicaBatch{Key: a, Schema: schemaA, Upserts: []store.ReplicaRow{row(GUID(1), map[string]any{"number": "C1", "loyaltyTier": "Gold"})}})
		check()
		if err := s.EnsureReplica(ctx, entB); err != nil {
			t.Fatal(err)
		}
		apply(t, s, store.ReplicaBatch{Key: b, Schema: schemaB, Upserts: []store.ReplicaRow{row(GUID(2), map[string]any{"number": "C2", "creditScore": 700.5})}})
		check()
		if err := s.EnsureReplica(ctx, base); err != nil { // a connection without extensions
			t.Fatal(err)
		}
		check()
	}

	// A's extension uninstalled: loyaltyTier is no longer A's field; B keeps its own and
	// A's row keeps its JSON.
	if err := s.EnsureReplica(ctx, base); err != nil {
		t.Fatal(err)
	}
	if res := apply(t, s, store.ReplicaBatch{Key: a, Schema: schemaOf()}); !res.SchemaChanged {
		t.Fatalf("schema without loyaltyTier: %+v", res)
	}
	foreign(a, "loyaltyTier")
	own(b, store.FieldFilter{Field: "creditScore", Op: "gt", Value: 600.0}, GUID(2))
	if r := mustGet(t, s, a, GUID(1)); !strings.Contains(string(r.Raw), `"loyaltyTier":"Gold"`) {
		t.Fatalf("A's row lost its JSON: %s", r.Raw)
	}
}

// AlternateExtensionFields runs rounds of the passes of two connections whose customers
// differ in an extension field (loyaltyTier in Conn's tenant, creditScore in
// "conn-b"'s): EnsureReplica with each one's entity, then a batch with its schema and a
// row. The stores' own tests call it to check, with their own SQL, that rounds after the
// first re-create no view.
func AlternateExtensionFields(t testing.TB, s store.ReplicaStore, rounds int) {
	t.Helper()
	base := Entity(t, "customers")
	for range rounds {
		for i, ext := range []store.SchemaField{{Name: "loyaltyTier", Type: "Edm.String", Extension: true}, {Name: "creditScore", Type: "Edm.Decimal", Extension: true}} {
			e := *base
			e.Fields = append(slices.Clone(base.Fields), &bcschema.Field{Name: ext.Name, Type: ext.Type})
			if err := s.EnsureReplica(t.Context(), &e); err != nil {
				t.Fatal(err)
			}
			sc := &store.SetSchema{API: "v2.0", EntitySet: "customers", Key: []string{"id"}, LastModified: true}
			for _, f := range e.Fields {
				sc.Fields = append(sc.Fields, store.SchemaField{Name: f.Name, Type: f.Type, Extension: f.Name == ext.Name})
			}
			key := Key("customers")
			if i == 1 {
				key.ConnectionID = "conn-b"
			}
			raw, _ := json.Marshal(map[string]any{"id": GUID(i + 1), ext.Name: "1"})
			if _, err := s.ApplyBatch(t.Context(), store.ReplicaBatch{Key: key, Schema: sc, Upserts: []store.ReplicaRow{{ID: GUID(i + 1), ETag: ETag(1), Raw: raw}}}); err != nil {
				t.Fatal(err)
			}
		}
	}
}
