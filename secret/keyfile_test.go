package secret

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

func env(vals map[string]string) func(string) string {
	return func(k string) string { return vals[k] }
}

func TestLoadKeyringFromEnv(t *testing.T) {
	t.Parallel()
	k1, k2 := GenerateKey(), GenerateKey()
	b1, b2 := base64.StdEncoding.EncodeToString(k1), base64.StdEncoding.EncodeToString(k2)
	short := base64.StdEncoding.EncodeToString(k1[:31])
	tests := []struct {
		name    string
		value   string
		wantIDs []string
		wantErr string
	}{
		{"one key", b1, []string{KeyID(k1)}, ""},
		{"rotation list", b2 + "," + b1, []string{KeyID(k2), KeyID(k1)}, ""},
		{"spaces", " " + b2 + " , " + b1 + " ", []string{KeyID(k2), KeyID(k1)}, ""},
		{"raw url base64", base64.RawURLEncoding.EncodeToString(k1), []string{KeyID(k1)}, ""},
		{"short key", short, nil, "entry 1 of 1: decodes to 31 bytes, not 32"},
		{"not base64", "!!!notbase64!!!", nil, "entry 1 of 1: not valid base64"},
		{"empty entry", b1 + ",", nil, "entry 2 of 2: empty"},
		{"duplicate", b1 + "," + b1, nil, "same key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			kr, err := LoadKeyring(Options{
				Getenv:  env(map[string]string{EnvMasterKey: tt.value}),
				KeyFile: filepath.Join(t.TempDir(), "never-created.key"),
			})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want containing %q", err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), EnvMasterKey) {
					t.Errorf("error does not name the variable: %v", err)
				}
				for _, leak := range []string{b1, b1[:20], short[:20], "!!!notbase64"} {
					if strings.Contains(err.Error(), leak) {
						t.Errorf("error leaks the value: %v", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := kr.KeyIDs(); strings.Join(got, ",") != strings.Join(tt.wantIDs, ",") {
				t.Fatalf("KeyIDs = %v, want %v", got, tt.wantIDs)
			}
			if kr.Source().Kind != "env" {
				t.Errorf("Source = %v", kr.Source())
			}
		})
	}
}

func TestLoadKeyringCreatesFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "cfg", "bcconnector", "master.key")
	var logs bytes.Buffer
	kr, err := LoadKeyring(Options{Getenv: env(nil), KeyFile: path, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if kr.Source() != (Source{Kind: "file", Name: path}) {
		t.Errorf("Source = %+v", kr.Source())
	}
	if runtime.GOOS != "windows" {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("key file mode %#o, want 0600", st.Mode().Perm())
		}
		dst, _ := os.Stat(filepath.Dir(path))
		if dst.Mode().Perm() != 0o700 {
			t.Errorf("key dir mode %#o, want 0700", dst.Mode().Perm())
		}
	}
	// No stray temp files.
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only master.key", len(entries))
	}
	for _, enc := range encodings(kr.keys[0].raw) {
		if strings.Contains(logs.String(), enc) {
			t.Fatalf("log leaks the key: %s", logs.String())
		}
	}
	if !strings.Contains(logs.String(), kr.PrimaryID()) {
		t.Errorf("creation not logged with key ID: %s", logs.String())
	}

	// Second run loads the same key.
	again, err := LoadKeyring(Options{Getenv: env(nil), KeyFile: path})
	if err != nil {
		t.Fatal(err)
	}
	if again.PrimaryID() != kr.PrimaryID() {
		t.Fatalf("second load primary %s, first %s", again.PrimaryID(), kr.PrimaryID())
	}
	sealed, _ := kr.Seal([]byte(testValue), nil)
	if pt, err := again.Open(sealed, nil); err != nil || string(pt) != testValue {
		t.Fatalf("reloaded keyring cannot open: %v", err)
	}

	// The environment variable wins over the file.
	envKey := GenerateKey()
	fromEnv, err := LoadKeyring(Options{Getenv: env(map[string]string{EnvMasterKey: base64.StdEncoding.EncodeToString(envKey)}), KeyFile: path})
	if err != nil || fromEnv.PrimaryID() != KeyID(envKey) {
		t.Fatalf("env did not win: %v", err)
	}
}

func TestLoadKeyringNoCreate(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "master.key")
	_, err := LoadKeyring(Options{Getenv: env(nil), KeyFile: path, NoCreate: true})
	if err == nil || !strings.Contains(err.Error(), EnvMasterKey) || !strings.Contains(err.Error(), path) {
		t.Fatalf("err = %v", err)
	}
	if _, statErr := os.Stat(path); !errors.Is(statErr, fs.ErrNotExist) {
		t.Fatal("NoCreate created the file")
	}
}

