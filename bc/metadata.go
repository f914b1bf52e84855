package bc

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// MaxMetadataSize is the largest $metadata document Metadata reads (API v2.0's is about
// 1 MB; a custom API's a few kB).
const MaxMetadataSize = 32 << 20

// LastModifiedField is the field incremental reads filter on (bc-entra-facts §8).
const LastModifiedField = "lastModifiedDateTime"

// Metadata is what an API's $metadata (OData v4 CSDL, bc-entra-facts §4.1, §4.4) says about
// its entity sets: for each, its key, its fields with their EDM types, and whether it has
// lastModifiedDateTime.
type Metadata struct {
	// API is the API the document describes (set by Client.Metadata; empty from
	// ParseMetadata).
	API API `json:"api"`
	// EntitySets are the entity sets of the entity container, in document order.
	EntitySets []EntitySetSchema `json:"entitySets"`
}

// EntitySetSchema is one entity set of an API as its $metadata describes it.
type EntitySetSchema struct {
	// Name is the entity set's name, as in URLs: "customers".
	Name string `json:"name"`
	// EntityType is the qualified name of its entity type: "Microsoft.NAV.customer".
	EntityType string `json:"entityType"`
	// Key lists the key properties in order: ["id"] for API v2.0, several for a custom
	// API page with composite ODataKeyFields; empty for an API query (no key).
	Key []string `json:"key"`
	// Fields are the structural properties, in document order.
	Fields []FieldSchema `json:"fields"`
	// LastModified is whether the set has lastModifiedDateTime as an Edm.DateTimeOffset:
	// then changes can be read incrementally (bc-entra-facts §8).
	LastModified bool `json:"lastModified"`
	// Navigation names the navigation properties (lines, related entities).
	Navigation []string `json:"navigation,omitempty"`
}

// Field returns the field with the given name.
func (s *EntitySetSchema) Field(name string) (FieldSchema, bool) {
	for _, f := range s.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return FieldSchema{}, false
}

// FieldSchema is one property of an entity set.
type FieldSchema struct {
	// Name is the property's name, as in the JSON.
	Name string `json:"name"`
	// Type is the EDM type: "Edm.String", "Edm.Guid", "Edm.Decimal", … An enum's type is
	// its qualified name ("Microsoft.NAV.customerBlocked"); its values travel as strings
	// (bc-entra-facts §4.4) and are listed in EnumValues.
	Type string `json:"type"`
	// EnumValues are an enum type's members in wire form; nil for other types.
	EnumValues []string `json:"enumValues,omitempty"`
	// Nullable is false when the document says Nullable="false" (keys always are).
	Nullable bool `json:"nullable"`
	// MaxLength is a string's maximum length; 0 when not given.
	MaxLength int `json:"maxLength,omitempty"`
	// ReadOnly is set for properties annotated Org.OData.Core.V1.Computed.
	ReadOnly bool `json:"readOnly,omitempty"`
	// Extension marks a field the static API v2.0 schema does not have: one a table
	// extension added (set by Discover; ParseMetadata leaves it false).
	Extension bool `json:"extension,omitempty"`
}

// EntitySet returns the entity set with the given name.
func (m *Metadata) EntitySet(name string) (*EntitySetSchema, bool) {
	for i := range m.EntitySets {
		if m.EntitySets[i].Name == name {
			return &m.EntitySets[i], true
		}
	}
	return nil, false
}

// MetadataError is a $metadata document that cannot be used: not CSDL, or inconsistent.
type MetadataError struct {
	// API is the API whose document it is ("" when parsed directly).
	API API
	// Line is the line of the document the problem is on (0 when it is not one place).
	Line int
	// Problem says what is wrong and what to do.
	Problem string
}

func (e *MetadataError) Error() string {
	s := "bc: $metadata"
	if e.API != "" {
		s += " of " + e.API.path()
	}
	if e.Line > 0 {
		s += " line " + strconv.Itoa(e.Line)
	}
	return s + ": " + e.Problem
}

