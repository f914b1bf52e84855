package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/bcschema"
	"github.com/bizzjoiner/bcconnector/store"
)

// ReplicaOpener returns a new, empty replica store. It registers its own cleanup.
type ReplicaOpener func(t *testing.T) store.ReplicaStore

// RunReplica runs the conformance suite of store.ReplicaStore's replica (tables, batches,
// reads) against the stores open returns; RunChangeLog and RunSyncState cover the rest of
// the interface. Subtests run in parallel, each on its own store.
func RunReplica(t *testing.T, open ReplicaOpener) {
	t.Helper()
	runTests(t, open, []test[store.ReplicaStore]{
		{"EnsureReplicaIdempotent", testEnsureReplicaIdempotent},
		{"Classification", testClassification},
		{"DuplicateIDsInBatch", testDuplicateIDsInBatch},
		{"LargeMixedBatch", testLargeMixedBatch},
		{"EmptyETagComparesRaw", testEmptyETagComparesRaw},
		{"RawRoundTrip", testRawRoundTrip},
		{"Deletes", testDeletes},
		{"Children", testChildren},
		{"ReadMarks", testReadMarks},
		{"FailedBatchChangesNothing", testFailedBatchChangesNothing},
		{"ConcurrentSameKey", testReplicaConcurrentSameKey},
		{"ReplicaIDsOrder", testReplicaIDsOrder},
		{"ReplicaListAndCount", testReplicaListAndCount},
		{"KeysIsolate", testKeysIsolate},
		{"Validation", testReplicaValidation},
	})
}

// Test keys.
const (
	Conn     = "c0ffee0000000001"
	Company2 = "6e8a1f20-44e3-ea11-bb43-000d3a2feef8"
)

// Key returns the replica key of entitySet in the test connection and Company.
func Key(entitySet string) store.ReplicaKey {
	return store.ReplicaKey{ConnectionID: Conn, CompanyID: Company, EntitySet: entitySet}
}

// GUID returns a lower-case GUID that sorts by n.
func GUID(n int) string { return fmt.Sprintf("%08x-0000-4000-8000-%012x", n, n) }

// Entity returns the schema entity of entitySet from the embedded API v2.0 schema.
func Entity(t testing.TB, entitySet string) *bcschema.Entity {
	t.Helper()
	e, ok := bcschema.MustLoad().EntitySet(entitySet)
	if !ok {
		t.Fatalf("no entity set %s in the schema", entitySet)
	}
	return e
}

// Customer returns a customers row as BC sends it.
func Customer(id, etag, name string, lm time.Time) store.ReplicaRow {
	raw, _ := json.Marshal(map[string]any{
		"@odata.etag": etag, "id": id, "number": "C" + id[:5], "displayName": name, "type": "Company",
		"balanceDue": 1234.5, "creditLimit": 0, "taxLiable": true,
		"lastModifiedDateTime": lm.UTC().Format("2006-01-02T15:04:05.999Z"),
	})
	return store.ReplicaRow{ID: id, ETag: etag, LastModified: lm, Raw: raw}
}

// Line returns a salesInvoiceLines row of document doc.
func Line(id, doc, etag string, seq int) store.ReplicaRow {
	raw, _ := json.Marshal(map[string]any{
		"@odata.etag": etag, "id": id, "documentId": doc, "sequence": seq * 10000,
		"lineType": "Item", "quantity": float64(seq), "unitPrice": 10.25,
	})
	return store.ReplicaRow{ID: id, ETag: etag, Raw: raw, ParentID: doc}
}

// ETag returns a BC-style weak ETag.
func ETag(v int) string { return fmt.Sprintf(`W/"JzQ0OzE%dOzAwOyc="`, v) }

func ensure(t *testing.T, s store.ReplicaStore, sets ...string) {
	t.Helper()
	for _, set := range sets {
		if err := s.EnsureReplica(t.Context(), Entity(t, set)); err != nil {
			t.Fatalf("EnsureReplica(%s): %v", set, err)
		}
	}
}

func apply(t *testing.T, s store.ReplicaStore, b store.ReplicaBatch) store.ApplyResult {
	t.Helper()
	res, err := s.ApplyBatch(t.Context(), b)
	if err != nil {
		t.Fatalf("ApplyBatch: %v", err)
	}
	return res
}

func wantResult(t *testing.T, got store.ApplyResult, ins, upd, del, unch int, lastSeq int64) {
	t.Helper()
	want := store.ApplyResult{Inserted: ins, Updated: upd, Deleted: del, Unchanged: unch, LastSeq: lastSeq}
	if got.Stale != nil {
		t.Fatalf("ApplyResult.Stale = %v, want none", got.Stale)
	}
	if got.Stale = nil; !reflect.DeepEqual(got, want) {
		t.Fatalf("ApplyResult = %+v, want %+v", got, want)
	}
}

// allChanges reads the whole change log after since.
func allChanges(t *testing.T, s store.ReplicaStore, since int64) []store.Change {
	t.Helper()
	var out []store.Change
	for {
		page, err := s.Changes(t.Context(), since, 1000)
		if err != nil {
			t.Fatalf("Changes: %v", err)
		}
		if len(page) == 0 {
			return out
		}
		out = append(out, page...)
		since = page[len(page)-1].Seq
	}
}

