package service

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/conn"
	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/store/postgres"
	"github.com/bizzjoiner/bcconnector/store/postgres/pgtest"
	"github.com/bizzjoiner/bcconnector/store/sqlite"
	"github.com/bizzjoiner/bcconnector/store/storetest"
)

// TestConnCacheFollowsOtherInstances: an instance's opened connection (which holds the
// client secret) is dropped when another instance rotates the secret, changes the
// connection or deletes it, so no instance keeps using an old secret or old settings.
// On SQLite the two "instances" share the one store of the process; on Postgres they are
// two stores on one database.
func TestConnCacheFollowsOtherInstances(t *testing.T) {
	t.Parallel()
	onTwoInstances(t, testConnCacheFollows)
}

// onTwoInstances runs test with two "instances" of the store: on SQLite the one store of
// the process (its notifications are in-process), on Postgres two stores on one schema.
func onTwoInstances(t *testing.T, test func(t *testing.T, mine, theirs Store)) {
	kr := secret.GenerateKeyring()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "bcc.db"), kr, sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		test(t, db, db)
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		url := pgtest.URL(t)
		schema := pgtest.Schema(t, url)
		var dbs [2]*postgres.DB
		for i := range dbs {
			db, err := postgres.Open(t.Context(), url, kr, postgres.Options{Schema: schema})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			dbs[i] = db
		}
		test(t, dbs[0], dbs[1])
	})
}

func testConnCacheFollows(t *testing.T, mine, theirs Store) {
	ctx := t.Context()
	var mu sync.Mutex
	var opened []string // the secret each open used
	svc, err := New(Options{Store: mine, OpenFunc: func(_ context.Context, c store.Connection, cred secret.Credential) (*conn.Conn, error) {
		mu.Lock()
		defer mu.Unlock()
		opened = append(opened, cred.Secret.Reveal()+"@"+c.Environment)
		return &conn.Conn{}, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	lastOpen := func() string {
		mu.Lock()
		defer mu.Unlock()
		return opened[len(opened)-1]
	}

	// The other instance's changes, then a marker on the same channel: messages are
	// delivered in order, so once the marker is here the service has seen the change.
	marks := make(chan string, 10)
	defer mine.Subscribe(store.ChannelConnection, func(p string) {
		if p == "marker" {
			marks <- p
		}
	})()
	synced := func() {
		t.Helper()
		if err := theirs.Publish(ctx, store.ChannelConnection, "marker"); err != nil {
			t.Fatal(err)
		}
		select {
		case <-marks:
		case <-time.After(20 * time.Second):
			t.Fatal("the marker notification did not arrive")
		}
	}
	promote := func(s store.Store, id, value string) {
		t.Helper()
		rec, err := s.AddSecret(ctx, id, secret.Secret(value), time.Time{})
		if err == nil {
			_, err = s.PromoteSecret(ctx, id, rec.ID)
		}
		if err != nil {
			t.Fatal(err)
		}
	}

	c, err := theirs.CreateConnection(ctx, storetest.NewConnection("cached"))
	if err != nil {
		t.Fatal(err)
	}
	promote(theirs, c.ID, "first~secret.value")
	synced()
	first, err := svc.Conn(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := svc.Conn(ctx, c.ID); again != first || lastOpen() != "first~secret.value@Production" {
		t.Fatalf("a second Conn opened again (%v); want the cached one", opened)
	}

	promote(theirs, c.ID, "second~secret.value")
	synced()
	rotated, err := svc.Conn(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if rotated == first || lastOpen() != "second~secret.value@Production" {
		t.Fatalf("after another instance rotated the secret, opens were %v; want one with the new secret", opened)
	}

	c.Environment = "Sandbox"
	if _, err := theirs.UpdateConnection(ctx, c); err != nil {
		t.Fatal(err)
	}
	synced()
	if updated, err := svc.Conn(ctx, c.ID); err != nil || updated == rotated || lastOpen() != "second~secret.value@Sandbox" {
		t.Fatalf("after another instance updated the connection, opens were %v (%v); want one with the new environment", opened, err)
	}

	if err := theirs.DeleteConnection(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	synced()
	if _, err := svc.Conn(ctx, c.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after another instance deleted the connection, Conn = %v; want ErrNotFound", err)
	}
}