// CSDL elements as encoding/xml sees them; names are matched by local name so both the
// edmx: prefix and the default namespace are accepted.
type (
	csdlProperty struct {
		Name        string           `xml:"Name,attr"`
		Type        string           `xml:"Type,attr"`
		Nullable    string           `xml:"Nullable,attr"`
		MaxLength   string           `xml:"MaxLength,attr"`
		Annotations []csdlAnnotation `xml:"Annotation"`
	}
	csdlAnnotation struct {
		Term string `xml:"Term,attr"`
		Bool string `xml:"Bool,attr"`
	}
	csdlEntityType struct {
		Name       string         `xml:"Name,attr"`
		BaseType   string         `xml:"BaseType,attr"`
		Key        []csdlKeyRef   `xml:"Key>PropertyRef"`
		Properties []csdlProperty `xml:"Property"`
		Navigation []struct {
			Name string `xml:"Name,attr"`
		} `xml:"NavigationProperty"`
		line int
	}
	csdlKeyRef struct {
		Name string `xml:"Name,attr"`
	}
	csdlEnumType struct {
		Name    string `xml:"Name,attr"`
		Members []struct {
			Name string `xml:"Name,attr"`
		} `xml:"Member"`
	}
	csdlEntitySet struct {
		Name       string `xml:"Name,attr"`
		EntityType string `xml:"EntityType,attr"`
		line       int
	}
)

// ParseMetadata reads an OData v4 CSDL document (EDMX 4.0 XML) as BC serves at
// {api}/$metadata. Entity types are matched to entity sets by qualified name (an alias of
// the schema namespace is accepted too); properties of a base type are inherited.
// A property annotated Org.OData.Core.V1.Computed (or Core.Computed) is read-only.
//
// Errors are *MetadataError naming the line and the element: not an Edmx document, an
// entity set whose entity type is missing, a key property that is not a property, a
// property without a name or type, a name used twice.
func ParseMetadata(r io.Reader) (*Metadata, error) {
	if r == nil {
		return nil, &MetadataError{Problem: "no document (nil reader)"}
	}
	dec := xml.NewDecoder(r)
	dec.Strict = true
	var (
		root       bool
		namespaces []string // namespace, then alias, per schema
		ns, alias  string
		types      = map[string]*csdlEntityType{}
		enums      = map[string][]string{}
		sets       []csdlEntitySet
		setLine    = map[string]int{}
	)
	line := func() int {
		l, _ := dec.InputPos()
		return l
	}
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, &MetadataError{Line: line(), Problem: "not well-formed XML: " + syntaxText(err) + "; the answer is not a $metadata document (check the API route)"}
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		if !root {
			if se.Name.Local != "Edmx" {
				return nil, &MetadataError{Line: line(), Problem: fmt.Sprintf("the root element is <%s>, want <edmx:Edmx>; the answer is not a $metadata document (check the API route)", se.Name.Local)}
			}
			root = true
			continue
		}
		at := line()
		switch se.Name.Local {
		case "Schema":
			ns, alias = attr(se, "Namespace"), attr(se, "Alias")
			if ns == "" {
				return nil, &MetadataError{Line: at, Problem: "<Schema> has no Namespace"}
			}
			namespaces = append(namespaces, ns, alias)
		case "EntityType":
			var et csdlEntityType
			if err := dec.DecodeElement(&et, &se); err != nil {
				return nil, &MetadataError{Line: at, Problem: "<EntityType>: " + syntaxText(err)}
			}
			if et.Name == "" {
				return nil, &MetadataError{Line: at, Problem: "<EntityType> has no Name"}
			}
			et.line = at
			for _, q := range qualified(ns, alias, et.Name) {
				if types[q] != nil {
					return nil, &MetadataError{Line: at, Problem: fmt.Sprintf("entity type %s is defined twice", q)}
				}
				types[q] = &et
			}
		case "EnumType":
			var en csdlEnumType
			if err := dec.DecodeElement(&en, &se); err != nil {
				return nil, &MetadataError{Line: at, Problem: "<EnumType>: " + syntaxText(err)}
			}
			if en.Name == "" {
				return nil, &MetadataError{Line: at, Problem: "<EnumType> has no Name"}
			}
			var members []string
			for _, m := range en.Members {
				members = append(members, m.Name)
			}
			for _, q := range qualified(ns, alias, en.Name) {
				enums[q] = members
			}
		case "EntitySet":
			es := csdlEntitySet{Name: attr(se, "Name"), EntityType: attr(se, "EntityType"), line: at}
			switch {
			case es.Name == "":
				return nil, &MetadataError{Line: at, Problem: "<EntitySet> has no Name"}
			case es.EntityType == "":
				return nil, &MetadataError{Line: at, Problem: fmt.Sprintf("entity set %s has no EntityType", es.Name)}
			case setLine[es.Name] != 0:
				return nil, &MetadataError{Line: at, Problem: fmt.Sprintf("entity set %s is declared twice (also line %d)", es.Name, setLine[es.Name])}
			}
			setLine[es.Name] = at
			sets = append(sets, es)
		}
	}
	if !root {
		return nil, &MetadataError{Problem: "the document holds no XML element; the answer is not a $metadata document (check the API route)"}
	}
	if len(namespaces) == 0 {
		return nil, &MetadataError{Problem: "no <Schema> in the document"}
	}
	m := &Metadata{EntitySets: make([]EntitySetSchema, 0, len(sets))}
	for _, es := range sets {
		s, err := buildSet(es, types, enums)
		if err != nil {
			return nil, err
		}
		m.EntitySets = append(m.EntitySets, s)
	}
	return m, nil
}

