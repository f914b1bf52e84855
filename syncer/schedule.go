package syncer

import (
	"context"
	"errors"
	"hash/fnv"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/bizzjoiner/bcconnector/bc"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// ScheduleArgs is the periodic River job that fans out a sync job for every target of
// every connection (and keeps webhook subscriptions alive). See [Scheduler].
type ScheduleArgs struct{}

// Kind implements river.JobArgs.
func (ScheduleArgs) Kind() string { return "bcc_schedule" }

// InsertOpts keeps one schedule job waiting at a time.
func (ScheduleArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueSchedule, MaxAttempts: 1, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
		rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning, rivertype.JobStateScheduled,
	}}}
}

// QueueSchedule is the River queue of the schedule job, apart from sync jobs so that a
// full queue of long syncs never delays it.
const QueueSchedule = "bcc_schedule"

// Queue puts sync jobs on the job queue (River in `bcconnector serve`). A job for a target
// that already has one waiting (also one scheduled for later) or running is absorbed by the
// queue's uniqueness: Enqueue then reports the existing job with Duplicate set. at is when
// the job may run; zero means now.
type Queue interface {
	Enqueue(ctx context.Context, args SyncArgs, at time.Time) (Enqueued, error)
}

// Enqueued tells what [Queue.Enqueue] did.
type Enqueued struct {
	// JobID is the queue's id of the job: the new one, or the one that absorbed it.
	JobID int64
	// State is that job's state in the queue: available, scheduled, running, retryable…
	State string
	// Duplicate means no job was inserted: a job for the same target was already waiting
	// or running (with whatever mode it had).
	Duplicate bool
}

// ScheduleStore is what the scheduler reads and writes: the connections and each
// target's sync state (a paused target is skipped; a hint sets Dirty).
type ScheduleStore interface {
	ListConnections(ctx context.Context) ([]store.Connection, error)
	GetConnection(ctx context.Context, idOrName string) (store.Connection, error)
	SyncState(ctx context.Context, key store.ReplicaKey) (store.SyncState, error)
	UpdateSyncState(ctx context.Context, key store.ReplicaKey, fn func(*store.SyncState)) error
}

// SchedulerOptions configures [NewScheduler]. Store, Queue and TargetsFunc are required.
type SchedulerOptions struct {
	// Store lists the connections and their sync states. Required.
	Store ScheduleStore
	// Queue receives the sync jobs. Required.
	Queue Queue
	// TargetsFunc returns the sync targets of a connection (its entity sets, or the
	// defaults, in each of its companies; serve lists BC's companies first for a connection
	// of "all companies", so companies added later are synced). Required.
	TargetsFunc func(ctx context.Context, connectionID string) ([]Target, error)
	// Interval is how often a target is synced whose connection and set have no interval
	// of their own (store.Connection.Schedule, SetSchedules); default 1 minute.
	Interval time.Duration
	// Ticks is how many times per Interval the scheduler runs; default 2. Each run queues
	// every target at its next moment ([Phase]); River makes a scheduled job available
	// some seconds late, so a run may find a target's job of the moment just passed still
	// waiting (the queue absorbs the new one): the next run queues it, so the target is
	// late by at most Interval/Ticks, never a whole turn. A target already queued for its
	// next moment by this scheduler is not asked again. A connection's webhook
	// subscriptions are ensured once per Interval, by the run after the connection's own
	// moment.
	Ticks int
	// Clients gives a connection's BC client for EnsureFunc; needed only with EnsureFunc.
	Clients Clients
	// EnsureFunc, when set, is called on every schedule run for each company of each
	// connection with the sets it syncs there, to create or renew their webhook
	// subscriptions (webhook.Manager.Ensure).
	EnsureFunc func(ctx context.Context, c *bc.Client, connectionID, companyID string, entitySets []string) error
	// Syncer applies webhook deletes at once (see [Scheduler.Hint]); needed for hints.
	Syncer *Syncer
	// Logger records skipped connections and failed hints; default discard.
	Logger *slog.Logger
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Scheduler is the River worker of [ScheduleArgs]: on every run it enqueues a sync job
// for each target that is not paused, each scheduled at its own moment of the interval
// ([Phase]), so thousands of targets are spread evenly over it instead of all starting
// together; and it renews webhook subscriptions. It also routes
// webhook hints ([Scheduler.Hint]) to the replica and the queue. Register it with
// river.AddWorker and put [Scheduler.PeriodicJob] in River's Config.PeriodicJobs.
type Scheduler struct {
	river.WorkerDefaults[ScheduleArgs]
	opt SchedulerOptions

	mu     sync.Mutex
	queued map[Target]time.Time // the moment each target was last queued for by this process
	// skipped is why each connection was last skipped, so a connection that stays
	// skipped for the same reason (a certificate waiting for its upload) is logged once,
	// not every run; its runs after that are at debug.
	skipped map[string]string
}

// NewScheduler returns a Scheduler.
func NewScheduler(opt SchedulerOptions) (*Scheduler, error) {
	switch {
	case opt.Store == nil:
		return nil, errors.New("syncer: SchedulerOptions.Store is required")
	case opt.Queue == nil:
		return nil, errors.New("syncer: SchedulerOptions.Queue is required")
	case opt.TargetsFunc == nil:
		return nil, errors.New("syncer: SchedulerOptions.TargetsFunc is required")
	case opt.EnsureFunc != nil && opt.Clients == nil:
		return nil, errors.New("syncer: SchedulerOptions.EnsureFunc needs Clients")
	}
	if opt.Interval <= 0 {
		opt.Interval = time.Minute
	}
	if opt.Ticks <= 0 {
		opt.Ticks = 2
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &Scheduler{opt: opt}, nil
}

// MaxSchedulePeriod is the longest time between two scheduler runs, whatever Interval:
// a connection's own interval (store.MinScheduleInterval, 1 minute, at the shortest) is
// then honoured with a default Interval of an hour, and a changed schedule applies within
// it.
const MaxSchedulePeriod = 30 * time.Second

// Period is the time between two scheduler runs: Interval/Ticks, at most
// MaxSchedulePeriod.
func (s *Scheduler) Period() time.Duration {
	return min(s.opt.Interval/time.Duration(s.opt.Ticks), MaxSchedulePeriod)
}

// PeriodicJob is the River periodic job that runs the scheduler every Period, the first
// time at start.
func (s *Scheduler) PeriodicJob() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(s.Period()),
		func() (river.JobArgs, *river.InsertOpts) { return ScheduleArgs{}, nil }, &river.PeriodicJobOpts{RunOnStart: true})
}