type change struct {
	set, id string
	op      store.Op
	etag    string
}

func wantChanges(t *testing.T, got []store.Change, firstSeq int64, want ...change) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d changes, want %d: %+v", len(got), len(want), got)
	}
	for i, c := range got {
		w := want[i]
		if c.Seq != firstSeq+int64(i) || c.EntitySet != w.set || c.ID != w.id || c.Op != w.op || c.ETag != w.etag ||
			c.ConnectionID != Conn || c.CompanyID != Company {
			t.Errorf("change %d = %+v, want seq %d %+v", i, c, firstSeq+int64(i), w)
		}
	}
}

func mustGet(t *testing.T, s store.ReplicaStore, key store.ReplicaKey, id string) store.ReplicaRow {
	t.Helper()
	r, err := s.ReplicaGet(t.Context(), key, id)
	if err != nil {
		t.Fatalf("ReplicaGet(%s, %s): %v", key.EntitySet, id, err)
	}
	return r
}

func wantGone(t *testing.T, s store.ReplicaStore, key store.ReplicaKey, id string) {
	t.Helper()
	_, err := s.ReplicaGet(t.Context(), key, id)
	wantErr(t, fmt.Sprintf("ReplicaGet(%s, %s)", key.EntitySet, id), err, store.ErrNotFound)
}

func count(t *testing.T, s store.ReplicaStore, key store.ReplicaKey) int64 {
	t.Helper()
	n, err := s.ReplicaCount(t.Context(), key)
	if err != nil {
		t.Fatalf("ReplicaCount(%s): %v", key.EntitySet, err)
	}
	return n
}

func testEnsureReplicaIdempotent(t *testing.T, s store.ReplicaStore) {
	ctx := t.Context()
	ensure(t, s, "customers", "customers")
	lm := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	apply(t, s, store.ReplicaBatch{Key: Key("customers"), Upserts: []store.ReplicaRow{Customer(GUID(1), ETag(1), "Adatum", lm)}})

	// A newer schema with one more field: the table is migrated, the data kept.
	base := Entity(t, "customers")
	grown := *base
	grown.Fields = append(slices.Clone(base.Fields), &bcschema.Field{Name: "loyaltyTier", Type: bcschema.TypeInt32})
	for range 2 {
		if err := s.EnsureReplica(ctx, &grown); err != nil {
			t.Fatalf("EnsureReplica with a new field: %v", err)
		}
	}
	if err := s.EnsureReplica(ctx, base); err != nil {
		t.Fatalf("EnsureReplica with the older schema again: %v", err)
	}
	if n := count(t, s, Key("customers")); n != 1 {
		t.Fatalf("%d rows after EnsureReplica, want 1", n)
	}
	if r := mustGet(t, s, Key("customers"), GUID(1)); r.ETag != ETag(1) {
		t.Fatalf("row changed by EnsureReplica: %+v", r)
	}
	if err := s.EnsureReplica(ctx, nil); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("EnsureReplica(nil): err = %v, want ErrInvalid", err)
	}
	bad := *base
	bad.EntitySet = "cust omers"
	if err := s.EnsureReplica(ctx, &bad); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("EnsureReplica(%q): err = %v, want ErrInvalid", bad.EntitySet, err)
	}
}

func testClassification(t *testing.T, s store.ReplicaStore) {
	ensure(t, s, "customers")
	key := Key("customers")
	lm := time.Date(2025, 3, 1, 10, 0, 0, 123_000_000, time.UTC)
	rows := []store.ReplicaRow{Customer(GUID(3), ETag(1), "C", lm), Customer(GUID(1), ETag(1), "A", lm), Customer(GUID(2), ETag(1), "B", lm)}
	wantResult(t, apply(t, s, store.ReplicaBatch{Key: key, Upserts: rows}), 3, 0, 0, 0, 3)
	wantChanges(t, allChanges(t, s, 0), 1,
		change{"customers", GUID(3), store.OpInsert, ETag(1)},
		change{"customers", GUID(1), store.OpInsert, ETag(1)},
		change{"customers", GUID(2), store.OpInsert, ETag(1)})

	// The same page again changes nothing and logs nothing.
	wantResult(t, apply(t, s, store.ReplicaBatch{Key: key, Upserts: rows}), 0, 0, 0, 3, 3)
	if c := allChanges(t, s, 3); len(c) != 0 {
		t.Fatalf("unchanged rows logged: %+v", c)
	}

	// A mixed page: one new, one changed, one unchanged.
	lm2 := lm.Add(time.Hour)
	mixed := []store.ReplicaRow{Customer(GUID(2), ETag(2), "B renamed", lm2), Customer(GUID(1), ETag(1), "A", lm), Customer(GUID(4), ETag(1), "D", lm2)}
	wantResult(t, apply(t, s, store.ReplicaBatch{Key: key, Upserts: mixed}), 1, 1, 0, 1, 5)
	wantChanges(t, allChanges(t, s, 3), 4,
		change{"customers", GUID(2), store.OpUpdate, ETag(2)},
		change{"customers", GUID(4), store.OpInsert, ETag(1)})
	got := mustGet(t, s, key, GUID(2))
	if got.ETag != ETag(2) || string(got.Raw) != string(mixed[0].Raw) || !got.LastModified.Equal(lm2) {
		t.Fatalf("updated row = %+v, want ETag %s, raw %s, lastModified %v", got, ETag(2), mixed[0].Raw, lm2)
	}
	if n := count(t, s, key); n != 4 {
		t.Fatalf("ReplicaCount = %d, want 4", n)
	}

	// Change.At is the batch's Now.
	at := time.Date(2025, 5, 6, 7, 8, 9, 123456000, time.UTC)
	res := apply(t, s, store.ReplicaBatch{Key: key, Upserts: []store.ReplicaRow{Customer(GUID(5), ETag(1), "E", lm)}, Now: at})
	c := allChanges(t, s, res.LastSeq-1)
	if len(c) != 1 || !c[0].At.Equal(at) {
		t.Fatalf("change = %+v, want At %v", c, at)
	}
	// An empty batch changes nothing and reports the current position.
	wantResult(t, apply(t, s, store.ReplicaBatch{Key: key}), 0, 0, 0, 0, 6)
}

