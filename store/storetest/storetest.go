// Package storetest is the conformance suite every store.Store implementation runs, in
// the manner of River's riverdrivertest: one set of behaviours, one test per dialect.
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T, kr *secret.Keyring) store.Store {
//			db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "t.db"), kr, sqlite.Options{})
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { db.Close() })
//			return db
//		})
//	}
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
)

// Opener returns a new, empty store that seals with kr. It registers its own cleanup.
type Opener func(t *testing.T, kr *secret.Keyring) store.Store

// Run runs the conformance suite against the stores open returns. Subtests run in
// parallel, each on its own store.
func Run(t *testing.T, open Opener) {
	t.Helper()
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, Opener)
	}{
		{"ConnectionCRUD", testConnectionCRUD},
		{"ConnectionConflicts", testConnectionConflicts},
		{"ConnectionValidation", testConnectionValidation},
		{"ConnectionFieldsRoundTrip", testConnectionFieldsRoundTrip},
		{"SecretLifecycle", testSecretLifecycle},
		{"SecretAddReplacesPending", testSecretAddReplacesPending},
		{"SecretErrors", testSecretErrors},
		{"SecretValuesRoundTrip", testSecretValuesRoundTrip},
		{"SecretVerified", testSecretVerified},
		{"DeleteCascades", testDeleteCascades},
		{"ReSealAll", testReSealAll},
		{"ReSealAllMissingKey", testReSealAllMissingKey},
		{"Concurrent", testConcurrent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open)
		})
	}
}

// Fixed GUIDs for tests.
const (
	Tenant  = "72F988BF-86F1-41AF-91AB-2D7CD011DB47"
	Client  = "0B6E3A0C-2E1A-4B55-8D55-4A8F3D5E6C7B"
	Company = "5D115C9C-44E3-EA11-BB43-000D3A2FEEF8"
)

// NewConnection returns a valid connection to create in tests, named name.
func NewConnection(name string) store.Connection {
	return store.Connection{
		Name:        name,
		TenantID:    Tenant,
		ClientID:    Client,
		Environment: "Production",
		CompanyID:   Company,
		CompanyName: "Company X",
	}
}

func newKeyring(t *testing.T) *secret.Keyring {
	t.Helper()
	return secret.GenerateKeyring()
}

func mustCreate(t *testing.T, s store.Store, c store.Connection) store.Connection {
	t.Helper()
	got, err := s.CreateConnection(t.Context(), c)
	if err != nil {
		t.Fatalf("CreateConnection(%q): %v", c.Name, err)
	}
	return got
}

func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: err = %v, want %v", what, err, target)
	}
}

func sameTime(a, b time.Time) bool { return a.Equal(b) }

func equalConnections(a, b store.Connection) string {
	var diffs []string
	add := func(field string, x, y any) { diffs = append(diffs, fmt.Sprintf("%s: %v != %v", field, x, y)) }
	if a.ID != b.ID {
		add("ID", a.ID, b.ID)
	}
	for _, f := range []struct {
		name string
		x, y string
	}{
		{"Name", a.Name, b.Name}, {"TenantID", a.TenantID, b.TenantID}, {"ClientID", a.ClientID, b.ClientID},
		{"Environment", a.Environment, b.Environment}, {"CompanyID", a.CompanyID, b.CompanyID},
		{"CompanyName", a.CompanyName, b.CompanyName}, {"AuthorityHost", a.AuthorityHost, b.AuthorityHost},
		{"BCBaseURL", a.BCBaseURL, b.BCBaseURL}, {"CAFile", a.CAFile, b.CAFile},
	} {
		if f.x != f.y {
			add(f.name, f.x, f.y)
		}
	}
	if !slices.Equal(a.Entities, b.Entities) || (a.Entities == nil) != (b.Entities == nil) {
		add("Entities", a.Entities, b.Entities)
	}
	if !slices.Equal(a.WriteEntities, b.WriteEntities) || (a.WriteEntities == nil) != (b.WriteEntities == nil) {
		add("WriteEntities", a.WriteEntities, b.WriteEntities)
	}
	if !sameTime(a.CreatedAt, b.CreatedAt) {
		add("CreatedAt", a.CreatedAt, b.CreatedAt)
	}
	if !sameTime(a.UpdatedAt, b.UpdatedAt) {
		add("UpdatedAt", a.UpdatedAt, b.UpdatedAt)
	}
	return strings.Join(diffs, "; ")
}

