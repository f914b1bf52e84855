package bc

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/bizzjoiner/bcconnector/bcschema"
	"github.com/bizzjoiner/bcconnector/emulator/odata"
)

// FuzzFilterLiteral: for any string, the rendered filter survives URL encoding and BC's
// parser as one literal of its comparison, and never changes the rest of the expression.
func FuzzFilterLiteral(f *testing.F) {
	for _, s := range injections {
		f.Add(s)
	}
	ent, _ := bcschema.MustLoad().EntitySet("customers")
	fields, opts := odata.FieldsOf(ent), odata.OptionsFor(ent, "2.0")
	f.Fuzz(func(t *testing.T, s string) {
		expr := And(Eq("displayName", s), Or(Eq("number", "1"), Eq("number", "2")), Not(Contains("email", s)))
		if !utf8.ValidString(s) {
			if expr.Err() == nil {
				t.Fatalf("invalid UTF-8 %q was accepted", s)
			}
			return
		}
		qs, err := (&Query{Filter: expr}).encode()
		if err != nil {
			t.Fatal(err)
		}
		vals, err := url.ParseQuery(qs)
		if err != nil || len(vals) != 1 || len(vals["$filter"]) != 1 {
			t.Fatalf("query %q: %v %v", qs, vals, err)
		}
		filter, err := odata.ParseFilter(vals.Get("$filter"), fields, opts)
		if err != nil {
			if strings.Contains(err.Error(), "characters long") {
				return // longer than the server accepts: rejected, not misread
			}
			t.Fatalf("%q: BC's parser rejects %q: %v", s, vals.Get("$filter"), err)
		}
		if c := filter.Constraints("displayName"); len(c) != 1 || c[0].Value != s {
			t.Fatalf("%q: displayName constraints %v", s, c)
		}
		row := map[string]any{"displayName": s, "number": "2", "email": ""}
		if s != "" && !filter.Match(row) {
			t.Fatalf("%q: the filter does not match its own value", s)
		}
		row["number"] = "3"
		if filter.Match(row) {
			t.Fatalf("%q: the value broke out of its literal (number 3 matched)", s)
		}
	})
}

// FuzzParseError: any body parses without panic into an *Error that keeps the status.
func FuzzParseError(f *testing.F) {
	f.Add(409, []byte(`{"error":{"code":"Request_EntityChanged","message":"Another user has already changed the record.  CorrelationId:  `+corr+`."}}`))
	f.Add(401, []byte(`<error><code>Unauthorized</code><message>x</message></error>`))
	f.Add(500, []byte("\xef\xbb\xbf{\"code\":\"X\",\"message\":\"\xff\"}"))
	f.Add(502, []byte(`<html>`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		e := ParseError(status, nil, body)
		if e == nil || e.StatusCode != status {
			t.Fatalf("ParseError = %+v", e)
		}
		if e.CorrelationID != "" && strings.Contains(e.Message, "CorrelationId:  "+e.CorrelationID) {
			t.Fatalf("the correlation suffix stayed in the message: %q", e.Message)
		}
		_ = e.Error()
	})
}

// FuzzDecodePage: the streaming decoder agrees with encoding/json: it accepts only valid
// JSON, and every record's raw form, id and etag are what encoding/json reads.
func FuzzDecodePage(f *testing.F) {
	f.Add([]byte(`{"value":[{"@odata.etag":"W/\"J0\"","id":"a","lastModifiedDateTime":"2024-01-02T03:04:05.678Z"}],"@odata.nextLink":"n"}`))
	f.Add([]byte(`{"value":[{"i\u0064":"\ud83d\ude00","x":[{"y":"}"}]}],"@odata.count":1}`))
	f.Add([]byte(`{"value":[],"other":{"value":[1]}}`))
	f.Add([]byte(`{"value":[{"id":"a"},{"id":"b" `))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := DecodePage(bytes.NewReader(data))
		if err != nil {
			return
		}
		if !json.Valid(data) {
			t.Fatalf("accepted invalid JSON %q", data)
		}
		for _, rec := range p.Records {
			if !json.Valid(rec.Raw) {
				t.Fatalf("record %q is not JSON", rec.Raw)
			}
			var m map[string]json.RawMessage
			if err := json.Unmarshal(rec.Raw, &m); err != nil {
				t.Fatalf("record %q: %v", rec.Raw, err)
			}
			for key, want := range map[string]string{"id": rec.ID, "@odata.etag": rec.ETag} {
				var s string
				if raw, ok := m[key]; ok && json.Unmarshal(raw, &s) == nil && !hasDuplicateKey(rec.Raw, key) && s != want {
					t.Fatalf("%s = %q, encoding/json reads %q (record %s)", key, want, s, rec.Raw)
				}
			}
		}
	})
}