func testDuplicateIDsInBatch(t *testing.T, s store.ReplicaStore) {
	ensure(t, s, "customers")
	key := Key("customers")
	lm := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	// Applied in order: insert, unchanged, update; the last version is stored.
	rows := []store.ReplicaRow{Customer(GUID(1), ETag(1), "A", lm), Customer(GUID(1), ETag(1), "A", lm), Customer(GUID(1), ETag(2), "A2", lm)}
	wantResult(t, apply(t, s, store.ReplicaBatch{Key: key, Upserts: rows}), 1, 1, 0, 1, 2)
	wantChanges(t, allChanges(t, s, 0), 1,
		change{"customers", GUID(1), store.OpInsert, ETag(1)},
		change{"customers", GUID(1), store.OpUpdate, ETag(2)})
	if got := mustGet(t, s, key, GUID(1)); string(got.Raw) != string(rows[2].Raw) {
		t.Fatalf("stored %s, want the last version %s", got.Raw, rows[2].Raw)
	}
	// Upserted and deleted in one batch: gone, both logged.
	res := apply(t, s, store.ReplicaBatch{Key: key, Upserts: []store.ReplicaRow{Customer(GUID(2), ETag(1), "B", lm)}, Deletes: []string{GUID(2), GUID(2)}})
	wantResult(t, res, 1, 0, 1, 0, 4)
	wantGone(t, s, key, GUID(2))
}

// testLargeMixedBatch: a batch of thousands of rows out of id order, new ones between
// stored ones, a third of the stored ones changed.
func testLargeMixedBatch(t *testing.T, s store.ReplicaStore) {
	ensure(t, s, "customers")
	key := Key("customers")
	lm := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	const n = 1500
	var rows []store.ReplicaRow
	for i := range n {
		rows = append(rows, Customer(GUID(2*i+1), ETag(1), "x", lm))
	}
	wantResult(t, apply(t, s, store.ReplicaBatch{Key: key, Upserts: rows}), n, 0, 0, 0, n)
	var next []store.ReplicaRow
	var want []change
	for i := n - 1; i >= 0; i-- {
		etag := ETag(1 + i%3/2) // every third row changed
		next = append(next, Customer(GUID(2*i+1), etag, "x", lm), Customer(GUID(2*i), ETag(1), "x", lm))
		if etag != ETag(1) {
			want = append(want, change{"customers", GUID(2*i + 1), store.OpUpdate, etag})
		}
		want = append(want, change{"customers", GUID(2 * i), store.OpInsert, ETag(1)})
	}
	wantResult(t, apply(t, s, store.ReplicaBatch{Key: key, Upserts: next}), n, n/3, 0, n-n/3, n+n+n/3)
	wantChanges(t, allChanges(t, s, n), n+1, want...)
	if c := count(t, s, key); c != 2*n {
		t.Fatalf("ReplicaCount = %d, want %d", c, 2*n)
	}
	if r := mustGet(t, s, key, GUID(2*2+1)); r.ETag != ETag(2) {
		t.Fatalf("row 5 ETag = %s, want %s", r.ETag, ETag(2))
	}
}

func testEmptyETagComparesRaw(t *testing.T, s store.ReplicaStore) {
	ensure(t, s, "customers")
	key := Key("customers")
	row := store.ReplicaRow{ID: GUID(1), Raw: json.RawMessage(`{"id":"x","displayName":"A"}`)}
	wantResult(t, apply(t, s, store.ReplicaBatch{Key: key, Upserts: []store.ReplicaRow{row}}), 1, 0, 0, 0, 1)
	wantResult(t, apply(t, s, store.ReplicaBatch{Key: key, Upserts: []store.ReplicaRow{row}}), 0, 0, 0, 1, 1)
	row.Raw = json.RawMessage(`{"id":"x","displayName":"B"}`)
	wantResult(t, apply(t, s, store.ReplicaBatch{Key: key, Upserts: []store.ReplicaRow{row}}), 0, 1, 0, 0, 2)
	// From no ETag to an ETag is a change too.
	row.ETag = ETag(1)
	wantResult(t, apply(t, s, store.ReplicaBatch{Key: key, Upserts: []store.ReplicaRow{row}}), 0, 1, 0, 0, 3)
}

