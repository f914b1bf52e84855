package syncer_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/bc"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/syncer"
	"github.com/riverqueue/river"
)

type schedStore struct {
	paused map[string]bool
	mu     sync.Mutex
	dirty  []string
}

func (*schedStore) ListConnections(context.Context) ([]store.Connection, error) {
	return []store.Connection{{ID: "c1", CompanyID: "co1"}, {ID: "broken"}}, nil
}

func (s *schedStore) SyncState(_ context.Context, k store.ReplicaKey) (store.SyncState, error) {
	return store.SyncState{Key: k, Paused: s.paused[k.EntitySet]}, nil
}

func (s *schedStore) UpdateSyncState(_ context.Context, k store.ReplicaKey, fn func(*store.SyncState)) error {
	st := store.SyncState{Key: k}
	fn(&st)
	if st.Dirty {
		s.mu.Lock()
		s.dirty = append(s.dirty, k.EntitySet)
		s.mu.Unlock()
	}
	return nil
}

type recQueue struct {
	mu   sync.Mutex
	args []syncer.SyncArgs
	at   []time.Time
}

func (q *recQueue) Enqueue(_ context.Context, a syncer.SyncArgs, at time.Time) (syncer.Enqueued, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.args = append(q.args, a)
	q.at = append(q.at, at)
	return syncer.Enqueued{JobID: int64(len(q.args)), State: "available"}, nil
}

