package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/bc"
	"github.com/bizzjoiner/bcconnector/emulator/throttle"
	"github.com/bizzjoiner/bcconnector/store/postgres/pgtest"
	"github.com/jackc/pgx/v5"
)

// BenchmarkTenants measures issue 10's "50 tenants × 20,000 G/L rows at the reference
// latency profile, all syncing at once": a `bcconnector emulator` process holding
// BCC_BENCH_TENANTS (default 50) customer tenants, each its own Entra app and so its own
// BC budget, with BCC_BENCH_ROWS (default 20,000) generalLedgerEntries each; a connection
// per tenant replicating only generalLedgerEntries; then 1, and in a second run 3,
// `serve --database-url` instances on one fresh PostgreSQL schema, each with enough sync
// workers that every tenant's full sync runs at once (ceil(tenants / instances)). A third
// run has 10 tenants on 1 instance, to compare the CPU per row.
//
// Measured from the start of the first instance until every connection's full sync is
// done: the wall time, the CPU time (user + system, /proc/PID/stat) of the serve
// processes ("our CPU"), of the PostgreSQL backends serving them and of the emulator
// (BC's side, not ours). The bound is the larger of one tenant's BC ceiling and our CPU
// spread over the machine's cores; x-bound is the wall time over it (issue 10's goal:
// ≤ 1.2). Skipped without BCC_TEST_DATABASE_URL; a few minutes in all:
//
//	BCC_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable \
//	  go test -run '^$' -bench Tenants -benchtime 1x -timeout 60m ./cmd/bcconnector
func BenchmarkTenants(b *testing.B) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		b.Skip("needs /proc")
	}
	pgtest.URL(b) // skips without BCC_TEST_DATABASE_URL (fails with CI=true)
	tenants := benchEnvInt(b, "BCC_BENCH_TENANTS", 50)
	rows := benchEnvInt(b, "BCC_BENCH_ROWS", 20_000)
	small := max(1, tenants/5)
	runs := []struct{ tenants, instances int }{{tenants, 1}, {tenants, 3}, {small, 1}}
	results := make([]tenantsResult, len(runs))
	for i, r := range runs {
		b.Run(fmt.Sprintf("tenants=%d/instances=%d", r.tenants, r.instances), func(b *testing.B) {
			for range b.N {
				results[i] = runTenants(b, r.tenants, rows, r.instances)
			}
			// The comparisons of the goal, against the first run (when it ran: -bench
			// may filter it out): 3 instances no slower than 1, and the CPU per row not
			// growing with the tenants (x-cpu-per-row-vs-first below 1 for fewer tenants
			// means it grows).
			if first := results[0]; i > 0 && first.wall > 0 && results[i].wall > 0 {
				b.ReportMetric(results[i].wall.Seconds()/first.wall.Seconds(), "x-wall-vs-first")
				b.ReportMetric(results[i].cpuPerRow()/first.cpuPerRow(), "x-cpu-per-row-vs-first")
			}
		})
	}
}

// tenantsResult is one run of BenchmarkTenants.
type tenantsResult struct {
	tenants, rows int
	wall, cpu     time.Duration // cpu: the serve processes' user + system time
}

func (r tenantsResult) cpuPerRow() float64 {
	return float64(r.cpu.Microseconds()) / float64(r.tenants*r.rows)
}

// fullSyncPageSize is the page size of serve's full syncs (syncer.Options.PageSize's
// default; serve does not change it).
const fullSyncPageSize = 5000

// tenantCeiling is the shortest time BC can serve one tenant's full sync of rows under
// the latency profile lat (bc-entra-facts §5: 5 requests of an app in process at once;
// the emulator's profile: Overhead per request + PerRow per row in it): the server time
// of all its pages spread over the 5 slots, and never less than one page's own time.
// The count and range probes before the pages are left out, so the true ceiling is a
// little higher.
func tenantCeiling(lat throttle.Latency, rows int) time.Duration {
	pages := (rows + fullSyncPageSize - 1) / fullSyncPageSize
	spread := (time.Duration(pages)*lat.Overhead + time.Duration(rows)*lat.PerRow) / bc.DefaultMaxInFlight
	return max(spread, lat.Overhead+time.Duration(min(rows, fullSyncPageSize))*lat.PerRow)
}

