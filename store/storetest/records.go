package storetest

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/bizzjoiner/bcconnector/store"
)

// RunRecords runs the conformance suite of store.RecordQuerier: conditions on the typed
// columns of a replicated set, over rows written through store.ReplicaStore.
func RunRecords(t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()
	runTests(t, open, []test[store.Store]{
		{"Filters", testRecordFilters},
		{"Paging", testRecordPaging},
		{"Ordered", testRecordOrdered},
		{"Errors", testRecordErrors},
	})
}

// recordRows stores five customers and three invoice lines and returns the customers' key.
func recordRows(t *testing.T, s store.Store) store.ReplicaKey {
	t.Helper()
	ensure(t, s, "customers", "salesInvoiceLines")
	key := Key("customers")
	raw := func(id string, fields map[string]any) store.ReplicaRow {
		fields["id"] = id
		b, _ := json.Marshal(fields)
		return store.ReplicaRow{ID: id, ETag: ETag(1), Raw: b}
	}
	apply(t, s, store.ReplicaBatch{Key: key, Upserts: []store.ReplicaRow{
		raw(GUID(1), map[string]any{"number": "C1", "displayName": "Adatum", "balanceDue": 1500.5, "taxLiable": true, "lastModifiedDateTime": "2025-01-01T10:00:00Z"}),
		raw(GUID(2), map[string]any{"number": "C2", "displayName": "Trey Research", "balanceDue": 99.99, "taxLiable": false, "lastModifiedDateTime": "2025-02-01T10:00:00Z"}),
		raw(GUID(3), map[string]any{"number": "C3", "displayName": "O'Brien & Co", "balanceDue": 1000, "taxLiable": true, "lastModifiedDateTime": "2025-03-01T10:00:00Z"}),
		raw(GUID(4), map[string]any{"number": "C4", "balanceDue": -5, "taxLiable": false, "lastModifiedDateTime": "2025-04-01T10:00:00Z"}),
		raw(GUID(5), map[string]any{"number": "C5", "displayName": "Adatum", "balanceDue": 0, "taxLiable": true, "lastModifiedDateTime": "2025-05-01T10:00:00Z"}),
	}})
	// Another company's rows never match.
	other := key
	other.CompanyID = Company2
	apply(t, s, store.ReplicaBatch{Key: other, Upserts: []store.ReplicaRow{
		raw(GUID(1), map[string]any{"number": "C1", "displayName": "Adatum", "balanceDue": 1500.5, "taxLiable": true}),
	}})
	doc := GUID(100)
	apply(t, s, store.ReplicaBatch{Key: Key("salesInvoiceLines"), Upserts: []store.ReplicaRow{
		Line(GUID(101), doc, ETag(1), 1), Line(GUID(102), doc, ETag(1), 2), Line(GUID(103), doc, ETag(1), 3),
	}})
	return key
}

func queryIDs(t *testing.T, s store.Store, key store.ReplicaKey, filters []store.FieldFilter, after string, limit int) []string {
	t.Helper()
	rows, err := s.ReplicaQuery(t.Context(), key, filters, after, limit)
	if err != nil {
		t.Fatalf("ReplicaQuery(%+v): %v", filters, err)
	}
	ids := []string{}
	for _, r := range rows {
		ids = append(ids, r.ID)
	}
	return ids
}

