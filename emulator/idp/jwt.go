package idp

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// Claims is the payload of an access token in Entra's v1 shape (bc-entra-facts §1.6). Field
// order is the order Entra writes them. Roles is absent from the JSON when empty.
type Claims struct {
	Aud      string   `json:"aud"`
	Iss      string   `json:"iss"`
	IAT      int64    `json:"iat"`
	NBF      int64    `json:"nbf"`
	EXP      int64    `json:"exp"`
	AIO      string   `json:"aio,omitempty"` // opaque
	AppID    string   `json:"appid"`
	AppIDACR string   `json:"appidacr"` // "1": client secret, "2": certificate
	Idp      string   `json:"idp"`
	OID      string   `json:"oid"`          // service principal object id
	RH       string   `json:"rh,omitempty"` // opaque
	Roles    []string `json:"roles,omitempty"`
	Sub      string   `json:"sub"` // equals OID for app-only tokens
	TID      string   `json:"tid"`
	UTI      string   `json:"uti,omitempty"` // unique token id
	Ver      string   `json:"ver"`
}

// jwtHeader is the JOSE header; v1 tokens carry both kid and x5t (bc-entra-facts §1.6).
type jwtHeader struct {
	Typ string `json:"typ"`
	Alg string `json:"alg"`
	X5T string `json:"x5t,omitempty"`
	Kid string `json:"kid"`
}

// VerifyReason classifies why Verify rejected a token.
type VerifyReason string

// Reasons a token fails Verify.
const (
	Malformed    VerifyReason = "malformed"     // not a compact RS256 JWT with a JSON payload
	BadSignature VerifyReason = "bad_signature" // unknown kid or signature mismatch (tampered)
	Expired      VerifyReason = "expired"       // Now is at or after exp
	NotYetValid  VerifyReason = "not_yet_valid" // Now is before nbf
)

// VerifyError is the error Verify returns.
type VerifyError struct {
	Reason VerifyReason
	Detail string
}

// Error implements error.
func (e *VerifyError) Error() string {
	return fmt.Sprintf("idp: access token rejected (%s): %s", e.Reason, e.Detail)
}

// signingKey is the server's token signing key with a self-signed certificate, so the JWKS can
// publish x5c and x5t like Entra's.
type signingKey struct {
	priv *rsa.PrivateKey
	der  []byte // certificate
	kid  string // = x5t, the base64url SHA-1 thumbprint, as in Entra's v1 keys
}

func newSigningKey(priv *rsa.PrivateKey, now time.Time) (*signingKey, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, fmt.Errorf("idp: certificate serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "accounts.accesscontrol.windows.net (bcconnector emulator)"},
		NotBefore:    now.Add(-24 * time.Hour),
		NotAfter:     now.Add(5 * 365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		return nil, fmt.Errorf("idp: self-signed signing certificate: %w", err)
	}
	sum := sha1.Sum(der)
	return &signingKey{priv: priv, der: der, kid: base64.RawURLEncoding.EncodeToString(sum[:])}, nil
}

// Sign encodes c as an RS256 JWT signed with the server's key. The token endpoint uses it; BC
// side tests may use it to mint tokens Entra would never issue (wrong audience, no roles).
func (s *Server) Sign(c Claims) (string, error) {
	h, err := json.Marshal(jwtHeader{Typ: "JWT", Alg: "RS256", X5T: s.key.kid, Kid: s.key.kid})
	if err != nil {
		return "", err
	}
	p, err := marshalNoEscape(c)
	if err != nil {
		return "", err
	}
	signing := b64(h) + "." + b64(p)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.key.priv, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("idp: sign token: %w", err)
	}
	return signing + "." + b64(sig), nil
}

// Verify checks a token issued by this server: compact form, RS256, a kid this server signs
// with, a valid signature, and nbf <= Now < exp (no leeway). It returns the claims or a
// *VerifyError. Audience, issuer, tenant and roles are for the caller to judge.
func (s *Server) Verify(raw string) (*Claims, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, &VerifyError{Malformed, fmt.Sprintf("want 3 dot-separated parts, got %d", len(parts))}
	}
	hb, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return nil, &VerifyError{Malformed, "header is not base64url: " + err.Error()}
	}
	var h jwtHeader
	if err := json.Unmarshal(hb, &h); err != nil {
		return nil, &VerifyError{Malformed, "header is not JSON: " + err.Error()}
	}
	if h.Alg != "RS256" {
		return nil, &VerifyError{Malformed, fmt.Sprintf("alg %q, want RS256", h.Alg)}
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return nil, &VerifyError{Malformed, "signature is not base64url: " + err.Error()}
	}
	pb, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, &VerifyError{Malformed, "payload is not base64url: " + err.Error()}
	}
	if h.Kid != s.key.kid {
		return nil, &VerifyError{BadSignature, fmt.Sprintf("unknown signing key kid %q", h.Kid)}
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(&s.key.priv.PublicKey, crypto.SHA256, sum[:], sig); err != nil {
		return nil, &VerifyError{BadSignature, "signature does not match header and payload"}
	}
	var c Claims
	if err := json.Unmarshal(pb, &c); err != nil {
		return nil, &VerifyError{Malformed, "payload is not a JSON claims object: " + err.Error()}
	}
	now := s.now().Unix()
	if now >= c.EXP {
		return nil, &VerifyError{Expired, fmt.Sprintf("exp %s is not after now %s", unixUTC(c.EXP), unixUTC(now))}
	}
	if now < c.NBF {
		return nil, &VerifyError{NotYetValid, fmt.Sprintf("nbf %s is after now %s", unixUTC(c.NBF), unixUTC(now))}
	}
	return &c, nil
}

// jwk is one key of the JWKS document, in Entra's shape.
type jwk struct {
	Kty    string   `json:"kty"`
	Use    string   `json:"use"`
	Kid    string   `json:"kid"`
	X5T    string   `json:"x5t"`
	N      string   `json:"n"`
	E      string   `json:"e"`
	X5C    []string `json:"x5c"`
	Issuer string   `json:"issuer,omitempty"`
}

func (k *signingKey) jwk(issuer string) jwk {
	pub := k.priv.PublicKey
	return jwk{
		Kty:    "RSA",
		Use:    "sig",
		Kid:    k.kid,
		X5T:    k.kid,
		N:      b64(pub.N.Bytes()),
		E:      b64(big.NewInt(int64(pub.E)).Bytes()),
		X5C:    []string{base64.StdEncoding.EncodeToString(k.der)},
		Issuer: issuer,
	}
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func unixUTC(sec int64) string { return time.Unix(sec, 0).UTC().Format(time.RFC3339) }

// marshalNoEscape is json.Marshal without HTML escaping and without the trailing newline.
func marshalNoEscape(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
