package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/bc"
	"github.com/bizzjoiner/bcconnector/emulator/throttle"
)

// BenchmarkSyncCeiling measures issue 14: `bcconnector sync --full` of BCC_BENCH_ROWS
// (default 200,000) generalLedgerEntries as a user runs it (the real binary, timed from
// its start to its exit, into a fresh SQLite file), against `bcconnector emulator`
// running as its own process, next to
//
//   - BC's ceiling for the page size the sync uses (ceilingFor: the server time of all
//     pages spread over BC's 5 processing slots, never less than one page), and
//   - an independent sequential crawler (crawlSequential: plain HTTP, 5,000-row pages,
//     following @odata.nextLink) on the same emulator,
//
// at the latency profiles `reference` (150 ms + 0.25 ms/row) and `scaled` (15 ms +
// 0.025 ms/row); and with the latency off, our CPU per row: the sync process's CPU time
// (user + system, all of it: start-up, token, decode, SQLite, change log) over the rows.
// Failed requests and 429s are the sync's own counts (its last output line) and the
// emulator's count of 429s sent to the app (its quiet report).
//
// So that a figure can be explained, each run also reports where the sync's time went,
// from its debug log (timelineOf: start-up until the first target, the plan's probes,
// the pages, the commits after the last page, the end), how busy it kept BC's 5 slots
// (the emulator's slot time over 5 × our wall time), and the CPU seconds of each process:
// ours (user + system), the emulator's while it served us and while it served the
// crawler, and the crawler's (this process). Run it as
//
//	go test -run '^$' -bench SyncCeiling -benchtime 1x -count 3 -timeout 30m ./cmd/bcconnector
//
// BCC_BENCH_PAGE_SIZE passes --page-size to the sync (default: the command's default).
func BenchmarkSyncCeiling(b *testing.B) {
	if _, err := os.Stat("/proc/loadavg"); err != nil {
		b.Skip("needs /proc")
	}
	rows := benchEnvInt(b, "BCC_BENCH_ROWS", 200_000)
	pageSize := 0
	if os.Getenv("BCC_BENCH_PAGE_SIZE") != "" {
		pageSize = benchEnvInt(b, "BCC_BENCH_PAGE_SIZE", 0)
	}
	for _, profile := range []string{"reference", "scaled", "off"} {
		b.Run("latency="+profile, func(b *testing.B) {
			for range b.N {
				runCeiling(b, profile, rows, pageSize)
			}
		})
	}
}

// crawlPageSize is the sequential crawler's page size (issue 14's baseline).
const crawlPageSize = 5000

// ceilingFor is the shortest time BC can serve rows in pages of pageSize under lat
// (bc-entra-facts §5: 5 requests of an app in process at once; the emulator's profile:
// Overhead per request + PerRow per row in it):
//
//	max(ceil(rows/pageSize) × Overhead + rows × PerRow) / 5, Overhead + min(rows, pageSize) × PerRow)
//
// The count and range probes before the pages are left out: they are ours to hide.
func ceilingFor(lat throttle.Latency, rows, pageSize int) time.Duration {
	pages := (rows + pageSize - 1) / pageSize
	spread := (time.Duration(pages)*lat.Overhead + time.Duration(rows)*lat.PerRow) / bc.DefaultMaxInFlight
	return max(spread, lat.Overhead+time.Duration(min(rows, pageSize))*lat.PerRow)
}

// syncOutcome is what one `sync --full` run printed and used.
type syncOutcome struct {
	wall, cpu                   time.Duration
	requests, throttled, failed int64
}

// syncCounts matches the sync command's last line.
var syncCounts = regexp.MustCompile(`(\d+) requests to BC, (\d+) answered 429 \(absorbed\), (\d+) failed`)

