package bc

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/bizzjoiner/bcconnector/guide"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Expr is a $filter expression built with Eq, And, Contains and the other constructors.
// Every value is rendered as an OData literal of its type, so no value (a customer name
// with a quote, an id from a webhook) can change the expression's structure. The zero Expr
// is "no filter" and is skipped by And and Or.
//
// Construction never fails; an invalid field name or value is kept in the Expr and
// reported by Err, and by the request that uses it.
type Expr struct {
	text string
	kind exprKind
	err  error
	v21  bool // needs $schemaversion=2.1 (in)
}

type exprKind uint8

const (
	kindEmpty exprKind = iota
	kindAtom           // comparison or function call
	kindAnd
	kindOr
	kindNot
	kindRaw
)

// String returns the expression as it goes into $filter (before URL encoding), or "" for
// the zero Expr or an invalid one.
func (e Expr) String() string {
	if e.err != nil {
		return ""
	}
	return e.text
}

// Err returns why the expression is invalid, or nil.
func (e Expr) Err() error { return e.err }

// IsZero reports whether e is the empty filter.
func (e Expr) IsZero() bool { return e.kind == kindEmpty && e.err == nil }

// Eq is field eq value. Value is rendered by its Go type (see Literal).
func Eq(field string, value any) Expr { return compare(field, "eq", value) }

// Ne is field ne value.
func Ne(field string, value any) Expr { return compare(field, "ne", value) }

// Gt is field gt value.
func Gt(field string, value any) Expr { return compare(field, "gt", value) }

// Ge is field ge value.
func Ge(field string, value any) Expr { return compare(field, "ge", value) }

// Lt is field lt value.
func Lt(field string, value any) Expr { return compare(field, "lt", value) }

// Le is field le value.
func Le(field string, value any) Expr { return compare(field, "le", value) }

func compare(field, op string, value any) Expr {
	if !isIdent(field) {
		return invalid(fmt.Errorf("bc: filter: %q is not a field name (letters, digits and '_')", field))
	}
	lit, err := Literal(value)
	if err != nil {
		return invalid(fmt.Errorf("bc: filter on %q: %w", field, err))
	}
	return Expr{text: field + " " + op + " " + lit, kind: kindAtom}
}

// Contains is contains(field,'s'): field contains s (BC maps it to a wildcard filter).
func Contains(field, s string) Expr { return stringFunc("contains", field, s) }

// StartsWith is startswith(field,'s').
func StartsWith(field, s string) Expr { return stringFunc("startswith", field, s) }

// EndsWith is endswith(field,'s').
func EndsWith(field, s string) Expr { return stringFunc("endswith", field, s) }

func stringFunc(fn, field, s string) Expr {
	if !isIdent(field) {
		return invalid(fmt.Errorf("bc: filter: %q is not a field name (letters, digits and '_')", field))
	}
	lit, err := Literal(s)
	if err != nil {
		return invalid(fmt.Errorf("bc: filter %s on %q: %w", fn, field, err))
	}
	return Expr{text: fn + "(" + field + "," + lit + ")", kind: kindAtom}
}

// In is field in (v1,v2,…). BC accepts `in` only with $schemaversion=2.1 (bc-entra-facts
// §4.2): set Query.SchemaVersion to "2.1" or the request fails before it is sent. With no
// values it is an error.
func In(field string, values ...any) Expr {
	if !isIdent(field) {
		return invalid(fmt.Errorf("bc: filter: %q is not a field name (letters, digits and '_')", field))
	}
	if len(values) == 0 {
		return invalid(fmt.Errorf("bc: filter in on %q: no values; an empty set matches nothing, skip the request instead", field))
	}
	lits := make([]string, len(values))
	for i, v := range values {
		lit, err := Literal(v)
		if err != nil {
			return invalid(fmt.Errorf("bc: filter in on %q, value %d: %w", field, i, err))
		}
		lits[i] = lit
	}
	return Expr{text: field + " in (" + strings.Join(lits, ",") + ")", kind: kindAtom, v21: true}
}

// And joins the expressions with `and`, skipping zero ones.
func And(xs ...Expr) Expr { return join("and", kindAnd, xs) }

// Or joins the expressions with `or`, skipping zero ones. BC rejects `or` across distinct
// fields (bc-entra-facts §4.2); use In on one field, or several requests.
func Or(xs ...Expr) Expr { return join("or", kindOr, xs) }

func join(op string, kind exprKind, xs []Expr) Expr {
	var parts []string
	v21 := false
	var last Expr
	for _, x := range xs {
		if x.err != nil {
			return x
		}
		if x.kind == kindEmpty {
			continue
		}
		v21 = v21 || x.v21
		last = x
		t := x.text
		// Parenthesise anything that is not an atom or the same operator, so precedence
		// never depends on how the parts were built.
		if x.kind != kindAtom && x.kind != kindNot && x.kind != kind {
			t = "(" + t + ")"
		}
		parts = append(parts, t)
	}
	switch len(parts) {
	case 0:
		return Expr{}
	case 1:
		return last
	}
	return Expr{text: strings.Join(parts, " "+op+" "), kind: kind, v21: v21}
}

// Not negates x: not (x).
func Not(x Expr) Expr {
	if x.err != nil {
		return x
	}
	if x.kind == kindEmpty {
		return invalid(errors.New("bc: filter: Not of an empty expression"))
	}
	return Expr{text: "not (" + x.text + ")", kind: kindNot, v21: x.v21}
}

