package syncer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/bizzjoiner/bcconnector/bc"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// SyncArgs is a River job that syncs one target. Jobs are unique per connection, company
// and entity set while one is waiting or running, whatever their mode.
type SyncArgs struct {
	ConnectionID string `json:"connection_id" river:"unique"`
	CompanyID    string `json:"company_id" river:"unique"`
	EntitySet    string `json:"entity_set" river:"unique"`
	// Mode is "" (whatever the target needs), "full" (restart), or "reconcile".
	Mode Mode `json:"mode,omitempty"`
	// Scheduled marks a job the scheduler queued (its moment, or a webhook hint), which
	// keeps its set's quiet window ([Worker.Schedules]); a job a person asked for (the UI's
	// or the API's sync, the CLI) does not. Not part of the job's uniqueness.
	Scheduled bool `json:"scheduled,omitempty"`
}

// Kind implements river.JobArgs.
func (SyncArgs) Kind() string { return "bc_sync" }

// InsertOpts makes sync jobs unique among jobs that have not finished.
func (SyncArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{
		Queue:       QueueSync,
		MaxAttempts: 10,
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
			rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
			rivertype.JobStateRetryable, rivertype.JobStateScheduled,
		}},
	}
}

// Target returns the job's target.
func (a SyncArgs) Target() Target {
	return Target{ConnectionID: a.ConnectionID, CompanyID: a.CompanyID, EntitySet: a.EntitySet}
}

// QueueSync is the River queue of sync jobs.
const QueueSync = "bc_sync"

// Clients gives the BC client of a connection; clients of one connection should be one
// value so they share BC's per-app limits.
type Clients interface {
	Client(ctx context.Context, connectionID string) (*bc.Client, error)
}

// Worker runs sync jobs on River. A 429 (or 503) that the client could not absorb
// snoozes the job for the server's Retry-After instead of failing it, so throttling never
// burns an attempt. A hint that arrives while a target is running, on this instance or any
// other, makes the worker run it again right after, so no notification is lost to job
// uniqueness: the hint sets the target's Dirty flag in the store ([Scheduler.Hint]), a
// run clears it before it reads BC and looks at it again when it ends.
//
// A job runs in time slices: after RunFor it stops once its pages in flight are
// committed and snoozes itself to continue at once from its checkpoints. So no job runs
// longer than its timeout (2 × RunFor), and River can take over a job left running by a
// process that died as soon as that timeout has passed (set River's
// RescueStuckJobsAfter to [Worker.RescueAfter]). Running a job twice is safe: every page
// is committed with its checkpoint, rows are applied only when their ETag changed, and a
// rescued full re-sync resumes its plan instead of starting over.
type Worker struct {
	river.WorkerDefaults[SyncArgs]
	Syncer  *Syncer
	Clients Clients
	Logger  *slog.Logger
	// Snooze, if set, turns the wait BC asked for (its Retry-After, or 30 s when it named
	// none) into the snooze River gets; tests shorten it. Default: the wait as asked.
	Snooze func(retryAfter time.Duration) time.Duration
	// RunFor is how long one run of a job reads before it yields; default 15 seconds. A
	// page in flight is finished first, so keep it well above the time BC takes for one
	// page.
	RunFor time.Duration
	// MaxPerConnection is how many jobs of one connection this worker runs at once;
	// default 2. A further job of that connection (but a full re-sync) snoozes for
	// BusyWait, so a customer whose BC is slow holds at most this many of the instance's
	// workers and every other customer still gets its turn. (A throttled one holds none:
	// it snoozes for BC's Retry-After.)
	MaxPerConnection int
	// BusyWait is how long a job refused by MaxPerConnection waits; default 2 seconds.
	BusyWait time.Duration
	// PassFunc, if set, is called after every pass a job runs, with its mode (full,
	// incremental, reconcile), its outcome ([Outcome]) and how long it took (serve's
	// metrics).
	PassFunc func(mode Mode, outcome string, d time.Duration)
	// Schedules, when set, gives a job's connection, whose schedule
	// (store.Connection.ScheduleFor) holds a scheduled job ([SyncArgs.Scheduled]) to its
	// set's quiet window: one due inside the window snoozes until after its end, and one
	// running when the window starts stops at its next page boundary, its pages committed
	// with their checkpoints, and snoozes likewise, to continue from those checkpoints.
	// Without it, quiet windows are the scheduler's alone (a pass running when one starts
	// finishes).
	Schedules ConnectionGetter
	// Interval is serve's --interval (default 1 minute): a job held back by a quiet window
	// resumes after its end at the target's phase of the shorter of this and its own
	// interval, as the scheduler queues it ([Phase]), so targets are spread after the
	// window.
	Interval time.Duration
	// Now is the clock of time slices and quiet windows; default time.Now.
	Now func() time.Time

	mu      sync.Mutex
	snoozes int64
	running map[string]int // jobs running per connection
}

