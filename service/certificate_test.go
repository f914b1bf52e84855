package service

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bizzjoiner/bcconnector/doctor"
	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/emulator/emulatortest"
	"github.com/bizzjoiner/bcconnector/emulator/idp"
	"github.com/bizzjoiner/bcconnector/guide"
	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/store/sqlite"
)

// lastKind is what the last of the token requests recorded authenticated with ("secret"
// or "certificate"; "" for none).
func lastKind(rec *emulatortest.TokenRequests) string {
	forms := rec.Take()
	switch {
	case len(forms) == 0:
		return ""
	case forms[len(forms)-1].Has("client_assertion"):
		return "certificate"
	}
	return "secret"
}

type certSetup struct {
	sb     *emulatortest.Sandbox
	svc    *Impl
	grants *emulatortest.TokenRequests
}

func newCertSetup(t *testing.T) *certSetup {
	t.Helper()
	g := &emulatortest.TokenRequests{}
	sb := emulatortest.Start(t, emulator.Config{}, emulatortest.RecordTokenRequests(g))
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "bcc.db"), secret.GenerateKeyring(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	svc, err := New(Options{Store: db, HTTPClient: sb.Client(), AllowEndpointOverrides: true})
	if err != nil {
		t.Fatal(err)
	}
	return &certSetup{sb: sb, svc: svc, grants: g}
}

func (cs *certSetup) input() ConnectionInput {
	cr := cs.sb.Creds
	return ConnectionInput{TenantID: cr.TenantID, ClientID: cr.ClientID, Environment: cr.Environment, Company: cr.Company,
		AuthorityHost: cs.sb.AuthorityHost(), BCBaseURL: cs.sb.BCBaseURL(), Entities: []string{"customers"}}
}

// upload puts the connection's pending certificate into Entra, as the admin does in Step 3
// with the .cer bcconnector offers for download.
func (cs *certSetup) upload(t *testing.T, id string) string {
	t.Helper()
	v, err := cs.svc.GetConnection(t.Context(), id)
	if err != nil || v.PendingCredential == nil || v.PendingCredential.Kind != CredentialCertificate {
		t.Fatalf("no pending certificate to upload: %+v %v", v.PendingCredential, err)
	}
	der, err := cs.svc.CertificateDER(t.Context(), id, v.PendingCredential.ID)
	if err != nil {
		t.Fatal(err)
	}
	if secret.Thumbprint(der) != v.PendingCredential.Thumbprint {
		t.Fatalf("downloaded certificate %s, shown thumbprint %s", secret.Thumbprint(der), v.PendingCredential.Thumbprint)
	}
	cs.sb.UploadCertificate(idp.Certificate{DER: der})
	return v.PendingCredential.Thumbprint
}

// companies reads BC through the service's live connection and returns the kind of
// credential its token came with ("" when it used a cached token).
func (cs *certSetup) companies(t *testing.T, id string) string {
	t.Helper()
	cs.grants.Take()
	if _, err := cs.svc.Companies(t.Context(), id); err != nil {
		t.Fatalf("BC through the live connection: %v", err)
	}
	return lastKind(cs.grants)
}

// TestCreateWithCertificate: a connection created with a certificate is stored with it
// pending (nothing can be checked before the upload); the check before the upload names
// Step 3 and keeps it pending; after the upload the check activates it, pins the company,
// and the connection reads BC with client assertions.
func TestCreateWithCertificate(t *testing.T) {
	t.Parallel()
	cs := newCertSetup(t)
	ctx := t.Context()
	in := cs.input()
	in.Credential, in.CertificateMonths = CredentialCertificate, 6
	v, rep, err := cs.svc.CreateConnection(ctx, in)
	if err != nil || rep != nil {
		t.Fatalf("create: %v (report %v)", err, rep)
	}
	p := v.PendingCredential
	if v.Credential != nil || p == nil || p.Kind != CredentialCertificate || len(p.Thumbprint) != 40 || p.State != "pending" ||
		p.EndDate.Sub(p.CreatedAt).Hours()/24 < 180 || p.EndDate.Sub(p.CreatedAt).Hours()/24 > 185 {
		t.Fatalf("created: active %+v, pending %+v", v.Credential, p)
	}
	if _, err := cs.svc.Conn(ctx, v.ID); err == nil {
		t.Fatal("a connection without an active credential opened")
	}
	if _, _, err := cs.svc.Targets(ctx, v.ID, nil); !errors.Is(err, store.ErrConflict) || !strings.Contains(err.Error(), p.Thumbprint) {
		t.Fatalf("sync targets of a connection waiting for its certificate: %v", err)
	}

	rep, err = cs.svc.RunDoctor(ctx, v.ID, nil)
	if err != nil || rep.OK || rep.FailedStep == nil || *rep.FailedStep != guide.Step3Secret {
		t.Fatalf("check before the upload: %v, %+v", err, rep)
	}
	if c, _ := rep.Check(doctor.CheckToken); !strings.Contains(c.Problem, p.Thumbprint) {
		t.Errorf("the failure does not name the thumbprint to compare: %q", c.Problem)
	}
	if _, err := cs.svc.ActivateCredential(ctx, v.ID, nil); !errors.Is(err, ErrSetupFailed) || !strings.Contains(err.Error(), "stays pending") {
		t.Fatalf("activate before the upload: %v", err)
	}

	cs.upload(t, v.ID)
	if rep, err = cs.svc.ActivateCredential(ctx, v.ID, nil); err != nil || !rep.OK {
		t.Fatalf("activate after the upload: %v", err)
	}
	v, _ = cs.svc.GetConnection(ctx, v.ID)
	if v.Credential == nil || v.Credential.Thumbprint != p.Thumbprint || v.PendingCredential != nil || v.CompanyID != cs.sb.Creds.CompanyID ||
		v.SecretExpiry != guide.ExpiryNone || !v.SecretEndDate.Equal(p.EndDate) {
		t.Fatalf("after activation: %+v, pending %+v, company %q", v.Credential, v.PendingCredential, v.CompanyID)
	}
	if got := cs.companies(t, v.ID); got != "certificate" {
		t.Errorf("the live connection got its token with %q", got)
	}
	if _, err := cs.svc.CertificateDER(ctx, v.ID, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown certificate: %v", err)
	}
}

