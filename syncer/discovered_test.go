package syncer_test

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/bc"
	"github.com/bizzjoiner/bcconnector/bcschema"
	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/syncer"
)

func TestReplicaName(t *testing.T) {
	t.Parallel()
	name, err := syncer.ReplicaName(bc.CustomAPI("contoso", "inventory", "v1.0"), "inventoryLevels")
	if err != nil || name != "contoso__inventory__v1_0__inventoryLevels" {
		t.Fatalf("ReplicaName = %q, %v", name, err)
	}
	api, set, ok := syncer.CustomSet(name)
	if !ok || api != bc.CustomAPI("contoso", "inventory", "v1.0") || set != "inventoryLevels" {
		t.Fatalf("CustomSet(%q) = %q %q %v", name, api, set, ok)
	}
	if _, _, ok := syncer.CustomSet("customers"); ok {
		t.Error("customers read as a custom set")
	}
	for _, bad := range []struct{ pub, grp, ver, set string }{{"con-toso", "a", "v1.0", "x"}, {"a__b", "a", "v1.0", "x"}, {"a", "b", "v1_0", "x"}, {"a", "b", "v1.0", "x-y"}} {
		if _, err := syncer.ReplicaName(bc.CustomAPI(bad.pub, bad.grp, bad.ver), bad.set); err == nil {
			t.Errorf("ReplicaName(%+v) accepted", bad)
		}
	}
}

func (w *world) customTarget(t *testing.T, entry string) syncer.Target {
	t.Helper()
	ts, err := w.sync.Targets(w.connID, w.ref.CompanyID, []string{entry})
	if err != nil || len(ts) != 1 {
		t.Fatalf("Targets(%s): %v %v", entry, ts, err)
	}
	return ts[0]
}

func (w *world) run(t *testing.T, tg syncer.Target) syncer.Result {
	t.Helper()
	res, err := w.sync.Sync(t.Context(), w.client, tg)
	if err != nil {
		t.Fatalf("Sync(%s): %v", tg.EntitySet, err)
	}
	return res
}

// setGold writes loyaltyTier "Gold" (an extension field) on the first customer in BC and
// returns its id.
func (w *world) setGold(t *testing.T) string {
	t.Helper()
	var id string
	for row := range w.emu.Rows(w.ref, "customers") {
		id = row["id"].(string)
		break
	}
	if _, err := w.emu.Update(w.ref, "customers", id, map[string]any{"loyaltyTier": "Gold"}); err != nil {
		t.Fatal(err)
	}
	return id
}

func (w *world) emuCount(set string) int {
	n := 0
	for range w.emu.Rows(w.ref, set) {
		n++
	}
	return n
}