func testRawRoundTrip(t *testing.T, s store.ReplicaStore) {
	ensure(t, s, "customers")
	key := Key("customers")
	raws := []string{
		// BC's field order, odd spacing, escapes, non-ASCII, numbers Go would reformat.
		`{"@odata.etag":"W/\"JzE4OzE7MDA7Jw==\"","id":"` + GUID(1) + `","displayName":"Ünïcødé \u00e9 \"q\" \\ \/ 😀","balanceDue":1234.50,"creditLimit":1e3,"big":12345678901234567890}`,
		"{ \"id\" : \"" + GUID(2) + "\" ,\n\t\"displayName\":\"spaced\"\r\n}",
		`{"id":"` + GUID(3) + `","displayName":"","nested":{"a":[1,2,{"b":null}]},"taxLiable":false}`,
	}
	lm := time.Date(2025, 12, 31, 23, 59, 59, 999_000_000, time.UTC)
	var rows []store.ReplicaRow
	for i, raw := range raws {
		rows = append(rows, store.ReplicaRow{ID: GUID(i + 1), ETag: ETag(i), LastModified: lm, Raw: json.RawMessage(raw), ParentID: ""})
	}
	rows[2].LastModified = time.Time{}
	apply(t, s, store.ReplicaBatch{Key: key, Upserts: rows})
	for _, want := range rows {
		got := mustGet(t, s, key, want.ID)
		if string(got.Raw) != string(want.Raw) {
			t.Errorf("raw of %s:\n got %q\nwant %q", want.ID, got.Raw, want.Raw)
		}
		if got.ID != want.ID || got.ETag != want.ETag || !got.LastModified.Equal(want.LastModified) || got.ParentID != "" {
			t.Errorf("row %s = %+v, want %+v", want.ID, got, want)
		}
	}
	list, err := s.ReplicaList(t.Context(), key, "", 10)
	if err != nil || len(list) != 3 {
		t.Fatalf("ReplicaList: %d rows, %v", len(list), err)
	}
	for i, got := range list {
		if string(got.Raw) != raws[i] {
			t.Errorf("ReplicaList raw %d = %q, want %q", i, got.Raw, raws[i])
		}
	}
}

func testDeletes(t *testing.T, s store.ReplicaStore) {
	ensure(t, s, "customers")
	key := Key("customers")
	lm := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var rows []store.ReplicaRow
	for i := 1; i <= 5; i++ {
		rows = append(rows, Customer(GUID(i), ETag(1), "N", lm))
	}
	apply(t, s, store.ReplicaBatch{Key: key, Upserts: rows})
	res := apply(t, s, store.ReplicaBatch{Key: key, Deletes: []string{GUID(4), GUID(99), GUID(2)}})
	wantResult(t, res, 0, 0, 2, 0, 7)
	wantChanges(t, allChanges(t, s, 5), 6,
		change{"customers", GUID(4), store.OpDelete, ""},
		change{"customers", GUID(2), store.OpDelete, ""})
	wantGone(t, s, key, GUID(2))
	wantGone(t, s, key, GUID(4))
	mustGet(t, s, key, GUID(3))
	// Deleting again is a no-op.
	wantResult(t, apply(t, s, store.ReplicaBatch{Key: key, Deletes: []string{GUID(4)}}), 0, 0, 0, 0, 7)
	if n := count(t, s, key); n != 3 {
		t.Fatalf("ReplicaCount = %d, want 3", n)
	}
	// A deleted row can come back.
	wantResult(t, apply(t, s, store.ReplicaBatch{Key: key, Upserts: rows[1:2]}), 1, 0, 0, 0, 8)
}

