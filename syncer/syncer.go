// Package syncer keeps an exact replica of a connection's Business Central data in the
// store and a change log of what it applied.
//
// A full sync of a large entity set runs as partitions (integer entryNumber ranges, or
// lastModifiedDateTime ranges after a cheap probe) pulled by as many workers as the
// connection may have requests in flight, so every slot stays busy to the end. Every page
// is committed together with its partition's nextLink, so a process killed at any moment
// resumes where it stopped. Incremental runs follow lastModifiedDateTime with an overlap
// window and apply only rows whose ETag changed, so late commits are caught and nothing is
// applied twice. Document lines, which have no timestamp, travel with their document
// ($expand) and replace its lines. Deletes are found by reconciling ids.
package syncer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/bizzjoiner/bcconnector/bc"
	"github.com/bizzjoiner/bcconnector/bcschema"
	"github.com/bizzjoiner/bcconnector/store"
)

// Target is one replicated entity set of a connection's company.
type Target struct {
	ConnectionID string
	CompanyID    string
	EntitySet    string
}

func (t Target) key() store.ReplicaKey {
	return store.ReplicaKey{ConnectionID: t.ConnectionID, CompanyID: t.CompanyID, EntitySet: t.EntitySet}
}

// Mode is the kind of run.
type Mode string

// Run modes.
const (
	ModeFull        Mode = "full"
	ModeIncremental Mode = "incremental"
	ModeReconcile   Mode = "reconcile"
)

// Options configures a Syncer.
type Options struct {
	// Store holds the replica.
	Store store.ReplicaStore
	// Schema is the API schema; default the embedded v2.0 schema.
	Schema *bcschema.Schema
	// PageSize is the page size of full syncs (Prefer: odata.maxpagesize); default 5,000.
	PageSize int
	// Workers is how many partitions are read at once; default 6, one more than BC's 5
	// per-app slots (bc.DefaultMaxInFlight): the extra worker's request waits for the
	// client's limiter, not in BC's queue, and goes out the moment one of the others
	// has its page's last byte, so a slot BC frees is not left idle while that worker
	// decodes its page and hands it to its committer.
	Workers int
	// Partitions caps how many partitions a full sync is split into; default 4 × Workers
	// for lastModifiedDateTime ranges, and for a ledger's entryNumber ranges of one page
	// each (see pageRanges) at most 2,000.
	Partitions int
	// Overlap is how far behind the watermark incremental runs start, so records committed
	// late (with an earlier timestamp) are not missed; default 2 minutes (bc-entra-facts §8).
	Overlap time.Duration
	// Progress, when set, is called after every committed page.
	Progress func(Progress)
	// Observed, when set, is called after an incremental run that found changes, with the
	// newest lastModifiedDateTime it saw: polling is the safety net of webhooks, and the
	// webhook manager counts changes no notification announced (webhook.Manager.ObservedChange).
	Observed func(t Target, newest time.Time)
	// ReconcileEvery makes Sync reconcile ids (find records BC deleted, see Reconcile)
	// after this many incremental passes of a set, counted in this process; default
	// DefaultReconcileEvery, negative never.
	ReconcileEvery int
	// ReconcileInterval makes Sync reconcile ids when the set's last reconciliation is
	// older than this, across restarts; default DefaultReconcileInterval, negative never.
	// With webhooks off, this and ReconcileEvery bound how long a delete in BC takes to
	// reach the replica and the change log. Ledgers (append-only) are never reconciled.
	ReconcileInterval time.Duration
	// ExtensionFields makes passes of standard sets use the standard API's $metadata (read
	// once per connection and reused, see "The $metadata cache" in discovered.go) so fields
	// table extensions added become typed columns of the replica and schema changes are
	// versioned (schema.changed); default off (serve and the sync command turn it on).
	// Custom API sets always use their API's $metadata, cached the same way.
	ExtensionFields bool
	// SchemaMaxAge is how long a connection's $metadata of an API is reused (unless a
	// record showed a field it does not list); default 10 minutes, negative: read at every
	// pass.
	SchemaMaxAge time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger receives one line per run and page errors; default discard.
	Logger *slog.Logger
}

// Progress reports a committed page.
type Progress struct {
	Target    Target
	Mode      Mode
	Partition string
	Rows      int64 // rows committed so far in this run
	Total     int64 // estimated rows of the run; 0 when unknown
}

// Result sums up a run.
type Result struct {
	Target                                 Target
	Mode                                   Mode
	Pages                                  int
	Rows, Inserted, Updated, Deleted, Same int64
	Duration                               time.Duration
}

// Syncer replicates entity sets. It is safe for concurrent use on different targets;
// runs of one target must not overlap (the job queue makes them unique).
type Syncer struct {
	opt Options
	// pageRangeCap caps a ledger's partitions of one page each: Options.Partitions when
	// set, else maxPageRanges.
	pageRangeCap int

	mu       sync.Mutex
	passes   map[Target]int // incremental passes since the last reconciliation
	metadata map[metadataKey]*metadataCache
	recorded map[Target]*metadataCache   // the $metadata each target's schema was last recorded from
	extended map[Target]*bcschema.Entity // standard sets with extension fields
}

