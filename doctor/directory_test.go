package doctor

import (
	"strings"
	"testing"
)

// TestNamedDirectory reads the directory Entra's errors name (bc-entra-facts §1.4).
func TestNamedDirectory(t *testing.T) {
	t.Parallel()
	for desc, want := range map[string]string{
		"AADSTS700016: Application with identifier 'x' was not found in the directory 'Contoso'. This can happen…":                                                  "Contoso",
		"AADSTS700016: Application with identifier 'x' was not found in the directory '72f988bf-86f1-41af-91ab-2d7cd011db47'.":                                      "72f988bf-86f1-41af-91ab-2d7cd011db47",
		"AADSTS500011: The resource principal named https://api.businesscentral.dynamics.com was not found in the tenant named Northwind Traders. This can happen…": "Northwind Traders",
		"AADSTS7000215: Invalid client secret provided.": "",
		"": "",
	} {
		if got := namedDirectory(desc); got != want {
			t.Errorf("namedDirectory(%q) = %q, want %q", desc, got, want)
		}
	}
}

// FuzzNamedDirectory: any error description gives "" or a part of it, never a panic, and
// tenantFirst decides on it without a panic.
func FuzzNamedDirectory(f *testing.F) {
	f.Add("was not found in the directory 'Default Directory'. ", "contoso.com")
	f.Add("was not found in the tenant named Fabrikam. This", "72f988bf-86f1-41af-91ab-2d7cd011db47")
	f.Add("in the directory ''", "")
	f.Fuzz(func(t *testing.T, desc, typed string) {
		named := namedDirectory(desc)
		if named != "" && !strings.Contains(desc, named) {
			t.Fatalf("%q named %q, which it does not contain", desc, named)
		}
		if _, why := tenantFirst(typed, named); why == "" {
			t.Fatalf("tenantFirst(%q, %q) gave no reason", typed, named)
		}
	})
}