func testConnectionCRUD(t *testing.T, open Opener) {
	ctx := t.Context()
	s := open(t, newKeyring(t))

	if list, err := s.ListConnections(ctx); err != nil || len(list) != 0 {
		t.Fatalf("empty store lists %v, %v", list, err)
	}
	in := NewConnection("")
	before := time.Now().Add(-time.Second)
	c := mustCreate(t, s, in)
	if len(c.ID) != 16 {
		t.Errorf("generated ID %q, want 16 hex characters", c.ID)
	}
	if want := "Bizzjoiner – BC Connector – Production – Company X"; c.Name != want {
		t.Errorf("default Name = %q, want %q", c.Name, want)
	}
	if c.TenantID != strings.ToLower(Tenant) || c.ClientID != strings.ToLower(Client) || c.CompanyID != strings.ToLower(Company) {
		t.Errorf("GUIDs not lower-cased: %+v", c)
	}
	if c.CreatedAt.Before(before) || !c.UpdatedAt.Equal(c.CreatedAt) || c.CreatedAt.Location() != time.UTC {
		t.Errorf("timestamps CreatedAt=%v UpdatedAt=%v", c.CreatedAt, c.UpdatedAt)
	}

	for _, key := range []string{c.ID, c.Name} {
		got, err := s.GetConnection(ctx, key)
		if err != nil {
			t.Fatalf("GetConnection(%q): %v", key, err)
		}
		if d := equalConnections(got, c); d != "" {
			t.Errorf("GetConnection(%q) differs from created: %s", key, d)
		}
	}
	_, err := s.GetConnection(ctx, strings.ToUpper(c.Name))
	wantErr(t, "GetConnection(upper-cased name)", err, store.ErrNotFound)
	_, err = s.GetConnection(ctx, "nope")
	wantErr(t, "GetConnection(unknown)", err, store.ErrNotFound)

	b := mustCreate(t, s, NewConnection("Alpha"))
	list, err := s.ListConnections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != b.ID || list[1].ID != c.ID {
		t.Fatalf("ListConnections not ordered by name: %v", list)
	}

	// A name equal to another connection's ID: lookup by ID wins.
	tricky := mustCreate(t, s, NewConnection(c.ID))
	if got, err := s.GetConnection(ctx, c.ID); err != nil || got.ID != c.ID {
		t.Fatalf("GetConnection(id) = %v, %v; want the connection with that ID, not %s", got.ID, err, tricky.ID)
	}
	if err := s.DeleteConnection(ctx, tricky.ID); err != nil {
		t.Fatal(err)
	}

	upd := c
	upd.Name = "Renamed"
	upd.Environment = "Sandbox"
	upd.Entities = []string{"customers", "items"}
	upd.CreatedAt = time.Time{} // ignored
	time.Sleep(2 * time.Millisecond)
	got, err := s.UpdateConnection(ctx, upd)
	if err != nil {
		t.Fatal(err)
	}
	if !got.CreatedAt.Equal(c.CreatedAt) || !got.UpdatedAt.After(c.UpdatedAt) {
		t.Errorf("Update timestamps: created %v→%v updated %v→%v", c.CreatedAt, got.CreatedAt, c.UpdatedAt, got.UpdatedAt)
	}
	reread, err := s.GetConnection(ctx, "Renamed")
	if err != nil {
		t.Fatal(err)
	}
	if d := equalConnections(reread, got); d != "" {
		t.Errorf("after update: %s", d)
	}
	if _, err := s.GetConnection(ctx, c.Name); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("old name still resolves: %v", err)
	}

	if err := s.DeleteConnection(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetConnection(ctx, c.ID)
	wantErr(t, "Get after delete", err, store.ErrNotFound)
	wantErr(t, "Delete twice", s.DeleteConnection(ctx, c.ID), store.ErrNotFound)
	_, err = s.UpdateConnection(ctx, upd)
	wantErr(t, "Update deleted", err, store.ErrNotFound)
}

