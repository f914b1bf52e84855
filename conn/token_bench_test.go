package conn_test

import (
	"context"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/conn"
	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/emulator/emulatortest"
	"github.com/bizzjoiner/bcconnector/emulator/idp"
	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
)

// BenchmarkTokenRequest is one token request to the emulator over TLS (no token cache:
// the source is invalidated each time), with a client secret and with a certificate (the
// client assertion is signed with a 3072-bit key, PS256, by azidentity/MSAL). The
// emulator's own work (and its signature check of the assertion) runs on the same cores.
func BenchmarkTokenRequest(b *testing.B) {
	sb := emulatortest.Start(b, emulator.Config{})
	cr := sb.Creds
	cert, err := secret.GenerateCertificate(secret.CertificateOptions{Subject: "bench", NotAfter: time.Now().AddDate(1, 0, 0)})
	if err != nil {
		b.Fatal(err)
	}
	sb.UploadCertificate(idp.Certificate{DER: cert.DER})
	c := store.Connection{TenantID: cr.TenantID, ClientID: cr.ClientID, Environment: cr.Environment,
		AuthorityHost: sb.AuthorityHost(), BCBaseURL: sb.BCBaseURL()}
	for _, tc := range []struct {
		name string
		cred secret.Credential
	}{
		{"secret", secret.Credential{Secret: secret.Secret(cr.ClientSecret)}},
		{"certificate-3072", secret.Credential{Certificate: &cert}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			cn, err := conn.Open(c, tc.cred, conn.Options{HTTPClient: sb.Client(), TokenRetries: -1})
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				cn.Tokens.Invalidate()
				if _, err := cn.Tokens.Token(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
