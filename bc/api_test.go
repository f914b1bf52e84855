package bc

import (
	"context"
	"strings"
	"testing"
)

const (
	tenantGUID = "11111111-2222-3333-4444-555555555555"
	companyID  = "5d115c9c-44e3-ea11-bb43-000d3a2feca1"
	invoiceID  = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
)

type nopTokens struct{}

func (nopTokens) Token(context.Context) (string, error) { return "t", nil }

func newOffline(t *testing.T) *Client {
	t.Helper()
	c, err := New(Options{TenantID: tenantGUID, Environment: "Production", Tokens: nopTokens{}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRefURL(t *testing.T) {
	t.Parallel()
	c := newOffline(t)
	root := "https://api.businesscentral.dynamics.com/v2.0/" + tenantGUID + "/Production/"
	tests := []struct {
		name  string
		ref   Ref
		key   string
		q     *Query
		extra []string
		want  string
	}{
		{"standard set", Set(companyID, "customers"), "", nil, nil,
			root + "api/v2.0/companies(" + companyID + ")/customers"},
		{"entity", Set(companyID, "customers"), invoiceID, nil, nil,
			root + "api/v2.0/companies(" + companyID + ")/customers(" + invoiceID + ")"},
		{"child", Set(companyID, "salesInvoices").Child(invoiceID, "salesInvoiceLines"), "", nil, nil,
			root + "api/v2.0/companies(" + companyID + ")/salesInvoices(" + invoiceID + ")/salesInvoiceLines"},
		{"action", Set(companyID, "salesInvoices"), invoiceID, nil, []string{"Microsoft.NAV.post"},
			root + "api/v2.0/companies(" + companyID + ")/salesInvoices(" + invoiceID + ")/Microsoft.NAV.post"},
		{"custom API", Ref{API: CustomAPI("contoso", "inventory", "v1.0"), CompanyID: companyID, Path: "inventoryLevels"}, "", nil, nil,
			root + "api/contoso/inventory/v1.0/companies(" + companyID + ")/inventoryLevels"},
		{"automation API", Ref{API: AutomationAPI, Path: "automationCompanies"}, "", nil, nil,
			root + "api/microsoft/automation/v2.0/automationCompanies"},
		{"companies", Ref{Path: "companies"}, "", nil, nil, root + "api/v2.0/companies"},
		{"string key quoted", Ref{Path: "subscriptions"}, "c670ea73cacb459bb51dc1740da2f1db", nil, nil,
			root + "api/v2.0/subscriptions('c670ea73cacb459bb51dc1740da2f1db')"},
		{"string key with quote and space", Ref{Path: "subscriptions"}, "O'Brien & co", nil, nil,
			root + "api/v2.0/subscriptions('O''Brien%20&%20co')"},
		{"count", Set(companyID, "items"), "", nil, []string{"$count"},
			root + "api/v2.0/companies(" + companyID + ")/items/$count"},
		{"query", Set(companyID, "customers"), "", &Query{Filter: Eq("displayName", "A & B"), Select: []string{"id", "number"}}, nil,
			root + "api/v2.0/companies(" + companyID + ")/customers?$filter=displayName%20eq%20'A%20%26%20B'&$select=id,number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.refURL(tt.ref, tt.key, tt.q, tt.extra...)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestRefURLErrors(t *testing.T) {
	t.Parallel()
	c := newOffline(t)
	tests := []struct {
		name string
		ref  Ref
		key  string
		want string
	}{
		{"company set without company", Ref{Path: "customers"}, "", "has no CompanyID"},
		{"company name instead of id", Ref{CompanyID: "CRONUS USA, Inc.", Path: "customers"}, "", "is not a company id"},
		{"empty path", Ref{CompanyID: companyID}, "", "Ref.Path is empty"},
		{"query smuggled into path", Ref{CompanyID: companyID, Path: "customers?$top=1"}, "", "not an entity set"},
		{"path traversal", Ref{CompanyID: companyID, Path: "../customers"}, "", "not an entity set"},
		{"bad key", Ref{CompanyID: companyID, Path: "salesInvoices(1 or 1)/salesInvoiceLines"}, "", "is not a GUID"},
		{"slash in a string key", Ref{Path: "subscriptions"}, "a/../b", "not a GUID, an integer or a quoted string"},
		{"unterminated quoted key", Ref{CompanyID: companyID, Path: "x('abc)/y"}, "", "unterminated"},
		{"companies twice", Ref{CompanyID: companyID, Path: "companies"}, "", "names a company twice"},
		{"bad custom API", Ref{API: CustomAPI("con toso", "g", "v1.0"), CompanyID: companyID, Path: "x"}, "", "may only hold"},
		{"key after keyed path", Ref{CompanyID: companyID, Path: "customers(" + companyID + ")"}, companyID, "already ends in a key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.refURL(tt.ref, tt.key, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestNewValidatesOptions(t *testing.T) {
	t.Parallel()
	ok := Options{TenantID: tenantGUID, Environment: "Production", Tokens: nopTokens{}}
	tests := []struct {
		name string
		edit func(*Options)
		want string
	}{
		{"no tokens", func(o *Options) { o.Tokens = nil }, "Options.Tokens"},
		{"no tenant", func(o *Options) { o.TenantID = "" }, "Options.TenantID is empty"},
		{"placeholder tenant", func(o *Options) { o.TenantID = "your tenant id" }, "neither a GUID nor a domain"},
		{"no environment", func(o *Options) { o.Environment = "" }, "Options.Environment is empty"},
		{"environment with slash", func(o *Options) { o.Environment = "Production/api" }, "environment names hold only"},
		{"http base", func(o *Options) { o.BaseURL = "http://api.businesscentral.dynamics.com/v2.0" }, "must use https"},
		{"relative base", func(o *Options) { o.BaseURL = "v2.0" }, "not an absolute URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := ok
			tt.edit(&o)
			_, err := New(o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
	o := ok
	o.TenantID = "contoso.onmicrosoft.com"
	if _, err := New(o); err != nil {
		t.Errorf("domain tenant: %v", err)
	}
}

func TestCheckLink(t *testing.T) {
	t.Parallel()
	c := newOffline(t)
	root := "https://api.businesscentral.dynamics.com/v2.0/" + tenantGUID + "/Production/api/v2.0/"
	link := root + "companies(" + companyID + ")/customers?$skiptoken=abc%3D%3D&aid=FIN"
	got, err := c.checkLink(link)
	if err != nil || got != link {
		t.Fatalf("checkLink(own host) = %q, %v; want the link verbatim", got, err)
	}
	for _, bad := range []string{
		"https://evil.example.com/v2.0/x?$skiptoken=1",
		"http://api.businesscentral.dynamics.com/v2.0/x",
		"",
	} {
		if _, err := c.checkLink(bad); err == nil {
			t.Errorf("checkLink(%q) accepted a link the token must not follow", bad)
		}
	}
}