func runCeiling(b *testing.B, profile string, rows, pageSize int) {
	lat, err := throttle.ParseLatencyProfile(profile)
	if err != nil {
		b.Fatal(err)
	}
	bin := buildBinary(b)
	dir := b.TempDir()
	// The G/L entries are encoded once at the emulator's start (--prewarm), so its CPU is
	// not in our figures: it is BC's, not ours (both readers get the same bytes).
	emu := startEmulatorWithin(b, 5*time.Minute, bin, filepath.Join(dir, "ca.pem"), "--seed", "14",
		"--data-size", fmt.Sprintf("small,generalLedgerEntries=%d", rows), "--latency-profile", profile, "--prewarm", "generalLedgerEntries")
	bt, err := newBCTruth(emu)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	company, err := bt.companyID(ctx)
	if err != nil {
		b.Fatal(err)
	}
	bt.company = company
	db, key := filepath.Join(dir, "bench.db"), filepath.Join(dir, "master.key")
	cli := func(stdin string, args ...string) string {
		cmd := exec.CommandContext(ctx, bin, append([]string{"--db", db, "--key-file", key}, args...)...)
		cmd.Env = append(os.Environ(), "BCC_MASTER_KEY=")
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			b.Fatalf("bcconnector %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	cli(emu.secret+"\n", "connection", "add", "--name", "bench", "--no-check", "--tenant", emu.tenant, "--client-id", emu.clientID,
		"--environment", emu.env, "--company", company, "--secret-stdin", "--secret-end-date", emu.secretEnd,
		"--authority-host", emu.authority, "--bc-base-url", emu.bcBase, "--ca-file", emu.caFile, "--entities", "generalLedgerEntries")
	if pageSize == 0 {
		pageSize = defaultSyncPageSize(b)
	}
	q0, _ := emu.makeQuiet(b) // counts before our run: the harness's own requests
	load0 := loadAverage(b)
	emuCPU0 := procCPU(b, emu.cmd.Process.Pid)

	// Ours, as a user runs it.
	args := []string{"--db", db, "--key-file", key, "--log-level", "debug", "sync", "bench", "--full", "--entities", "generalLedgerEntries",
		"--page-size", strconv.Itoa(pageSize)}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "BCC_MASTER_KEY=")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		b.Fatalf("sync --full: %v\n%s\n%s", err, stdout.String(), tail(stderr.String(), 3000))
	}
	ours := syncOutcome{wall: time.Since(start), cpu: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()}
	emuCPU := procCPU(b, emu.cmd.Process.Pid) - emuCPU0
	tl := timelineOf(b, stderr.String(), start, ours.wall)
	m := syncCounts.FindStringSubmatch(stdout.String())
	if m == nil {
		b.Fatalf("no request counts in the sync's output:\n%s", stdout.String())
	}
	ours.requests, _ = strconv.ParseInt(m[1], 10, 64)
	ours.throttled, _ = strconv.ParseInt(m[2], 10, 64)
	ours.failed, _ = strconv.ParseInt(m[3], 10, 64)
	q1, _ := emu.makeQuiet(b)
	app := strings.ToLower(emu.clientID)
	bc429 := q1.Apps[app].Throttled - q0.Apps[app].Throttled
	if got := countReplica(b, db); got != rows {
		b.Fatalf("the replica holds %d G/L entries, want %d", got, rows)
	}

	// The sequential crawler on the same emulator.
	emuCPU1, selfCPU0 := procCPU(b, emu.cmd.Process.Pid), selfCPU(b)
	cstart := time.Now()
	crawled, pages, err := crawlSequential(ctx, bt, crawlPageSize)
	if err != nil {
		b.Fatal(err)
	}
	seq := time.Since(cstart)
	crawlEmuCPU, crawlerCPU := procCPU(b, emu.cmd.Process.Pid)-emuCPU1, selfCPU(b)-selfCPU0
	if crawled != rows {
		b.Fatalf("the crawler read %d rows, want %d", crawled, rows)
	}
	load1 := loadAverage(b)

	ceiling := ceilingFor(lat, rows, pageSize)
	cpuPerRow := float64(ours.cpu.Nanoseconds()) / 1e3 / float64(rows)
	b.ReportMetric(ours.wall.Seconds(), "ours-s")
	if lat != (throttle.Latency{}) {
		b.ReportMetric(ceiling.Seconds(), "ceiling-s")
		b.ReportMetric(ours.wall.Seconds()/ceiling.Seconds(), "x-ceiling")
	}
	b.ReportMetric(seq.Seconds(), "sequential-s")
	b.ReportMetric(seq.Seconds()/ours.wall.Seconds(), "x-faster")
	b.ReportMetric(cpuPerRow, "our-cpu-µs/row")
	b.ReportMetric(float64(emuCPU.Nanoseconds())/1e3/float64(rows), "emulator-cpu-µs/row")
	b.ReportMetric(float64(ours.requests), "requests")
	b.ReportMetric(float64(ours.failed), "failed")
	b.ReportMetric(float64(max(ours.throttled, bc429)), "429s")
	b.ReportMetric(load0, "load1")
	busy := time.Duration(q1.Apps[app].BusyMs-q0.Apps[app].BusyMs) * time.Millisecond
	slotUse := busy.Seconds() / (float64(bc.DefaultMaxInFlight) * ours.wall.Seconds())
	b.ReportMetric(100*slotUse, "%-bc-slots-busy")
	b.ReportMetric(ours.cpu.Seconds(), "our-cpu-s")
	b.ReportMetric(emuCPU.Seconds(), "emulator-cpu-s")
	b.ReportMetric(crawlEmuCPU.Seconds(), "crawl-emulator-cpu-s")
	b.ReportMetric(tl.startup.Seconds()*1e3, "startup-ms")
	b.ReportMetric((tl.planned-tl.startup).Seconds()*1e3, "plan-ms")
	b.ReportMetric((tl.lastRead - tl.planned).Seconds(), "pages-s")
	b.ReportMetric((tl.lastCommit-tl.lastRead).Seconds()*1e3, "last-commits-ms")
	b.ReportMetric((ours.wall-tl.lastCommit).Seconds()*1e3, "end-ms")
	ceil := "no ceiling (latency off)"
	if lat != (throttle.Latency{}) {
		ceil = fmt.Sprintf("ceiling %.2fs = max((%d pages × %s + %d rows × %s) / 5, one page) → %.2f×",
			ceiling.Seconds(), (rows+pageSize-1)/pageSize, lat.Overhead, rows, lat.PerRow, ours.wall.Seconds()/ceiling.Seconds())
	}
	b.Logf("latency %s (%s), %d rows: ours %.2fs (%d requests, %d failed, %d 429s by our count, %d by BC's; CPU %.2fs (user %.2fs, system %.2fs) = %.2f µs/row; page size %d); %s; sequential crawler %.2fs (%d pages of %d) → ours %.2f× faster; load average %.1f → %.1f",
		profile, lat, rows, ours.wall.Seconds(), ours.requests, ours.failed, ours.throttled, bc429, ours.cpu.Seconds(),
		cmd.ProcessState.UserTime().Seconds(), cmd.ProcessState.SystemTime().Seconds(), cpuPerRow, pageSize,
		ceil, seq.Seconds(), pages, crawlPageSize, seq.Seconds()/ours.wall.Seconds(), load0, load1)
	b.Logf("  ours, from the start: %s; the sync's debug log: %s", tl, tl.counts)
	b.Logf("  BC's 5 slots busy %.1fs of %.1fs (%.0f%%); CPU: ours %.2fs, the emulator's serving us %.2fs, serving the crawler %.2fs, the crawler's %.2fs (on %d cores)",
		busy.Seconds(), float64(bc.DefaultMaxInFlight)*ours.wall.Seconds(), 100*slotUse, ours.cpu.Seconds(), emuCPU.Seconds(),
		crawlEmuCPU.Seconds(), crawlerCPU.Seconds(), runtime.NumCPU())
}