// ConnectionGetter reads a stored connection (store.ConnectionStore has this method).
type ConnectionGetter interface {
	GetConnection(ctx context.Context, idOrName string) (store.Connection, error)
}

func (w *Worker) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

// quietSchedule returns the schedule of a scheduled job's set when it has a quiet window.
func (w *Worker) quietSchedule(ctx context.Context, args SyncArgs) (store.Schedule, bool) {
	if !args.Scheduled || w.Schedules == nil || args.Mode == ModeFull {
		return store.Schedule{}, false
	}
	c, err := w.Schedules.GetConnection(ctx, args.ConnectionID)
	if err != nil {
		return store.Schedule{}, false
	}
	sc := c.ScheduleFor(args.EntitySet)
	return sc, sc.Quiet != nil
}

// quietWait returns how long a job of t waits when now is inside the quiet window of sc:
// until the target's moment after the window's end (see Interval), as the scheduler
// would queue it.
func (w *Worker) quietWait(t Target, sc store.Schedule, now time.Time) (time.Duration, bool) {
	end := sc.Quiet.Until(now)
	if end.IsZero() {
		return 0, false
	}
	def := w.Interval
	if def <= 0 {
		def = time.Minute
	}
	interval := sc.Every()
	if interval <= 0 {
		interval = def
	}
	return nextRun(t, min(interval, def), end).Sub(now), true
}

// DefaultMaxPerConnection is the default of Worker.MaxPerConnection.
const DefaultMaxPerConnection = 2

// take counts a job of the connection as running, unless MaxPerConnection are; release
// undoes it.
func (w *Worker) take(connID string) bool {
	limit := w.MaxPerConnection
	if limit <= 0 {
		limit = DefaultMaxPerConnection
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.running[connID] >= limit {
		return false
	}
	if w.running == nil {
		w.running = map[string]int{}
	}
	w.running[connID]++
	return true
}

func (w *Worker) release(connID string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.running[connID]--; w.running[connID] <= 0 {
		delete(w.running, connID)
	}
}

// DefaultRunFor is the default time slice of a sync job.
const DefaultRunFor = 15 * time.Second

func (w *Worker) runFor() time.Duration {
	if w.RunFor > 0 {
		return w.RunFor
	}
	return DefaultRunFor
}

// Timeout implements river.Worker: twice the time slice, so a run ends by itself (after
// its page in flight) long before River cancels it.
func (w *Worker) Timeout(*river.Job[SyncArgs]) time.Duration { return 2 * w.runFor() }

// RescueAfter is the value for River's RescueStuckJobsAfter (and at least its
// JobTimeout): a job still "running" this long after it started was left by a process
// that died, and River makes it available again.
func (w *Worker) RescueAfter() time.Duration { return 2 * w.runFor() }

// Snoozes counts jobs snoozed for throttling.
func (w *Worker) Snoozes() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.snoozes
}

