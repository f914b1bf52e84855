package conn_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/conn"
	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/emulator/emulatortest"
	"github.com/bizzjoiner/bcconnector/emulator/idp"
	"github.com/bizzjoiner/bcconnector/entra"
	"github.com/bizzjoiner/bcconnector/internal/testlog"
	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
)

func newCertificate(t *testing.T) secret.Certificate {
	t.Helper()
	c, err := secret.GenerateCertificate(secret.CertificateOptions{Subject: "conn test", NotAfter: time.Now().AddDate(1, 0, 0), Bits: 2048})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestOpenCertificate: a connection with a certificate credential gets its token with a
// signed client assertion (no client secret is sent) once the admin has uploaded the
// certificate, and BC answers with that token; before the upload Entra's AADSTS700027 is
// classified as an unknown certificate. Neither the key nor an assertion is logged.
func TestOpenCertificate(t *testing.T) {
	t.Parallel()
	var rec emulatortest.TokenRequests
	// The strict knobs: aud must be exactly the token URL, each jti used once.
	sb := emulatortest.Start(t, emulator.Config{Entra: emulator.EntraOptions{StrictAssertionAudience: true, RejectReplayedAssertions: true}},
		emulatortest.RecordTokenRequests(&rec))
	cr := sb.Creds
	cert := newCertificate(t)
	var logs testlog.Buffer
	c := store.Connection{TenantID: cr.TenantID, ClientID: cr.ClientID, Environment: cr.Environment,
		AuthorityHost: sb.AuthorityHost(), BCBaseURL: sb.BCBaseURL(), CAFile: sb.CAFile}
	open := func() *conn.Conn {
		cn, err := conn.Open(c, secret.Credential{Certificate: &cert}, conn.Options{TokenRetries: -1, Logger: logs.Logger()})
		if err != nil {
			t.Fatal(err)
		}
		return cn
	}

	_, err := open().Tokens.Token(context.Background())
	var ee *entra.Error
	if !errors.As(err, &ee) || ee.Scenario != entra.ScenarioCertificateUnknown || ee.AADSTS() != 700027 {
		t.Fatalf("before the upload: %v, want AADSTS700027 classified %s", err, entra.ScenarioCertificateUnknown)
	}

	sb.UploadCertificate(idp.Certificate{DER: cert.DER})
	cn := open()
	tok, err := cn.Tokens.Token(context.Background())
	if err != nil {
		t.Fatalf("token with the uploaded certificate: %v", err)
	}
	claims, err := entra.ParseClaims(tok.Token)
	if err != nil || !strings.EqualFold(claims.AppID, cr.ClientID) || !claims.HasRole("API.ReadWrite.All") {
		t.Fatalf("token claims %+v, %v", claims, err)
	}
	companies, err := cn.BC.Companies(context.Background())
	if err != nil || len(companies) == 0 {
		t.Fatalf("BC with the certificate's token: %v", err)
	}

	forms := rec.Take()
	if len(forms) != 2 {
		t.Fatalf("%d token requests, want 2", len(forms))
	}
	for _, f := range forms {
		if f.Has("client_secret") || !strings.HasSuffix(f.Get("client_assertion_type"), "jwt-bearer") {
			t.Errorf("token request is not a client assertion: %v", f["client_assertion_type"])
		}
		// The assertion (a credential for its lifetime) and the key never reach the log.
		assertion := f.Get("client_assertion")
		if len(assertion) < 100 || strings.Contains(logs.String(), assertion[:60]) {
			t.Errorf("the assertion is missing (%d bytes) or logged", len(assertion))
		}
	}
	key, _ := cert.PrivateKey()
	for _, leak := range []string{cert.Key.Reveal(), string(key.D.Bytes())} {
		if strings.Contains(logs.String(), leak) {
			t.Fatal("the private key is in the log")
		}
	}
}
