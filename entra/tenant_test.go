package entra

import (
	"strings"
	"testing"
)

func TestIssuerTenant(t *testing.T) {
	for _, c := range []struct{ doc, want, err string }{
		{`{"issuer":"https://login.microsoftonline.com/72F988BF-86F1-41AF-91AB-2D7CD011DB47/v2.0"}`, "72f988bf-86f1-41af-91ab-2d7cd011db47", ""},
		{`{"issuer":"https://127.0.0.1:8443/7c0b7a3e-1111-4222-8333-944455556666/v2.0"}`, "7c0b7a3e-1111-4222-8333-944455556666", ""},
		{`{"issuer":"https://login.microsoftonline.com/{tenantid}/v2.0"}`, "", "names no tenant ID"},
		{`{"issuer":""}`, "", "not a URL"},
		{`<html>`, "", "not JSON"},
	} {
		got, err := IssuerTenant([]byte(c.doc))
		if got != c.want || (c.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("IssuerTenant(%s) = %q, %v; want %q, %q", c.doc, got, err, c.want, c.err)
		}
	}
}

func FuzzIssuerTenant(f *testing.F) {
	f.Add([]byte(`{"issuer":"https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0"}`))
	f.Add([]byte(`{"issuer":"https://x/%zz/v2.0"}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		id, err := IssuerTenant(doc)
		if err == nil && !guidRE.MatchString(id) {
			t.Errorf("IssuerTenant returned %q, not a GUID", id)
		}
	})
}
