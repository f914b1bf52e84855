package store

import (
	"errors"
	"strings"
	"testing"
)

func TestDefaultName(t *testing.T) {
	t.Parallel()
	// The setup guide, Step 1: "Bizzjoiner – BC Connector – ProductionEnvironment – Company X".
	if got, want := DefaultName("ProductionEnvironment", "Company X"), "Bizzjoiner \u2013 BC Connector \u2013 ProductionEnvironment \u2013 Company X"; got != want {
		t.Fatalf("DefaultName = %q, want %q", got, want)
	}
}

func TestNewID(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 1000 {
		id := NewID()
		if len(id) != 16 || strings.Trim(id, "0123456789abcdef") != "" || seen[id] {
			t.Fatalf("bad or repeated ID %q", id)
		}
		seen[id] = true
	}
}

func TestNormalize(t *testing.T) {
	t.Parallel()
	valid := func() Connection {
		return Connection{TenantID: " 72F988BF-86F1-41AF-91AB-2D7CD011DB47 ", ClientID: "0B6E3A0C-2E1A-4B55-8D55-4A8F3D5E6C7B",
			Environment: "Production", CompanyName: "Company X"}
	}
	c := valid()
	if err := c.Normalize(); err != nil {
		t.Fatal(err)
	}
	if c.TenantID != "72f988bf-86f1-41af-91ab-2d7cd011db47" || c.ClientID != "0b6e3a0c-2e1a-4b55-8d55-4a8f3d5e6c7b" {
		t.Errorf("GUIDs not normalised: %q %q", c.TenantID, c.ClientID)
	}
	if c.Name != DefaultName("Production", "Company X") {
		t.Errorf("Name = %q", c.Name)
	}
	c = valid()
	c.CompanyName, c.CompanyID = "", "5D115C9C-44E3-EA11-BB43-000D3A2FEEF8"
	if err := c.Normalize(); err != nil || c.Name != DefaultName("Production", "5d115c9c-44e3-ea11-bb43-000d3a2feef8") {
		t.Errorf("Name from company ID = %q, %v", c.Name, err)
	}
	for _, tenant := range []string{"contoso.onmicrosoft.com", "Contoso.COM", "a-b.c-d.example"} {
		c = valid()
		c.TenantID = tenant
		if err := c.Normalize(); err != nil || c.TenantID != tenant {
			t.Errorf("tenant %q: %v (%q)", tenant, err, c.TenantID)
		}
	}
	for _, tenant := range []string{"contoso", "-a.com", "a..com", "a_b.com", "{72f988bf-86f1-41af-91ab-2d7cd011db47}", "common/x"} {
		c = valid()
		c.TenantID = tenant
		if err := c.Normalize(); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "Step 2") {
			t.Errorf("tenant %q: err = %v, want ErrInvalid pointing at Step 2", tenant, err)
		}
	}
}

// TestNormalizeCompanies: the connection's own company is the first of the list (taken
// from it when not given), entries are checked with messages naming the field.
func TestNormalizeCompanies(t *testing.T) {
	t.Parallel()
	c := Connection{TenantID: "contoso.onmicrosoft.com", ClientID: "0b6e3a0c-2e1a-4b55-8d55-4a8f3d5e6c7b", Environment: "Production",
		Companies: []Company{{Name: "Fabrikam & O'Brien Ltd."}, {Name: "Company X"}}}
	if err := c.Normalize(); err != nil {
		t.Fatal(err)
	}
	if c.CompanyName != "Fabrikam & O'Brien Ltd." || len(c.Companies) != 2 || c.Companies[0].Name != c.CompanyName {
		t.Errorf("own company from the list: %q %+v", c.CompanyName, c.Companies)
	}
	if co, ok := c.FindCompany("company x"); !ok || co.Name != "Company X" {
		t.Errorf("FindCompany any case: %+v %v", co, ok)
	}
	if _, ok := c.FindCompany("Company Y"); ok {
		t.Error("FindCompany found a company the connection does not have")
	}
	for _, tc := range []struct {
		cos  []Company
		want string
	}{
		{[]Company{{}}, "neither an ID nor a name"},
		{[]Company{{ID: "not-a-guid"}}, "is not a GUID"},
		{[]Company{{Name: "A"}, {Name: "A"}}, "listed twice"},
		{[]Company{{Name: "bad\x00name"}}, "control characters"},
	} {
		c := Connection{TenantID: "contoso.onmicrosoft.com", ClientID: "0b6e3a0c-2e1a-4b55-8d55-4a8f3d5e6c7b", Environment: "Production",
			CompanyName: "Company X", Companies: tc.cos}
		if err := c.Normalize(); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "companies") {
			t.Errorf("%+v: %v, want ErrInvalid naming companies and %q", tc.cos, err, tc.want)
		}
	}
}

func FuzzNormalize(f *testing.F) {
	f.Add("72F988BF-86F1-41AF-91AB-2D7CD011DB47", "0B6E3A0C-2E1A-4B55-8D55-4A8F3D5E6C7B", "Production", "", "Company X", "", "customers")
	f.Add("contoso.onmicrosoft.com", "0b6e3a0c-2e1a-4b55-8d55-4a8f3d5e6c7b", "Sandbox", "5d115c9c-44e3-ea11-bb43-000d3a2feef8", "", "https://x/", "a b")
	f.Fuzz(func(t *testing.T, tenant, client, env, companyID, companyName, authority, entity string) {
		c := Connection{TenantID: tenant, ClientID: client, Environment: env, CompanyID: companyID,
			CompanyName: companyName, AuthorityHost: authority, Entities: []string{entity}}
		if err := c.Normalize(); err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		once := c
		once.Entities = append([]string(nil), c.Entities...)
		if err := c.Normalize(); err != nil {
			t.Fatalf("Normalize not idempotent: %v", err)
		}
		if c.Name != once.Name || c.TenantID != once.TenantID || c.CompanyID != once.CompanyID {
			t.Fatalf("Normalize not idempotent: %+v vs %+v", c, once)
		}
	})
}
