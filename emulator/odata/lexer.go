package odata

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// tokKind classifies a lexer token.
type tokKind uint8

const (
	tokEnd            tokKind = iota
	tokIdent                  // identifier or keyword, possibly dotted (Microsoft.NAV.x)
	tokString                 // 'text' with '' escaping
	tokTypedString            // Microsoft.NAV.enumType'Value'
	tokInt                    // integer literal, optional L suffix
	tokDecimal                // 1000.00, 5M
	tokDouble                 // 1e5, 5D, 5F
	tokGUID                   // 8-4-4-4-12 hex, unquoted
	tokDate                   // 2024-01-31
	tokDateTimeOffset         // 2024-01-31T10:00:00.123Z
	tokLParen
	tokRParen
	tokComma
	tokSlash
	tokColon
)

// token is one lexeme of a query option. pos and end are byte offsets into the text;
// ODataLib reports positions the same way for ASCII input.
type token struct {
	kind tokKind
	pos  int
	end  int
	text string    // source text
	str  string    // string value; type name for tokTypedString is in text
	i    int64     // tokInt
	f    float64   // tokDecimal, tokDouble, and tokInt beyond int64
	t    time.Time // tokDateTimeOffset, in UTC
	big  bool      // tokInt did not fit int64 and was demoted to tokDecimal's f
}

