package secret

import (
	"bytes"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

var (
	certStart = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	certEnd   = time.Date(2027, 12, 1, 10, 0, 0, 0, time.UTC)
)

func newTestCertificate(t *testing.T) Certificate {
	t.Helper()
	c, err := GenerateCertificate(CertificateOptions{Subject: "Bizzjoiner – BC Connector – Production – Company X",
		NotBefore: certStart, NotAfter: certEnd, Bits: 2048})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestGenerateCertificate(t *testing.T) {
	t.Parallel()
	c := newTestCertificate(t)
	if err := c.Check(); err != nil {
		t.Fatalf("Check of a generated certificate: %v", err)
	}
	cert, err := x509.ParseCertificate(c.DER)
	if err != nil {
		t.Fatal(err)
	}
	if !cert.NotBefore.Equal(certStart) || !cert.NotAfter.Equal(certEnd) || !c.NotAfter().Equal(certEnd) {
		t.Errorf("validity %s – %s, want %s – %s", cert.NotBefore, cert.NotAfter, certStart, certEnd)
	}
	if cert.Subject.CommonName != "Bizzjoiner – BC Connector – Production – Company X" {
		t.Errorf("subject %q", cert.Subject.CommonName)
	}
	if err := cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature); err != nil {
		t.Errorf("not self-signed: %v", err)
	}
	if pub := cert.PublicKey.(*rsa.PublicKey); pub.N.BitLen() != 2048 {
		t.Errorf("key of %d bits", pub.N.BitLen())
	}
	if len(cert.ExtKeyUsage) != 1 || cert.ExtKeyUsage[0] != x509.ExtKeyUsageClientAuth || cert.IsCA {
		t.Errorf("usage %v, CA %v", cert.ExtKeyUsage, cert.IsCA)
	}
	// The thumbprint is the portal's: SHA-1 of the DER, upper-case hex, 40 characters.
	sum := sha1.Sum(c.DER)
	if want := strings.ToUpper(hex.EncodeToString(sum[:])); c.Thumbprint() != want || len(want) != 40 {
		t.Errorf("thumbprint %s, want %s", c.Thumbprint(), want)
	}
	block, rest := pem.Decode(c.PEM())
	if block == nil || block.Type != "CERTIFICATE" || !bytes.Equal(block.Bytes, c.DER) || len(rest) != 0 {
		t.Errorf("PEM does not hold the DER: %q", c.PEM())
	}
	if other := newTestCertificate(t); other.Thumbprint() == c.Thumbprint() || other.Key == c.Key {
		t.Error("two generated certificates share a thumbprint or key")
	}
}

func TestGenerateCertificateDefaultBits(t *testing.T) {
	t.Parallel()
	c, err := GenerateCertificate(CertificateOptions{Subject: "s", NotAfter: time.Now().AddDate(1, 0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	k, err := c.PrivateKey()
	if err != nil || k.N.BitLen() != DefaultCertificateBits {
		t.Fatalf("default key: %v", err)
	}
}

func TestGenerateCertificateErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		opt  CertificateOptions
		want string
	}{
		{CertificateOptions{Subject: "s", NotBefore: certStart, NotAfter: certEnd, Bits: 1024}, "2048 to 8192 bits"},
		{CertificateOptions{NotBefore: certStart, NotAfter: certEnd, Bits: 2048}, "subject"},
		{CertificateOptions{Subject: "s", NotBefore: certStart, Bits: 2048}, "end date"},
		{CertificateOptions{Subject: "s", NotBefore: certEnd, NotAfter: certStart, Bits: 2048}, "must be after its start"},
	} {
		if _, err := GenerateCertificate(tc.opt); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("GenerateCertificate(%+v) = %v, want an error containing %q", tc.opt, err, tc.want)
		}
	}
}

func TestCertificateCheckFindsMismatch(t *testing.T) {
	t.Parallel()
	a, b := newTestCertificate(t), newTestCertificate(t)
	if err := (Certificate{DER: a.DER, Key: b.Key}).Check(); err == nil || !strings.Contains(err.Error(), "does not belong") {
		t.Errorf("key of another certificate: %v", err)
	}
	if err := (Certificate{DER: []byte("junk"), Key: a.Key}).Check(); err == nil || !strings.Contains(err.Error(), "generate a new certificate") {
		t.Errorf("junk DER: %v", err)
	}
	if err := (Certificate{DER: a.DER, Key: "junk"}).Check(); err == nil || strings.Contains(err.Error(), "junk") {
		t.Errorf("junk key (the error must not quote it): %v", err)
	}
}

// TestCertificateNeverShowsKey: the private key is not in any printed, logged or encoded
// form of a Certificate or a Credential holding one.
func TestCertificateNeverShowsKey(t *testing.T) {
	t.Parallel()
	c := newTestCertificate(t)
	cred := Credential{Certificate: &c}
	type holder struct {
		Cert Certificate
		Cred Credential
	}
	h := holder{c, cred}
	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		outs = append(outs, fmt.Sprintf(verb, c), fmt.Sprintf(verb, cred), fmt.Sprintf(verb, h), fmt.Sprintf(verb, &c))
	}
	j, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	outs = append(outs, string(j))
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "cert", c, "cred", cred, "h", h)
	outs = append(outs, buf.String())
	key := c.Key.Reveal()
	forms := []string{key, hex.EncodeToString([]byte(key)), fmt.Sprintf("%X", key), string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte(key)}))}
	for _, out := range outs {
		for _, f := range forms {
			if strings.Contains(out, f[:min(len(f), 64)]) {
				t.Fatalf("the private key shows in %q", out[:min(len(out), 200)])
			}
		}
	}
	if !strings.Contains(fmt.Sprint(c), c.Thumbprint()) || !strings.Contains(buf.String(), c.Thumbprint()) {
		t.Error("the thumbprint, which is public, should identify the certificate in prints and logs")
	}
	if got := (Credential{Secret: "abc"}).String(); strings.Contains(got, "abc") || cred.Kind() != "certificate" || (Credential{Secret: "abc"}).Kind() != "secret" {
		t.Errorf("credential kinds: %q", got)
	}
}