func testConnectionConflicts(t *testing.T, open Opener) {
	ctx := t.Context()
	s := open(t, newKeyring(t))
	a := mustCreate(t, s, NewConnection("Contoso"))
	b := mustCreate(t, s, NewConnection("Fabrikam"))

	_, err := s.CreateConnection(ctx, NewConnection("Contoso"))
	wantErr(t, "create with taken name", err, store.ErrConflict)
	if !strings.Contains(err.Error(), "Contoso") {
		t.Errorf("conflict error does not name the name: %v", err)
	}
	dupID := NewConnection("Other")
	dupID.ID = a.ID
	_, err = s.CreateConnection(ctx, dupID)
	wantErr(t, "create with taken ID", err, store.ErrConflict)

	b.Name = "Contoso"
	_, err = s.UpdateConnection(ctx, b)
	wantErr(t, "rename onto a taken name", err, store.ErrConflict)
	// Keeping one's own name is not a conflict.
	if _, err := s.UpdateConnection(ctx, a); err != nil {
		t.Fatalf("update with unchanged name: %v", err)
	}
	// Different case is a different name.
	mustCreate(t, s, NewConnection("contoso"))

	explicit := NewConnection("Explicit")
	explicit.ID = "my-connection_1"
	if got := mustCreate(t, s, explicit); got.ID != "my-connection_1" {
		t.Errorf("explicit ID replaced: %q", got.ID)
	}
	noID := NewConnection("x")
	_, err = s.UpdateConnection(ctx, noID)
	wantErr(t, "update without ID", err, store.ErrInvalid)
}

func testConnectionValidation(t *testing.T, open Opener) {
	s := open(t, newKeyring(t))
	tests := []struct {
		name   string
		mutate func(*store.Connection)
		want   string // part of the error message
	}{
		{"empty tenant", func(c *store.Connection) { c.TenantID = "" }, "tenant ID"},
		{"zero tenant", func(c *store.Connection) { c.TenantID = "00000000-0000-0000-0000-000000000000" }, "tenant ID"},
		{"malformed tenant", func(c *store.Connection) { c.TenantID = "{{tenantid}}" }, "tenant ID"},
		{"one-label tenant", func(c *store.Connection) { c.TenantID = "contoso" }, "tenant ID"},
		{"client not guid", func(c *store.Connection) { c.ClientID = "my-app" }, "client ID"},
		{"empty environment", func(c *store.Connection) { c.Environment = " " }, "environment"},
		{"environment with slash", func(c *store.Connection) { c.Environment = "Prod/x" }, "environment"},
		{"company id not guid", func(c *store.Connection) { c.CompanyID = "CRONUS" }, "company ID"},
		{"no company", func(c *store.Connection) { c.CompanyID, c.CompanyName = "", "" }, "company"},
		{"http authority", func(c *store.Connection) { c.AuthorityHost = "http://login.example.com/" }, "authority host"},
		{"relative base url", func(c *store.Connection) { c.BCBaseURL = "api.businesscentral.dynamics.com" }, "BC base URL"},
		{"url with credentials", func(c *store.Connection) { c.BCBaseURL = "https://u:p@example.com/" }, "BC base URL"},
		{"blank entity", func(c *store.Connection) { c.Entities = []string{"customers", " "} }, "entities"},
		{"duplicate entity", func(c *store.Connection) { c.Entities = []string{"customers", "customers"} }, "twice"},
		{"bad write entity", func(c *store.Connection) { c.WriteEntities = []string{"sales orders"} }, "write entities"},
		{"bad id", func(c *store.Connection) { c.ID = "a b" }, "connection ID"},
		{"control char in name", func(c *store.Connection) { c.Name = "a\nb" }, "name"},
	}
	for _, tt := range tests {
		c := NewConnection("Valid " + tt.name)
		tt.mutate(&c)
		_, err := s.CreateConnection(t.Context(), c)
		if !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want ErrInvalid mentioning %q", tt.name, err, tt.want)
		}
	}
	// Accepted variants.
	for _, c := range []store.Connection{
		func() store.Connection {
			c := NewConnection("domain tenant")
			c.TenantID = "contoso.onmicrosoft.com"
			return c
		}(),
		func() store.Connection { c := NewConnection("name only"); c.CompanyID = ""; return c }(),
		func() store.Connection {
			c := NewConnection("overrides")
			c.AuthorityHost, c.BCBaseURL, c.CAFile = "https://127.0.0.1:8443/", "https://127.0.0.1:8443", "/etc/ca.pem"
			return c
		}(),
	} {
		if _, err := s.CreateConnection(t.Context(), c); err != nil {
			t.Errorf("%s: %v", c.Name, err)
		}
	}
	if list, _ := s.ListConnections(t.Context()); len(list) != 3 {
		t.Errorf("invalid connections were stored: %d listed, want 3", len(list))
	}
}

