// Package bcschema is the Business Central API v2.0 entity schema as data: 90 entity sets
// with their fields, EDM types, keys, read-only flags, containment, bound actions and webhook
// support, reconstructed from Microsoft's APIV2 AL pages and API reference docs (see
// v2.0-schema.json's "sources").
//
// It is the shared vocabulary of both sides of the wire: the emulator serves every entity set
// from it, and the connector uses it to build typed replica tables and least-privilege
// permission sets. It imports nothing of either side.
package bcschema

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
)

//go:embed v2.0-schema.json
var schemaJSON []byte

// EDM type names as they appear in Field.Type.
const (
	TypeGuid           = "Edm.Guid"
	TypeString         = "Edm.String"
	TypeDecimal        = "Edm.Decimal"
	TypeInt32          = "Edm.Int32"
	TypeInt64          = "Edm.Int64"
	TypeBoolean        = "Edm.Boolean"
	TypeDate           = "Edm.Date"
	TypeDateTimeOffset = "Edm.DateTimeOffset"
	TypeStream         = "Edm.Stream"
)

// BlankGUID is BC's "not set" value for GUID fields.
const BlankGUID = "00000000-0000-0000-0000-000000000000"

// Schema is the whole API v2.0 schema.
type Schema struct {
	APIVersion                 string          `json:"apiVersion"`
	SchemaFormat               string          `json:"schemaFormat"`
	WebhookSupportedEntitySets []string        `json:"webhookSupportedEntitySets"`
	Enums                      map[string]Enum `json:"enums"`
	Entities                   []*Entity       `json:"entities"`
	bySet                      map[string]*Entity
}

// Enum is an AL enum as it travels on the wire.
type Enum struct {
	ALEnum     string   `json:"alEnum"`
	Values     []string `json:"values"`   // wire form, e.g. "Credit_x0020_Memo"
	ALValues   []string `json:"alValues"` // AL names, e.g. "Credit Memo"
	Extensible bool     `json:"extensible"`
}

// Entity is one entity set of the API.
type Entity struct {
	EntitySet             string          `json:"entitySet"`
	Entity                string          `json:"entity"`
	Caption               string          `json:"caption"`
	Key                   []string        `json:"key"`   // nil for API queries
	Scope                 string          `json:"scope"` // "company" or "root"
	Parent                *Parent         `json:"parent"`
	ContainedIn           []Containment   `json:"containedIn"`
	PolymorphicParent     bool            `json:"polymorphicParent"`
	Operations            []string        `json:"operations"` // HTTP verbs allowed
	Actions               []string        `json:"actions"`    // "Microsoft.NAV.post", ...
	Webhooks              bool            `json:"webhooks"`
	ChangeTrackingAllowed bool            `json:"changeTrackingAllowed"`
	DelayedInsert         bool            `json:"delayedInsert"`
	SourceTableTemporary  bool            `json:"sourceTableTemporary"`
	Notes                 []string        `json:"notes"`
	Fields                []*Field        `json:"fields"`
	Navigation            []Navigation    `json:"navigation"`
	AL                    ALObject        `json:"al"`
	Docs                  string          `json:"docs"`
	Example               json.RawMessage `json:"example"`
	byName                map[string]*Field
}

// Parent links a child entity set (e.g. salesInvoiceLines) to its single parent collection.
type Parent struct {
	EntitySet      string `json:"entitySet"`
	Navigation     string `json:"navigation"`
	ParentKeyField string `json:"parentKeyField"`
	ChildField     string `json:"childField"`
}

// Containment is one AL part that embeds the entity in a parent.
type Containment struct {
	ParentEntitySet string        `json:"parentEntitySet"`
	Navigation      string        `json:"navigation"`
	Collection      bool          `json:"collection"`
	Link            []LinkElement `json:"link"`
}

// LinkElement is one SubPageLink condition mapped to API field names. Const is set (an AL
// literal such as `"Sales Invoice"`) for fixed discriminators instead of ParentField.
type LinkElement struct {
	ChildField  string `json:"childField"`
	ParentField string `json:"parentField"`
	Const       string `json:"const"`
}

// Navigation is a navigation property of an entity.
type Navigation struct {
	Name       string `json:"name"`
	Entity     string `json:"entity"`
	EntitySet  string `json:"entitySet"`
	Collection bool   `json:"collection"`
	Kind       string `json:"kind"` // "containment" or "lookup"
	Link       string `json:"link"`
}

// ALObject names the AL page behind an entity set.
type ALObject struct {
	Object      string `json:"object"`
	File        string `json:"file"`
	SourceTable string `json:"sourceTable"`
}

// Field is one property of an entity.
type Field struct {
	Name             string   `json:"name"`
	Type             string   `json:"type"`    // EDM type; enums are Edm.String on the wire
	EdmType          string   `json:"edmType"` // enums: Microsoft.NAV.<name>
	MaxLength        int      `json:"maxLength"`
	ReadOnly         bool     `json:"readOnly"`
	DocsSaysReadOnly bool     `json:"docsSaysReadOnly"`
	Nullable         *bool    `json:"nullable"`
	EnumValues       []string `json:"enumValues"` // wire form
	FilterOnly       bool     `json:"filterOnly"`
	ALType           string   `json:"alType"`
}

// IsEnum reports whether the field carries an enum (a string restricted to EnumValues).
func (f *Field) IsEnum() bool { return len(f.EnumValues) > 0 }

