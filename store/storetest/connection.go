package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/store"
)

// RunConnections runs the conformance suite of store.ConnectionStore (with the secrets
// and replica data a deleted connection takes with it).
func RunConnections(t *testing.T, open Opener) {
	t.Helper()
	runTests(t, func(*testing.T) Opener { return open }, []test[Opener]{
		{"CRUD", testConnectionCRUD},
		{"Conflicts", testConnectionConflicts},
		{"Validation", testConnectionValidation},
		{"FieldsRoundTrip", testConnectionFieldsRoundTrip},
		{"DeleteCascades", testDeleteCascades},
		{"Companies", testConnectionCompanies},
		{"Schedules", testConnectionSchedules},
		{"ConcurrentSameName", testConnectionConcurrentSameName},
		{"ConcurrentRenames", testConnectionConcurrentRenames},
	})
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
		{"CA not PEM", func(c *store.Connection) { c.CAPEM = "/etc/ssl/ca.pem" }, "CA certificates hold no PEM certificate"},
		{"CA private key", func(c *store.Connection) { c.CAPEM = KeyPEM(t) }, "CERTIFICATE blocks"},
		{"CA garbled", func(c *store.Connection) {
			c.CAPEM = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
		}, "CA certificate 1 cannot be read"},
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
		CAPEM:         "Subject: CN=Proxy CA\n" + CAPEM(t, "Proxy CA") + CAPEM(t, "Second CA"),
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
	got.CAPEM, got.CAFile = CAPEM(t, "Rotated CA"), "" // a connection's PEM replaces its old path
	upd, err := s.UpdateConnection(ctx, got)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := s.GetConnection(ctx, "conn-1")
	if d := equalConnections(again, upd); d != "" || again.Entities != nil || again.CAPEM != got.CAPEM || again.CAFile != "" {
		t.Errorf("update round trip: %s (Entities %#v)", d, again.Entities)
	}
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
	// The connection's replica rows and sync state go with it; the other's stay.
	for _, id := range []string{c.ID, keep.ID} {
		key := store.ReplicaKey{ConnectionID: id, CompanyID: Company, EntitySet: "customers"}
		if id == c.ID {
			if err := s.EnsureReplica(ctx, Entity(t, "customers")); err != nil {
				t.Fatal(err)
			}
		}
		lm := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		if _, err := s.ApplyBatch(ctx, store.ReplicaBatch{Key: key, Upserts: []store.ReplicaRow{Customer(GUID(1), ETag(1), "x", lm)},
			CheckpointName: "p0", Checkpoint: []byte(`1`)}); err != nil {
			t.Fatal(err)
		}
		if err := s.UpdateSyncState(ctx, key, func(st *store.SyncState) { st.Requests = 1 }); err != nil {
			t.Fatal(err)
		}
	}
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
	gone := store.ReplicaKey{ConnectionID: c.ID, CompanyID: Company, EntitySet: "customers"}
	if n, err := s.ReplicaCount(ctx, gone); err != nil || n != 0 {
		t.Errorf("deleted connection keeps %d replica rows (%v)", n, err)
	}
	if l, err := s.SyncStates(ctx, c.ID); err != nil || len(l) != 0 {
		t.Errorf("deleted connection keeps sync states %+v (%v)", l, err)
	}
	kept := store.ReplicaKey{ConnectionID: keep.ID, CompanyID: Company, EntitySet: "customers"}
	if n, err := s.ReplicaCount(ctx, kept); err != nil || n != 1 {
		t.Errorf("other connection has %d replica rows (%v), want 1", n, err)
	}
	if l, err := s.SyncStates(ctx, keep.ID); err != nil || len(l) != 1 || len(l[0].Checkpoints) != 1 {
		t.Errorf("other connection's sync states = %+v (%v)", l, err)
	}
	// Re-creating with the same ID starts clean.
	again := NewConnection("c")
	again.ID = c.ID
	mustCreate(t, s, again)
	if l, _ := s.ListSecrets(ctx, c.ID); len(l) != 0 {
		t.Errorf("recreated connection inherits %d secrets", len(l))
	}
}

// testConnectionConcurrentSameName: writers racing for one name (on a server, from
// separate connections) end with exactly one connection of that name; every other
// writer gets ErrConflict, never another error.
func testConnectionConcurrentSameName(t *testing.T, open Opener) {
	ctx := t.Context()
	s := open(t, newKeyring(t))
	raceForOne(t, 8, "CreateConnection", func(int) error {
		_, err := s.CreateConnection(ctx, NewConnection("Contested"))
		return err
	})
	list, err := s.ListConnections(ctx)
	if err != nil || len(list) != 1 {
		t.Fatalf("ListConnections = %d connections, %v; want 1", len(list), err)
	}
}

