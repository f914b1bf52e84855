package secret

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// encodings lists the forms in which bytes could leak into text.
func encodings(b []byte) []string {
	return []string{
		string(b),
		hex.EncodeToString(b),
		base64.StdEncoding.EncodeToString(b),
		base64.RawStdEncoding.EncodeToString(b),
		base64.RawURLEncoding.EncodeToString(b),
	}
}

func testKeyring(t *testing.T) *Keyring {
	t.Helper()
	kr, err := NewKeyring(GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

func TestSealOpenRoundTrip(t *testing.T) {
	t.Parallel()
	kr := testKeyring(t)
	for _, pt := range [][]byte{nil, {}, []byte("x"), []byte("16-byte-readable"), []byte(testValue), bytes.Repeat([]byte{0}, 4096)} {
		aad := []byte("conn-1\x00secret-1")
		sealed, err := kr.Seal(pt, aad)
		if err != nil {
			t.Fatal(err)
		}
		if len(sealed) != len(pt)+Overhead {
			t.Errorf("sealed %d bytes for %d-byte plaintext, want +%d", len(sealed), len(pt), Overhead)
		}
		// No readable plaintext in what is stored. Checked only for plaintexts of at least
		// minVisible bytes: a short one (say "x") turns up among the ~29 random nonce, tag and
		// ciphertext bytes by chance (about one run in nine for one byte), while a 16-byte
		// match has probability about 2^-128.
		const minVisible = 16
		if len(pt) >= minVisible && bytes.Contains(sealed, pt) {
			t.Errorf("%d-byte plaintext visible in sealed value", len(pt))
		}
		id, err := SealedKeyID(sealed)
		if err != nil || id != kr.PrimaryID() {
			t.Errorf("SealedKeyID = %q, %v; want %q", id, err, kr.PrimaryID())
		}
		got, err := kr.Open(sealed, aad)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, pt) {
			t.Errorf("Open = %q, want %q", got, pt)
		}
	}
}

func TestSealIsRandomized(t *testing.T) {
	t.Parallel()
	kr := testKeyring(t)
	a, _ := kr.Seal([]byte(testValue), nil)
	b, _ := kr.Seal([]byte(testValue), nil)
	if bytes.Equal(a, b) {
		t.Fatal("two seals of the same value are identical: nonce is not random")
	}
}

func TestKeyIDFormat(t *testing.T) {
	t.Parallel()
	key := bytes.Repeat([]byte{1}, KeySize)
	kr, err := NewKeyring(key)
	if err != nil {
		t.Fatal(err)
	}
	// sha256 of 32 bytes of 0x01, first 4 bytes.
	if got, want := kr.PrimaryID(), KeyID(key); got != want || len(got) != 8 {
		t.Fatalf("PrimaryID = %q, KeyID = %q", got, want)
	}
	if _, err := hex.DecodeString(kr.PrimaryID()); err != nil {
		t.Fatalf("key ID is not hex: %v", err)
	}
}

func TestOpenFailures(t *testing.T) {
	t.Parallel()
	kr := testKeyring(t)
	other := testKeyring(t)
	aad := []byte("conn-1\x00secret-1")
	sealed, err := kr.Seal([]byte(testValue), aad)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte {
		b := bytes.Clone(sealed)
		b[i] ^= 0x01
		return b
	}
	// A key with the same ID but other bytes cannot be built normally; forge one.
	sameID := &Keyring{keys: []*masterKey{mustKey(t, GenerateKey())}}
	sameID.keys[0].id = kr.keys[0].id

	tests := []struct {
		name   string
		kr     *Keyring
		sealed []byte
		aad    []byte
		want   error
	}{
		{"wrong aad", kr, sealed, []byte("conn-2\x00secret-1"), ErrDecrypt},
		{"missing aad", kr, sealed, nil, ErrDecrypt},
		{"wrong key", other, sealed, aad, ErrUnknownKey},
		{"same id other key", sameID, sealed, aad, ErrDecrypt},
		{"tampered ciphertext", kr, flip(len(sealed) - 20), aad, ErrDecrypt},
		{"tampered tag", kr, flip(len(sealed) - 1), aad, ErrDecrypt},
		{"tampered nonce", kr, flip(headerSize), aad, ErrDecrypt},
		{"tampered key id", kr, flip(1), aad, ErrUnknownKey},
		{"tampered version", kr, flip(0), aad, ErrMalformed},
		{"truncated", kr, sealed[:Overhead-1], aad, ErrMalformed},
		{"empty", kr, nil, aad, ErrMalformed},
		{"appended", kr, append(bytes.Clone(sealed), 0), aad, ErrDecrypt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pt, err := tt.kr.Open(tt.sealed, tt.aad)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Open error = %v, want %v", err, tt.want)
			}
			if pt != nil {
				t.Fatal("Open returned plaintext with an error")
			}
			msg := err.Error()
			for _, leak := range append(encodings([]byte(testValue)), encodings(kr.keys[0].raw)...) {
				if strings.Contains(msg, leak) {
					t.Fatalf("error %q leaks secret material", msg)
				}
			}
			if strings.Contains(msg, hex.EncodeToString(tt.sealed)) && len(tt.sealed) > 0 {
				t.Fatalf("error %q contains the sealed bytes", msg)
			}
		})
	}
}

