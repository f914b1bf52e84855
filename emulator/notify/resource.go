package notify

import (
	"fmt"
	"net/url"
	"strings"
)

// defaultAPIPrefix is the API route of the standard API v2.0 (bc-entra-facts §4.1).
const defaultAPIPrefix = "api/v2.0"

// resourceRef is a parsed subscription resource: which entity set of which company under
// which API route.
type resourceRef struct {
	prefix    string // "api/v2.0" or "api/{publisher}/{group}/{version}"
	company   string // lower-case canonical GUID
	entitySet string
}

// canonical is the form handed to Config.ValidateResource and used by Change.Resource:
// "api/v2.0/companies(<guid>)/<entitySet>".
func (r resourceRef) canonical() string {
	return r.prefix + "/companies(" + r.company + ")/" + r.entitySet
}

// matchKey is the key under which changes are matched to subscriptions: entity set names are
// compared case-insensitively because BC's OData routing is (UNCONFIRMED; lenient choice).
func (r resourceRef) matchKey() string { return strings.ToLower(r.canonical()) }

// parseResource accepts the forms BC documents for a subscription's resource (bc-entra-facts
// §7.1, "relative or absolute"):
//
//	/api/v2.0/companies({id})/customers                       (docs)
//	api/v2.0/companies({id})/customers
//	companies({id})/customers                                 (relative to the endpoint's API route)
//	https://host/v2.0/{tenant}/{env}/api/v2.0/companies({id})/customers
//
// defaultPrefix is used for the relative form. Query strings, keys and nested segments are
// rejected: a subscription is on a whole company-scoped entity set.
func parseResource(s, defaultPrefix string) (resourceRef, error) {
	raw := strings.TrimSpace(s)
	if raw == "" {
		return resourceRef{}, errRequired(resourceFieldName)
	}
	path := raw
	if strings.Contains(raw, "://") {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return resourceRef{}, badResource(s, "it is not a valid absolute http(s) URL")
		}
		if u.RawQuery != "" || u.Fragment != "" {
			return resourceRef{}, badResource(s, "query options and fragments are not supported in a subscription resource")
		}
		path = u.EscapedPath()
	} else if strings.ContainsAny(raw, "?#") {
		return resourceRef{}, badResource(s, "query options and fragments are not supported in a subscription resource")
	}
	segs := strings.Split(strings.Trim(path, "/"), "/")
	ci := -1
	for i, seg := range segs {
		if seg == "" {
			return resourceRef{}, badResource(s, "it contains an empty path segment")
		}
		if ci < 0 && hasPrefixFold(seg, "companies(") {
			ci = i
		}
	}
	if ci < 0 {
		return resourceRef{}, badResource(s, "it has no companies({companyId}) segment")
	}
	if ci != len(segs)-2 {
		return resourceRef{}, badResource(s, "it must end with exactly one entity set after companies({companyId}), without a record key or nested segment")
	}
	company, ok := parseCompanySegment(segs[ci])
	if !ok {
		return resourceRef{}, badResource(s, fmt.Sprintf("'%s' is not companies({companyId}) with an unquoted GUID id", clip(segs[ci])))
	}
	set := segs[ci+1]
	if !isIdentifier(set) {
		return resourceRef{}, badResource(s, fmt.Sprintf("'%s' is not an entity set name", clip(set)))
	}
	prefix := defaultPrefix
	if ci > 0 {
		// The API route is "api" plus one (v2.0) or three (publisher/group/version) segments,
		// possibly preceded by the endpoint's /v2.0/{tenant}/{env} part.
		j := -1
		for k := ci - 1; k >= 0; k-- {
			if segs[k] == "api" {
				j = k
				break
			}
		}
		if j < 0 || (ci-j-1 != 1 && ci-j-1 != 3) {
			return resourceRef{}, badResource(s, "its API route is neither api/{version} nor api/{publisher}/{group}/{version}")
		}
		prefix = strings.Join(segs[j:ci], "/")
	}
	if prefix == "" {
		return resourceRef{}, badResource(s, "it has no API route (api/v2.0 or api/{publisher}/{group}/{version})")
	}
	return resourceRef{prefix: prefix, company: company, entitySet: set}, nil
}

func badResource(s, why string) *Error {
	return errBadRequest("The resource '%s' cannot be subscribed to: %s. Use the form %s (the subscriptions endpoint's API route, the company id as an unquoted GUID, then the entity set).",
		clip(s), why, resourceExample)
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// parseCompanySegment returns the lower-case GUID of "companies(<guid>)".
func parseCompanySegment(seg string) (string, bool) {
	const open = len("companies(")
	if len(seg) < open+1 || seg[len(seg)-1] != ')' {
		return "", false
	}
	return parseGUID(seg[open : len(seg)-1])
}

// parseGUID accepts the 8-4-4-4-12 hex form and returns it lower-cased.
func parseGUID(s string) (string, bool) {
	if len(s) != 36 {
		return "", false
	}
	b := []byte(s)
	for i, c := range b {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return "", false
			}
			continue
		}
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f':
		case c >= 'A' && c <= 'F':
			b[i] = c + ('a' - 'A')
		default:
			return "", false
		}
	}
	return string(b), true
}

func isIdentifier(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// validateNotificationURL requires an absolute http(s) URL with a host. BC's exact checks and
// error text are UNCONFIRMED.
func validateNotificationURL(s string) error {
	if strings.TrimSpace(s) == "" {
		return errRequired(notificationURLFieldName)
	}
	u, err := url.Parse(s)
	if err != nil || !u.IsAbs() || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || s != strings.TrimSpace(s) {
		return errBadRequest("The notificationUrl '%s' is not a valid absolute URL. Provide the full https:// address of the endpoint that answers the validationToken handshake and receives the notifications.", clip(s))
	}
	return nil
}

// withQuery appends a query parameter to u, keeping any query u already has (e.g. an Azure
// Functions ?code=…) and dropping a fragment.
func withQuery(u, param string) string {
	if i := strings.IndexByte(u, '#'); i >= 0 {
		u = u[:i]
	}
	if strings.Contains(u, "?") {
		if strings.HasSuffix(u, "?") || strings.HasSuffix(u, "&") {
			return u + param
		}
		return u + "&" + param
	}
	return u + "?" + param
}
