package bc

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"testing"

	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/emulator/datagen"
)

// glPage is one 20,000-row page of generalLedgerEntries as the emulator serves it, fetched
// once per test binary.
var glPage = sync.OnceValues(func() ([]byte, error) {
	emu, err := emulator.New(emulator.Config{Sizes: datagen.Sizes{"generalLedgerEntries": 20000}})
	if err != nil {
		return nil, err
	}
	defer emu.Close()
	srv := httptest.NewTLSServer(emu)
	defer srv.Close()
	creds := emu.Credentials()
	e := &testEnv{emu: emu, srv: srv, creds: creds}
	tok, err := e.tokens().Token(context.Background())
	if err != nil {
		return nil, err
	}
	u := srv.URL + "/v2.0/" + creds.TenantID + "/" + creds.Environment + "/api/v2.0/companies(" + emu.DemoCompanyRef().CompanyID + ")/generalLedgerEntries"
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := srv.Client().Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("status %d: %.200s", resp.StatusCode, data)
	}
	return data, err
})

// BenchmarkDecodeGLPage decodes a 20,000-row page of generalLedgerEntries from memory:
// records per second and allocations per record.
func BenchmarkDecodeGLPage(b *testing.B) {
	data, err := glPage()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var records int
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	for b.Loop() {
		p, err := DecodePage(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		if len(p.Records) != 20000 || p.Records[19999].ID == "" || p.Records[19999].LastModified.IsZero() {
			b.Fatalf("decoded %d records", len(p.Records))
		}
		records += len(p.Records)
	}
	runtime.ReadMemStats(&ms1)
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/float64(records), "allocs/record")
}

// TestGLPageDecodes keeps the benchmark's input honest: 20,000 records, all whole.
func TestGLPageDecodes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 20,000-row page")
	}
	t.Parallel()
	data, err := glPage()
	if err != nil {
		t.Fatal(err)
	}
	p, err := DecodePage(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Records) != 20000 {
		t.Fatalf("%d records", len(p.Records))
	}
	var g GeneralLedgerEntry
	if err := p.Records[123].Decode(&g); err != nil || g.ID != p.Records[123].ID || g.PostingDate.IsZero() || g.EntryNumber == 0 {
		t.Errorf("entry %+v, %v", g, err)
	}
}
