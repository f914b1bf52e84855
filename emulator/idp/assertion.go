package idp

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"strings"
	"sync"
	"time"
)

// jwtBearer is the one client_assertion_type Entra accepts for certificate credentials
// (auth-jobs-delivery-facts §1, "a fixed value").
const jwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// maxAssertion bounds a client assertion; MSAL's are about 1 KiB (2-3 KiB with x5c).
const maxAssertion = 16 << 10

// DefaultAssertionClockSkew is how far an assertion's nbf may lie ahead of the emulator's
// clock and its exp behind it. Entra's value is not documented [UNCONFIRMED]; five minutes
// is the default of Microsoft's token validation libraries (IdentityModel's
// DefaultClockSkew).
const DefaultAssertionClockSkew = 5 * time.Minute

// DefaultMinCertificateKeyBits is the smallest RSA key the emulator accepts in a certificate
// credential: 2048 bits, Entra's recommendation. Entra's actual minimum is UNCONFIRMED
// (auth-jobs-delivery-facts §1; AADSTS50032 WeakRsaKey exists).
const DefaultMinCertificateKeyBits = 2048

// clientAssertion is a parsed, not yet verified, client assertion.
type clientAssertion struct {
	alg        string // RS256 or PS256
	thumbprint []byte // SHA-256 (x5t#S256) or SHA-1 (x5t) of the certificate DER
	sha256     bool   // thumbprint is x5t#S256
	signing    string // header.payload, the signed bytes
	sig        []byte
	aud        string // empty when absent or not one string
	iss, sub   string
	jti        string
	nbf, exp   int64
	hasNBF     bool
	hasExp     bool
}

// assertionHeader is the JOSE header of a client assertion. x5t#S256 is the current
// documentation's thumbprint, x5t the older SHA-1 one; Entra accepts both.
type assertionHeader struct {
	Alg       string `json:"alg"`
	Typ       string `json:"typ"`
	X5T       string `json:"x5t"`
	X5TS256   string `json:"x5t#S256"`
	X5CIgnore any    `json:"x5c"` // the chain, needed only for subject name/issuer auth
}

// assertionClaims are the claims Entra reads (auth-jobs-delivery-facts §1, "Claims").
type assertionClaims struct {
	Aud json.RawMessage `json:"aud"`
	Iss string          `json:"iss"`
	Sub string          `json:"sub"`
	JTI string          `json:"jti"`
	NBF json.Number     `json:"nbf"`
	EXP json.Number     `json:"exp"`
}

// parseAssertion decodes a compact JWS client assertion without verifying it. Anything that
// is not a three-part JWT with JSON header and claims, RS256 or PS256 and a thumbprint header
// is AADSTS50027 "Invalid JWT token", as Entra answered in 2016 for a missing thumbprint
// (auth-jobs-delivery-facts §1; the wording of the other reasons is the emulator's).
func parseAssertion(raw string) (*clientAssertion, *aadError) {
	bad := func(format string, args ...any) (*clientAssertion, *aadError) {
		e := errInvalidJWT(fmt.Sprintf(format, args...))
		return nil, &e
	}
	if len(raw) > maxAssertion {
		return bad("The client assertion is %d bytes; at most %d are accepted.", len(raw), maxAssertion)
	}
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return bad("The client assertion must be a signed JWT of three dot-separated parts, not %d.", len(parts))
	}
	hb, err := decodeSegment(parts[0])
	if err != nil {
		return bad("The token header is not base64url.")
	}
	var h assertionHeader
	if err := json.Unmarshal(hb, &h); err != nil {
		return bad("The token header is not a JSON object.")
	}
	switch h.Alg {
	case "RS256", "PS256":
	default:
		return bad("Unsupported signing algorithm '%s'; sign the client assertion with PS256 or RS256.", clip(h.Alg))
	}
	a := &clientAssertion{alg: h.Alg, signing: parts[0] + "." + parts[1]}
	switch {
	case h.X5TS256 != "":
		a.thumbprint, a.sha256 = decodeThumbprint(h.X5TS256, sha256.Size), true
	case h.X5T != "":
		a.thumbprint = decodeThumbprint(h.X5T, sha1.Size)
	default:
		return bad("No certificate thumbprint specified in token header.")
	}
	if a.thumbprint == nil {
		return bad("The certificate thumbprint in the token header is not a base64 SHA-%s hash.", map[bool]string{true: "256", false: "1"}[a.sha256])
	}
	pb, err := decodeSegment(parts[1])
	if err != nil {
		return bad("The token payload is not base64url.")
	}
	var c assertionClaims
	dec := json.NewDecoder(bytes.NewReader(pb))
	dec.UseNumber()
	if err := dec.Decode(&c); err != nil {
		return bad("The token payload is not a JSON object of claims.")
	}
	if a.sig, err = decodeSegment(parts[2]); err != nil || len(a.sig) == 0 {
		return bad("The token signature is not base64url.")
	}
	_ = json.Unmarshal(c.Aud, &a.aud) // an array or a number leaves aud empty: no match
	a.iss, a.sub, a.jti = c.Iss, c.Sub, c.JTI
	if a.nbf, a.hasNBF, err = numericDate(c.NBF); err != nil {
		return bad("The nbf claim is not a number of seconds.")
	}
	if a.exp, a.hasExp, err = numericDate(c.EXP); err != nil {
		return bad("The exp claim is not a number of seconds.")
	}
	if !a.hasExp {
		return bad("The client assertion has no exp claim.")
	}
	return a, nil
}

