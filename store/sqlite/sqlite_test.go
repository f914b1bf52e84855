package sqlite

import (
	"bytes"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/store/storetest"
)

func openTest(t *testing.T, path string, kr *secret.Keyring, opt Options) *DB {
	t.Helper()
	db, err := Open(t.Context(), path, kr, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, kr *secret.Keyring) store.Store {
		return openTest(t, filepath.Join(t.TempDir(), "bcconnector.db"), kr, Options{})
	})
}

// leakForms lists the forms in which a secret could end up in a file.
func leakForms(v string) [][]byte {
	b := []byte(v)
	forms := [][]byte{b, []byte(hex.EncodeToString(b))}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		forms = append(forms, []byte(enc.EncodeToString(b)))
	}
	// UTF-16LE, in case some layer widens strings.
	var u16 []byte
	for _, c := range b {
		u16 = append(u16, c, 0)
	}
	return append(forms, u16)
}

func scanFiles(t *testing.T, dbPath, value string) (scanned int) {
	t.Helper()
	for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
		data, err := os.ReadFile(dbPath + suffix)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		scanned += len(data)
		for _, form := range leakForms(value) {
			if bytes.Contains(data, form) {
				t.Errorf("%s contains the client secret (form %.12q…)", filepath.Base(dbPath+suffix), form)
			}
		}
	}
	return scanned
}

// signingKey returns the key of a signing secret (what follows whsec_, decoded).
func signingKey(t *testing.T, s secret.Secret) string {
	t.Helper()
	k, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s.Reveal(), store.SigningSecretPrefix))
	if err != nil || len(k) != store.SigningSecretBytes {
		t.Fatalf("signing secret is not whsec_ + base64 of %d bytes: %v", store.SigningSecretBytes, err)
	}
	return string(k)
}

