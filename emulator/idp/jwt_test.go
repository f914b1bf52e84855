package idp

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestVerifyRejects(t *testing.T) {
	t.Parallel()
	f := setup(t)
	tok := accessToken(t, f.do("POST", tokenPath(tenantID), goodForm()))
	parts := strings.Split(tok, ".")

	// Tampered payload: same header and signature, roles added.
	p, _ := base64.RawURLEncoding.DecodeString(parts[1])
	forged := strings.Replace(string(p), `"roles":["API.ReadWrite.All"`, `"roles":["AdminCenter.ReadWrite.All","API.ReadWrite.All"`, 1)
	if forged == string(p) {
		t.Fatal("test setup: payload has no roles to tamper with")
	}
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(forged)) + "." + parts[2]

	// Signed by another emulator instance (another key, another kid).
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	must(t, err)
	other, err := NewServer(Config{Key: otherKey, Now: f.clock.Now})
	must(t, err)
	c, err := f.s.Verify(tok)
	must(t, err)
	foreign, err := other.Sign(*c)
	must(t, err)

	// Same kid, signature by another key.
	otherSig := strings.Split(foreign, ".")[2]
	wrongSig := parts[0] + "." + parts[1] + "." + otherSig

	noneAlg := base64.RawURLEncoding.EncodeToString([]byte(`{"typ":"JWT","alg":"none"}`)) + "." + parts[1] + "."

	future := *c
	future.NBF = f.clock.Now().Add(time.Minute).Unix()
	notYet, err := f.s.Sign(future)
	must(t, err)

	tests := []struct {
		name string
		raw  string
		want VerifyReason
	}{
		{"empty", "", Malformed},
		{"two parts", parts[0] + "." + parts[1], Malformed},
		{"garbage", "a.b.c", Malformed},
		{"alg none", noneAlg, Malformed},
		{"payload not JSON", parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte("x")) + "." + parts[2], BadSignature},
		{"tampered payload", tampered, BadSignature},
		{"foreign kid", foreign, BadSignature},
		{"wrong signature", wrongSig, BadSignature},
		{"not yet valid", notYet, NotYetValid},
	}
	for _, tc := range tests {
		_, err := f.s.Verify(tc.raw)
		var ve *VerifyError
		if !errors.As(err, &ve) || ve.Reason != tc.want {
			t.Errorf("%s: err %v, want reason %s", tc.name, err, tc.want)
		}
	}

	// Expiry follows the injected clock: valid one second before exp, expired at exp.
	f.clock.Add(3598 * time.Second)
	if _, err := f.s.Verify(tok); err != nil {
		t.Errorf("1 s before exp: %v", err)
	}
	f.clock.Add(time.Second)
	_, err = f.s.Verify(tok)
	var ve *VerifyError
	if !errors.As(err, &ve) || ve.Reason != Expired || !strings.Contains(err.Error(), "expired") {
		t.Errorf("at exp: %v", err)
	}
}

func TestSignedPayloadOmitsEmptyRoles(t *testing.T) {
	t.Parallel()
	f := setup(t)
	tok, err := f.s.Sign(Claims{Aud: BCResourceURI, TID: tenantID, EXP: f.clock.Now().Unix() + 60, Ver: "1.0"})
	must(t, err)
	if strings.Contains(string(mustDecode(t, strings.Split(tok, ".")[1])), "roles") {
		t.Error("roles key present for no roles")
	}
}

func mustDecode(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	must(t, err)
	return b
}