// Raw is an escape hatch: s goes into $filter as written (parenthesised when combined).
// Never build s from user input; use the constructors, or Literal for the values.
func Raw(s string) Expr {
	if strings.TrimSpace(s) == "" {
		return Expr{}
	}
	return Expr{text: s, kind: kindRaw}
}

func invalid(err error) Expr { return Expr{err: err} }

// GUID is a value that renders as an unquoted Edm.Guid literal. Filters on id fields
// (customerId, documentId, …) need it: a plain string would be quoted and BC would reject
// the comparison.
type GUID string

// Date is an Edm.Date, a calendar day without time zone, rendered as YYYY-MM-DD. BC's blank
// date is 0001-01-01, the zero Date. It marshals to and from JSON as "YYYY-MM-DD".
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf returns the calendar day of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// ParseDate parses YYYY-MM-DD.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fmt.Errorf("bc: date %q: want YYYY-MM-DD", s)
	}
	return DateOf(t), nil
}

// String returns YYYY-MM-DD; the zero Date is BC's blank date 0001-01-01.
func (d Date) String() string {
	if d == (Date{}) {
		return "0001-01-01"
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// IsZero reports whether d is blank (the zero Date or 0001-01-01).
func (d Date) IsZero() bool { return d == (Date{}) || d == Date{1, time.January, 1} }

// Time returns midnight UTC of the day.
func (d Date) Time() time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC) }

func (d Date) valid() bool {
	if d == (Date{}) {
		return true
	}
	return d.Year >= 1 && d.Year <= 9999 && d.Month >= 1 && d.Month <= 12 && d.Day >= 1 && d.Day <= 31 && DateOf(d.Time()) == d
}

// MarshalJSON writes "YYYY-MM-DD".
func (d Date) MarshalJSON() ([]byte, error) {
	if !d.valid() {
		return nil, fmt.Errorf("bc: invalid date %04d-%02d-%02d", d.Year, int(d.Month), d.Day)
	}
	return []byte(`"` + d.String() + `"`), nil
}

// UnmarshalJSON reads "YYYY-MM-DD" (and null as the zero Date).
func (d *Date) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*d = Date{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("bc: date: want a \"YYYY-MM-DD\" string, got %s", shorten(string(b)))
	}
	v, err := ParseDate(s)
	if err != nil {
		return err
	}
	if v == (Date{1, time.January, 1}) {
		v = Date{}
	}
	*d = v
	return nil
}

// dateTimeLayout is BC's Edm.DateTimeOffset form: UTC with milliseconds (§4.2 examples).
const dateTimeLayout = "2006-01-02T15:04:05.000Z"

// Literal renders a Go value as an OData literal for $filter (bc-entra-facts §4.2):
//
//	string            'text' with ' doubled ('O''Brien'); must be valid UTF-8
//	GUID              unquoted, validated: 5d115c9c-44e3-ea11-bb43-000d3a2feca1
//	Date              2019-05-01
//	time.Time         2019-08-18T20:05:51.603Z (converted to UTC, milliseconds)
//	integers          42
//	float32, float64  1000.5 (no exponent; NaN and ±Inf are errors)
//	json.Number       as is, if it is a plain decimal number
//	bool              true, false
//	nil               null
//
// Any other type is an error, so a value cannot bypass the escaping.
func Literal(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "null", nil
	case string:
		if !utf8.ValidString(x) {
			return "", errors.New("string value is not valid UTF-8")
		}
		return quoteString(x), nil
	case GUID:
		if !guide.IsGUID(string(x)) {
			return "", fmt.Errorf("%q is not a GUID (want 8-4-4-4-12 hex digits)", string(x))
		}
		return strings.ToLower(string(x)), nil
	case Date:
		if !x.valid() {
			return "", fmt.Errorf("invalid date %04d-%02d-%02d", x.Year, int(x.Month), x.Day)
		}
		return x.String(), nil
	case time.Time:
		u := x.UTC()
		if u.Year() < 1 || u.Year() > 9999 {
			return "", fmt.Errorf("date-time %v is outside years 1–9999", x)
		}
		return u.Format(dateTimeLayout), nil
	case bool:
		return strconv.FormatBool(x), nil
	case json.Number:
		if !isDecimal(string(x)) {
			return "", fmt.Errorf("%q is not a decimal number", string(x))
		}
		return string(x), nil
	case float64:
		return formatFloat(x, 64)
	case float32:
		return formatFloat(float64(x), 32)
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(rv.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.FormatUint(rv.Uint(), 10), nil
	case reflect.String:
		// A named string type (an enum of the caller's) is still a string literal.
		return Literal(rv.String())
	}
	return "", fmt.Errorf("unsupported value type %T: use string, bc.GUID, bc.Date, time.Time, a number or bool", v)
}

func formatFloat(f float64, bits int) (string, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "", fmt.Errorf("%v is not a number BC can compare", f)
	}
	return strconv.FormatFloat(f, 'f', -1, bits), nil
}

// isDecimal reports whether s is -?digits(.digits)?.
func isDecimal(s string) bool {
	s = strings.TrimPrefix(s, "-")
	intPart, frac, hasDot := strings.Cut(s, ".")
	if intPart == "" || (hasDot && frac == "") {
		return false
	}
	for _, part := range []string{intPart, frac} {
		for _, c := range []byte(part) {
			if c < '0' || c > '9' {
				return false
			}
		}
	}
	return true
}

// quoteString renders s as an OData string literal: in single quotes, ' doubled.
func quoteString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