func testConnectionFieldsRoundTrip(t *testing.T, open Opener) {
	ctx := t.Context()
	s := open(t, newKeyring(t))
	in := store.Connection{
		ID:            "conn-1",
		Name:          "  Smith & O'Brien – Ünïcode 株式会社  ",
		TenantID:      "contoso.onmicrosoft.com",
		ClientID:      Client,
		Environment:   "Sandbox_EU-2",
		CompanyName:   "Smith & O'Brien \"Ltd\"; DROP TABLE connections;--",
		AuthorityHost: "https://login.microsoftonline.us/",
		BCBaseURL:     "https://api.businesscentral.dynamics.us",
		CAFile:        "/etc/bcconnector/ca bundle.pem",
		Entities:      []string{"salesInvoices", "customers", "contoso/app/v1.0/things"},
		WriteEntities: []string{},
	}
	c := mustCreate(t, s, in)
	if c.Name != strings.TrimSpace(in.Name) {
		t.Errorf("Name not trimmed: %q", c.Name)
	}
	if c.WriteEntities != nil {
		t.Errorf("empty WriteEntities stored as %#v, want nil", c.WriteEntities)
	}
	got, err := s.GetConnection(ctx, "conn-1")
	if err != nil {
		t.Fatal(err)
	}
	if d := equalConnections(got, c); d != "" {
		t.Errorf("round trip: %s", d)
	}
	if got.CompanyID != "" {
		t.Errorf("CompanyID = %q, want empty", got.CompanyID)
	}
	got.Entities = nil
	got.WriteEntities = []string{"customers"}
	upd, err := s.UpdateConnection(ctx, got)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := s.GetConnection(ctx, "conn-1")
	if d := equalConnections(again, upd); d != "" || again.Entities != nil {
		t.Errorf("update round trip: %s (Entities %#v)", d, again.Entities)
	}
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

func testDeleteCascades(t *testing.T, open Opener) {
	ctx := t.Context()
	s := open(t, newKeyring(t))
	c := mustCreate(t, s, NewConnection("c"))
	keep := mustCreate(t, s, NewConnection("keep"))
	r, _ := s.AddSecret(ctx, c.ID, "a", time.Time{})
	s.PromoteSecret(ctx, c.ID, r.ID)
	s.AddSecret(ctx, c.ID, "b", time.Time{})
	s.AddSecret(ctx, keep.ID, "k", time.Time{})
	if err := s.DeleteConnection(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	_, err := s.ListSecrets(ctx, c.ID)
	wantErr(t, "ListSecrets after delete", err, store.ErrNotFound)
	ids, err := s.SealedKeyIDs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, n := range ids {
		total += n
	}
	if total != 1 {
		t.Errorf("%d sealed secrets remain, want 1 (the other connection's)", total)
	}
	// Re-creating with the same ID starts clean.
	again := NewConnection("c")
	again.ID = c.ID
	mustCreate(t, s, again)
	if l, _ := s.ListSecrets(ctx, c.ID); len(l) != 0 {
		t.Errorf("recreated connection inherits %d secrets", len(l))
	}
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