// buildSet resolves an entity set's type (with its base types) into an EntitySetSchema.
func buildSet(es csdlEntitySet, types map[string]*csdlEntityType, enums map[string][]string) (EntitySetSchema, error) {
	et := types[es.EntityType]
	if et == nil {
		return EntitySetSchema{}, &MetadataError{Line: es.line, Problem: fmt.Sprintf("entity set %s has entity type %s, which the document does not define", es.Name, es.EntityType)}
	}
	// The type and its base types, most derived first; a cycle is an error.
	chain := []*csdlEntityType{et}
	for t := et; t.BaseType != ""; {
		base := types[t.BaseType]
		if base == nil {
			return EntitySetSchema{}, &MetadataError{Line: t.line, Problem: fmt.Sprintf("entity type %s has base type %s, which the document does not define", t.Name, t.BaseType)}
		}
		if slices.Contains(chain, base) {
			return EntitySetSchema{}, &MetadataError{Line: t.line, Problem: fmt.Sprintf("entity type %s derives from itself", t.Name)}
		}
		chain = append(chain, base)
		t = base
	}
	s := EntitySetSchema{Name: es.Name, EntityType: es.EntityType}
	seen := map[string]bool{}
	for i := len(chain) - 1; i >= 0; i-- {
		t := chain[i]
		if len(t.Key) > 0 {
			s.Key = s.Key[:0]
			for _, k := range t.Key {
				s.Key = append(s.Key, k.Name)
			}
		}
		for _, p := range t.Properties {
			switch {
			case p.Name == "":
				return EntitySetSchema{}, &MetadataError{Line: t.line, Problem: fmt.Sprintf("entity type %s has a <Property> without Name", t.Name)}
			case p.Type == "":
				return EntitySetSchema{}, &MetadataError{Line: t.line, Problem: fmt.Sprintf("property %s of entity type %s has no Type", p.Name, t.Name)}
			case seen[p.Name]:
				return EntitySetSchema{}, &MetadataError{Line: t.line, Problem: fmt.Sprintf("entity type %s has property %s twice", t.Name, p.Name)}
			}
			seen[p.Name] = true
			f := FieldSchema{Name: p.Name, Type: p.Type, Nullable: p.Nullable != "false", EnumValues: enums[p.Type]}
			if p.MaxLength != "" && p.MaxLength != "max" {
				n, err := strconv.Atoi(p.MaxLength)
				if err != nil || n < 0 {
					return EntitySetSchema{}, &MetadataError{Line: t.line, Problem: fmt.Sprintf("property %s of entity type %s has MaxLength %q, not a length", p.Name, t.Name, p.MaxLength)}
				}
				f.MaxLength = n
			}
			for _, a := range p.Annotations {
				if (a.Term == "Org.OData.Core.V1.Computed" || a.Term == "Core.Computed") && a.Bool != "false" {
					f.ReadOnly = true
				}
			}
			if f.Name == LastModifiedField && f.Type == "Edm.DateTimeOffset" {
				s.LastModified = true
			}
			s.Fields = append(s.Fields, f)
		}
		for _, n := range t.Navigation {
			s.Navigation = append(s.Navigation, n.Name)
		}
	}
	for _, k := range s.Key {
		if !seen[k] {
			return EntitySetSchema{}, &MetadataError{Line: et.line, Problem: fmt.Sprintf("entity type %s has key %s, which is not one of its properties", et.Name, k)}
		}
	}
	for i := range s.Fields {
		if slices.Contains(s.Key, s.Fields[i].Name) {
			s.Fields[i].Nullable = false
		}
	}
	return s, nil
}

