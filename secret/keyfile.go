package secret

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// EnvMasterKey is the environment variable [LoadKeyring] reads master keys from:
// base64 of 32 bytes, or a comma list "new,old,..." during a rotation (first = primary).
const EnvMasterKey = "BCC_MASTER_KEY"

// ErrNoMasterKey means neither the environment variable nor the key file holds a master
// key (and LoadKeyring was told not to create one).
var ErrNoMasterKey = errors.New("secret: no master key")

// ErrInsecureKeyFile means the key file can be read by group or others; the error's
// text carries the chmod command that fixes it.
var ErrInsecureKeyFile = errors.New("secret: key file is readable by group or others")

// Options tells [LoadKeyring] where to find the master keys. The zero value reads
// BCC_MASTER_KEY and otherwise the default key file, creating it on first run.
type Options struct {
	// EnvVar names the environment variable holding the keys; default [EnvMasterKey].
	// When it is set (non-empty), the key file is not read.
	EnvVar string
	// Getenv reads the environment; nil means os.Getenv.
	Getenv func(string) string
	// KeyFile is the key file's path; empty means [DefaultKeyFile].
	KeyFile string
	// NoCreate makes a missing key file an error instead of creating one with a new key.
	NoCreate bool
	// Now stamps the creation time of a new key; nil means time.Now.
	Now func() time.Time
	// Logger records where the keys came from and when a key file is created (paths and
	// key IDs only); nil discards.
	Logger *slog.Logger
}

// Where describes where LoadKeyring looks for the master keys with these options, e.g.
// "environment variable BCC_MASTER_KEY or key file /home/me/.config/bcconnector/master.key",
// for messages that tell an operator what to restore.
func (opt Options) Where() string {
	envVar := opt.EnvVar
	if envVar == "" {
		envVar = EnvMasterKey
	}
	path := opt.KeyFile
	if path == "" {
		path, _ = DefaultKeyFile()
	}
	return "environment variable " + envVar + " or key file " + path
}

// DefaultKeyFile returns os.UserConfigDir()/bcconnector/master.key
// (on Linux $XDG_CONFIG_HOME or ~/.config).
func DefaultKeyFile() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("secret: no default key file location (%v); set %s or pass a key file path", err, EnvMasterKey)
	}
	return filepath.Join(dir, "bcconnector", "master.key"), nil
}

// LoadKeyring loads the master keys, in this order:
//
//  1. the environment variable (BCC_MASTER_KEY): base64 of 32 bytes, or "new,old,..."
//     while rotating; the first key is the primary;
//  2. the key file (default [DefaultKeyFile]): JSON written by [Keyring.Save]. It must not
//     be readable by group or others (the error says "chmod 600 <path>"); on Windows the
//     mode is not checked;
//  3. if the file does not exist and opt.NoCreate is false: a new random key, written to
//     a new key file with mode 0600 (its directory 0700).
//
// Errors name the variable or file and the fix; they never contain key material.
func LoadKeyring(opt Options) (*Keyring, error) {
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	envVar := opt.EnvVar
	if envVar == "" {
		envVar = EnvMasterKey
	}
	getenv := opt.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	if v := getenv(envVar); strings.TrimSpace(v) != "" {
		kr, err := parseEnvKeys(envVar, v)
		if err != nil {
			return nil, err
		}
		log.Info("master keys loaded", "source", kr.source.String(), "primary", kr.PrimaryID(), "keys", len(kr.keys))
		return kr, nil
	}

	path := opt.KeyFile
	if path == "" {
		var err error
		if path, err = DefaultKeyFile(); err != nil {
			return nil, err
		}
	}
	kr, err := ReadKeyFile(path)
	if err == nil {
		log.Info("master keys loaded", "source", kr.source.String(), "primary", kr.PrimaryID(), "keys", len(kr.keys))
		return kr, nil
	}
	if !errors.Is(err, fs.ErrNotExist) || opt.NoCreate {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s is not set and key file %s does not exist; set %s or create the file by running without NoCreate", ErrNoMasterKey, envVar, path, envVar)
		}
		return nil, err
	}

	now := time.Now
	if opt.Now != nil {
		now = opt.Now
	}
	mk, err := newMasterKey(GenerateKey(), now().UTC())
	if err != nil {
		return nil, err
	}
	kr = &Keyring{keys: []*masterKey{mk}, source: Source{Kind: "file", Name: path}}
	created, err := kr.create(path)
	if err != nil {
		return nil, err
	}
	if !created { // another process created it first: use theirs
		return ReadKeyFile(path)
	}
	log.Info("new master key file created; back it up: without it the stored client secrets cannot be opened",
		"path", path, "primary", kr.PrimaryID())
	return kr, nil
}

// parseEnvKeys parses "k1,k2,..." where each k is base64 (standard or URL alphabet,
// padded or not) of 32 bytes.
func parseEnvKeys(envVar, v string) (*Keyring, error) {
	parts := strings.Split(v, ",")
	keys := make([]*masterKey, 0, len(parts))
	for i, p := range parts {
		raw, err := decodeKey(strings.TrimSpace(p))
		if err != nil {
			return nil, fmt.Errorf("secret: %s entry %d of %d: %v; each entry must be base64 of %d random bytes (generate one with: openssl rand -base64 32)",
				envVar, i+1, len(parts), err, KeySize)
		}
		mk, err := newMasterKey(raw, time.Time{})
		if err != nil {
			return nil, fmt.Errorf("%s entry %d: %w", envVar, i+1, err)
		}
		keys = append(keys, mk)
	}
	kr, err := buildKeyring(keys, Source{Kind: "env", Name: envVar})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", envVar, err)
	}
	return kr, nil
}

