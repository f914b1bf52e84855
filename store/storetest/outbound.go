package storetest

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
)

// RunOutbound runs the conformance suite of store.OutboundStore (with the sealing of
// signing secrets under key rotation, so it needs whole stores).
func RunOutbound(t *testing.T, open Opener) {
	t.Helper()
	runTests(t, func(*testing.T) Opener { return open }, []test[Opener]{
		{"EndpointLifecycle", testEndpointLifecycle},
		{"EndpointInvalid", testEndpointInvalid},
		{"EndpointRotate", testEndpointRotate},
		{"EndpointReSeal", testEndpointReSeal},
		{"EndpointConcurrentRotate", testEndpointConcurrentRotate},
		{"EndpointDisable", testEndpointDisable},
	})
}

func newEndpoint(url string, types ...string) store.Endpoint {
	return store.Endpoint{URL: url, EventTypes: types}
}

func mustEndpoint(t *testing.T, s store.OutboundStore, e store.Endpoint, signing secret.Secret) store.Endpoint {
	t.Helper()
	got, err := s.CreateEndpoint(t.Context(), e, signing)
	if err != nil {
		t.Fatalf("CreateEndpoint(%s): %v", e.URL, err)
	}
	return got
}

func wantSigning(t *testing.T, s store.OutboundStore, id string, want ...string) {
	t.Helper()
	got, err := s.SigningSecrets(t.Context(), id)
	if err != nil {
		t.Fatalf("SigningSecrets(%s): %v", id, err)
	}
	var vals []string
	for _, v := range got {
		vals = append(vals, v.Reveal())
	}
	if !slices.Equal(vals, want) {
		t.Fatalf("SigningSecrets(%s) = %d secrets, want %d in order (current first)", id, len(vals), len(want))
	}
}

