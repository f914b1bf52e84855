package sqlite

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/bcschema"
	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/store/internal/sqlstore"
	"github.com/bizzjoiner/bcconnector/store/storetest"
)

func openReplica(t *testing.T) *DB {
	t.Helper()
	return openTest(t, filepath.Join(t.TempDir(), "replica.db"), secret.GenerateKeyring(), Options{})
}

// TestTypedColumns queries the view's field columns with SQL.
func TestTypedColumns(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := openReplica(t)
	cust := storetest.Entity(t, "customers")
	if err := db.EnsureReplica(ctx, cust); err != nil {
		t.Fatal(err)
	}
	key := storetest.Key("customers")
	lm := time.Date(2025, 3, 1, 10, 0, 0, 250_000_000, time.UTC)
	rows := []store.ReplicaRow{
		storetest.Customer(storetest.GUID(1), storetest.ETag(1), "Adatum Corporation", lm),
		storetest.Customer(storetest.GUID(2), storetest.ETag(1), "Trey Research", lm.Add(time.Hour)),
		{ID: storetest.GUID(3), ETag: "e", Raw: json.RawMessage(`{"displayName":"Odd","balanceDue":"not a number","taxLiable":"maybe"}`)},
	}
	if _, err := db.ApplyBatch(ctx, store.ReplicaBatch{Key: key, Upserts: rows}); err != nil {
		t.Fatal(err)
	}
	// Another company's and another connection's rows stay out of a keyed query.
	for _, k := range []store.ReplicaKey{{ConnectionID: key.ConnectionID, CompanyID: storetest.Company2, EntitySet: "customers"}, {ConnectionID: "other", CompanyID: key.CompanyID, EntitySet: "customers"}} {
		if _, err := db.ApplyBatch(ctx, store.ReplicaBatch{Key: k, Upserts: rows[1:2]}); err != nil {
			t.Fatal(err)
		}
	}
	var name, modified, tBal, tTax, tName, etag, raw string
	var bal float64
	var tax, lastMod int64
	err := db.read.QueryRowContext(ctx, `SELECT "displayName", "balanceDue", "taxLiable", "lastModifiedDateTime",
		typeof("displayName"), typeof("balanceDue"), typeof("taxLiable"), etag, last_modified, raw
		FROM replica_customers WHERE connection_id = ? AND company_id = ? AND "displayName" = ?`,
		key.ConnectionID, key.CompanyID, "Trey Research").Scan(&name, &bal, &tax, &modified, &tName, &tBal, &tTax, &etag, &lastMod, &raw)
	if err != nil {
		t.Fatal(err)
	}
	if name != "Trey Research" || bal != 1234.5 || tax != 1 || modified != "2025-03-01T11:00:00.25Z" ||
		tName != "text" || tBal != "real" || tTax != "integer" {
		t.Fatalf("field columns = %q %v %v %q (%s, %s, %s)", name, bal, tax, modified, tName, tBal, tTax)
	}
	if etag != storetest.ETag(1) || lastMod != lm.Add(time.Hour).UnixMilli() || raw != string(rows[1].Raw) {
		t.Fatalf("key columns = %s %d %s", etag, lastMod, raw)
	}
	var n int
	if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM replica_customers WHERE connection_id = ? AND company_id = ? AND "balanceDue" > 1000 AND "type" = 'Company'`,
		key.ConnectionID, key.CompanyID).Scan(&n); err != nil || n != 2 {
		t.Fatalf("count by field columns = %d, %v", n, err)
	}
	if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM replica_customers`).Scan(&n); err != nil || n != 5 {
		t.Fatalf("rows of all keys = %d, %v; want 5", n, err)
	}
	// A value of an unexpected type reads back as stored.
	var odd any
	if err := db.read.QueryRowContext(ctx, `SELECT "balanceDue" FROM replica_customers WHERE id = ?`, storetest.GUID(3)).Scan(&odd); err != nil || odd != "not a number" {
		t.Fatalf("odd balanceDue = %v, %v", odd, err)
	}

	// A new field gets a column that reads the existing rows; a removed one loses it.
	grown := *cust
	grown.Fields = append(slices.Clone(cust.Fields[1:]),
		&bcschema.Field{Name: "loyaltyTier", Type: bcschema.TypeInt32},
		&bcschema.Field{Name: "type", Type: bcschema.TypeString}, // duplicate: skipped
	)
	if err := db.EnsureReplica(ctx, &grown); err != nil {
		t.Fatal(err)
	}
	cols := columns(t, db, "replica_customers")
	if _, ok := cols["loyaltyTier"]; !ok {
		t.Fatalf("no loyaltyTier column after migration: %v", cols)
	}
	var tier any
	if err := db.read.QueryRowContext(ctx, `SELECT "loyaltyTier" FROM replica_customers WHERE id = ?`, storetest.GUID(1)).Scan(&tier); err != nil || tier != nil {
		t.Fatalf("loyaltyTier of an old row = %v, %v; want NULL", tier, err)
	}
	if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM replica_customers`).Scan(&n); err != nil || n != 5 {
		t.Fatalf("rows after migration = %d, %v; want 5", n, err)
	}
}

// columns returns the column names of a table or view.
func columns(t *testing.T, db *DB, table string) map[string]bool {
	t.Helper()
	rows, err := db.read.QueryContext(t.Context(), `SELECT name FROM pragma_table_info(?)`, table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		out[n] = true
	}
	return out
}

// TestEnsureEveryEntitySet creates the replica of every entity set of the API v2.0 schema
// and checks the view's columns against the fields.
func TestEnsureEveryEntitySet(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	var logs bytes.Buffer
	db := openTest(t, filepath.Join(t.TempDir(), "all.db"), secret.GenerateKeyring(), Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	schema := bcschema.MustLoad()
	for _, name := range schema.EntitySetNames() {
		ent, _ := schema.EntitySet(name)
		if err := db.EnsureReplica(ctx, ent); err != nil {
			t.Fatalf("EnsureReplica(%s): %v", name, err)
		}
		cols := columns(t, db, "replica_"+name)
		for _, k := range sqlstore.ReplicaKeyColumns {
			if !cols[k] {
				t.Errorf("%s: no %s column", name, k)
			}
		}
		for _, f := range ent.Fields {
			skip := f.Type == bcschema.TypeStream || f.FilterOnly
			if cols[f.Name] == skip {
				t.Errorf("%s.%s (%s, filterOnly %v): column present = %v", name, f.Name, f.Type, f.FilterOnly, cols[f.Name])
			}
		}
		if len(cols) > len(ent.Fields)+len(sqlstore.ReplicaKeyColumns) {
			t.Errorf("%s: %d columns for %d fields", name, len(cols), len(ent.Fields))
		}
	}
	// Again: nothing to do.
	logs.Reset()
	for _, name := range schema.EntitySetNames() {
		ent, _ := schema.EntitySet(name)
		if err := db.EnsureReplica(ctx, ent); err != nil {
			t.Fatalf("EnsureReplica(%s) again: %v", name, err)
		}
	}
	if logs.Len() > 0 {
		t.Errorf("EnsureReplica with unchanged schemas changed something: %s", logs.String())
	}
	// A name differing only in case would share the table.
	ent, _ := schema.EntitySet("customers")
	upper := *ent
	upper.EntitySet = "Customers"
	if err := db.EnsureReplica(ctx, &upper); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("EnsureReplica(Customers) after customers: err = %v, want ErrConflict", err)
	}
	// So would a set whose view is named like another set's table.
	clash := *ent
	clash.EntitySet = "customers_rows"
	if err := db.EnsureReplica(ctx, &clash); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("EnsureReplica(customers_rows): err = %v, want ErrConflict", err)
	}
	// The change log view reads.
	var n int
	if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM change_log`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("change_log: %d, %v", n, err)
	}
}

