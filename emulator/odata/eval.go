package odata

import (
	"strings"
	"unicode/utf8"
)

// cmpOp is a comparison operator of the bound filter.
type cmpOp uint8

const (
	opEq cmpOp = iota
	opNe
	opGt
	opGe
	opLt
	opLe
)

func (o cmpOp) String() string {
	switch o {
	case opEq:
		return "eq"
	case opNe:
		return "ne"
	case opGt:
		return "gt"
	case opGe:
		return "ge"
	case opLt:
		return "lt"
	}
	return "le"
}

// kindName is ODataLib's BinaryOperatorKind name, used in type-mismatch messages.
func (o cmpOp) kindName() string {
	switch o {
	case opEq:
		return "Equal"
	case opNe:
		return "NotEqual"
	case opGt:
		return "GreaterThan"
	case opGe:
		return "GreaterThanOrEqual"
	case opLt:
		return "LessThan"
	}
	return "LessThanOrEqual"
}

func parseOp(s string) cmpOp {
	switch s {
	case "eq":
		return opEq
	case "ne":
		return opNe
	case "gt":
		return opGt
	case "ge":
		return opGe
	case "lt":
		return opLt
	}
	return opLe
}

// flip mirrors the operator for swapped operands: `5 lt x` is `x gt 5`.
func (o cmpOp) flip() cmpOp {
	switch o {
	case opGt:
		return opLt
	case opGe:
		return opLe
	case opLt:
		return opGt
	case opLe:
		return opGe
	}
	return o
}

func (o cmpOp) holds(c int) bool {
	switch o {
	case opEq:
		return c == 0
	case opNe:
		return c != 0
	case opGt:
		return c > 0
	case opGe:
		return c >= 0
	case opLt:
		return c < 0
	}
	return c <= 0
}

// node is a bound, typed filter node.
type node interface {
	match(row map[string]any) bool
}

type andNode []node

func (n andNode) match(row map[string]any) bool {
	for _, c := range n {
		if !c.match(row) {
			return false
		}
	}
	return true
}

type orNode []node

func (n orNode) match(row map[string]any) bool {
	for _, c := range n {
		if c.match(row) {
			return true
		}
	}
	return false
}

type notNode struct{ x node }

func (n notNode) match(row map[string]any) bool { return !n.x.match(row) }

type constNode bool

func (n constNode) match(map[string]any) bool { return bool(n) }

// substr is one substring(s, start[, length]) application; OData counts characters from 0.
type substr struct {
	start, length int
	hasLength     bool
}

func (s substr) apply(v string) string {
	start := max(s.start, 0)
	// Walk runes, not bytes: OData positions count characters.
	i := 0
	for n := 0; n < start && i < len(v); n++ {
		_, w := utf8.DecodeRuneInString(v[i:])
		i += w
	}
	v = v[i:]
	if !s.hasLength {
		return v
	}
	j := 0
	for n := 0; n < max(s.length, 0) && j < len(v); n++ {
		_, w := utf8.DecodeRuneInString(v[j:])
		j += w
	}
	return v[:j]
}

// valueExpr is the property side of a comparison: a field, optionally wrapped in
// substring() calls and case folding (tolower/toupper, CaseInsensitive, GUIDs).
type valueExpr struct {
	field string
	kind  kind
	blank any // the field's blank value, used for a missing or nil field and for `null`
	fold  bool
	subs  []substr
}

func (v *valueExpr) get(row map[string]any) any {
	x := row[v.field]
	if x == nil {
		x = v.blank
	}
	if !v.fold && len(v.subs) == 0 {
		return x
	}
	s, ok := x.(string)
	if !ok {
		return x
	}
	for _, sub := range v.subs {
		s = sub.apply(s)
	}
	if v.fold {
		s = strings.ToLower(s)
	}
	return s
}

// exact reports whether comparisons on v compare the stored value itself, so that they can
// become index constraints.
func (v *valueExpr) exact() bool {
	return len(v.subs) == 0 && (!v.fold || v.kind == kGUID)
}

// cmpNode is `property op literal`, the literal converted to the property's Go type.
type cmpNode struct {
	v   valueExpr
	op  cmpOp
	lit any
}

func (n *cmpNode) match(row map[string]any) bool { return n.op.holds(Compare(n.v.get(row), n.lit)) }

// textFunc is contains, startswith or endswith.
type textFunc uint8

const (
	fnContains textFunc = iota
	fnStartsWith
	fnEndsWith
)

type textFuncNode struct {
	v   valueExpr
	fn  textFunc
	lit string
}

func (n *textFuncNode) match(row map[string]any) bool {
	s, ok := n.v.get(row).(string)
	if !ok {
		return false
	}
	switch n.fn {
	case fnContains:
		return strings.Contains(s, n.lit)
	case fnStartsWith:
		return strings.HasPrefix(s, n.lit)
	}
	return strings.HasSuffix(s, n.lit)
}

// inNode is `property in (literal, …)`.
type inNode struct {
	v    valueExpr
	lits []any
}

func (n *inNode) match(row map[string]any) bool {
	x := n.v.get(row)
	for _, l := range n.lits {
		if Compare(x, l) == 0 {
			return true
		}
	}
	return false
}