// testConnectionConcurrentRenames: two connections renamed onto the same new name at
// once: one succeeds, the other gets ErrConflict and keeps its old name.
func testConnectionConcurrentRenames(t *testing.T, open Opener) {
	ctx := t.Context()
	s := open(t, newKeyring(t))
	for round := range 10 {
		a := mustCreate(t, s, NewConnection(fmt.Sprintf("a%d", round)))
		b := mustCreate(t, s, NewConnection(fmt.Sprintf("b%d", round)))
		target := fmt.Sprintf("target%d", round)
		var wg sync.WaitGroup
		results := make([]error, 2)
		for i, c := range []store.Connection{a, b} {
			wg.Go(func() {
				c.Name = target
				_, results[i] = s.UpdateConnection(ctx, c)
			})
		}
		wg.Wait()
		ok := 0
		for _, err := range results {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, store.ErrConflict):
				t.Fatalf("round %d: rename lost the race with %v, want ErrConflict", round, err)
			}
		}
		if ok != 1 {
			t.Fatalf("round %d: %d renames succeeded, want 1", round, ok)
		}
		got, err := s.GetConnection(ctx, target)
		if err != nil {
			t.Fatal(err)
		}
		loser := a
		if got.ID == a.ID {
			loser = b
		}
		if again, err := s.GetConnection(ctx, loser.ID); err != nil || again.Name != loser.Name {
			t.Fatalf("round %d: the losing connection is now %q (%v), want its old name %q", round, again.Name, err, loser.Name)
		}
	}
}

// testConnectionCompanies: a connection of several companies keeps them in order, its own
// first, names with & ' and spaces as typed; "all companies" round-trips; a connection of
// one company has no list (as every connection stored before); a company listed twice is
// refused naming it.
func testConnectionCompanies(t *testing.T, open Opener) {
	ctx := t.Context()
	s := open(t, newKeyring(t))
	const own, other = "5d115c9c-44e3-ea11-bb43-000d3a2feef8", "6e226d0d-55f4-fb22-cc54-111e4b3ff0f9"
	in := store.Connection{Name: "multi", TenantID: "contoso.onmicrosoft.com", ClientID: Client, Environment: "Production",
		CompanyID: own, CompanyName: "Company X",
		Companies: []store.Company{{ID: strings.ToUpper(other), Name: "Fabrikam & O'Brien Ltd."}, {Name: " Company X "}, {Name: "Ünïcode 株式会社"}}}
	c := mustCreate(t, s, in)
	want := []store.Company{{ID: own, Name: "Company X"}, {ID: other, Name: "Fabrikam & O'Brien Ltd."}, {Name: "Ünïcode 株式会社"}}
	if !slices.Equal(c.Companies, want) {
		t.Fatalf("Companies = %+v, want %+v", c.Companies, want)
	}
	got, err := s.GetConnection(ctx, "multi")
	if err != nil {
		t.Fatal(err)
	}
	if d := equalConnections(got, c); d != "" {
		t.Errorf("round trip: %s", d)
	}
	got.AllCompanies = true
	got.Companies = got.Companies[:1]
	if _, err := s.UpdateConnection(ctx, got); err != nil {
		t.Fatal(err)
	}
	again, _ := s.GetConnection(ctx, "multi")
	if !again.AllCompanies || len(again.Companies) != 1 || again.Companies[0].ID != own {
		t.Errorf("all companies after update: %v %+v", again.AllCompanies, again.Companies)
	}
	again.AllCompanies, again.Companies = false, nil
	if _, err := s.UpdateConnection(ctx, again); err != nil {
		t.Fatal(err)
	}
	if one, _ := s.GetConnection(ctx, "multi"); one.Companies != nil || one.AllCompanies || len(one.SyncCompanies()) != 1 {
		t.Errorf("back to one company: %v %+v", one.AllCompanies, one.Companies)
	}
	in.Name, in.Companies = "twice", []store.Company{{ID: other}, {ID: strings.ToUpper(other), Name: "Other"}}
	if _, err := s.CreateConnection(ctx, in); !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), "listed twice") {
		t.Errorf("a company listed twice: %v, want ErrInvalid naming it", err)
	}
}

// testConnectionSchedules: a connection's schedule and its sets' round-trip (the window
// normalised to HH:MM), an update clears them, and a bad one is refused naming its field.
func testConnectionSchedules(t *testing.T, open Opener) {
	ctx := t.Context()
	s := open(t, newKeyring(t))
	in := store.Connection{Name: "scheduled", TenantID: "contoso.onmicrosoft.com", ClientID: Client, Environment: "Production", CompanyName: "Company X",
		Schedule:     store.Schedule{Interval: "15m", Quiet: &store.QuietWindow{Start: "8:00", End: "18:00", TimeZone: "America/New_York"}},
		SetSchedules: map[string]store.Schedule{"generalLedgerEntries": {Interval: "6h"}, "items": {Quiet: &store.QuietWindow{Start: "22:00", End: "06:00", TimeZone: "UTC"}}}}
	c := mustCreate(t, s, in)
	if c.Schedule.Quiet.Start != "08:00" {
		t.Errorf("quiet start = %q, want 08:00", c.Schedule.Quiet.Start)
	}
	got, err := s.GetConnection(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d := equalConnections(got, c); d != "" {
		t.Errorf("round trip: %s", d)
	}
	got.Schedule, got.SetSchedules = store.Schedule{}, nil
	if _, err := s.UpdateConnection(ctx, got); err != nil {
		t.Fatal(err)
	}
	if again, _ := s.GetConnection(ctx, c.ID); !again.Schedule.IsZero() || again.SetSchedules != nil {
		t.Errorf("schedules after clearing: %+v %+v", again.Schedule, again.SetSchedules)
	}
	in.Name, in.Schedule = "bad schedule", store.Schedule{Quiet: &store.QuietWindow{Start: "22:00", End: "06:00", TimeZone: "CET-ish"}}
	if _, err := s.CreateConnection(ctx, in); !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), "schedule.quiet.timeZone") {
		t.Errorf("a bad time zone: %v, want ErrInvalid naming schedule.quiet.timeZone", err)
	}
}
