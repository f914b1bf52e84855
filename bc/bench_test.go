package bc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"sync"
	"testing"

	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/emulator/datagen"
	"github.com/bizzjoiner/bcconnector/emulator/emulatortest"
)

// glPage is one 20,000-row page of generalLedgerEntries as the emulator serves it, fetched
// once per test binary.
func glPage(t testing.TB) ([]byte, error) {
	glPageOnce.Do(func() {
		glPageOnce.err = errors.New("the sandbox did not start")
		sb := emulatortest.Start(t, emulator.Config{Sizes: datagen.Sizes{"generalLedgerEntries": 20000}})
		defer sb.Close()
		glPageOnce.data, glPageOnce.err = fetchGLPage(sb)
	})
	return glPageOnce.data, glPageOnce.err
}

var glPageOnce struct {
	sync.Once
	data []byte
	err  error
}

func fetchGLPage(sb *emulatortest.Sandbox) ([]byte, error) {
	tok, err := sb.Tokens().Token(context.Background())
	if err != nil {
		return nil, err
	}
	u := sb.BCBaseURL() + "/" + sb.Creds.TenantID + "/" + sb.Creds.Environment + "/api/v2.0/companies(" + sb.Creds.CompanyID + ")/generalLedgerEntries"
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := sb.Client().Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("status %d: %.200s", resp.StatusCode, data)
	}
	return data, err
}

// BenchmarkDecodeGLPage decodes a 20,000-row page of generalLedgerEntries from memory:
// records per second and allocations per record.
func BenchmarkDecodeGLPage(b *testing.B) {
	data, err := glPage(b)
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
	data, err := glPage(t)
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