// qualified returns the names a schema element can be referred to by.
func qualified(ns, alias, name string) []string {
	out := []string{ns + "." + name}
	if alias != "" {
		out = append(out, alias+"."+name)
	}
	return out
}

func attr(se xml.StartElement, name string) string {
	for _, a := range se.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// syntaxText is an XML error without the line prefix encoding/xml adds (the
// MetadataError carries the line).
func syntaxText(err error) string {
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return se.Msg
	}
	return err.Error()
}

// Metadata reads and parses the $metadata document of an API (bc-entra-facts §4.1:
// {api root}/$metadata): its entity sets, keys, fields and EDM types. The document is
// read whole, up to MaxMetadataSize.
//
// https://learn.microsoft.com/dynamics365/business-central/dev-itpro/webservices/api-endpoint-structure
func (c *Client) Metadata(ctx context.Context, api API) (*Metadata, error) {
	if err := api.validate(); err != nil {
		return nil, err
	}
	cl := &call{op: "metadata", method: http.MethodGet, url: c.APIRoot(api) + "/$metadata", class: retryIdempotent, readOnly: true}
	var data []byte
	err := c.do(ctx, cl, func(resp *http.Response) error {
		var err error
		data, err = io.ReadAll(io.LimitReader(resp.Body, MaxMetadataSize+1))
		if err != nil {
			return err
		}
		if len(data) > MaxMetadataSize {
			return &MetadataError{API: api, Problem: fmt.Sprintf("the document is larger than %d bytes", MaxMetadataSize)}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	m, err := ParseMetadata(bytes.NewReader(data))
	if err != nil {
		var me *MetadataError
		if errors.As(err, &me) {
			me.API = api
		}
		return nil, err
	}
	m.API = api
	return m, nil
}

// APIRoute is one API route an environment serves, as apicategoryroutes lists it: the
// standard API has an empty publisher and group.
type APIRoute struct {
	Route     string `json:"route"`
	Publisher string `json:"publisher"`
	Group     string `json:"group"`
	Version   string `json:"version"`
}

// API returns the API family of the route: StandardAPI for the standard route
// ("v2.0"), AutomationAPI for microsoft/automation/v2.0, CustomAPI otherwise.
func (r APIRoute) API() API {
	if r.Publisher == "" && r.Group == "" {
		return API("api/" + r.Version)
	}
	return CustomAPI(r.Publisher, r.Group, r.Version)
}

// APIRoutes lists the API routes of the environment (GET {env}/api/v2.0/apicategoryroutes,
// falling back to api/beta/apicategoryroutes on 404): the standard API, the automation API
// and every custom API installed extensions publish. The listing endpoint is not in the
// facts file (bc-entra-facts §4.1 lists the route shapes only); its place and the field
// names route, publisher, group, version are from the resource's documentation page and
// observed uses of …/api/beta/apicategoryroutes [UNCONFIRMED for SaaS with S2S].
//
// https://learn.microsoft.com/dynamics365/business-central/dev-itpro/administration/resources/dynamics_apicategoryroutes
func (c *Client) APIRoutes(ctx context.Context) ([]APIRoute, error) {
	var out []APIRoute
	collect := func(api API) error {
		out = out[:0]
		for r, err := range As[APIRoute](c.List(ctx, Ref{API: api, Path: "apicategoryroutes"}, nil)) {
			if err != nil {
				return err
			}
			if r.Route == "" && r.Version == "" {
				return malformed("apicategoryroutes: an entry has neither route nor version")
			}
			if r.Version == "" {
				// Only the route came: publisher/group/version or version.
				parts := strings.Split(r.Route, "/")
				switch len(parts) {
				case 1:
					r.Version = parts[0]
				case 3:
					r.Publisher, r.Group, r.Version = parts[0], parts[1], parts[2]
				default:
					return malformed("apicategoryroutes: route %q is neither {version} nor {publisher}/{group}/{version}", shorten(r.Route))
				}
			}
			if err := r.API().validate(); err != nil {
				return malformed("apicategoryroutes: route %q: %v", shorten(r.Route), err)
			}
			out = append(out, r)
		}
		return nil
	}
	err := collect(StandardAPI)
	var be *Error
	if errors.As(err, &be) && be.StatusCode == http.StatusNotFound {
		err = collect(API("api/beta"))
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}
