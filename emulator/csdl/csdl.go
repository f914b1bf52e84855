// Package csdl renders Business Central's OData v4 service metadata from the bcschema entity
// schema: the CSDL document served at GET …/api/v2.0/$metadata (EDMX 4.0, XML) and the JSON
// service document served at GET …/api/v2.0/ (bc-entra-facts §4.1).
//
// The output is a function of its input only (entities in the order given, enum types sorted
// by name), so the emulator can render it once per API and cache the bytes.
package csdl

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/bizzjoiner/bcconnector/bcschema"
)

// schemaNamespace is the namespace the schema data qualifies its enum and action names with
// (bc-entra-facts §4.4: EDM namespace Microsoft.NAV).
const schemaNamespace = "Microsoft.NAV"

// companiesSet is the one top-level entity set that contains every company-scoped set
// (bc-entra-facts §4.1).
const companiesSet = "companies"

// coreVocabulary is the OASIS Core vocabulary, referenced for Org.OData.Core.V1.Computed.
const coreVocabulary = "https://oasis-tcs.github.io/odata-vocabularies/vocabularies/Org.OData.Core.V1.xml"

// Options tunes the generated metadata. The zero value produces Business Central's names.
type Options struct {
	// Namespace is the CSDL schema namespace that qualifies entity, enum and action types.
	// Default "Microsoft.NAV" (bc-entra-facts §4.4).
	Namespace string
	// ContainerName is the name of the EntityContainer. Default "NAV".
	ContainerName string
}

// Metadata writes the OData v4 CSDL document (EDMX 4.0) describing entities: the standard
// API passes s.Entities, a custom API its own list. s supplies the enum types
// (s.Enums, keyed "Microsoft.NAV.<name>").
//
// The document contains, in this order: an EnumType per enum referenced by a field and known
// in s.Enums (sorted by name; members in wire form, Value = position, plus any member a
// referencing field allows that the enum lacks); an EntityType per entity (in the order
// given) with Key, Property and NavigationProperty elements; a bound Action per entity
// action; and the EntityContainer with one EntitySet per entity.
//
// Enum-typed fields whose enum is unknown keep Edm.String, as on the wire. Navigation
// entries whose target is not among entities are left out. The companies entity type also
// gets a containment navigation property to every company-scoped entity set that its schema
// entry does not list (bc-entra-facts §4.1: every company-scoped set is reached through
// companies({id})/<set>). Read-only fields carry the Org.OData.Core.V1.Computed annotation.
//
// Nothing is written when the input is invalid (nil or duplicate entities, missing names,
// key fields that are not fields, member names used twice).
//
// https://learn.microsoft.com/dynamics365/business-central/dev-itpro/api-reference/v2.0/
func Metadata(w io.Writer, s *bcschema.Schema, entities []*bcschema.Entity, opt Options) error {
	if w == nil {
		return errors.New("csdl: Metadata: writer is nil; pass the response writer or a buffer")
	}
	if s == nil {
		return errors.New("csdl: Metadata: schema is nil; pass bcschema.MustLoad() (it supplies the enum types)")
	}
	m, err := newModel(s, entities, opt)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	b.Grow(64 << 10)
	m.write(&xmlWriter{b: &b})
	_, err = w.Write(b.Bytes())
	return err
}

// serviceDocument is the OData JSON service document.
type serviceDocument struct {
	Context string          `json:"@odata.context"`
	Value   []serviceEntity `json:"value"`
}

type serviceEntity struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
	URL  string `json:"url"`
}