func isSpace(c byte) bool      { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }
func isDigit(c byte) bool      { return c >= '0' && c <= '9' }
func isLetter(c byte) bool     { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isIdentStart(c byte) bool { return isLetter(c) || c == '_' || c == '$' }
func isIdentChar(c byte) bool  { return isLetter(c) || isDigit(c) || c == '_' }
func isHex(c byte) bool        { return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// isLiteralDelim reports whether c ends an unquoted literal (number, date, GUID).
func isLiteralDelim(c byte) bool {
	return isSpace(c) || c == '(' || c == ')' || c == ','
}

// lex splits text into tokens, ending with a tokEnd.
func lex(text string) ([]token, *Error) {
	toks := make([]token, 0, len(text)/4+1)
	i := 0
	for {
		for i < len(text) && isSpace(text[i]) {
			i++
		}
		if i >= len(text) {
			return append(toks, token{kind: tokEnd, pos: i, end: i}), nil
		}
		c := text[i]
		switch {
		case c == '(' || c == ')' || c == ',' || c == '/' || c == ':':
			toks = append(toks, token{kind: punctKind(c), pos: i, end: i + 1, text: text[i : i+1]})
			i++
		case c == '\'':
			s, end, err := lexString(text, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{kind: tokString, pos: i, end: end, text: text[i:end], str: s})
			i = end
		case isDigit(c) || c == '-' && i+1 < len(text) && isDigit(text[i+1]) || isHex(c) && guidAt(text, i):
			tok, err := lexLiteral(text, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, tok)
			i = tok.end
		case isIdentStart(c):
			j := i + 1
			for j < len(text) {
				if isIdentChar(text[j]) {
					j++
				} else if text[j] == '.' && j+1 < len(text) && isIdentStart(text[j+1]) {
					j += 2
				} else {
					break
				}
			}
			if j < len(text) && text[j] == '\'' {
				// A type-prefixed literal. Only enum literals (Namespace.Type'Member') have
				// a meaning here; duration'…', binary'…' and geography'…' do not.
				if !strings.Contains(text[i:j], ".") {
					return nil, errSyntax(j, text)
				}
				s, end, err := lexString(text, j)
				if err != nil {
					return nil, err
				}
				toks = append(toks, token{kind: tokTypedString, pos: i, end: end, text: text[i:j], str: s})
				i = end
				continue
			}
			toks = append(toks, token{kind: tokIdent, pos: i, end: j, text: text[i:j]})
			i = j
		default:
			r, _ := utf8.DecodeRuneInString(text[i:])
			return nil, errInvalidChar(r, i, text)
		}
	}
}

// punctKind maps a punctuation byte to its token kind.
func punctKind(c byte) tokKind {
	switch c {
	case '(':
		return tokLParen
	case ')':
		return tokRParen
	case ',':
		return tokComma
	case '/':
		return tokSlash
	}
	return tokColon
}

// lexString reads a single-quoted literal starting at text[i]. A doubled quote stands for
// one quote, so the literal O, quote, quote, Brien reads as O'Brien, and a value such as
// "' or 1 eq 1 or '" stays one literal.
func lexString(text string, i int) (value string, end int, err *Error) {
	var b strings.Builder
	escaped := false
	j := i + 1
	for {
		k := strings.IndexByte(text[j:], '\'')
		if k < 0 {
			return "", 0, errUnterminatedString(len(text), text)
		}
		k += j
		if k+1 < len(text) && text[k+1] == '\'' {
			if !escaped {
				b.Grow(len(text) - i)
				escaped = true
			}
			b.WriteString(text[j : k+1])
			j = k + 2
			continue
		}
		if !escaped {
			return text[i+1 : k], k + 1, nil
		}
		b.WriteString(text[j:k])
		return b.String(), k + 1, nil
	}
}

// guidAt reports whether an unquoted 8-4-4-4-12 GUID starts at text[i].
func guidAt(text string, i int) bool {
	if len(text)-i < 36 {
		return false
	}
	for k := 0; k < 36; k++ {
		c := text[i+k]
		if k == 8 || k == 13 || k == 18 || k == 23 {
			if c != '-' {
				return false
			}
		} else if !isHex(c) {
			return false
		}
	}
	return i+36 == len(text) || !isIdentChar(text[i+36]) && text[i+36] != '-' && text[i+36] != '.'
}

// lexLiteral reads an unquoted GUID, date, date-time or number starting at text[i].
func lexLiteral(text string, i int) (token, *Error) {
	if guidAt(text, i) {
		return token{kind: tokGUID, pos: i, end: i + 36, text: text[i : i+36], str: strings.ToLower(text[i : i+36])}, nil
	}
	j := i
	for j < len(text) && !isLiteralDelim(text[j]) {
		j++
	}
	lit := text[i:j]
	tok := token{pos: i, end: j, text: lit}
	if isDatePrefix(lit) {
		if len(lit) == 10 {
			if _, err := time.Parse(time.DateOnly, lit); err != nil {
				return tok, errUnrecognizedLiteral("Edm.Date", lit, i, text)
			}
			tok.kind, tok.str = tokDate, lit
			return tok, nil
		}
		if lit[10] == 'T' {
			t, err := parseDateTimeOffset(lit)
			if err != nil {
				return tok, err
			}
			tok.kind, tok.t = tokDateTimeOffset, t
			return tok, nil
		}
		return tok, errUnrecognizedLiteral("Edm.Date", lit, i, text)
	}
	if ok := lexNumber(&tok); !ok {
		return tok, errSyntax(i, text)
	}
	return tok, nil
}

// isDatePrefix reports whether s starts with YYYY-MM-DD digits.
func isDatePrefix(s string) bool {
	if len(s) < 10 || s[4] != '-' || s[7] != '-' {
		return false
	}
	for _, k := range []int{0, 1, 2, 3, 5, 6, 8, 9} {
		if !isDigit(s[k]) {
			return false
		}
	}
	return true
}

// parseDateTimeOffset parses yyyy-mm-ddThh:mm[:ss[.fffffff]](Z|±hh:mm) (OData ABNF
// dateTimeOffsetValue) into UTC.
func parseDateTimeOffset(s string) (time.Time, *Error) {
	bad := badRequest("The DateTimeOffset text '%s' should be in format 'yyyy-mm-ddThh:mm:ss('.'s+)?(zzzzzz)?' and each field value is within valid range.", s)
	d, err := time.Parse(time.DateOnly, s[:10])
	if err != nil {
		return time.Time{}, bad
	}
	p := s[11:]
	num2 := func() (int, bool) {
		if len(p) < 2 || !isDigit(p[0]) || !isDigit(p[1]) {
			return 0, false
		}
		n := int(p[0]-'0')*10 + int(p[1]-'0')
		p = p[2:]
		return n, true
	}
	hh, ok1 := num2()
	if !ok1 || len(p) == 0 || p[0] != ':' {
		return time.Time{}, bad
	}
	p = p[1:]
	mm, ok2 := num2()
	if !ok2 {
		return time.Time{}, bad
	}
	ss, nanos := 0, 0
	if len(p) > 0 && p[0] == ':' {
		p = p[1:]
		var ok bool
		if ss, ok = num2(); !ok {
			return time.Time{}, bad
		}
		if len(p) > 0 && p[0] == '.' {
			p = p[1:]
			n := 0
			for n < len(p) && isDigit(p[n]) {
				n++
			}
			if n == 0 || n > 12 {
				return time.Time{}, bad
			}
			frac := p[:n]
			if len(frac) > 9 {
				frac = frac[:9]
			}
			frac += strings.Repeat("0", 9-len(frac))
			nanos, _ = strconv.Atoi(frac)
			p = p[n:]
		}
	}
	if hh > 23 || mm > 59 || ss > 59 {
		return time.Time{}, bad
	}
	if len(p) == 0 {
		return time.Time{}, badRequest("The time zone information is missing on the DateTimeOffset value '%s'. A DateTimeOffset value must contain the time zone information.", s)
	}
	offset := 0
	switch p[0] {
	case 'Z', 'z':
		p = p[1:]
	case '+', '-':
		sign := 1
		if p[0] == '-' {
			sign = -1
		}
		p = p[1:]
		oh, ok := num2()
		if !ok || len(p) == 0 || p[0] != ':' {
			return time.Time{}, bad
		}
		p = p[1:]
		om, ok := num2()
		if !ok || oh > 14 || om > 59 {
			return time.Time{}, bad
		}
		offset = sign * (oh*3600 + om*60)
	default:
		return time.Time{}, bad
	}
	if len(p) != 0 {
		return time.Time{}, bad
	}
	t := time.Date(d.Year(), d.Month(), d.Day(), hh, mm, ss, nanos, time.FixedZone("", offset))
	return t.UTC(), nil
}

// lexNumber classifies tok.text as an OData number: [-]digits[.digits][e[±]digits][suffix]
// with suffix L (Int64), M (Decimal), D or F (Double). Integers beyond Int64 become decimals,
// as ODataLib promotes them.
func lexNumber(tok *token) bool {
	s := tok.text
	k := 0
	if k < len(s) && s[k] == '-' {
		k++
	}
	digits := func() int {
		n := 0
		for k < len(s) && isDigit(s[k]) {
			k++
			n++
		}
		return n
	}
	if digits() == 0 {
		return false
	}
	frac, exp := false, false
	if k < len(s) && s[k] == '.' {
		k++
		if digits() == 0 {
			return false
		}
		frac = true
	}
	if k < len(s) && (s[k] == 'e' || s[k] == 'E') {
		k++
		if k < len(s) && (s[k] == '+' || s[k] == '-') {
			k++
		}
		if digits() == 0 {
			return false
		}
		exp = true
	}
	num := s[:k]
	var suffix byte
	if k < len(s) {
		suffix = s[k] | 0x20 // lower-case
		k++
	}
	if k != len(s) {
		return false
	}
	switch suffix {
	case 0, 'l':
		if frac || exp {
			if suffix == 'l' {
				return false
			}
			break
		}
		if n, err := strconv.ParseInt(num, 10, 64); err == nil {
			tok.kind, tok.i = tokInt, n
			return true
		}
		if suffix == 'l' {
			return false
		}
		tok.big = true
	case 'm':
	case 'd', 'f':
		exp = true
	default:
		return false
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return false
	}
	tok.f = f
	tok.kind = tokDecimal
	if exp {
		tok.kind = tokDouble
	}
	return true
}