// runTenants is one run: its own emulator process and schema.
func runTenants(b *testing.B, tenants, rows, instances int) tenantsResult {
	const profile = "reference"
	lat, err := throttle.ParseLatencyProfile(profile)
	if err != nil {
		b.Fatal(err)
	}
	bin := buildBinary(b)
	dir := b.TempDir()
	db := pgtest.SchemaURL(b)
	key := filepath.Join(dir, "master.key")
	emu := startSoakEmulator(b, bin, filepath.Join(dir, "ca.pem"), "--seed", "10",
		"--data-size", fmt.Sprintf("small,generalLedgerEntries=%d", rows), "--customers", strconv.Itoa(tenants),
		"--latency-profile", profile)
	addTenantConnections(b, bin, db, key, emu, tenants)

	pg, err := pgx.Connect(context.Background(), db)
	if err != nil {
		b.Fatal(err)
	}
	defer pg.Close(context.Background())

	workers := (tenants + instances - 1) / instances
	args := []string{"--database-url", db, "--key-file", key, "--log-level", "warn", "serve", "--listen", "127.0.0.1:0",
		"--interval", "1h", "--workers", strconv.Itoa(workers), "--allow-endpoint-overrides"}
	load0 := loadAverage(b)
	emuCPU0 := procCPU(b, emu.cmd.Process.Pid)
	b.ResetTimer()
	start := time.Now()
	var serves []*serveProcess
	var startupCPU time.Duration // each instance's CPU until it listens: start-up, not rows
	for range instances {
		p := startServe(b, bin, args...)
		startupCPU += procCPU(b, p.cmd.Process.Pid)
		serves = append(serves, p)
	}
	for {
		var done, failed int
		var lastErr string
		if err := pg.QueryRow(context.Background(), `SELECT count(*) FILTER (WHERE full_sync_done),
				count(*) FILTER (WHERE last_error <> ''), coalesce(max(last_error), '')
			FROM sync_state WHERE entity_set = 'generalLedgerEntries'`).Scan(&done, &failed, &lastErr); err != nil {
			b.Fatal(err)
		}
		if failed > 0 {
			b.Fatalf("%d connections' syncs failed, e.g. %q\n%s", failed, lastErr, tail(serves[0].stderr.String(), 3000))
		}
		if done == tenants {
			break
		}
		if time.Since(start) > 20*time.Minute {
			b.Fatalf("%d of %d full syncs done after 20 minutes\n%s", done, tenants, tail(serves[0].stderr.String(), 3000))
		}
		time.Sleep(100 * time.Millisecond) // polling the outcome; the deadline bounds the wait
	}
	wall := time.Since(start)
	b.StopTimer()
	var cpu time.Duration
	for _, p := range serves {
		cpu += procCPU(b, p.cmd.Process.Pid)
	}
	pgCPU, backends := backendCPU(b, pg, serves)
	emuCPU := procCPU(b, emu.cmd.Process.Pid) - emuCPU0
	load1 := loadAverage(b)
	// BC's side of the work: a page read twice (a job taken over by another instance while
	// its first run still reads) shows here.
	rep, _ := emu.makeQuiet(b)
	for _, p := range serves {
		p.kill() // how long a shutdown takes is not what this measures
	}

	var table string
	if err := pg.QueryRow(context.Background(), `SELECT table_name FROM replicas WHERE entity_set = 'generalLedgerEntries'`).Scan(&table); err != nil {
		b.Fatal(err)
	}
	var replicated int
	if err := pg.QueryRow(context.Background(), `SELECT count(*) FROM `+pgx.Identifier{table}.Sanitize()).Scan(&replicated); err != nil {
		b.Fatal(err)
	}
	if want := tenants * rows; replicated != want {
		b.Fatalf("the replicas hold %d G/L entries, want %d (%d tenants × %d)", replicated, want, tenants, rows)
	}

	cores := runtime.NumCPU()
	ceiling := tenantCeiling(lat, rows)
	cpuBound := cpu / time.Duration(cores)
	bound := max(ceiling, cpuBound)
	r := tenantsResult{tenants: tenants, rows: rows, wall: wall, cpu: cpu}
	b.ReportMetric(wall.Seconds(), "wall-s")
	b.ReportMetric(cpu.Seconds(), "our-cpu-s")
	b.ReportMetric(r.cpuPerRow(), "our-cpu-µs/row")
	b.ReportMetric(pgCPU.Seconds(), "postgres-cpu-s")
	b.ReportMetric(emuCPU.Seconds(), "emulator-cpu-s")
	b.ReportMetric(ceiling.Seconds(), "bc-ceiling-s")
	b.ReportMetric(cpuBound.Seconds(), "cpu-bound-s")
	b.ReportMetric(wall.Seconds()/bound.Seconds(), "x-bound")
	// Everything the run needed of the machine's cores (PostgreSQL and the emulator share
	// them here): a second bound, for a machine that runs nothing else.
	machineBound := (cpu + pgCPU + emuCPU) / time.Duration(cores)
	b.ReportMetric(machineBound.Seconds(), "machine-cpu-bound-s")
	b.ReportMetric(startupCPU.Seconds(), "startup-cpu-s")
	b.ReportMetric(float64(rep.Requests)/float64(tenants), "bc-requests/tenant")
	b.ReportMetric(load1, "load1")
	b.Logf("%d tenants × %d rows, %d instance(s) × %d workers, %d cores: wall %.2fs; CPU: ours %.2fs (%.2f µs/row; %.2fs of it starting up), PostgreSQL %.2fs (%d backends), emulator %.2fs, %d BC requests; bound max(BC ceiling %.2fs, our CPU / %d cores %.2fs) = %.2fs, wall/bound %.2f; all three / %d cores %.2fs; load average %.1f at the start, %.1f at the end",
		tenants, rows, instances, workers, cores, wall.Seconds(), cpu.Seconds(), r.cpuPerRow(), startupCPU.Seconds(), pgCPU.Seconds(), backends, emuCPU.Seconds(), rep.Requests,
		ceiling.Seconds(), cores, cpuBound.Seconds(), bound.Seconds(), wall.Seconds()/bound.Seconds(), cores, machineBound.Seconds(), load0, load1)
	return r
}

