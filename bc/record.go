package bc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// Record is one entity as BC sent it: the raw JSON object (every field, including
// @odata.etag and any expanded navigation properties) plus the few values the connector
// needs on the hot path, parsed without decoding the rest.
type Record struct {
	// ID is the entity's "id" (its SystemId GUID); "" for entities without one.
	ID string
	// ETag is the entity's @odata.etag, to send back in If-Match. Opaque: compare it
	// byte for byte only (bc-entra-facts §4.4).
	ETag string
	// LastModified is lastModifiedDateTime, or systemModifiedAt for entities that carry
	// that instead (companies, custom APIs); zero when absent or blank.
	LastModified time.Time
	// Raw is the entity's JSON object. It may share memory with other records of its page;
	// do not modify it.
	Raw json.RawMessage
}

// Decode unmarshals the entity into v (a pointer to a struct such as Customer, or any
// type encoding/json accepts).
func (r Record) Decode(v any) error {
	if len(r.Raw) == 0 {
		return errors.New("bc: Decode of an empty Record")
	}
	if err := json.Unmarshal(r.Raw, v); err != nil {
		return fmt.Errorf("bc: decoding record %s: %w", r.ID, err)
	}
	return nil
}

// Fields decodes the entity into a map keyed by field name. Numbers are json.Number, so
// decimals keep every digit BC sent.
func (r Record) Fields() (map[string]any, error) {
	if len(r.Raw) == 0 {
		return nil, errors.New("bc: Fields of an empty Record")
	}
	dec := json.NewDecoder(bytes.NewReader(r.Raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("bc: decoding record %s: %w", r.ID, err)
	}
	return m, nil
}

// Lookup returns the raw JSON value of a top-level field, without decoding the record.
func (r Record) Lookup(field string) (json.RawMessage, bool) {
	var out json.RawMessage
	found := false
	_ = scanObject(r.Raw, func(key, val []byte) bool {
		if keyEquals(key, field) {
			out, found = val, true
			return false
		}
		return true
	})
	return out, found
}

// newRecord parses the hot-path fields of one JSON object.
func newRecord(raw []byte) (Record, error) {
	var f hotFields
	err := scanObject(raw, func(key, val []byte) bool {
		f.take(key, val)
		return true
	})
	if err != nil {
		return Record{}, err
	}
	return f.record(raw), nil
}

// hotFields collects the members of an entity a Record keeps apart from its Raw.
type hotFields struct {
	id, etag        string
	lastMod, sysMod []byte
}

// take looks at one member (key as sent, without quotes; val raw JSON).
func (f *hotFields) take(key, val []byte) {
	switch {
	case keyEquals(key, "id"):
		if s, ok := jsonString(val); ok {
			f.id = s
		}
	case keyEquals(key, "@odata.etag"):
		if s, ok := jsonString(val); ok {
			f.etag = s
		}
	case keyEquals(key, "lastModifiedDateTime"):
		f.lastMod = val
	case keyEquals(key, "systemModifiedAt"):
		f.sysMod = val
	}
}

// record is the Record of raw with the fields taken.
func (f *hotFields) record(raw []byte) Record {
	rec := Record{ID: f.id, ETag: f.etag, Raw: raw}
	lastMod := f.lastMod
	if lastMod == nil {
		lastMod = f.sysMod
	}
	if lastMod != nil {
		rec.LastModified = parseDateTime(lastMod)
	}
	return rec
}

// keyEquals compares a raw JSON key (the inside of its quotes) with name; keys with
// escapes are unescaped first.
func keyEquals(key []byte, name string) bool {
	if bytes.IndexByte(key, '\\') < 0 {
		return string(key) == name
	}
	s, ok := unescape(key)
	return ok && s == name
}

// jsonString returns the value of a JSON string token (with its quotes).
func jsonString(val []byte) (string, bool) {
	if len(val) < 2 || val[0] != '"' || val[len(val)-1] != '"' {
		return "", false
	}
	inner := val[1 : len(val)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return string(inner), true
	}
	return unescape(inner)
}

// parseDateTime parses BC's Edm.DateTimeOffset ("2024-05-01T10:20:30.123Z" and the other
// RFC 3339 forms); the blank 0001-01-01T00:00:00Z and anything unparsable give zero.
func parseDateTime(val []byte) time.Time {
	if len(val) < 2 || val[0] != '"' {
		return time.Time{}
	}
	s := val[1 : len(val)-1]
	if t, ok := parseUTC(s); ok {
		return t
	}
	t, err := time.Parse(time.RFC3339Nano, string(s))
	if err != nil || t.Year() <= 1 {
		return time.Time{}
	}
	return t.UTC()
}

// parseUTC is the allocation-free fast path for YYYY-MM-DDTHH:MM:SS[.fraction]Z.
func parseUTC(s []byte) (time.Time, bool) {
	if len(s) < 20 || s[len(s)-1] != 'Z' || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	num := func(b []byte) (int, bool) {
		n := 0
		for _, c := range b {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	y, ok1 := num(s[0:4])
	mo, ok2 := num(s[5:7])
	d, ok3 := num(s[8:10])
	h, ok4 := num(s[11:13])
	mi, ok5 := num(s[14:16])
	se, ok6 := num(s[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 59 {
		return time.Time{}, false
	}
	ns := 0
	rest := s[19 : len(s)-1]
	if len(rest) > 0 {
		if rest[0] != '.' || len(rest) < 2 || len(rest) > 10 {
			return time.Time{}, false
		}
		f, ok := num(rest[1:])
		if !ok {
			return time.Time{}, false
		}
		for i := len(rest) - 1; i < 9; i++ {
			f *= 10
		}
		ns = f
	}
	if y <= 1 && mo == 1 && d == 1 && h == 0 && mi == 0 && se == 0 && ns == 0 {
		return time.Time{}, true // BC's blank date-time
	}
	t := time.Date(y, time.Month(mo), d, h, mi, se, ns, time.UTC)
	if t.Day() != d {
		return time.Time{}, false // 31 February and the like
	}
	return t, true
}

// scanObject calls fn with each top-level key (raw, without quotes) and value (raw JSON) of
// a JSON object until fn returns false. It validates only the structure it walks: use it on
// JSON that encoding/json has already accepted, or expect garbage in, garbage out (but
// never a panic).
func scanObject(b []byte, fn func(key, val []byte) bool) error {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return errors.New("bc: entity is not a JSON object")
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return errors.New("bc: malformed JSON object: key expected")
		}
		end, ok := skipString(b, i)
		if !ok {
			return errors.New("bc: malformed JSON object: unterminated key")
		}
		key := b[i+1 : end-1]
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return errors.New("bc: malformed JSON object: ':' expected")
		}
		i = skipSpace(b, i+1)
		vend, ok := skipValue(b, i)
		if !ok {
			return errors.New("bc: malformed JSON object: bad value")
		}
		if !fn(key, b[i:vend]) {
			return nil
		}
		i = skipSpace(b, vend)
		if i >= len(b) {
			return errors.New("bc: malformed JSON object: unexpected end")
		}
		if b[i] == '}' {
			return nil
		}
		if b[i] != ',' {
			return errors.New("bc: malformed JSON object: ',' expected")
		}
		i = skipSpace(b, i+1)
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] == '"'.
func skipString(b []byte, i int) (int, bool) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1, true
		}
	}
	return 0, false
}

