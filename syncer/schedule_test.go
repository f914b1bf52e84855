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
		Ticks: 1, // every run ensures every connection's subscriptions
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
// been synced are spread over the interval, not started at once: the scheduler runs four
// times per interval (as River does, every 15 s) and each run enqueues the targets whose
// moment comes before the next run (with half a run of margin), each at its moment. Over
// one interval every target is enqueued at one moment (a second enqueue of the same job,
// in the overlap, is absorbed by the queue), about as many in each tenth; the next
// interval's moment is exactly one interval later (the cadence is the same whoever
// schedules), and is enqueued at least 30 s after the previous moment, when that job has
// surely left the queue (a job still waiting would absorb it, skipping a turn). A new
// connection's first passes start at once.
func TestSchedulerSpreadsTargets(t *testing.T) {
	t.Parallel()
	const conns, sets = 200, 10
	var list []store.Connection
	for i := range conns {
		list = append(list, store.Connection{ID: fmt.Sprintf("conn%04d", i), CompanyID: "co1"})
	}
	list = append(list, store.Connection{ID: "new", CompanyID: "co1"})
	start := time.Date(2026, 12, 3, 8, 0, 17, 0, time.UTC)
	interval := time.Minute
	type job struct {
		at       time.Time // its moment
		enqueued time.Time // the run that first asked for it
	}
	jobs := map[syncer.SyncArgs][]job{}
	var immediate []syncer.SyncArgs
	run := func(now time.Time) {
		q := &recQueue{}
		s, err := syncer.NewScheduler(syncer.SchedulerOptions{Store: &listStore{conns: list}, Queue: q, Interval: interval, Now: func() time.Time { return now },
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
		for i, a := range q.args {
			at := q.at[i]
			if at.IsZero() {
				immediate = append(immediate, a)
				continue
			}
			if d := at.Sub(now); d < 0 || d >= 22500*time.Millisecond {
				t.Fatalf("%+v scheduled %v after the run, want within the run's window (22.5 s)", a, d)
			}
			js := jobs[a]
			if n := len(js); n > 0 && js[n-1].at.Equal(at) {
				continue // the same job again: absorbed by the queue's uniqueness
			}
			jobs[a] = append(js, job{at: at, enqueued: now})
		}
	}
	for i := range 8 { // two intervals
		run(start.Add(time.Duration(i) * interval / 4))
	}
	if len(jobs) != conns*sets {
		t.Fatalf("%d targets enqueued, want %d", len(jobs), conns*sets)
	}
	for _, a := range immediate {
		if a.ConnectionID != "new" {
			t.Fatalf("%+v enqueued to run at once", a)
		}
	}
	if len(immediate) != 8*sets {
		t.Errorf("the new connection's sets were enqueued to run at once %d times, want %d (every run)", len(immediate), 8*sets)
	}
	var buckets [10]int
	for a, js := range jobs {
		first := js[0]
		d := first.at.Sub(start)
		if d < 0 || d >= interval {
			t.Fatalf("%+v: first moment %v after the start, want within the first interval", a, d)
		}
		buckets[d*10/interval]++
		for i, j := range js {
			if want := first.at.Add(time.Duration(i) * interval); !j.at.Equal(want) {
				t.Fatalf("%+v: moment %d at %v, want %v (the cadence of one interval)", a, i, j.at, want)
			}
			if i > 0 && j.enqueued.Sub(js[i-1].at) < 30*time.Second {
				t.Fatalf("%+v: enqueued %v after its previous moment, want at least 30 s, so that job has left the queue (River makes a scheduled job available seconds late)",
					a, j.enqueued.Sub(js[i-1].at))
			}
		}
	}
	for i, n := range buckets {
		// 200 expected per tenth; a uniform hash stays well within ±30 %.
		if n < 140 || n > 260 {
			t.Errorf("tenth %d of the interval holds %d of %d targets (all: %v), want about 200", i, n, conns*sets, buckets)
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
