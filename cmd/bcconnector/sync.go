package main

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/bizzjoiner/bcconnector/bcschema"
	"github.com/bizzjoiner/bcconnector/doctor"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/syncer"
	"golang.org/x/term"
)

// SyncCmd replicates a connection's entity sets into the store.
type SyncCmd struct {
	Connection string   `arg:"" help:"Connection name or ID."`
	Entities   []string `sep:"," help:"Entity sets to sync (default: the connection's, else the sync defaults). Lines come with their documents."`
	Full       bool     `help:"Start a full sync over. Without it an unfinished full sync resumes (also one started with --full and interrupted), and a finished one is followed incrementally."`
	Reconcile  bool     `help:"Also list ids to find records deleted in BC."`
	PageSize   int      `name:"page-size" default:"5000" help:"Records per page for full syncs."`
	CPUProfile string   `name:"cpuprofile" hidden:"" type:"path" help:"Write a CPU profile of the run to this file (go tool pprof)."`
}

// Run syncs each target, showing progress on a terminal and log lines otherwise.
func (c *SyncCmd) Run(ctx context.Context, g *Globals) error {
	if c.CPUProfile != "" {
		f, err := os.Create(c.CPUProfile)
		if err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer func() {
			pprof.StopCPUProfile()
			f.Close()
		}()
	}
	// What the first request to BC needs anyway is made ready while the store opens: the
	// system's root certificates (parsed once per process; tens of milliseconds) and the
	// API schema.
	go func() { _, _ = x509.SystemCertPool() }()
	go func() { _, _ = bcschema.Load() }()
	a, err := g.open(ctx)
	if err != nil {
		return err
	}
	cn, err := a.openConn(ctx, c.Connection)
	if err != nil {
		return err
	}
	var companies []store.Company
	for _, co := range cn.Connection.SyncCompanies() {
		if co.ID != "" {
			companies = append(companies, co)
		}
	}
	if len(companies) == 0 {
		return fmt.Errorf("connection %q has no resolved company; run `bcconnector doctor %s`", cn.Connection.Name, cn.Connection.Name)
	}
	// The token is fetched while the replica's tables and the sync state are read: the
	// first request to BC need not wait for Entra after them (one fetch either way: the
	// token source shares it with the syncer's first request).
	go func() { _, _ = cn.Tokens.Token(ctx) }()
	sets := firstNonEmpty(c.Entities, firstNonEmpty(cn.Connection.Entities, doctor.DefaultEntities))
	bars := newBars(g)
	if len(companies) > 1 {
		bars.companies = map[string]string{}
		for _, co := range companies {
			bars.companies[co.ID] = co.Label()
		}
	}
	s, err := syncer.New(syncer.Options{Store: a.db, PageSize: c.PageSize, Logger: a.log, Progress: bars.update, ExtensionFields: true})
	if err != nil {
		return err
	}
	// Every company of the connection, its own first.
	var targets []syncer.Target
	for _, co := range companies {
		ts, err := s.Targets(cn.Connection.ID, co.ID, sets)
		if err != nil {
			return err
		}
		targets = append(targets, ts...)
	}
	a.log.Debug("sync ready", "connection", cn.Connection.ID, "targets", len(targets))
	var failed []string
	for _, t := range targets {
		start := time.Now()
		var res syncer.Result
		if c.Full {
			res, err = s.Full(ctx, cn.BC, t, true)
		} else {
			res, err = s.Sync(ctx, cn.BC, t)
		}
		bars.finish(t, res, err, time.Since(start))
		if err == nil && c.Reconcile && res.Mode != syncer.ModeFull {
			// A run of its own, on a line of its own (a full sync reconciles at its end).
			start = time.Now()
			res, err = s.Reconcile(ctx, cn.BC, t)
			bars.finish(t, res, err, time.Since(start))
		}
		if err != nil {
			if ctx.Err() != nil {
				if c.Full {
					return fmt.Errorf("interrupted; run `bcconnector sync %s` (without --full) to resume the full pass where it stopped (--full would start it over)", cn.Connection.Name)
				}
				return fmt.Errorf("interrupted; run the command again to resume where it stopped")
			}
			failed = append(failed, t.EntitySet)
		}
	}
	st := cn.BC.Stats()
	fmt.Fprintf(g.Stdout, "%d requests to BC, %d answered 429 (absorbed), %d failed (5xx or no answer; retried).\n",
		st.Requests, st.Throttled, st.ServerErrors+st.TransportErrors)
	if len(failed) > 0 {
		return fmt.Errorf("sync failed for %s; `bcconnector status %s` shows the errors", strings.Join(failed, ", "), cn.Connection.Name)
	}
	return nil
}

