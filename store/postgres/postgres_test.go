package postgres

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/bcschema"
	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/store/postgres/pgtest"
	"github.com/bizzjoiner/bcconnector/store/storetest"
)

// openTest opens a store in a schema of its own.
func openTest(t testing.TB, kr *secret.Keyring, opt Options) *DB {
	t.Helper()
	url := pgtest.URL(t)
	opt.Schema = pgtest.Schema(t, url)
	db, err := Open(context.Background(), url, kr, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, kr *secret.Keyring) store.Store {
		return openTest(t, kr, Options{MaxConns: 8})
	})
}

// TestConcurrentMigrations starts several instances on one empty schema at once: each
// opens, the migrations are applied once.
// TestMarksPruned runs storetest.RunMarksPruned.
func TestMarksPruned(t *testing.T) {
	t.Parallel()
	storetest.RunMarksPruned(t, func(t *testing.T, now func() time.Time) (store.ReplicaStore, func() int) {
		db := openTest(t, secret.GenerateKeyring(), Options{Now: now})
		return db, func() int {
			var n int
			if err := db.pool.QueryRow(t.Context(), `SELECT count(*) FROM replica_marks`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
	})
}

func TestConcurrentMigrations(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	schema := pgtest.Schema(t, url)
	const instances = 4
	dbs := make([]*DB, instances)
	errs := make([]error, instances)
	var wg sync.WaitGroup
	for i := range instances {
		wg.Go(func() {
			dbs[i], errs[i] = Open(t.Context(), url, secret.GenerateKeyring(), Options{Schema: schema})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("instance %d: %v", i, err)
		}
		t.Cleanup(func() { dbs[i].Close() })
	}
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	var n, distinct int
	if err := dbs[0].pool.QueryRow(t.Context(), `SELECT count(*), count(DISTINCT version) FROM schema_migrations`).Scan(&n, &distinct); err != nil {
		t.Fatal(err)
	}
	if n != len(ms) || distinct != len(ms) {
		t.Fatalf("schema_migrations has %d rows (%d versions), want each of the %d migrations once", n, distinct, len(ms))
	}
	// A database migrated by a newer bcconnector is refused.
	if _, err := dbs[0].pool.Exec(t.Context(), `INSERT INTO schema_migrations VALUES (9999, '9999_future.sql', now())`); err != nil {
		t.Fatal(err)
	}
	if db, err := Open(t.Context(), url, secret.GenerateKeyring(), Options{Schema: schema}); err == nil || !strings.Contains(err.Error(), "upgrade bcconnector") {
		if db != nil {
			db.Close()
		}
		t.Fatalf("Open of a newer schema: %v, want an error saying to upgrade", err)
	}
}

// TestChangeLogManyWriters is the change log's proof on PostgreSQL: 8 writers, on separate
// pool connections of two store instances (as two processes would be), commit batches at
// once while a follower reads the log in Seq order. Every number is used exactly once, and
// the follower never sees a later number before an earlier one is visible.
func TestChangeLogManyWriters(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	schema := pgtest.Schema(t, url)
	ctx := t.Context()
	var instances [2]*DB
	for i := range instances {
		db, err := Open(ctx, url, secret.GenerateKeyring(), Options{Schema: schema, MaxConns: 6})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		instances[i] = db
	}
	if err := instances[0].EnsureReplica(ctx, storetest.Entity(t, "customers")); err != nil {
		t.Fatal(err)
	}
	const writers, batches, perBatch = 8, 25, 4
	lm := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	var done atomic.Bool
	errs := make(chan error, writers+1)
	for w := range writers {
		db := instances[w%2]
		key := storetest.Key("customers")
		key.CompanyID = storetest.GUID(w) // its own scope: the writers do not queue on a set
		wg.Go(func() {
			for b := range batches {
				var rows []store.ReplicaRow
				for i := range perBatch {
					rows = append(rows, storetest.Customer(storetest.GUID(b*100+i), storetest.ETag(1), "x", lm))
				}
				if _, err := db.ApplyBatch(context.Background(), store.ReplicaBatch{Key: key, Upserts: rows}); err != nil {
					errs <- fmt.Errorf("writer %d batch %d: %w", w, b, err)
					return
				}
			}
		})
	}
	var follower sync.WaitGroup
	var seen int64
	pages := 0
	follower.Go(func() {
		for {
			finished := done.Load()
			page, err := instances[1].Changes(context.Background(), seen, 50)
			if err != nil {
				errs <- err
				return
			}
			if len(page) > 0 {
				pages++
			}
			for _, c := range page {
				if c.Seq != seen+1 {
					errs <- fmt.Errorf("follower at seq %d read %d: a later change was visible before an earlier one", seen, c.Seq)
					return
				}
				seen = c.Seq
			}
			if finished && len(page) == 0 {
				return
			}
		}
	})
	wg.Wait()
	done.Store(true)
	follower.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	total := int64(writers * batches * perBatch)
	if seen != total {
		t.Fatalf("follower read up to seq %d, want %d", seen, total)
	}
	var n, distinct, lo, hi int64
	if err := instances[0].pool.QueryRow(ctx, `SELECT count(*), count(DISTINCT seq), min(seq), max(seq) FROM change_log`).Scan(&n, &distinct, &lo, &hi); err != nil {
		t.Fatal(err)
	}
	if n != total || distinct != total || lo != 1 || hi != total {
		t.Fatalf("change_log: %d entries, %d distinct seqs from %d to %d; want 1..%d once each", n, distinct, lo, hi, total)
	}
	t.Logf("%d changes in %d follower pages", total, pages)
}

// TestTypedView reads the replica's view with SQL: field columns typed by the schema,
// values of another JSON type read as NULL, raw as stored.
func TestTypedView(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := openTest(t, secret.GenerateKeyring(), Options{})
	if err := db.EnsureReplica(ctx, storetest.Entity(t, "customers")); err != nil {
		t.Fatal(err)
	}
	key := storetest.Key("customers")
	raw := `{"id":"` + storetest.GUID(1) + `","displayName":"Adatum","balanceDue":1234.50,"taxLiable":true}`
	odd := `{"id":"` + storetest.GUID(2) + `","displayName":7,"balanceDue":"not a number","taxLiable":"maybe"}`
	if _, err := db.ApplyBatch(ctx, store.ReplicaBatch{Key: key, Upserts: []store.ReplicaRow{
		{ID: storetest.GUID(1), ETag: "e", Raw: []byte(raw)}, {ID: storetest.GUID(2), ETag: "e", Raw: []byte(odd)},
	}}); err != nil {
		t.Fatal(err)
	}
	var types []string
	if err := db.pool.QueryRow(ctx, `SELECT array[pg_typeof("balanceDue")::text, pg_typeof("taxLiable")::text, pg_typeof("displayName")::text]
		FROM replica_customers LIMIT 1`).Scan(&types); err != nil {
		t.Fatal(err)
	}
	if want := []string{"numeric", "boolean", "text"}; !slices.Equal(types, want) {
		t.Fatalf("column types %v, want %v", types, want)
	}
	var balance *float64
	var taxLiable *bool
	var name *string
	var gotRaw string
	for id, want := range map[string]string{storetest.GUID(1): raw, storetest.GUID(2): odd} {
		if err := db.pool.QueryRow(ctx, `SELECT "balanceDue", "taxLiable", "displayName", raw FROM replica_customers
			WHERE connection_id = $1 AND company_id = $2 AND id = $3`, key.ConnectionID, key.CompanyID, id).Scan(&balance, &taxLiable, &name, &gotRaw); err != nil {
			t.Fatal(err)
		}
		if gotRaw != want {
			t.Errorf("raw %q, want %q", gotRaw, want)
		}
		if id == storetest.GUID(1) && (balance == nil || *balance != 1234.5 || taxLiable == nil || !*taxLiable || name == nil || *name != "Adatum") {
			t.Errorf("typed columns of the normal row: %v %v %v", balance, taxLiable, name)
		}
		if id == storetest.GUID(2) && (balance != nil || taxLiable != nil || name == nil || *name != "7") {
			t.Errorf("typed columns of the odd row: %v %v %v; want NULL, NULL, the number as text", balance, taxLiable, name)
		}
	}
}

// TestEnsureReplicaManyInstances: instances starting at once create the same replica
// tables; each succeeds, the table exists once, and a grown schema re-creates the view
// once under the same lock.
func TestEnsureReplicaManyInstances(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	schema := pgtest.Schema(t, url)
	const instances = 4
	dbs := make([]*DB, instances)
	for i := range dbs {
		db, err := Open(t.Context(), url, secret.GenerateKeyring(), Options{Schema: schema})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		dbs[i] = db
	}
	base := storetest.Entity(t, "customers")
	grown := *base
	grown.Fields = append(slices.Clone(base.Fields), &bcschema.Field{Name: "loyaltyTier", Type: bcschema.TypeInt32})
	for _, ent := range []*bcschema.Entity{base, &grown} {
		var wg sync.WaitGroup
		errs := make([]error, instances)
		for i, db := range dbs {
			wg.Go(func() { errs[i] = db.EnsureReplica(t.Context(), ent) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("instance %d: EnsureReplica(%d fields): %v", i, len(ent.Fields), err)
			}
		}
	}
	var n int
	if err := dbs[0].pool.QueryRow(t.Context(), `SELECT count(*) FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = 'replica_customers' AND column_name = 'loyaltyTier'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("view has %d loyaltyTier columns (%v), want 1", n, err)
	}
}

// TestOpenErrorsHidePassword: a bad or unreachable URL yields an error that says what is
// wrong without the password (it ends up in logs). Needs no server.
func TestOpenErrorsHidePassword(t *testing.T) {
	t.Parallel()
	for _, u := range []string{
		"postgres://bcc:s3cret-pw@db.example.com:99999/bcc",
		"postgres://bcc:s3cret-pw@db.example.com:5432/bcc?sslmode=bogus",
		"postgres://bcc:s3cret%zz@db.example.com:5432/bcc",
		"host=db.example.com password=s3cret-pw port=abc",
		"postgres://bcc:s3cret-pw@127.0.0.1:1/bcc?connect_timeout=2",
	} {
		db, err := Open(t.Context(), u, secret.GenerateKeyring(), Options{})
		if err == nil {
			db.Close()
			t.Fatalf("Open(%q) succeeded", u)
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("error for a bad URL shows the password: %v", err)
		}
	}
	if _, err := Open(t.Context(), "", secret.GenerateKeyring(), Options{}); err == nil || !strings.Contains(err.Error(), EnvURL) {
		t.Errorf("empty URL: %v, want an error naming %s", err, EnvURL)
	}
}

// TestViewStableAcrossConnections: two connections whose customers differ in an
// extension field alternate their passes; after the first round the view is never
// re-created (its oid stays: no DDL flip-flop), and it has both fields' typed columns.
func TestViewStableAcrossConnections(t *testing.T) {
	t.Parallel()
	db := openTest(t, secret.GenerateKeyring(), Options{})
	view := func() (oid uint32, types map[string]string) {
		t.Helper()
		if err := db.pool.QueryRow(t.Context(), `SELECT to_regclass(quote_ident('replica_customers'))::oid`).Scan(&oid); err != nil {
			t.Fatal(err)
		}
		types, err := db.viewColumnTypes(t.Context(), "replica_customers")
		if err != nil {
			t.Fatal(err)
		}
		return oid, types
	}
	storetest.AlternateExtensionFields(t, db, 1)
	oid, types := view()
	if types["loyaltyTier"] != "text" || types["creditScore"] != "numeric" {
		t.Fatalf("view columns loyaltyTier %q, creditScore %q; want text, numeric", types["loyaltyTier"], types["creditScore"])
	}
	storetest.AlternateExtensionFields(t, db, 3)
	if oid2, _ := view(); oid2 != oid {
		t.Fatalf("the view was re-created by alternating passes (oid %d → %d)", oid, oid2)
	}
}