// TestSchedulerEnqueuesUnpausedTargets: one job per target that is not paused, a broken
// connection skipped, and subscriptions ensured for the synced sets only.
func TestSchedulerEnqueuesUnpausedTargets(t *testing.T) {
	t.Parallel()
	q := &recQueue{}
	var ensured []string
	s, err := syncer.NewScheduler(syncer.SchedulerOptions{
		Store: &schedStore{paused: map[string]bool{"vendors": true}},
		Queue: q,
		TargetsFunc: func(_ context.Context, id string) ([]syncer.Target, error) {
			if id == "broken" {
				return nil, errors.New("no company")
			}
			return []syncer.Target{{ConnectionID: id, CompanyID: "co1", EntitySet: "customers"}, {ConnectionID: id, CompanyID: "co1", EntitySet: "vendors"}}, nil
		},
		Clients: fixedClients{},
		EnsureFunc: func(_ context.Context, _ *bc.Client, id, company string, sets []string) error {
			ensured = append(ensured, id+"/"+company+":"+sets[0])
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Work(t.Context(), &river.Job[syncer.ScheduleArgs]{}); err != nil {
		t.Fatal(err)
	}
	want := []syncer.SyncArgs{{ConnectionID: "c1", CompanyID: "co1", EntitySet: "customers"}}
	if !slices.Equal(q.args, want) {
		t.Errorf("enqueued %+v, want %+v", q.args, want)
	}
	if !slices.Equal(ensured, []string{"c1/co1:customers"}) {
		t.Errorf("ensured %v", ensured)
	}
}

// TestSchedulerHint: a collection hint BC could not bound asks for a reconciling run,
// other changes for an ordinary one; both mark the target dirty in the store first.
func TestSchedulerHint(t *testing.T) {
	t.Parallel()
	q := &recQueue{}
	st := &schedStore{}
	s, err := syncer.NewScheduler(syncer.SchedulerOptions{Store: st, Queue: q,
		TargetsFunc: func(context.Context, string) ([]syncer.Target, error) { return nil, nil }})
	if err != nil {
		t.Fatal(err)
	}
	tg := syncer.Target{ConnectionID: "c1", CompanyID: "co1", EntitySet: "customers"}
	s.Hint(t.Context(), syncer.Hint{Target: tg})
	s.Hint(t.Context(), syncer.Hint{Target: tg, Reconcile: true})
	want := []syncer.SyncArgs{{ConnectionID: "c1", CompanyID: "co1", EntitySet: "customers"},
		{ConnectionID: "c1", CompanyID: "co1", EntitySet: "customers", Mode: syncer.ModeReconcile}}
	if !slices.Equal(q.args, want) {
		t.Errorf("enqueued %+v, want %+v", q.args, want)
	}
	if !slices.Equal(st.dirty, []string{"customers", "customers"}) {
		t.Errorf("hints marked %v dirty, want customers twice", st.dirty)
	}
	if _, err := syncer.NewScheduler(syncer.SchedulerOptions{Queue: q}); err == nil {
		t.Error("NewScheduler without a store: no error")
	}
}

// TestSchedulerSpreadsTargets: 2,000 targets (200 connections of 10 sets) that have
// been synced are scheduled over the interval, not all at once (only a new connection's
// first passes start at once): every job at its target's phase, within the next
// interval, about as many in each tenth of it; the next run keeps each target's cadence
// (exactly one interval later), whichever instance schedules it.
func TestSchedulerSpreadsTargets(t *testing.T) {
	t.Parallel()
	const conns, sets = 200, 10
	var list []store.Connection
	for i := range conns {
		list = append(list, store.Connection{ID: fmt.Sprintf("conn%04d", i), CompanyID: "co1"})
	}
	list = append(list, store.Connection{ID: "new", CompanyID: "co1"})
	now := time.Date(2026, 12, 3, 8, 0, 17, 0, time.UTC)
	interval := time.Minute
	run := func(at time.Time) *recQueue {
		q := &recQueue{}
		s, err := syncer.NewScheduler(syncer.SchedulerOptions{Store: &listStore{conns: list}, Queue: q, Interval: interval, Now: func() time.Time { return at },
			TargetsFunc: func(_ context.Context, id string) ([]syncer.Target, error) {
				var ts []syncer.Target
				for j := range sets {
					ts = append(ts, syncer.Target{ConnectionID: id, CompanyID: "co1", EntitySet: fmt.Sprintf("set%d", j)})
				}
				return ts, nil
			}})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Work(t.Context(), &river.Job[syncer.ScheduleArgs]{}); err != nil {
			t.Fatal(err)
		}
		return q
	}
	first := run(now)
	if len(first.at) != (conns+1)*sets {
		t.Fatalf("enqueued %d jobs, want %d", len(first.at), (conns+1)*sets)
	}
	// The new connection's first full passes start at once.
	for i, a := range first.args[conns*sets:] {
		if !first.at[conns*sets+i].IsZero() {
			t.Errorf("%+v of a new connection scheduled at %v, want now", a, first.at[conns*sets+i])
		}
	}
	first.args, first.at = first.args[:conns*sets], first.at[:conns*sets]
	var buckets [10]int
	for i, at := range first.at {
		d := at.Sub(now)
		if d < 0 || d >= interval {
			t.Fatalf("%+v scheduled %v after the run, want within the interval", first.args[i], d)
		}
		buckets[d*10/interval]++
	}
	for i, n := range buckets {
		// 200 expected per tenth; a uniform hash stays well within ±30 %.
		if n < 140 || n > 260 {
			t.Errorf("tenth %d of the interval holds %d of %d jobs (all: %v), want about 200", i, n, conns*sets, buckets)
		}
	}
	// Another instance's run, one interval and a few seconds later, keeps every phase.
	second := run(now.Add(interval + 3*time.Second))
	for i, at := range second.at[:conns*sets] {
		want := first.at[i].Add(interval)
		if first.at[i].Sub(now) < 3*time.Second {
			want = want.Add(interval) // its moment passed before the second run
		}
		if !at.Equal(want) {
			t.Fatalf("%+v: second run schedules it at %v, want %v (one interval after %v)", second.args[i], at, want, first.at[i])
		}
	}
}

// listStore lists the given connections; no target is paused, and all but those of the
// connection "new" have finished their first full pass.
type listStore struct{ conns []store.Connection }

func (l *listStore) ListConnections(context.Context) ([]store.Connection, error) { return l.conns, nil }

func (l *listStore) SyncState(_ context.Context, k store.ReplicaKey) (store.SyncState, error) {
	return store.SyncState{Key: k, FullSyncDone: k.ConnectionID != "new"}, nil
}

func (l *listStore) UpdateSyncState(context.Context, store.ReplicaKey, func(*store.SyncState)) error {
	return nil
}