// ServiceDocument writes the OData JSON service document listing one EntitySet per entity,
// in the order given:
//
//	{"@odata.context":"<baseURL>/$metadata","value":[{"name":"companies","kind":"EntitySet","url":"companies"},…]}
//
// baseURL is the API root, e.g. https://api.businesscentral.dynamics.com/v2.0/{tenant}/{env}/api/v2.0;
// a trailing slash is ignored.
func ServiceDocument(w io.Writer, baseURL string, entities []*bcschema.Entity) error {
	if w == nil {
		return errors.New("csdl: ServiceDocument: writer is nil; pass the response writer or a buffer")
	}
	base := strings.TrimRight(baseURL, "/")
	if base == "" {
		return errors.New("csdl: ServiceDocument: baseURL is empty; pass the API root such as https://host/v2.0/{tenant}/{environment}/api/v2.0")
	}
	doc := serviceDocument{Context: base + "/$metadata", Value: make([]serviceEntity, 0, len(entities))}
	seen := make(map[string]bool, len(entities))
	for i, e := range entities {
		if e == nil {
			return fmt.Errorf("csdl: ServiceDocument: entities[%d] is nil; remove it", i)
		}
		if e.EntitySet == "" {
			return fmt.Errorf("csdl: ServiceDocument: entities[%d] (entity %q) has no entitySet; set it", i, e.Entity)
		}
		if seen[e.EntitySet] {
			return fmt.Errorf("csdl: ServiceDocument: entity set %q is listed twice; pass each entity once", e.EntitySet)
		}
		seen[e.EntitySet] = true
		doc.Value = append(doc.Value, serviceEntity{Name: e.EntitySet, Kind: "EntitySet", URL: e.EntitySet})
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // URLs stay readable: & and < are legal in JSON strings
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("csdl: ServiceDocument: %w", err)
	}
	_, err := w.Write(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
	return err
}

// model is the validated input with its cross references resolved.
type model struct {
	ns        string
	container string
	entities  []*bcschema.Entity
	byType    map[string]*bcschema.Entity
	bySet     map[string]*bcschema.Entity
	enums     map[string]*enumType // by schema key, e.g. "Microsoft.NAV.customerBlocked"
	enumOrder []*enumType          // sorted by Name
	navs      map[*bcschema.Entity][]nav
	computed  bool // some property carries Core.Computed
}

type enumType struct {
	Name    string // unqualified
	Members []string
}

// nav is a navigation property whose target is among the rendered entities.
type nav struct {
	Name        string
	Target      *bcschema.Entity
	Collection  bool
	Containment bool
}

func newModel(s *bcschema.Schema, entities []*bcschema.Entity, opt Options) (*model, error) {
	m := &model{
		ns:        opt.Namespace,
		container: opt.ContainerName,
		entities:  entities,
		byType:    make(map[string]*bcschema.Entity, len(entities)),
		bySet:     make(map[string]*bcschema.Entity, len(entities)),
		enums:     make(map[string]*enumType),
		navs:      make(map[*bcschema.Entity][]nav, len(entities)),
	}
	if m.ns == "" {
		m.ns = schemaNamespace
	}
	if m.container == "" {
		m.container = "NAV"
	}
	for i, e := range entities {
		switch {
		case e == nil:
			return nil, fmt.Errorf("csdl: entities[%d] is nil; remove it", i)
		case e.Entity == "":
			return nil, fmt.Errorf("csdl: entities[%d] (set %q) has no entity name; set Entity", i, e.EntitySet)
		case e.EntitySet == "":
			return nil, fmt.Errorf("csdl: entities[%d] (entity %q) has no entitySet; set EntitySet", i, e.Entity)
		case m.byType[e.Entity] != nil:
			return nil, fmt.Errorf("csdl: entity type %q is used by sets %q and %q; entity names must be unique", e.Entity, m.byType[e.Entity].EntitySet, e.EntitySet)
		case m.bySet[e.EntitySet] != nil:
			return nil, fmt.Errorf("csdl: entity set %q is listed twice; pass each entity once", e.EntitySet)
		}
		m.byType[e.Entity] = e
		m.bySet[e.EntitySet] = e
	}
	for _, e := range entities {
		if err := m.checkEntity(e); err != nil {
			return nil, err
		}
		m.collectEnums(s, e)
	}
	if err := m.sortEnums(); err != nil {
		return nil, err
	}
	for _, e := range entities {
		if err := m.resolveNavs(e); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// checkEntity rejects input that would make an invalid CSDL entity type.
func (m *model) checkEntity(e *bcschema.Entity) error {
	names := make(map[string]bool, len(e.Fields))
	for i, f := range e.Fields {
		switch {
		case f == nil:
			return fmt.Errorf("csdl: entity %q: fields[%d] is nil; remove it", e.Entity, i)
		case f.Name == "":
			return fmt.Errorf("csdl: entity %q: fields[%d] has no name; set Name", e.Entity, i)
		case f.Type == "":
			return fmt.Errorf("csdl: entity %q: field %q has no type; set Type to an EDM type such as Edm.String", e.Entity, f.Name)
		case names[f.Name]:
			return fmt.Errorf("csdl: entity %q: field %q is listed twice; property names must be unique", e.Entity, f.Name)
		}
		names[f.Name] = true
		if f.ReadOnly {
			m.computed = true
		}
	}
	for _, k := range e.Key {
		if !names[k] {
			return fmt.Errorf("csdl: entity %q: key %q is not one of its fields; fix Key or add the field", e.Entity, k)
		}
	}
	return nil
}

// collectEnums records the enums e's fields reference. Members are the schema enum's values
// followed by values only the fields allow (the schema's enum files can be older than the
// pages, e.g. attachmentEntityBufferDocumentType; see bc-api README "Enum completeness").
func (m *model) collectEnums(s *bcschema.Schema, e *bcschema.Entity) {
	for _, f := range e.Fields {
		if f.EdmType == "" {
			continue
		}
		def, ok := s.Enums[f.EdmType]
		if !ok {
			continue // values unknown: the field stays Edm.String
		}
		et := m.enums[f.EdmType]
		if et == nil {
			et = &enumType{Name: shortName(f.EdmType)}
			et.Members = appendNew(et.Members, def.Values)
			m.enums[f.EdmType] = et
		}
		et.Members = appendNew(et.Members, f.EnumValues)
	}
}

func (m *model) sortEnums() error {
	keys := make([]string, 0, len(m.enums))
	for key := range m.enums {
		keys = append(keys, key)
	}
	sort.Strings(keys) // deterministic error text
	byName := make(map[string]string, len(m.enums))
	for _, key := range keys {
		et := m.enums[key]
		if other, dup := byName[et.Name]; dup {
			return fmt.Errorf("csdl: enums %q and %q both map to enum type %q; rename one", other, key, et.Name)
		}
		byName[et.Name] = key
		if len(et.Members) == 0 {
			delete(m.enums, key) // an EnumType needs members; the fields stay Edm.String
			continue
		}
		m.enumOrder = append(m.enumOrder, et)
	}
	sort.Slice(m.enumOrder, func(i, j int) bool { return m.enumOrder[i].Name < m.enumOrder[j].Name })
	return nil
}

// resolveNavs keeps the navigation entries whose target is rendered, and adds the implicit
// companies → company-scoped set containment (bc-entra-facts §4.1).
func (m *model) resolveNavs(e *bcschema.Entity) error {
	var out []nav
	used := make(map[string]bool, len(e.Fields)+len(e.Navigation))
	for _, f := range e.Fields {
		used[f.Name] = true
	}
	for _, n := range e.Navigation {
		t := m.navTarget(n)
		if t == nil || n.Name == "" {
			continue
		}
		if used[n.Name] {
			return fmt.Errorf("csdl: entity %q: navigation %q has the name of another property; rename it", e.Entity, n.Name)
		}
		used[n.Name] = true
		out = append(out, nav{Name: n.Name, Target: t, Collection: n.Collection, Containment: n.Kind == "containment"})
	}
	if e.EntitySet == companiesSet {
		for _, c := range m.entities {
			if c.Scope != "company" || used[c.EntitySet] {
				continue
			}
			used[c.EntitySet] = true
			out = append(out, nav{Name: c.EntitySet, Target: c, Collection: true, Containment: true})
		}
	}
	m.navs[e] = out
	return nil
}

// navTarget finds a navigation's target entity by type name, then by set name (the docs-only
// entries of companies name only the set).
func (m *model) navTarget(n bcschema.Navigation) *bcschema.Entity {
	if t := m.byType[n.Entity]; t != nil && n.Entity != "" {
		return t
	}
	if n.EntitySet != "" {
		return m.bySet[n.EntitySet]
	}
	return nil
}

func (m *model) qualify(name string) string { return m.ns + "." + name }

// propertyType is the CSDL type of f: its enum type when that enum is rendered, else the wire type.
func (m *model) propertyType(f *bcschema.Field) (typ string, isEnum bool) {
	if et := m.enums[f.EdmType]; et != nil && f.EdmType != "" {
		return m.qualify(et.Name), true
	}
	return f.Type, false
}

func (m *model) write(x *xmlWriter) {
	x.raw(`<?xml version="1.0" encoding="utf-8"?>` + "\n")
	x.open("edmx:Edmx", "Version", "4.0", "xmlns:edmx", "http://docs.oasis-open.org/odata/ns/edmx")
	if m.computed {
		x.open("edmx:Reference", "Uri", coreVocabulary)
		x.empty("edmx:Include", "Namespace", "Org.OData.Core.V1", "Alias", "Core")
		x.close("edmx:Reference")
	}
	x.open("edmx:DataServices")
	x.open("Schema", "Namespace", m.ns, "xmlns", "http://docs.oasis-open.org/odata/ns/edm")
	for _, et := range m.enumOrder {
		x.open("EnumType", "Name", et.Name)
		for i, mem := range et.Members {
			x.empty("Member", "Name", mem, "Value", strconv.Itoa(i))
		}
		x.close("EnumType")
	}
	for _, e := range m.entities {
		m.writeEntityType(x, e)
	}
	for _, e := range m.entities {
		m.writeActions(x, e)
	}
	x.open("EntityContainer", "Name", m.container)
	for _, e := range m.entities {
		m.writeEntitySet(x, e)
	}
	x.close("EntityContainer")
	x.close("Schema")
	x.close("edmx:DataServices")
	x.close("edmx:Edmx")
}

func (m *model) writeEntityType(x *xmlWriter, e *bcschema.Entity) {
	x.open("EntityType", "Name", e.Entity)
	isKey := make(map[string]bool, len(e.Key))
	if len(e.Key) > 0 { // API queries (customerSales, vendorPurchases) have no key
		x.open("Key")
		for _, k := range e.Key {
			isKey[k] = true
			x.empty("PropertyRef", "Name", k)
		}
		x.close("Key")
	}
	attrs := make([]string, 0, 10)
	for _, f := range e.Fields {
		typ, isEnum := m.propertyType(f)
		attrs = append(attrs[:0], "Name", f.Name, "Type", typ)
		if isKey[f.Name] || (f.Nullable != nil && !*f.Nullable) {
			attrs = append(attrs, "Nullable", "false")
		}
		if !isEnum && typ == bcschema.TypeString && f.MaxLength > 0 {
			attrs = append(attrs, "MaxLength", strconv.Itoa(f.MaxLength))
		}
		if typ == bcschema.TypeDecimal {
			// CSDL 4.0 §6.2.4: an absent Scale means 0; BC decimals carry fractions.
			attrs = append(attrs, "Scale", "variable")
		}
		if f.ReadOnly {
			x.open("Property", attrs...)
			x.empty("Annotation", "Term", "Org.OData.Core.V1.Computed", "Bool", "true")
			x.close("Property")
		} else {
			x.empty("Property", attrs...)
		}
	}
	for _, n := range m.navs[e] {
		typ := m.qualify(n.Target.Entity)
		if n.Collection {
			typ = "Collection(" + typ + ")"
		}
		attrs = append(attrs[:0], "Name", n.Name, "Type", typ)
		if n.Containment {
			attrs = append(attrs, "ContainsTarget", "true")
		}
		x.empty("NavigationProperty", attrs...)
	}
	x.close("EntityType")
}

// writeActions writes e's bound actions (AL [ServiceEnabled] procedures), invoked as
// POST …/{set}({id})/Microsoft.NAV.{action}.
func (m *model) writeActions(x *xmlWriter, e *bcschema.Entity) {
	seen := make(map[string]bool, len(e.Actions))
	for _, a := range e.Actions {
		name := shortName(a)
		if name == "" || seen[name] {
			continue
		}
		seen[name] = true
		x.open("Action", "Name", name, "IsBound", "true")
		x.empty("Parameter", "Name", "bindingParameter", "Type", m.qualify(e.Entity))
		x.close("Action")
	}
}

// writeEntitySet binds e's non-containment navigations to their sets. Containment
// navigations get no binding: contained entities live in an implicit set of their parent
// (OData CSDL 4.0 §8.4, §13.4).
func (m *model) writeEntitySet(x *xmlWriter, e *bcschema.Entity) {
	var binds []nav
	for _, n := range m.navs[e] {
		if !n.Containment {
			binds = append(binds, n)
		}
	}
	attrs := []string{"Name", e.EntitySet, "EntityType", m.qualify(e.Entity)}
	if len(binds) == 0 {
		x.empty("EntitySet", attrs...)
		return
	}
	x.open("EntitySet", attrs...)
	for _, n := range binds {
		x.empty("NavigationPropertyBinding", "Path", n.Name, "Target", n.Target.EntitySet)
	}
	x.close("EntitySet")
}

// shortName strips the namespace from a qualified name: "Microsoft.NAV.post" → "post".
func shortName(qualified string) string {
	if i := strings.LastIndexByte(qualified, '.'); i >= 0 {
		return qualified[i+1:]
	}
	return qualified
}

// appendNew appends the values of add not already in list, keeping order.
func appendNew(list, add []string) []string {
	for _, v := range add {
		found := false
		for _, have := range list {
			if have == v {
				found = true
				break
			}
		}
		if !found {
			list = append(list, v)
		}
	}
	return list
}

// xmlWriter writes indented XML. Element and attribute names are constants of this package;
// every attribute value passes through xml.EscapeText.
type xmlWriter struct {
	b     *bytes.Buffer
	depth int
}

func (x *xmlWriter) raw(s string) { x.b.WriteString(s) }

func (x *xmlWriter) start(name string, attrs []string) {
	for range x.depth {
		x.b.WriteString("  ")
	}
	x.b.WriteByte('<')
	x.b.WriteString(name)
	for i := 0; i+1 < len(attrs); i += 2 {
		x.b.WriteByte(' ')
		x.b.WriteString(attrs[i])
		x.b.WriteString(`="`)
		_ = xml.EscapeText(x.b, []byte(attrs[i+1])) // bytes.Buffer writes never fail
		x.b.WriteByte('"')
	}
}

func (x *xmlWriter) open(name string, attrs ...string) {
	x.start(name, attrs)
	x.b.WriteString(">\n")
	x.depth++
}

func (x *xmlWriter) empty(name string, attrs ...string) {
	x.start(name, attrs)
	x.b.WriteString("/>\n")
}

func (x *xmlWriter) close(name string) {
	x.depth--
	for range x.depth {
		x.b.WriteString("  ")
	}
	x.b.WriteString("</")
	x.b.WriteString(name)
	x.b.WriteString(">\n")
}