// Work implements river.Worker.
func (w *Worker) Work(ctx context.Context, job *river.Job[SyncArgs]) error {
	t := job.Args.Target()
	now := w.now()
	deadline := now.Add(w.runFor())
	sc, quiet := w.quietSchedule(ctx, job.Args)
	if quiet {
		if d, ok := w.quietWait(t, sc, now); ok {
			w.logQuiet(t, sc, d, "a scheduled job waits for the end of the quiet window")
			return river.JobSnooze(d)
		}
		// The run stops at its first page boundary inside the window.
		if start := sc.Quiet.NextStart(now); !start.IsZero() && start.Before(deadline) {
			deadline = start
		}
	}
	// A full re-sync is not refused: a snoozed job's next run counts as a continuation,
	// which would turn the full pass asked for into an incremental one.
	if job.Args.Mode != ModeFull {
		if !w.take(t.ConnectionID) {
			d := w.BusyWait
			if d <= 0 {
				d = 2 * time.Second
			}
			return river.JobSnooze(d)
		}
		defer w.release(t.ConnectionID)
	}
	client, err := w.Clients.Client(ctx, t.ConnectionID)
	if err != nil {
		return fmt.Errorf("connection %s: %w", t.ConnectionID, err)
	}
	ctx = withYield(ctx, deadline, w.now)
	mode := job.Args.Mode
	if mode == ModeFull && !firstRun(job.JobRow) {
		// A continuation (after a yield) or a rescue: resume the full pass that the first
		// run planned (Sync does), never start it over.
		mode = ""
	}
	for {
		// What a hint announced before this point, the run below reads.
		if _, err := w.takeDirty(ctx, t); err != nil {
			return err
		}
		start := time.Now()
		var res Result
		switch mode {
		case ModeFull:
			res, err = w.Syncer.Full(ctx, client, t, true)
		case ModeReconcile:
			res, err = w.Syncer.Reconcile(ctx, client, t)
		default:
			res, err = w.Syncer.Sync(ctx, client, t)
		}
		if w.PassFunc != nil {
			m := res.Mode
			if m == "" {
				m = ModeIncremental
			}
			w.PassFunc(m, Outcome(err), time.Since(start))
		}
		if errors.Is(err, ErrYielded) {
			if quiet {
				if d, ok := w.quietWait(t, sc, w.now()); ok {
					w.logQuiet(t, sc, d, "the quiet window started: the run stopped at a page boundary and continues from its checkpoints after it")
					return river.JobSnooze(d)
				}
			}
			return river.JobSnooze(0) // continue at once, from the checkpoints
		}
		if err != nil {
			return w.jobError(t, err)
		}
		again, err := w.takeDirty(ctx, t)
		if err != nil {
			return err
		}
		if !again {
			return nil
		}
		mode = "" // a hint during the run: catch up incrementally
	}
}

func (w *Worker) logQuiet(t Target, sc store.Schedule, d time.Duration, msg string) {
	if w.Logger != nil {
		w.Logger.Info(msg, append(targetAttrs(t), "quietStart", sc.Quiet.Start, "quietEnd", sc.Quiet.End, "timeZone", sc.Quiet.TimeZone, "waitMs", d.Milliseconds())...)
	}
}

// takeDirty clears the target's Dirty flag and reports whether it was set. It reads
// first, so a run with no hint writes nothing. A hint that sets the flag between a run's
// last look and River marking the job completed finds the job still running (the queue
// absorbs its job); the flag stays set and the next scheduled run reads the change.
func (w *Worker) takeDirty(ctx context.Context, t Target) (bool, error) {
	st, err := w.Syncer.opt.Store.SyncState(ctx, t.key())
	if err != nil || !st.Dirty {
		return false, err
	}
	var was bool
	err = w.Syncer.opt.Store.UpdateSyncState(ctx, t.key(), func(s *store.SyncState) {
		was, s.Dirty = s.Dirty, false
	})
	return was, err
}

// Outcome classes how a pass ended, for metrics: ok, yielded (its time slice ended; it
// continues), throttled (BC answered 429) or error.
func Outcome(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, ErrYielded):
		return "yielded"
	case bc.IsThrottled(err):
		return "throttled"
	}
	return "error"
}

// jobError turns throttling into a snooze (it does not count as an attempt).
func (w *Worker) jobError(t Target, err error) error {
	var be *bc.Error
	if errors.As(err, &be) && bc.IsThrottled(err) {
		d := be.RetryAfter
		if d <= 0 {
			d = 30 * time.Second
		}
		w.mu.Lock()
		w.snoozes++
		w.mu.Unlock()
		if w.Logger != nil {
			w.Logger.Warn("BC throttled the sync; snoozing the job", append(targetAttrs(t), "retryAfterMs", d.Milliseconds())...)
		}
		if w.Snooze != nil {
			d = w.Snooze(d)
		}
		return river.JobSnooze(d)
	}
	return err
}

// firstRun reports whether this is a job's first run: not a retry, a rescue or a
// continuation after a snooze (River counts snoozes in the metadata, not in Attempt).
func firstRun(job *rivertype.JobRow) bool {
	if job == nil {
		return true
	}
	var md struct {
		Snoozes int `json:"snoozes"`
	}
	_ = json.Unmarshal(job.Metadata, &md)
	return job.Attempt <= 1 && len(job.Errors) == 0 && md.Snoozes == 0
}
