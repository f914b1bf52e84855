package syncer

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/bizzjoiner/bcconnector/store"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// Defaults of the change log's retention (serve --change-retention and
// --change-retention-entries).
const (
	// DefaultChangeRetention keeps changes for 30 days: a platform reader that was down
	// for up to that long reads on without a resynchronisation.
	DefaultChangeRetention = 30 * 24 * time.Hour
	// DefaultChangeRetentionEntries keeps the newest 10 million changes (about 1 GB of
	// change log at roughly 100 bytes a change).
	DefaultChangeRetentionEntries = 10_000_000
	// DefaultPruneEvery is how often the retention job runs.
	DefaultPruneEvery = 10 * time.Minute
)

// PruneChangesArgs is the periodic River job of the change log's retention. See
// [Retention].
type PruneChangesArgs struct{}

// Kind implements river.JobArgs.
func (PruneChangesArgs) Kind() string { return "bcc_prune_changes" }

// InsertOpts keeps one retention job waiting at a time, on its own queue so that a long
// first prune never delays the schedule.
func (PruneChangesArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueMaintenance, MaxAttempts: 1, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
		rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning, rivertype.JobStateScheduled,
	}}}
}

// QueueMaintenance is the River queue of housekeeping jobs (the change log's retention);
// one worker is enough.
const QueueMaintenance = "bcc_maintenance"

// RetentionStore is what the retention job reads and prunes.
type RetentionStore interface {
	// PruneChanges deletes the oldest change log segments (store.ReplicaStore).
	PruneChanges(ctx context.Context, p store.ChangePrune) (store.ChangePruneResult, error)
	// ChangeCursor is how far outbound webhooks turned the change log into deliveries
	// (store.DeliveryStore): the retention never prunes past it.
	ChangeCursor(ctx context.Context) (int64, error)
}

// RetentionOptions configures [Retention].
type RetentionOptions struct {
	// Store is pruned. Required.
	Store RetentionStore
	// MaxAge prunes changes older than this; 0 means DefaultChangeRetention, negative
	// turns the age bound off.
	MaxAge time.Duration
	// MaxEntries keeps at most about this many changes (whole segments of one batch go,
	// so up to a segment more stays); 0 means DefaultChangeRetentionEntries, negative
	// turns the size bound off.
	MaxEntries int64
	// Every is how often the job runs; default DefaultPruneEvery.
	Every time.Duration
	// Logger records what was pruned; default discard.
	Logger *slog.Logger
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Retention is the River worker of [PruneChangesArgs]: it deletes the changes older
// than MaxAge and those beyond the newest MaxEntries, oldest first in whole segments,
// but never one that outbound webhooks have not yet turned into deliveries (their
// dispatch cursor, the same for all endpoints: each delivery keeps its own body, so
// once dispatched a change is not needed for delivery). A change feed cursor older than
// what is kept is then answered with store.ErrCursorExpired (the API's 410
// cursor_expired), and so is a replay of an endpoint from such a sequence. River's
// periodic jobs are inserted by its leader, so one instance of several prunes at a
// time; the stores make concurrent pruning safe all the same.
type Retention struct {
	river.WorkerDefaults[PruneChangesArgs]
	opt RetentionOptions
}

// NewRetention returns the retention worker.
func NewRetention(opt RetentionOptions) (*Retention, error) {
	if opt.Store == nil {
		return nil, errors.New("syncer: RetentionOptions.Store is required")
	}
	if opt.MaxAge == 0 {
		opt.MaxAge = DefaultChangeRetention
	}
	if opt.MaxEntries == 0 {
		opt.MaxEntries = DefaultChangeRetentionEntries
	}
	if opt.Every <= 0 {
		opt.Every = DefaultPruneEvery
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &Retention{opt: opt}, nil
}

// PeriodicJob is the River periodic job that runs the retention every Every, the first
// time at start.
func (r *Retention) PeriodicJob() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(r.opt.Every),
		func() (river.JobArgs, *river.InsertOpts) { return PruneChangesArgs{}, nil }, &river.PeriodicJobOpts{RunOnStart: true})
}

// Work implements river.Worker.
func (r *Retention) Work(ctx context.Context, _ *river.Job[PruneChangesArgs]) error {
	_, err := r.Prune(ctx)
	return err
}

// Prune prunes the change log once by the options.
func (r *Retention) Prune(ctx context.Context) (store.ChangePruneResult, error) {
	floor, err := r.opt.Store.ChangeCursor(ctx)
	if err != nil {
		return store.ChangePruneResult{}, err
	}
	p := store.ChangePrune{Floor: floor}
	if r.opt.MaxAge > 0 {
		p.Before = r.opt.Now().Add(-r.opt.MaxAge)
	}
	if r.opt.MaxEntries > 0 {
		p.MaxEntries = r.opt.MaxEntries
	}
	res, err := r.opt.Store.PruneChanges(ctx, p)
	if err != nil {
		return res, err
	}
	if res.Changes > 0 {
		r.opt.Logger.Info("change log pruned", "changes", res.Changes, "segments", res.Segments, "pruned_through", res.PrunedThrough,
			"max_age_seconds", int64(r.opt.MaxAge.Seconds()), "max_entries", r.opt.MaxEntries, "dispatch_cursor", floor)
	}
	return res, nil
}
