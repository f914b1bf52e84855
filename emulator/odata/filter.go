// Package odata is Business Central's OData query dialect on the server side of the
// emulator: it parses and evaluates $filter, $orderby, $select and $expand the way a BC API
// v2.0 endpoint accepts them, with BC's restrictions and BC's error codes and messages.
//
// BC parses query options with ODataLib and then translates the filter into AL filters on
// the page's fields (use-filter-expressions-in-odata-uris.md). Two kinds of failure follow,
// and this package reproduces both:
//
//   - ODataLib syntax and binding errors ("Syntax error at position 7 in '…'.", "Could not
//     find a property named 'foo' on type 'Microsoft.NAV.customer'.", type mismatches):
//     400 BadRequest_NotFound with ODataLib's message text (bc-entra-facts §3.3).
//   - Valid OData without an AL equivalent: `or` across distinct fields (exact message
//     MsgOrAcrossFields), `in` or nested function calls without $schemaversion=2.1,
//     arithmetic, unsupported functions, property-vs-property comparisons: 501
//     BadRequest_MethodNotImplemented (observed live for the first two; the emulator's own
//     wording for the rest).
//
// Lambda operators (any/all) are accepted and dropped, as BC does (bc-entra-facts §4.2).
//
// Records are map[string]any with the Go types of docs/ARCHITECTURE.md ("Data
// representation"). BC has no SQL NULLs, so a missing or nil field reads as its type's blank
// value, and the literal null means that blank value too.
package odata

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/bizzjoiner/bcconnector/bcschema"
)

// FieldLookup resolves a property of the entity being queried to its EDM type
// ("Edm.String", "Edm.Guid", "Edm.Decimal", "Edm.Int32", "Edm.Int64", "Edm.Boolean",
// "Edm.Date", "Edm.DateTimeOffset"; an enum may be given as "Edm.String" or as its
// "Microsoft.NAV.<enum>" type). Names are case-sensitive, as in BC.
type FieldLookup func(name string) (edmType string, ok bool)

// Default limits of Options.
const (
	// DefaultMaxLength is the longest query option accepted, in bytes: room for a $filter
	// with a few hundred GUIDs, far below what a URL can carry through BC's front end.
	DefaultMaxLength = 32 << 10
	// DefaultMaxDepth bounds nesting of parentheses, not and function calls.
	DefaultMaxDepth = 100
)

// Options tunes parsing to the request and to the emulator's configuration. The zero value
// is BC's API v2.0 behaviour as far as it is known.
type Options struct {
	// SchemaVersion is the request's $schemaversion. "2.1" (or later) enables `in (…)` and
	// nested function calls such as contains(tolower(x),'a') (bc-entra-facts §4.2).
	// Default "2.0".
	SchemaVersion string

	// EntityType is the qualified entity type named in error messages, e.g.
	// "Microsoft.NAV.customer". Default "Microsoft.NAV.entity".
	EntityType string

	// CaseInsensitive makes every string comparison (eq, ne, gt, …, contains, startswith,
	// endswith, in) ignore case, as SQL's case-insensitive collation would. UNCONFIRMED:
	// BC's docs only say that tolower/toupper make a comparison case-insensitive (which
	// this package always does); one third-party connector reports `eq` as
	// case-insensitive on a live tenant. Default false: case-sensitive.
	CaseInsensitive bool

	// Enums returns the members (wire form, e.g. "Credit_x0020_Memo") of an enum field, or
	// nil for a field that is not an enum. With it, comparing an enum field with a string
	// that is not a member is a 400 "The string 'X' is not a valid enumeration type
	// constant.", as ODataLib binds enum literals. Nil: enum literals are not checked.
	Enums func(field string) []string

	// EnumALNames also accepts an enum member's AL name ('Credit Memo') for its wire form
	// ('Credit_x0020_Memo'). UNCONFIRMED: ODataLib knows members only by their wire-form
	// names, so BC most likely rejects AL names. Needs Enums. Default false.
	EnumALNames bool

	// IgnoreFilterOnLambda drops the whole $filter when it contains a lambda operator
	// instead of dropping only the lambda's condition. UNCONFIRMED: the docs say "the
	// filter expression will be ignored", which can be read either way. Default false.
	IgnoreFilterOnLambda bool

	// MaxLength is the longest expression accepted, in bytes. Default DefaultMaxLength.
	MaxLength int

	// MaxDepth bounds nesting (parentheses, not, function calls). Default DefaultMaxDepth;
	// deeper input is a 400 "Recursion depth exceeded allowed limit.", as in ODataLib.
	MaxDepth int
}

func (o *Options) entity() string {
	if o.EntityType == "" {
		return "Microsoft.NAV.entity"
	}
	return o.EntityType
}

func (o *Options) maxLength() int {
	if o.MaxLength <= 0 {
		return DefaultMaxLength
	}
	return o.MaxLength
}

func (o *Options) maxDepth() int {
	if o.MaxDepth <= 0 {
		return DefaultMaxDepth
	}
	return o.MaxDepth
}