// FuzzDecodeEntity: the one-pass scanner accepts a page exactly when encoding/json reads
// it as a page of objects; each record's Raw is its entity as sent, and cutting a valid
// page short anywhere is a read error (retried), never a page.
func FuzzDecodeEntity(f *testing.F) {
	f.Add([]byte(`{"id":"a","n":-1.5e+3,"b":[true,false,null],"s":"\u00e9\n"}`))
	f.Add([]byte(`{"id":"a","n":01}`))
	f.Add([]byte(`{"id":"a","n":1.}`))
	f.Add([]byte(`{"id":"\x"}`))
	f.Add([]byte("{\"id\":\"\t\"}"))
	f.Add([]byte(`{"a":[[[[]]]]}`))
	f.Add([]byte(`[1]`))
	f.Fuzz(func(t *testing.T, entity []byte) {
		page := append(append([]byte(`{"value":[`), entity...), `]}`...)
		p, err := DecodePage(bytes.NewReader(page))
		// What encoding/json reads: a page whose only member is "value", an array of
		// objects (other shapes the entity may break the page into are left out).
		var m map[string]json.RawMessage
		var elems []json.RawMessage
		if json.Valid(page) {
			if json.Unmarshal(page, &m) != nil || len(m) != 1 || m["value"] == nil || hasDuplicateKey(page, "value") {
				return
			}
			if json.Unmarshal(m["value"], &elems) != nil {
				return
			}
		}
		want := json.Valid(page)
		for _, e := range elems {
			want = want && e[0] == '{'
		}
		if (err == nil) != want {
			t.Fatalf("entity %q: decoded %v (err %v), encoding/json reads a page of objects %v", entity, err == nil, err, want)
		}
		if err != nil {
			return
		}
		if len(p.Records) != len(elems) {
			t.Fatalf("entity %q: %d records, encoding/json reads %d", entity, len(p.Records), len(elems))
		}
		for i, e := range elems {
			if !bytes.Equal(p.Records[i].Raw, e) {
				t.Fatalf("entity %q: record %d is %q, encoding/json reads %q", entity, i, p.Records[i].Raw, e)
			}
		}
		if len(page) > 200 {
			return
		}
		for i := range len(page) {
			if _, err := DecodePage(bytes.NewReader(page[:i])); !isBodyError(err) {
				t.Fatalf("page cut at %d of %d (%q): err %v, want a read error", i, len(page), page[:i], err)
			}
		}
	})
}

// hasDuplicateKey reports whether key occurs more than once at the top level (the scanner
// keeps the first, encoding/json the last).
func hasDuplicateKey(raw []byte, key string) bool {
	n := 0
	_ = scanObject(raw, func(k, _ []byte) bool {
		if keyEquals(k, key) {
			n++
		}
		return true
	})
	return n > 1
}

// FuzzRefPath: any Ref.Path either fails validation or yields a URL whose path stays below
// the company and carries no query.
func FuzzRefPath(f *testing.F) {
	f.Add("salesInvoices(" + invoiceID + ")/salesInvoiceLines")
	f.Add("subscriptions('a''b')")
	f.Add("customers?$top=1")
	f.Add("x('/../')/y")
	c, err := New(Options{TenantID: tenantGUID, Environment: "Production", Tokens: nopTokens{}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, p string) {
		u, err := c.refURL(Ref{CompanyID: companyID, Path: p}, "", nil)
		if err != nil {
			return
		}
		parsed, err := url.Parse(u)
		if err != nil {
			t.Fatalf("%q gave an unparsable URL %q", p, u)
		}
		prefix := "/v2.0/" + tenantGUID + "/Production/api/v2.0/companies(" + companyID + ")/"
		if parsed.RawQuery != "" || parsed.Fragment != "" || !strings.HasPrefix(parsed.Path, prefix) || strings.Contains(parsed.Path, "/../") {
			t.Fatalf("%q escaped its place: %q", p, u)
		}
	})
}

// FuzzParseCount: any /$count body either reads as the non-negative number it spells (with
// or without BC's UTF-8 byte order mark, bc-entra-facts §4.2) or fails as a malformed
// response; it never panics and never reads a number that is not there.
func FuzzParseCount(f *testing.F) {
	for _, s := range []string{"0", "42", "\ufeff42", "\ufeff 7\r\n", "", "\ufeff", "-1", "+3", "1e3", "4 2", "\ufeff\ufeff1", "99999999999999999999", "\xef\xbb"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := parseCount(data)
		text := strings.TrimSpace(strings.TrimPrefix(string(data), "\ufeff"))
		if err != nil {
			var me *malformedError
			if !errors.As(err, &me) || n != 0 {
				t.Fatalf("%q: %d, %v: want 0 and a malformed response", data, n, err)
			}
			return
		}
		want, perr := strconv.ParseInt(text, 10, 64)
		if text == "" || strings.Trim(text, "0123456789") != "" || perr != nil || want != n {
			t.Fatalf("%q read as %d", data, n)
		}
	})
}
