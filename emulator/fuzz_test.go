package emulator_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bizzjoiner/bcconnector/emulator"
)

// fuzzTarget serves requests in-process with a valid token, so fuzzing exercises the
// handlers rather than TLS.
func fuzzTarget(f *testing.F) (*emulator.Emulator, string, string) {
	e := setup(f, emulator.Config{})
	tok, err := e.getToken()
	if err != nil {
		f.Fatal(err)
	}
	host := e.srv.Host()
	return e.emu, tok, "https://" + host + "/v2.0/" + e.creds.TenantID + "/Production/api/v2.0/companies(" + e.emu.DemoCompanyRef().CompanyID + ")"
}

func serve(emu *emulator.Emulator, tok, method, url, body string, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	emu.ServeHTTP(rec, req)
	return rec
}

// FuzzWriteBody: any JSON body POSTed or PATCHed gets a 2xx or a 4xx with BC's error
// body, never a panic or a 5xx.
func FuzzWriteBody(f *testing.F) {
	for _, s := range []string{
		`{"displayName":"A"}`, `{"displayName":"A","creditLimit":"12"}`, `{"blocked":"All"}`, `{"number":123}`,
		`{"displayName":null}`, `[]`, `{`, `{"id":"not-a-guid"}`, `{"salesInvoiceLines":[{}]}`, `{"displayName":"` + strings.Repeat("x", 200) + `"}`,
		`{"lastModifiedDateTime":"2024-01-01T00:00:00Z"}`, `{"creditLimit":1e400}`,
	} {
		f.Add(s)
	}
	emu, tok, base := fuzzTarget(f)
	var id string
	for row := range emu.Rows(emu.DemoCompanyRef(), "customers") {
		id = row["id"].(string)
		break
	}
	f.Fuzz(func(t *testing.T, body string) {
		for _, req := range []struct{ method, url string }{
			{http.MethodPost, base + "/customers"},
			{http.MethodPatch, base + "/customers(" + id + ")"},
			{http.MethodPost, base + "/salesInvoices"},
		} {
			rec := serve(emu, tok, req.method, req.url, body, "If-Match", "*", "Content-Type", "application/json")
			if rec.Code >= 500 {
				t.Fatalf("%s %s with %q: %d %s", req.method, req.url, body, rec.Code, rec.Body)
			}
			if rec.Code >= 400 && !strings.Contains(rec.Body.String(), `"error":{"code":`) {
				t.Fatalf("error without BC body: %d %s", rec.Code, rec.Body)
			}
		}
	})
}

// FuzzBatch: any $batch body is answered without a panic or 5xx.
func FuzzBatch(f *testing.F) {
	f.Add(`{"requests":[{"method":"GET","url":"companies"}]}`)
	f.Add(`{"requests":[{"method":"POST","url":"companies(x)/customers","body":{"displayName":"a"}}]}`)
	f.Add(`{"requests":[{"method":"PATCH","url":"/$batch","body":null}]}`)
	f.Add(`{"requests":"x"}`)
	emu, tok, base := fuzzTarget(f)
	root := base[:strings.Index(base, "/companies(")]
	f.Fuzz(func(t *testing.T, body string) {
		for _, iso := range []string{"", "snapshot"} {
			rec := serve(emu, tok, http.MethodPost, root+"/$batch", body, "Isolation", iso, "Content-Type", "application/json")
			if rec.Code >= 500 {
				t.Fatalf("$batch %q: %d %s", body, rec.Code, rec.Body)
			}
		}
	})
}

// FuzzQuery: any query string on a list answers 200 or 4xx.
func FuzzQuery(f *testing.F) {
	for _, s := range []string{
		"$filter=number eq '1'", "$orderby=displayName desc&$top=3", "$select=id,number", "$expand=salesInvoiceLines",
		"$skiptoken=eyJpIjoiYSJ9", "$filter=(((", "$count=true", "$skip=-1", "company=x",
	} {
		f.Add(s)
	}
	emu, tok, base := fuzzTarget(f)
	f.Fuzz(func(t *testing.T, q string) {
		for _, set := range []string{"customers", "salesInvoices", "generalLedgerEntries"} {
			req := httptest.NewRequest(http.MethodGet, base+"/"+set, nil)
			req.URL.RawQuery = q
			req.Header.Set("Authorization", "Bearer "+tok)
			rec := httptest.NewRecorder()
			emu.ServeHTTP(rec, req)
			if rec.Code >= 500 {
				t.Fatalf("GET %s?%s: %d %s", set, q, rec.Code, rec.Body)
			}
		}
	})
}