var (
	loadOnce sync.Once
	loaded   *Schema
	loadErr  error
)

// Load returns the embedded API v2.0 schema. It is parsed once; the result is shared and
// must not be modified.
func Load() (*Schema, error) {
	loadOnce.Do(func() { loaded, loadErr = Parse(schemaJSON) })
	return loaded, loadErr
}

// MustLoad is Load for program start-up and tests: the embedded schema is part of the
// binary, so a failure is a build defect.
func MustLoad() *Schema {
	s, err := Load()
	if err != nil {
		panic(err)
	}
	return s
}

// Parse reads a schema document in the bc-api-schema/1 format.
func Parse(data []byte) (*Schema, error) {
	var s Schema
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("bcschema: parse: %w", err)
	}
	if s.SchemaFormat != "bc-api-schema/1" {
		return nil, fmt.Errorf("bcschema: unsupported schemaFormat %q, want bc-api-schema/1", s.SchemaFormat)
	}
	if err := s.index(); err != nil {
		return nil, err
	}
	return &s, nil
}

// FromEntities builds a schema from entities declared in code, such as a custom API's.
func FromEntities(entities []*Entity) (*Schema, error) {
	s := &Schema{SchemaFormat: "bc-api-schema/1", Entities: entities}
	return s, s.index()
}

func (s *Schema) index() error {
	s.bySet = make(map[string]*Entity, len(s.Entities))
	for _, e := range s.Entities {
		if e.EntitySet == "" {
			return fmt.Errorf("bcschema: entity %q has no entitySet", e.Entity)
		}
		e.byName = make(map[string]*Field, len(e.Fields))
		for _, f := range e.Fields {
			e.byName[f.Name] = f
		}
		s.bySet[e.EntitySet] = e
	}
	return nil
}

// EntitySet returns the entity set with the given name (case-sensitive, as in BC URLs).
func (s *Schema) EntitySet(name string) (*Entity, bool) {
	e, ok := s.bySet[name]
	return e, ok
}

// EntitySetNames returns all entity set names, sorted.
func (s *Schema) EntitySetNames() []string {
	names := make([]string, 0, len(s.bySet))
	for n := range s.bySet {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Children returns the entity sets whose Parent is e (e.g. salesInvoices → salesInvoiceLines).
func (s *Schema) Children(e *Entity) []*Entity {
	var out []*Entity
	for _, c := range s.Entities {
		if c.Parent != nil && c.Parent.EntitySet == e.EntitySet {
			out = append(out, c)
		}
	}
	return out
}

// Replicated returns the entity sets that syncing names reads, in first-seen order without
// duplicates: a line set stands for its parent (lines are read through their document with
// $expand), and every set brings its lines (items brings itemVariants). It is the one list
// the doctor checks, the permission set covers and the sync replicates. Names not in the
// schema are kept as given so the caller's validation can name them.
func (s *Schema) Replicated(names []string) []string {
	out := make([]string, 0, len(names))
	seen := map[string]bool{}
	add := func(n string) {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	for _, n := range names {
		e, ok := s.EntitySet(n)
		if !ok {
			add(n)
			continue
		}
		if e.Parent != nil {
			if p, ok := s.EntitySet(e.Parent.EntitySet); ok {
				e = p
			}
		}
		add(e.EntitySet)
		for _, c := range s.Children(e) {
			add(c.EntitySet)
		}
	}
	return out
}

// Field returns the named field.
func (e *Entity) Field(name string) (*Field, bool) {
	f, ok := e.byName[name]
	return f, ok
}

// Allows reports whether the HTTP method (GET, POST, PATCH, DELETE) is allowed on the set.
func (e *Entity) Allows(method string) bool {
	for _, op := range e.Operations {
		if strings.EqualFold(op, method) {
			return true
		}
	}
	return false
}

// HasAction reports whether the bound action (short name such as "post", or the full
// "Microsoft.NAV.post") exists on the set.
func (e *Entity) HasAction(name string) bool {
	full := name
	if !strings.HasPrefix(name, "Microsoft.NAV.") {
		full = "Microsoft.NAV." + name
	}
	for _, a := range e.Actions {
		if a == full {
			return true
		}
	}
	return false
}

// HasLastModified reports whether the entity carries lastModifiedDateTime, the field that
// incremental reads filter on (bc-entra-facts §8: document lines do not have it).
func (e *Entity) HasLastModified() bool {
	_, ok := e.byName["lastModifiedDateTime"]
	return ok
}

// naturalKeys are the fields NaturalKey looks for, in order.
var naturalKeys = []string{"number", "entryNumber", "code", "displayName", "lineNumber", "sequence", "postingDate", "name"}

// NaturalKey returns the field people know the set's records by, to list them in that
// order: the first the set has of number (customers, items, documents), entryNumber
// (ledger entries), code (currencies, dimensions, payment terms), displayName (companies),
// lineNumber or sequence (lines), postingDate and name; "" when it has none of them
// (order by id then).
func (e *Entity) NaturalKey() string {
	for _, k := range naturalKeys {
		if f, ok := e.byName[k]; ok && !f.FilterOnly && f.Type != TypeStream {
			return k
		}
	}
	return ""
}

// EdmTypeName is the qualified OData type of the entity, e.g. "Microsoft.NAV.customer".
func (e *Entity) EdmTypeName() string { return "Microsoft.NAV." + e.Entity }