// moment is when t's next scheduled pass starts: its next phase of interval at or after
// now ([Phase]); inside the quiet window, the first phase moment after the window's end,
// so targets are spread after the window as they were before it. asap (a first full pass,
// an unfinished run, a hint) is now, or outside a quiet window its end spread over the
// default Interval. It returns the zero time for "now".
func (s *Scheduler) moment(t Target, sc store.Schedule, now time.Time, asap bool) time.Time {
	interval := sc.Every()
	if interval <= 0 {
		interval = s.opt.Interval
	}
	at := nextRun(t, interval, now)
	if asap {
		at = time.Time{}
	}
	if sc.Quiet == nil {
		return at
	}
	// A daily window and intervals up to a week: a few steps always leave the window.
	for range 8 {
		probe := at
		if probe.IsZero() {
			probe = now
		}
		end := sc.Quiet.Until(probe)
		if end.IsZero() {
			return at
		}
		if asap {
			at = nextRun(t, min(interval, s.opt.Interval), end)
		} else {
			at = nextRun(t, interval, end)
		}
	}
	return at
}

// Phase is a target's moment in every interval: a hash of the target, the same on every
// instance, so its runs keep one cadence whoever schedules them, and targets are spread
// uniformly over the interval.
func Phase(t Target, interval time.Duration) time.Duration {
	h := fnv.New64a()
	h.Write([]byte(t.ConnectionID + "\x00" + t.CompanyID + "\x00" + t.EntitySet))
	return time.Duration(h.Sum64() % uint64(interval))
}

// nextRun is the first moment at or after now that is at t's phase of the interval
// (counted from the Unix epoch).
func nextRun(t Target, interval time.Duration, now time.Time) time.Time {
	into := time.Duration(now.UnixNano() % int64(interval))
	return now.Add((Phase(t, interval) - into + interval) % interval)
}

// wasQueued reports whether this process queued t for the moment at already; queued
// records that it did.
func (s *Scheduler) wasQueued(t Target, at time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queued[t].Equal(at)
}

// noteSkipped logs a connection skipped (err) or taken up again (nil) when that changes:
// a warning the first run it is skipped for a reason, debug on the runs after, and one
// line when it is scheduled again.
func (s *Scheduler) noteSkipped(id string, err error) {
	s.mu.Lock()
	prev, was := s.skipped[id]
	switch {
	case err != nil:
		if s.skipped == nil {
			s.skipped = map[string]string{}
		}
		s.skipped[id] = err.Error()
	case was:
		delete(s.skipped, id)
	}
	s.mu.Unlock()
	switch {
	case err != nil && (!was || prev != err.Error()):
		s.opt.Logger.Warn("schedule: connection skipped", "connection", id, "err", err)
	case err != nil:
		s.opt.Logger.Debug("schedule: connection still skipped", "connection", id, "err", err)
	case was:
		s.opt.Logger.Info("schedule: connection scheduled again", "connection", id)
	}
}

// forgetSkipped drops what noteSkipped knows of connections that are gone.
func (s *Scheduler) forgetSkipped(conns []store.Connection) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id := range s.skipped {
		if !slices.ContainsFunc(conns, func(c store.Connection) bool { return c.ID == id }) {
			delete(s.skipped, id)
		}
	}
}

func (s *Scheduler) markQueued(t Target, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.queued == nil {
		s.queued = map[Target]time.Time{}
	}
	s.queued[t] = at
}

