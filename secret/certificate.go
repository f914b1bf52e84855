package secret

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"strings"
	"time"
)

// Key sizes of generated certificates. Entra accepts RSA keys only, of at least 2048 bits
// (auth-jobs-delivery-facts §1); 3072 bits is NIST's size for use beyond 2030.
const (
	MinCertificateBits     = 2048
	DefaultCertificateBits = 3072
)

// Certificate is a certificate credential of an Entra app: a self-signed X.509 certificate,
// public (the admin uploads it under Certificates & secrets → Certificates), and its RSA
// private key, which signs the client assertions of token requests and never leaves
// bcconnector. The key is a [Secret] holding its PKCS #8 DER, so it is redacted wherever a
// Certificate is printed, logged or encoded, and sealed like a client secret when stored.
type Certificate struct {
	// DER is the X.509 certificate in DER form, what a .cer file holds.
	DER []byte
	// Key is the private key in PKCS #8 DER form. Never printed; see [Certificate.PrivateKey].
	Key Secret
}

// CertificateOptions are the choices of [GenerateCertificate].
type CertificateOptions struct {
	// Subject is the certificate's common name, e.g. the Entra app's display name; it is
	// what the portal's Certificates tab shows as Description. Required.
	Subject string
	// NotBefore is when the certificate starts to be valid; zero means Now.
	NotBefore time.Time
	// NotAfter is when it stops being valid: Entra refuses assertions signed with the key
	// afterwards (AADSTS700027 "The key used is expired"). Required, after NotBefore.
	NotAfter time.Time
	// Bits is the RSA key size; zero means DefaultCertificateBits (3072). At least
	// MinCertificateBits (2048).
	Bits int
	// Now is the clock for a zero NotBefore; nil means time.Now.
	Now func() time.Time
}

// GenerateCertificate makes a new RSA key pair and a self-signed certificate for it, valid
// from opt.NotBefore to opt.NotAfter, for client authentication with Entra ID.
func GenerateCertificate(opt CertificateOptions) (Certificate, error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Bits == 0 {
		opt.Bits = DefaultCertificateBits
	}
	if opt.NotBefore.IsZero() {
		opt.NotBefore = opt.Now()
	}
	opt.Subject = strings.TrimSpace(opt.Subject)
	switch {
	case opt.Bits < MinCertificateBits || opt.Bits > 8192:
		return Certificate{}, fmt.Errorf("secret: certificate key size %d bits: give %d to 8192 bits (Entra refuses smaller RSA keys)", opt.Bits, MinCertificateBits)
	case opt.Subject == "":
		return Certificate{}, errors.New("secret: the certificate needs a subject (e.g. the app's display name)")
	case opt.NotAfter.IsZero() || !opt.NotAfter.After(opt.NotBefore):
		return Certificate{}, fmt.Errorf("secret: the certificate's end date (%s) must be after its start (%s)",
			opt.NotAfter.UTC().Format(time.DateOnly), opt.NotBefore.UTC().Format(time.DateOnly))
	}
	key, err := rsa.GenerateKey(rand.Reader, opt.Bits)
	if err != nil {
		return Certificate{}, fmt.Errorf("secret: generate an RSA key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return Certificate{}, fmt.Errorf("secret: certificate serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: opt.Subject},
		NotBefore:             opt.NotBefore.UTC().Truncate(time.Second),
		NotAfter:              opt.NotAfter.UTC().Truncate(time.Second),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		SignatureAlgorithm:    x509.SHA256WithRSA,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return Certificate{}, fmt.Errorf("secret: self-sign the certificate: %w", err)
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return Certificate{}, fmt.Errorf("secret: encode the private key: %w", err)
	}
	return Certificate{DER: der, Key: Secret(pk)}, nil
}

// IsZero reports whether c holds no certificate.
func (c Certificate) IsZero() bool { return len(c.DER) == 0 && c.Key.IsZero() }

// Thumbprint returns the SHA-1 hash of the certificate in upper-case hex, as the Entra
// portal's Certificates tab shows it ("Thumbprint"), so the admin can compare the two.
func (c Certificate) Thumbprint() string { return Thumbprint(c.DER) }