func TestKeyFilePermissions(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("file modes are not checked on Windows")
	}
	t.Parallel()
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660} {
		path := filepath.Join(t.TempDir(), "master.key")
		kr := GenerateKeyring()
		if err := kr.Save(path); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, err := LoadKeyring(Options{Getenv: env(nil), KeyFile: path})
		if !errors.Is(err, ErrInsecureKeyFile) {
			t.Fatalf("mode %#o: err = %v, want ErrInsecureKeyFile", mode, err)
		}
		if !strings.Contains(err.Error(), "chmod 600 "+path) {
			t.Errorf("error lacks the fix: %v", err)
		}
		for _, enc := range encodings(kr.keys[0].raw) {
			if strings.Contains(err.Error(), enc) {
				t.Fatal("error leaks key")
			}
		}
	}
	// 0400 is fine.
	path := filepath.Join(t.TempDir(), "master.key")
	if err := GenerateKeyring().Save(path); err != nil {
		t.Fatal(err)
	}
	os.Chmod(path, 0o400)
	if _, err := ReadKeyFile(path); err != nil {
		t.Fatalf("0400 refused: %v", err)
	}
}

func TestSaveRotatedKeyFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "master.key")
	kr, err := LoadKeyring(Options{Getenv: env(nil), KeyFile: path})
	if err != nil {
		t.Fatal(err)
	}
	sealed, _ := kr.Seal([]byte(testValue), []byte("aad"))
	rotated := kr.Rotate()
	if err := rotated.Save(path); err != nil {
		t.Fatal(err)
	}
	loaded, err := ReadKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(loaded.KeyIDs(), ",") != strings.Join(rotated.KeyIDs(), ",") {
		t.Fatalf("loaded %v, saved %v", loaded.KeyIDs(), rotated.KeyIDs())
	}
	if pt, err := loaded.Open(sealed, []byte("aad")); err != nil || string(pt) != testValue {
		t.Fatalf("old value does not open after rotation: %v", err)
	}
	if st, _ := os.Stat(path); runtime.GOOS != "windows" && st.Mode().Perm() != 0o600 {
		t.Errorf("saved mode %#o", st.Mode().Perm())
	}
}

func TestReadKeyFileErrors(t *testing.T) {
	t.Parallel()
	k1, k2 := GenerateKey(), GenerateKey()
	e1, e2 := base64.StdEncoding.EncodeToString(k1), base64.StdEncoding.EncodeToString(k2)
	file := func(kf keyFile) string { b, _ := json.Marshal(kf); return string(b) }
	tests := []struct {
		name, content, want string
		wantIDs             []string
	}{
		{"truncated", `{"version":1,"primary":`, "not valid JSON", nil},
		{"empty", ``, "not valid JSON", nil},
		{"version", file(keyFile{Version: 2, Primary: KeyID(k1), Keys: []keyFileEntry{{ID: KeyID(k1), Key: e1}}}), "version 2", nil},
		{"no keys", file(keyFile{Version: 1}), "holds no keys", nil},
		{"id mismatch", file(keyFile{Version: 1, Primary: KeyID(k2), Keys: []keyFileEntry{{ID: KeyID(k2), Key: e1}}}), "does not match its key", nil},
		{"bad key", file(keyFile{Version: 1, Primary: "x", Keys: []keyFileEntry{{ID: "x", Key: "short"}}}), "key 1", nil},
		{"primary missing", file(keyFile{Version: 1, Primary: "00000000", Keys: []keyFileEntry{{ID: KeyID(k1), Key: e1}}}), "primary \"00000000\"", nil},
		{"primary second", file(keyFile{Version: 1, Primary: KeyID(k2), Keys: []keyFileEntry{{ID: KeyID(k1), Key: e1}, {ID: KeyID(k2), Key: e2}}}), "", []string{KeyID(k2), KeyID(k1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "master.key")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			kr, err := ReadKeyFile(path)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if strings.Join(kr.KeyIDs(), ",") != strings.Join(tt.wantIDs, ",") {
					t.Fatalf("KeyIDs = %v, want %v", kr.KeyIDs(), tt.wantIDs)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("err = %v, want %q and the path", err, tt.want)
			}
			for _, leak := range []string{e1, e2, e1[:16], e2[:16]} {
				if strings.Contains(err.Error(), leak) {
					t.Fatalf("error leaks key material: %v", err)
				}
			}
		})
	}
}

func TestConcurrentFirstRun(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "master.key")
	var wg sync.WaitGroup
	ids := make([]string, 6)
	for i := range ids {
		wg.Go(func() {
			kr, err := LoadKeyring(Options{Getenv: env(nil), KeyFile: path})
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = kr.PrimaryID()
		})
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("concurrent first runs produced different keys: %v", ids)
		}
	}
}

func FuzzParseEnvKeys(f *testing.F) {
	f.Add(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, KeySize)))
	f.Add(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, KeySize)) + "," + base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{2}, KeySize)))
	f.Add("not-a-key,,")
	f.Fuzz(func(t *testing.T, v string) {
		kr, err := parseEnvKeys("BCC_MASTER_KEY", v)
		if err != nil {
			// Errors never echo the input (it may be a slightly wrong key).
			if len(v) >= 8 && strings.Contains(err.Error(), v) {
				t.Fatalf("error echoes the input: %v", err)
			}
			return
		}
		if len(kr.KeyIDs()) != len(strings.Split(v, ",")) {
			t.Fatalf("%d keys from %d entries", len(kr.KeyIDs()), len(strings.Split(v, ",")))
		}
	})
}
