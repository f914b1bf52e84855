package storetest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
)

// RunExpress runs the conformance suite of store.ExpressStore.
func RunExpress(t *testing.T, open Opener) {
	t.Helper()
	runTests(t, func(*testing.T) Opener { return open }, []test[Opener]{
		{"OperatorApp", testOperatorApp},
		{"OperatorAppInvalid", testOperatorAppInvalid},
		{"OperatorAppReSeal", testOperatorAppReSeal},
		{"Consent", testConsent},
	})
}

// randomValue is a secret-shaped value made at run time (no literal in the tree).
func randomValue(t *testing.T) secret.Secret {
	t.Helper()
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return secret.Secret(hex.EncodeToString(b))
}

const (
	operatorClient   = "8f3c2b1a-4d5e-4f60-8a7b-9c0d1e2f3a4b"
	operatorRedirect = "https://connector.example.com/consent/callback"
)

func testOperatorApp(t *testing.T, open Opener) {
	ctx := t.Context()
	s := open(t, newKeyring(t))
	_, _, err := s.OperatorApp(ctx)
	wantErr(t, "OperatorApp before any", err, store.ErrNotFound)
	wantErr(t, "DeleteOperatorApp before any", s.DeleteOperatorApp(ctx), store.ErrNotFound)

	changed := make(chan string, 8)
	defer s.Subscribe(store.ChannelConnection, func(p string) { changed <- p })()

	v := randomValue(t)
	end := time.Date(2028, 1, 31, 0, 0, 0, 0, time.UTC)
	app, err := s.SetOperatorApp(ctx, store.OperatorApp{ClientID: strings.ToUpper(operatorClient), TenantID: "bizzjoiner.onmicrosoft.com", RedirectURI: operatorRedirect, EndDate: end}, v)
	if err != nil {
		t.Fatal(err)
	}
	if app.ClientID != operatorClient || app.Kind != store.CredentialSecret || !app.EndDate.Equal(end) || app.KeyID == "" || app.UpdatedAt.IsZero() {
		t.Fatalf("SetOperatorApp = %+v", app)
	}
	select {
	case p := <-changed:
		if p != "" {
			t.Errorf("SetOperatorApp published %q, want the empty payload (every express connection)", p)
		}
	case <-time.After(10 * time.Second):
		t.Error("SetOperatorApp published nothing on ChannelConnection")
	}
	got, gv, err := s.OperatorApp(ctx)
	if err != nil || gv.Reveal() != v.Reveal() || got.ClientID != operatorClient || got.TenantID != "bizzjoiner.onmicrosoft.com" || got.RedirectURI != operatorRedirect ||
		got.Kind != store.CredentialSecret || !got.EndDate.Equal(end) || got.Certificate != nil {
		t.Fatalf("OperatorApp = %+v (value round-trips: %v) %v", got, gv.Reveal() == v.Reveal(), err)
	}
	if c := got.Credential(gv); c.Secret.Reveal() != v.Reveal() || c.Certificate != nil {
		t.Errorf("Credential of a secret: %+v", c)
	}

	// Replaced by a certificate: its end date is the certificate's.
	cert := Certificate(t, time.Date(2027, 12, 1, 10, 0, 0, 0, time.UTC))
	app, err = s.SetOperatorApp(ctx, store.OperatorApp{ClientID: operatorClient, RedirectURI: operatorRedirect, Certificate: cert.DER, EndDate: end}, cert.Key)
	if err != nil {
		t.Fatal(err)
	}
	if app.Kind != store.CredentialCertificate || !app.EndDate.Equal(cert.NotAfter()) {
		t.Errorf("certificate app = %+v, want its NotAfter %s", app, cert.NotAfter())
	}
	got, gv, err = s.OperatorApp(ctx)
	if err != nil || got.Kind != store.CredentialCertificate || !bytes.Equal(got.Certificate, cert.DER) || gv.Reveal() != cert.Key.Reveal() || got.TenantID != "" {
		t.Fatalf("OperatorApp after the certificate = %+v %v", got, err)
	}
	if c := got.Credential(gv); c.Certificate == nil || c.Certificate.Thumbprint() != cert.Thumbprint() {
		t.Errorf("Credential of a certificate: %+v", c)
	}

	if err := s.DeleteOperatorApp(ctx); err != nil {
		t.Fatal(err)
	}
	_, _, err = s.OperatorApp(ctx)
	wantErr(t, "OperatorApp after delete", err, store.ErrNotFound)
	if ids, _ := s.SealedKeyIDs(ctx); len(ids) != 0 {
		t.Errorf("SealedKeyIDs after delete = %v", ids)
	}
}

func testOperatorAppInvalid(t *testing.T, open Opener) {
	ctx := t.Context()
	s := open(t, newKeyring(t))
	cert := Certificate(t, time.Date(2027, 12, 1, 10, 0, 0, 0, time.UTC))
	other := Certificate(t, time.Date(2027, 12, 1, 10, 0, 0, 0, time.UTC))
	for _, tc := range []struct {
		name  string
		app   store.OperatorApp
		value secret.Secret
		want  string
	}{
		{"client ID", store.OperatorApp{ClientID: "bizzjoiner", RedirectURI: operatorRedirect}, randomValue(t), "client ID"},
		{"tenant", store.OperatorApp{ClientID: operatorClient, RedirectURI: operatorRedirect, TenantID: "not a tenant"}, randomValue(t), "tenant"},
		{"no redirect URI", store.OperatorApp{ClientID: operatorClient}, randomValue(t), "redirect URI is empty"},
		{"http redirect URI", store.OperatorApp{ClientID: operatorClient, RedirectURI: "http://connector.example.com/consent/callback"}, randomValue(t), "https"},
		{"other path", store.OperatorApp{ClientID: operatorClient, RedirectURI: "https://connector.example.com/callback"}, randomValue(t), "/consent/callback"},
		{"empty value", store.OperatorApp{ClientID: operatorClient, RedirectURI: operatorRedirect}, "", "credential is empty"},
		{"key of another certificate", store.OperatorApp{ClientID: operatorClient, RedirectURI: operatorRedirect, Certificate: cert.DER}, other.Key, "certificate"},
	} {
		_, err := s.SetOperatorApp(ctx, tc.app, tc.value)
		wantErr(t, tc.name, err, store.ErrInvalid)
		if err != nil && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %q does not name %q", tc.name, err, tc.want)
		}
	}
	_, _, err := s.OperatorApp(ctx)
	wantErr(t, "OperatorApp after refusals", err, store.ErrNotFound)
}

