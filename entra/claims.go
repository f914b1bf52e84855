package entra

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// maxTokenLen bounds the input of ParseClaims; Entra access tokens are a few KB.
const maxTokenLen = 64 << 10

// Claims are the access-token claims that matter for diagnosing a Business Central setup
// (bc-entra-facts §1.6). They are read without verifying the signature: Business Central
// verifies tokens; the connector only looks.
//
// https://learn.microsoft.com/entra/identity-platform/access-token-claims-reference
type Claims struct {
	// TenantID is "tid": the tenant that issued the token.
	TenantID string
	// AppID is "appid" (v1 tokens, which BC gets) or "azp" (v2): the client ID.
	AppID string
	// Audience is "aud": https://api.businesscentral.dynamics.com or BC's app ID GUID. If
	// the claim is an array its values are joined with a space.
	Audience string
	// Issuer is "iss", e.g. https://sts.windows.net/{tid}/ for v1 tokens.
	Issuer string
	// ObjectID is "oid": the app's service principal in the tenant.
	ObjectID string
	// Roles are the granted application permissions, e.g. ["API.ReadWrite.All"].
	Roles []string
	// IssuedAt, NotBefore and ExpiresAt are "iat", "nbf" and "exp"; zero when absent.
	IssuedAt, NotBefore, ExpiresAt time.Time
	// HasRolesClaim reports whether the token carries a "roles" claim at all. Entra omits
	// it when no application permission was granted and consented, which is how the
	// permission-delegated-only and consent-missing scenarios show up (bc-entra-facts §0
	// item 2, §1.6): Entra issues the token, BC answers 401.
	HasRolesClaim bool
}

// HasRole reports whether the token grants the application permission r, e.g.
// "API.ReadWrite.All". Entra's role values are compared exactly.
func (c Claims) HasRole(r string) bool {
	return slices.Contains(c.Roles, r)
}

// ParseClaims reads the claims of a JWT access token: the base64url-encoded JSON payload
// between the first and second dot. It does not check the signature, so the result is for
// diagnosis only. If some claims have the wrong type it returns the claims it could read
// and an error naming every bad claim. Errors never echo any part of the token.
func ParseClaims(token string) (Claims, error) {
	if token == "" {
		return Claims{}, errors.New("entra: access token is empty")
	}
	if len(token) > maxTokenLen {
		return Claims{}, fmt.Errorf("entra: access token is %d bytes, more than the %d a JWT from Entra can be", len(token), maxTokenLen)
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return Claims{}, fmt.Errorf("entra: access token is not a JWT: it has %d dot-separated parts, want 3", len(parts))
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return Claims{}, errors.New("entra: access token payload is not base64url-encoded")
	}
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil || raw == nil {
		return Claims{}, errors.New("entra: access token payload is not a JSON object")
	}

	var c Claims
	var errs []error
	str := func(name string, dst *string) {
		if v, ok := raw[name]; ok && !isNull(v) {
			if json.Unmarshal(v, dst) != nil {
				errs = append(errs, fmt.Errorf("claim %q is not a string", name))
			}
		}
	}
	str("tid", &c.TenantID)
	str("appid", &c.AppID)
	if c.AppID == "" {
		str("azp", &c.AppID)
	}
	str("iss", &c.Issuer)
	str("oid", &c.ObjectID)

	if v, ok := raw["aud"]; ok && !isNull(v) {
		var one string
		var many []string
		switch {
		case json.Unmarshal(v, &one) == nil:
			c.Audience = one
		case json.Unmarshal(v, &many) == nil:
			c.Audience = strings.Join(many, " ")
		default:
			errs = append(errs, errors.New(`claim "aud" is neither a string nor an array of strings`))
		}
	}
	if v, ok := raw["roles"]; ok && !isNull(v) {
		c.HasRolesClaim = true
		if json.Unmarshal(v, &c.Roles) != nil {
			c.Roles = nil
			errs = append(errs, errors.New(`claim "roles" is not an array of strings`))
		}
	}
	for _, t := range []struct {
		name string
		dst  *time.Time
	}{{"iat", &c.IssuedAt}, {"nbf", &c.NotBefore}, {"exp", &c.ExpiresAt}} {
		v, ok := raw[t.name]
		if !ok || isNull(v) {
			continue
		}
		tm, err := numericDate(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("claim %q %v", t.name, err))
			continue
		}
		*t.dst = tm
	}
	if len(errs) > 0 {
		return c, fmt.Errorf("entra: access token claims: %w", errors.Join(errs...))
	}
	return c, nil
}

func isNull(v json.RawMessage) bool { return string(bytes.TrimSpace(v)) == "null" }

// maxNumericDate is 9999-12-31T23:59:59Z, the last second time.Time formats sensibly.
const maxNumericDate = 253402300799

// numericDate reads a JWT NumericDate: seconds since the epoch, possibly fractional
// (RFC 7519 §2).
func numericDate(v json.RawMessage) (time.Time, error) {
	var n json.Number
	if json.Unmarshal(v, &n) != nil {
		return time.Time{}, errors.New("is not a number of seconds")
	}
	f, err := n.Float64()
	if err != nil || math.IsNaN(f) || f < 0 || f > maxNumericDate {
		return time.Time{}, errors.New("is not a number of seconds between 1970 and 9999")
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
}