// TestApplyBatchCancelledMidway cancels the context after the rows are written, inside
// the transaction: nothing stays and the change log has no gap.
func TestApplyBatchCancelledMidway(t *testing.T) {
	t.Parallel()
	db := openReplica(t)
	if err := db.EnsureReplica(t.Context(), storetest.Entity(t, "customers")); err != nil {
		t.Fatal(err)
	}
	key := storetest.Key("customers")
	lm := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	batch := func(from, n int) store.ReplicaBatch {
		b := store.ReplicaBatch{Key: key, CheckpointName: "p", Checkpoint: json.RawMessage(`1`)}
		for i := from; i < from+n; i++ {
			b.Upserts = append(b.Upserts, storetest.Customer(storetest.GUID(i), storetest.ETag(1), "x", lm))
		}
		return b
	}
	if _, err := db.ApplyBatch(t.Context(), batch(0, 10)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	stages := 0
	db.hook = func(stage string) { stages++; cancel() }
	b := batch(10, 250)
	b.Deletes = []string{storetest.GUID(1)}
	b.CheckpointDone = true
	_, err := db.ApplyBatch(ctx, b)
	db.hook = nil
	if err == nil || stages != 1 {
		t.Fatalf("cancelled batch: err = %v after %d hook calls", err, stages)
	}
	if n, _ := db.ReplicaCount(t.Context(), key); n != 10 {
		t.Fatalf("%d rows after the cancelled batch, want 10", n)
	}
	if st, _ := db.SyncState(t.Context(), key); string(st.Checkpoints["p"]) != "1" {
		t.Fatalf("checkpoint after the cancelled batch = %s", st.Checkpoints["p"])
	}
	res, err := db.ApplyBatch(t.Context(), batch(10, 5))
	if err != nil {
		t.Fatal(err)
	}
	if res.Inserted != 5 || res.LastSeq != 15 {
		t.Fatalf("next batch = %+v, want 5 inserted, LastSeq 15", res)
	}
	changes, _ := db.Changes(t.Context(), 0, 100)
	for i, c := range changes {
		if c.Seq != int64(i+1) {
			t.Fatalf("change %d has seq %d", i, c.Seq)
		}
	}
}

// TestApplyBatchFailsMidStatement makes a row insert fail inside a multi-row statement
// (a trigger on the writer connection), once rolling back the statement and once the
// transaction: either way nothing of the batch stays, the change log has no gap and the
// store keeps working.
func TestApplyBatchFailsMidStatement(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := openReplica(t)
	if err := db.EnsureReplica(ctx, storetest.Entity(t, "customers")); err != nil {
		t.Fatal(err)
	}
	key := storetest.Key("customers")
	lm := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	batch := func(from, n int) store.ReplicaBatch {
		var b store.ReplicaBatch
		b.Key = key
		for i := from; i < from+n; i++ {
			b.Upserts = append(b.Upserts, storetest.Customer(storetest.GUID(i), storetest.ETag(1), "x", lm))
		}
		return b
	}
	if _, err := db.ApplyBatch(ctx, batch(0, 10)); err != nil {
		t.Fatal(err)
	}
	seq := int64(10)
	for i, raise := range []string{"ABORT", "ROLLBACK"} {
		bad := storetest.GUID(10 + 150 + i) // in the second chunk of 100
		if _, err := db.write.ExecContext(ctx, `CREATE TEMP TRIGGER fail BEFORE INSERT ON "replica_customers_rows"
			WHEN NEW.id = '`+bad+`' BEGIN SELECT RAISE(`+raise+`, 'refused'); END`); err != nil {
			t.Fatal(err)
		}
		b := batch(10, 250)
		b.Upserts = append(b.Upserts, storetest.Customer(storetest.GUID(1), storetest.ETag(2), "changed", lm))
		b.CheckpointName, b.Checkpoint = "p", json.RawMessage(`1`)
		if _, err := db.ApplyBatch(ctx, b); err == nil || !strings.Contains(err.Error(), "refused") {
			t.Fatalf("RAISE(%s): err = %v", raise, err)
		}
		if _, err := db.write.ExecContext(ctx, `DROP TRIGGER temp.fail`); err != nil {
			t.Fatal(err)
		}
		if n, _ := db.ReplicaCount(ctx, key); n != int64(10+i) {
			t.Fatalf("RAISE(%s): %d rows, want %d", raise, n, 10+i)
		}
		if r, _ := db.ReplicaGet(ctx, key, storetest.GUID(1)); r.ETag != storetest.ETag(1) {
			t.Fatalf("RAISE(%s): row 1 changed: %+v", raise, r)
		}
		if st, _ := db.SyncState(ctx, key); st.Checkpoints != nil {
			t.Fatalf("RAISE(%s): checkpoint stored", raise)
		}
		res, err := db.ApplyBatch(ctx, batch(1000+i, 1))
		seq++
		if err != nil || res.LastSeq != seq {
			t.Fatalf("RAISE(%s): next batch = %+v, %v; want LastSeq %d", raise, res, err, seq)
		}
	}
}

// TestQueryPlans checks that ApplyBatch's statements use the indexes rather than scan.
func TestQueryPlans(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := openReplica(t)
	if err := db.EnsureReplica(ctx, storetest.Entity(t, "salesInvoiceLines")); err != nil {
		t.Fatal(err)
	}
	tbl := quoteIdent(rowsTable("salesInvoiceLines"))
	// The data browser's first page in the order of a field makes its index.
	if err := db.orderIndex(ctx, rowsTable("salesInvoiceLines"), "sequence"); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`SELECT id FROM ` + tbl + ` WHERE scope = 1 ORDER BY id DESC LIMIT 1`,
		`SELECT id, etag FROM ` + tbl + ` WHERE scope = 1 AND id IN (SELECT value FROM json_each('["x","y"]'))`,
		`DELETE FROM ` + tbl + ` WHERE scope = 1 AND parent_id IS NOT NULL
			AND parent_id IN (SELECT value FROM json_each('["p"]')) AND id NOT IN (SELECT value FROM json_each('["x"]'))`,
		`SELECT count(*) FROM ` + tbl + ` WHERE scope = 1 AND last_modified > 5`,
		`SELECT id, etag FROM ` + tbl + ` WHERE scope = 1 AND id > '' ORDER BY id LIMIT 10`,
		`SELECT "description" FROM "replica_salesInvoiceLines" WHERE connection_id = 'a' AND company_id = 'b' AND parent_id = 'p'`,
		// The data browser's pages in the natural key's order (ReplicaQueryOrdered).
		`SELECT id FROM "replica_salesInvoiceLines" WHERE connection_id = 'a' AND company_id = 'b' ORDER BY "sequence", id LIMIT 50`,
		`SELECT id FROM "replica_salesInvoiceLines" WHERE connection_id = 'a' AND company_id = 'b' AND "sequence" >= 20000 AND ("sequence" > 20000 OR id > 'x') ORDER BY "sequence", id LIMIT 50`,
		`SELECT b.first_seq FROM change_batches AS b JOIN scopes AS s ON s.scope = b.scope
			WHERE b.first_seq >= coalesce((SELECT max(first_seq) FROM change_batches WHERE first_seq <= 5), 5) ORDER BY b.first_seq`,
	} {
		rows, err := db.write.QueryContext(ctx, "EXPLAIN QUERY PLAN "+q)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			rows.Scan(&id, &parent, &notused, &detail)
			plan = append(plan, detail)
		}
		rows.Close()
		for _, p := range plan {
			if strings.HasPrefix(p, "SCAN ") && !strings.HasPrefix(p, "SCAN json_each") || strings.Contains(p, "TEMP B-TREE") {
				t.Errorf("%s\nplan: %s", q, strings.Join(plan, " | "))
			}
		}
	}
}