// decodeSegment decodes base64url without padding (JWS), tolerating padding.
func decodeSegment(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

// decodeThumbprint decodes a thumbprint header of n bytes. MSAL Go writes standard padded
// base64, msal-node base64url; Entra accepts both (auth-jobs-delivery-facts §1). Nil when
// the value is neither or has the wrong length.
func decodeThumbprint(v string, n int) []byte {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(v); err == nil && len(b) == n {
			return b
		}
	}
	return nil
}

// numericDate reads a JWT NumericDate (seconds, possibly fractional).
func numericDate(n json.Number) (int64, bool, error) {
	if n == "" {
		return 0, false, nil
	}
	if i, err := n.Int64(); err == nil {
		return i, true, nil
	}
	f, err := n.Float64()
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f > math.MaxInt64/2 || f < math.MinInt64/2 {
		return 0, false, fmt.Errorf("not a number")
	}
	return int64(f), true, nil
}

// clip shortens a client-supplied value for an error message.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// findKey returns the app's certificate whose thumbprint the assertion names.
func (a *clientAssertion) findKey(app App) (Certificate, bool) {
	for _, c := range app.Certificates {
		var sum []byte
		if a.sha256 {
			s := sha256.Sum256(c.DER)
			sum = s[:]
		} else {
			s := sha1.Sum(c.DER)
			sum = s[:]
		}
		if subtle.ConstantTimeCompare(sum, a.thumbprint) == 1 {
			return c, true
		}
	}
	return Certificate{}, false
}

// verifySignature checks the JWS signature with the certificate's RSA key.
func (a *clientAssertion) verifySignature(pub *rsa.PublicKey) bool {
	sum := sha256.Sum256([]byte(a.signing))
	if a.alg == "PS256" {
		return rsa.VerifyPSS(pub, crypto.SHA256, sum[:], a.sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto}) == nil
	}
	return rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], a.sig) == nil
}

