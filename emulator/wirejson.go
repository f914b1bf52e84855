package emulator

import (
	"log/slog"
	"maps"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/bizzjoiner/bcconnector/bcschema"
)

// appendRow appends one entity as BC sends it: @odata.etag first, then every field in the
// page's control order (bc-entra-facts §4.4). sel limits the fields ($select); nil means all.
func appendRow(b []byte, ent *bcschema.Entity, row map[string]any, etag string, sel map[string]bool) []byte {
	b = append(b, `{"@odata.etag":`...)
	b = appendString(b, etag)
	for _, f := range ent.Fields {
		if f.Type == bcschema.TypeStream || f.FilterOnly {
			continue
		}
		if sel != nil && !sel[f.Name] {
			continue
		}
		b = append(b, ',', '"')
		b = append(b, f.Name...)
		b = append(b, '"', ':')
		b = appendValue(b, f, row[f.Name])
	}
	return b
}

// appendValue writes one field value in its wire form.
func appendValue(b []byte, f *bcschema.Field, v any) []byte {
	switch x := v.(type) {
	case nil:
		return appendBlank(b, f)
	case string:
		return appendString(b, x)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return append(b, '0')
		}
		return strconv.AppendFloat(b, x, 'f', -1, 64)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case int:
		return strconv.AppendInt(b, int64(x), 10)
	case bool:
		return strconv.AppendBool(b, x)
	case time.Time:
		return appendDateTime(b, x)
	default:
		return append(b, "null"...)
	}
}

// appendBlank writes BC's "empty" value of a type: fields are always present (§4.4).
func appendBlank(b []byte, f *bcschema.Field) []byte {
	switch f.Type {
	case bcschema.TypeGuid:
		return appendString(b, bcschema.BlankGUID)
	case bcschema.TypeDecimal, bcschema.TypeInt32, bcschema.TypeInt64:
		return append(b, '0')
	case bcschema.TypeBoolean:
		return append(b, "false"...)
	case bcschema.TypeDate:
		return appendString(b, "0001-01-01")
	case bcschema.TypeDateTimeOffset:
		return appendString(b, "0001-01-01T00:00:00Z")
	default:
		return appendString(b, "")
	}
}

// formatDateTime is BC's UTC timestamp form with millisecond precision.
func formatDateTime(t time.Time) string {
	if t.IsZero() {
		return "0001-01-01T00:00:00Z"
	}
	return t.UTC().Truncate(time.Millisecond).Format("2006-01-02T15:04:05.999Z")
}

// appendDateTime appends formatDateTime(t) as a JSON string, without allocating for the
// years 0–9999.
func appendDateTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, `"0001-01-01T00:00:00Z"`...)
	}
	t = t.UTC()
	y, mo, d := t.Date()
	if y < 0 || y > 9999 {
		return appendString(b, formatDateTime(t))
	}
	h, mi, s := t.Clock()
	two := func(b []byte, n int) []byte { return append(b, byte('0'+n/10), byte('0'+n%10)) }
	b = append(b, '"', byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-')
	b = append(two(b, int(mo)), '-')
	b = append(two(b, d), 'T')
	b = append(two(b, h), ':')
	b = append(two(b, mi), ':')
	b = two(b, s)
	// .999: milliseconds without trailing zeros, none at all on a whole second.
	if ms := t.Nanosecond() / int(time.Millisecond); ms > 0 {
		digits := []byte{'.', byte('0' + ms/100), byte('0' + ms/10%10), byte('0' + ms%10)}
		for digits[len(digits)-1] == '0' {
			digits = digits[:len(digits)-1]
		}
		b = append(b, digits...)
	}
	return append(b, 'Z', '"')
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// requestStats counts what the emulator served, for tests and the CLI.
type requestStats struct {
	requests  atomic.Int64
	throttled atomic.Int64
	rows      atomic.Int64

	mu        sync.Mutex
	resources map[string]map[string]int64 // app (lower case) → resource → requests admitted
}

// Stats is a snapshot of what the BC side served.
type Stats struct {
	Requests  int64 // BC API requests received
	Throttled int64 // answered 429/503 by the limiter
	Rows      int64 // entities written into responses
}

// Stats returns counters of the BC side.
func (e *Emulator) Stats() Stats {
	return Stats{Requests: e.stats.requests.Load(), Throttled: e.stats.throttled.Load(), Rows: e.stats.rows.Load()}
}

// countResource counts a request of app admitted by the limiter, by what it asks for: the
// last segment of its path below the API root without a key ("companies", "customers",
// "salesOrders", "$batch", "$metadata"; "" for the service document).
func (s *requestStats) countResource(app string, rest []string) {
	res := ""
	if len(rest) > 0 {
		res, _, _ = strings.Cut(rest[len(rest)-1], "(")
	}
	app = strings.ToLower(app)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.resources == nil {
		s.resources = map[string]map[string]int64{}
	}
	if s.resources[app] == nil {
		s.resources[app] = map[string]int64{}
	}
	s.resources[app][res]++
}

// AppResources returns how many requests of an app (its client ID) BC admitted, by what
// each asked for: the last segment of its path below the API root without a key
// ("companies" for the company list, "customers", "$batch"…). A harness tells a
// connection's syncs of a set from its other requests with it.
func (e *Emulator) AppResources(clientID string) map[string]int64 {
	e.stats.mu.Lock()
	defer e.stats.mu.Unlock()
	return maps.Clone(e.stats.resources[strings.ToLower(clientID)])
}

func levelFor(status int) slog.Level {
	if status >= 500 {
		return slog.LevelWarn
	}
	return slog.LevelDebug
}

func slogStr(k, v string) slog.Attr               { return slog.String(k, v) }
func slogInt(k string, v int) slog.Attr           { return slog.Int(k, v) }
func slogDur(k string, v time.Duration) slog.Attr { return slog.Duration(k, v) }
