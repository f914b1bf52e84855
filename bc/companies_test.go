package bc

import (
	"errors"
	"strings"
	"testing"

	"github.com/bizzjoiner/bcconnector/guide"

	"github.com/bizzjoiner/bcconnector/emulator"
)

func TestCompanyByName(t *testing.T) {
	t.Parallel()
	e := setup(t, emulator.Config{})
	c := e.client(Options{})
	all, err := c.Companies(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(all) < 3 {
		t.Fatalf("%d companies", len(all))
	}
	for _, name := range []string{emulator.DemoCompany, emulator.DemoCompanyAmpersand, emulator.DemoCompanyUnicode, strings.ToUpper(emulator.DemoCompanyUnicode)} {
		co, err := c.CompanyByName(t.Context(), name)
		if err != nil {
			t.Errorf("%q: %v", name, err)
			continue
		}
		if !strings.EqualFold(co.Name, name) || !guide.IsGUID(co.ID) {
			t.Errorf("%q resolved to %+v", name, co)
		}
		// Reads and writes then go by id.
		p, err := c.ListPage(t.Context(), Set(co.ID, "customers"), &Query{Top: 1})
		if err != nil || len(p.Records) != 1 {
			t.Errorf("%q: customers by id: %v", name, err)
		}
		// The name as a filter literal finds exactly this company.
		byFilter, err := c.ListPage(t.Context(), Ref{Path: "companies"}, &Query{Filter: Eq("name", co.Name)})
		if err != nil || len(byFilter.Records) != 1 || byFilter.Records[0].ID != co.ID {
			t.Errorf("%q: $filter on name: %v", name, err)
		}
	}
	_, err = c.CompanyByName(t.Context(), "Company Y")
	if !errors.Is(err, ErrCompanyNotFound) || !strings.Contains(err.Error(), `"Fabrikam & O'Brien Ltd."`) {
		t.Errorf("unknown company: %v", err)
	}
}
