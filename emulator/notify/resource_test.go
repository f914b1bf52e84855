package notify

import (
	"strings"
	"testing"
)

func TestParseResource(t *testing.T) {
	t.Parallel()
	up := strings.ToUpper(company)
	tests := []struct {
		in, prefix string
		want       string // canonical; "" = error
		errPart    string
	}{
		{custRes, "api/v2.0", custChanged, ""},
		{custChanged, "api/v2.0", custChanged, ""},
		{"companies(" + company + ")/customers", "api/v2.0", custChanged, ""},
		{"companies(" + company + ")/customers", "api/contoso/app/v1.0", "api/contoso/app/v1.0/companies(" + company + ")/customers", ""},
		{"/api/v2.0/companies(" + up + ")/customers/", "api/v2.0", custChanged, ""},
		{"/api/contoso/app/v1.0/companies(" + company + ")/widgets", "api/v2.0", "api/contoso/app/v1.0/companies(" + company + ")/widgets", ""},
		{"https://api.businesscentral.dynamics.com/v2.0/tenant/Production/api/v2.0/companies(" + company + ")/items", "", "api/v2.0/companies(" + company + ")/items", ""},
		{"https://api.businesscentral.dynamics.com/v2.0/Production/api/microsoft/automation/v2.0/companies(" + company + ")/users", "", "api/microsoft/automation/v2.0/companies(" + company + ")/users", ""},
		{"/v2.0/tenant/Production/api/v2.0/companies(" + company + ")/items", "", "api/v2.0/companies(" + company + ")/items", ""},
		{"", "api/v2.0", "", "must not be blank"},
		{"   ", "api/v2.0", "", "must not be blank"},
		{"companies(" + company + ")/customers", "", "", "no API route"},
		{"/api/v2.0/customers", "api/v2.0", "", "no companies({companyId}) segment"},
		{"/api/v2.0/companies(" + company + ")", "api/v2.0", "", "exactly one entity set"},
		{"/api/v2.0/companies(" + company + ")/salesInvoices(" + k1 + ")/salesInvoiceLines", "api/v2.0", "", "exactly one entity set"},
		{"/api/v2.0/companies(" + company + ")/customers(" + k1 + ")", "api/v2.0", "", "not an entity set name"},
		{"/api/v2.0/companies('CRONUS')/customers", "api/v2.0", "", "unquoted GUID"},
		{"/api/v2.0/companies(" + company[:35] + ")/customers", "api/v2.0", "", "unquoted GUID"},
		{"/api/v2.0/companies(" + strings.Replace(company, "-", "x", 1) + ")/customers", "api/v2.0", "", "unquoted GUID"},
		{"/api/v2.0/companies(" + company + ")/customers?$filter=x", "api/v2.0", "", "query options"},
		{"https://h/api/v2.0/companies(" + company + ")/customers?$top=1", "", "", "query options"},
		{"https:///api/v2.0/companies(" + company + ")/customers", "", "", "absolute http(s) URL"},
		{"ftp://h/api/v2.0/companies(" + company + ")/customers", "", "", "absolute http(s) URL"},
		{"/api//v2.0/companies(" + company + ")/customers", "api/v2.0", "", "empty path segment"},
		{"/api/a/b/companies(" + company + ")/customers", "api/v2.0", "", "neither api/{version}"},
		{"/v2.0/companies(" + company + ")/customers", "api/v2.0", "", "neither api/{version}"},
		{"/api/v2.0/companies(" + company + ")/cust-omers", "api/v2.0", "", "not an entity set name"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			ref, err := parseResource(tt.in, tt.prefix)
			if tt.want != "" {
				if err != nil {
					t.Fatalf("error %v", err)
				}
				if got := ref.canonical(); got != tt.want {
					t.Errorf("canonical %q, want %q", got, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("parsed as %q, want an error", ref.canonical())
			}
			if !strings.Contains(err.Error(), tt.errPart) {
				t.Errorf("error %q does not contain %q", err, tt.errPart)
			}
		})
	}
}

func TestWithQuery(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"https://h/cb":          "https://h/cb?validationToken=t",
		"https://h/cb?code=1":   "https://h/cb?code=1&validationToken=t",
		"https://h/cb?":         "https://h/cb?validationToken=t",
		"https://h/cb?a=1&":     "https://h/cb?a=1&validationToken=t",
		"https://h/cb#fragment": "https://h/cb?validationToken=t",
	} {
		if got := withQuery(in, "validationToken=t"); got != want {
			t.Errorf("withQuery(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestValidateNotificationURL(t *testing.T) {
	t.Parallel()
	for in, ok := range map[string]bool{
		"https://example.com/hook":       true,
		"http://localhost:8080/hook?x=1": true,
		"":                               false,
		"example.com/hook":               false,
		"https://":                       false,
		"mailto:a@b.c":                   false,
		" https://example.com/hook":      false,
		"https://exa mple.com/":          false,
	} {
		if err := validateNotificationURL(in); (err == nil) != ok {
			t.Errorf("validateNotificationURL(%q) = %v, want ok=%v", in, err, ok)
		}
	}
}
