package webhook

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/bc"
)

func TestParseNotifications(t *testing.T) {
	t.Parallel()
	// The documented sample (bc-entra-facts §7.3), as BC's Newtonsoft indents it.
	sample := `{
  "value": [
    {
      "subscriptionId": "webhookCustomersId",
      "clientState": "someClientState",
      "expirationDateTime": "2018-10-29T12:50:30Z",
      "resource": "api/v2.0/companies(b18aed47-c385-49d2-b954-dbdf8ad71780)/customers(130bbd17-dbb9-4790-9b12-2b0e9c9d22c3)",
      "changeType": "created",
      "lastModifiedDateTime": "2018-10-26T12:54:26.057Z"
    },
    {
      "subscriptionId": "salesInvoice",
      "clientState": "someClientState",
      "expirationDateTime": "2018-10-20T10:55:01Z",
      "resource": "/api/v2.0/companies(7dbba574-28ff-4a67-a7b7-6d5a02b8e9e7)/salesInvoices?$filter=lastModifiedDateTime%20gt%202018-10-15T11:00:00Z",
      "changeType": "collection",
      "lastModifiedDateTime": "2018-10-26T12:54:30.503Z"
    }
  ]
}`
	for _, tc := range []struct {
		name    string
		body    string
		ids     []string
		skipped int
		err     bool
	}{
		{"documented sample", sample, []string{"webhookCustomersId", "salesInvoice"}, 0, false},
		{"empty value", `{"value":[]}`, nil, 0, false},
		{"other members first", `{"@odata.context":"x","n":[1,{"a":2}],"value":[{"subscriptionId":"a"}]}`, []string{"a"}, 0, false},
		{"unknown fields in items", `{"value":[{"subscriptionId":"a","new":{"x":[1]}}]}`, []string{"a"}, 0, false},
		{"bad items skipped", `{"value":[{"subscriptionId":"a"},7,{"subscriptionId":null},{"changeType":"x"},{"subscriptionId":["b"]},{"subscriptionId":"c"}]}`, []string{"a", "c"}, 4, false},
		{"no value", `{"values":[]}`, nil, 0, true},
		{"value null", `{"value":null}`, nil, 0, true},
		{"not an object", `"value"`, nil, 0, true},
		{"empty", ``, nil, 0, true},
		{"truncated after items", `{"value":[{"subscriptionId":"a"},{"subscr`, []string{"a"}, 0, true},
		{"trailing garbage ignored", `{"value":[{"subscriptionId":"a"}]} trailing`, []string{"a"}, 0, false},
	} {
		items, skipped, err := parseNotifications(strings.NewReader(tc.body))
		var ids []string
		for _, n := range items {
			ids = append(ids, n.SubscriptionID)
		}
		if fmt.Sprint(ids) != fmt.Sprint(tc.ids) || skipped != tc.skipped || (err != nil) != tc.err {
			t.Errorf("%s: ids %v skipped %d err %v; want %v %d err=%v", tc.name, ids, skipped, err, tc.ids, tc.skipped, tc.err)
		}
	}
	items, _, _ := parseNotifications(strings.NewReader(sample))
	if n := items[1]; n.ChangeType != "collection" || n.ClientState != "someClientState" || !strings.Contains(n.Resource, "$filter=") ||
		n.LastModifiedDateTime != "2018-10-26T12:54:30.503Z" || n.ExpirationDateTime != "2018-10-20T10:55:01Z" {
		t.Errorf("second sample item = %+v", n)
	}
}

func TestParseResource(t *testing.T) {
	t.Parallel()
	const co = "companies(b18aed47-c385-49d2-b954-dbdf8ad71780)"
	since := time.Date(2018, 10, 15, 11, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in    string
		set   string
		key   string
		since time.Time
		err   bool
	}{
		{"api/v2.0/" + co + "/customers(130bbd17-dbb9-4790-9b12-2b0e9c9d22c3)", "customers", "130bbd17-dbb9-4790-9b12-2b0e9c9d22c3", time.Time{}, false},
		{"/api/v2.0/" + co + "/salesInvoices?$filter=lastModifiedDateTime%20gt%202018-10-15T11:00:00Z", "salesInvoices", "", since, false},
		{"/api/v2.0/" + co + "/salesInvoices?$filter=lastModifiedDateTime%20gt%202018-10-15T11:00:00.000Z", "salesInvoices", "", since, false},
		{"/api/v2.0/" + co + "/salesInvoices?$filter=lastModifiedDateTime%20ge%202018-10-15T13:00:00%2B02:00", "salesInvoices", "", since, false},
		{"/api/v2.0/" + co + "/salesInvoices", "salesInvoices", "", time.Time{}, false},
		{"/api/v2.0/" + co + "/salesInvoices/", "salesInvoices", "", time.Time{}, false},
		{"https://api.businesscentral.dynamics.com/v2.0/t/Production/api/v2.0/" + co + "/items(5d115c9c-44e3-ea11-bb43-000d3a2feca1)", "items", "5d115c9c-44e3-ea11-bb43-000d3a2feca1", time.Time{}, false},
		{"/api/contoso/app/v1.0/" + co + "/things('ITEM%2F1')", "things", "ITEM/1", time.Time{}, false},
		{"/api/contoso/app/v1.0/" + co + "/things('O''Brien')", "things", "O'Brien", time.Time{}, false},
		{"/api/contoso/app/v1.0/" + co + "/things(42)", "things", "42", time.Time{}, false},
		{"/api/v2.0/" + co + "/salesInvoices?$filter=number%20eq%20'1'", "salesInvoices", "", time.Time{}, true},
		{"/api/v2.0/" + co + "/salesInvoices?$filter=lastModifiedDateTime%20gt%20yesterday", "salesInvoices", "", time.Time{}, true},
		{"/api/v2.0/" + co + "/customers(abc", "customers", "", time.Time{}, true},
		{"/api/v2.0/" + co + "/customers('abc)", "customers", "", time.Time{}, true},
		{"/api/v2.0/" + co + "/customers()", "customers", "", time.Time{}, true},
		{"/api/v2.0/" + co + "/customers(%zz)", "customers", "", time.Time{}, true},
		{"", "", "", time.Time{}, true},
	} {
		got, err := parseResource(tc.in)
		if (err != nil) != tc.err {
			t.Errorf("parseResource(%q) error = %v, want error %v", tc.in, err, tc.err)
			continue
		}
		if err != nil {
			continue
		}
		if got.EntitySet != tc.set || got.Key != tc.key || !got.Since.Equal(tc.since) {
			t.Errorf("parseResource(%q) = %+v, want set %q key %q since %v", tc.in, got, tc.set, tc.key, tc.since)
		}
	}
}

