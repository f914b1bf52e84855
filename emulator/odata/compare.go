package odata

import (
	"cmp"
	"fmt"
	"math"
	"strings"
	"time"
)

// Compare is the total order used for $orderby, for index ranges and by Match's
// comparisons: it returns -1, 0 or +1.
//
// Values of the record types (docs/ARCHITECTURE.md "Data representation") compare
// naturally: strings ordinally by byte (so lower-case GUIDs and YYYY-MM-DD dates order
// correctly), numbers numerically (int64 and float64 mix exactly), false before true, and
// time.Time chronologically. Blank values ("", 0, the blank GUID, 0001-01-01, the zero
// time) are the smallest of their type, and nil sorts before everything. Values of
// different kinds order by kind: nil < bool < number < string < time.Time < anything else.
//
// Compare is case-sensitive. With Options.CaseInsensitive, Match folds case itself before
// comparing; callers sorting under that option should sort on folded strings likewise.
// GUIDs sort as strings, not in SQL Server's uniqueidentifier byte order.
func Compare(a, b any) int {
	switch x := a.(type) {
	case string:
		if y, ok := b.(string); ok {
			return strings.Compare(x, y)
		}
	case int64:
		if y, ok := b.(int64); ok {
			return cmp.Compare(x, y)
		}
	case float64:
		if y, ok := b.(float64); ok {
			return cmp.Compare(x, y)
		}
	case time.Time:
		if y, ok := b.(time.Time); ok {
			return x.Compare(y)
		}
	case bool:
		if y, ok := b.(bool); ok {
			return compareBool(x, y)
		}
	}
	return compareMixed(a, b)
}

// Kinds in Compare's cross-kind order.
const (
	rankNil = iota
	rankBool
	rankNumber
	rankString
	rankTime
	rankOther
)

func rank(v any) int {
	switch v.(type) {
	case nil:
		return rankNil
	case bool:
		return rankBool
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64:
		return rankNumber
	case string:
		return rankString
	case time.Time:
		return rankTime
	}
	return rankOther
}

func compareMixed(a, b any) int {
	ra, rb := rank(a), rank(b)
	if ra != rb {
		return cmp.Compare(ra, rb)
	}
	switch ra {
	case rankNil:
		return 0
	case rankBool:
		return compareBool(a.(bool), b.(bool))
	case rankNumber:
		return compareNumbers(a, b)
	case rankString:
		return strings.Compare(a.(string), b.(string))
	case rankTime:
		return a.(time.Time).Compare(b.(time.Time))
	}
	// Not a record type: order deterministically by type and text.
	return strings.Compare(fmt.Sprintf("%T\x00%v", a, b), fmt.Sprintf("%T\x00%v", b, a))
}

func compareBool(x, y bool) int {
	switch {
	case x == y:
		return 0
	case !x:
		return -1
	}
	return 1
}

// number is a numeric value as an exact int64 or as a float64.
type number struct {
	i     int64
	f     float64
	isInt bool
}

func toNumber(v any) number {
	switch x := v.(type) {
	case int:
		return number{i: int64(x), isInt: true}
	case int8:
		return number{i: int64(x), isInt: true}
	case int16:
		return number{i: int64(x), isInt: true}
	case int32:
		return number{i: int64(x), isInt: true}
	case int64:
		return number{i: x, isInt: true}
	case uint:
		return fromUint(uint64(x))
	case uint8:
		return number{i: int64(x), isInt: true}
	case uint16:
		return number{i: int64(x), isInt: true}
	case uint32:
		return number{i: int64(x), isInt: true}
	case uint64:
		return fromUint(x)
	case float32:
		return number{f: float64(x)}
	case float64:
		return number{f: x}
	}
	return number{}
}

func fromUint(u uint64) number {
	if u > math.MaxInt64 {
		return number{f: float64(u)}
	}
	return number{i: int64(u), isInt: true}
}

func compareNumbers(a, b any) int {
	x, y := toNumber(a), toNumber(b)
	switch {
	case x.isInt && y.isInt:
		return cmp.Compare(x.i, y.i)
	case !x.isInt && !y.isInt:
		return cmp.Compare(x.f, y.f)
	case x.isInt:
		return compareIntFloat(x.i, y.f)
	}
	return -compareIntFloat(y.i, x.f)
}

// compareIntFloat compares exactly, without rounding i to float64 (which loses precision
// above 2^53). NaN sorts first, as cmp.Compare does for floats.
func compareIntFloat(i int64, f float64) int {
	switch {
	case math.IsNaN(f):
		return 1
	case f >= 0x1p63:
		return -1
	case f < -0x1p63:
		return 1
	}
	t := math.Trunc(f)
	if c := cmp.Compare(i, int64(t)); c != 0 {
		return c
	}
	switch {
	case f > t:
		return -1
	case f < t:
		return 1
	}
	return 0
}
