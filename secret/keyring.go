package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// KeySize is the size of a master key in bytes (AES-256).
const KeySize = 32

// Sealed layout: version (1 byte) || key ID (4 bytes) || nonce (12) || ciphertext || tag (16).
const (
	formatV1   = 0x01
	keyIDBytes = 4
	headerSize = 1 + keyIDBytes
	nonceSize  = 12
	tagSize    = 16
	// Overhead is how many bytes [Keyring.Seal] adds to a plaintext.
	Overhead = headerSize + nonceSize + tagSize
)

var (
	// ErrDecrypt means a sealed value failed authentication: it was sealed with other
	// additional data (it belongs to another record), under another key with the same ID,
	// or it was altered.
	ErrDecrypt = errors.New("secret: sealed value failed authentication (tampered, moved from another record, or wrong key)")
	// ErrUnknownKey means a sealed value names a key ID the keyring does not hold: the
	// master key that sealed it is missing from BCC_MASTER_KEY or the key file.
	ErrUnknownKey = errors.New("secret: sealed with a master key this keyring does not hold")
	// ErrMalformed means the bytes are not a sealed value of a known format.
	ErrMalformed = errors.New("secret: not a sealed value")
)

// Keyring holds one primary master key, which seals, and older keys, which only open
// what they sealed before a rotation. Every key has an ID: the first 8 hex characters of
// the SHA-256 of the key, stored in front of each sealed value.
//
// A Keyring is immutable and safe for concurrent use; [Keyring.Rotate] and
// [Keyring.DropOlder] return new keyrings. Its String, Format and LogValue methods never
// show key material.
type Keyring struct {
	keys   []*masterKey // keys[0] is the primary
	source Source
}

type masterKey struct {
	id      [keyIDBytes]byte
	idHex   string
	raw     []byte
	created time.Time
	aead    cipher.AEAD
}

// Format keeps key material out of fmt even if a masterKey is printed by reflection.
func (k *masterKey) Format(f fmt.State, _ rune) { fmt.Fprintf(f, "key(%s)", k.idHex) }

// Source tells where a keyring came from.
type Source struct {
	// Kind is "env", "file" or "" (built in memory).
	Kind string
	// Name is the environment variable's name or the key file's path.
	Name string
}

// String describes the source, e.g. "key file /home/me/.config/bcconnector/master.key".
func (s Source) String() string {
	switch s.Kind {
	case "env":
		return "environment variable " + s.Name
	case "file":
		return "key file " + s.Name
	}
	return "in-memory keyring"
}

// KeyID returns the ID of a master key: the first 8 hex characters of its SHA-256.
func KeyID(key []byte) string {
	sum := sha256.Sum256(key)
	return hex.EncodeToString(sum[:keyIDBytes])
}

// GenerateKey returns a new random 32-byte master key.
func GenerateKey() []byte {
	k := make([]byte, KeySize)
	_, _ = rand.Read(k) // crypto/rand.Read never fails (it aborts the program instead).
	return k
}

func newMasterKey(raw []byte, created time.Time) (*masterKey, error) {
	if len(raw) != KeySize {
		return nil, fmt.Errorf("secret: a master key must be %d bytes, got %d", KeySize, len(raw))
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	sum := sha256.Sum256(raw)
	mk := &masterKey{raw: append([]byte(nil), raw...), created: created, aead: aead}
	copy(mk.id[:], sum[:keyIDBytes])
	mk.idHex = hex.EncodeToString(mk.id[:])
	return mk, nil
}

// NewKeyring builds a keyring from raw 32-byte keys: the first is the primary, the rest
// are older, decrypt-only keys. The slices are copied.
func NewKeyring(primary []byte, older ...[]byte) (*Keyring, error) {
	raws := append([][]byte{primary}, older...)
	keys := make([]*masterKey, 0, len(raws))
	for i, raw := range raws {
		mk, err := newMasterKey(raw, time.Time{})
		if err != nil {
			return nil, fmt.Errorf("key %d of %d: %w", i+1, len(raws), err)
		}
		keys = append(keys, mk)
	}
	return buildKeyring(keys, Source{})
}

// GenerateKeyring returns a keyring with one new random primary key.
func GenerateKeyring() *Keyring {
	mk, err := newMasterKey(GenerateKey(), time.Now().UTC())
	if err != nil { // unreachable: the key has the right size
		panic(err)
	}
	return &Keyring{keys: []*masterKey{mk}}
}

func buildKeyring(keys []*masterKey, src Source) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, errors.New("secret: a keyring needs at least one master key")
	}
	seen := make(map[string]int, len(keys))
	for i, k := range keys {
		if j, dup := seen[k.idHex]; dup {
			if subtle.ConstantTimeCompare(keys[j].raw, k.raw) == 1 {
				return nil, fmt.Errorf("secret: keys %d and %d are the same key (ID %s); list each key once", j+1, i+1, k.idHex)
			}
			return nil, fmt.Errorf("secret: keys %d and %d share the key ID %s; generate a new key", j+1, i+1, k.idHex)
		}
		seen[k.idHex] = i
	}
	return &Keyring{keys: keys, source: src}, nil
}