func TestNoSecretInDatabaseFiles(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "bcconnector.db")
	kr := secret.GenerateKeyring()
	var logs bytes.Buffer
	db := openTest(t, path, kr, Options{Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})

	// A realistic Entra secret value (40 characters).
	const value = "Q7f8Q~Xy1.aBcDeFgHiJkLmNoPqRsTuVwXyZ01234"
	c, err := db.CreateConnection(ctx, storetest.NewConnection("scan"))
	if err != nil {
		t.Fatal(err)
	}
	rec, err := db.AddSecret(ctx, c.ID, value, time.Now().AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.PromoteSecret(ctx, c.ID, rec.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddSecret(ctx, c.ID, value+"-pending", time.Time{}); err != nil {
		t.Fatal(err)
	}
	// An outbound webhook endpoint's signing secret is sealed the same way.
	signing := store.NewSigningSecret()
	ep, err := db.CreateEndpoint(ctx, store.Endpoint{URL: "https://platform.example/hooks", EventTypes: []string{"record.created"}}, signing)
	if err != nil {
		t.Fatal(err)
	}

	// Before a checkpoint the pages live in the WAL.
	if st, err := os.Stat(path + "-wal"); err != nil || st.Size() == 0 {
		t.Fatalf("expected a non-empty WAL before checkpoint: %v", err)
	}
	if n := scanFiles(t, path, value); n == 0 {
		t.Fatal("nothing scanned")
	}
	scanFiles(t, path, signing.Reveal())
	scanFiles(t, path, signingKey(t, signing))

	// Re-seal under a rotated key, then checkpoint into the main file.
	if _, err := db.ReSealAll(ctx, kr.Rotate()); err != nil {
		t.Fatal(err)
	}
	if err := db.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(path); err != nil || st.Size() < 4096 {
		t.Fatalf("database file too small after checkpoint: %v", err)
	}
	scanFiles(t, path, value)
	scanFiles(t, path, signing.Reveal())
	scanFiles(t, path, signingKey(t, signing))

	// The value is really there, sealed: it opens.
	if v, _, err := db.ActiveSecret(ctx, c.ID); err != nil || v.Reveal() != value {
		t.Fatalf("ActiveSecret: %v", err)
	}
	if vs, err := db.SigningSecrets(ctx, ep.ID); err != nil || len(vs) != 1 || vs[0] != signing {
		t.Fatalf("SigningSecrets: %v", err)
	}
	// After close (which may checkpoint again) as well.
	db.Close()
	scanFiles(t, path, value)
	scanFiles(t, path, signing.Reveal())
	scanFiles(t, path, signingKey(t, signing))

	for _, form := range append(leakForms(value), leakForms(signing.Reveal())...) {
		if bytes.Contains(logs.Bytes(), form) {
			t.Fatalf("log contains the secret: %s", logs.String())
		}
	}
}

// TestNoPrivateKeyInDatabaseFiles: a certificate credential's private key is sealed; the
// public certificate is stored as it is (the scan would see it, so it sees the key too).
func TestNoPrivateKeyInDatabaseFiles(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "bcconnector.db")
	var logs bytes.Buffer
	db := openTest(t, path, secret.GenerateKeyring(), Options{Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	c, err := db.CreateConnection(ctx, storetest.NewConnection("scan"))
	if err != nil {
		t.Fatal(err)
	}
	cert := storetest.Certificate(t, time.Now().AddDate(1, 0, 0))
	rec, err := db.AddCertificate(ctx, c.ID, cert)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.PromoteSecret(ctx, c.ID, rec.ID); err != nil {
		t.Fatal(err)
	}
	key, err := cert.PrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	var files []byte
	for _, suffix := range []string{"", "-wal"} {
		data, _ := os.ReadFile(path + suffix)
		files = append(files, data...)
	}
	if !bytes.Contains(files, cert.DER) {
		t.Fatal("the public certificate is not in the files: the scan sees nothing")
	}
	// The whole PKCS #8 key and the private exponent alone, in every encoding.
	for _, v := range [][]byte{[]byte(cert.Key.Reveal()), key.D.Bytes(), key.Primes[0].Bytes()} {
		for _, form := range leakForms(string(v)) {
			if bytes.Contains(files, form) || bytes.Contains(logs.Bytes(), form) {
				t.Fatalf("the private key (or part of it) is in the database files or the log (form %.12q…)", form)
			}
		}
	}
}

func TestFileModes(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("POSIX modes")
	}
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data", "bcconnector")
	path := filepath.Join(dir, "bcconnector.db")
	db := openTest(t, path, secret.GenerateKeyring(), Options{})
	if _, err := db.CreateConnection(t.Context(), storetest.NewConnection("x")); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(dir); st.Mode().Perm() != 0o700 {
		t.Errorf("directory mode %v, want 0700", st.Mode().Perm())
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s mode %v, want no group/other access", filepath.Base(p), st.Mode().Perm())
		}
	}
}

func TestPragmas(t *testing.T) {
	t.Parallel()
	db := openTest(t, filepath.Join(t.TempDir(), "p.db"), secret.GenerateKeyring(), Options{BusyTimeout: 1234 * time.Millisecond})
	ctx := t.Context()
	for _, pool := range []struct {
		name string
		db   *sql.DB
	}{{"write", db.write}, {"read", db.read}} {
		var mode string
		var sync, fk, busy int
		row := pool.db.QueryRowContext(ctx, "SELECT (SELECT journal_mode FROM pragma_journal_mode), (SELECT synchronous FROM pragma_synchronous), (SELECT foreign_keys FROM pragma_foreign_keys), (SELECT timeout FROM pragma_busy_timeout)")
		if err := row.Scan(&mode, &sync, &fk, &busy); err != nil {
			t.Fatal(err)
		}
		if mode != "wal" || sync != 1 || fk != 1 || busy != 1234 {
			t.Errorf("%s pool: journal_mode=%s synchronous=%d foreign_keys=%d busy_timeout=%d", pool.name, mode, sync, fk, busy)
		}
	}
	if _, err := db.read.ExecContext(ctx, "DELETE FROM connections"); err == nil {
		t.Error("read pool accepted a write")
	}
	if got := db.write.Stats().MaxOpenConnections; got != 1 {
		t.Errorf("writer pool MaxOpenConnections = %d, want 1", got)
	}
}