func TestRedact(t *testing.T) {
	t.Parallel()
	const secret = "Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5"
	be := &bc.Error{StatusCode: 400, Code: "Application_StringExceededLength", Message: "Value: " + secret}
	for _, err := range []error{be, fmt.Errorf("creating: %w", be)} {
		r := redact(err, secret)
		var got *bc.Error
		if strings.Contains(r.Error(), secret) || !errors.As(r, &got) || got.Code != be.Code || got.StatusCode != 400 {
			t.Errorf("redact(%v) = %#v: want the *bc.Error without the secret", err, r)
		}
	}
	if r := redact(errors.New("plain "+secret), secret); strings.Contains(r.Error(), secret) || errors.Unwrap(r) != nil {
		t.Errorf("redact(plain) = %v: want the secret gone and nothing to unwrap to it", r)
	}
	nf := &bc.Error{StatusCode: 404, Code: "BadRequest_NotFound", Message: "no " + secret}
	if r := redact(fmt.Errorf("x: %w", nf), secret); !errors.Is(r, bc.ErrNotFound) || strings.Contains(r.Error(), secret) {
		t.Errorf("redact lost errors.Is(ErrNotFound) or kept the secret: %v", r)
	}
	plain := errors.New("no secret here")
	if redact(plain, secret) != plain {
		t.Error("redact changed an error without the secret")
	}
}

// FuzzParseNotifications feeds arbitrary bodies to the parser and the resource parser: they
// must not panic, and whatever they accept must be consistent.
func FuzzParseNotifications(f *testing.F) {
	f.Add(`{"value":[{"subscriptionId":"a","clientState":"s","resource":"api/v2.0/companies(b18aed47-c385-49d2-b954-dbdf8ad71780)/customers(130bbd17-dbb9-4790-9b12-2b0e9c9d22c3)","changeType":"created","lastModifiedDateTime":"2018-10-26T12:54:26.057Z"}]}`)
	f.Add(`{"value":[{"subscriptionId":"b","resource":"/api/v2.0/companies(b18aed47-c385-49d2-b954-dbdf8ad71780)/salesInvoices?$filter=lastModifiedDateTime%20gt%202018-10-15T11:00:00Z","changeType":"collection"}]}`)
	f.Add(`{"value":[{"subscriptionId":"c","resource":"/api/x/y/v1.0/companies(b18aed47-c385-49d2-b954-dbdf8ad71780)/t('O''B%2Fx')"}],"x":[{}]}`)
	f.Add(`{"value":[1,null,{"subscriptionId":5}]}`)
	f.Add(`{"value":[`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, body string) {
		items, skipped, err := parseNotifications(strings.NewReader(body))
		if skipped < 0 || len(items)+skipped > len(body) {
			t.Fatalf("%q: %d items, %d skipped", body, len(items), skipped)
		}
		if err == nil && json.Valid([]byte(body)) {
			var top map[string]json.RawMessage
			if json.Unmarshal([]byte(body), &top) != nil || top["value"] == nil {
				t.Fatalf("accepted %q, which has no value member", body)
			}
		}
		for _, n := range items {
			if n.SubscriptionID == "" {
				t.Fatalf("item without subscriptionId accepted from %q", body)
			}
			res, err := parseResource(n.Resource)
			if err == nil && res.EntitySet == "" {
				t.Fatalf("parseResource(%q) accepted a resource without an entity set", n.Resource)
			}
		}
		// The resource parser on its own, fed the raw input.
		if res, err := parseResource(body); err == nil && res.EntitySet == "" {
			t.Fatalf("parseResource(%q) accepted a resource without an entity set", body)
		}
	})
}
