package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

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