// New returns a Syncer.
func New(opt Options) (*Syncer, error) {
	if opt.Store == nil {
		return nil, errors.New("syncer: Options.Store is required")
	}
	if opt.Schema == nil {
		var err error
		if opt.Schema, err = bcschema.Load(); err != nil {
			return nil, err
		}
	}
	if opt.PageSize <= 0 {
		opt.PageSize = 5000
	}
	opt.PageSize = min(opt.PageSize, bc.MaxPageSize)
	if opt.Workers <= 0 {
		opt.Workers = bc.DefaultMaxInFlight + 1
	}
	pageRangeCap := opt.Partitions
	if opt.Partitions <= 0 {
		opt.Partitions = 4 * opt.Workers
		pageRangeCap = maxPageRanges
	}
	if opt.Overlap <= 0 {
		opt.Overlap = 2 * time.Minute
	}
	if opt.ReconcileEvery == 0 {
		opt.ReconcileEvery = DefaultReconcileEvery
	}
	if opt.ReconcileInterval == 0 {
		opt.ReconcileInterval = DefaultReconcileInterval
	}
	if opt.SchemaMaxAge == 0 {
		opt.SchemaMaxAge = 10 * time.Minute
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	return &Syncer{opt: opt, pageRangeCap: pageRangeCap}, nil
}

// Targets expands entity sets into sync targets: a line set is replicated through its
// document, so it is replaced by its parent (once).
func (s *Syncer) Targets(connectionID, companyID string, sets []string) ([]Target, error) {
	var out []Target
	seen := map[string]bool{}
	for _, name := range sets {
		if custom, ok, err := ParseCustomEntry(name); ok || err != nil {
			if err != nil {
				return nil, err
			}
			if !seen[custom] {
				seen[custom] = true
				out = append(out, Target{ConnectionID: connectionID, CompanyID: companyID, EntitySet: custom})
			}
			continue
		}
		ent, ok := s.opt.Schema.EntitySet(name)
		if !ok {
			return nil, fmt.Errorf("unknown entity set %q (see `bcconnector get --help` for the names)", name)
		}
		if ent.Parent != nil {
			name = ent.Parent.EntitySet
		}
		if !seen[name] {
			seen[name] = true
			out = append(out, Target{ConnectionID: connectionID, CompanyID: companyID, EntitySet: name})
		}
	}
	return out, nil
}

// Sync runs what the target needs: a full sync until one completed, then incremental
// runs, each followed by an id reconciliation when one is due (Options.ReconcileEvery,
// Options.ReconcileInterval), so deletes reach the replica without webhooks: polling is
// the safety net. An unfinished full sync is always resumed first, also when an earlier
// one completed (a re-sync with Full(restart) that was interrupted), so an interrupted
// full pass is never silently replaced by an incremental one.
func (s *Syncer) Sync(ctx context.Context, c *bc.Client, t Target) (Result, error) {
	if api, set, ok := CustomSet(t.EntitySet); ok {
		return s.syncCustom(ctx, c, t, api, set)
	}
	if s.opt.ExtensionFields {
		before := c.Stats()
		if err := s.extend(ctx, c, t); err != nil {
			return Result{Target: t}, s.finish(ctx, t, c, before, err, nil)
		}
		// The $metadata read (when the cache was due) is the set's request too: the run
		// that follows counts from its own start.
		if d := c.Stats(); d.Requests > before.Requests {
			if err := s.opt.Store.UpdateSyncState(ctx, t.key(), func(st *store.SyncState) {
				st.Requests += d.Requests - before.Requests
				st.Throttled += d.Throttled - before.Throttled
			}); err != nil {
				return Result{Target: t}, err
			}
		}
	}
	st, err := s.opt.Store.SyncState(ctx, t.key())
	if err != nil {
		return Result{Target: t}, err
	}
	if _, unfinished := st.Checkpoints[planName]; unfinished || !st.FullSyncDone {
		res, err := s.Full(ctx, c, t, false)
		if err == nil {
			s.resetPasses(t)
		}
		return res, err
	}
	res, err := s.Incremental(ctx, c, t)
	if err != nil {
		return res, err
	}
	if ent, _, e := s.entity(t); e == nil && s.reconcileDue(t, ent, st) {
		rr, err := s.Reconcile(ctx, c, t)
		res.Deleted += rr.Deleted
		res.Pages += rr.Pages
		return res, err
	}
	return res, nil
}

// ErrYielded is returned by a run that stopped early, after committing its pages in
// flight, because its time slice ended (see [Worker.RunFor]); the next run continues
// from its checkpoints.
var ErrYielded = errors.New("syncer: the run yielded after its time slice; it continues from its checkpoint")

type yieldKey struct{}

// yieldAt is when a run yields, on its clock.
type yieldAt struct {
	at  time.Time
	now func() time.Time
}

// withYield makes full and incremental runs under ctx stop after their page in flight
// once at has passed on the clock now (nil: time.Now), returning ErrYielded.
func withYield(ctx context.Context, at time.Time, now func() time.Time) context.Context {
	if now == nil {
		now = time.Now
	}
	return context.WithValue(ctx, yieldKey{}, yieldAt{at: at, now: now})
}

// yieldDue reports whether the run's time slice has ended.
func yieldDue(ctx context.Context) bool {
	y, ok := ctx.Value(yieldKey{}).(yieldAt)
	return ok && !y.now().Before(y.at)
}

// entity returns the schema entity of a target and its line sets.
func (s *Syncer) entity(t Target) (*bcschema.Entity, []*bcschema.Entity, error) {
	s.mu.Lock()
	ext := s.extended[t]
	s.mu.Unlock()
	if ext != nil {
		return ext, s.opt.Schema.Children(ext), nil
	}
	ent, ok := s.opt.Schema.EntitySet(t.EntitySet)
	if !ok {
		return nil, nil, fmt.Errorf("unknown entity set %q", t.EntitySet)
	}
	if ent.Parent != nil {
		return nil, nil, fmt.Errorf("%s is replicated through %s: sync that instead", t.EntitySet, ent.Parent.EntitySet)
	}
	return ent, s.opt.Schema.Children(ent), nil
}

// ensure creates the replica tables of a target and its lines.
func (s *Syncer) ensure(ctx context.Context, ent *bcschema.Entity, children []*bcschema.Entity) error {
	for _, e := range append([]*bcschema.Entity{ent}, children...) {
		if err := s.opt.Store.EnsureReplica(ctx, e); err != nil {
			return err
		}
	}
	return nil
}

// query is the read of a target: its lines expanded.
func (s *Syncer) query(children []*bcschema.Entity, pageSize int, filter bc.Expr) *bc.Query {
	q := &bc.Query{PageSize: pageSize, Filter: filter}
	for _, c := range children {
		q.Expand = append(q.Expand, bc.Expansion{Nav: c.Parent.Navigation})
	}
	return q
}

// finish records the outcome of a run in the sync state.
func (s *Syncer) finish(ctx context.Context, t Target, c *bc.Client, before bc.Stats, runErr error, fn func(*store.SyncState)) error {
	after := c.Stats()
	now := s.opt.Now().UTC()
	yielded := errors.Is(runErr, ErrYielded) // neither a failure nor done
	err := s.opt.Store.UpdateSyncState(ctx, t.key(), func(st *store.SyncState) {
		st.LastRunAt = now
		st.Requests += after.Requests - before.Requests
		st.Throttled += after.Throttled - before.Throttled
		if yielded {
			return
		}
		if runErr != nil {
			st.LastError = runErr.Error()
			return
		}
		st.LastError = ""
		st.LastSuccessAt = now
		if fn != nil {
			fn(st)
		}
	})
	// Lines are replicated through their document: they share its run's outcome, so
	// `status` and the dashboard show them like any other set.
	if _, children, e := s.entity(t); e == nil {
		for _, ch := range children {
			ck := store.ReplicaKey{ConnectionID: t.ConnectionID, CompanyID: t.CompanyID, EntitySet: ch.EntitySet}
			e := s.opt.Store.UpdateSyncState(ctx, ck, func(st *store.SyncState) {
				st.LastRunAt = now
				if yielded {
					return
				}
				if runErr != nil {
					st.LastError = "via " + t.EntitySet + ": " + runErr.Error()
					return
				}
				st.LastError = ""
				st.LastSuccessAt = now
				if fn != nil {
					fn(st)
					st.Checkpoints = nil
				}
			})
			if err == nil {
				err = e
			}
		}
	}
	if runErr != nil {
		return runErr
	}
	return err
}

// targetAttrs names a target in a log line: every sync line says which connection,
// company and entity set it is about.
func targetAttrs(t Target) []any {
	return []any{"connection", t.ConnectionID, "company", t.CompanyID, "entitySet", t.EntitySet}
}

// debug writes a debug line about t: the steps of a run, whose times show where a run's
// time goes (a full sync's plan, each page's read and commit).
func (s *Syncer) debug(t Target, msg string, attrs ...any) {
	if ctx := context.Background(); s.opt.Logger.Enabled(ctx, slog.LevelDebug) {
		s.opt.Logger.Log(ctx, slog.LevelDebug, msg, append(targetAttrs(t), attrs...)...)
	}
}

// logRun writes the one line of a finished run of t: info with its figures (durations in
// milliseconds), or a warning with err when it failed; a run that yielded its time slice
// did not fail and carries no err.
func (s *Syncer) logRun(t Target, msg string, err error, attrs ...any) {
	lvl := slog.LevelInfo
	attrs = append(targetAttrs(t), attrs...)
	if err != nil && !errors.Is(err, ErrYielded) {
		lvl, attrs = slog.LevelWarn, append(attrs, "err", err)
	} else if errors.Is(err, ErrYielded) {
		attrs = append(attrs, "yielded", true)
	}
	s.opt.Logger.Log(context.Background(), lvl, msg, attrs...)
}

// isLedger reports sets whose entries BC never deletes (posted ledger entries), which
// reconciliation can skip.
func isLedger(ent *bcschema.Entity) bool {
	_, ok := ent.Field("entryNumber")
	return ok && !ent.Allows("DELETE")
}