// addTenantConnections reads the customers from the emulator's banner and adds a
// connection per customer with the CLI, replicating only generalLedgerEntries, 4 at a time.
func addTenantConnections(b *testing.B, bin, db, key string, emu *soakEmulator, tenants int) {
	type customer struct{ n, tenant, clientID, secret, secretEnd, env string }
	var cs []customer
	for _, line := range strings.Split(emu.out.String(), "\n") {
		if m := customerLine.FindStringSubmatch(line); m != nil {
			cs = append(cs, customer{m[1], m[2], m[3], m[4], m[5], m[6]})
		}
	}
	if len(cs) != tenants {
		b.Fatalf("the emulator's banner lists %d customers, want %d", len(cs), tenants)
	}
	// The first connection migrates the schema alone; the others then only find it current.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	errs := make([]error, len(cs))
	slots := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i, c := range cs {
		add := func() {
			e := *emu
			e.tenant, e.clientID, e.secret, e.env = c.tenant, c.clientID, c.secret, c.env
			bt, err := newBCTruth(&e)
			if err == nil {
				var company string
				if company, err = bt.companyID(ctx); err == nil {
					cmd := exec.CommandContext(ctx, bin, "--database-url", db, "--key-file", key, "connection", "add", "--name", "tenant-"+c.n, "--no-check",
						"--tenant", c.tenant, "--client-id", c.clientID, "--environment", c.env, "--company", company, "--secret-stdin",
						"--secret-end-date", c.secretEnd, "--authority-host", emu.authority, "--bc-base-url", emu.bcBase, "--ca-file", emu.caFile,
						"--entities", "generalLedgerEntries")
					cmd.Env = append(os.Environ(), "BCC_MASTER_KEY=")
					cmd.Stdin = strings.NewReader(c.secret + "\n")
					if out, cerr := cmd.CombinedOutput(); cerr != nil {
						err = fmt.Errorf("connection add: %v\n%s", cerr, out)
					}
				}
			}
			errs[i] = err
		}
		if i == 0 {
			add()
			continue
		}
		wg.Go(func() {
			slots <- struct{}{}
			defer func() { <-slots }()
			add()
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		b.Fatal(err)
	}
}

// backendCPU is the CPU time of the PostgreSQL backends connected to the serve
// processes: their sockets to the server (/proc/PID/net/tcp and fd) give the client
// ports, pg_stat_activity the backends' pids. Backends that had already closed are not
// counted (the pools keep theirs open, so few if any).
func backendCPU(b *testing.B, pg *pgx.Conn, serves []*serveProcess) (time.Duration, int) {
	var ports []int32
	for _, p := range serves {
		ports = append(ports, clientPorts(b, p.cmd.Process.Pid, 5432)...)
	}
	rows, err := pg.Query(context.Background(), `SELECT pid FROM pg_stat_activity WHERE client_port = ANY($1)
		AND client_addr IN ('127.0.0.1', '::1')`, ports)
	if err != nil {
		b.Fatal(err)
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		b.Fatal(err)
	}
	var cpu time.Duration
	for _, pid := range pids {
		cpu += procCPU(b, int(pid))
	}
	return cpu, len(pids)
}

// clientPorts lists the local ports of the process's TCP sockets connected to
// remotePort on this machine.
func clientPorts(b *testing.B, pid, remotePort int) []int32 {
	inodes := map[string]bool{}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, fd := range fds {
		l, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if rest, ok := strings.CutPrefix(l, "socket:["); err == nil && ok {
			inodes[strings.TrimSuffix(rest, "]")] = true
		}
	}
	var ports []int32
	for _, name := range []string{"tcp", "tcp6"} {
		f, err := os.Open(fmt.Sprintf("/proc/%d/net/%s", pid, name))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
			fs := strings.Fields(sc.Text())
			if len(fs) < 10 || !inodes[fs[9]] {
				continue
			}
			_, lp, _ := strings.Cut(fs[1], ":")
			_, rp, _ := strings.Cut(fs[2], ":")
			local, err1 := strconv.ParseInt(lp, 16, 32)
			remote, err2 := strconv.ParseInt(rp, 16, 32)
			if err1 == nil && err2 == nil && int(remote) == remotePort {
				ports = append(ports, int32(local))
			}
		}
		f.Close()
	}
	return ports
}

// loadAverage is the machine's 1-minute load average (/proc/loadavg).
func loadAverage(b *testing.B) float64 {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		b.Fatal(err)
	}
	v, err := strconv.ParseFloat(strings.Fields(string(raw))[0], 64)
	if err != nil {
		b.Fatal(err)
	}
	return v
}