func checkLength(option, s string, opt *Options) *Error {
	if len(s) > opt.maxLength() {
		return &Error{Status: http.StatusBadRequest, Code: CodeBadRequest, Message: fmt.Sprintf(
			"%s is %d characters long; the limit is %d. Split the query into several requests.", option, len(s), opt.maxLength())}
	}
	return nil
}

// Filter is a parsed and bound $filter expression. The zero value and nil match every row.
type Filter struct {
	root node
}

// ParseFilter parses a $filter expression against the entity's fields. An empty or blank
// expression matches every row. Errors are *Error.
func ParseFilter(expr string, fields FieldLookup, opt Options) (*Filter, error) {
	if err := checkLength("The $filter expression", expr, &opt); err != nil {
		return nil, err
	}
	if strings.TrimSpace(expr) == "" {
		return &Filter{}, nil
	}
	e, perr := parseFilterExpr(expr, opt.maxDepth())
	if perr != nil {
		return nil, perr
	}
	b := &binder{text: expr, fields: fields, opt: &opt, entity: opt.entity(), v21: atLeast21(opt.SchemaVersion)}
	t, berr := b.staticType(e)
	if berr != nil {
		return nil, berr
	}
	if t != edmBoolean {
		return nil, errNotBoolean()
	}
	n, _, berr := b.bindBool(e, false)
	if berr != nil {
		return nil, berr
	}
	if b.lambda && opt.IgnoreFilterOnLambda {
		n = nil
	}
	return &Filter{root: n}, nil
}

// Match reports whether the row satisfies the filter. It never panics: a field of an
// unexpected Go type compares by Compare's cross-kind order.
func (f *Filter) Match(row map[string]any) bool {
	if f == nil || f.root == nil {
		return true
	}
	return f.root.match(row)
}

// MatchesAll reports whether the filter keeps every row (empty, or only dropped lambdas).
func (f *Filter) MatchesAll() bool { return f == nil || f.root == nil }

// Comparison is one condition of Constraints: Op is "eq", "gt", "ge", "lt" or "le", and
// Value has the Go type of the record value (int64 for Int32/Int64, float64 for Decimal,
// lower-case string for Guid, "YYYY-MM-DD" for Date, UTC time.Time for DateTimeOffset).
type Comparison struct {
	Op    string
	Value any
}

// Constraints returns the comparisons on field that every matching row satisfies: the
// eq/gt/ge/lt/le comparisons of the plain field with a literal in the top-level `and`
// chain. The emulator turns `entryNumber ge 1 and entryNumber lt 5001` into an index range
// with them. They are necessary, not sufficient: callers still apply Match. Comparisons
// under tolower/toupper/substring, or on strings with Options.CaseInsensitive, are left
// out because they do not bound the stored value. GUID values are lower-case, as the data
// contract stores them.
func (f *Filter) Constraints(field string) []Comparison {
	if f == nil || f.root == nil {
		return nil
	}
	terms := []node{f.root}
	if and, ok := f.root.(andNode); ok {
		terms = and
	}
	var out []Comparison
	for _, t := range terms {
		c, ok := t.(*cmpNode)
		if !ok || c.v.field != field || c.op == opNe || !c.v.exact() {
			continue
		}
		out = append(out, Comparison{Op: c.op.String(), Value: c.lit})
	}
	return out
}

// OnlyConstraints reports whether the filter is nothing but Constraints: a top-level `and`
// chain (or one term) of plain-field comparisons with literals that Constraints returns.
// A row whose values satisfy every Constraint then matches, so a caller that found all
// of them as an exact index range need not Match the rows inside it.
func (f *Filter) OnlyConstraints() bool {
	if f == nil || f.root == nil {
		return true
	}
	terms := []node{f.root}
	if and, ok := f.root.(andNode); ok {
		terms = and
	}
	for _, t := range terms {
		c, ok := t.(*cmpNode)
		if !ok || c.v.field == "" || c.op == opNe || !c.v.exact() {
			return false
		}
	}
	return true
}

// FieldsOf is the FieldLookup of a schema entity: its fields with their wire EDM types
// (enums as Edm.String, bcschema.Field.Type).
func FieldsOf(e *bcschema.Entity) FieldLookup {
	return func(name string) (string, bool) {
		f, ok := e.Field(name)
		if !ok {
			return "", false
		}
		return f.Type, true
	}
}

// EnumsOf is the Options.Enums of a schema entity.
func EnumsOf(e *bcschema.Entity) func(field string) []string {
	return func(name string) []string {
		if f, ok := e.Field(name); ok && f.IsEnum() {
			return f.EnumValues
		}
		return nil
	}
}

// OptionsFor returns Options for a schema entity and a request's $schemaversion, with
// EntityType and Enums filled in.
func OptionsFor(e *bcschema.Entity, schemaVersion string) Options {
	return Options{SchemaVersion: schemaVersion, EntityType: e.EdmTypeName(), Enums: EnumsOf(e)}
}