// bars shows one progress line per entity set on a terminal, or log lines otherwise.
type bars struct {
	mu    sync.Mutex
	w     io.Writer
	tty   bool
	start map[string]time.Time
	last  time.Time
	// companies names each company by ID when the connection syncs several, so a line
	// says which company's set it is about.
	companies map[string]string
}

// label is the target's entity set, with its company when there are several.
func (b *bars) label(t syncer.Target) string {
	if b.companies == nil {
		return t.EntitySet
	}
	return t.EntitySet + " [" + b.companies[t.CompanyID] + "]"
}

func newBars(g *Globals) *bars {
	f, ok := g.Stderr.(*os.File)
	return &bars{w: g.Stderr, tty: ok && term.IsTerminal(int(f.Fd())), start: map[string]time.Time{}}
}

func (b *bars) update(p syncer.Progress) {
	b.mu.Lock()
	defer b.mu.Unlock()
	set := b.label(p.Target)
	if _, ok := b.start[set]; !ok {
		b.start[set] = time.Now()
	}
	if time.Since(b.last) < 250*time.Millisecond {
		return
	}
	b.last = time.Now()
	el := time.Since(b.start[set]).Seconds()
	rate := float64(p.Rows) / max(el, 0.001)
	eta := ""
	if p.Total > p.Rows && rate > 0 {
		eta = fmt.Sprintf(" ETA %s", (time.Duration(float64(p.Total-p.Rows)/rate) * time.Second).Round(time.Second))
	}
	line := fmt.Sprintf("%-24s %s %9d/%d rows %8.0f rows/s%s", set, p.Mode, p.Rows, p.Total, rate, eta)
	if b.tty {
		fmt.Fprintf(b.w, "\r\033[K%s", line)
	} else {
		fmt.Fprintln(b.w, line)
	}
}

func (b *bars) finish(t syncer.Target, r syncer.Result, err error, d time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.tty {
		fmt.Fprint(b.w, "\r\033[K")
	}
	status := "ok"
	if err != nil {
		status = "FAILED: " + err.Error()
	}
	fmt.Fprintf(b.w, "%-24s %-11s %s in %s: %s\n", b.label(t), r.Mode, resultCounts(r, b.hasLines(t)), d.Round(time.Millisecond), status)
}

// hasLines reports whether the target's records bring lines (salesInvoices →
// salesInvoiceLines), which the replica counts with their documents.
func (b *bars) hasLines(t syncer.Target) bool {
	ent, ok := bcschema.MustLoad().EntitySet(t.EntitySet)
	return ok && len(bcschema.MustLoad().Children(ent)) > 0
}

// resultCounts words a run's counts so they add up: the records read from BC, then what
// the replica stored, which for a set with lines counts the lines too (60 invoices read can
// store 96 new rows); a reconciliation compares ids and only deletes.
func resultCounts(r syncer.Result, lines bool) string {
	stored := fmt.Sprintf("%d new, %d changed, %d unchanged, %d deleted", r.Inserted, r.Updated, r.Same, r.Deleted)
	if lines {
		stored += " (records and their lines)"
	}
	if r.Mode == syncer.ModeReconcile {
		if r.Rows == 0 {
			return fmt.Sprintf("reconciliation: ids compared with BC; replica: %d deleted", r.Deleted)
		}
		return fmt.Sprintf("reconciliation: %d records read whole; replica: %s", r.Rows, stored)
	}
	return fmt.Sprintf("%d records read; replica: %s", r.Rows, stored)
}

// StatusCmd shows the sync state of a connection.
type StatusCmd struct {
	Connection string `arg:"" help:"Connection name or ID."`
	JSON       bool   `help:"Print JSON."`
}