// TestSyncCustomAPISets syncs custom API sets end to end: one without lastModifiedDateTime
// (compared whole by id and ETag at each pass, deletes included) and one with a composite
// key and lastModifiedDateTime (incremental passes, deletes at the reconciliation).
func TestSyncCustomAPISets(t *testing.T) {
	t.Parallel()
	w := newWorld(t, emulator.Config{}, "", syncer.Options{ReconcileEvery: 2, ReconcileInterval: -1})
	ctx := t.Context()

	// No lastModifiedDateTime: every pass is a full comparison.
	bins := w.customTarget(t, "contoso/warehouse/v1.0/binContents")
	res := w.run(t, bins)
	n := w.emuCount("binContents")
	if n == 0 || res.Inserted != int64(n) || res.Mode != syncer.ModeFull {
		t.Fatalf("first pass: %+v, BC has %d", res, n)
	}
	var ids []string
	for row := range w.emu.Rows(w.ref, "binContents") {
		ids = append(ids, row["id"].(string))
	}
	if _, err := w.emu.Update(w.ref, "binContents", ids[1], map[string]any{"quantity": 999}); err != nil {
		t.Fatal(err)
	}
	if err := w.emu.Delete(w.ref, "binContents", ids[2]); err != nil {
		t.Fatal(err)
	}
	created, err := w.emu.Create(w.ref, "binContents", map[string]any{"binCode": "NEW", "itemNumber": "1999-W", "quantity": 1})
	if err != nil {
		t.Fatal(err)
	}
	res = w.run(t, bins)
	if res.Mode != syncer.ModeFull || res.Inserted != 1 || res.Updated != 1 || res.Deleted != 1 || res.Same != int64(n-2) {
		t.Fatalf("second pass: %+v", res)
	}
	k := bins.EntitySet
	key := store.ReplicaKey{ConnectionID: w.connID, CompanyID: w.ref.CompanyID, EntitySet: k}
	if _, err := w.db.ReplicaGet(ctx, key, ids[2]); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted bin still replicated: %v", err)
	}
	if _, err := w.db.ReplicaGet(ctx, key, created["id"].(string)); err != nil {
		t.Errorf("created bin: %v", err)
	}
	// Its fields are typed columns: quantity is queryable as a number.
	rows, err := w.db.ReplicaQuery(ctx, key, []store.FieldFilter{{Field: "quantity", Op: "eq", Value: 999}}, "", 10)
	if err != nil || len(rows) != 1 || rows[0].ID != ids[1] {
		t.Fatalf("query by quantity: %v %v", rows, err)
	}

	// Composite key, with lastModifiedDateTime.
	prices := w.customTarget(t, "fabrikam/pricing/v2.0/priceListLines")
	res = w.run(t, prices)
	pn := w.emuCount("priceListLines")
	if res.Inserted != int64(pn) {
		t.Fatalf("price lines: %+v, BC has %d", res, pn)
	}
	pkey := store.ReplicaKey{ConnectionID: w.connID, CompanyID: w.ref.CompanyID, EntitySet: prices.EntitySet}
	first, err := w.db.ReplicaGet(ctx, pkey, "priceListCode='P00001',lineNumber=10000")
	if err != nil || !strings.Contains(string(first.Raw), `"unitPrice"`) {
		t.Fatalf("a price line by its composite key: %+v %v", first, err)
	}
	var lineIDs []string
	for row := range w.emu.Rows(w.ref, "priceListLines") {
		lineIDs = append(lineIDs, row["id"].(string))
	}
	if _, err := w.emu.Update(w.ref, "priceListLines", lineIDs[0], map[string]any{"unitPrice": 1.25}); err != nil {
		t.Fatal(err)
	}
	if err := w.emu.Delete(w.ref, "priceListLines", lineIDs[5]); err != nil {
		t.Fatal(err)
	}
	res = w.run(t, prices)
	if res.Mode != syncer.ModeIncremental || res.Updated != 1 || res.Deleted != 0 || res.Rows >= int64(pn) {
		t.Fatalf("incremental pass: %+v", res)
	}
	if got, _ := w.db.ReplicaGet(ctx, pkey, "priceListCode='P00001',lineNumber=10000"); !strings.Contains(string(got.Raw), `"unitPrice":1.25`) {
		t.Errorf("updated price line: %s", got.Raw)
	}
	res = w.run(t, prices) // the second incremental pass is due for reconciliation
	if res.Mode != syncer.ModeFull || res.Deleted != 1 {
		t.Fatalf("reconciling pass: %+v", res)
	}
	if c, err := w.db.ReplicaCount(ctx, pkey); err != nil || c != int64(pn-1) {
		t.Fatalf("%d price lines, want %d (%v)", c, pn-1, err)
	}
	st, err := w.db.SyncState(ctx, pkey)
	if err != nil || !st.FullSyncDone || st.Watermark.IsZero() || st.LastReconcileAt.IsZero() || st.LastError != "" {
		t.Fatalf("sync state %+v %v", st, err)
	}
	schemas, err := w.db.ReplicaSchemas(ctx, w.connID)
	if err != nil || len(schemas) != 2 {
		t.Fatalf("schemas %+v %v", schemas, err)
	}
	for _, s := range schemas {
		if s.Version != 1 {
			t.Errorf("%s: version %d, want 1", s.Key.EntitySet, s.Version)
		}
		if s.Key.EntitySet == prices.EntitySet && !slices.Equal(s.Schema.Key, []string{"priceListCode", "lineNumber"}) {
			t.Errorf("stored key %v", s.Schema.Key)
		}
	}
	if _, err := w.sync.Targets(w.connID, w.ref.CompanyID, []string{"con-toso/x/v1.0/y"}); err == nil {
		t.Error("an unnameable custom set was accepted")
	}
}

// TestSyncExtensionField: a table extension adds a field to customers while it is
// replicated; the next pass versions the schema (schema.changed in the change log), the
// replica gets a typed column for it and the values written in BC; removing the
// extension makes another version and loses no row.
func TestSyncExtensionField(t *testing.T) {
	t.Parallel()
	w := newWorld(t, emulator.Config{}, "", syncer.Options{ExtensionFields: true, SchemaMaxAge: -1})
	ctx := t.Context()
	tg := w.target("customers")
	w.run(t, tg)
	key := store.ReplicaKey{ConnectionID: w.connID, CompanyID: w.ref.CompanyID, EntitySet: "customers"}
	before, _ := w.db.ReplicaCount(ctx, key)

	if err := w.emu.AddExtensionField("customers", bcschema.Field{Name: "loyaltyTier", Type: bcschema.TypeString, MaxLength: 20}); err != nil {
		t.Fatal(err)
	}
	id := w.setGold(t)
	res := w.run(t, tg)
	if res.Updated != 1 {
		t.Fatalf("pass after the extension: %+v", res)
	}
	rows, err := w.db.ReplicaQuery(ctx, key, []store.FieldFilter{{Field: "loyaltyTier", Op: "eq", Value: "Gold"}}, "", 10)
	if err != nil || len(rows) != 1 || rows[0].ID != id {
		got, _ := w.db.ReplicaGet(ctx, key, id)
		t.Fatalf("query by the extension field: %v %v; row %s", rows, err, got.Raw)
	}
	schemaChanges := func() []store.Change {
		var out []store.Change
		cs, err := w.db.Changes(ctx, 0, 100000)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			if c.Op == store.OpSchema {
				out = append(out, c)
			}
		}
		return out
	}
	if sc := schemaChanges(); len(sc) != 1 || sc[0].EntitySet != "customers" || sc[0].ETag != "2" {
		t.Fatalf("schema changes %+v", sc)
	}
	ss, err := w.db.ReplicaSchemas(ctx, w.connID)
	if err != nil || len(ss) != 1 || ss[0].Version != 2 || !slices.Equal(ss[0].Added, []string{"loyaltyTier"}) {
		t.Fatalf("schemas %+v %v", ss, err)
	}
	if f := ss[0].Schema.Fields[len(ss[0].Schema.Fields)-1]; f.Name != "loyaltyTier" || !f.Extension {
		t.Fatalf("stored field %+v", f)
	}

	// The extension uninstalled: a new version, no failure, no row lost.
	if err := w.emu.RemoveExtensionField("customers", "loyaltyTier"); err != nil {
		t.Fatal(err)
	}
	w.run(t, tg)
	if sc := schemaChanges(); len(sc) != 2 || sc[1].ETag != "3" {
		t.Fatalf("schema changes after removal %+v", sc)
	}
	if n, _ := w.db.ReplicaCount(ctx, key); n != before {
		t.Fatalf("%d customers after the schema changes, want %d", n, before)
	}
	if st, _ := w.db.SyncState(ctx, key); st.LastError != "" {
		t.Fatalf("sync error: %s", st.LastError)
	}
}

