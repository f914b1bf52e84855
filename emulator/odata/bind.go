package odata

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// EDM type names used by the binder.
const (
	edmString  = "Edm.String"
	edmBoolean = "Edm.Boolean"
	blankGUID  = "00000000-0000-0000-0000-000000000000"
)

// kind is how a field's values are represented and compared (docs/ARCHITECTURE.md
// "Data representation").
type kind uint8

const (
	kOther   kind = iota // Edm.Stream and unknown types: not comparable
	kString              // string
	kEnum                // string, wire form (Credit_x0020_Memo)
	kGUID                // lower-case string
	kDecimal             // float64
	kInt                 // int64
	kBool                // bool
	kDate                // "YYYY-MM-DD"
	kDTO                 // time.Time, UTC
)

func kindOf(edm string) kind {
	switch edm {
	case edmString:
		return kString
	case "Edm.Guid":
		return kGUID
	case "Edm.Decimal", "Edm.Double", "Edm.Single":
		return kDecimal
	case "Edm.Int32", "Edm.Int64", "Edm.Int16", "Edm.Byte", "Edm.SByte":
		return kInt
	case edmBoolean:
		return kBool
	case "Edm.Date":
		return kDate
	case "Edm.DateTimeOffset":
		return kDTO
	}
	if edm != "" && !strings.HasPrefix(edm, "Edm.") {
		return kEnum // Microsoft.NAV.<enum>
	}
	return kOther
}