func testChildren(t *testing.T, s store.ReplicaStore) {
	ensure(t, s, "salesInvoices", "salesInvoiceLines")
	docs, lines := Key("salesInvoices"), Key("salesInvoiceLines")
	docA, docB := GUID(100), GUID(200)
	doc := func(id string, etag int) store.ReplicaRow {
		return store.ReplicaRow{ID: id, ETag: ETag(etag), Raw: json.RawMessage(`{"id":"` + id + `","number":"S-INV"}`)}
	}
	res := apply(t, s, store.ReplicaBatch{Key: docs,
		Upserts: []store.ReplicaRow{doc(docA, 1), doc(docB, 1)},
		Children: []store.ChildReplace{{EntitySet: "salesInvoiceLines", ParentIDs: []string{docA, docB}, Rows: []store.ReplicaRow{
			Line(GUID(101), docA, ETag(1), 1), Line(GUID(102), docA, ETag(1), 2), Line(GUID(103), docA, ETag(1), 3),
			Line(GUID(201), docB, ETag(1), 1), Line(GUID(202), docB, ETag(1), 2),
		}}},
	})
	wantResult(t, res, 7, 0, 0, 0, 7)
	if got := mustGet(t, s, lines, GUID(102)); got.ParentID != docA {
		t.Fatalf("line ParentID = %q, want %s", got.ParentID, docA)
	}

	// Document A changed: line 101 unchanged, 102 updated, 103 gone, 104 new. B is not
	// listed, so its lines stay.
	res = apply(t, s, store.ReplicaBatch{Key: docs,
		Upserts: []store.ReplicaRow{doc(docA, 2)},
		Children: []store.ChildReplace{{EntitySet: "salesInvoiceLines", ParentIDs: []string{docA}, Rows: []store.ReplicaRow{
			Line(GUID(101), docA, ETag(1), 1), Line(GUID(102), docA, ETag(2), 2), Line(GUID(104), docA, ETag(1), 4),
		}}},
	})
	wantResult(t, res, 1, 2, 1, 1, 11)
	wantChanges(t, allChanges(t, s, 7), 8,
		change{"salesInvoices", docA, store.OpUpdate, ETag(2)},
		change{"salesInvoiceLines", GUID(102), store.OpUpdate, ETag(2)},
		change{"salesInvoiceLines", GUID(104), store.OpInsert, ETag(1)},
		change{"salesInvoiceLines", GUID(103), store.OpDelete, ""})
	wantGone(t, s, lines, GUID(103))
	for _, id := range []string{GUID(101), GUID(102), GUID(104), GUID(201), GUID(202)} {
		mustGet(t, s, lines, id)
	}

	// Document B deleted: its lines go with it (ChildReplace without rows).
	res = apply(t, s, store.ReplicaBatch{Key: docs, Deletes: []string{docB},
		Children: []store.ChildReplace{{EntitySet: "salesInvoiceLines", ParentIDs: []string{docB}}}})
	wantResult(t, res, 0, 0, 3, 0, 14)
	wantChanges(t, allChanges(t, s, 11), 12,
		change{"salesInvoices", docB, store.OpDelete, ""},
		change{"salesInvoiceLines", GUID(201), store.OpDelete, ""},
		change{"salesInvoiceLines", GUID(202), store.OpDelete, ""})
	if n := count(t, s, lines); n != 3 {
		t.Fatalf("%d lines, want 3", n)
	}

	// A line whose document is not listed is refused.
	_, err := s.ApplyBatch(t.Context(), store.ReplicaBatch{Key: docs, Children: []store.ChildReplace{{
		EntitySet: "salesInvoiceLines", ParentIDs: []string{docA}, Rows: []store.ReplicaRow{Line(GUID(301), GUID(300), ETag(1), 1)}}}})
	wantErr(t, "line of an unlisted document", err, store.ErrInvalid)
}

