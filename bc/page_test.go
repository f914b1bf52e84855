package bc

import (
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

func TestDecodePage(t *testing.T) {
	t.Parallel()
	body := `{"@odata.context":"https://h/v2.0/t/e/api/v2.0/$metadata#companies(c)/customers","@odata.count":2,
	"value":[
	 {"@odata.etag":"W/\"JzIwOzEyMjU1NzUwNjQ3MjkxMTQ0Mjg5MTswMDsn\"","id":"` + companyID + `","displayName":"O'Brien \"Ltd\"","balanceDue":12.5,"lastModifiedDateTime":"2024-05-01T10:20:30.123Z","lines":[{"id":"x"}]},
	 {"id":"` + invoiceID + `","displayName":"B","lastModifiedDateTime":"0001-01-01T00:00:00Z"}
	],
	"@odata.nextLink":"https://h/v2.0/t/e/api/v2.0/companies(c)/customers?$skiptoken=abc%3D&aid=FIN"}`
	p, err := DecodePage(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Records) != 2 || p.Count != 2 || !strings.HasSuffix(p.NextLink, "$skiptoken=abc%3D&aid=FIN") || !strings.HasSuffix(p.Context, "/customers") {
		t.Fatalf("page = %+v", p)
	}
	r0 := p.Records[0]
	if r0.ID != companyID || r0.ETag != `W/"JzIwOzEyMjU1NzUwNjQ3MjkxMTQ0Mjg5MTswMDsn"` {
		t.Errorf("record 0: ID %q ETag %q", r0.ID, r0.ETag)
	}
	if want := time.Date(2024, 5, 1, 10, 20, 30, 123_000_000, time.UTC); !r0.LastModified.Equal(want) {
		t.Errorf("LastModified = %v, want %v", r0.LastModified, want)
	}
	if !p.Records[1].LastModified.IsZero() || p.Records[1].ETag != "" {
		t.Errorf("record 1: blank date-time %v, etag %q", p.Records[1].LastModified, p.Records[1].ETag)
	}
	var c Customer
	if err := r0.Decode(&c); err != nil || c.DisplayName != `O'Brien "Ltd"` || c.BalanceDue != 12.5 || c.ETag != r0.ETag {
		t.Errorf("Decode = %+v, %v", c, err)
	}
	m, err := r0.Fields()
	if err != nil || m["balanceDue"] != json.Number("12.5") {
		t.Errorf("Fields = %v, %v", m, err)
	}
	if v, ok := r0.Lookup("displayName"); !ok || string(v) != `"O'Brien \"Ltd\""` {
		t.Errorf("Lookup(displayName) = %s, %v", v, ok)
	}
	if _, ok := r0.Lookup("id\"x"); ok {
		t.Error("Lookup found a field that does not exist")
	}
	// Records are independent slices of the arena.
	if !json.Valid(r0.Raw) || !json.Valid(p.Records[1].Raw) || cap(r0.Raw) != len(r0.Raw) {
		t.Error("records share writable memory or are not whole objects")
	}
}

func TestDecodePageShapes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		body      string
		n         int
		malformed bool
		truncated bool
	}{
		{"empty value", `{"value":[]}`, 0, false, false},
		{"unknown members skipped", `{"x":{"a":[1,2]},"value":[{"id":"a"}],"@odata.deltaLink":"y"}`, 1, false, false},
		{"systemModifiedAt fallback", `{"value":[{"id":"a","systemModifiedAt":"2023-01-02T03:04:05Z"}]}`, 1, false, false},
		{"single entity", `{"@odata.context":"x/$entity","id":"a"}`, 0, true, false},
		{"array element not an object", `{"value":[1]}`, 0, true, false},
		{"value not an array", `{"value":{}}`, 0, true, false},
		{"trailing garbage", `{"value":[]} {}`, 0, true, false},
		{"not JSON", `<html>`, 0, true, false},
		{"nextLink not a string", `{"value":[],"@odata.nextLink":1}`, 0, true, false},
		{"truncated mid-record", `{"value":[{"id":"a"},{"id":`, 0, false, true},
		{"empty body", ``, 0, false, true},
	}
	for _, tt := range tests {
		p, err := DecodePage(strings.NewReader(tt.body))
		var me *malformedError
		switch {
		case tt.malformed:
			if !errors.As(err, &me) {
				t.Errorf("%s: err = %v, want a malformed-response error", tt.name, err)
			}
		case tt.truncated:
			if !isBodyError(err) {
				t.Errorf("%s: err = %v, want a read error (retried by the client)", tt.name, err)
			}
		default:
			if err != nil || len(p.Records) != tt.n {
				t.Errorf("%s: %v records, err %v; want %d", tt.name, p, err, tt.n)
			}
		}
	}
	p, _ := DecodePage(strings.NewReader(`{"value":[{"id":"a","systemModifiedAt":"2023-01-02T03:04:05Z"}]}`))
	if want := time.Date(2023, 1, 2, 3, 4, 5, 0, time.UTC); !p.Records[0].LastModified.Equal(want) {
		t.Errorf("systemModifiedAt fallback = %v", p.Records[0].LastModified)
	}
	// A reader that fails mid-page gives a read error too.
	_, err := DecodePage(io.MultiReader(strings.NewReader(`{"value":[{"id":"a"},`), iotest.ErrReader(&bodyError{io.ErrUnexpectedEOF})))
	if !isBodyError(err) {
		t.Errorf("failing reader: err = %v", err)
	}
}

func TestParseDateTime(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want time.Time
	}{
		{`"2024-05-01T10:20:30.123Z"`, time.Date(2024, 5, 1, 10, 20, 30, 123e6, time.UTC)},
		{`"2024-05-01T10:20:30Z"`, time.Date(2024, 5, 1, 10, 20, 30, 0, time.UTC)},
		{`"2024-05-01T10:20:30.1234567Z"`, time.Date(2024, 5, 1, 10, 20, 30, 123456700, time.UTC)},
		{`"2024-05-01T12:20:30.5+02:00"`, time.Date(2024, 5, 1, 10, 20, 30, 5e8, time.UTC)},
		{`"0001-01-01T00:00:00Z"`, time.Time{}},
		{`"2023-02-30T00:00:00Z"`, time.Time{}},
		{`"yesterday"`, time.Time{}},
		{`null`, time.Time{}},
	}
	for _, tt := range tests {
		if got := parseDateTime([]byte(tt.in)); !got.Equal(tt.want) {
			t.Errorf("parseDateTime(%s) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestUnescapeMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, s := range []string{`W/\"abc\"`, `a\\b\/c`, `\u00fc\u20ac`, `\ud83d\ude00`, `\ud83d`, `\b\f\n\r\t`, `plain`} {
		var want string
		if err := json.Unmarshal([]byte(`"`+s+`"`), &want); err != nil {
			t.Fatal(err)
		}
		got, ok := unescape([]byte(s))
		if !ok || got != want {
			t.Errorf("unescape(%s) = %q, %v; want %q", s, got, ok, want)
		}
	}
	if _, ok := unescape([]byte(`\x`)); ok {
		t.Error(`unescape accepted \x`)
	}
}
