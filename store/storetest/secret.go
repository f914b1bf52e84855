package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
)

// RunSecrets runs the conformance suite of store.SecretStore.
func RunSecrets(t *testing.T, open Opener) {
	t.Helper()
	runTests(t, func(*testing.T) Opener { return open }, []test[Opener]{
		{"Lifecycle", testSecretLifecycle},
		{"AddReplacesPending", testSecretAddReplacesPending},
		{"Errors", testSecretErrors},
		{"ValuesRoundTrip", testSecretValuesRoundTrip},
		{"Verified", testSecretVerified},
		{"ReSealAll", testReSealAll},
		{"ReSealAllMissingKey", testReSealAllMissingKey},
		{"Concurrent", testConcurrent},
		{"ConcurrentAddOneConnection", testSecretConcurrentAdd},
		{"Certificate", testCertificateLifecycle},
		{"CertificateInvalid", testCertificateInvalid},
	})
}

func testSecretLifecycle(t *testing.T, open Opener) {
	ctx := t.Context()
	kr := newKeyring(t)
	s := open(t, kr)
	c := mustCreate(t, s, NewConnection("c"))
	end1 := time.Date(2027, 6, 30, 23, 59, 59, 0, time.UTC)

	_, _, err := s.ActiveSecret(ctx, c.ID)
	wantErr(t, "ActiveSecret before any", err, store.ErrNotFound)
	_, _, err = s.PendingSecret(ctx, c.ID)
	wantErr(t, "PendingSecret before any", err, store.ErrNotFound)

	r1, err := s.AddSecret(ctx, c.ID, "first~secret.value", end1)
	if err != nil {
		t.Fatal(err)
	}
	if r1.State != store.SecretPending || r1.ConnectionID != c.ID || r1.ID == "" || !r1.EndDate.Equal(end1) ||
		r1.KeyID != kr.PrimaryID() || r1.CreatedAt.IsZero() || !r1.VerifiedAt.IsZero() {
		t.Fatalf("AddSecret record: %+v", r1)
	}
	_, _, err = s.ActiveSecret(ctx, c.ID)
	wantErr(t, "ActiveSecret with only a pending one", err, store.ErrNotFound)
	v, rec, err := s.PendingSecret(ctx, c.ID)
	if err != nil || v.Reveal() != "first~secret.value" || rec.ID != r1.ID {
		t.Fatalf("PendingSecret = %v %+v %v", v.Reveal() == "first~secret.value", rec, err)
	}

	p1, err := s.PromoteSecret(ctx, c.ID, r1.ID)
	if err != nil {
		t.Fatal(err)
	}
	if p1.State != store.SecretActive || p1.VerifiedAt.IsZero() {
		t.Fatalf("promoted record: %+v", p1)
	}
	v, rec, err = s.ActiveSecret(ctx, c.ID)
	if err != nil || v.Reveal() != "first~secret.value" || rec.ID != r1.ID || rec.State != store.SecretActive {
		t.Fatalf("ActiveSecret after promote: %+v %v", rec, err)
	}
	if again, err := s.PromoteSecret(ctx, c.ID, r1.ID); err != nil || again.State != store.SecretActive {
		t.Fatalf("promoting the active secret again: %+v %v", again, err)
	}

	// Rotation without downtime: the old secret stays active until the new one is promoted.
	r2, err := s.AddSecret(ctx, c.ID, "second~secret.value", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if v, _, err := s.ActiveSecret(ctx, c.ID); err != nil || v.Reveal() != "first~secret.value" {
		t.Fatalf("active secret changed before promotion: %v", err)
	}
	if v, rec, err := s.PendingSecret(ctx, c.ID); err != nil || v.Reveal() != "second~secret.value" || !rec.EndDate.IsZero() {
		t.Fatalf("pending secret: %+v %v", rec, err)
	}
	if _, err := s.PromoteSecret(ctx, c.ID, r2.ID); err != nil {
		t.Fatal(err)
	}
	if v, rec, err := s.ActiveSecret(ctx, c.ID); err != nil || v.Reveal() != "second~secret.value" || rec.ID != r2.ID {
		t.Fatalf("active after second promotion: %+v %v", rec, err)
	}
	_, _, err = s.PendingSecret(ctx, c.ID)
	wantErr(t, "PendingSecret after promotion", err, store.ErrNotFound)

	list, err := s.ListSecrets(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != r1.ID || list[1].ID != r2.ID {
		t.Fatalf("ListSecrets = %+v", list)
	}
	old := list[0]
	if old.State != store.SecretRetired || old.RetiredAt.IsZero() || old.KeyID != "" || !old.EndDate.Equal(end1) {
		t.Errorf("previous active not retired properly: %+v", old)
	}
	_, err = s.PromoteSecret(ctx, c.ID, r1.ID)
	wantErr(t, "promote a retired secret", err, store.ErrConflict)

	// Retiring the active secret (e.g. it leaked) leaves none.
	ret, err := s.RetireSecret(ctx, c.ID, r2.ID)
	if err != nil || ret.State != store.SecretRetired || ret.RetiredAt.IsZero() {
		t.Fatalf("RetireSecret: %+v %v", ret, err)
	}
	_, _, err = s.ActiveSecret(ctx, c.ID)
	wantErr(t, "ActiveSecret after retiring it", err, store.ErrNotFound)
	if again, err := s.RetireSecret(ctx, c.ID, r2.ID); err != nil || !again.RetiredAt.Equal(ret.RetiredAt) {
		t.Fatalf("retiring twice: %+v %v", again, err)
	}
	if ids, err := s.SealedKeyIDs(ctx); err != nil || len(ids) != 0 {
		t.Errorf("retired secrets still sealed: %v %v", ids, err)
	}
}

func testSecretAddReplacesPending(t *testing.T, open Opener) {
	ctx := t.Context()
	s := open(t, newKeyring(t))
	c := mustCreate(t, s, NewConnection("c"))
	a, err := s.AddSecret(ctx, c.ID, "typo-secret", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.AddSecret(ctx, c.ID, "right-secret", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	v, rec, err := s.PendingSecret(ctx, c.ID)
	if err != nil || rec.ID != b.ID || v.Reveal() != "right-secret" {
		t.Fatalf("PendingSecret = %+v %v", rec, err)
	}
	list, _ := s.ListSecrets(ctx, c.ID)
	if len(list) != 2 || list[0].ID != a.ID || list[0].State != store.SecretRetired || list[1].State != store.SecretPending {
		t.Fatalf("ListSecrets = %+v", list)
	}
	_, err = s.PromoteSecret(ctx, c.ID, a.ID)
	wantErr(t, "promote the replaced pending secret", err, store.ErrConflict)
}

func testSecretErrors(t *testing.T, open Opener) {
	ctx := t.Context()
	s := open(t, newKeyring(t))
	c := mustCreate(t, s, NewConnection("c"))
	other := mustCreate(t, s, NewConnection("other"))

	_, err := s.AddSecret(ctx, "missing", "x", time.Time{})
	wantErr(t, "AddSecret to a missing connection", err, store.ErrNotFound)
	_, err = s.AddSecret(ctx, c.ID, "", time.Time{})
	wantErr(t, "AddSecret empty", err, store.ErrInvalid)
	_, err = s.ListSecrets(ctx, "missing")
	wantErr(t, "ListSecrets of a missing connection", err, store.ErrNotFound)
	if l, err := s.ListSecrets(ctx, c.ID); err != nil || len(l) != 0 {
		t.Fatalf("ListSecrets of a new connection: %v %v", l, err)
	}

	r, err := s.AddSecret(ctx, c.ID, "value-of-c", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	for name, f := range map[string]func() error{
		"Promote unknown":         func() error { _, err := s.PromoteSecret(ctx, c.ID, "nope"); return err },
		"Promote via other conn":  func() error { _, err := s.PromoteSecret(ctx, other.ID, r.ID); return err },
		"Retire unknown":          func() error { _, err := s.RetireSecret(ctx, c.ID, "nope"); return err },
		"Retire via other conn":   func() error { _, err := s.RetireSecret(ctx, other.ID, r.ID); return err },
		"Verified unknown":        func() error { _, err := s.MarkSecretVerified(ctx, c.ID, "nope"); return err },
		"Verified via other conn": func() error { _, err := s.MarkSecretVerified(ctx, other.ID, r.ID); return err },
	} {
		err := f()
		wantErr(t, name, err, store.ErrNotFound)
		if strings.Contains(err.Error(), "value-of-c") {
			t.Errorf("%s: error leaks the secret: %v", name, err)
		}
	}
	if _, _, err := s.PendingSecret(ctx, other.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("other connection sees c's secret: %v", err)
	}
}

func testSecretValuesRoundTrip(t *testing.T, open Opener) {
	ctx := t.Context()
	s := open(t, newKeyring(t))
	c := mustCreate(t, s, NewConnection("c"))
	for i, v := range []string{
		"Zq8~xY2.abcDEFghiJKLmnoPQRstuVWX-0123456789",
		"with 'quotes' and \"double\" and \\ and \x00 nul",
		"ünïcödé 秘密 🔑",
		strings.Repeat("long", 1000),
	} {
		end := time.Date(2026, 12, 1, 10, 0, 0, 123456789, time.FixedZone("CET", 3600))
		rec, err := s.AddSecret(ctx, c.ID, secret.Secret(v), end)
		if err != nil {
			t.Fatal(err)
		}
		if !rec.EndDate.Equal(end.Truncate(time.Microsecond)) {
			t.Errorf("EndDate %v, want %v at microsecond precision", rec.EndDate, end)
		}
		got, grec, err := s.PendingSecret(ctx, c.ID)
		if err != nil || got.Reveal() != v {
			t.Fatalf("value %d did not round-trip: %v", i, err)
		}
		if !grec.EndDate.Equal(rec.EndDate) || !grec.CreatedAt.Equal(rec.CreatedAt) {
			t.Errorf("record round trip: %+v vs %+v", grec, rec)
		}
	}
}

func testSecretVerified(t *testing.T, open Opener) {
	ctx := t.Context()
	s := open(t, newKeyring(t))
	c := mustCreate(t, s, NewConnection("c"))
	r, _ := s.AddSecret(ctx, c.ID, "v", time.Time{})
	m, err := s.MarkSecretVerified(ctx, c.ID, r.ID)
	if err != nil || m.VerifiedAt.IsZero() || m.State != store.SecretPending {
		t.Fatalf("MarkSecretVerified: %+v %v", m, err)
	}
	p, err := s.PromoteSecret(ctx, c.ID, r.ID)
	if err != nil || !p.VerifiedAt.Equal(m.VerifiedAt) {
		t.Fatalf("Promote overwrote VerifiedAt: %v -> %v (%v)", m.VerifiedAt, p.VerifiedAt, err)
	}
	time.Sleep(2 * time.Millisecond)
	m2, err := s.MarkSecretVerified(ctx, c.ID, r.ID)
	if err != nil || !m2.VerifiedAt.After(m.VerifiedAt) {
		t.Fatalf("re-verify: %+v %v", m2, err)
	}
	_, rec, _ := s.ActiveSecret(ctx, c.ID)
	if !rec.VerifiedAt.Equal(m2.VerifiedAt) {
		t.Errorf("stored VerifiedAt %v, want %v", rec.VerifiedAt, m2.VerifiedAt)
	}
	s.RetireSecret(ctx, c.ID, r.ID)
	_, err = s.MarkSecretVerified(ctx, c.ID, r.ID)
	wantErr(t, "verify a retired secret", err, store.ErrConflict)
}

func testReSealAll(t *testing.T, open Opener) {
	ctx := t.Context()
	kr1 := newKeyring(t)
	s := open(t, kr1)
	values := map[string]string{}
	for i := range 3 {
		c := mustCreate(t, s, NewConnection(fmt.Sprintf("c%d", i)))
		r, err := s.AddSecret(ctx, c.ID, secret.Secret(fmt.Sprintf("active-%d", i)), time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.PromoteSecret(ctx, c.ID, r.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddSecret(ctx, c.ID, secret.Secret(fmt.Sprintf("pending-%d", i)), time.Time{}); err != nil {
			t.Fatal(err)
		}
		values[c.ID] = fmt.Sprint(i)
	}
	if ids, _ := s.SealedKeyIDs(ctx); ids[kr1.PrimaryID()] != 6 || len(ids) != 1 {
		t.Fatalf("SealedKeyIDs before rotation = %v", ids)
	}

	kr2 := kr1.Rotate()
	n, err := s.ReSealAll(ctx, kr2)
	if err != nil {
		t.Fatal(err)
	}
	if n != 6 {
		t.Errorf("ReSealAll re-sealed %d, want 6", n)
	}
	if ids, _ := s.SealedKeyIDs(ctx); ids[kr2.PrimaryID()] != 6 || len(ids) != 1 {
		t.Fatalf("SealedKeyIDs after rotation = %v, want all under %s", ids, kr2.PrimaryID())
	}
	for id, i := range values {
		if v, rec, err := s.ActiveSecret(ctx, id); err != nil || v.Reveal() != "active-"+i || rec.KeyID != kr2.PrimaryID() {
			t.Errorf("active secret of %s after re-seal: %+v %v", id, rec, err)
		}
		if v, _, err := s.PendingSecret(ctx, id); err != nil || v.Reveal() != "pending-"+i {
			t.Errorf("pending secret of %s after re-seal: %v", id, err)
		}
	}
	// The store now seals new secrets with the new primary.
	c := mustCreate(t, s, NewConnection("new"))
	if r, err := s.AddSecret(ctx, c.ID, "fresh", time.Time{}); err != nil || r.KeyID != kr2.PrimaryID() {
		t.Errorf("new secret sealed with %q, want %s (%v)", r.KeyID, kr2.PrimaryID(), err)
	}
	if n, err := s.ReSealAll(ctx, kr2); err != nil || n != 0 {
		t.Errorf("second ReSealAll = %d, %v; want 0", n, err)
	}
	// Once nothing uses the old key, it can be dropped.
	if n, err := s.ReSealAll(ctx, kr2.DropOlder()); err != nil || n != 0 {
		t.Errorf("ReSealAll with the old key dropped = %d, %v", n, err)
	}
	if v, _, err := s.ActiveSecret(ctx, mustFirst(values)); err != nil || !strings.HasPrefix(v.Reveal(), "active-") {
		t.Errorf("after dropping the old key: %v", err)
	}
}

func mustFirst(m map[string]string) string {
	for k := range m {
		return k
	}
	return ""
}

func testReSealAllMissingKey(t *testing.T, open Opener) {
	ctx := t.Context()
	kr1 := newKeyring(t)
	s := open(t, kr1)
	for i := range 2 {
		c := mustCreate(t, s, NewConnection(fmt.Sprint(i)))
		if _, err := s.AddSecret(ctx, c.ID, "do-not-leak-me", time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	unrelated := newKeyring(t) // lacks kr1's key
	n, err := s.ReSealAll(ctx, unrelated)
	if !errors.Is(err, secret.ErrUnknownKey) || n != 0 {
		t.Fatalf("ReSealAll with a keyring missing the old key = %d, %v; want secret.ErrUnknownKey", n, err)
	}
	if strings.Contains(err.Error(), "do-not-leak-me") {
		t.Fatalf("error leaks the secret: %v", err)
	}
	// Nothing changed and the store still uses kr1.
	if ids, _ := s.SealedKeyIDs(ctx); ids[kr1.PrimaryID()] != 2 {
		t.Fatalf("failed ReSealAll changed stored secrets: %v", ids)
	}
	c, _ := s.GetConnection(ctx, "0")
	if v, _, err := s.PendingSecret(ctx, c.ID); err != nil || v.Reveal() != "do-not-leak-me" {
		t.Fatalf("store unusable after failed ReSealAll: %v", err)
	}
}

func testConcurrent(t *testing.T, open Opener) {
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	s := open(t, newKeyring(t))
	base := mustCreate(t, s, NewConnection("base"))
	r, _ := s.AddSecret(ctx, base.ID, "base-secret", time.Time{})
	s.PromoteSecret(ctx, base.ID, r.ID)

	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := range 2 {
		wg.Go(func() {
			for i := range 15 {
				c, err := s.CreateConnection(ctx, NewConnection(fmt.Sprintf("w%d-%d", w, i)))
				if err != nil {
					errs <- err
					return
				}
				rec, err := s.AddSecret(ctx, c.ID, "s", time.Time{})
				if err == nil {
					_, err = s.PromoteSecret(ctx, c.ID, rec.ID)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for range 4 {
		wg.Go(func() {
			for range 40 {
				if _, err := s.ListConnections(ctx); err != nil {
					errs <- err
					return
				}
				if v, _, err := s.ActiveSecret(ctx, base.ID); err != nil || v.Reveal() != "base-secret" {
					errs <- fmt.Errorf("ActiveSecret: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if list, _ := s.ListConnections(ctx); len(list) != 31 {
		t.Errorf("%d connections after concurrent creates, want 31", len(list))
	}
}

// testSecretConcurrentAdd: writers adding and promoting secrets of one connection at once
// (on a server, from separate connections) all succeed, one after the other: the
// connection ends with exactly one active secret and no pending one, and every other
// secret is retired with its value erased.
func testSecretConcurrentAdd(t *testing.T, open Opener) {
	ctx := t.Context()
	s := open(t, newKeyring(t))
	c := mustCreate(t, s, NewConnection("c"))
	const writers = 6
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			rec, err := s.AddSecret(ctx, c.ID, secret.Secret(fmt.Sprintf("secret-%d", w)), time.Time{})
			if err != nil {
				errs <- fmt.Errorf("writer %d: AddSecret: %w", w, err)
				return
			}
			// Another writer may have replaced it in the meantime: then it is retired.
			if _, err := s.PromoteSecret(ctx, c.ID, rec.ID); err != nil && !errors.Is(err, store.ErrConflict) {
				errs <- fmt.Errorf("writer %d: PromoteSecret: %w", w, err)
			}
		})
	}
	wg.Wait()
	collect(t, errs)
	list, err := s.ListSecrets(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	states := map[store.SecretState]int{}
	for _, r := range list {
		states[r.State]++
	}
	if len(list) != writers || states[store.SecretActive] != 1 || states[store.SecretPending] != 0 {
		t.Fatalf("after concurrent adds: %d secrets %v, want %d with exactly one active and none pending", len(list), states, writers)
	}
	if v, _, err := s.ActiveSecret(ctx, c.ID); err != nil || !strings.HasPrefix(v.Reveal(), "secret-") {
		t.Fatalf("ActiveSecret: %v", err)
	}
	if ids, err := s.SealedKeyIDs(ctx); err != nil || len(ids) != 1 || ids[mustOnly(ids)] != 1 {
		t.Fatalf("SealedKeyIDs = %v (%v), want one sealed secret", ids, err)
	}
}

func mustOnly(m map[string]int) string {
	for k := range m {
		return k
	}
	return ""
}

// testCertificateLifecycle: a connection moves from a client secret to a certificate and
// on to a new certificate, each pending until promoted, without a moment with no active
// credential; the certificate (public) is kept with its record, the private key sealed.
func testCertificateLifecycle(t *testing.T, open Opener) {
	ctx := t.Context()
	kr := newKeyring(t)
	s := open(t, kr)
	c := mustCreate(t, s, NewConnection("c"))
	sr, err := s.AddSecret(ctx, c.ID, "the~secret", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if sr.Kind != store.CredentialSecret || sr.Certificate != nil || sr.Thumbprint() != "" {
		t.Fatalf("a secret's record: kind %q, certificate %d bytes", sr.Kind, len(sr.Certificate))
	}
	if _, err := s.PromoteSecret(ctx, c.ID, sr.ID); err != nil {
		t.Fatal(err)
	}

	cert1 := Certificate(t, time.Date(2027, 12, 1, 10, 0, 0, 0, time.UTC))
	r1, err := s.AddCertificate(ctx, c.ID, cert1)
	if err != nil {
		t.Fatal(err)
	}
	if r1.Kind != store.CredentialCertificate || r1.State != store.SecretPending || !bytes.Equal(r1.Certificate, cert1.DER) ||
		r1.Thumbprint() != cert1.Thumbprint() || !r1.EndDate.Equal(cert1.NotAfter()) || r1.KeyID != kr.PrimaryID() {
		t.Fatalf("AddCertificate record: kind %q state %q end %v key %q", r1.Kind, r1.State, r1.EndDate, r1.KeyID)
	}
	// The secret stays active until the certificate is promoted.
	if v, rec, err := s.ActiveSecret(ctx, c.ID); err != nil || v.Reveal() != "the~secret" || rec.Kind != store.CredentialSecret {
		t.Fatalf("active before promotion: kind %q, %v", rec.Kind, err)
	}
	v, rec, err := s.PendingSecret(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	cred := rec.Credential(v)
	if !cred.IsCertificate() || cred.Certificate.Key != cert1.Key || !bytes.Equal(cred.Certificate.DER, cert1.DER) || cred.Certificate.Check() != nil {
		t.Fatalf("the pending certificate did not round-trip: kind %s", cred.Kind())
	}
	if _, err := s.PromoteSecret(ctx, c.ID, r1.ID); err != nil {
		t.Fatal(err)
	}
	v, rec, err = s.ActiveSecret(ctx, c.ID)
	if err != nil || rec.ID != r1.ID || rec.Credential(v).Certificate == nil || rec.Credential(v).Certificate.Key != cert1.Key {
		t.Fatalf("active after promotion: %+v %v", rec.ID, err)
	}

	// Certificate to new certificate.
	cert2 := Certificate(t, time.Date(2028, 12, 1, 10, 0, 0, 0, time.UTC))
	r2, err := s.AddCertificate(ctx, c.ID, cert2)
	if err != nil {
		t.Fatal(err)
	}
	if _, rec, _ := s.ActiveSecret(ctx, c.ID); rec.ID != r1.ID {
		t.Fatal("the first certificate stopped being active before the second was promoted")
	}
	if _, err := s.PromoteSecret(ctx, c.ID, r2.ID); err != nil {
		t.Fatal(err)
	}
	recs, err := s.ListSecrets(ctx, c.ID)
	if err != nil || len(recs) != 3 {
		t.Fatalf("ListSecrets: %d, %v", len(recs), err)
	}
	want := []struct {
		kind  store.CredentialKind
		state store.SecretState
		thumb string
	}{{store.CredentialSecret, store.SecretRetired, ""}, {store.CredentialCertificate, store.SecretRetired, cert1.Thumbprint()},
		{store.CredentialCertificate, store.SecretActive, cert2.Thumbprint()}}
	for i, w := range want {
		if recs[i].Kind != w.kind || recs[i].State != w.state || recs[i].Thumbprint() != w.thumb {
			t.Errorf("record %d: %s %s %s, want %s %s %s", i, recs[i].Kind, recs[i].State, recs[i].Thumbprint(), w.kind, w.state, w.thumb)
		}
	}
	// Re-sealing under a new master key covers certificate keys.
	kr2 := kr.Rotate()
	if n, err := s.ReSealAll(ctx, kr2); err != nil || n != 1 {
		t.Fatalf("ReSealAll = %d, %v; want the one sealed certificate key", n, err)
	}
	if v, rec, err := s.ActiveSecret(ctx, c.ID); err != nil || v != cert2.Key || rec.KeyID != kr2.PrimaryID() || !bytes.Equal(rec.Certificate, cert2.DER) {
		t.Fatalf("certificate after re-seal: %v", err)
	}
}

func testCertificateInvalid(t *testing.T, open Opener) {
	ctx := t.Context()
	s := open(t, newKeyring(t))
	c := mustCreate(t, s, NewConnection("c"))
	end := time.Date(2027, 12, 1, 10, 0, 0, 0, time.UTC)
	a, b := Certificate(t, end), Certificate(t, end)
	for name, cert := range map[string]secret.Certificate{
		"key of another certificate": {DER: a.DER, Key: b.Key},
		"no certificate":             {Key: a.Key},
		"no key":                     {DER: a.DER},
	} {
		_, err := s.AddCertificate(ctx, c.ID, cert)
		wantErr(t, name, err, store.ErrInvalid)
		if !strings.Contains(err.Error(), "certificate") {
			t.Errorf("%s: the error does not say what is wrong: %v", name, err)
		}
	}
	_, err := s.AddCertificate(ctx, "nope", a)
	wantErr(t, "AddCertificate to a missing connection", err, store.ErrNotFound)
	if recs, _ := s.ListSecrets(ctx, c.ID); len(recs) != 0 {
		t.Errorf("refused certificates were stored: %d records", len(recs))
	}
}