// testReadMarks: a batch read before a later write of some of its records (ReadMark
// taken, then another batch changes or deletes them) leaves those records and their lines
// out and names them in Stale; the rest applies. A mark taken after the write checks
// nothing away; an expired mark leaves every upsert out.
func testReadMarks(t *testing.T, s store.ReplicaStore) {
	ensure(t, s, "customers", "salesInvoices", "salesInvoiceLines")
	ctx := t.Context()
	cust, docs, lines := Key("customers"), Key("salesInvoices"), Key("salesInvoiceLines")
	lm := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	mark := func() store.ReadMark {
		t.Helper()
		m, err := s.ReadMark(ctx)
		if err != nil {
			t.Fatalf("ReadMark: %v", err)
		}
		if m.IsZero() {
			t.Fatal("ReadMark returned the zero mark")
		}
		return m
	}
	doc := func(id string, etag int) store.ReplicaRow {
		return store.ReplicaRow{ID: id, ETag: ETag(etag), Raw: json.RawMessage(`{"id":"` + id + `","number":"S-INV"}`)}
	}
	a, b, c, d := GUID(1), GUID(2), GUID(3), GUID(4)
	// A first full sync's pages (AssumeNew) mark nothing.
	apply(t, s, store.ReplicaBatch{Key: cust, AssumeNew: true, Upserts: []store.ReplicaRow{
		Customer(a, ETag(1), "A", lm), Customer(b, ETag(1), "B", lm), Customer(c, ETag(1), "C", lm)}})
	if m := mark(); m.Seq != 3 {
		t.Fatalf("ReadMark after 3 changes = %d", m.Seq)
	}

	old := mark() // a pass reads a page here: a, b and c in version 2, d new
	// Later reads, applied first: a updated (write-through), b deleted (webhook).
	apply(t, s, store.ReplicaBatch{Key: cust, Read: mark(), Upserts: []store.ReplicaRow{Customer(a, ETag(3), "A3", lm)}})
	apply(t, s, store.ReplicaBatch{Key: cust, Deletes: []string{b}})
	res := apply(t, s, store.ReplicaBatch{Key: cust, Read: old, Upserts: []store.ReplicaRow{
		Customer(a, ETag(2), "A2", lm), Customer(b, ETag(2), "B2", lm), Customer(c, ETag(2), "C2", lm), Customer(d, ETag(1), "D", lm)}})
	if !reflect.DeepEqual(res.Stale, []string{a, b}) || res.Updated != 1 || res.Inserted != 1 || res.LastSeq != 7 {
		t.Fatalf("stale page: %+v, want a and b stale, c updated, d inserted, last seq 7", res)
	}
	if got := mustGet(t, s, cust, a); got.ETag != ETag(3) {
		t.Fatalf("a went back to ETag %s", got.ETag)
	}
	wantGone(t, s, cust, b)
	wantChanges(t, allChanges(t, s, 5), 6,
		change{"customers", c, store.OpUpdate, ETag(2)},
		change{"customers", d, store.OpInsert, ETag(1)})

	// Read after those writes, the same versions apply.
	res = apply(t, s, store.ReplicaBatch{Key: cust, Read: mark(), Upserts: []store.ReplicaRow{
		Customer(a, ETag(4), "A4", lm), Customer(b, ETag(4), "B4", lm)}})
	if res.Stale != nil || res.Updated != 1 || res.Inserted != 1 {
		t.Fatalf("page read after the writes: %+v, want a updated, b inserted", res)
	}

	// Documents: one whose line was deleted later, one deleted later with its lines; a
	// page read before both brings them back with their old lines, and must not.
	docA, docB, docC := GUID(100), GUID(200), GUID(300)
	apply(t, s, store.ReplicaBatch{Key: docs, Upserts: []store.ReplicaRow{doc(docA, 1), doc(docB, 1), doc(docC, 1)},
		Children: []store.ChildReplace{{EntitySet: "salesInvoiceLines", ParentIDs: []string{docA, docB, docC}, Rows: []store.ReplicaRow{
			Line(GUID(101), docA, ETag(1), 1), Line(GUID(102), docA, ETag(1), 2), Line(GUID(201), docB, ETag(1), 1), Line(GUID(301), docC, ETag(1), 1)}}}})
	old = mark()
	// The line write-through re-reads document A with its remaining line; its own ETag is
	// the same, only the lines changed.
	apply(t, s, store.ReplicaBatch{Key: docs, Read: mark(), Upserts: []store.ReplicaRow{doc(docA, 1)},
		Children: []store.ChildReplace{{EntitySet: "salesInvoiceLines", ParentIDs: []string{docA}, Rows: []store.ReplicaRow{Line(GUID(101), docA, ETag(1), 1)}}}})
	apply(t, s, store.ReplicaBatch{Key: docs, Deletes: []string{docB},
		Children: []store.ChildReplace{{EntitySet: "salesInvoiceLines", ParentIDs: []string{docB}}}})
	before := mark().Seq
	res = apply(t, s, store.ReplicaBatch{Key: docs, Read: old, Upserts: []store.ReplicaRow{doc(docA, 1), doc(docB, 1), doc(docC, 2)},
		Children: []store.ChildReplace{{EntitySet: "salesInvoiceLines", ParentIDs: []string{docA, docB, docC}, Rows: []store.ReplicaRow{
			Line(GUID(101), docA, ETag(1), 1), Line(GUID(102), docA, ETag(1), 2), Line(GUID(201), docB, ETag(1), 1), Line(GUID(301), docC, ETag(2), 1)}}}})
	if !reflect.DeepEqual(res.Stale, []string{docA, docB}) {
		t.Fatalf("stale documents: %+v, want A and B", res)
	}
	wantGone(t, s, lines, GUID(102))
	wantGone(t, s, docs, docB)
	wantGone(t, s, lines, GUID(201))
	wantChanges(t, allChanges(t, s, before), before+1,
		change{"salesInvoices", docC, store.OpUpdate, ETag(2)},
		change{"salesInvoiceLines", GUID(301), store.OpUpdate, ETag(2)})

	// A mark older than store.MarkRetention cannot be checked: everything comes back.
	expired := store.ReadMark{Seq: mark().Seq, At: time.Now().Add(-store.MarkRetention - time.Minute)}
	res = apply(t, s, store.ReplicaBatch{Key: cust, Read: expired, Upserts: []store.ReplicaRow{Customer(c, ETag(9), "C9", lm)}})
	if !reflect.DeepEqual(res.Stale, []string{c}) || res.Updated != 0 {
		t.Fatalf("expired mark: %+v, want c stale", res)
	}
}

func testFailedBatchChangesNothing(t *testing.T, s store.ReplicaStore) {
	ctx := t.Context()
	ensure(t, s, "salesInvoices") // no table for the lines
	key := Key("salesInvoices")
	doc := func(n, etag int) store.ReplicaRow {
		id := GUID(n)
		return store.ReplicaRow{ID: id, ETag: ETag(etag), Raw: json.RawMessage(`{"id":"` + id + `"}`)}
	}
	wantResult(t, apply(t, s, store.ReplicaBatch{Key: key, Upserts: []store.ReplicaRow{doc(1, 1), doc(2, 1)}}), 2, 0, 0, 0, 2)

	// The lines' set has no table: the whole batch fails, rows, deletes and checkpoint included.
	_, err := s.ApplyBatch(ctx, store.ReplicaBatch{Key: key,
		Upserts: []store.ReplicaRow{doc(1, 2), doc(3, 1)}, Deletes: []string{GUID(2)},
		Children:       []store.ChildReplace{{EntitySet: "salesInvoiceLines", ParentIDs: []string{GUID(3)}, Rows: []store.ReplicaRow{Line(GUID(31), GUID(3), ETag(1), 1)}}},
		CheckpointName: "p", Checkpoint: json.RawMessage(`1`),
	})
	if err == nil {
		t.Fatal("batch with a child set without table succeeded")
	}
	if got := mustGet(t, s, key, GUID(1)); got.ETag != ETag(1) {
		t.Fatalf("failed batch updated a row: %+v", got)
	}
	mustGet(t, s, key, GUID(2))
	wantGone(t, s, key, GUID(3))
	if st, _ := s.SyncState(ctx, key); len(st.Checkpoints) != 0 {
		t.Fatalf("failed batch stored checkpoint %s", fmtCheckpoints(st.Checkpoints))
	}
	if c := allChanges(t, s, 2); len(c) != 0 {
		t.Fatalf("failed batch logged %+v", c)
	}
	// The next batch continues the change log without a gap.
	wantResult(t, apply(t, s, store.ReplicaBatch{Key: key, Upserts: []store.ReplicaRow{doc(3, 1)}}), 1, 0, 0, 0, 3)
	wantChanges(t, allChanges(t, s, 0), 1,
		change{"salesInvoices", GUID(1), store.OpInsert, ETag(1)},
		change{"salesInvoices", GUID(2), store.OpInsert, ETag(1)},
		change{"salesInvoices", GUID(3), store.OpInsert, ETag(1)})

	// A cancelled context fails the batch too, changing nothing.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.ApplyBatch(cctx, store.ReplicaBatch{Key: key, Upserts: []store.ReplicaRow{doc(4, 1)}}); err == nil {
		t.Fatal("ApplyBatch with a cancelled context succeeded")
	}
	wantGone(t, s, key, GUID(4))
	wantResult(t, apply(t, s, store.ReplicaBatch{Key: key, Upserts: []store.ReplicaRow{doc(5, 1)}}), 1, 0, 0, 0, 4)
}