func testEndpointLifecycle(t *testing.T, open Opener) {
	ctx := t.Context()
	s := open(t, newKeyring(t))
	before := time.Now().Add(-time.Second)
	in := store.Endpoint{URL: "  https://platform.example/hooks  ", EventTypes: []string{"record.created", " record.created", "connection.*"},
		ConnectionID: " c1 ", IncludeRecord: true, Description: " prod "}
	e := mustEndpoint(t, s, in, "whsec_first")
	if e.ID == "" || e.URL != "https://platform.example/hooks" || !slices.Equal(e.EventTypes, []string{"record.created", "connection.*"}) ||
		e.ConnectionID != "c1" || !e.IncludeRecord || e.Description != "prod" || e.CreatedAt.Before(before) ||
		e.CreatedAt.Location() != time.UTC || !e.UpdatedAt.Equal(e.CreatedAt) {
		t.Fatalf("CreateEndpoint = %+v", e)
	}
	if len(e.Secrets) != 1 || e.Secrets[0].ID == "" || !e.Secrets[0].ExpiresAt.IsZero() {
		t.Fatalf("Secrets = %+v, want one current secret", e.Secrets)
	}
	b, _ := json.Marshal(e)
	if strings.Contains(string(b), "whsec_first") {
		t.Fatalf("the endpoint's JSON holds its signing secret: %s", b)
	}
	got, err := s.Endpoint(ctx, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(e) {
		t.Fatalf("Endpoint = %+v, want %+v", got, e)
	}
	wantSigning(t, s, e.ID, "whsec_first")

	e2 := mustEndpoint(t, s, newEndpoint("https://other.example/x", "record.deleted"), "whsec_second")
	if e2.ConnectionID != "" || e2.IncludeRecord {
		t.Fatalf("defaults: %+v", e2)
	}
	list, err := s.Endpoints(ctx)
	if err != nil || len(list) != 2 || list[0].ID != e.ID || list[1].ID != e2.ID || len(list[0].Secrets) != 1 || len(list[1].Secrets) != 1 {
		t.Fatalf("Endpoints = %+v, %v; want both, oldest first, with their secrets", list, err)
	}

	if err := s.DeleteEndpoint(ctx, e.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.Endpoint(ctx, e.ID)
	wantErr(t, "Endpoint(deleted)", err, store.ErrNotFound)
	_, err = s.SigningSecrets(ctx, e.ID)
	wantErr(t, "SigningSecrets(deleted)", err, store.ErrNotFound)
	wantErr(t, "DeleteEndpoint(deleted)", s.DeleteEndpoint(ctx, e.ID), store.ErrNotFound)
	if list, _ := s.Endpoints(ctx); len(list) != 1 || list[0].ID != e2.ID {
		t.Fatalf("Endpoints after delete = %+v", list)
	}
	wantSigning(t, s, e2.ID, "whsec_second")
}

func testEndpointInvalid(t *testing.T, open Opener) {
	ctx := t.Context()
	s := open(t, newKeyring(t))
	for _, tc := range []struct {
		e     store.Endpoint
		field string
	}{
		{newEndpoint(" ", "record.created"), "url"},
		{newEndpoint("https://x.example/"+strings.Repeat("a", store.MaxEndpointURL), "record.created"), "url"},
		{newEndpoint("https://x.example/"), "eventTypes"},
		{newEndpoint("https://x.example/", "record.created", " "), "eventTypes"},
	} {
		_, err := s.CreateEndpoint(ctx, tc.e, "whsec_x")
		wantErr(t, "CreateEndpoint("+tc.field+")", err, store.ErrInvalid)
		if !strings.Contains(err.Error(), tc.field) {
			t.Errorf("error %q does not name %s", err, tc.field)
		}
	}
	_, err := s.CreateEndpoint(ctx, newEndpoint("https://x.example/", "record.created"), "")
	wantErr(t, "CreateEndpoint(empty secret)", err, store.ErrInvalid)
	if list, _ := s.Endpoints(ctx); len(list) != 0 {
		t.Fatalf("refused endpoints were stored: %+v", list)
	}
	_, err = s.Endpoint(ctx, "nope")
	wantErr(t, "Endpoint(unknown)", err, store.ErrNotFound)
	_, err = s.RotateEndpointSecret(ctx, "nope", "whsec_y", time.Time{})
	wantErr(t, "RotateEndpointSecret(unknown)", err, store.ErrNotFound)
	_, err = s.SigningSecrets(ctx, "nope")
	wantErr(t, "SigningSecrets(unknown)", err, store.ErrNotFound)
	e := mustEndpoint(t, s, newEndpoint("https://x.example/", "record.created"), "whsec_x")
	_, err = s.RotateEndpointSecret(ctx, e.ID, "", time.Time{})
	wantErr(t, "RotateEndpointSecret(empty secret)", err, store.ErrInvalid)
	wantSigning(t, s, e.ID, "whsec_x")
}

func testEndpointRotate(t *testing.T, open Opener) {
	ctx := t.Context()
	s := open(t, newKeyring(t))
	e := mustEndpoint(t, s, newEndpoint("https://x.example/", "record.created"), "whsec_1")
	until := time.Now().Add(24 * time.Hour).UTC().Truncate(time.Microsecond)
	r, err := s.RotateEndpointSecret(ctx, e.ID, "whsec_2", until)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Secrets) != 2 || !r.Secrets[0].ExpiresAt.IsZero() || !r.Secrets[1].ExpiresAt.Equal(until) ||
		r.Secrets[1].ID != e.Secrets[0].ID || r.UpdatedAt.Before(e.UpdatedAt) {
		t.Fatalf("after rotation: %+v, want the new current secret and the old one until %s", r.Secrets, until)
	}
	wantSigning(t, s, e.ID, "whsec_2", "whsec_1")
	// A second rotation within the overlap erases the oldest: two sign at most.
	if _, err := s.RotateEndpointSecret(ctx, e.ID, "whsec_3", until); err != nil {
		t.Fatal(err)
	}
	wantSigning(t, s, e.ID, "whsec_3", "whsec_2")
	// Without an overlap only the new one signs.
	r, err = s.RotateEndpointSecret(ctx, e.ID, "whsec_4", time.Now().Add(-time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Secrets) != 1 {
		t.Fatalf("after a rotation without overlap: %+v", r.Secrets)
	}
	wantSigning(t, s, e.ID, "whsec_4")
}

func testEndpointReSeal(t *testing.T, open Opener) {
	ctx := t.Context()
	kr1 := newKeyring(t)
	s := open(t, kr1)
	e := mustEndpoint(t, s, newEndpoint("https://x.example/", "record.created"), "whsec_a")
	if _, err := s.RotateEndpointSecret(ctx, e.ID, "whsec_b", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if ids, _ := s.SealedKeyIDs(ctx); ids[kr1.PrimaryID()] != 2 || len(ids) != 1 {
		t.Fatalf("SealedKeyIDs = %v, want the 2 signing secrets under %s", ids, kr1.PrimaryID())
	}
	kr2 := kr1.Rotate()
	n, err := s.ReSealAll(ctx, kr2)
	if err != nil || n != 2 {
		t.Fatalf("ReSealAll = %d, %v; want the 2 signing secrets re-sealed", n, err)
	}
	if ids, _ := s.SealedKeyIDs(ctx); ids[kr2.PrimaryID()] != 2 || len(ids) != 1 {
		t.Fatalf("SealedKeyIDs after rotation = %v, want all under %s", ids, kr2.PrimaryID())
	}
	// The old key can go: nothing needs it.
	if _, err := s.ReSealAll(ctx, kr2.DropOlder()); err != nil {
		t.Fatal(err)
	}
	wantSigning(t, s, e.ID, "whsec_b", "whsec_a")
}

func testEndpointConcurrentRotate(t *testing.T, open Opener) {
	ctx := t.Context()
	s := open(t, newKeyring(t))
	e := mustEndpoint(t, s, newEndpoint("https://x.example/", "record.created"), "whsec_0")
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			if _, err := s.RotateEndpointSecret(ctx, e.ID, secret.Secret(fmt.Sprint("whsec_", i+1)), time.Now().Add(time.Hour)); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	collect(t, errs)
	got, err := s.SigningSecrets(ctx, e.ID)
	if err != nil || len(got) != 2 {
		t.Fatalf("after %d concurrent rotations: %d secrets sign (%v), want 2 (current and previous)", n, len(got), err)
	}
	ep, _ := s.Endpoint(ctx, e.ID)
	if len(ep.Secrets) != 2 || !ep.Secrets[0].ExpiresAt.IsZero() || ep.Secrets[1].ExpiresAt.IsZero() {
		t.Fatalf("secrets after concurrent rotations: %+v, want one current and one expiring", ep.Secrets)
	}
}

// testEndpointDisable: an endpoint is disabled with a reason (the first reason and time
// stay when it is disabled again), shows so in the list, and is enabled again.
func testEndpointDisable(t *testing.T, open Opener) {
	s := open(t, secret.GenerateKeyring())
	ctx := t.Context()
	e := mustEndpoint(t, s, newEndpoint("https://p.example/a", "record.created"), "whsec_x")
	if e.Disabled || !e.DisabledAt.IsZero() || e.DisabledReason != "" {
		t.Fatalf("a new endpoint is disabled: %+v", e)
	}
	_, err := s.SetEndpointEnabled(ctx, e.ID, false, " ")
	wantErr(t, "disable without a reason", err, store.ErrInvalid)
	_, err = s.SetEndpointEnabled(ctx, "nope", false, "x")
	wantErr(t, "disable a missing endpoint", err, store.ErrNotFound)
	d, err := s.SetEndpointEnabled(ctx, e.ID, false, "the endpoint answered 410 Gone")
	if err != nil || !d.Disabled || d.DisabledAt.IsZero() || d.DisabledReason != "the endpoint answered 410 Gone" {
		t.Fatalf("disable: %+v, %v", d, err)
	}
	again, err := s.SetEndpointEnabled(ctx, e.ID, false, "disabled through the API")
	if err != nil || !again.DisabledAt.Equal(d.DisabledAt) || again.DisabledReason != d.DisabledReason {
		t.Fatalf("disable again: %+v, %v; want the first time and reason kept", again, err)
	}
	list, err := s.Endpoints(ctx)
	if err != nil || len(list) != 1 || !list[0].Disabled || list[0].DisabledReason != d.DisabledReason {
		t.Fatalf("Endpoints = %+v, %v", list, err)
	}
	en, err := s.SetEndpointEnabled(ctx, e.ID, true, "")
	if err != nil || en.Disabled || !en.DisabledAt.IsZero() || en.DisabledReason != "" {
		t.Fatalf("enable: %+v, %v", en, err)
	}
	// The audit log has one entry per change, none for disabling a disabled endpoint.
	for _, a := range []store.AuditAction{store.AuditEndpointDisabled, store.AuditEndpointEnabled} {
		got, err := s.Audit(ctx, store.AuditFilter{Action: a})
		if err != nil || len(got) != 1 || got[0].Target != e.ID || !strings.Contains(got[0].Detail, e.URL) {
			t.Fatalf("audit of %s: %+v, %v", a, got, err)
		}
	}
}