// TestMetadataIsCached: $metadata is read once per connection and API, not at every pass:
// idle passes of a standard set (with extension fields on) and of custom sets cost what
// they cost without schema discovery (one request), a record showing a field $metadata
// did not list makes the next pass read it again (and version the schema), and so does
// the cache's age (Options.SchemaMaxAge).
func TestMetadataIsCached(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	w := newWorld(t, emulator.Config{}, "", syncer.Options{ExtensionFields: true, Now: clock, ReconcileEvery: -1, ReconcileInterval: -1})
	ctx := t.Context()
	requests := func(tg syncer.Target) int64 {
		t.Helper()
		before := w.client.Stats().Requests
		w.run(t, tg)
		return w.client.Stats().Requests - before
	}
	customers, levels, bins := w.target("customers"), w.customTarget(t, "contoso/inventory/v1.0/inventoryLevels"), w.customTarget(t, "contoso/warehouse/v1.0/binContents")
	for _, tg := range []syncer.Target{customers, levels, bins} {
		requests(tg) // first passes: $metadata of each API once, then the full reads
	}
	for pass := range 3 {
		for _, tg := range []syncer.Target{customers, levels, bins} {
			if n := requests(tg); n != 1 {
				t.Errorf("idle pass %d of %s: %d requests, want 1 ($metadata cached)", pass, tg.EntitySet, n)
			}
		}
	}
	version := func() int {
		t.Helper()
		ss, err := w.db.ReplicaSchemas(ctx, w.connID)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range ss {
			if s.Key.EntitySet == "customers" {
				return s.Version
			}
		}
		t.Fatal("no schema recorded for customers")
		return 0
	}

	// An extension adds a field: no record shows it yet, the cache stands.
	if err := w.emu.AddExtensionField("customers", bcschema.Field{Name: "loyaltyTier", Type: bcschema.TypeString}); err != nil {
		t.Fatal(err)
	}
	if n := requests(customers); n != 1 || version() != 1 {
		t.Fatalf("pass after the extension: %d requests, schema version %d; want 1, 1", n, version())
	}
	// A record written with it: the pass that reads it marks the cache stale, the next
	// reads $metadata again and versions the schema.
	w.setGold(t)
	if n := requests(customers); n != 1 {
		t.Fatalf("pass reading the record with the new field: %d requests, want 1", n)
	}
	if n := requests(customers); n != 2 || version() != 2 {
		t.Fatalf("pass after the hint: %d requests, schema version %d; want 2 ($metadata and the page), 2", n, version())
	}
	key := store.ReplicaKey{ConnectionID: w.connID, CompanyID: w.ref.CompanyID, EntitySet: "customers"}
	if rows, err := w.db.ReplicaQuery(ctx, key, []store.FieldFilter{{Field: "loyaltyTier", Op: "eq", Value: "Gold"}}, "", 10); err != nil || len(rows) != 1 {
		t.Fatalf("query by the extension field: %v %v", rows, err)
	}
	if n := requests(customers); n != 1 {
		t.Errorf("idle pass after the schema change: %d requests, want 1", n)
	}
	// The cache's age: the next pass of each API reads it again.
	mu.Lock()
	now = now.Add(11 * time.Minute)
	mu.Unlock()
	for _, tg := range []syncer.Target{customers, levels, bins} {
		if n := requests(tg); n != 2 {
			t.Errorf("pass of %s after SchemaMaxAge: %d requests, want 2", tg.EntitySet, n)
		}
	}
}
