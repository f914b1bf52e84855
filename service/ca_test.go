package service

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/emulator/emulatortest"
	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/store/storetest"
)

// TestCAStoredWithTheConnection: a connection added (and checked by the doctor) with a
// CA file keeps the file's PEM in the database, so another instance, on a machine
// without that file, reaches the emulator over TLS with the same CA.
func TestCAStoredWithTheConnection(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	sb := emulatortest.Start(t, emulator.Config{})
	db := testDB(t)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, sb.CAPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	instanceA, err := New(Options{Store: db, AllowEndpointOverrides: true})
	if err != nil {
		t.Fatal(err)
	}
	cr := sb.Creds
	v, rep, err := instanceA.CreateConnection(ctx, ConnectionInput{TenantID: cr.TenantID, ClientID: cr.ClientID, Secret: secret.Secret(cr.ClientSecret),
		Environment: cr.Environment, Company: sb.Company().CompanyID, AuthorityHost: sb.AuthorityHost(), BCBaseURL: sb.BCBaseURL(), CAFile: caFile})
	if err != nil {
		t.Fatalf("%v (doctor: %+v)", err, rep)
	}
	if v.CAPEM != string(sb.CAPEM) || v.CAFile != "" {
		t.Fatalf("stored CAPEM %d bytes, CAFile %q; want the file's PEM and no path", len(v.CAPEM), v.CAFile)
	}
	if err := os.Remove(caFile); err != nil { // instance B's machine has no such file
		t.Fatal(err)
	}
	instanceB, err := New(Options{Store: db, AllowEndpointOverrides: true})
	if err != nil {
		t.Fatal(err)
	}
	client, err := instanceB.Client(ctx, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if companies, err := client.Companies(ctx); err != nil || len(companies) == 0 {
		t.Fatalf("instance B without the CA file: %v", err)
	}
}

// TestAdoptCAFiles: a connection stored with only a CA file path (before CAPEM) gets the
// file's PEM when it is readable; one whose file is missing here keeps its path.
func TestAdoptCAFiles(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := testDB(t)
	pem := storetest.CAPEM(t, "Old CA")
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, []byte(pem), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "elsewhere.pem")
	old := storetest.NewConnection("old")
	old.CAFile = caFile
	gone := storetest.NewConnection("gone")
	gone.CAFile = missing
	for _, c := range []store.Connection{old, gone} {
		if _, err := db.CreateConnection(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	s, err := New(Options{Store: db})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AdoptCAFiles(ctx); err != nil {
		t.Fatal(err)
	}
	got, _ := db.GetConnection(ctx, "old")
	if got.CAPEM != pem || got.CAFile != "" {
		t.Errorf("readable CA file: CAPEM %d bytes, CAFile %q; want the PEM and no path", len(got.CAPEM), got.CAFile)
	}
	got, _ = db.GetConnection(ctx, "gone")
	if got.CAPEM != "" || got.CAFile != missing {
		t.Errorf("missing CA file: CAPEM %d bytes, CAFile %q; want it left as it was", len(got.CAPEM), got.CAFile)
	}
}