func testOperatorAppReSeal(t *testing.T, open Opener) {
	ctx := t.Context()
	kr1 := newKeyring(t)
	s := open(t, kr1)
	v := randomValue(t)
	if _, err := s.SetOperatorApp(ctx, store.OperatorApp{ClientID: operatorClient, RedirectURI: operatorRedirect}, v); err != nil {
		t.Fatal(err)
	}
	if ids, _ := s.SealedKeyIDs(ctx); ids[kr1.PrimaryID()] != 1 || len(ids) != 1 {
		t.Fatalf("SealedKeyIDs = %v, want the operator app under %s", ids, kr1.PrimaryID())
	}
	kr2 := kr1.Rotate()
	n, err := s.ReSealAll(ctx, kr2)
	if err != nil || n != 1 {
		t.Fatalf("ReSealAll = %d, %v; want 1", n, err)
	}
	if ids, _ := s.SealedKeyIDs(ctx); ids[kr2.PrimaryID()] != 1 || len(ids) != 1 {
		t.Errorf("SealedKeyIDs after rotation = %v", ids)
	}
	app, gv, err := s.OperatorApp(ctx)
	if err != nil || gv.Reveal() != v.Reveal() || app.KeyID != kr2.PrimaryID() {
		t.Errorf("OperatorApp after re-seal: %+v %v", app, err)
	}
	if n, err := s.ReSealAll(ctx, kr2); err != nil || n != 0 {
		t.Errorf("second ReSealAll = %d, %v; want 0", n, err)
	}
}

func testConsent(t *testing.T, open Opener) {
	ctx := t.Context()
	s := open(t, newKeyring(t))
	c := mustCreate(t, s, NewConnection("express"))
	own := mustCreate(t, s, NewConnection("own"))
	nonce := store.NewID()
	_, err := s.SetConsent(ctx, store.Consent{ConnectionID: "missing", State: store.ConsentPending, Nonce: nonce})
	wantErr(t, "SetConsent of a missing connection", err, store.ErrNotFound)
	_, err = s.SetConsent(ctx, store.Consent{ConnectionID: c.ID, State: "maybe", Nonce: nonce})
	wantErr(t, "SetConsent with a bad state", err, store.ErrInvalid)
	_, err = s.SetConsent(ctx, store.Consent{ConnectionID: c.ID, State: store.ConsentPending, Nonce: "short"})
	wantErr(t, "SetConsent with a short nonce", err, store.ErrInvalid)

	p, err := s.SetConsent(ctx, store.Consent{ConnectionID: c.ID, State: store.ConsentPending, Nonce: nonce})
	if err != nil || p.UpdatedAt.IsZero() {
		t.Fatalf("SetConsent pending = %+v %v", p, err)
	}
	r, err := s.SetConsent(ctx, store.Consent{ConnectionID: c.ID, State: store.ConsentRefused, Nonce: nonce,
		Error: "access_denied", ErrorDescription: "AADSTS90094: Admin consent is required."})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Consent(ctx, c.ID)
	if err != nil || got != r {
		t.Fatalf("Consent = %+v %v, want %+v", got, err, r)
	}
	_, err = s.Consent(ctx, own.ID)
	wantErr(t, "Consent of an own-app connection", err, store.ErrNotFound)
	g, err := s.SetConsent(ctx, store.Consent{ConnectionID: c.ID, State: store.ConsentGranted, Nonce: nonce, Tenant: "72f988bf-86f1-41af-91ab-2d7cd011db47"})
	if err != nil {
		t.Fatal(err)
	}
	// Consent seen revoked is a state of its own, with what was seen; a new consent
	// grants it again.
	rv, err := s.SetConsent(ctx, store.Consent{ConnectionID: c.ID, State: store.ConsentRevoked, Nonce: nonce, Tenant: g.Tenant,
		Error: "revoked", ErrorDescription: "AADSTS7000229: The client application is missing service principal in the tenant."})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.Consent(ctx, c.ID); err != nil || got != rv || got.State != store.ConsentRevoked {
		t.Fatalf("Consent after revocation = %+v %v, want %+v", got, err, rv)
	}
	if g, err = s.SetConsent(ctx, store.Consent{ConnectionID: c.ID, State: store.ConsentGranted, Nonce: nonce, Tenant: g.Tenant}); err != nil {
		t.Fatal(err)
	}
	all, err := s.Consents(ctx)
	if err != nil || len(all) != 1 || all[c.ID] != g {
		t.Fatalf("Consents = %+v %v", all, err)
	}
	if err := s.DeleteConnection(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.Consent(ctx, c.ID)
	wantErr(t, "Consent after the connection was deleted", err, store.ErrNotFound)
	if all, _ := s.Consents(ctx); len(all) != 0 {
		t.Errorf("Consents after delete = %v", all)
	}
}
