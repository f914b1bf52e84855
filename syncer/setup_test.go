package syncer_test

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/bc"
	"github.com/bizzjoiner/bcconnector/conn"
	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/emulator/emulatortest"
	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/store/sqlite"
	"github.com/bizzjoiner/bcconnector/syncer"
)

// world is an emulator, a BC client for its demo connection, a SQLite store and a syncer.
type world struct {
	t      testing.TB
	sb     *emulatortest.Sandbox
	emu    *emulator.Emulator
	ref    emulator.CompanyRef
	client *bc.Client
	db     *sqlite.DB
	rs     store.ReplicaStore // the store the replica is read from: db, or another instance's
	sync   *syncer.Syncer
	connID string
}

// fastRetry keeps retries of throttled and failed pages short, so fault tests stay fast.
var fastRetry = bc.RetryOptions{BaseDelay: 5 * time.Millisecond, MaxDelay: 50 * time.Millisecond, MaxAttempts: 12}

func newWorld(t testing.TB, cfg emulator.Config, sizes string, opt syncer.Options) *world {
	t.Helper()
	sb := emulatortest.Start(t, cfg, emulatortest.Sizes(sizes))
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "replica.db"), secret.GenerateKeyring(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	opt.Store = db
	s, err := syncer.New(opt)
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, sb: sb, emu: sb.Emulator, ref: sb.Company(), db: db, rs: db, sync: s, connID: "conn1"}
	w.client = w.open(conn.Options{Retry: fastRetry}).BC
	return w
}

// open opens the sandbox's connection through conn, over the sandbox's client unless
// opt names another.
func (w *world) open(opt conn.Options) *conn.Conn {
	w.t.Helper()
	cr := w.sb.Creds
	if opt.HTTPClient == nil {
		opt.HTTPClient = w.sb.Client()
	}
	cn, err := conn.Open(store.Connection{TenantID: cr.TenantID, ClientID: cr.ClientID, Environment: cr.Environment,
		AuthorityHost: w.sb.AuthorityHost(), BCBaseURL: w.sb.BCBaseURL()}, secret.Credential{Secret: secret.Secret(cr.ClientSecret)}, opt)
	if err != nil {
		w.t.Fatal(err)
	}
	return cn
}

func (w *world) target(set string) syncer.Target {
	return syncer.Target{ConnectionID: w.connID, CompanyID: w.ref.CompanyID, EntitySet: set}
}

// assertEqual compares every row of the replica with the emulator's data: same ids, and
// each stored JSON byte for byte what the API sends.
func (w *world) assertEqual(sets ...string) {
	w.t.Helper()
	ctx := context.Background()
	for _, set := range sets {
		key := store.ReplicaKey{ConnectionID: w.connID, CompanyID: w.ref.CompanyID, EntitySet: set}
		want := map[string]bool{}
		for row := range w.emu.Rows(w.ref, set) {
			want[row["id"].(string)] = true
		}
		n, bad := 0, false
		for after := ""; ; {
			page, err := w.rs.ReplicaList(ctx, key, after, 5000)
			if err != nil {
				w.t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			after = page[len(page)-1].ID
			for _, got := range page {
				n++
				if !want[got.ID] {
					w.t.Errorf("%s: replica has %s, which BC does not", set, got.ID)
					bad = true
					continue
				}
				delete(want, got.ID)
				if src, _ := w.emu.RowJSON(w.ref, set, got.ID); !bytes.Equal(src, got.Raw) {
					w.t.Errorf("%s %s differs:\n BC:      %s\n replica: %s", set, got.ID, src, got.Raw)
					bad = true
				}
			}
		}
		for id := range want {
			w.t.Errorf("%s: replica lacks %s", set, id)
			bad = true
		}
		if bad {
			w.t.Fatalf("%s: replica (%d rows) differs from BC", set, n)
		}
	}
}

// assertChangeLog checks the change log has no gap and no (id, etag) twice.
func (w *world) assertChangeLog() []store.Change {
	w.t.Helper()
	var all []store.Change
	var since int64
	for {
		page, err := w.rs.Changes(context.Background(), since, 5000)
		if err != nil {
			w.t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		all = append(all, page...)
		since = page[len(page)-1].Seq
	}
	seen := map[string]bool{}
	for i, c := range all {
		if c.Seq != int64(i+1) {
			w.t.Fatalf("change log gap: entry %d has seq %d", i, c.Seq)
		}
		k := c.EntitySet + "/" + c.ID + "/" + string(c.Op) + "/" + c.ETag
		if c.Op != store.OpDelete && seen[k] {
			w.t.Fatalf("change applied twice: %+v", c)
		}
		seen[k] = true
	}
	return all
}