// TestAssumeNewFallsBack: a batch marked AssumeNew that meets stored rows is still applied
// exactly: existing rows count as updates (or unchanged), never as second inserts.
func TestAssumeNewFallsBack(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := openReplica(t)
	if err := db.EnsureReplica(ctx, storetest.Entity(t, "customers")); err != nil {
		t.Fatal(err)
	}
	key := storetest.Key("customers")
	lm := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	first := []store.ReplicaRow{storetest.Customer(storetest.GUID(2), storetest.ETag(1), "B", lm)}
	if _, err := db.ApplyBatch(ctx, store.ReplicaBatch{Key: key, Upserts: first, AssumeNew: true}); err != nil {
		t.Fatal(err)
	}
	second := []store.ReplicaRow{
		storetest.Customer(storetest.GUID(1), storetest.ETag(1), "A", lm),
		storetest.Customer(storetest.GUID(2), storetest.ETag(2), "B2", lm),
		storetest.Customer(storetest.GUID(3), storetest.ETag(1), "C", lm),
	}
	res, err := db.ApplyBatch(ctx, store.ReplicaBatch{Key: key, Upserts: second, AssumeNew: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Inserted != 2 || res.Updated != 1 {
		t.Errorf("result %+v, want 2 inserted and 1 updated", res)
	}
	changes, _ := db.Changes(ctx, 0, 100)
	if len(changes) != 4 {
		t.Fatalf("%d changes, want 4: %+v", len(changes), changes)
	}
	for i, c := range changes {
		if c.Seq != int64(i+1) {
			t.Errorf("gap at %d: %+v", i, c)
		}
	}
	if changes[2].Op != store.OpUpdate || changes[2].ID != storetest.GUID(2) {
		t.Errorf("the stored row was not logged as an update: %+v", changes)
	}
}

// TestDeleteConnectionDeletesItsReplica: removing a customer's connection removes its
// replicated rows and sync state, not another connection's, and leaves the change log
// without a gap.
func TestDeleteConnectionDeletesItsReplica(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := openReplica(t)
	if err := db.EnsureReplica(ctx, storetest.Entity(t, "customers")); err != nil {
		t.Fatal(err)
	}
	var keys []store.ReplicaKey
	for _, name := range []string{"Gone", "Stays"} {
		c, err := db.CreateConnection(ctx, store.Connection{Name: name, TenantID: "contoso.onmicrosoft.com",
			ClientID: storetest.GUID(9), Environment: "Production", CompanyID: storetest.GUID(8)})
		if err != nil {
			t.Fatal(err)
		}
		k := store.ReplicaKey{ConnectionID: c.ID, CompanyID: storetest.GUID(8), EntitySet: "customers"}
		keys = append(keys, k)
		rows := []store.ReplicaRow{storetest.Customer(storetest.GUID(1), storetest.ETag(1), name, time.Now())}
		if _, err := db.ApplyBatch(ctx, store.ReplicaBatch{Key: k, Upserts: rows}); err != nil {
			t.Fatal(err)
		}
		if err := db.UpdateSyncState(ctx, k, func(st *store.SyncState) { st.FullSyncDone = true }); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.DeleteConnection(ctx, keys[0].ConnectionID); err != nil {
		t.Fatal(err)
	}
	if n, _ := db.ReplicaCount(ctx, keys[0]); n != 0 {
		t.Errorf("%d replica rows left behind", n)
	}
	if st, _ := db.SyncState(ctx, keys[0]); st.FullSyncDone {
		t.Error("sync state left behind")
	}
	if n, _ := db.ReplicaCount(ctx, keys[1]); n != 1 {
		t.Errorf("the other connection lost its rows: %d", n)
	}
	if ch, _ := db.Changes(ctx, 0, 10); len(ch) != 2 || ch[1].Seq != 2 {
		t.Errorf("change log: %+v", ch)
	}
	if n := countMarks(t, db); n != 1 {
		t.Errorf("%d marks, want the other connection's 1", n)
	}
}

func countMarks(t *testing.T, db *DB) int {
	t.Helper()
	var n int
	if err := db.read.QueryRowContext(t.Context(), `SELECT count(*) FROM replica_marks`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestMarksPruned runs storetest.RunMarksPruned.
func TestMarksPruned(t *testing.T) {
	t.Parallel()
	storetest.RunMarksPruned(t, func(t *testing.T, now func() time.Time) (store.ReplicaStore, func() int) {
		db := openTest(t, filepath.Join(t.TempDir(), "replica.db"), secret.GenerateKeyring(), Options{Now: now})
		return db, func() int { return countMarks(t, db) }
	})
}

// TestViewStableAcrossConnections: two connections whose customers differ in an
// extension field alternate their passes; after the first round the view is never
// re-created (no DDL flip-flop), and it has both fields' columns.
func TestViewStableAcrossConnections(t *testing.T) {
	t.Parallel()
	db := openReplica(t)
	viewSQL := func() (sql, updated string) {
		t.Helper()
		if err := db.read.QueryRowContext(t.Context(), `SELECT (SELECT sql FROM sqlite_schema WHERE type = 'view' AND name = 'replica_customers'), updated_at
			FROM replicas WHERE entity_set = 'customers'`).Scan(&sql, &updated); err != nil {
			t.Fatal(err)
		}
		return sql, updated
	}
	storetest.AlternateExtensionFields(t, db, 1)
	sql, updated := viewSQL()
	if !strings.Contains(sql, `"loyaltyTier"`) || !strings.Contains(sql, `"creditScore"`) {
		t.Fatalf("the view lacks a connection's field:\n%s", sql)
	}
	storetest.AlternateExtensionFields(t, db, 3)
	if sql2, updated2 := viewSQL(); sql2 != sql || updated2 != updated {
		t.Fatalf("the view was re-created by alternating passes (updated %s → %s):\n%s\n→\n%s", updated, updated2, sql, sql2)
	}
}
