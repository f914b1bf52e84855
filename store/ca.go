package store

import (
	"crypto/x509"
	"encoding/pem"
)

// MaxCAPEM bounds Connection.CAPEM: a CA bundle of a proxy or a private cloud is a few
// kilobytes; the whole Mozilla root bundle is about 220 KB.
const MaxCAPEM = 1 << 20

// CACertificates parses the PEM of extra CA certificates (Connection.CAPEM): one or more
// CERTIFICATE blocks, each a valid X.509 certificate, nothing else but whitespace and
// text between blocks (as `openssl x509 -text` writes). Its error wraps ErrInvalid and
// says what to give instead.
func CACertificates(text string) ([]*x509.Certificate, error) {
	if len(text) > MaxCAPEM {
		return nil, invalid("CA certificates are %d bytes, more than %d; give only the CA certificates to trust (PEM), not a whole bundle", len(text), MaxCAPEM)
	}
	var certs []*x509.Certificate
	rest := []byte(text)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			return nil, invalid("CA certificates hold a PEM block of type %q; give only CERTIFICATE blocks (never a private key)", b.Type)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, invalid("CA certificate %d cannot be read (%v); give the CA's certificate in PEM, as the emulator writes it to its CA file", len(certs)+1, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, invalid("CA certificates hold no PEM certificate; give the text from -----BEGIN CERTIFICATE----- to -----END CERTIFICATE-----")
	}
	return certs, nil
}
