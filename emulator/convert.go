package emulator

import (
	"encoding/json"
	"io"
	"math"
	"net/http"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/bizzjoiner/bcconnector/bcschema"
)

// maxBodyBytes is BC's request body limit (§5: 350 MB → 413).
const maxBodyBytes = 350 << 20

// readBody decodes a JSON object request body, keeping numbers exact.
func readBody(r io.Reader) (map[string]any, *apiError) {
	dec := json.NewDecoder(io.LimitReader(r, maxBodyBytes+1))
	dec.UseNumber()
	var body map[string]any
	if err := dec.Decode(&body); err != nil {
		if err == io.EOF {
			return nil, errf(http.StatusBadRequest, codeBadRequest, "Invalid Request Body: the body is empty; send a JSON object.")
		}
		return nil, errf(http.StatusBadRequest, codeBadRequest, "Invalid Request Body: %s", jsonErrorText(err))
	}
	if body == nil {
		return nil, errf(http.StatusBadRequest, codeBadRequest, "Invalid Request Body: expected a JSON object.")
	}
	if dec.More() {
		return nil, errf(http.StatusBadRequest, codeBadRequest, "Invalid Request Body: unexpected data after the JSON object.")
	}
	return body, nil
}

func jsonErrorText(err error) string {
	if strings.Contains(err.Error(), "cannot unmarshal") {
		return "expected a JSON object."
	}
	return err.Error()
}

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// caption turns an API name into the caption-like form BC uses in messages:
// lastModifiedDateTime → "Last Modified Date Time".
func caption(name string) string {
	var b strings.Builder
	for i, r := range name {
		if i == 0 {
			b.WriteRune(unicode.ToUpper(r))
			continue
		}
		if unicode.IsUpper(r) {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// convertValue turns a JSON body value into the emulator's value for a field, with BC's
// errors for values that do not fit (§3.3).
func convertValue(ent *bcschema.Entity, f *bcschema.Field, v any) (any, *apiError) {
	if v == nil {
		return nil, errf(http.StatusBadRequest, codeBadRequest,
			"A null value was found for the property named '%s', which has the expected type '%s[Nullable=False]'. The expected type '%s[Nullable=False]' does not allow null values.", f.Name, f.Type, f.Type)
	}
	typeErr := func() *apiError {
		return errf(http.StatusBadRequest, codeBadRequest, "Cannot convert the value of property '%s' to the expected type '%s'.", f.Name, f.Type)
	}
	switch f.Type {
	case bcschema.TypeString:
		s, ok := v.(string)
		if !ok {
			return nil, typeErr()
		}
		if f.IsEnum() {
			return enumValue(f, s)
		}
		if n := utf8.RuneCountInString(s); f.MaxLength > 0 && n > f.MaxLength {
			return nil, errf(http.StatusBadRequest, codeStringTooLong,
				"The length of the string is %d, but it must be less than or equal to %d characters. Value: %s", n, f.MaxLength, s)
		}
		return s, nil
	case bcschema.TypeGuid:
		s, ok := v.(string)
		if !ok {
			return nil, typeErr()
		}
		s = strings.Trim(s, "{}")
		if !guidRE.MatchString(s) {
			return nil, errf(http.StatusBadRequest, codeInvalidGUID, "The value '%s' of property '%s' is not a valid GUID.", s, f.Name)
		}
		return strings.ToLower(s), nil
	case bcschema.TypeDecimal:
		n, ok := v.(json.Number)
		if !ok {
			// The OData library's message when a decimal arrives as a string.
			return nil, errf(http.StatusBadRequest, codeBadRequest,
				"Cannot convert a value to target type 'Edm.Decimal' because of conflict between input format string/number and parameter 'IEEE754Compatible' false/true.")
		}
		x, err := n.Float64()
		if err != nil || math.IsInf(x, 0) {
			return nil, typeErr()
		}
		return x, nil
	case bcschema.TypeInt32, bcschema.TypeInt64:
		n, ok := v.(json.Number)
		if !ok {
			return nil, typeErr()
		}
		x, err := n.Int64()
		if err != nil || (f.Type == bcschema.TypeInt32 && (x > math.MaxInt32 || x < math.MinInt32)) {
			return nil, typeErr()
		}
		return x, nil
	case bcschema.TypeBoolean:
		b, ok := v.(bool)
		if !ok {
			return nil, typeErr()
		}
		return b, nil
	case bcschema.TypeDate:
		s, ok := v.(string)
		if !ok {
			return nil, typeErr()
		}
		if _, err := time.Parse("2006-01-02", s); err != nil {
			return nil, errf(http.StatusBadRequest, codeBadRequest, "Unable to convert value '%s' of property '%s' to Date; use YYYY-MM-DD.", s, f.Name)
		}
		return s, nil
	case bcschema.TypeDateTimeOffset:
		s, ok := v.(string)
		if !ok {
			return nil, typeErr()
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return nil, errf(http.StatusBadRequest, codeBadRequest, "Unable to convert value '%s' of property '%s' to DateTime; use ISO 8601 such as 2024-05-01T10:00:00Z.", s, f.Name)
		}
		return t.UTC().Truncate(time.Millisecond), nil
	}
	return nil, typeErr()
}

// enumValue accepts an enum member in wire form (Credit_x0020_Memo) or AL form
// (Credit Memo) and returns the wire form.
func enumValue(f *bcschema.Field, s string) (any, *apiError) {
	for _, v := range f.EnumValues {
		if v == s || decodeEnum(v) == s {
			return v, nil
		}
	}
	names := make([]string, 0, len(f.EnumValues))
	for _, v := range f.EnumValues {
		names = append(names, decodeEnum(v))
	}
	return nil, errf(http.StatusBadRequest, codeEvaluate, "'%s' is not an option. The existing options are: %s", s, strings.Join(names, ","))
}

var enumEscape = regexp.MustCompile(`_x([0-9A-Fa-f]{4})_`)

// decodeEnum turns the wire form of an enum member into its AL name.
func decodeEnum(v string) string {
	return enumEscape.ReplaceAllStringFunc(v, func(m string) string {
		var r rune
		for _, c := range m[2:6] {
			r <<= 4
			switch {
			case c >= '0' && c <= '9':
				r |= c - '0'
			case c >= 'a' && c <= 'f':
				r |= c - 'a' + 10
			case c >= 'A' && c <= 'F':
				r |= c - 'A' + 10
			}
		}
		return string(r)
	})
}

// blankValue is BC's empty value of a field (§4.4, bc-api conventions.emptyValues).
func blankValue(f *bcschema.Field) any {
	switch f.Type {
	case bcschema.TypeGuid:
		return bcschema.BlankGUID
	case bcschema.TypeDecimal:
		return 0.0
	case bcschema.TypeInt32, bcschema.TypeInt64:
		return int64(0)
	case bcschema.TypeBoolean:
		return false
	case bcschema.TypeDate:
		return "0001-01-01"
	case bcschema.TypeDateTimeOffset:
		return time.Time{}
	case bcschema.TypeStream:
		return nil
	}
	if f.IsEnum() {
		return f.EnumValues[0]
	}
	return ""
}

// copyRow returns a shallow copy (rows are copy-on-write).
func copyRow(row map[string]any) map[string]any {
	out := make(map[string]any, len(row)+1)
	for k, v := range row {
		out[k] = v
	}
	return out
}

// rowJSON renders a row as a standalone JSON object (for $batch bodies and tests).
func rowJSON(ent *bcschema.Entity, ref rowRef) json.RawMessage {
	b := appendRow(nil, ent, ref.row, ref.etag, nil)
	return json.RawMessage(append(b, '}'))
}