// syncTimeline is when the steps of `sync --full` happened, from its debug log, as
// offsets from the process's start.
type syncTimeline struct {
	startup    time.Duration // "sync ready": store, connection, syncer made
	planned    time.Duration // "full sync planned": the probes answered, partitions made
	firstRead  time.Duration // the first page read
	lastRead   time.Duration // the last page read
	lastCommit time.Duration // the last page committed
	done       time.Duration // "full sync": the sync state recorded
	wall       time.Duration // the process's exit
	counts     string        // pages read and committed, as a check on the log
}

func (tl syncTimeline) String() string {
	ms := func(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) + " ms" }
	return fmt.Sprintf("ready %s, planned %s (+%s), first page %s, last page %s (pages %.2fs), last commit %s (+%s), done %s (+%s), exit %s (+%s)",
		ms(tl.startup), ms(tl.planned), ms(tl.planned-tl.startup), ms(tl.firstRead), ms(tl.lastRead), (tl.lastRead - tl.planned).Seconds(),
		ms(tl.lastCommit), ms(tl.lastCommit-tl.lastRead), ms(tl.done), ms(tl.done-tl.lastCommit), ms(tl.wall), ms(tl.wall-tl.done))
}

// timelineOf reads the sync's debug log (JSON lines on stderr) into its timeline; start is
// when the process was started.
func timelineOf(b *testing.B, stderr string, start time.Time, wall time.Duration) syncTimeline {
	tl := syncTimeline{wall: wall}
	var reads, commits int
	for _, line := range strings.Split(stderr, "\n") {
		var l struct {
			Time time.Time `json:"time"`
			Msg  string    `json:"msg"`
		}
		if !strings.HasPrefix(line, "{") || json.Unmarshal([]byte(line), &l) != nil {
			continue
		}
		at := l.Time.Sub(start)
		switch l.Msg {
		case "sync ready":
			tl.startup = at
		case "full sync planned":
			tl.planned = at
		case "full sync page read":
			if reads == 0 {
				tl.firstRead = at
			}
			reads++
			tl.lastRead = at
		case "full sync page committed":
			commits++
			tl.lastCommit = at
		case "full sync":
			tl.done = at
		}
	}
	if tl.startup == 0 || tl.planned == 0 || reads == 0 || commits != reads || tl.done == 0 {
		b.Fatalf("the sync's debug log lacks its timeline (ready %v, planned %v, %d pages read, %d committed, done %v):\n%s",
			tl.startup, tl.planned, reads, commits, tl.done, tail(stderr, 3000))
	}
	tl.counts = fmt.Sprintf("%d pages read and committed", reads)
	return tl
}

