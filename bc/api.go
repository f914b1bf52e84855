package bc

import (
	"fmt"
	"github.com/bizzjoiner/bcconnector/guide"
	"net/url"
	"strings"
)

// API is the API family a request goes to: the path below the environment, such as
// "api/v2.0" (bc-entra-facts §4.1).
type API string

// The Microsoft API families. The zero API is StandardAPI.
const (
	// StandardAPI is API v2.0: {base}/{tenant}/{environment}/api/v2.0.
	StandardAPI API = "api/v2.0"
	// AutomationAPI is the automation API (needs the Automation.ReadWrite.All role):
	// {base}/{tenant}/{environment}/api/microsoft/automation/v2.0.
	AutomationAPI API = "api/microsoft/automation/v2.0"
)

// CustomAPI returns the route of a custom API page extension,
// /api/{publisher}/{group}/{version}, for example CustomAPI("contoso", "inventory", "v1.0").
// Segments may hold letters, digits, '.', '_' and '-'; a request to an API with other
// characters fails with an error that names the segment.
func CustomAPI(publisher, group, version string) API {
	return API("api/" + publisher + "/" + group + "/" + version)
}

func (a API) path() string {
	if a == "" {
		return string(StandardAPI)
	}
	return string(a)
}

func (a API) validate() error {
	segs := strings.Split(a.path(), "/")
	// api/{version} is a Microsoft route (v2.0, beta); the others are
	// api/{publisher}/{group}/{version} (bc-entra-facts §4.1).
	if len(segs) != 4 && len(segs) != 2 {
		return fmt.Errorf("bc: API %q: want api/v2.0 or api/{publisher}/{group}/{version} (use bc.CustomAPI)", string(a))
	}
	if segs[0] != "api" {
		return fmt.Errorf("bc: API %q must start with api/", string(a))
	}
	for _, s := range segs[1:] {
		if s == "" || !isRouteSegment(s) {
			return fmt.Errorf("bc: API %q: segment %q may only hold letters, digits, '.', '_' and '-'", string(a), s)
		}
	}
	return nil
}

