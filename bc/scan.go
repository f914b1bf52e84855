package bc

import (
	"errors"
	"fmt"
)

// The page scanner validates JSON as it walks it, in one pass over the body: it accepts
// exactly what encoding/json's Valid accepts (RFC 8259; like Valid, it does not check
// that strings are UTF-8) and finds each value's end on the way, so no value is read
// twice.

// maxDepth bounds the nesting of arrays and objects (encoding/json allows 10,000); an
// entity of BC nests two or three levels, and the bound keeps the recursion shallow on
// hostile input.
const maxDepth = 1000

// errTruncated reports input that ended inside a value: a body cut short on the way.
var errTruncated = errors.New("unexpected end of JSON input")

// syntaxError reports input that is not JSON, at an offset.
type syntaxError struct {
	off int
	msg string
}

func (e *syntaxError) Error() string { return fmt.Sprintf("%s at offset %d", e.msg, e.off) }

func syntaxErr(b []byte, i int, what string) error {
	if i >= len(b) {
		return errTruncated
	}
	return &syntaxError{off: i, msg: fmt.Sprintf("invalid character %q %s", b[i], what)}
}

// strPlain marks the bytes a string holds without a closer look: not '"', not '\\',
// not a control character.
var strPlain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// isSpace reports JSON whitespace.
func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\r' || c == '\t' }

// scanString validates the string starting at b[i] == '"' and returns the index after it
// and whether it holds an escape.
func scanString(b []byte, i int) (end int, escaped bool, err error) {
	j := i + 1
	for {
		for j < len(b) && strPlain[b[j]] {
			j++
		}
		if j >= len(b) {
			return 0, false, errTruncated
		}
		switch c := b[j]; {
		case c == '"':
			return j + 1, escaped, nil
		case c == '\\':
			escaped = true
			if j+1 >= len(b) {
				return 0, false, errTruncated
			}
			switch b[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				for k := j + 2; k < j+6; k++ {
					if k >= len(b) {
						return 0, false, errTruncated
					}
					if !isHex(b[k]) {
						return 0, false, syntaxErr(b, k, "in \\u hexadecimal character escape")
					}
				}
				j += 6
			default:
				return 0, false, syntaxErr(b, j+1, "in string escape code")
			}
		default:
			return 0, false, syntaxErr(b, j, "in string literal")
		}
	}
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// scanNumber validates the number starting at b[i] and returns the index after it. A
// number is always followed by something in the bodies scanned here (a ',', '}' or ']'),
// so input that ends inside or right after one is truncated.
func scanNumber(b []byte, i int) (int, error) {
	j := i
	if j < len(b) && b[j] == '-' {
		j++
	}
	switch {
	case j >= len(b):
		return 0, errTruncated
	case b[j] == '0':
		j++
	case b[j] >= '1' && b[j] <= '9':
		for j++; j < len(b) && isDigit(b[j]); j++ {
		}
	default:
		return 0, syntaxErr(b, j, "in numeric literal")
	}
	if j < len(b) && b[j] == '.' {
		j++
		if j >= len(b) {
			return 0, errTruncated
		}
		if !isDigit(b[j]) {
			return 0, syntaxErr(b, j, "after decimal point in numeric literal")
		}
		for j++; j < len(b) && isDigit(b[j]); j++ {
		}
	}
	if j < len(b) && (b[j] == 'e' || b[j] == 'E') {
		j++
		if j < len(b) && (b[j] == '+' || b[j] == '-') {
			j++
		}
		if j >= len(b) {
			return 0, errTruncated
		}
		if !isDigit(b[j]) {
			return 0, syntaxErr(b, j, "in exponent of numeric literal")
		}
		for j++; j < len(b) && isDigit(b[j]); j++ {
		}
	}
	if j >= len(b) {
		return 0, errTruncated
	}
	return j, nil
}

// scanLiteral validates true, false or null at b[i].
func scanLiteral(b []byte, i int, lit string) (int, error) {
	for k := 0; k < len(lit); k++ {
		if i+k >= len(b) {
			return 0, errTruncated
		}
		if b[i+k] != lit[k] {
			return 0, syntaxErr(b, i+k, "in literal "+lit)
		}
	}
	return i + len(lit), nil
}

// skipWS returns the index of the first non-space byte at or after i.
func skipWS(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// validValue validates the value starting at b[i] (no space before it) and returns the
// index after it.
func validValue(b []byte, i, depth int) (int, error) {
	if i >= len(b) {
		return 0, errTruncated
	}
	switch c := b[i]; {
	case c == '"':
		end, _, err := scanString(b, i)
		return end, err
	case c == '{':
		return validObject(b, i, depth+1, nil)
	case c == '[':
		return validArray(b, i, depth+1, nil)
	case c == '-' || isDigit(c):
		return scanNumber(b, i)
	case c == 't':
		return scanLiteral(b, i, "true")
	case c == 'f':
		return scanLiteral(b, i, "false")
	case c == 'n':
		return scanLiteral(b, i, "null")
	default:
		return 0, syntaxErr(b, i, "looking for beginning of value")
	}
}

// member is called for each member of an object validObject walks, with the key (the
// inside of its quotes, escaped as sent) and where its value starts; it returns the index
// after the value, having validated it (validValue, or a scan of its own).
type member func(key []byte, escaped bool, val int) (int, error)

// validObject validates the object starting at b[i] == '{' and returns the index after
// it; with fn, fn scans each member's value.
func validObject(b []byte, i, depth int, fn member) (int, error) {
	if depth > maxDepth {
		return 0, &syntaxError{off: i, msg: "exceeded max depth"}
	}
	j := skipWS(b, i+1)
	if j < len(b) && b[j] == '}' {
		return j + 1, nil
	}
	for {
		if j >= len(b) || b[j] != '"' {
			return 0, syntaxErr(b, j, "looking for beginning of object key string")
		}
		kend, esc, err := scanString(b, j)
		if err != nil {
			return 0, err
		}
		key := b[j+1 : kend-1]
		j = skipWS(b, kend)
		if j >= len(b) || b[j] != ':' {
			return 0, syntaxErr(b, j, "after object key")
		}
		j = skipWS(b, j+1)
		if fn != nil {
			j, err = fn(key, esc, j)
		} else {
			j, err = validValue(b, j, depth)
		}
		if err != nil {
			return 0, err
		}
		j = skipWS(b, j)
		if j >= len(b) {
			return 0, errTruncated
		}
		switch b[j] {
		case ',':
			j = skipWS(b, j+1)
		case '}':
			return j + 1, nil
		default:
			return 0, syntaxErr(b, j, "after object key:value pair")
		}
	}
}

// validArray validates the array starting at b[i] == '[' and returns the index after it;
// with fn, fn scans each element (starting at its index) and returns the index after it.
func validArray(b []byte, i, depth int, fn func(n, at int) (int, error)) (int, error) {
	if depth > maxDepth {
		return 0, &syntaxError{off: i, msg: "exceeded max depth"}
	}
	j := skipWS(b, i+1)
	if j < len(b) && b[j] == ']' {
		return j + 1, nil
	}
	for n := 0; ; n++ {
		var err error
		if fn != nil {
			j, err = fn(n, j)
		} else {
			j, err = validValue(b, j, depth)
		}
		if err != nil {
			return 0, err
		}
		j = skipWS(b, j)
		if j >= len(b) {
			return 0, errTruncated
		}
		switch b[j] {
		case ',':
			j = skipWS(b, j+1)
		case ']':
			return j + 1, nil
		default:
			return 0, syntaxErr(b, j, "after array element")
		}
	}
}