// skipValue returns the index after the JSON value starting at b[i].
func skipValue(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, ok := skipString(b, j)
				if !ok {
					return 0, false
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, true
				}
			}
		}
		return 0, false
	default:
		j := i
		for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\t' && b[j] != '\n' && b[j] != '\r' {
			j++
		}
		return j, j > i
	}
}

// unescape decodes the inside of a JSON string. It reports false for invalid escapes.
func unescape(s []byte) (string, bool) {
	var out strings.Builder // one allocation, no copy on String
	out.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			out.WriteByte(c)
			continue
		}
		i++
		if i >= len(s) {
			return "", false
		}
		switch s[i] {
		case '"', '\\', '/':
			out.WriteByte(s[i])
		case 'b':
			out.WriteByte('\b')
		case 'f':
			out.WriteByte('\f')
		case 'n':
			out.WriteByte('\n')
		case 'r':
			out.WriteByte('\r')
		case 't':
			out.WriteByte('\t')
		case 'u':
			r, ok := hex4(s, i+1)
			if !ok {
				return "", false
			}
			i += 4
			if utf16.IsSurrogate(r) {
				if r2, ok := hex4(s, i+3); ok && i+2 < len(s) && s[i+1] == '\\' && s[i+2] == 'u' {
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						out.WriteRune(dec)
						i += 6
						continue
					}
				}
				r = utf8.RuneError
			}
			out.WriteRune(r)
		default:
			return "", false
		}
	}
	return out.String(), true
}

func hex4(s []byte, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range s[i : i+4] {
		var v byte
		switch {
		case '0' <= c && c <= '9':
			v = c - '0'
		case 'a' <= c && c <= 'f':
			v = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			v = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(v)
	}
	return r, true
}