// PrimaryID returns the ID of the key that seals ("" for an empty keyring).
func (k *Keyring) PrimaryID() string {
	if k.empty() {
		return ""
	}
	return k.keys[0].idHex
}

func (k *Keyring) empty() bool { return k == nil || len(k.keys) == 0 }

// KeyIDs returns the IDs of all keys, the primary first.
func (k *Keyring) KeyIDs() []string {
	if k.empty() {
		return nil
	}
	ids := make([]string, len(k.keys))
	for i, mk := range k.keys {
		ids[i] = mk.idHex
	}
	return ids
}

// Source tells where the keyring was loaded from.
func (k *Keyring) Source() Source {
	if k == nil {
		return Source{}
	}
	return k.source
}

// String describes the keyring without key material, e.g. "keyring(primary ab12cd34, 2 keys)".
func (k *Keyring) String() string {
	if k.empty() {
		return "keyring(empty)"
	}
	return fmt.Sprintf("keyring(primary %s, %d keys)", k.keys[0].idHex, len(k.keys))
}

// Format prints [Keyring.String] for every verb, so %#v cannot show key material.
func (k *Keyring) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(k.String())) }

// LogValue implements slog.LogValuer: the key IDs and the source, never the keys.
func (k *Keyring) LogValue() slog.Value {
	if k.empty() {
		return slog.StringValue("keyring(empty)")
	}
	return slog.GroupValue(
		slog.String("primary", k.PrimaryID()),
		slog.Any("keys", k.KeyIDs()),
		slog.String("source", k.source.String()),
	)
}

// MarshalJSON describes the keyring by key IDs and source only, never the keys.
func (k *Keyring) MarshalJSON() ([]byte, error) {
	if k.empty() {
		return []byte("null"), nil
	}
	return json.Marshal(struct {
		Primary string   `json:"primary"`
		Keys    []string `json:"keys"`
		Source  string   `json:"source"`
	}{k.PrimaryID(), k.KeyIDs(), k.source.String()})
}

// Rotate returns a new keyring whose primary is a fresh random key; the current keys
// stay as decrypt-only keys, so everything sealed so far still opens. Persist it with
// [Keyring.Save] before sealing with it, then re-seal stored values (NeedsReseal tells
// which) and finally drop the old keys with [Keyring.DropOlder].
func (k *Keyring) Rotate() *Keyring {
	mk, err := newMasterKey(GenerateKey(), time.Now().UTC())
	if err != nil { // unreachable: the key has the right size
		panic(err)
	}
	if k.empty() {
		return &Keyring{keys: []*masterKey{mk}}
	}
	keys := append([]*masterKey{mk}, k.keys...)
	return &Keyring{keys: keys, source: k.source}
}

// DropOlder returns a keyring with only the primary key. Call it only once nothing
// sealed under an older key remains (see [Keyring.NeedsReseal]).
func (k *Keyring) DropOlder() *Keyring {
	if k.empty() {
		return k
	}
	return &Keyring{keys: k.keys[:1:1], source: k.source}
}

