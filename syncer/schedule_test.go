package syncer_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

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
}

func (q *recQueue) Enqueue(_ context.Context, a syncer.SyncArgs) (syncer.Enqueued, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.args = append(q.args, a)
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
