package permset

import (
	"strings"
	"testing"
)

// TestGenerateCustomAPISets: a custom API set with its table given is granted (R to read,
// RIMD to write) next to the standard sets' tables; one without is named as not covered,
// with what to add; only custom sets is not "no entity sets".
func TestGenerateCustomAPISets(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	opt := Options{Custom: map[string]Table{"contoso/warehouse/v1.0/binContents": {ID: 7354, Name: "Bin Content"}}}
	err := Generate(&b, []string{"customers", "contoso/warehouse/v1.0/binContents", "fabrikam/pricing/v2.0/priceListLines"}, nil, opt)
	if err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		`tabledata "Bin Content" = R`,
		"tabledata Customer = R",
		"Custom API pages, with the tables given for them:", "contoso/warehouse/v1.0/binContents",
		"Not covered (custom API pages; $metadata does not name the table behind a page):", "fabrikam/pricing/v2.0/priceListLines",
		`Add tabledata "<the page's SourceTable>" = R (RIMD to write)`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	b.Reset()
	if err := Generate(&b, nil, []string{"contoso/warehouse/v1.0/binContents"}, opt); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `tabledata "Bin Content" = RIMD`) {
		t.Errorf("write grant missing:\n%s", b.String())
	}
	b.Reset()
	if err := Generate(&b, []string{"fabrikam/pricing/v2.0/priceListLines"}, nil, Options{}); err != nil {
		t.Fatalf("only an unknown custom set: %v", err)
	}
	if strings.Contains(b.String(), "Permissions =") || !strings.Contains(b.String(), "Not covered (custom API pages") {
		t.Errorf("only an unknown custom set:\n%s", b.String())
	}
	bad := Options{Custom: map[string]Table{"a/b/v1.0/c": {Name: ""}}}
	if err := Generate(&b, []string{"a/b/v1.0/c"}, nil, bad); err == nil {
		t.Error("a custom table without a name was accepted")
	}
}