func testRecordFilters(t *testing.T, s store.Store) {
	key := recordRows(t, s)
	f := func(field, op string, v any) store.FieldFilter {
		return store.FieldFilter{Field: field, Op: op, Value: v}
	}
	ids := func(ns ...int) []string {
		out := []string{}
		for _, n := range ns {
			out = append(out, GUID(n))
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		filters []store.FieldFilter
		want    []string
	}{
		{"none", nil, ids(1, 2, 3, 4, 5)},
		{"string eq", []store.FieldFilter{f("displayName", "eq", "Adatum")}, ids(1, 5)},
		{"string with quote", []store.FieldFilter{f("displayName", "eq", "O'Brien & Co")}, ids(3)},
		{"string ne (null is not equal)", []store.FieldFilter{f("displayName", "ne", "Adatum")}, ids(2, 3, 4)},
		{"string gt", []store.FieldFilter{f("number", "gt", "C3")}, ids(4, 5)},
		{"number gt", []store.FieldFilter{f("balanceDue", "gt", 1000.0)}, ids(1)},
		{"number ge", []store.FieldFilter{f("balanceDue", "ge", 1000.0)}, ids(1, 3)},
		{"number lt", []store.FieldFilter{f("balanceDue", "lt", 0.0)}, ids(4)},
		{"number le compares numbers, not text", []store.FieldFilter{f("balanceDue", "le", 100.0)}, ids(2, 4, 5)},
		{"bool eq true", []store.FieldFilter{f("taxLiable", "eq", true)}, ids(1, 3, 5)},
		{"bool eq false", []store.FieldFilter{f("taxLiable", "eq", false)}, ids(2, 4)},
		{"null eq", []store.FieldFilter{f("displayName", "eq", nil)}, ids(4)},
		{"null ne", []store.FieldFilter{f("displayName", "ne", nil)}, ids(1, 2, 3, 5)},
		{"date text ge", []store.FieldFilter{f("lastModifiedDateTime", "ge", "2025-03-01T10:00:00Z")}, ids(3, 4, 5)},
		{"and", []store.FieldFilter{f("taxLiable", "eq", true), f("balanceDue", "lt", 1200.0), f("displayName", "ne", "Adatum")}, ids(3)},
		{"no match", []store.FieldFilter{f("number", "eq", "C9")}, ids()},
	} {
		if got := queryIDs(t, s, key, tc.filters, "", 100); !slices.Equal(got, tc.want) {
			t.Errorf("%s: ids %v, want %v", tc.name, got, tc.want)
		}
	}
	// Integer columns compare as integers.
	lines := Key("salesInvoiceLines")
	if got := queryIDs(t, s, lines, []store.FieldFilter{f("sequence", "ge", int64(20000))}, "", 100); !slices.Equal(got, ids(102, 103)) {
		t.Errorf("int ge: ids %v", got)
	}
	if got := queryIDs(t, s, lines, []store.FieldFilter{f("quantity", "eq", 2.0)}, "", 100); !slices.Equal(got, ids(102)) {
		t.Errorf("decimal eq: ids %v", got)
	}
	// The rows come back whole, their JSON as stored.
	rows, err := s.ReplicaQuery(t.Context(), key, []store.FieldFilter{f("number", "eq", "C2")}, "", 10)
	if err != nil || len(rows) != 1 {
		t.Fatalf("ReplicaQuery: %v %v", rows, err)
	}
	if want := mustGet(t, s, key, GUID(2)); string(rows[0].Raw) != string(want.Raw) || rows[0].ETag != want.ETag {
		t.Errorf("queried row %+v, want %+v", rows[0], want)
	}
}

func testRecordPaging(t *testing.T, s store.Store) {
	key := recordRows(t, s)
	filters := []store.FieldFilter{{Field: "taxLiable", Op: "eq", Value: true}}
	var got []string
	for after := ""; ; {
		page := queryIDs(t, s, key, filters, after, 2)
		if len(page) > 2 {
			t.Fatalf("page of %d, limit 2", len(page))
		}
		if len(page) == 0 {
			break
		}
		got = append(got, page...)
		after = page[len(page)-1]
	}
	if want := []string{GUID(1), GUID(3), GUID(5)}; !slices.Equal(got, want) {
		t.Fatalf("paged ids %v, want %v", got, want)
	}
	// A set that was never replicated has no rows.
	if rows, err := s.ReplicaQuery(t.Context(), Key("vendors"), nil, "", 10); err != nil || len(rows) != 0 {
		t.Fatalf("ReplicaQuery of a set without table = %v, %v", rows, err)
	}
}

func testRecordErrors(t *testing.T, s store.Store) {
	ctx := t.Context()
	key := recordRows(t, s)
	for _, tc := range []struct {
		name    string
		key     store.ReplicaKey
		filters []store.FieldFilter
		limit   int
	}{
		{"unknown field", key, []store.FieldFilter{{Field: "noSuchField", Op: "eq", Value: "x"}}, 10},
		{"field with quote", key, []store.FieldFilter{{Field: `x" OR 1=1 --`, Op: "eq", Value: "x"}}, 10},
		{"raw is not a field", key, []store.FieldFilter{{Field: "raw", Op: "eq", Value: "x"}}, 10},
		{"bad operator", key, []store.FieldFilter{{Field: "number", Op: "like", Value: "x"}}, 10},
		{"null with gt", key, []store.FieldFilter{{Field: "number", Op: "gt", Value: nil}}, 10},
		{"limit 0", key, nil, 0},
		{"empty key", store.ReplicaKey{}, nil, 10},
	} {
		_, err := s.ReplicaQuery(ctx, tc.key, tc.filters, "", tc.limit)
		wantErr(t, tc.name, err, store.ErrInvalid)
		if tc.name == "unknown field" && !strings.Contains(err.Error(), "noSuchField") {
			t.Errorf("%s: error does not name the field: %v", tc.name, err)
		}
	}
}

// orderedIDs pages through key in the order of orderBy, limit rows a page, and returns
// the ids in the order read.
func orderedIDs(t *testing.T, s store.Store, key store.ReplicaKey, filters []store.FieldFilter, orderBy string, limit int) []string {
	t.Helper()
	got := []string{}
	for after := ""; ; {
		rows, err := s.ReplicaQueryOrdered(t.Context(), key, filters, orderBy, after, limit)
		if err != nil {
			t.Fatalf("ReplicaQueryOrdered(%s, after %q): %v", orderBy, after, err)
		}
		if len(rows) > limit {
			t.Fatalf("page of %d, limit %d", len(rows), limit)
		}
		if len(rows) == 0 {
			return got
		}
		for _, r := range rows {
			got = append(got, r.ID)
		}
		if len(got) > 100 {
			t.Fatalf("paging by %s does not end: %v", orderBy, got)
		}
		after = rows[len(rows)-1].ID
	}
}

// testRecordOrdered: ordering by a field (the data browser's natural key), nulls first,
// ties by id, numbers as numbers, text in byte order, paged by the last row's id, on both
// stores alike.
func testRecordOrdered(t *testing.T, s store.Store) {
	key := recordRows(t, s)
	ids := func(ns ...int) []string {
		out := []string{}
		for _, n := range ns {
			out = append(out, GUID(n))
		}
		return out
	}
	for _, tc := range []struct {
		name, orderBy string
		filters       []store.FieldFilter
		want          []string
	}{
		// 4 has no displayName; 1 and 5 are both "Adatum" (ties by id); "O'Brien & Co" < "Trey Research".
		{"text, nulls first, ties by id", "displayName", nil, ids(4, 1, 5, 3, 2)},
		// -5 < 0 < 99.99 < 1000 < 1500.5: as text "1000" would come before "99.99".
		{"numbers as numbers", "balanceDue", nil, ids(4, 5, 2, 3, 1)},
		{"with a filter", "displayName", []store.FieldFilter{{Field: "taxLiable", Op: "eq", Value: true}}, ids(1, 5, 3)},
		{"no field is id order", "", nil, ids(1, 2, 3, 4, 5)},
	} {
		for _, limit := range []int{1, 2, 100} {
			if got := orderedIDs(t, s, key, tc.filters, tc.orderBy, limit); !slices.Equal(got, tc.want) {
				t.Errorf("%s (pages of %d): ids %v, want %v", tc.name, limit, got, tc.want)
			}
		}
	}
	// Integer columns sort as integers.
	lines := Key("salesInvoiceLines")
	if got := orderedIDs(t, s, lines, nil, "sequence", 2); !slices.Equal(got, ids(101, 102, 103)) {
		t.Errorf("lines by sequence: %v", got)
	}
	// Byte order: upper case before lower case, on PostgreSQL whatever its locale.
	apply(t, s, store.ReplicaBatch{Key: key, Upserts: []store.ReplicaRow{
		{ID: GUID(6), ETag: ETag(1), Raw: json.RawMessage(`{"id":"` + GUID(6) + `","number":"C6","displayName":"adatum"}`)},
		{ID: GUID(7), ETag: ETag(1), Raw: json.RawMessage(`{"id":"` + GUID(7) + `","number":"C7","displayName":"Zeta"}`)},
	}})
	if got := orderedIDs(t, s, key, nil, "displayName", 3); !slices.Equal(got, ids(4, 1, 5, 3, 2, 7, 6)) {
		t.Errorf("byte order: %v", got)
	}
	ctx := t.Context()
	_, err := s.ReplicaQueryOrdered(ctx, key, nil, "displayName", GUID(99), 10)
	wantErr(t, "after a row that is gone", err, store.ErrInvalid)
	if err != nil && !strings.Contains(err.Error(), GUID(99)) {
		t.Errorf("the error does not name the row: %v", err)
	}
	for _, bad := range []string{"noSuchField", `x" OR 1=1 --`, "raw"} {
		_, err := s.ReplicaQueryOrdered(ctx, key, nil, bad, "", 10)
		wantErr(t, "order by "+bad, err, store.ErrInvalid)
	}
}