// TestRotateSecretToCertificateAndOn: secret → certificate → new certificate → secret, and
// at every moment the live connection reads BC: with the old credential until the new one
// passed its check, with the new one right after.
func TestRotateSecretToCertificateAndOn(t *testing.T) {
	t.Parallel()
	cs := newCertSetup(t)
	ctx := t.Context()
	in := cs.input()
	in.Secret = secret.Secret(cs.sb.Creds.ClientSecret)
	v, _, err := cs.svc.CreateConnection(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if got := cs.companies(t, v.ID); got != "secret" || v.Credential == nil || v.Credential.Kind != CredentialSecret {
		t.Fatalf("a secret connection used %q, credential %+v", got, v.Credential)
	}

	var thumbs []string
	for i := range 2 { // secret → certificate, then certificate → certificate
		if _, err := cs.svc.NewCertificate(ctx, v.ID, 0); err != nil {
			t.Fatal(err)
		}
		before, _ := cs.svc.GetConnection(ctx, v.ID)
		// Not uploaded yet: the check fails, the current credential keeps serving.
		if _, err := cs.svc.ActivateCredential(ctx, v.ID, nil); !errors.Is(err, ErrSetupFailed) {
			t.Fatalf("rotation %d activated before the upload: %v", i, err)
		}
		if _, err := cs.svc.Companies(ctx, v.ID); err != nil {
			t.Fatalf("rotation %d: the current credential stopped working: %v", i, err)
		}
		thumbs = append(thumbs, cs.upload(t, v.ID))
		if _, err := cs.svc.ActivateCredential(ctx, v.ID, nil); err != nil {
			t.Fatalf("rotation %d: %v", i, err)
		}
		after, _ := cs.svc.GetConnection(ctx, v.ID)
		if after.Credential.Thumbprint != thumbs[i] || after.Credential.ID == before.Credential.ID || after.PendingCredential != nil {
			t.Fatalf("rotation %d: active %+v, was %+v", i, after.Credential, before.Credential)
		}
		if got := cs.companies(t, v.ID); got != "certificate" {
			t.Errorf("rotation %d: the live connection still uses %q", i, got)
		}
	}
	if thumbs[0] == thumbs[1] {
		t.Fatal("the second certificate is the first")
	}
	// And back to a secret, through the secret rotation.
	if err := cs.svc.RotateSecret(ctx, v.ID, secret.Secret(cs.sb.Creds.ClientSecret), ""); err != nil {
		t.Fatal(err)
	}
	if got := cs.companies(t, v.ID); got != "secret" {
		t.Errorf("after rotating to a secret the connection uses %q", got)
	}
	recs, _ := cs.svc.st.ListSecrets(ctx, v.ID)
	var kinds []string
	for _, r := range recs {
		kinds = append(kinds, string(r.Kind)+":"+string(r.State))
	}
	if want := "secret:retired certificate:retired certificate:retired secret:active"; strings.Join(kinds, " ") != want {
		t.Errorf("credential history %q, want %q", strings.Join(kinds, " "), want)
	}
}

func TestCertificateInputErrors(t *testing.T) {
	t.Parallel()
	cs := newCertSetup(t)
	ctx := t.Context()
	in := cs.input()
	in.Credential, in.CertificateMonths = CredentialCertificate, 61
	var fe *guide.FieldError
	if _, _, err := cs.svc.CreateConnection(ctx, in); !errors.As(err, &fe) || fe.Field != "certificate validity" {
		t.Errorf("61 months: %v", err)
	}
	in.Credential = "password"
	if _, err := cs.svc.Validate(in); !errors.As(err, &fe) || fe.Field != "credential" {
		t.Errorf("unknown credential kind: %v", err)
	}
	if list, _ := cs.svc.ListConnections(ctx, nil); len(list) != 0 {
		t.Errorf("refused input stored %d connections", len(list))
	}
	in = cs.input()
	in.Secret = secret.Secret(cs.sb.Creds.ClientSecret)
	v, err := cs.svc.CreateConnectionUnchecked(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.svc.UpdateConnection(ctx, v.ID, ConnectionInput{Credential: CredentialCertificate}); !errors.As(err, &fe) || fe.Field != "credential" {
		t.Errorf("an update changing the credential: %v", err)
	}
	if _, err := cs.svc.NewCertificate(ctx, "nope", 12); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("NewCertificate for a missing connection: %v", err)
	}
}
