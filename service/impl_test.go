package service

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/bizzjoiner/bcconnector/bc"
	"github.com/bizzjoiner/bcconnector/guide"
	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store/sqlite"
)

func TestEndpointOverridesAreOffByDefault(t *testing.T) {
	s := &Impl{}
	in := ConnectionInput{BCBaseURL: "https://evil.example/v2.0"}
	var fe *guide.FieldError
	if err := s.checkEndpoints(in); !errors.As(err, &fe) || fe.Field != "BC API base URL" {
		t.Errorf("override accepted: %v", err)
	}
	if err := s.checkEndpoints(ConnectionInput{CAFile: "/etc/shadow"}); err == nil {
		t.Error("CA file override accepted")
	}
	if err := s.checkEndpoints(ConnectionInput{AuthorityHost: guide.DefaultAuthorityHost}); err != nil {
		t.Errorf("the default authority host is not an override: %v", err)
	}
	s.allowOverrides = true
	if err := s.checkEndpoints(in); err != nil {
		t.Errorf("allowed override refused: %v", err)
	}
}

func TestBeforeDeleteIsCalled(t *testing.T) {
	ctx := t.Context()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "bcc.db"), secret.GenerateKeyring(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var called string
	var gotClient bool
	svc, err := New(Options{Store: db, BeforeDelete: func(_ context.Context, id string, c *bc.Client) { called, gotClient = id, c != nil }})
	if err != nil {
		t.Fatal(err)
	}
	v, err := svc.CreateConnectionUnchecked(ctx, ConnectionInput{TenantID: "contoso.onmicrosoft.com", ClientID: "4f6c2b1d-1111-4222-8333-944455556666",
		Secret: "Kx38Q~abcdefghijklmnopqrstuvwxyz0123456", Environment: "Production", Company: "f60ea093-52a0-4d60-9173-2810c5f8eb47"})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.DeleteConnection(ctx, v.ID); err != nil {
		t.Fatal(err)
	}
	if called != v.ID || !gotClient {
		t.Errorf("BeforeDelete called with %q (client %v), want %q with a client", called, gotClient, v.ID)
	}
}
