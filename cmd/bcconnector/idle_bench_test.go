package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/emulator/emulatortest"
	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
)

// BenchmarkIdleConnections measures the real `serve` process (issue 10, "Tenants at
// scale") holding BCC_BENCH_CONNECTIONS (default 1,000) idle connections on one SQLite
// file, each replicating customers from the emulator (one tenant, one app) and polled
// every minute: once every first full pass is done and one more interval has passed, it
// reads the process's CPU time (/proc/PID/stat) over BCC_BENCH_WINDOW (default 3m) and
// its resident memory (/proc/PID/status). Reported: %cpu-of-core, MB-rss (at the end),
// MB-peak-rss (VmHWM, including the first passes) and polled-last-minute (connections
// whose set ran in the window's last minute, to show they are polled every minute). It takes about 5 minutes:
//
//	go test -run '^$' -bench IdleConnections -benchtime 1x -timeout 30m ./cmd/bcconnector
func BenchmarkIdleConnections(b *testing.B) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		b.Skip("needs /proc")
	}
	n := benchEnvInt(b, "BCC_BENCH_CONNECTIONS", 1000)
	window := benchEnvDuration(b, "BCC_BENCH_WINDOW", 3*time.Minute)
	ctx := context.Background()
	bin := buildBinary(b)
	srv := emulatortest.Start(b, emulator.Config{}, emulatortest.Sizes("small"))
	dir := b.TempDir()
	b.Setenv("BCC_MASTER_KEY", "")
	g := &Globals{DB: filepath.Join(dir, "bcc.db"), KeyFile: filepath.Join(dir, "master.key"), LogLevel: "error", Stdout: io.Discard, Stderr: io.Discard}
	a, err := g.open(ctx)
	if err != nil {
		b.Fatal(err)
	}
	cr := srv.Creds
	for i := range n {
		c, err := a.db.CreateConnection(ctx, store.Connection{Name: fmt.Sprintf("idle-%04d", i), TenantID: cr.TenantID, ClientID: cr.ClientID,
			Environment: cr.Environment, CompanyID: srv.Company().CompanyID, AuthorityHost: srv.AuthorityHost(), BCBaseURL: srv.BCBaseURL(),
			CAPEM: string(srv.CAPEM), Entities: []string{"customers"}})
		if err != nil {
			b.Fatal(err)
		}
		rec, err := a.db.AddSecret(ctx, c.ID, secret.Secret(cr.ClientSecret), time.Time{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := a.db.PromoteSecret(ctx, c.ID, rec.ID); err != nil {
			b.Fatal(err)
		}
	}
	g.close()

	p := startServe(b, bin, "--db", g.DB, "--key-file", g.KeyFile, "--log-level", "warn",
		"serve", "--listen", "127.0.0.1:0", "--interval", "1m", "--allow-endpoint-overrides")
	ro, err := sql.Open("sqlite", "file:"+g.DB+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		b.Fatal(err)
	}
	defer ro.Close()
	count := func(q string, args ...any) int {
		var v int
		if err := ro.QueryRow(q, args...).Scan(&v); err != nil {
			b.Fatalf("%s: %v", q, err)
		}
		return v
	}
	warm := time.Now()
	for done := 0; done < n; done = count(`SELECT count(*) FROM sync_state WHERE full_sync_done = 1`) {
		if time.Since(warm) > 15*time.Minute {
			b.Fatalf("%d of %d first passes done after 15 minutes\n%s", done, n, p.stderr.String())
		}
		time.Sleep(2 * time.Second) // polling the outcome, not synchronisation
	}
	b.Logf("%d first full passes done in %s", n, time.Since(warm).Round(time.Second))
	time.Sleep(time.Minute) // one interval: the spread schedule in place

	pid := p.cmd.Process.Pid
	cpu0, t0 := procCPU(b, pid), time.Now()
	time.Sleep(window)
	cpu1, t1 := procCPU(b, pid), time.Now()
	rss, hwm := procMem(b, pid, "VmRSS"), procMem(b, pid, "VmHWM")
	// Every connection ran within the last minute: they are polled every minute.
	polled := count(`SELECT count(*) FROM sync_state WHERE last_run_at >= ?`, t1.Add(-time.Minute).UTC().Format("2006-01-02T15:04:05.000000Z"))
	share := (cpu1 - cpu0).Seconds() / t1.Sub(t0).Seconds()
	b.ReportMetric(100*share, "%cpu-of-core")
	b.ReportMetric(float64(rss)/1024, "MB-rss")
	b.ReportMetric(float64(hwm)/1024, "MB-peak-rss")
	b.ReportMetric(float64(polled), "polled-last-minute")
	b.Logf("%d connections: %.1f%% of one core over %s, RSS %d MB (peak %d MB), %d polled in the last minute",
		n, 100*share, t1.Sub(t0).Round(time.Second), rss/1024, hwm/1024, polled)
	if errs := count(`SELECT count(*) FROM sync_state WHERE last_error <> ''`); errs > 0 {
		b.Errorf("%d sets ended with an error\n%s", errs, p.stderr.String())
	}
	// Not stopped gracefully: how long a shutdown takes is not what this measures (the
	// process is killed by the cleanup).
}

// procCPU is the user + system CPU time the process has used (clock ticks of 10 ms).
func procCPU(b *testing.B, pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// The fields after the command name (which is in parentheses) start with the state;
	// utime and stime are the 14th and 15th fields of the whole line.
	f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// procMem is a memory figure of /proc/PID/status in KiB (VmRSS, VmHWM).
func procMem(b *testing.B, pid int, field string) int64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb
		}
	}
	b.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

func benchEnvInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		b.Fatalf("%s=%q: want a positive number", name, v)
	}
	return n
}

func benchEnvDuration(b *testing.B, name string, def time.Duration) time.Duration {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		b.Fatalf("%s=%q: want a duration such as 3m", name, v)
	}
	return d
}