// Run prints per entity set: rows, watermark, last run, lag, last error, 429s.
func (c *StatusCmd) Run(ctx context.Context, g *Globals) error {
	a, cn, err := g.connection(ctx, c.Connection)
	if err != nil {
		return err
	}
	states, err := a.db.SyncStates(ctx, cn.ID)
	if err != nil {
		return err
	}
	if c.JSON {
		return json.NewEncoder(g.Stdout).Encode(states)
	}
	if len(states) == 0 {
		fmt.Fprintf(g.Stdout, "Nothing synced yet; run `bcconnector sync %s`.\n", cn.Name)
		return nil
	}
	tw := tabwriter.NewWriter(g.Stdout, 0, 4, 2, ' ', 0)
	multi := len(cn.SyncCompanies()) > 1 || slices.ContainsFunc(states, func(st store.SyncState) bool { return st.Key.CompanyID != cn.CompanyID })
	if multi {
		fmt.Fprint(tw, "COMPANY\t")
	}
	fmt.Fprintln(tw, "ENTITY SET\tROWS\tWATERMARK\tLAST RUN\tLAG\t429s\tSTATE")
	for _, st := range states {
		rows, _ := a.db.ReplicaCount(ctx, st.Key)
		lag := "-"
		if !st.LastSuccessAt.IsZero() {
			lag = time.Since(st.LastSuccessAt).Round(time.Second).String()
		}
		state := "ok"
		switch {
		case st.LastError != "":
			state = "error: " + st.LastError
		case !st.FullSyncDone:
			state = "full sync not finished"
		case st.Paused:
			state = "paused"
		}
		if multi {
			name := st.Key.CompanyID
			if co, ok := cn.FindCompany(st.Key.CompanyID); ok {
				name = co.Label()
			}
			fmt.Fprintf(tw, "%s\t", name)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%d\t%s\n", st.Key.EntitySet, rows, stamp(st.Watermark), stamp(st.LastRunAt), lag, st.Throttled, state)
	}
	return tw.Flush()
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

// ChangesCmd prints the change log from a position.
type ChangesCmd struct {
	// After is the API's cursor name (GET /changes?after=); --since is a hidden alias
	// kept for scripts written before the two were one name.
	After      int64  `help:"Print changes after this sequence number (the API's after; next of a page)." default:"0" aliases:"since"`
	Limit      int    `help:"At most this many changes." default:"1000"`
	Connection string `help:"Only the changes of this connection (name or ID), as the API's connection." placeholder:"NAME|ID"`
	EntitySet  string `name:"entity-set" help:"Only the changes of this entity set (e.g. customers), as the API's entitySet." placeholder:"SET"`
}

// Run prints one JSON change per line: up to --limit changes that pass the filters, read
// on past those that do not until the end of the log.
func (c *ChangesCmd) Run(ctx context.Context, g *Globals) error {
	if c.Limit <= 0 {
		return fmt.Errorf("--limit must be at least 1, got %d", c.Limit)
	}
	a, err := g.open(ctx)
	if err != nil {
		return err
	}
	connID := ""
	if c.Connection != "" {
		cn, err := a.connection(ctx, c.Connection)
		if err != nil {
			return fmt.Errorf("--connection %s: %w", c.Connection, err)
		}
		connID = cn.ID
	}
	enc := json.NewEncoder(g.Stdout)
	printed := 0
	for since := c.After; printed < c.Limit; {
		chunk, err := a.db.Changes(ctx, since, max(c.Limit, 500))
		var ce *store.CursorExpiredError
		if errors.As(err, &ce) {
			// As the API's cursor_expired: reading on would skip the pruned changes.
			return fmt.Errorf("--after %d is older than the change log keeps: the changes up to %d were pruned by its retention (serve --change-retention, --change-retention-entries), so reading on would skip some; read the records again, then follow from --after %d", c.After, ce.PrunedThrough, ce.PrunedThrough)
		}
		if err != nil {
			return err
		}
		if len(chunk) == 0 {
			if since == c.After && c.After > 0 {
				// As the API's cursor_beyond_end: no change will ever follow such a position.
				m, err := a.db.ReadMark(ctx)
				if err != nil {
					return err
				}
				if c.After > m.Seq {
					return fmt.Errorf("--after %d is past the end of the change log (%d): no change will ever follow it; it is from another database or one that was reset, so read again from --after 0", c.After, m.Seq)
				}
			}
			return nil
		}
		for _, ch := range chunk {
			if printed == c.Limit {
				break
			}
			if (connID == "" || ch.ConnectionID == connID) && (c.EntitySet == "" || ch.EntitySet == c.EntitySet) {
				if err := enc.Encode(ch); err != nil {
					return err
				}
				printed++
			}
		}
		since = chunk[len(chunk)-1].Seq
	}
	return nil
}