// Thumbprint returns the SHA-1 hash of a DER certificate in upper-case hex, the portal's form.
func Thumbprint(der []byte) string {
	if len(der) == 0 {
		return ""
	}
	sum := sha1.Sum(der)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// X509 parses the certificate.
func (c Certificate) X509() (*x509.Certificate, error) {
	cert, err := x509.ParseCertificate(c.DER)
	if err != nil {
		return nil, fmt.Errorf("secret: the stored certificate does not parse (%v); generate a new certificate", err)
	}
	return cert, nil
}

// NotAfter is the end of the certificate's validity, zero if it does not parse.
func (c Certificate) NotAfter() time.Time {
	cert, err := c.X509()
	if err != nil {
		return time.Time{}
	}
	return cert.NotAfter.UTC()
}

// PEM returns the certificate in PEM form ("-----BEGIN CERTIFICATE-----"), which the portal
// accepts as .pem or .crt as well as the DER .cer.
func (c Certificate) PEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.DER})
}

// PrivateKey parses the private key. Like [Secret.Reveal], call it only where the key is
// used: to sign a client assertion (the token request's credential).
func (c Certificate) PrivateKey() (*rsa.PrivateKey, error) {
	k, err := x509.ParsePKCS8PrivateKey([]byte(c.Key.Reveal()))
	if err != nil {
		return nil, errors.New("secret: the certificate's private key does not parse; generate a new certificate")
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("secret: the certificate's private key is a %T, not RSA; generate a new certificate", k)
	}
	return rk, nil
}

// Check verifies that c is usable for Entra: the certificate parses, its key is RSA of at
// least MinCertificateBits, and the private key belongs to it.
func (c Certificate) Check() error {
	cert, err := c.X509()
	if err != nil {
		return err
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return fmt.Errorf("secret: the certificate has a %s key; Entra accepts RSA keys only", cert.PublicKeyAlgorithm)
	}
	if pub.N.BitLen() < MinCertificateBits {
		return fmt.Errorf("secret: the certificate's RSA key has %d bits; Entra needs at least %d", pub.N.BitLen(), MinCertificateBits)
	}
	key, err := c.PrivateKey()
	if err != nil {
		return err
	}
	if !key.PublicKey.Equal(pub) {
		return errors.New("secret: the private key does not belong to the certificate; generate a new certificate")
	}
	return nil
}

// String describes the certificate by its thumbprint and end date, never its key.
func (c Certificate) String() string {
	return fmt.Sprintf("certificate %s (valid until %s, key %s)", c.Thumbprint(), c.NotAfter().Format(time.DateOnly), Redacted)
}

// GoString is String, so %#v does not show the key either.
func (c Certificate) GoString() string { return c.String() }

// LogValue logs the thumbprint and end date only.
func (c Certificate) LogValue() slog.Value {
	return slog.GroupValue(slog.String("thumbprint", c.Thumbprint()), slog.Time("notAfter", c.NotAfter()),
		slog.String("key", Redacted))
}

// Credential is what an Entra app proves its identity with in the client-credentials
// grant: a client secret, or a certificate whose private key signs a client assertion.
// Exactly one of the two is set; both are redacted when printed.
type Credential struct {
	// Secret is the client secret's Value (a secret credential).
	Secret Secret
	// Certificate is set for a certificate credential.
	Certificate *Certificate
}

// IsCertificate reports whether the credential is a certificate.
func (c Credential) IsCertificate() bool { return c.Certificate != nil }

// Kind is "certificate" or "secret".
func (c Credential) Kind() string {
	if c.IsCertificate() {
		return "certificate"
	}
	return "secret"
}

// String names the kind of credential, never its value.
func (c Credential) String() string {
	if c.Certificate != nil {
		return c.Certificate.String()
	}
	if c.Secret.IsZero() {
		return "no credential"
	}
	return "client secret " + Redacted
}

// GoString is String.
func (c Credential) GoString() string { return c.String() }

// LogValue logs the kind (and a certificate's thumbprint), never a value.
func (c Credential) LogValue() slog.Value {
	if c.Certificate != nil {
		return c.Certificate.LogValue()
	}
	return slog.StringValue(c.String())
}
