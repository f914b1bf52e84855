// Package pgtest gives tests a PostgreSQL database of their own: the server named by
// BCC_TEST_DATABASE_URL, in a schema created for the test and dropped after it, so tests
// run in parallel on one server.
package pgtest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL names the server the tests use, e.g.
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable. Without it the tests skip, or
// fail when CI=true.
const EnvURL = "BCC_TEST_DATABASE_URL"

// URL returns the test server's URL, or skips t (fails it when CI=true) when there is none.
func URL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(EnvURL)
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set; CI must run the PostgreSQL tests (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)", EnvURL)
		}
		t.Skipf("%s is not set; set it to a PostgreSQL database to run these tests", EnvURL)
	}
	return u
}

// seq numbers the schemas of one test process; with the pid it makes names unique on
// the server without randomness.
var seq atomic.Int64

// Schema creates a schema for t, unique on the server, drops it (with everything in it)
// when t ends, and returns its name.
func Schema(t testing.TB, serverURL string) string {
	t.Helper()
	name := strings.Map(func(r rune) rune {
		if 'a' <= r && r <= 'z' || '0' <= r && r <= '9' {
			return r
		}
		return '_'
	}, strings.ToLower(t.Name()))
	prefix := fmt.Sprintf("t%d_%d_", os.Getpid(), seq.Add(1))
	// At most 46 bytes: River names its notification channels "<schema>.river_leadership"
	// and PostgreSQL allows 63 bytes per channel name (serve refuses longer schemas).
	const maxLen = 63 - len(".river_leadership")
	if len(prefix)+len(name) > maxLen {
		name = name[len(name)-(maxLen-len(prefix)):]
	}
	schema := prefix + name
	exec(t, serverURL, `CREATE SCHEMA `+pgx.Identifier{schema}.Sanitize())
	t.Cleanup(func() { exec(t, serverURL, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`) })
	return schema
}

// SchemaURL creates a schema for t (see Schema) and returns the server's URL with that
// schema as its search_path, for code that takes only a URL.
func SchemaURL(t testing.TB) string {
	t.Helper()
	u := URL(t)
	schema := Schema(t, u)
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatalf("%s must be a postgres:// URL: %v", EnvURL, err)
	}
	q := pu.Query()
	q.Set("search_path", schema)
	pu.RawQuery = q.Encode()
	return pu.String()
}

func exec(t testing.TB, serverURL, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		t.Errorf("pgtest: connect: %v", err)
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Errorf("pgtest: %s: %v", sql, err)
	}
}
