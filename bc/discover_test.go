package bc

import (
	"errors"
	"slices"
	"testing"

	"github.com/bizzjoiner/bcconnector/bcschema"
	"github.com/bizzjoiner/bcconnector/emulator"
)

// TestDiscover reads the route listing and every API's $metadata from the emulator: the
// standard API, a custom API with lastModifiedDateTime, one without, one with a composite
// key; an extension field added at run time shows up marked, and goes away again.
func TestDiscover(t *testing.T) {
	t.Parallel()
	env := setup(t, emulator.Config{})
	c := env.client(Options{})
	ctx := t.Context()

	routes, err := c.APIRoutes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var apis []string
	for _, r := range routes {
		apis = append(apis, r.API().Route())
	}
	want := []string{"v2.0", "microsoft/automation/v2.0", "contoso/inventory/v1.0", "contoso/warehouse/v1.0", "fabrikam/pricing/v2.0"}
	if !slices.Equal(apis, want) {
		t.Fatalf("routes %v, want %v", apis, want)
	}

	d, err := c.Discover(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Failed) > 0 || len(d.APIs) != 4 || d.APIs[0].API != StandardAPI {
		t.Fatalf("APIs %d, failed %v", len(d.APIs), d.Failed)
	}
	if n := len(d.APIs[0].EntitySets); n != len(bcschema.MustLoad().Entities) {
		t.Errorf("standard API: %d sets", n)
	}
	check := func(api API, set string, key []string, lastModified bool) *EntitySetSchema {
		t.Helper()
		m, ok := d.API(api)
		if !ok {
			t.Fatalf("API %s not discovered", api)
		}
		s, ok := m.EntitySet(set)
		if !ok {
			t.Fatalf("%s: no set %s", api, set)
		}
		if !slices.Equal(s.Key, key) || s.LastModified != lastModified {
			t.Errorf("%s %s: key %v lastModified %v, want %v %v", api, set, s.Key, s.LastModified, key, lastModified)
		}
		return s
	}
	check(CustomAPI("contoso", "inventory", "v1.0"), "inventoryLevels", []string{"id"}, true)
	check(CustomAPI("contoso", "warehouse", "v1.0"), "binContents", []string{"id"}, false)
	pl := check(CustomAPI("fabrikam", "pricing", "v2.0"), "priceListLines", []string{"priceListCode", "lineNumber"}, true)
	if f, _ := pl.Field("lineNumber"); f.Type != "Edm.Int32" || f.Nullable {
		t.Errorf("lineNumber %+v", f)
	}
	cust := check(StandardAPI, "customers", []string{"id"}, true)
	for _, f := range cust.Fields {
		if f.Extension {
			t.Errorf("customers.%s marked as extension before any was installed", f.Name)
		}
	}

	// A table extension adds a field: it is in $metadata, marked.
	if err := env.emu.AddExtensionField("customers", bcschema.Field{Name: "loyaltyTier", Type: bcschema.TypeString, MaxLength: 20}); err != nil {
		t.Fatal(err)
	}
	d, err = c.Discover(ctx, &DiscoverOptions{APIs: []API{StandardAPI}})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.APIs) != 1 {
		t.Fatalf("APIs limited to the standard one: got %d", len(d.APIs))
	}
	cust = check(StandardAPI, "customers", []string{"id"}, true)
	if f, ok := cust.Field("loyaltyTier"); !ok || !f.Extension || f.Type != "Edm.String" || f.MaxLength != 20 {
		t.Fatalf("loyaltyTier %+v %v", f, ok)
	}
	rec, err := c.Get(ctx, env.set("customers"), firstID(t, env, "customers"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := rec.Lookup("loyaltyTier"); !ok {
		t.Errorf("the record has no loyaltyTier: %s", rec.Raw)
	}
	if err := env.emu.RemoveExtensionField("customers", "loyaltyTier"); err != nil {
		t.Fatal(err)
	}
	m, err := c.Metadata(ctx, StandardAPI)
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := m.EntitySet("customers"); s == nil {
		t.Fatal("customers gone")
	} else if _, ok := s.Field("loyaltyTier"); ok {
		t.Error("loyaltyTier still in $metadata after the extension was removed")
	}

	// An API the environment does not list is refused by name; a route that is not an API
	// answers 404 as BC does.
	if _, err := c.Discover(ctx, &DiscoverOptions{APIs: []API{CustomAPI("nobody", "x", "v1.0")}}); err == nil {
		t.Error("Discover of an unlisted API succeeded")
	}
	_, err = c.Metadata(ctx, CustomAPI("nobody", "x", "v1.0"))
	var be *Error
	if !errors.As(err, &be) || be.StatusCode != 404 {
		t.Errorf("Metadata of an unknown API: %v", err)
	}
}

func firstID(t *testing.T, env *testEnv, set string) string {
	t.Helper()
	for row := range env.emu.Rows(env.emu.DemoCompanyRef(), set) {
		return row["id"].(string)
	}
	t.Fatalf("no %s", set)
	return ""
}