func TestMigrations(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "m.db")
	kr := secret.GenerateKeyring()
	var logs bytes.Buffer
	db := openTest(t, path, kr, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	ms, err := migrations()
	if err != nil || len(ms) == 0 {
		t.Fatalf("migrations: %v", err)
	}
	var n int
	db.read.QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations").Scan(&n)
	if n != len(ms) {
		t.Fatalf("schema_migrations has %d rows, want %d", n, len(ms))
	}
	if !strings.Contains(logs.String(), ms[0].Name) {
		t.Errorf("migration not logged: %s", logs.String())
	}
	c, _ := db.CreateConnection(ctx, storetest.NewConnection("keep"))
	db.Close()

	// Reopening applies nothing and keeps data.
	logs.Reset()
	db2 := openTest(t, path, kr, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if strings.Contains(logs.String(), "migration applied") {
		t.Errorf("reopen re-applied migrations: %s", logs.String())
	}
	if _, err := db2.GetConnection(ctx, c.ID); err != nil {
		t.Fatalf("data lost on reopen: %v", err)
	}
	// A database from a newer bcconnector is refused.
	if _, err := db2.write.ExecContext(ctx, "INSERT INTO schema_migrations VALUES (9999, '9999_future.sql', '')"); err != nil {
		t.Fatal(err)
	}
	db2.Close()
	_, err = Open(ctx, path, kr, Options{})
	if err == nil || !strings.Contains(err.Error(), "upgrade bcconnector") {
		t.Fatalf("newer schema: err = %v", err)
	}
}

func TestConcurrentOpenMigrates(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "race.db")
	kr := secret.GenerateKeyring()
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			db, err := Open(t.Context(), path, kr, Options{})
			if err != nil {
				t.Error(err)
				return
			}
			db.Close()
		})
	}
	wg.Wait()
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	kr := secret.GenerateKeyring()
	dir := t.TempDir()
	for _, tt := range []struct {
		path string
		kr   *secret.Keyring
		want string
	}{
		{"", kr, "BCC_DB"},
		{":memory:", kr, "plain file path"},
		{"file:x.db?mode=memory", kr, "plain file path"},
		{filepath.Join(dir, "a?b.db"), kr, "plain file path"},
		{filepath.Join(dir, "ok.db"), nil, "keyring"},
	} {
		_, err := Open(t.Context(), tt.path, tt.kr, Options{})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Open(%q): err = %v, want %q", tt.path, err, tt.want)
		}
	}
}

