package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/bizzjoiner/bcconnector/store/postgres/pgtest"
)

// TestMigrate runs `bcconnector migrate` on a new SQLite file, twice.
func TestMigrate(t *testing.T) {
	t.Setenv("BCC_MASTER_KEY", "")
	dir := t.TempDir()
	for range 2 {
		code, out, errOut := runCLI(t, context.Background(), "migrate", "--db", filepath.Join(dir, "bcc.db"), "--key-file", filepath.Join(dir, "master.key"))
		if code != 0 || !strings.Contains(out, "up to date") {
			t.Fatalf("migrate: exit %d, %s %s", code, out, errOut)
		}
	}
}

// TestMigratePostgres runs `bcconnector migrate --database-url` three times at once on an
// empty schema, as instances rolling out together would: all succeed, and the tables of
// bcconnector and River are there.
func TestMigratePostgres(t *testing.T) {
	dbURL := pgtest.SchemaURL(t)
	t.Setenv("BCC_MASTER_KEY", "")
	keyFile := filepath.Join(t.TempDir(), "master.key")
	if code, out, errOut := runCLI(t, context.Background(), "migrate", "--database-url", dbURL, "--key-file", keyFile); code != 0 {
		t.Fatalf("first migrate (creates the key file): exit %d, %s %s", code, out, errOut)
	}
	t.Setenv("BCC_DATABASE_URL", dbURL) // the environment variable works as the flag does
	var wg sync.WaitGroup
	results := make([]string, 3)
	for i := range results {
		wg.Go(func() {
			code, out, errOut := runCLI(t, context.Background(), "migrate", "--key-file", keyFile)
			if code != 0 || !strings.Contains(out, "PostgreSQL") {
				results[i] = out + errOut
			}
		})
	}
	wg.Wait()
	for i, r := range results {
		if r != "" {
			t.Errorf("concurrent migrate %d: %s", i, r)
		}
	}
	conn, err := pgx.Connect(t.Context(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for _, table := range []string{"connections", "change_seq", "river_job", "river_migration"} {
		var ok bool
		if err := conn.QueryRow(t.Context(), `SELECT to_regclass($1) IS NOT NULL`, table).Scan(&ok); err != nil || !ok {
			t.Errorf("table %s missing after migrate (%v)", table, err)
		}
	}
}

// TestMigratePostgresSchemaTooLong: a schema name too long for River's notification
// channels is refused with the limit and the fix (River's inserts used to stall in it,
// with "channel name too long" only in River's own log).
func TestMigratePostgresSchemaTooLong(t *testing.T) {
	server := pgtest.URL(t)
	schema := fmt.Sprintf("t%d_a_schema_name_much_too_long_for_rivers_channels", os.Getpid())
	if len(schema) <= riverMaxSchema {
		t.Fatalf("schema %q is not longer than %d", schema, riverMaxSchema)
	}
	conn, err := pgx.Connect(t.Context(), server)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	ident := pgx.Identifier{schema}.Sanitize()
	if _, err := conn.Exec(t.Context(), `CREATE SCHEMA `+ident); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = conn.Exec(context.Background(), `DROP SCHEMA IF EXISTS `+ident+` CASCADE`) })
	pu, err := url.Parse(server)
	if err != nil {
		t.Fatal(err)
	}
	q := pu.Query()
	q.Set("search_path", schema)
	pu.RawQuery = q.Encode()
	t.Setenv("BCC_MASTER_KEY", "")
	code, out, errOut := runCLI(t, context.Background(), "migrate", "--database-url", pu.String(), "--key-file", filepath.Join(t.TempDir(), "master.key"))
	msg := out + errOut
	if code == 0 || !strings.Contains(msg, schema) || !strings.Contains(msg, fmt.Sprintf("at most %d", riverMaxSchema)) || !strings.Contains(msg, "search_path") {
		t.Fatalf("migrate in a %d-byte schema: exit %d, %s", len(schema), code, msg)
	}
}
