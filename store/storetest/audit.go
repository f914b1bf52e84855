package storetest

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
)

// RunAudit runs the conformance suite of store.AuditStore: every audited change writes
// one entry with its context's actor, in its own transaction (a refused change writes
// none), without secrets; filters and paging.
func RunAudit(t *testing.T, open Opener) {
	t.Helper()
	runTests(t, func(*testing.T) Opener { return open }, []test[Opener]{
		{"EveryChange", testAuditEveryChange},
		{"FiltersAndPaging", testAuditFiltersAndPaging},
	})
}

// randomSecret returns a secret made at run time, so no secret-shaped literal is tracked.
func randomSecret(prefix string) secret.Secret {
	return secret.Secret(prefix + rand.Text())
}

func testAuditEveryChange(t *testing.T, open Opener) {
	s := open(t, newKeyring(t))
	ci := store.Actor{Kind: store.ActorToken, Name: "ci"}
	ctx := store.WithActor(t.Context(), ci)
	if got := store.ActorFrom(t.Context()); got.Kind != store.ActorSystem {
		t.Fatalf("a context without an actor names %v, want system", got)
	}
	c, err := s.CreateConnection(ctx, NewConnection("audited"))
	if err != nil {
		t.Fatal(err)
	}
	// Refused changes write nothing.
	if _, err := s.CreateConnection(ctx, NewConnection("audited")); err == nil {
		t.Fatal("a second connection named audited was created")
	}
	if err := s.DeleteConnection(ctx, "no-such-connection"); err == nil {
		t.Fatal("deleting a missing connection succeeded")
	}
	renamed := c
	renamed.Name = "audited-2"
	renamed.Entities = []string{"customers", "items"}
	if _, err := s.UpdateConnection(ctx, renamed); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateConnection(ctx, renamed); err != nil { // nothing changed: no entry
		t.Fatal(err)
	}
	clientSecret := randomSecret("cs-")
	rec, err := s.AddSecret(ctx, c.ID, clientSecret, time.Date(2027, 6, 30, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.PromoteSecret(ctx, c.ID, rec.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PromoteSecret(ctx, c.ID, rec.ID); err != nil { // already active: no entry
		t.Fatal(err)
	}
	if _, err := s.RetireSecret(ctx, c.ID, rec.ID); err != nil {
		t.Fatal(err)
	}
	signing := randomSecret("whsec_")
	ep, err := s.CreateEndpoint(ctx, store.Endpoint{URL: "https://platform.example/hooks", EventTypes: []string{"record.created"}, ConnectionID: c.ID}, signing)
	if err != nil {
		t.Fatal(err)
	}
	signing2 := randomSecret("whsec_")
	if _, err := s.RotateEndpointSecret(ctx, ep.ID, signing2, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteEndpoint(ctx, ep.ID); err != nil {
		t.Fatal(err)
	}
	tokenHash := store.HashToken(string(randomSecret("tok-")))
	if _, err := s.CreateToken(ctx, "platform", []string{c.ID}, tokenHash); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeToken(ctx, "platform"); err != nil {
		t.Fatal(err)
	}
	cli := store.WithActor(t.Context(), store.Actor{Kind: store.ActorCLI, Name: "ops"})
	if err := s.CreateUser(cli, "alice", "argon2id-hash-of-a-password"); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateSession(t.Context(), store.Session{Hash: store.HashToken("session"), User: "alice", ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	// What the caller knows of a change and the store does not rides on the context.
	if err := s.DeleteConnection(store.WithAuditNote(ctx, "1 BC webhook subscription left at BC"), c.ID); err != nil {
		t.Fatal(err)
	}

	got, err := s.Audit(t.Context(), store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		actor  string
		action store.AuditAction
		conn   string
		target string
	}
	alice := store.Actor{Kind: store.ActorAdmin, Name: "alice"}.String()
	want := []row{ // newest first
		{ci.String(), store.AuditConnectionDeleted, c.ID, ""},
		{alice, store.AuditAdminSignedIn, "", "alice"},
		{"cli ops", store.AuditAdminCreated, "", "alice"},
		{ci.String(), store.AuditTokenRevoked, "", "platform"},
		{ci.String(), store.AuditTokenCreated, "", "platform"},
		{ci.String(), store.AuditEndpointDeleted, c.ID, ep.ID},
		{ci.String(), store.AuditEndpointSecretRot, c.ID, ep.ID},
		{ci.String(), store.AuditEndpointCreated, c.ID, ep.ID},
		{ci.String(), store.AuditCredentialRetired, c.ID, rec.ID},
		{ci.String(), store.AuditCredentialActive, c.ID, rec.ID},
		{ci.String(), store.AuditCredentialAdded, c.ID, rec.ID},
		{ci.String(), store.AuditConnectionUpdated, c.ID, ""},
		{ci.String(), store.AuditConnectionCreated, c.ID, ""},
	}
	var rows []row
	for i, e := range got {
		rows = append(rows, row{e.Actor.String(), e.Action, e.ConnectionID, e.Target})
		if i > 0 && e.ID >= got[i-1].ID {
			t.Errorf("entry %d: id %d not below %d (newest first)", i, e.ID, got[i-1].ID)
		}
		if e.At.IsZero() || e.At.Location() != time.UTC || time.Since(e.At) > time.Minute {
			t.Errorf("entry %d (%s): at %v, want now in UTC", i, e.Action, e.At)
		}
	}
	if !slices.Equal(rows, want) {
		t.Fatalf("audit log:\n%v\nwant\n%v", rows, want)
	}
	details := map[store.AuditAction]string{}
	for _, e := range got {
		details[e.Action] = e.Detail
	}
	for action, want := range map[store.AuditAction]string{
		store.AuditConnectionCreated: "audited", store.AuditConnectionDeleted: "audited-2; 1 BC webhook subscription left at BC",
		store.AuditConnectionUpdated: "changed name, entities",
		store.AuditCredentialAdded:   "client secret, expires 2027-06-30, pending until verified",
		store.AuditEndpointCreated:   "https://platform.example/hooks (record.created)",
		store.AuditTokenCreated:      "connections " + c.ID,
	} {
		if details[action] != want {
			t.Errorf("%s detail = %q, want %q", action, details[action], want)
		}
	}
	if !strings.Contains(details[store.AuditEndpointSecretRot], "signs until") {
		t.Errorf("rotation detail %q does not say how long the previous secret signs", details[store.AuditEndpointSecretRot])
	}
	b, _ := json.Marshal(got)
	for _, v := range []string{clientSecret.Reveal(), signing.Reveal(), signing2.Reveal(), tokenHash, "argon2id-hash-of-a-password"} {
		if strings.Contains(string(b), v) {
			t.Fatalf("the audit log holds a secret or hash: %s", b)
		}
	}
}

func testAuditFiltersAndPaging(t *testing.T, open Opener) {
	s := open(t, newKeyring(t))
	as := func(kind store.ActorKind, name string) context.Context {
		return store.WithActor(t.Context(), store.Actor{Kind: kind, Name: name})
	}
	var conns []store.Connection
	for i := range 3 {
		c, err := s.CreateConnection(as(store.ActorAdmin, fmt.Sprintf("admin%d", i%2)), NewConnection(fmt.Sprintf("c%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		for j := range 4 {
			if _, err := s.AddSecret(as(store.ActorToken, "platform"), c.ID, randomSecret("cs-"), time.Time{}); err != nil {
				t.Fatalf("secret %d: %v", j, err)
			}
		}
	}
	count := func(f store.AuditFilter) int {
		t.Helper()
		got, err := s.Audit(t.Context(), f)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range got {
			if f.ConnectionID != "" && e.ConnectionID != f.ConnectionID || f.Action != "" && e.Action != f.Action ||
				f.ActorKind != "" && e.Actor.Kind != f.ActorKind || f.ActorName != "" && e.Actor.Name != f.ActorName {
				t.Fatalf("filter %+v returned %+v", f, e)
			}
		}
		return len(got)
	}
	for _, c := range []struct {
		f    store.AuditFilter
		want int
	}{
		{store.AuditFilter{}, 15},
		{store.AuditFilter{ConnectionID: conns[1].ID}, 5},
		{store.AuditFilter{Action: store.AuditConnectionCreated}, 3},
		{store.AuditFilter{ActorKind: store.ActorAdmin}, 3},
		{store.AuditFilter{ActorKind: store.ActorAdmin, ActorName: "admin0"}, 2},
		{store.AuditFilter{ActorKind: store.ActorToken, ConnectionID: conns[2].ID, Action: store.AuditCredentialAdded}, 4},
		{store.AuditFilter{ActorKind: store.ActorCLI}, 0},
		{store.AuditFilter{Limit: 7}, 7},
	} {
		if got := count(c.f); got != c.want {
			t.Errorf("filter %+v: %d entries, want %d", c.f, got, c.want)
		}
	}
	// Pages of 4 by Before cover every entry once, newest first.
	var ids []int64
	f := store.AuditFilter{Limit: 4}
	for {
		page, err := s.Audit(t.Context(), f)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page {
			ids = append(ids, e.ID)
		}
		if len(page) < f.Limit {
			break
		}
		f.Before = page[len(page)-1].ID
	}
	if len(ids) != 15 || !slices.IsSortedFunc(ids, func(a, b int64) int { return int(b - a) }) || len(slices.Compact(slices.Clone(ids))) != 15 {
		t.Fatalf("paged ids = %v, want 15 distinct, descending", ids)
	}
	for _, bad := range []store.AuditFilter{{Limit: store.MaxAuditLimit + 1}, {Limit: -1}, {Before: -1}, {Action: "connection.exploded"},
		{ActorKind: "robot"}, {ActorName: "alice"}} {
		_, err := s.Audit(t.Context(), bad)
		wantErr(t, fmt.Sprintf("filter %+v", bad), err, store.ErrInvalid)
	}
}