func testReplicaIDsOrder(t *testing.T, s store.ReplicaStore) {
	ctx := t.Context()
	ensure(t, s, "customers")
	key := Key("customers")
	lm := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	const n = 4500 // more than one read chunk
	perm := rand.New(rand.NewPCG(1, 2)).Perm(n)
	for lo := 0; lo < n; lo += 1000 {
		var rows []store.ReplicaRow
		for _, i := range perm[lo:min(lo+1000, n)] {
			rows = append(rows, Customer(GUID(i), ETag(i), "x", lm))
		}
		apply(t, s, store.ReplicaBatch{Key: key, Upserts: rows})
	}
	// Rows of another company do not show.
	other := key
	other.CompanyID = Company2
	apply(t, s, store.ReplicaBatch{Key: other, Upserts: []store.ReplicaRow{Customer(GUID(n+1), ETag(1), "x", lm)}})

	i := 0
	err := s.ReplicaIDs(ctx, key, func(id, etag string) error {
		if id != GUID(i) || etag != ETag(i) {
			return fmt.Errorf("id %d = %s %s, want %s %s", i, id, etag, GUID(i), ETag(i))
		}
		i++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if i != n {
		t.Fatalf("ReplicaIDs gave %d ids, want %d", i, n)
	}
	stop := errors.New("stop")
	calls := 0
	err = s.ReplicaIDs(ctx, key, func(id, etag string) error {
		calls++
		if calls == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || calls != 3 {
		t.Fatalf("ReplicaIDs with a failing fn: err = %v after %d calls, want stop after 3", err, calls)
	}
	// A set that was never replicated has no ids.
	err = s.ReplicaIDs(ctx, Key("vendors"), func(id, etag string) error { return fmt.Errorf("unexpected id %s", id) })
	if err != nil {
		t.Fatalf("ReplicaIDs of a set without table: %v", err)
	}
}

func testReplicaListAndCount(t *testing.T, s store.ReplicaStore) {
	ctx := t.Context()
	ensure(t, s, "customers")
	key := Key("customers")
	lm := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var rows []store.ReplicaRow
	for i := 9; i >= 0; i-- {
		rows = append(rows, Customer(GUID(i), ETag(1), "x", lm))
	}
	apply(t, s, store.ReplicaBatch{Key: key, Upserts: rows})
	var ids []string
	for after := ""; ; {
		page, err := s.ReplicaList(ctx, key, after, 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		if len(page) > 3 {
			t.Fatalf("page of %d, limit 3", len(page))
		}
		for _, r := range page {
			ids = append(ids, r.ID)
		}
		after = page[len(page)-1].ID
	}
	if len(ids) != 10 || !slices.IsSorted(ids) || ids[0] != GUID(0) {
		t.Fatalf("ReplicaList ids = %v", ids)
	}
	if n := count(t, s, key); n != 10 {
		t.Fatalf("ReplicaCount = %d, want 10", n)
	}
	if n := count(t, s, Key("vendors")); n != 0 {
		t.Fatalf("ReplicaCount of a set without table = %d", n)
	}
	if l, err := s.ReplicaList(ctx, Key("vendors"), "", 5); err != nil || len(l) != 0 {
		t.Fatalf("ReplicaList of a set without table = %v, %v", l, err)
	}
	wantGone(t, s, Key("vendors"), GUID(1))
	_, err := s.ReplicaList(ctx, key, "", 0)
	wantErr(t, "ReplicaList limit 0", err, store.ErrInvalid)
}

// testKeysIsolate: the same ids under other connections and companies are other rows.
func testKeysIsolate(t *testing.T, s store.ReplicaStore) {
	ensure(t, s, "customers")
	lm := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	keys := []store.ReplicaKey{Key("customers"), Key("customers"), Key("customers")}
	keys[1].CompanyID = Company2
	keys[2].ConnectionID = "c0ffee0000000002"
	for i, k := range keys {
		wantResult(t, apply(t, s, store.ReplicaBatch{Key: k, Upserts: []store.ReplicaRow{Customer(GUID(1), ETag(i), "x", lm)}}), 1, 0, 0, 0, int64(i+1))
	}
	apply(t, s, store.ReplicaBatch{Key: keys[0], Deletes: []string{GUID(1)}})
	wantGone(t, s, keys[0], GUID(1))
	for i, k := range keys[1:] {
		if r := mustGet(t, s, k, GUID(1)); r.ETag != ETag(i+1) {
			t.Fatalf("key %+v: ETag %s, want %s", k, r.ETag, ETag(i+1))
		}
	}
}

func testReplicaValidation(t *testing.T, s store.ReplicaStore) {
	ctx := t.Context()
	ensure(t, s, "customers")
	good := Customer(GUID(1), ETag(1), "x", time.Now())
	for _, tc := range []struct {
		name string
		b    store.ReplicaBatch
	}{
		{"no connection", store.ReplicaBatch{Key: store.ReplicaKey{CompanyID: Company, EntitySet: "customers"}}},
		{"no company", store.ReplicaBatch{Key: store.ReplicaKey{ConnectionID: Conn, EntitySet: "customers"}}},
		{"no entity set", store.ReplicaBatch{Key: store.ReplicaKey{ConnectionID: Conn, CompanyID: Company}}},
		{"bad entity set", store.ReplicaBatch{Key: Key("customers; DROP TABLE x")}},
		{"set without table", store.ReplicaBatch{Key: Key("vendors"), Upserts: []store.ReplicaRow{good}}},
		{"row without id", store.ReplicaBatch{Key: Key("customers"), Upserts: []store.ReplicaRow{{ETag: "e", Raw: json.RawMessage(`{}`)}}}},
		{"raw not JSON", store.ReplicaBatch{Key: Key("customers"), Upserts: []store.ReplicaRow{{ID: "a", ETag: "e", Raw: json.RawMessage(`{"a":`)}}}},
		{"raw not an object", store.ReplicaBatch{Key: Key("customers"), Upserts: []store.ReplicaRow{{ID: "a", ETag: "e", Raw: json.RawMessage(`[1]`)}}}},
		{"raw empty", store.ReplicaBatch{Key: Key("customers"), Upserts: []store.ReplicaRow{{ID: "a", ETag: "e"}}}},
		{"empty delete id", store.ReplicaBatch{Key: Key("customers"), Deletes: []string{""}}},
		{"line without parent", store.ReplicaBatch{Key: Key("customers"), Children: []store.ChildReplace{{EntitySet: "customers", ParentIDs: []string{"p"}, Rows: []store.ReplicaRow{good}}}}},
	} {
		_, err := s.ApplyBatch(ctx, tc.b)
		wantErr(t, tc.name, err, store.ErrInvalid)
	}
	if c := allChanges(t, s, 0); len(c) != 0 {
		t.Fatalf("invalid batches logged %+v", c)
	}
	_, err := s.SyncState(ctx, store.ReplicaKey{})
	wantErr(t, "SyncState with an empty key", err, store.ErrInvalid)
	err = s.UpdateSyncState(ctx, Key("customers"), nil)
	wantErr(t, "UpdateSyncState(nil)", err, store.ErrInvalid)
	_, err = s.SyncStates(ctx, "")
	wantErr(t, "SyncStates(\"\")", err, store.ErrInvalid)
	err = s.ReplicaIDs(ctx, Key("customers"), nil)
	wantErr(t, "ReplicaIDs(nil)", err, store.ErrInvalid)
}

// testReplicaConcurrentSameKey: writers applying batches of the same ids to the same set
// at once (two instances syncing one set after a crash) classify every row against what
// the others committed: each id is inserted exactly once, and the change log says so.
func testReplicaConcurrentSameKey(t *testing.T, s store.ReplicaStore) {
	ensure(t, s, "customers")
	key := Key("customers")
	lm := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	const writers, batches, ids = 4, 5, 20
	var wg sync.WaitGroup
	var mu sync.Mutex
	var total store.ApplyResult
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for b := range batches {
				var rows []store.ReplicaRow
				for i := range ids {
					rows = append(rows, Customer(GUID(i), ETag(w*100+b), "x", lm))
				}
				res, err := s.ApplyBatch(context.Background(), store.ReplicaBatch{Key: key, Upserts: rows, AssumeNew: b == 0})
				if err != nil {
					errs <- fmt.Errorf("writer %d batch %d: %w", w, b, err)
					return
				}
				mu.Lock()
				total.Inserted += res.Inserted
				total.Updated += res.Updated
				total.Unchanged += res.Unchanged
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	collect(t, errs)
	if total.Inserted != ids || total.Inserted+total.Updated+total.Unchanged != writers*batches*ids {
		t.Fatalf("results add up to %+v, want %d inserts of %d rows", total, ids, writers*batches*ids)
	}
	inserts := map[string]int{}
	for _, c := range allChanges(t, s, 0) {
		if c.Op == store.OpInsert {
			inserts[c.ID]++
		} else if inserts[c.ID] == 0 {
			t.Fatalf("change %d: %s of %s before its insert", c.Seq, c.Op, c.ID)
		}
	}
	if len(inserts) != ids {
		t.Fatalf("%d ids logged as inserted, want %d", len(inserts), ids)
	}
	for id, n := range inserts {
		if n != 1 {
			t.Fatalf("%s logged as inserted %d times", id, n)
		}
	}
	if n := count(t, s, key); n != ids {
		t.Fatalf("ReplicaCount = %d, want %d", n, ids)
	}
}
