package outbound

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/bizzjoiner/bcconnector/store"
)

// QueueDeliver is the River queue of deliveries.
const QueueDeliver = "outbound"

// DeliverArgs is the River job of one delivery: it makes the attempt that is due and
// snoozes until the next one while the delivery is pending, so a delivery waiting for
// its retry is a scheduled job in the database and survives restarts.
type DeliverArgs struct {
	DeliveryID string `json:"deliveryId"`
}

// Kind implements river.JobArgs.
func (DeliverArgs) Kind() string { return "outbound_deliver" }

// InsertOpts: one unfinished job per delivery (River drops a second insert while the
// first is waiting or running, auth-jobs-delivery-facts §4); a completed job does not
// block a new one, so a replayed or promoted delivery always gets its job.
func (DeliverArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueDeliver, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
		rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
		rivertype.JobStateRetryable, rivertype.JobStateScheduled,
	}}}
}

// DeliverWorker runs DeliverArgs jobs with a Service.
type DeliverWorker struct {
	river.WorkerDefaults[DeliverArgs]
	Service *Service
}

// Timeout is longer than an attempt, so River's rescuer takes up the job of a process
// that died mid-attempt (it was marked running) and no live attempt is cut off.
func (w *DeliverWorker) Timeout(*river.Job[DeliverArgs]) time.Duration {
	return AttemptTimeout + 30*time.Second
}

// Work makes the delivery's due attempt. A store error returns an error (River retries the
// job with its own backoff); the delivery's retries are snoozes until its NextAttemptAt.
func (w *DeliverWorker) Work(ctx context.Context, job *river.Job[DeliverArgs]) error {
	s := w.Service
	res, err := s.Attempt(ctx, job.Args.DeliveryID)
	if err != nil {
		return err
	}
	if res.Next != "" {
		// If this fails the successor is pending without a job: Sweep gives it one.
		if err := s.enqueueEach(ctx, res.Next); err != nil {
			s.log.Warn("outbound webhooks: enqueue the next delivery of a record", "delivery", res.Next, "err", err)
		}
	}
	at := res.NotYet
	if at.IsZero() && !res.Skipped && res.Delivery.State == store.DeliveryPending {
		at = res.Delivery.NextAttemptAt
	}
	if at.IsZero() {
		return nil
	}
	return river.JobSnooze(max(at.Sub(s.now()), 0))
}

// DeliverBatchArgs is the River job of the first attempts of several new deliveries (a
// page of the change log makes many): one job instead of one per delivery, attempted
// BatchConcurrency at a time. A delivery that stays pending gets a DeliverArgs job for
// its retries. If the process dies, River's rescuer runs the job again; Attempt skips
// what was recorded meanwhile.
type DeliverBatchArgs struct {
	DeliveryIDs []string `json:"deliveryIds"`
}

// Kind implements river.JobArgs.
func (DeliverBatchArgs) Kind() string { return "outbound_deliver_batch" }

// InsertOpts puts the job on QueueDeliver.
func (DeliverBatchArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: QueueDeliver} }

// BatchSize is the most deliveries one DeliverBatchArgs job holds; BatchConcurrency how
// many of them it attempts at once.
const (
	BatchSize        = 50
	BatchConcurrency = 16
)

// DeliverBatchWorker runs DeliverBatchArgs jobs with a Service.
type DeliverBatchWorker struct {
	river.WorkerDefaults[DeliverBatchArgs]
	Service *Service
}

// Timeout allows every attempt of the batch at BatchConcurrency its full AttemptTimeout.
func (w *DeliverBatchWorker) Timeout(*river.Job[DeliverBatchArgs]) time.Duration {
	return time.Duration((BatchSize+BatchConcurrency-1)/BatchConcurrency)*AttemptTimeout + 30*time.Second
}

// Work attempts the batch's deliveries; those that stay pending and those a finished
// one made pending get jobs of their own. An error of one delivery fails the job after
// the others were attempted (River retries it; Attempt skips what is done).
func (w *DeliverBatchWorker) Work(ctx context.Context, job *river.Job[DeliverBatchArgs]) error {
	s := w.Service
	var mu sync.Mutex
	var follow []string
	var errs []error
	sem := make(chan struct{}, BatchConcurrency)
	var wg sync.WaitGroup
	for _, id := range job.Args.DeliveryIDs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			res, err := s.Attempt(ctx, id)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				errs = append(errs, err)
			case res.Next != "":
				follow = append(follow, res.Next)
			}
			if err == nil && !res.Skipped && (res.Delivery.State == store.DeliveryPending || !res.NotYet.IsZero()) {
				follow = append(follow, id)
			}
		})
	}
	wg.Wait()
	if err := s.enqueueEach(ctx, follow...); err != nil {
		s.log.Warn("outbound webhooks: jobs for retries", "err", err)
	}
	return errors.Join(errs...)
}

// Inserter is what RiverQueue needs of a River client (any driver).
type Inserter interface {
	InsertMany(ctx context.Context, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error)
}

// RiverQueue is the Queue on a River client: new deliveries in DeliverBatchArgs jobs of
// up to BatchSize, single ones (and EachDeliver) in DeliverArgs jobs.
type RiverQueue struct{ Client Inserter }

// Deliver implements Queue.
func (q RiverQueue) Deliver(ctx context.Context, ids ...string) error {
	if len(ids) <= 1 {
		return q.DeliverEach(ctx, ids...)
	}
	var params []river.InsertManyParams
	for chunk := range slices.Chunk(ids, BatchSize) {
		params = append(params, river.InsertManyParams{Args: DeliverBatchArgs{DeliveryIDs: chunk}})
	}
	_, err := q.Client.InsertMany(ctx, params)
	return err
}

// DeliverEach implements Queue: one unique DeliverArgs job per delivery.
func (q RiverQueue) DeliverEach(ctx context.Context, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	params := make([]river.InsertManyParams, len(ids))
	for i, id := range ids {
		params[i] = river.InsertManyParams{Args: DeliverArgs{DeliveryID: id}}
	}
	_, err := q.Client.InsertMany(ctx, params)
	return err
}