func isRouteSegment(s string) bool {
	for _, c := range []byte(s) {
		if !(isAlnum(c) || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// Ref addresses an entity set: which API, which company, and the path below the company.
//
//	bc.Ref{CompanyID: id, Path: "customers"}
//	bc.Ref{CompanyID: id, Path: "salesInvoices"}.Child(invoiceID, "salesInvoiceLines")
//	bc.Ref{API: bc.CustomAPI("contoso", "inventory", "v1.0"), CompanyID: id, Path: "inventoryLevels"}
//
// Companies are always addressed by ID in the path (companies({id})/…), never by name or
// ?company=, so that a write cannot land in another company (peers-and-user-pain §3).
type Ref struct {
	// API is the API family; zero means StandardAPI.
	API API
	// CompanyID is the company's id (a GUID). It is empty only for the sets outside
	// companies: "companies" itself and "subscriptions".
	CompanyID string
	// Path is the entity set, optionally below an entity:
	// "salesInvoices({id})/salesInvoiceLines". Segments are names with an optional key in
	// parentheses: a GUID, an integer or a quoted string ('O''Brien'; without / \ ? # %
	// or control characters, which a proxy could read as URL syntax). Build keyed segments
	// with Child rather than by hand.
	Path string
}

// Set returns the Ref of an entity set of a company in API v2.0.
func Set(companyID, entitySet string) Ref {
	return Ref{CompanyID: companyID, Path: entitySet}
}

// Child returns the Ref of the navigation property nav of the entity with key id in r, for
// example the lines of one invoice: salesInvoices.Child(invoiceID, "salesInvoiceLines").
func (r Ref) Child(id, nav string) Ref {
	r.Path = r.Path + "(" + FormatKey(id) + ")/" + nav
	return r
}

// String returns the Ref as a path below the environment, for logs.
func (r Ref) String() string {
	s := r.API.path() + "/"
	if r.CompanyID != "" {
		s += "companies(" + r.CompanyID + ")/"
	}
	return s + r.Path
}

// FormatKey renders an entity key for a URL: a GUID as is (API v2.0 keys are unquoted
// SystemIds, bc-entra-facts §4.1), anything else as a quoted OData string ('…' with '
// doubled), as subscriptions('…') needs.
func FormatKey(id string) string {
	if guide.IsGUID(id) {
		return id
	}
	return quoteString(id)
}

// isIdent reports whether s is an OData identifier as BC names fields and sets.
func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range []byte(s) {
		if !(c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// rootSets are the entity sets that live outside companies.
var rootSets = map[string]bool{"companies": true, "subscriptions": true, "automationCompanies": true, "entityDefinitions": true, "apicategoryroutes": true}

// pathSegment is one parsed segment of Ref.Path.
type pathSegment struct {
	name string
	key  string // as written: a GUID, digits or a quoted string; "" when absent
}

// parsePath splits and validates Ref.Path.
func parsePath(p string) ([]pathSegment, error) {
	if p == "" {
		return nil, fmt.Errorf("bc: Ref.Path is empty: name an entity set, e.g. \"customers\"")
	}
	var segs []pathSegment
	i := 0
	for {
		start := i
		for i < len(p) && p[i] != '(' && p[i] != '/' {
			i++
		}
		seg := pathSegment{name: p[start:i]}
		if !isIdent(seg.name) {
			return nil, fmt.Errorf("bc: Ref.Path %q: %q is not an entity set or navigation name", p, seg.name)
		}
		if i < len(p) && p[i] == '(' {
			kstart := i + 1
			j := kstart
			if j < len(p) && p[j] == '\'' {
				j++
				for {
					if j >= len(p) {
						return nil, fmt.Errorf("bc: Ref.Path %q: unterminated quoted key", p)
					}
					if p[j] == '\'' {
						if j+1 < len(p) && p[j+1] == '\'' {
							j += 2
							continue
						}
						j++
						break
					}
					j++
				}
			} else {
				for j < len(p) && p[j] != ')' {
					j++
				}
			}
			if j >= len(p) || p[j] != ')' {
				return nil, fmt.Errorf("bc: Ref.Path %q: key of %q lacks its ')'", p, seg.name)
			}
			seg.key = p[kstart:j]
			if !validKey(seg.key) {
				return nil, fmt.Errorf("bc: Ref.Path %q: key %q of %q is not a GUID, an integer or a quoted string; build keyed paths with Ref.Child", p, seg.key, seg.name)
			}
			i = j + 1
		}
		segs = append(segs, seg)
		if i == len(p) {
			return segs, nil
		}
		if p[i] != '/' {
			return nil, fmt.Errorf("bc: Ref.Path %q: unexpected %q after %q", p, p[i], seg.name)
		}
		i++
	}
}

func validKey(k string) bool {
	if guide.IsGUID(k) {
		return true
	}
	if len(k) >= 2 && k[0] == '\'' && k[len(k)-1] == '\'' {
		// The scanner already checked that inner quotes are doubled. Characters that a
		// proxy could read as path or query syntax after decoding are refused.
		for _, c := range []byte(k) {
			if c < 0x20 || c == 0x7f || strings.IndexByte("/\\?#%", c) >= 0 {
				return false
			}
		}
		return true
	}
	if k == "" {
		return false
	}
	for _, c := range []byte(k) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// escaped percent-encodes a parsed segment for a URL path, leaving the OData punctuation
// ( ) ' readable.
func (s pathSegment) escaped() string {
	if s.key == "" {
		return s.name
	}
	return s.name + "(" + escapeKey(s.key) + ")"
}

// escapeKey percent-encodes the inside of a quoted key; GUIDs and integers need nothing.
func escapeKey(k string) string {
	if len(k) < 2 || k[0] != '\'' {
		return k
	}
	return "'" + strings.ReplaceAll(url.PathEscape(k[1:len(k)-1]), "%27", "'") + "'"
}

// relPath returns the path of ref below the API root ("companies(…)/customers"), with a key
// (when not "") and extra segments appended: an action or $count. Every set but the root
// sets needs a CompanyID: there is no name-based or default-company addressing.
func (r Ref) relPath(key string, extra ...string) (string, error) {
	if err := r.API.validate(); err != nil {
		return "", err
	}
	segs, err := parsePath(r.Path)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	if r.CompanyID != "" {
		if !guide.IsGUID(r.CompanyID) {
			return "", fmt.Errorf("bc: Ref.CompanyID %q is not a company id (a GUID); look the company up by name with Client.CompanyByName and use its ID", r.CompanyID)
		}
		if segs[0].name == "companies" {
			return "", fmt.Errorf("bc: Ref %q names a company twice: leave CompanyID empty to address companies", r.String())
		}
		b.WriteString("companies(" + r.CompanyID + ")/")
	} else if !rootSets[segs[0].name] {
		return "", fmt.Errorf("bc: Ref %q has no CompanyID: %s lives inside a company; set Ref.CompanyID to the company's id", r.Path, segs[0].name)
	}
	for i, s := range segs {
		if i > 0 {
			b.WriteByte('/')
		}
		b.WriteString(s.escaped())
	}
	if key != "" {
		if segs[len(segs)-1].key != "" {
			return "", fmt.Errorf("bc: Ref.Path %q already ends in a key; pass the id separately or address the set", r.Path)
		}
		k := FormatKey(key)
		if !validKey(k) {
			return "", fmt.Errorf("bc: key %q is not a GUID, an integer or a quoted string without / \\ ? # %% or control characters", key)
		}
		b.WriteString("(" + escapeKey(k) + ")")
	}
	for _, e := range extra {
		b.WriteString("/" + e)
	}
	return b.String(), nil
}