func TestDefaultPath(t *testing.T) {
	t.Parallel()
	home := func() (string, error) { return "/home/ann", nil }
	cfg := func() (string, error) { return "/cfg", nil }
	noHome := func() (string, error) { return "", errors.New("$HOME is not defined") }
	for _, tt := range []struct {
		name string
		env  map[string]string
		goos string
		home func() (string, error)
		want string
		err  bool
	}{
		{"BCC_DB wins", map[string]string{"BCC_DB": "/srv/x.db", "XDG_DATA_HOME": "/xdg"}, "linux", home, "/srv/x.db", false},
		{"XDG_DATA_HOME", map[string]string{"XDG_DATA_HOME": "/xdg"}, "linux", home, "/xdg/bcconnector/bcconnector.db", false},
		{"relative XDG ignored", map[string]string{"XDG_DATA_HOME": "rel"}, "linux", home, "/home/ann/.local/share/bcconnector/bcconnector.db", false},
		{"linux default", nil, "linux", home, "/home/ann/.local/share/bcconnector/bcconnector.db", false},
		{"darwin", nil, "darwin", home, "/cfg/bcconnector/bcconnector.db", false},
		{"no home", nil, "linux", noHome, "", true},
	} {
		got, err := defaultPath(func(k string) string { return tt.env[k] }, tt.goos, tt.home, cfg)
		if (err != nil) != tt.err || filepath.ToSlash(got) != tt.want {
			t.Errorf("%s: got %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
	if p, err := DefaultPath(); err != nil || !strings.HasSuffix(p, "bcconnector.db") && os.Getenv(EnvDB) == "" {
		t.Errorf("DefaultPath() = %q, %v", p, err)
	}
}

// TestReadersWithWriter runs readers in parallel with a busy writer and a second
// process-like handle on the same file; no operation may fail with SQLITE_BUSY.
func TestReadersWithWriter(t *testing.T) {
	t.Parallel()
	// No deadline of its own: under -race on a loaded machine the 120 writes take well over
	// 15s (it failed that way 3 of 3 times); a hang is caught by go test's -timeout.
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "busy.db")
	kr := secret.GenerateKeyring()
	db := openTest(t, path, kr, Options{})
	other := openTest(t, path, kr, Options{}) // e.g. the CLI next to the server

	base, err := db.CreateConnection(ctx, storetest.NewConnection("base"))
	if err != nil {
		t.Fatal(err)
	}
	r, _ := db.AddSecret(ctx, base.ID, "base-secret", time.Time{})
	db.PromoteSecret(ctx, base.ID, r.ID)

	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	stop := make(chan struct{})
	for i, h := range []*DB{db, other} {
		wg.Go(func() {
			for j := range 60 {
				c, err := h.CreateConnection(ctx, storetest.NewConnection(fmt.Sprintf("h%d-%d", i, j)))
				if err != nil {
					fail(err)
					return
				}
				c.Entities = []string{"customers", "items"}
				if _, err := h.UpdateConnection(ctx, c); err != nil {
					fail(err)
					return
				}
				rec, err := h.AddSecret(ctx, c.ID, "v", time.Time{})
				if err == nil {
					_, err = h.PromoteSecret(ctx, c.ID, rec.ID)
				}
				if err != nil {
					fail(err)
					return
				}
			}
		})
	}
	var reads sync.WaitGroup
	for i := range 6 {
		h := []*DB{db, other}[i%2]
		reads.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := h.ListConnections(ctx); err != nil {
					fail(err)
					return
				}
				if v, _, err := h.ActiveSecret(ctx, base.ID); err != nil || v.Reveal() != "base-secret" {
					fail(fmt.Errorf("ActiveSecret: %w", err))
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	reads.Wait()
	for _, err := range errs {
		t.Error(err)
	}
	if list, _ := db.ListConnections(ctx); len(list) != 121 {
		t.Errorf("%d connections, want 121", len(list))
	}
}

// TestRotationAcrossHandles: one handle (the CLI) rotates; the other (a running server)
// fails with secret.ErrUnknownKey until it loads the new keyring.
func TestRotationAcrossHandles(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "rot.db")
	kr := secret.GenerateKeyring()
	server := openTest(t, path, kr, Options{})
	cli := openTest(t, path, kr, Options{})
	c, _ := server.CreateConnection(ctx, storetest.NewConnection("c"))
	r, _ := server.AddSecret(ctx, c.ID, "v1", time.Time{})
	server.PromoteSecret(ctx, c.ID, r.ID)

	kr2 := kr.Rotate()
	if n, err := cli.ReSealAll(ctx, kr2); err != nil || n != 1 {
		t.Fatalf("ReSealAll = %d, %v", n, err)
	}
	_, _, err := server.ActiveSecret(ctx, c.ID)
	if !errors.Is(err, secret.ErrUnknownKey) || !strings.Contains(err.Error(), c.ID) {
		t.Fatalf("stale server: err = %v, want secret.ErrUnknownKey naming the connection", err)
	}
	server.SetKeyring(kr2)
	if v, _, err := server.ActiveSecret(ctx, c.ID); err != nil || v.Reveal() != "v1" {
		t.Fatalf("after SetKeyring: %v", err)
	}
}

// TestSealedRowsAreBound: sealed bytes copied to another row do not open there.
func TestSealedRowsAreBound(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := openTest(t, filepath.Join(t.TempDir(), "aad.db"), secret.GenerateKeyring(), Options{})
	a, _ := db.CreateConnection(ctx, storetest.NewConnection("a"))
	b, _ := db.CreateConnection(ctx, storetest.NewConnection("b"))
	ra, _ := db.AddSecret(ctx, a.ID, "secret-of-a", time.Time{})
	rb, _ := db.AddSecret(ctx, b.ID, "secret-of-b", time.Time{})
	if _, err := db.write.ExecContext(ctx, `UPDATE client_secrets SET sealed = (SELECT sealed FROM client_secrets WHERE id = ?) WHERE id = ?`, ra.ID, rb.ID); err != nil {
		t.Fatal(err)
	}
	_, _, err := db.PendingSecret(ctx, b.ID)
	if !errors.Is(err, secret.ErrDecrypt) {
		t.Fatalf("moved ciphertext: err = %v, want secret.ErrDecrypt", err)
	}
	if strings.Contains(err.Error(), "secret-of-a") || strings.Contains(err.Error(), "secret-of-b") {
		t.Fatalf("error leaks a secret: %v", err)
	}
}

// TestOperatorAppNeverInClear: the express app's client secret is in no file of the
// database in any encoding, and comes back whole.
func TestOperatorAppNeverInClear(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "bcconnector.db")
	db := openTest(t, path, secret.GenerateKeyring(), Options{})
	raw := make([]byte, 30)
	if _, err := rand.Read(raw); err != nil {
		t.Fatal(err)
	}
	v := secret.Secret(hex.EncodeToString(raw))
	if _, err := db.SetOperatorApp(t.Context(), store.OperatorApp{ClientID: "8f3c2b1a-4d5e-4f60-8a7b-9c0d1e2f3a4b", RedirectURI: "https://connector.example.com/consent/callback"}, v); err != nil {
		t.Fatal(err)
	}
	if _, got, err := db.OperatorApp(t.Context()); err != nil || got.Reveal() != v.Reveal() {
		t.Fatalf("OperatorApp: %v", err)
	}
	if scanFiles(t, path, v.Reveal()) == 0 {
		t.Fatal("no database file was scanned")
	}
}

// TestPageSize: a new database gets 16 KiB pages; one made with SQLite's default 4 KiB
// keeps them and still opens, migrates and takes writes.
func TestPageSize(t *testing.T) {
	t.Parallel()
	pageSizeOf := func(t *testing.T, db *DB) int {
		t.Helper()
		var n int
		if err := db.read.QueryRowContext(t.Context(), "PRAGMA page_size").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	t.Run("new", func(t *testing.T) {
		db := openTest(t, filepath.Join(t.TempDir(), "new.db"), secret.GenerateKeyring(), Options{})
		if got := pageSizeOf(t, db); got != pageSize {
			t.Fatalf("page size %d, want %d", got, pageSize)
		}
	})
	t.Run("existing", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "old.db")
		old, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := old.ExecContext(t.Context(), "PRAGMA journal_mode=WAL; CREATE TABLE before_us (x)"); err != nil {
			t.Fatal(err)
		}
		old.Close()
		db := openTest(t, path, secret.GenerateKeyring(), Options{})
		if got := pageSizeOf(t, db); got != 4096 {
			t.Fatalf("page size %d, want the file's 4096", got)
		}
		if err := db.EnsureReplica(t.Context(), storetest.Entity(t, "customers")); err != nil {
			t.Fatal(err)
		}
	})
}