func mustKey(t *testing.T, raw []byte) *masterKey {
	t.Helper()
	mk, err := newMasterKey(raw, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	return mk
}

func TestRotation(t *testing.T) {
	t.Parallel()
	old := testKeyring(t)
	aad := []byte("a")
	sealedOld, err := old.Seal([]byte(testValue), aad)
	if err != nil {
		t.Fatal(err)
	}
	rotated := old.Rotate()
	if rotated.PrimaryID() == old.PrimaryID() {
		t.Fatal("Rotate kept the primary")
	}
	if ids := rotated.KeyIDs(); len(ids) != 2 || ids[1] != old.PrimaryID() {
		t.Fatalf("rotated KeyIDs = %v, want [new %s]", ids, old.PrimaryID())
	}
	if old.PrimaryID() != old.KeyIDs()[0] || len(old.KeyIDs()) != 1 {
		t.Fatal("Rotate modified the original keyring")
	}
	if !rotated.NeedsReseal(sealedOld) || old.NeedsReseal(sealedOld) {
		t.Fatal("NeedsReseal wrong for the old ciphertext")
	}
	pt, err := rotated.Open(sealedOld, aad)
	if err != nil || string(pt) != testValue {
		t.Fatalf("old ciphertext does not open after rotation: %v", err)
	}
	resealed, err := rotated.Seal(pt, aad)
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := SealedKeyID(resealed); id != rotated.PrimaryID() || rotated.NeedsReseal(resealed) {
		t.Fatalf("reseal used key %s, want %s", id, rotated.PrimaryID())
	}
	if _, err := old.Open(resealed, aad); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("old keyring opened a value sealed by the new key: %v", err)
	}
	dropped := rotated.DropOlder()
	if _, err := dropped.Open(sealedOld, aad); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("DropOlder kept the old key: %v", err)
	}
	if _, err := dropped.Open(resealed, aad); err != nil {
		t.Fatal(err)
	}
	if !rotated.NeedsReseal([]byte("garbage")) {
		t.Fatal("NeedsReseal(garbage) = false")
	}
	// EnvValue round-trips through the env format.
	kr2, err := parseEnvKeys("X", rotated.EnvValue().Reveal())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(kr2.KeyIDs(), ",") != strings.Join(rotated.KeyIDs(), ",") {
		t.Fatalf("EnvValue round trip: %v vs %v", kr2.KeyIDs(), rotated.KeyIDs())
	}
	if rotated.EnvValue().String() != Redacted {
		t.Fatal("EnvValue is not redacted")
	}
}

func TestNewKeyringErrors(t *testing.T) {
	t.Parallel()
	k := GenerateKey()
	if _, err := NewKeyring(k[:16]); err == nil {
		t.Error("16-byte key accepted")
	}
	if _, err := NewKeyring(k, k); err == nil || !strings.Contains(err.Error(), "same key") {
		t.Errorf("duplicate key: %v", err)
	}
	if _, err := NewKeyring(nil); err == nil {
		t.Error("nil key accepted")
	}
	var empty *Keyring
	if _, err := empty.Seal([]byte("x"), nil); err == nil {
		t.Error("nil keyring sealed")
	}
}

func TestConcurrentSealOpen(t *testing.T) {
	t.Parallel()
	kr := testKeyring(t).Rotate()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			aad := []byte{byte(i)}
			for range 200 {
				s, err := kr.Seal([]byte(testValue), aad)
				if err != nil {
					t.Error(err)
					return
				}
				if p, err := kr.Open(s, aad); err != nil || string(p) != testValue {
					t.Error("round trip failed", err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func FuzzOpen(f *testing.F) {
	kr, _ := NewKeyring(bytes.Repeat([]byte{7}, KeySize))
	good, _ := kr.Seal([]byte("hello"), []byte("aad"))
	f.Add(good, []byte("aad"))
	f.Add([]byte{1, 2, 3}, []byte(nil))
	f.Fuzz(func(t *testing.T, sealed, aad []byte) {
		pt, err := kr.Open(sealed, aad)
		if err == nil && !bytes.Equal(sealed, good) {
			// Only a genuine seal authenticates; a fuzzer forging one would be a break.
			if _, err2 := SealedKeyID(sealed); err2 != nil {
				t.Fatalf("Open accepted malformed input")
			}
		}
		if err != nil && pt != nil {
			t.Fatal("plaintext with error")
		}
		_ = kr.NeedsReseal(sealed)
	})
}

func TestEmptyKeyringDoesNotPanic(t *testing.T) {
	t.Parallel()
	for _, kr := range []*Keyring{nil, {}} {
		if kr.PrimaryID() != "" || kr.KeyIDs() != nil || !kr.NeedsReseal([]byte("x")) || kr.EnvValue() != "" || kr.String() != "keyring(empty)" {
			t.Error("empty keyring accessors")
		}
		if _, err := kr.Seal([]byte("x"), nil); err == nil {
			t.Error("empty keyring sealed")
		}
		if _, err := kr.Open(make([]byte, Overhead), nil); err == nil {
			t.Error("empty keyring opened")
		}
		if r := kr.Rotate(); len(r.KeyIDs()) != 1 {
			t.Error("Rotate of empty keyring")
		}
		_ = kr.DropOlder()
	}
}