// Work implements river.Worker: a sync job for every target that is not paused, scheduled
// at its next moment ([Phase]); a target that has not finished its first full pass, has
// an unfinished run or is dirty runs at once. A target whose job is still waiting or
// running is absorbed by the queue's uniqueness, so each target runs at most once per
// interval and a slow one is never stacked up.
func (s *Scheduler) Work(ctx context.Context, _ *river.Job[ScheduleArgs]) error {
	now := s.opt.Now()
	// A target whose moment falls before the run after next is queued by this run (runs
	// may start a little late); a later one by a later run.
	horizon := s.Period() * 3 / 2
	conns, err := s.opt.Store.ListConnections(ctx)
	if err != nil {
		return err
	}
	s.forgetSkipped(conns)
	for _, c := range conns {
		targets, err := s.opt.TargetsFunc(ctx, c.ID)
		s.noteSkipped(c.ID, err)
		if err != nil {
			continue
		}
		sets := map[string][]string{} // company ID → the sets it syncs
		var companies []string
		for _, t := range targets {
			if _, ok := sets[t.CompanyID]; !ok {
				companies = append(companies, t.CompanyID)
			}
			sc := c.ScheduleFor(t.EntitySet)
			next := s.moment(t, sc, now, false)
			if s.wasQueued(t, next) {
				sets[t.CompanyID] = append(sets[t.CompanyID], t.EntitySet) // asked already; its state need not be read
				continue
			}
			st, err := s.opt.Store.SyncState(ctx, t.key())
			if err == nil && st.Paused {
				continue
			}
			sets[t.CompanyID] = append(sets[t.CompanyID], t.EntitySet)
			at := next
			if err == nil && (!st.FullSyncDone || len(st.Checkpoints) > 0 || st.Dirty) {
				at = s.moment(t, sc, now, true) // its first full pass, an unfinished run or a hint: now
			} else if at.Sub(now) > horizon {
				// Queued by a later run: a schedule changed meanwhile applies, and
				// River holds no job for a long interval's whole length.
				continue
			}
			args := SyncArgs{ConnectionID: t.ConnectionID, CompanyID: t.CompanyID, EntitySet: t.EntitySet, Scheduled: true}
			res, err := s.opt.Queue.Enqueue(ctx, args, at)
			if err != nil {
				return err
			}
			if !res.Duplicate && !at.IsZero() {
				s.markQueued(t, at)
			}
		}
		if s.opt.EnsureFunc != nil && len(companies) > 0 && nextRun(Target{ConnectionID: c.ID}, s.opt.Interval, now).Sub(now) < s.Period() {
			if cl, err := s.opt.Clients.Client(ctx, c.ID); err == nil {
				for _, co := range companies {
					if len(sets[co]) == 0 {
						continue
					}
					if err := s.opt.EnsureFunc(ctx, cl, c.ID, co, sets[co]); err != nil {
						s.opt.Logger.Warn("webhook subscriptions", "connection", c.ID, "company", co, "err", err)
					}
				}
			}
		}
	}
	return nil
}

// Hint is what a webhook notification means for the replica.
type Hint struct {
	Target Target
	// DeletedID is the id of a record BC deleted ("" for other changes).
	DeletedID string
	// Reconcile asks for a run that also compares ids, because deletes may be hidden (a
	// collection notification BC could not bound, or a lost subscription).
	Reconcile bool
}

// Hint routes a webhook hint: a delete is applied to the replica at once (incremental
// reads cannot see deletes); any other change sets the target's Dirty flag in the store
// and enqueues a sync job. When a job of the target is already running, on any instance,
// the queue absorbs the new one and the running job, finding the flag set when it ends,
// runs again ([Worker]). It must return quickly.
func (s *Scheduler) Hint(ctx context.Context, h Hint) {
	t := h.Target
	if h.DeletedID != "" {
		if s.opt.Syncer == nil {
			return
		}
		if _, err := s.opt.Syncer.Delete(ctx, t, h.DeletedID); err != nil {
			s.opt.Logger.Warn("webhook hint: delete from the replica", append(targetAttrs(t), "err", err)...)
		}
		return
	}
	if err := s.opt.Store.UpdateSyncState(ctx, t.key(), func(st *store.SyncState) { st.Dirty = true }); err != nil {
		s.opt.Logger.Warn("webhook hint: mark the target dirty", append(targetAttrs(t), "err", err)...)
	}
	args := SyncArgs{ConnectionID: t.ConnectionID, CompanyID: t.CompanyID, EntitySet: t.EntitySet, Scheduled: true}
	if h.Reconcile {
		args.Mode = ModeReconcile
	}
	// Inside the connection's quiet window the run waits for its end (the set stays dirty).
	var at time.Time
	if c, err := s.opt.Store.GetConnection(ctx, t.ConnectionID); err == nil {
		at = s.moment(t, c.ScheduleFor(t.EntitySet), s.opt.Now(), true)
	}
	if _, err := s.opt.Queue.Enqueue(ctx, args, at); err != nil {
		s.opt.Logger.Warn("webhook hint: enqueue", append(targetAttrs(t), "err", err)...)
	}
}
