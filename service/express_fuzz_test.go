package service

import (
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/store/sqlite"
)

// FuzzRecordConsent feeds the consent callback's query (what a browser brings back from
// Entra, or anyone else) to RecordConsent: it never panics, and records an answer only
// for the exact state of the connection's link.
func FuzzRecordConsent(f *testing.F) {
	db, err := sqlite.Open(f.Context(), filepath.Join(f.TempDir(), "bcc.db"), secret.GenerateKeyring(), sqlite.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	svc, err := New(Options{Store: db})
	if err != nil {
		f.Fatal(err)
	}
	c, err := db.CreateConnection(f.Context(), store.Connection{Name: "x", TenantID: "contoso.onmicrosoft.com",
		ClientID: "8f3c2b1a-4d5e-4f60-8a7b-9c0d1e2f3a4b", Environment: "Production", CompanyName: "Company X"})
	if err != nil {
		f.Fatal(err)
	}
	nonce := consentNonce()
	if _, err := db.SetConsent(f.Context(), store.Consent{ConnectionID: c.ID, State: store.ConsentPending, Nonce: nonce}); err != nil {
		f.Fatal(err)
	}
	state := c.ID + "." + nonce
	for _, q := range []url.Values{
		{"state": {state}, "admin_consent": {"True"}, "tenant": {"72f988bf-86f1-41af-91ab-2d7cd011db47"}},
		{"state": {state}, "error": {"access_denied"}, "error_description": {"AADSTS90094: Admin consent is required."}},
		{"state": {state}, "error": {"access_denied"}, "admin_consent": {"True"}},
		{"state": {c.ID + "." + strings.ToUpper(nonce)}, "admin_consent": {"True"}},
		{"state": {"." + nonce}}, {"state": {state + "."}}, {},
	} {
		f.Add(q.Encode())
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, _ := url.ParseQuery(raw)
		res, err := svc.RecordConsent(t.Context(), q)
		if err != nil {
			return
		}
		if q.Get("state") != state {
			t.Fatalf("recorded an answer for state %q", q.Get("state"))
		}
		got, err := db.Consent(t.Context(), c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if res.Granted != (got.State == store.ConsentGranted) || (q.Get("error") != "") == res.Granted {
			t.Fatalf("answer %+v recorded as %+v for %v", res, got, q)
		}
	})
}