// selfCPU is this process's CPU time (user + system) so far.
func selfCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// defaultSyncPageSize is the sync command's --page-size default.
func defaultSyncPageSize(b *testing.B) int {
	f, _ := reflect.TypeFor[SyncCmd]().FieldByName("PageSize")
	n, err := strconv.Atoi(f.Tag.Get("default"))
	if err != nil {
		b.Fatalf("SyncCmd.PageSize's default: %v", err)
	}
	return n
}

// countReplica counts the rows of the generalLedgerEntries replica in the SQLite file.
func countReplica(b *testing.B, path string) int {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	var table string
	if err := db.QueryRow(`SELECT table_name FROM replicas WHERE entity_set = 'generalLedgerEntries'`).Scan(&table); err != nil {
		b.Fatal(err)
	}
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM "` + table + `"`).Scan(&n); err != nil {
		b.Fatal(err)
	}
	return n
}

// crawlSequential reads the whole generalLedgerEntries set one page after the other,
// following @odata.nextLink as sent, with pages of pageSize (Prefer: odata.maxpagesize);
// it decodes only what it needs to count the rows and find the next link.
func crawlSequential(ctx context.Context, bt *bcTruth, pageSize int) (rows, pages int, err error) {
	tok, err := bt.accessToken(ctx)
	if err != nil {
		return 0, 0, err
	}
	u := bt.api + "/companies(" + bt.company + ")/generalLedgerEntries"
	for u != "" {
		req, _ := http.NewRequestWithContext(ctx, "GET", u, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Prefer", "odata.maxpagesize="+strconv.Itoa(pageSize))
		resp, err := bt.hc.Do(req)
		if err != nil {
			return rows, pages, err
		}
		var page struct {
			Value    []json.RawMessage `json:"value"`
			NextLink string            `json:"@odata.nextLink"`
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return rows, pages, fmt.Errorf("crawler: GET %s: %s", u, resp.Status)
		}
		if err != nil {
			return rows, pages, fmt.Errorf("crawler: %w", err)
		}
		rows += len(page.Value)
		pages++
		if page.NextLink != "" {
			if _, err := url.Parse(page.NextLink); err != nil {
				return rows, pages, err
			}
		}
		u = page.NextLink
	}
	return rows, pages, nil
}
