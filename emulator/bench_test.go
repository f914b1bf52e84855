package emulator_test

import (
	"encoding/json"

	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/emulator/datagen"
)

// discard is a ResponseWriter that counts bytes, so benchmarks measure the server alone.
type discard struct {
	h http.Header
	n int64
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { d.n += int64(len(b)); return len(b), nil }
func (d *discard) WriteHeader(int)             {}

func benchEmulator(b *testing.B, glRows int) (*emulator.Emulator, string, string) {
	sizes, err := datagen.ParseSizes("small,generalLedgerEntries=" + itoa(glRows))
	if err != nil {
		b.Fatal(err)
	}
	e := setup(b, emulator.Config{Sizes: sizes})
	tok, err := e.getToken()
	if err != nil {
		b.Fatal(err)
	}
	host := e.srv.Host()
	return e.emu, tok, "https://" + host + "/v2.0/" + e.creds.TenantID + "/Production/api/v2.0/companies(" + e.emu.DemoCompanyRef().CompanyID + ")/generalLedgerEntries"
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// BenchmarkGLPage20000 serves one 20,000-row page of generalLedgerEntries with latency off
// (issue 2, "Scale"): the server's time and allocations per page.
func BenchmarkGLPage20000(b *testing.B) {
	emu, tok, u := benchEmulator(b, 100000)
	b.ReportAllocs()
	b.ResetTimer()
	var bytes int64
	for i := 0; i < b.N; i++ {
		bytes = servePage(emu, tok, u).n
	}
	b.ReportMetric(float64(20000*b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(bytes)/(1<<20), "MB/page")
}

// BenchmarkPageThrough1M pages through 1,000,000 G/L entries in 20,000-row pages,
// following @odata.nextLink, and reports the process's peak RSS (emulator and the
// discarding client together): the emulator must not hold the table in memory.
func BenchmarkPageThrough1M(b *testing.B) {
	emu, tok, u := benchEmulator(b, 1000000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		next, rows := u, 0
		for next != "" {
			req := httptest.NewRequest(http.MethodGet, next, nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			rec := &tailRecorder{h: http.Header{}}
			emu.ServeHTTP(rec, req)
			rows += rec.rows
			next = rec.nextLink()
		}
		if rows != 1000000 {
			b.Fatalf("paged %d rows", rows)
		}
	}
	b.StopTimer()
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ru.Maxrss)/1024, "peak-RSS-MB")
	b.ReportMetric(float64(ms.HeapSys)/(1<<20), "heap-sys-MB")
	b.ReportMetric(float64(1000000*b.N)/b.Elapsed().Seconds(), "rows/s")
}

// tailRecorder keeps only the end of the body (where @odata.nextLink is) and counts rows.
type tailRecorder struct {
	h    http.Header
	tail []byte
	rows int
}

func (t *tailRecorder) Header() http.Header { return t.h }
func (t *tailRecorder) WriteHeader(int)     {}
func (t *tailRecorder) Write(b []byte) (int, error) {
	t.rows += strings.Count(string(b), `{"@odata.etag"`)
	t.tail = append(t.tail, b...)
	if len(t.tail) > 4096 {
		t.tail = append(t.tail[:0], t.tail[len(t.tail)-4096:]...)
	}
	return len(b), nil
}

func (t *tailRecorder) nextLink() string {
	s := string(t.tail)
	i := strings.LastIndex(s, `"@odata.nextLink":"`)
	if i < 0 {
		return ""
	}
	s = s[i+len(`"@odata.nextLink":"`):]
	return s[:strings.IndexByte(s, '"')]
}

// BenchmarkGLRangePage5000 serves the page a full sync of a ledger asks for (issue 14): one
// entryNumber range of 5,000 rows, latency off, so the emulator's own CPU per row shows.
//
// cpu-µs/row is the process's CPU time (user + system, GC included) per row, which a
// loaded machine does not inflate as it does the wall time per row.
func BenchmarkGLRangePage5000(b *testing.B) {
	emu, tok, u := benchEmulator(b, 200000)
	b.ReportAllocs()
	cpu0 := processCPU()
	b.ResetTimer()
	var bytes int64
	for i := 0; i < b.N; i++ {
		from := 1 + 5000*(i%40)
		w := servePage(emu, tok, u+"?$filter="+url.QueryEscape("entryNumber ge "+itoa(from)+" and entryNumber lt "+itoa(from+5000)),
			"Prefer", "odata.maxpagesize=5625")
		bytes = w.n
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/1e3/float64(5000*b.N), "µs/row")
	b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/1e3/float64(5000*b.N), "cpu-µs/row")
	b.ReportMetric(float64(bytes)/float64(5000), "bytes/row")
}

// servePage answers one GET of u with the bearer token and header pairs, into a discard.
func servePage(emu *emulator.Emulator, tok, u string, header ...string) *discard {
	req := httptest.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	w := &discard{h: http.Header{}}
	emu.ServeHTTP(w, req)
	return w
}

// processCPU is the process's CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
