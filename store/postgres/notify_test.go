package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/store/postgres/pgtest"
	"github.com/bizzjoiner/bcconnector/store/storetest"
)

// receive returns the next payload from ch, failing t after 20 s.
func receive(t *testing.T, ch <-chan string) string {
	t.Helper()
	select {
	case p := <-ch:
		return p
	case <-time.After(20 * time.Second):
		t.Fatal("no notification within 20 s")
		return ""
	}
}

// TestNotifyAcrossInstances: two stores on one schema (two instances) hear each other's
// connection changes; a store on another schema of the same database hears nothing.
func TestNotifyAcrossInstances(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	schema := pgtest.Schema(t, url)
	kr := secret.GenerateKeyring()
	open := func(schema string) *DB {
		db, err := Open(t.Context(), url, kr, Options{Schema: schema})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	a, b := open(schema), open(schema)
	other := open(pgtest.Schema(t, url))

	got := make(chan string, 10)
	defer a.Subscribe(store.ChannelConnection, func(p string) { got <- p })()
	heard := make(chan string, 10)
	defer other.Subscribe(store.ChannelConnection, func(p string) { heard <- p })()

	c, err := b.CreateConnection(t.Context(), storetest.NewConnection("shared"))
	if err != nil {
		t.Fatal(err)
	}
	c.Environment = "Sandbox"
	if _, err := b.UpdateConnection(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	if p := receive(t, got); p != c.ID {
		t.Fatalf("instance a heard %q, want the connection ID %q", p, c.ID)
	}
	// The other schema's store hears its own messages only.
	if err := other.Publish(t.Context(), store.ChannelConnection, "mine"); err != nil {
		t.Fatal(err)
	}
	if p := receive(t, heard); p != "mine" {
		t.Fatalf("a store of another schema heard %q, want only its own message", p)
	}
}

// TestNotifyReconnect: when the listening connection is killed, the subscriber gets the
// empty payload (anything may have changed) once the store listens again, and messages
// flow again.
func TestNotifyReconnect(t *testing.T) {
	t.Parallel()
	db := openTest(t, secret.GenerateKeyring(), Options{})
	got := make(chan string, 10)
	defer db.Subscribe("x", func(p string) { got <- p })()
	if _, err := db.pool.Exec(t.Context(), `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE query LIKE 'LISTEN %' AND query LIKE '%'||$1||'%'`, db.listen.channel); err != nil {
		t.Fatal(err)
	}
	if p := receive(t, got); p != "" {
		t.Fatalf("after the reconnection the subscriber got %q, want the empty payload", p)
	}
	if err := db.Publish(context.Background(), "x", "again"); err != nil {
		t.Fatal(err)
	}
	if p := receive(t, got); p != "again" {
		t.Fatalf("after the reconnection got %q, want %q", p, "again")
	}
}
