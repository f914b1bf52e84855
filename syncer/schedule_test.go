package syncer_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/bc"
	"github.com/bizzjoiner/bcconnector/internal/testlog"
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

func (s *schedStore) GetConnection(ctx context.Context, id string) (store.Connection, error) {
	return store.Connection{ID: id}, nil
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
		Ticks: 1, Interval: 20 * time.Second, // every run ensures every connection's subscriptions (and queues every target)
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
	want := []syncer.SyncArgs{{ConnectionID: "c1", CompanyID: "co1", EntitySet: "customers", Scheduled: true}}
	if !slices.Equal(q.args, want) {
		t.Errorf("enqueued %+v, want %+v", q.args, want)
	}
	if !slices.Equal(ensured, []string{"c1/co1:customers"}) {
		t.Errorf("ensured %v", ensured)
	}
}

// TestSchedulerLogsSkipOnce: a connection skipped run after run for the same reason (a
// certificate waiting for its upload) is logged once, at debug after that; taken up again,
// it is logged once more, and skipped again for a new reason it warns again.
func TestSchedulerLogsSkipOnce(t *testing.T) {
	t.Parallel()
	logs := &testlog.Buffer{}
	var mu sync.Mutex
	why := "connection \"broken\" has no usable credential: a certificate waits for its upload"
	s, err := syncer.NewScheduler(syncer.SchedulerOptions{Store: &schedStore{}, Queue: &recQueue{}, Logger: logs.Logger(),
		TargetsFunc: func(_ context.Context, id string) ([]syncer.Target, error) {
			mu.Lock()
			defer mu.Unlock()
			if id == "broken" && why != "" {
				return nil, errors.New(why)
			}
			return nil, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	run := func(n int) {
		for range n {
			if err := s.Work(t.Context(), &river.Job[syncer.ScheduleArgs]{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	count := func(msg string) int { return strings.Count(logs.String(), `"msg":"`+msg+`"`) }
	run(5)
	if n, d := count("schedule: connection skipped"), count("schedule: connection still skipped"); n != 1 || d != 4 {
		t.Errorf("5 runs skipping for one reason: %d warnings, %d debug lines; want 1, 4\n%s", n, d, logs)
	}
	mu.Lock()
	why = ""
	mu.Unlock()
	run(3)
	if n := count("schedule: connection scheduled again"); n != 1 {
		t.Errorf("taken up again: %d lines, want 1\n%s", n, logs)
	}
	mu.Lock()
	why = "BC answered 401"
	mu.Unlock()
	run(2)
	if n := count("schedule: connection skipped"); n != 2 {
		t.Errorf("skipped again: %d warnings in all, want 2\n%s", n, logs)
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
	want := []syncer.SyncArgs{{ConnectionID: "c1", CompanyID: "co1", EntitySet: "customers", Scheduled: true},
		{ConnectionID: "c1", CompanyID: "co1", EntitySet: "customers", Mode: syncer.ModeReconcile, Scheduled: true}}
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

// riverModel is the queue as River behaves for the scheduler: one job per target while
// it waits or runs (another is absorbed), and a job scheduled at a moment runs lag later
// (River makes scheduled jobs available every few seconds).
type riverModel struct {
	lag     time.Duration
	pending map[syncer.SyncArgs]time.Time
	runs    map[syncer.SyncArgs][]time.Time
	now     time.Time
	calls   int
}

func (q *riverModel) Enqueue(_ context.Context, a syncer.SyncArgs, at time.Time) (syncer.Enqueued, error) {
	q.calls++
	if _, ok := q.pending[a]; ok {
		return syncer.Enqueued{State: "scheduled", Duplicate: true}, nil
	}
	if at.IsZero() {
		at = q.now
	}
	q.pending[a] = at
	return syncer.Enqueued{State: "scheduled"}, nil
}

// advance runs the jobs due by now.
func (q *riverModel) advance(now time.Time) {
	q.now = now
	for a, at := range q.pending {
		if !at.Add(q.lag).After(now) {
			q.runs[a] = append(q.runs[a], at)
			delete(q.pending, a)
		}
	}
}

// TestSchedulerSpreadsTargets: 2,000 targets (200 connections of 10 sets) that have
// been synced are spread over the interval, not started at once: each runs at its own
// moment, about as many in each tenth of the interval, and then every interval exactly,
// with the scheduler running twice per interval on a queue that, as River does, starts a
// scheduled job seconds late and absorbs a new job while one waits: a run that finds the
// job of the moment just passed still waiting does not cost the target its next turn. The
// scheduler asks the queue about each target about once per interval. A new connection's
// first passes start at once.
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
	q := &riverModel{lag: 5 * time.Second, pending: map[syncer.SyncArgs]time.Time{}, runs: map[syncer.SyncArgs][]time.Time{}}
	now := start
	s, err := syncer.NewScheduler(syncer.SchedulerOptions{Store: &listStore{conns: list}, Queue: q, Interval: interval, Ticks: 2,
		Now: func() time.Time { return now },
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
	const ticks = 8 // four intervals
	for i := range ticks {
		// Up to 2 s late: the periodic job is not run exactly on time either.
		now = start.Add(time.Duration(i)*interval/2 + time.Duration(i%3)*time.Second)
		q.advance(now)
		if err := s.Work(t.Context(), &river.Job[syncer.ScheduleArgs]{}); err != nil {
			t.Fatal(err)
		}
	}
	q.advance(start.Add(ticks * interval / 2))
	var buckets [10]int
	targets := 0
	for a, runs := range q.runs {
		if a.ConnectionID == "new" {
			if runs[0].After(start) {
				t.Errorf("%+v: first pass at %v, want at once", a, runs[0])
			}
			continue
		}
		targets++
		d := runs[0].Sub(start)
		if d < 0 || d >= interval {
			t.Fatalf("%+v: first run %v after the start, want within the first interval", a, d)
		}
		buckets[d*10/interval]++
		// Every interval after the first run, up to the last whole one: none skipped.
		want := int((start.Add(ticks*interval/2 - q.lag).Sub(runs[0])) / interval)
		if len(runs) != want+1 {
			t.Fatalf("%+v ran at %v, want every interval from %v (%d runs)", a, runs, runs[0], want+1)
		}
		for i := range runs {
			if !runs[i].Equal(runs[0].Add(time.Duration(i) * interval)) {
				t.Fatalf("%+v ran at %v, want exactly one interval apart", a, runs)
			}
		}
	}
	if targets != conns*sets {
		t.Fatalf("%d targets ran, want %d", targets, conns*sets)
	}
	for i, n := range buckets {
		// 200 expected per tenth; a uniform hash stays well within ±30 %.
		if n < 140 || n > 260 {
			t.Errorf("tenth %d of the interval holds %d of %d targets (all: %v), want about 200", i, n, conns*sets, buckets)
		}
	}
	// About once per target and interval (the new connection's sets every run): the
	// scheduler remembers what it queued.
	if asked, limit := q.calls-ticks*sets, conns*sets*(ticks/2+1)*5/4; asked > limit {
		t.Errorf("the queue was asked %d times about the synced targets, want at most %d", asked, limit)
	}
}

// listStore lists the given connections; no target is paused, and all but those of the
// connection "new" have finished their first full pass.
type listStore struct{ conns []store.Connection }

func (l *listStore) ListConnections(context.Context) ([]store.Connection, error) { return l.conns, nil }

func (l *listStore) GetConnection(_ context.Context, id string) (store.Connection, error) {
	for _, c := range l.conns {
		if c.ID == id {
			return c, nil
		}
	}
	return store.Connection{}, store.ErrNotFound
}

func (l *listStore) SyncState(_ context.Context, k store.ReplicaKey) (store.SyncState, error) {
	return store.SyncState{Key: k, FullSyncDone: k.ConnectionID != "new"}, nil
}

func (l *listStore) UpdateSyncState(context.Context, store.ReplicaKey, func(*store.SyncState)) error {
	return nil
}

// TestSchedulerPerConnectionSchedules: with a fake clock over three hours, a connection
// without a schedule runs every --interval, one with its own interval and a set with its
// own run at theirs, exactly that far apart; connections with a quiet window in the
// customer's time zone (09:00–10:00 Europe/Berlin) start nothing inside it and resume
// after it at their own moments, spread rather than all at its end; a first full pass
// and a webhook hint due inside the window wait for its end.
func TestSchedulerPerConnectionSchedules(t *testing.T) {
	t.Parallel()
	quiet := &store.QuietWindow{Start: "09:00", End: "10:00", TimeZone: "Europe/Berlin"}
	list := []store.Connection{
		{ID: "default", CompanyID: "co1"},
		{ID: "slow", CompanyID: "co1", Schedule: store.Schedule{Interval: "10m"}, SetSchedules: map[string]store.Schedule{"set1": {Interval: "3m"}}},
	}
	const quietConns = 50
	for i := range quietConns {
		list = append(list, store.Connection{ID: fmt.Sprintf("quiet%02d", i), CompanyID: "co1", Schedule: store.Schedule{Interval: "5m", Quiet: quiet}})
	}
	start := time.Date(2026, 12, 3, 7, 0, 17, 0, time.UTC) // 08:00 in Berlin
	windowStart, windowEnd := time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC), time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	q := &riverModel{lag: 3 * time.Second, pending: map[syncer.SyncArgs]time.Time{}, runs: map[syncer.SyncArgs][]time.Time{}}
	now := start
	targets := func(_ context.Context, id string) ([]syncer.Target, error) {
		return []syncer.Target{{ConnectionID: id, CompanyID: "co1", EntitySet: "set0"}, {ConnectionID: id, CompanyID: "co1", EntitySet: "set1"}}, nil
	}
	st := &listStore{conns: list}
	s, err := syncer.NewScheduler(syncer.SchedulerOptions{Store: st, Queue: q, Interval: time.Minute, Ticks: 2,
		Now: func() time.Time { return now }, TargetsFunc: targets})
	if err != nil {
		t.Fatal(err)
	}
	if s.Period() != 30*time.Second {
		t.Fatalf("period %v", s.Period())
	}
	const ticks = 6 * 60 // three hours: one before the window, the window, one after
	for i := range ticks {
		now = start.Add(time.Duration(i)*s.Period() + time.Duration(i%3)*time.Second)
		q.advance(now)
		if err := s.Work(t.Context(), &river.Job[syncer.ScheduleArgs]{}); err != nil {
			t.Fatal(err)
		}
	}
	end := start.Add(ticks * s.Period())
	q.advance(end)
	every := func(a syncer.SyncArgs, runs []time.Time, d time.Duration, from, to time.Time) {
		t.Helper()
		if len(runs) == 0 || runs[0].Sub(from) >= d || to.Sub(runs[len(runs)-1]) > d+q.lag {
			t.Errorf("%s/%s ran at %v, want every %v from the start to the end", a.ConnectionID, a.EntitySet, runs, d)
			return
		}
		for i := 1; i < len(runs); i++ {
			if runs[i].Sub(runs[i-1]) != d {
				t.Errorf("%s/%s ran at %v, want exactly %v apart", a.ConnectionID, a.EntitySet, runs, d)
				return
			}
		}
	}
	firstAfter := map[time.Time]int{}
	for _, c := range list {
		for _, set := range []string{"set0", "set1"} {
			a := syncer.SyncArgs{ConnectionID: c.ID, CompanyID: "co1", EntitySet: set, Scheduled: true}
			runs := q.runs[a]
			switch {
			case c.ID == "default":
				every(a, runs, time.Minute, start, end)
			case c.ID == "slow" && set == "set1":
				every(a, runs, 3*time.Minute, start, end)
			case c.ID == "slow":
				every(a, runs, 10*time.Minute, start, end)
			default:
				var before, after []time.Time
				for _, r := range runs {
					switch {
					case !r.Before(windowStart) && r.Before(windowEnd):
						t.Fatalf("%s/%s ran at %v, inside its quiet window", c.ID, set, r)
					case r.Before(windowStart):
						before = append(before, r)
					default:
						after = append(after, r)
					}
				}
				every(a, before, 5*time.Minute, start, windowStart)
				every(a, after, 5*time.Minute, windowEnd, end)
				if len(before) > 0 && len(after) > 0 && after[0].Sub(before[0])%(5*time.Minute) != 0 {
					t.Errorf("%s/%s: after the window at %v, not at its own moment (before: %v)", c.ID, set, after[0], before[0])
				}
				if len(after) > 0 {
					firstAfter[after[0].Truncate(time.Second)]++
				}
			}
		}
	}
	if len(firstAfter) < quietConns*2*3/4 {
		t.Errorf("after the quiet window %d targets started at only %d distinct seconds, want them spread", quietConns*2, len(firstAfter))
	}

	// Inside the window a first full pass (connection "new") and a hint wait for its end.
	now = time.Date(2026, 12, 3, 8, 30, 0, 0, time.UTC)
	st.conns = []store.Connection{{ID: "new", CompanyID: "co1", Schedule: store.Schedule{Quiet: quiet}}, list[2]}
	q2 := &recQueue{}
	s2, err := syncer.NewScheduler(syncer.SchedulerOptions{Store: st, Queue: q2, Interval: time.Minute, Now: func() time.Time { return now }, TargetsFunc: targets})
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.Work(t.Context(), &river.Job[syncer.ScheduleArgs]{}); err != nil {
		t.Fatal(err)
	}
	s2.Hint(t.Context(), syncer.Hint{Target: syncer.Target{ConnectionID: "quiet00", CompanyID: "co1", EntitySet: "set0"}})
	if len(q2.at) != 3 {
		t.Fatalf("queued %+v at %v, want the new connection's two sets and the hint", q2.args, q2.at)
	}
	for i, at := range q2.at {
		if at.Before(windowEnd) || !at.Before(windowEnd.Add(time.Minute)) {
			t.Errorf("%+v queued for %v, want within a minute after the window's end %v", q2.args[i], at, windowEnd)
		}
	}
}