// EnvValue returns the keyring in the BCC_MASTER_KEY format ("primary,older,...", each
// base64 of 32 bytes), as a [Secret] so it is not printed by accident.
func (k *Keyring) EnvValue() Secret {
	if k.empty() {
		return ""
	}
	parts := make([]string, len(k.keys))
	for i, mk := range k.keys {
		parts[i] = base64.StdEncoding.EncodeToString(mk.raw)
	}
	return Secret(strings.Join(parts, ","))
}

func (k *Keyring) lookup(id []byte) *masterKey {
	for _, mk := range k.keys {
		if string(mk.id[:]) == string(id) {
			return mk
		}
	}
	return nil
}

// Seal encrypts plaintext with AES-256-GCM under the primary key and binds aad (for
// example a record's IDs) to it: [Keyring.Open] succeeds only with the same aad. The
// result is version || key ID || nonce || ciphertext || tag, [Overhead] bytes longer
// than plaintext. The nonce is random (cipher.NewGCMWithRandomNonce); one key must not
// seal more than 2^32 values, far beyond a connector's secrets.
func (k *Keyring) Seal(plaintext, aad []byte) ([]byte, error) {
	if k.empty() {
		return nil, errors.New("secret: Seal called on an empty keyring; load one with LoadKeyring")
	}
	mk := k.keys[0]
	out := make([]byte, headerSize, headerSize+nonceSize+len(plaintext)+tagSize)
	out[0] = formatV1
	copy(out[1:], mk.id[:])
	return mk.aead.Seal(out, nil, plaintext, fullAAD(out[:headerSize], aad)), nil
}

// Open decrypts a value made by [Keyring.Seal] with the same aad, under whichever key of
// the keyring sealed it. Errors wrap [ErrMalformed], [ErrUnknownKey] or [ErrDecrypt] and
// never contain the sealed bytes, the plaintext or key material.
func (k *Keyring) Open(sealed, aad []byte) ([]byte, error) {
	if k.empty() {
		return nil, errors.New("secret: Open called on an empty keyring; load one with LoadKeyring")
	}
	id, err := sealedKeyID(sealed)
	if err != nil {
		return nil, err
	}
	mk := k.lookup(id)
	if mk == nil {
		return nil, fmt.Errorf("%w (key ID %s; this keyring holds %s): restore that key in BCC_MASTER_KEY or the key file",
			ErrUnknownKey, hex.EncodeToString(id), strings.Join(k.KeyIDs(), ", "))
	}
	pt, err := mk.aead.Open(nil, nil, sealed[headerSize:], fullAAD(sealed[:headerSize], aad))
	if err != nil {
		return nil, fmt.Errorf("%w (key ID %s)", ErrDecrypt, mk.idHex)
	}
	return pt, nil
}

// NeedsReseal reports whether sealed was not sealed with the primary key (or is not a
// sealed value at all), so a key rotation should re-seal it: Open it and Seal it again.
func (k *Keyring) NeedsReseal(sealed []byte) bool {
	if k.empty() {
		return true
	}
	id, err := sealedKeyID(sealed)
	return err != nil || string(id) != string(k.keys[0].id[:])
}

// SealedKeyID returns the ID of the key that sealed a value, e.g. "ab12cd34".
func SealedKeyID(sealed []byte) (string, error) {
	id, err := sealedKeyID(sealed)
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(id), nil
}

func sealedKeyID(sealed []byte) ([]byte, error) {
	if len(sealed) < Overhead {
		return nil, fmt.Errorf("%w: %d bytes is shorter than the %d-byte minimum", ErrMalformed, len(sealed), Overhead)
	}
	if sealed[0] != formatV1 {
		return nil, fmt.Errorf("%w: unknown format version %d", ErrMalformed, sealed[0])
	}
	return sealed[1:headerSize], nil
}

// fullAAD binds the header (format and key ID) to the caller's additional data.
func fullAAD(header, aad []byte) []byte {
	b := make([]byte, 0, len(header)+len(aad))
	return append(append(b, header...), aad...)
}