// decodeKey decodes base64 of exactly KeySize bytes. Its errors never quote the input.
func decodeKey(s string) ([]byte, error) {
	if s == "" {
		return nil, errors.New("empty")
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		raw, err := enc.DecodeString(s)
		if err != nil {
			continue
		}
		if len(raw) != KeySize {
			return nil, fmt.Errorf("decodes to %d bytes, not %d", len(raw), KeySize)
		}
		return raw, nil
	}
	return nil, errors.New("not valid base64")
}

// keyFile is the JSON layout of a key file.
type keyFile struct {
	Version int            `json:"version"`
	Primary string         `json:"primary"`
	Keys    []keyFileEntry `json:"keys"`
}

type keyFileEntry struct {
	ID      string    `json:"id"`
	Key     string    `json:"key"`
	Created time.Time `json:"created,omitzero"`
}

// ReadKeyFile reads a key file written by [Keyring.Save] (or created by [LoadKeyring]).
// It refuses a file that group or others can read (not checked on Windows). A missing
// file yields an error matching fs.ErrNotExist.
func ReadKeyFile(path string) (*Keyring, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("secret: key file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("secret: key file: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("secret: key file %s is not a regular file", path)
	}
	if runtime.GOOS != "windows" && st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s has mode %#o; run: chmod 600 %s", ErrInsecureKeyFile, path, st.Mode().Perm(), path)
	}
	data, err := io.ReadAll(io.LimitReader(f, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("secret: key file %s: %w", path, err)
	}
	var kf keyFile
	if err := json.Unmarshal(data, &kf); err != nil {
		// json errors can quote input; report only the position-free kind of error.
		return nil, fmt.Errorf("secret: key file %s is not valid JSON (empty or truncated?); restore it from a backup", path)
	}
	if kf.Version != 1 {
		return nil, fmt.Errorf("secret: key file %s has version %d; this bcconnector reads version 1", path, kf.Version)
	}
	if len(kf.Keys) == 0 {
		return nil, fmt.Errorf("secret: key file %s holds no keys; restore it from a backup", path)
	}
	keys := make([]*masterKey, 0, len(kf.Keys))
	primary := -1
	for i, e := range kf.Keys {
		raw, err := decodeKey(e.Key)
		if err != nil {
			return nil, fmt.Errorf("secret: key file %s, key %d (id %q): %v", path, i+1, e.ID, err)
		}
		mk, err := newMasterKey(raw, e.Created)
		if err != nil {
			return nil, fmt.Errorf("key file %s, key %d: %w", path, i+1, err)
		}
		if e.ID != mk.idHex {
			return nil, fmt.Errorf("secret: key file %s, key %d: id %q does not match its key (%s); the file was edited or damaged",
				path, i+1, e.ID, mk.idHex)
		}
		if e.ID == kf.Primary {
			primary = i
		}
		keys = append(keys, mk)
	}
	if primary < 0 {
		return nil, fmt.Errorf("secret: key file %s: primary %q is not one of its keys", path, kf.Primary)
	}
	// Primary first, the others in file order.
	ordered := append(make([]*masterKey, 0, len(keys)), keys[primary])
	ordered = append(ordered, keys[:primary]...)
	ordered = append(ordered, keys[primary+1:]...)
	return buildKeyring(ordered, Source{Kind: "file", Name: path})
}

func (k *Keyring) marshal() []byte {
	kf := keyFile{Version: 1, Primary: k.PrimaryID()}
	for _, mk := range k.keys {
		kf.Keys = append(kf.Keys, keyFileEntry{ID: mk.idHex, Key: base64.StdEncoding.EncodeToString(mk.raw), Created: mk.created})
	}
	data, _ := json.MarshalIndent(kf, "", "  ") // cannot fail: plain strings and times
	return append(data, '\n')
}

// Save writes the keyring to a key file with mode 0600, atomically (a temporary file in
// the same directory, then rename), creating the directory with mode 0700. Use it after
// [Keyring.Rotate] and [Keyring.DropOlder].
func (k *Keyring) Save(path string) error {
	if path == "" {
		return errors.New("secret: Save needs a key file path")
	}
	tmp, err := k.writeTemp(path)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("secret: replace key file %s: %w", path, err)
	}
	syncDir(filepath.Dir(path))
	return nil
}

// create writes a new key file only if none exists; it reports false when another
// process created one first.
func (k *Keyring) create(path string) (bool, error) {
	tmp, err := k.writeTemp(path)
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp)
	// Link fails if path exists, so a concurrent first run cannot overwrite a key.
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return false, nil
		}
		// File systems without hard links: exclusive create.
		f, err2 := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err2 != nil {
			if errors.Is(err2, fs.ErrExist) {
				return false, nil
			}
			return false, fmt.Errorf("secret: create key file %s: %w", path, err2)
		}
		_, werr := f.Write(k.marshal())
		serr := f.Sync()
		cerr := f.Close()
		if err := errors.Join(werr, serr, cerr); err != nil {
			_ = os.Remove(path)
			return false, fmt.Errorf("secret: write key file %s: %w", path, err)
		}
	}
	syncDir(filepath.Dir(path))
	return true, nil
}

func (k *Keyring) writeTemp(path string) (string, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("secret: create key directory %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, ".master.key-*") // mode 0600
	if err != nil {
		return "", fmt.Errorf("secret: write key file in %s: %w", dir, err)
	}
	name := f.Name()
	if err := f.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		f.Close()
		os.Remove(name)
		return "", fmt.Errorf("secret: chmod key file: %w", err)
	}
	_, werr := f.Write(k.marshal())
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(name)
		return "", fmt.Errorf("secret: write key file in %s: %w", dir, err)
	}
	return name, nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}