// blankOf is the value BC stores for "not set": BC's tables have no SQL NULLs, so `null` in a
// filter means this value [UNCONFIRMED: the docs do not describe null literals]. An enum's
// blank is its " " member (wire form _x0020_) when it has one.
func blankOf(k kind, members []string) any {
	switch k {
	case kString:
		return ""
	case kEnum:
		if slices.Contains(members, "_x0020_") {
			return "_x0020_"
		}
		return ""
	case kGUID:
		return blankGUID
	case kDecimal:
		return float64(0)
	case kInt:
		return int64(0)
	case kBool:
		return false
	case kDate:
		return "0001-01-01"
	case kDTO:
		return time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return nil
}

// binder types a syntax tree against the entity and applies BC's restrictions.
type binder struct {
	text   string
	fields FieldLookup
	opt    *Options
	entity string
	v21    bool
	lambda bool // a lambda was dropped
}

func (b *binder) lookup(name string) (string, bool) {
	if b.fields == nil {
		return "", false
	}
	return b.fields(name)
}

func (b *binder) members(field string) []string {
	if b.opt.Enums == nil {
		return nil
	}
	return b.opt.Enums(field)
}

// resolve binds a property path to a valueExpr and its EDM type name.
func (b *binder) resolve(e *expr) (valueExpr, string, *Error) {
	name := e.segs[0]
	edm, ok := b.lookup(name)
	if !ok {
		return valueExpr{}, "", errPropertyNotFound(name, b.entity)
	}
	if len(e.segs) > 1 {
		// API v2.0 entities are flat: there is no complex property to step into.
		return valueExpr{}, "", errPropertyNotFound(e.segs[1], edm)
	}
	members := b.members(name)
	k := kindOf(edm)
	if members != nil && k == kString {
		k = kEnum
	}
	v := valueExpr{field: name, kind: k, blank: blankOf(k, members)}
	// GUIDs are stored lower-case; folding the row value costs nothing then and forgives a
	// stray upper-case GUID in the data.
	if k == kGUID || b.opt.CaseInsensitive && (k == kString || k == kEnum) {
		v.fold = true
	}
	return v, edm, nil
}

// litEdm is the EDM type ODataLib gives a literal token.
func litEdm(t *token) string {
	switch t.kind {
	case tokString:
		return edmString
	case tokTypedString:
		return t.text
	case tokInt:
		if t.i >= math.MinInt32 && t.i <= math.MaxInt32 {
			return "Edm.Int32"
		}
		return "Edm.Int64"
	case tokDecimal:
		return "Edm.Decimal"
	case tokDouble:
		return "Edm.Double"
	case tokGUID:
		return "Edm.Guid"
	case tokDate:
		return "Edm.Date"
	case tokDateTimeOffset:
		return "Edm.DateTimeOffset"
	}
	if t.text == "null" {
		return "null"
	}
	return edmBoolean
}

func isBoolLiteral(t *token) bool {
	return t.kind == tokIdent && (t.text == "true" || t.text == "false")
}

func isNullLiteral(t *token) bool { return t.kind == tokIdent && t.text == "null" }

// staticType is the EDM type of an expression, resolving properties and functions so that
// their errors come first, as in ODataLib's binder.
func (b *binder) staticType(e *expr) (string, *Error) {
	switch e.kind {
	case exLiteral:
		return litEdm(e.tok), nil
	case exPath:
		_, edm, err := b.resolve(e)
		return edm, err
	case exCall:
		switch e.name {
		case "contains", "startswith", "endswith":
			return edmBoolean, nil
		case "tolower", "toupper", "substring":
			return edmString, nil
		}
		return "", unsupportedFunction(e.name)
	}
	return edmBoolean, nil
}

// isFilterFunction reports whether name is one of the functions BC translates.
func isFilterFunction(name string) bool {
	switch name {
	case "contains", "startswith", "endswith", "tolower", "toupper", "substring":
		return true
	}
	return false
}

// unsupportedFunction distinguishes OData functions BC does not translate (documented list
// in use-filter-expressions-in-odata-uris.md; the others are commented out there) from names
// OData does not know at all.
func unsupportedFunction(name string) *Error {
	switch name {
	case "indexof", "length", "concat", "replace", "trim", "round", "floor", "ceiling",
		"year", "month", "day", "hour", "minute", "second", "fractionalseconds", "totalseconds",
		"date", "time", "totaloffsetminutes", "now", "maxdatetime", "mindatetime",
		"cast", "isof", "matchesPattern", "case", "geo.distance", "geo.length", "geo.intersects":
		return notImplemented("The function '%s' is not supported on an OData filter. Supported functions are contains, startswith, endswith, substring, tolower and toupper.", name)
	}
	return errUnknownFunction(name)
}

func errNested(outer, inner string) *Error {
	return notImplemented("Nested function calls such as '%s(%s(…))' in $filter are supported only with $schemaversion=2.1. Add $schemaversion=2.1 to the request URL.", outer, inner)
}

// union adds the names of fs missing from fields.
func union(fields, fs []string) []string {
	for _, f := range fs {
		if !slices.Contains(fields, f) {
			fields = append(fields, f)
		}
	}
	return fields
}

func logicalKind(op string) string {
	if op == "or" {
		return "Or"
	}
	return "And"
}

// bindBool binds a boolean expression. It returns the node (nil when the expression was
// dropped, i.e. a lambda) and the fields it filters on. neg tracks negation parity so that
// the distinct-field rule sees `not (a eq 1 and b eq 2)` as the `or` it is.
func (b *binder) bindBool(e *expr, neg bool) (node, []string, *Error) {
	switch e.kind {
	case exLogical:
		return b.bindLogical(e, neg)
	case exNot:
		t, err := b.staticType(e.args[0])
		if err != nil {
			return nil, nil, err
		}
		if t != edmBoolean {
			return nil, nil, errIncompatibleUnary(t, "Not")
		}
		n, fs, err := b.bindBool(e.args[0], !neg)
		if err != nil || n == nil {
			return nil, nil, err
		}
		if inner, ok := n.(notNode); ok {
			return inner.x, fs, nil
		}
		return notNode{n}, fs, nil
	case exCompare:
		return b.bindCompare(e)
	case exIn:
		return b.bindIn(e)
	case exLambda:
		// bc-entra-facts §4.2 / odata-known-limitations.md: lambda operators are not
		// supported and BC ignores them silently.
		b.lambda = true
		return nil, nil, nil
	case exPath:
		v, _, err := b.resolve(e)
		if err != nil {
			return nil, nil, err
		}
		if v.kind != kBool {
			return nil, nil, errNotBoolean()
		}
		return &cmpNode{v: v, op: opEq, lit: true}, []string{v.field}, nil
	case exCall:
		op, err := b.bindOperand(e)
		if err != nil {
			return nil, nil, err
		}
		if op.class != clBool {
			return nil, nil, errNotBoolean()
		}
		return op.node, op.fields, nil
	}
	if isBoolLiteral(e.tok) {
		return constNode(e.tok.text == "true"), nil, nil
	}
	return nil, nil, errNotBoolean()
}

func (b *binder) bindLogical(e *expr, neg bool) (node, []string, *Error) {
	isOr := e.op == "or"
	var terms []node
	var fields []string
	for _, a := range e.args {
		t, err := b.staticType(a)
		if err != nil {
			return nil, nil, err
		}
		if t != edmBoolean {
			return nil, nil, errIncompatible(t, edmBoolean, logicalKind(e.op))
		}
		n, fs, err := b.bindBool(a, neg)
		if err != nil {
			return nil, nil, err
		}
		if n == nil {
			continue // dropped lambda: the condition disappears from the filter
		}
		fields = union(fields, fs)
		switch x := n.(type) {
		case orNode:
			if isOr {
				terms = append(terms, x...)
				continue
			}
		case andNode:
			if !isOr {
				terms = append(terms, x...)
				continue
			}
		}
		terms = append(terms, n)
	}
	// bc-entra-facts §4.2: an AL filter can OR values of one field only.
	if isOr != neg && len(fields) > 1 {
		return nil, nil, notImplemented("%s", MsgOrAcrossFields)
	}
	switch len(terms) {
	case 0:
		return nil, nil, nil
	case 1:
		return terms[0], fields, nil
	}
	if isOr {
		return orNode(terms), fields, nil
	}
	return andNode(terms), fields, nil
}

// opClass classifies a comparison operand.
type opClass uint8

const (
	clProp  opClass = iota // a property, possibly inside tolower/toupper/substring
	clLit                  // a literal
	clBool                 // contains/startswith/endswith
	clOther                // any other boolean expression
)

type operand struct {
	class  opClass
	v      valueExpr
	edm    string
	lit    *token
	node   node
	fields []string
}

func (b *binder) bindOperand(e *expr) (operand, *Error) {
	switch e.kind {
	case exPath:
		v, edm, err := b.resolve(e)
		return operand{class: clProp, v: v, edm: edm}, err
	case exLiteral:
		return operand{class: clLit, lit: e.tok, edm: litEdm(e.tok)}, nil
	case exCall:
		switch e.name {
		case "tolower", "toupper", "substring":
			v, err := b.bindStringFunc(e)
			return operand{class: clProp, v: v, edm: edmString}, err
		case "contains", "startswith", "endswith":
			n, err := b.bindTextFunc(e)
			if err != nil {
				return operand{}, err
			}
			return operand{class: clBool, node: n, fields: []string{n.v.field}, edm: edmBoolean}, nil
		}
		return operand{}, unsupportedFunction(e.name)
	}
	n, fs, err := b.bindBool(e, false)
	return operand{class: clOther, node: n, fields: fs, edm: edmBoolean}, err
}

// bindSubject binds the string argument of a function: a string property or, with
// $schemaversion=2.1, another string function (bc-entra-facts §4.2).
func (b *binder) bindSubject(fn string, a *expr) (valueExpr, *Error) {
	switch a.kind {
	case exCall:
		if !b.v21 {
			return valueExpr{}, errNested(fn, a.name)
		}
		op, err := b.bindOperand(a)
		if err != nil {
			return valueExpr{}, err
		}
		if op.class != clProp {
			return valueExpr{}, errNoSignature(fn)
		}
		return op.v, nil
	case exPath:
		v, _, err := b.resolve(a)
		if err != nil {
			return valueExpr{}, err
		}
		if v.kind != kString && v.kind != kEnum {
			return valueExpr{}, errNoSignature(fn)
		}
		return v, nil
	case exLiteral:
		if a.tok.kind == tokString || isNullLiteral(a.tok) {
			return valueExpr{}, notImplemented("The function '%s' must be applied to a property; Business Central filters compare a property with a literal value.", fn)
		}
	}
	return valueExpr{}, errNoSignature(fn)
}

// bindStringFunc binds tolower, toupper and substring. BC turns tolower/toupper into a
// case-insensitive comparison rather than a conversion (use-filter-expressions-in-odata-uris.md),
// so both just set fold; substring keeps OData's 0-based character semantics.
func (b *binder) bindStringFunc(e *expr) (valueExpr, *Error) {
	switch {
	case e.name == "substring" && (len(e.args) == 2 || len(e.args) == 3):
	case e.name != "substring" && len(e.args) == 1:
	default:
		return valueExpr{}, errNoSignature(e.name)
	}
	v, err := b.bindSubject(e.name, e.args[0])
	if err != nil {
		return valueExpr{}, err
	}
	v.kind = kString
	if e.name != "substring" {
		v.fold = true
		return v, nil
	}
	var n [2]int
	for k, a := range e.args[1:] {
		if a.kind != exLiteral || a.tok.kind != tokInt || a.tok.i < math.MinInt32 || a.tok.i > math.MaxInt32 {
			return valueExpr{}, errNoSignature(e.name)
		}
		n[k] = int(a.tok.i)
	}
	v.subs = append(slices.Clip(v.subs), substr{start: n[0], length: n[1], hasLength: len(e.args) == 3})
	return v, nil
}

func (b *binder) bindTextFunc(e *expr) (*textFuncNode, *Error) {
	if len(e.args) != 2 {
		return nil, errNoSignature(e.name)
	}
	v, err := b.bindSubject(e.name, e.args[0])
	if err != nil {
		return nil, err
	}
	v.kind = kString
	var lit string
	switch a := e.args[1]; {
	case a.kind == exLiteral && a.tok.kind == tokString:
		lit = a.tok.str
	case a.kind == exLiteral && isNullLiteral(a.tok):
	case a.kind == exPath:
		if _, _, err := b.resolve(a); err != nil {
			return nil, err
		}
		return nil, notImplemented("The function '%s' compares two properties; Business Central filters compare a property with a literal value.", e.name)
	case a.kind == exCall && !b.v21:
		return nil, errNested(e.name, a.name)
	case a.kind == exCall:
		return nil, notImplemented("The second argument of '%s' must be a string literal.", e.name)
	default:
		return nil, errNoSignature(e.name)
	}
	if v.fold {
		lit = strings.ToLower(lit)
	}
	fn := fnContains
	switch e.name {
	case "startswith":
		fn = fnStartsWith
	case "endswith":
		fn = fnEndsWith
	}
	return &textFuncNode{v: v, fn: fn, lit: lit}, nil
}

func (b *binder) bindCompare(e *expr) (node, []string, *Error) {
	op := parseOp(e.op)
	l, err := b.bindOperand(e.args[0])
	if err != nil {
		return nil, nil, err
	}
	r, err := b.bindOperand(e.args[1])
	if err != nil {
		return nil, nil, err
	}
	if l.class == clLit && r.class != clLit {
		l, r = r, l
		op = op.flip()
	}
	switch {
	case l.class == clProp && r.class == clLit:
		return b.compareProp(l, op, r.lit)
	case l.class == clBool && r.class == clLit:
		if !isBoolLiteral(r.lit) {
			return nil, nil, errIncompatible(edmBoolean, r.edm, op.kindName())
		}
		if op != opEq && op != opNe {
			return nil, nil, notImplemented("The '%s' operator cannot be applied to the result of a function; use eq or ne with true or false.", op)
		}
		n := l.node
		if (op == opEq) != (r.lit.text == "true") {
			n = notNode{n}
		}
		return n, l.fields, nil
	case l.class == clLit:
		return nil, nil, notImplemented("The comparison at position %d compares two literal values; Business Central filters compare a property with a literal value.", e.pos)
	case l.class == clProp && r.class == clProp:
		return nil, nil, notImplemented("The comparison at position %d compares property '%s' with property '%s'; Business Central filters compare a property with a literal value.", e.pos, l.v.field, r.v.field)
	}
	return nil, nil, notImplemented("The comparison at position %d has no Business Central (AL) filter equivalent; compare a property with a literal value.", e.pos)
}

func (b *binder) compareProp(p operand, op cmpOp, lit *token) (node, []string, *Error) {
	val, err := b.convert(p.v, p.edm, lit, func() *Error { return errIncompatible(p.edm, litEdm(lit), op.kindName()) })
	if err != nil {
		return nil, nil, err
	}
	fields := []string{p.v.field}
	if f, ok := val.(float64); ok && p.v.kind == kInt {
		return intCompare(p.v, op, f), fields, nil
	}
	if s, ok := val.(string); ok && p.v.fold {
		val = strings.ToLower(s)
	}
	return &cmpNode{v: p.v, op: op, lit: val}, fields, nil
}

// intCompare compares an integer field with a non-integer literal by rewriting it to an
// integer comparison (entryNumber gt 1.5 → entryNumber ge 2), so that Constraints stay
// int64 like the stored values.
func intCompare(v valueExpr, op cmpOp, f float64) node {
	switch {
	case math.IsNaN(f):
		return constNode(op == opNe)
	case f >= 0x1p63:
		return constNode(op == opLt || op == opLe || op == opNe)
	case f < -0x1p63:
		return constNode(op == opGt || op == opGe || op == opNe)
	case f == math.Trunc(f):
		return &cmpNode{v: v, op: op, lit: int64(f)}
	}
	switch op {
	case opEq:
		return constNode(false)
	case opNe:
		return constNode(true)
	case opGt, opGe:
		return &cmpNode{v: v, op: opGe, lit: int64(math.Ceil(f))}
	}
	return &cmpNode{v: v, op: opLe, lit: int64(math.Floor(f))}
}

// convert turns a literal into the Go type of the property's values, or reports the
// type mismatch ODataLib would.
func (b *binder) convert(v valueExpr, edm string, lit *token, mismatch func() *Error) (any, *Error) {
	if isNullLiteral(lit) {
		if v.kind == kOther {
			return nil, mismatch()
		}
		return v.blank, nil
	}
	switch v.kind {
	case kString:
		if lit.kind == tokString {
			return lit.str, nil
		}
	case kEnum:
		if lit.kind == tokString || lit.kind == tokTypedString && (lit.text == edm || strings.HasPrefix(edm, "Edm.")) {
			return b.enumValue(v.field, lit.str)
		}
	case kGUID:
		if lit.kind == tokGUID {
			return lit.str, nil
		}
	case kDecimal:
		switch lit.kind {
		case tokInt:
			return float64(lit.i), nil
		case tokDecimal, tokDouble:
			return lit.f, nil
		}
	case kInt:
		switch lit.kind {
		case tokInt:
			return lit.i, nil
		case tokDecimal, tokDouble:
			return lit.f, nil
		}
	case kBool:
		if isBoolLiteral(lit) {
			return lit.text == "true", nil
		}
	case kDate:
		if lit.kind == tokDate {
			return lit.str, nil
		}
	case kDTO:
		if lit.kind == tokDateTimeOffset {
			return lit.t, nil
		}
	}
	return nil, mismatch()
}

// enumValue maps a string literal to an enum member in wire form. ODataLib binds string
// literals to enum members by member name, and BC's member names are the XML-encoded wire
// form (bc-entra-facts §4.4), so 'Credit_x0020_Memo' is accepted and 'Credit Memo' is not,
// unless Options.EnumALNames is set.
func (b *binder) enumValue(field, s string) (any, *Error) {
	members := b.members(field)
	if members == nil {
		return s, nil
	}
	for _, m := range members {
		if m == s || b.opt.CaseInsensitive && strings.EqualFold(m, s) {
			return m, nil
		}
	}
	if b.opt.EnumALNames {
		for _, m := range members {
			if d := DecodeXMLName(m); d == s || b.opt.CaseInsensitive && strings.EqualFold(d, s) {
				return m, nil
			}
		}
	}
	return nil, errNotEnumConstant(s)
}

func (b *binder) bindIn(e *expr) (node, []string, *Error) {
	// bc-entra-facts §4.2: `in` works only with $schemaversion=2.1; live tenants answer 501
	// BadRequest_MethodNotImplemented without it (third-party reports).
	if !b.v21 {
		return nil, nil, notImplemented("The 'in' operator is supported only with $schemaversion=2.1. Add $schemaversion=2.1 to the request URL, or use 'or' on the same field (number eq '1' or number eq '2').")
	}
	l, err := b.bindOperand(e.args[0])
	if err != nil {
		return nil, nil, err
	}
	if l.class != clProp {
		return nil, nil, notImplemented("The left operand of 'in' at position %d must be a property.", e.pos)
	}
	lits := make([]any, 0, len(e.args)-1)
	for _, a := range e.args[1:] {
		if a.kind != exLiteral {
			return nil, nil, notImplemented("The list of 'in' at position %d must contain literal values only.", e.pos)
		}
		val, err := b.convert(l.v, l.edm, a.tok, func() *Error {
			return badRequest("An instance of InNode can only be created where the item types of the right operand '%s' and the left operand '%s' can be compared.", litEdm(a.tok), l.edm)
		})
		if err != nil {
			return nil, nil, err
		}
		if s, ok := val.(string); ok && l.v.fold {
			val = strings.ToLower(s)
		}
		lits = append(lits, val)
	}
	return &inNode{v: l.v, lits: lits}, []string{l.v.field}, nil
}

// atLeast21 reports whether a $schemaversion value is 2.1 or later.
func atLeast21(v string) bool {
	major, minor, ok := strings.Cut(strings.TrimSpace(v), ".")
	ma, err1 := strconv.Atoi(major)
	mi, err2 := strconv.Atoi(minor)
	if !ok || err1 != nil || err2 != nil {
		return false
	}
	return ma > 2 || ma == 2 && mi >= 1
}

// DecodeXMLName turns an enum member's wire form back into its AL name: each _xHHHH_
// escape becomes its character, so "Credit_x0020_Memo" is "Credit Memo" and
// "G_x002F_L_x0020_Account" is "G/L Account".
func DecodeXMLName(s string) string {
	if !strings.Contains(s, "_x") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if i+7 <= len(s) && s[i] == '_' && s[i+1] == 'x' && s[i+6] == '_' {
			if r, err := strconv.ParseUint(s[i+2:i+6], 16, 32); err == nil {
				b.WriteRune(rune(r))
				i += 7
				continue
			}
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}
