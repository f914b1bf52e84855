package idp

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
)

// TestResourceCheckOrder: where the token endpoint checks the resource (AADSTS500011, a
// tenant without BC) among the client and secret checks decides what a tenant without BC
// answers to a wrong client ID, a disabled app or a wrong secret (bc-entra-facts §1.4,
// UNCONFIRMED order); each position answers as documented, and an unknown one is refused.
func TestResourceCheckOrder(t *testing.T) {
	t.Parallel()
	cases := map[string]func(url.Values){
		"unknown client": func(f url.Values) { f.Set("client_id", unknownClient) },
		"disabled app":   func(f url.Values) { f.Set("client_id", disabledApp) },
		"wrong secret":   func(f url.Values) { f.Set("client_secret", "nope") },
		"right secret":   func(url.Values) {},
	}
	want := map[ResourceCheck]map[string]int{
		"":                   {"unknown client": 500011, "disabled app": 500011, "wrong secret": 500011, "right secret": 500011},
		ResourceBeforeClient: {"unknown client": 500011, "disabled app": 500011, "wrong secret": 500011, "right secret": 500011},
		ResourceBeforeSecret: {"unknown client": 700016, "disabled app": 7000112, "wrong secret": 500011, "right secret": 500011},
		ResourceLast:         {"unknown client": 700016, "disabled app": 7000112, "wrong secret": 7000215, "right secret": 500011},
	}
	for order, codes := range want {
		t.Run(fmt.Sprintf("order=%q", order), func(t *testing.T) {
			t.Parallel()
			f := setup(t, func(c *Config) { c.ResourceCheck = order })
			// The same apps in the tenant without BC.
			must(t, f.dir.AddApp(noBCTenantID, App{ClientID: goodClient, DisplayName: "BC connector", Enabled: true, Secrets: []Secret{{Value: goodSecret}}}))
			must(t, f.dir.AddApp(noBCTenantID, App{ClientID: disabledApp, DisplayName: "Old Sync", Secrets: []Secret{{Value: goodSecret}}}))
			for name, mod := range cases {
				form := goodForm()
				mod(form)
				body := decodeJSON[errorBody](t, f.do("POST", tokenPath(noBCTenantID), form))
				if len(body.ErrorCodes) != 1 || body.ErrorCodes[0] != codes[name] {
					t.Errorf("%s: AADSTS %v, want %d", name, body.ErrorCodes, codes[name])
				}
			}
			// A tenant with BC is not affected.
			if w := f.do("POST", tokenPath(tenantID), goodForm()); w.Code != 200 {
				t.Errorf("tenant with BC: %d %s", w.Code, w.Body)
			}
		})
	}
	if _, err := NewServer(Config{ResourceCheck: "after-lunch", Key: testKey()}); err == nil || !strings.Contains(err.Error(), "before-client") {
		t.Errorf("unknown order: %v, want an error naming the choices", err)
	}
	if rc, err := ParseResourceCheck(" Last "); err != nil || rc != ResourceLast {
		t.Errorf("ParseResourceCheck(\" Last \") = %q, %v", rc, err)
	}
}