// checkAssertion verifies a client assertion for app as Entra does (auth-jobs-delivery-facts
// §1). The order of the checks is the emulator's best guess [UNCONFIRMED]: the assertion
// type, the JWT's form, iss/sub against client_id, the key by thumbprint, its size and
// dates, the signature, the audience, nbf/exp, and jti replay when configured.
func (s *Server) checkAssertion(app App, assertionType, raw, tokenURL string, tenant Tenant, rc *reqCtx) *aadError {
	if assertionType != jwtBearer {
		e := errAssertionType(assertionType)
		return &e
	}
	a, perr := parseAssertion(raw)
	if perr != nil {
		return perr
	}
	if a.iss != a.sub {
		e := errSubjectMismatch()
		return &e
	}
	if !strings.EqualFold(a.iss, app.ClientID) {
		e := errAssertionClientMismatch()
		return &e
	}
	tp := strings.ToUpper(hex.EncodeToString(a.thumbprint))
	if a.alg == "RS256" && s.cfg.RejectRS256 {
		e := errInvalidJWT("RS256 client assertions are no longer accepted; sign with PS256 and send x5t#S256.")
		return &e
	}
	key, ok := a.findKey(app)
	if !ok {
		e := errKeyNotFound(tp, app.ClientID)
		return &e
	}
	cert, err := x509.ParseCertificate(key.DER)
	if err != nil { // normalizeCertificate parsed it already
		e := errKeyNotFound(tp, app.ClientID)
		return &e
	}
	pub := cert.PublicKey.(*rsa.PublicKey)
	if minBits := s.minKeyBits(); pub.N.BitLen() < minBits {
		e := errWeakKey(pub.N.BitLen(), minBits)
		return &e
	}
	if rc.now.Before(key.StartDate) || !rc.now.Before(key.EndDate) {
		e := errKeyExpired(tp, key.StartDate, key.EndDate)
		return &e
	}
	if !a.verifySignature(pub) {
		e := errAssertionSignature(tp, key.StartDate, key.EndDate)
		return &e
	}
	if !s.audienceMatches(a.aud, tokenURL, tenant) {
		e := errAssertionAudience()
		return &e
	}
	skew := s.assertionSkew()
	now := rc.now
	nbf := time.Unix(a.nbf, 0)
	exp := time.Unix(a.exp, 0)
	if (a.hasNBF && now.Add(skew).Before(nbf)) || !now.Add(-skew).Before(exp) {
		if !a.hasNBF {
			nbf = time.Time{}
		}
		e := errAssertionTime(now, nbf, exp)
		return &e
	}
	if s.cfg.RejectReplayedAssertions {
		if a.jti == "" {
			e := errInvalidJWT("The client assertion has no jti claim.")
			return &e
		}
		if !s.jtis.firstUse(app.ClientID+"|"+a.jti, exp.Add(skew), now) {
			e := errAssertionReplayed()
			return &e
		}
	}
	return nil
}

func (s *Server) minKeyBits() int {
	if s.cfg.MinCertificateKeyBits > 0 {
		return s.cfg.MinCertificateKeyBits
	}
	return DefaultMinCertificateKeyBits
}

func (s *Server) assertionSkew() time.Duration {
	switch {
	case s.cfg.AssertionClockSkew < 0:
		return 0
	case s.cfg.AssertionClockSkew == 0:
		return DefaultAssertionClockSkew
	}
	return s.cfg.AssertionClockSkew
}

// audienceMatches reports whether aud names the token endpoint the request was posted to.
// The rule is "aud = the exact URL you POST to" (auth-jobs-delivery-facts §1). Whether Entra
// also accepts the tenant written another way (GUID for domain) or the other token endpoint
// version is UNCONFIRMED (guess: accepted); Config.StrictAssertionAudience turns that off.
func (s *Server) audienceMatches(aud, tokenURL string, tenant Tenant) bool {
	if aud == "" {
		return false
	}
	if aud == tokenURL {
		return true
	}
	if s.cfg.StrictAssertionAudience {
		return false
	}
	a, err := url.Parse(aud)
	if err != nil || a.RawQuery != "" || a.Fragment != "" {
		return false
	}
	t, err := url.Parse(tokenURL)
	if err != nil || !strings.EqualFold(a.Scheme, t.Scheme) || !strings.EqualFold(a.Host, t.Host) {
		return false
	}
	seg, rest, ok := strings.Cut(strings.TrimPrefix(a.Path, "/"), "/")
	if !ok || (rest != "oauth2/v2.0/token" && rest != "oauth2/token") {
		return false
	}
	other, ok := s.dir.LookupTenant(seg)
	return ok && other.ID == tenant.ID
}

// jtiLog remembers the jti values seen until their assertions expire, for
// Config.RejectReplayedAssertions.
type jtiLog struct {
	mu   sync.Mutex
	seen map[string]time.Time // key -> forget after
}

// firstUse records key and reports whether it was new; entries past their time are dropped.
func (l *jtiLog) firstUse(key string, until, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen == nil {
		l.seen = map[string]time.Time{}
	}
	for k, t := range l.seen {
		if now.After(t) {
			delete(l.seen, k)
		}
	}
	if _, dup := l.seen[key]; dup {
		return false
	}
	l.seen[key] = until
	return true
}
