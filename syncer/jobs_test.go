package syncer_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/bc"
	"github.com/bizzjoiner/bcconnector/conn"
	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/emulator/throttle"
	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/syncer"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"
	_ "modernc.org/sqlite"
)

type fixedClients struct{ c *bc.Client }

func (f fixedClients) Client(context.Context, string) (*bc.Client, error) { return f.c, nil }

// startRiver runs a River client with the sync worker on the world's SQLite file.
func startRiver(t *testing.T, w *world, client *bc.Client, snooze func(time.Duration) time.Duration, opts ...func(*syncer.Worker)) (*river.Client[*sql.Tx], *syncer.Worker) {
	t.Helper()
	ctx := context.Background()
	pool, err := sql.Open("sqlite", "file:"+w.db.Path()+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	pool.SetMaxOpenConns(1)
	t.Cleanup(func() { pool.Close() })
	driver := riversqlite.New(pool)
	mig, err := rivermigrate.New(driver, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mig.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		t.Fatal(err)
	}
	worker := &syncer.Worker{Syncer: w.sync, Clients: fixedClients{client}, Snooze: snooze}
	for _, o := range opts {
		o(worker)
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, worker)
	rc, err := river.NewClient(driver, &river.Config{
		Queues:            map[string]river.QueueConfig{syncer.QueueSync: {MaxWorkers: 4}},
		Workers:           workers,
		FetchCooldown:     50 * time.Millisecond,
		FetchPollInterval: 50 * time.Millisecond,
		TestOnly:          true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = rc.Stop(ctx)
	})
	return rc, worker
}

// TestRiverJobSnoozesOn429: a 429 storm longer than the client will wait snoozes the job
// for BC's Retry-After instead of failing it; the job completes on its first attempt and
// the replica equals BC. A duplicate job for the same target is not inserted. The snooze
// asked for is BC's Retry-After (2 s); River gets a millisecond of it, so the test does not
// wait it out.
func TestRiverJobSnoozesOn429(t *testing.T) {
	t.Parallel()
	w := newWorld(t, emulator.Config{}, "", syncer.Options{})
	// A client that refuses to sleep through a Retry-After above 100 ms.
	impatient := w.open(conn.Options{Retry: bc.RetryOptions{MaxRetryAfter: 100 * time.Millisecond, BaseDelay: time.Millisecond}}).BC
	w.sb.AddFaults("seq(2s):bc=429,429,ok")
	var mu sync.Mutex
	var asked []time.Duration
	snooze := func(d time.Duration) time.Duration {
		mu.Lock()
		defer mu.Unlock()
		asked = append(asked, d)
		return time.Millisecond
	}
	rc, worker := startRiver(t, w, impatient, snooze)
	events, cancel := rc.Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed)
	defer cancel()
	args := syncer.SyncArgs{ConnectionID: w.connID, CompanyID: w.ref.CompanyID, EntitySet: "customers"}
	res, err := rc.Insert(context.Background(), args, nil)
	if err != nil {
		t.Fatal(err)
	}
	dup, err := rc.Insert(context.Background(), args, nil)
	if err != nil || !dup.UniqueSkippedAsDuplicate {
		t.Errorf("second insert for the same target: %+v %v", dup, err)
	}
	select {
	case ev := <-events:
		if ev.Kind != river.EventKindJobCompleted || ev.Job.ID != res.Job.ID {
			t.Fatalf("job ended with %s: %v", ev.Kind, ev.Job.Errors)
		}
		if ev.Job.Attempt != 1 {
			t.Errorf("throttling burned attempts: attempt %d", ev.Job.Attempt)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("job did not complete")
	}
	mu.Lock()
	defer mu.Unlock()
	if worker.Snoozes() != 2 || len(asked) != 2 {
		t.Errorf("snoozes %d (asked %v), want 2: one per 429", worker.Snoozes(), asked)
	}
	for _, d := range asked {
		if d != 2*time.Second {
			t.Errorf("snooze asked for %v, want BC's Retry-After of 2s", d)
		}
	}
	w.assertEqual("customers")
}

// TestRiverJobRunsInSlices: a full re-sync job whose time slice ends after every page
// yields (snoozes) and continues from its checkpoints, never starting over, so the job
// completes with about one request per page, every run under the job's timeout.
func TestRiverJobRunsInSlices(t *testing.T) {
	t.Parallel()
	// 40 pages of 50 ms on 2 workers: about a second, in slices of 400 ms (timeout 800 ms,
	// far above one page).
	w := newWorld(t, emulator.Config{Latency: throttle.Latency{Overhead: 50 * time.Millisecond}}, "small,customers=400", syncer.Options{PageSize: 10, Workers: 2})
	rc, _ := startRiver(t, w, w.client, nil, func(wk *syncer.Worker) { wk.RunFor = 400 * time.Millisecond })
	// Only completion is awaited: a page slowed past the job's timeout on a loaded machine
	// fails that run, and the retry resumes from the checkpoints too.
	events, cancel := rc.Subscribe(river.EventKindJobCompleted)
	defer cancel()
	before := w.client.Stats().Requests
	args := syncer.SyncArgs{ConnectionID: w.connID, CompanyID: w.ref.CompanyID, EntitySet: "customers", Mode: syncer.ModeFull}
	res, err := rc.Insert(t.Context(), args, nil)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-events:
		if ev.Job.ID != res.Job.ID {
			t.Fatalf("another job completed: %d", ev.Job.ID)
		}
		var md struct{ Snoozes int }
		_ = json.Unmarshal(ev.Job.Metadata, &md)
		if md.Snoozes == 0 {
			t.Errorf("the job never yielded: metadata %s", ev.Job.Metadata)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("job did not complete")
	}
	w.assertEqual("customers")
	n := w.emu.Count(w.ref, "customers")
	pages := (n + 9) / 10
	// Planning probes and one request per page per partition; a run that started over
	// after each yield would read the set many times.
	if got := w.client.Stats().Requests - before; got > int64(2*pages+20) {
		t.Errorf("%d requests for %d pages: the full sync started over after a yield", got, pages)
	}
	st, err := w.db.SyncState(t.Context(), store.ReplicaKey{ConnectionID: w.connID, CompanyID: w.ref.CompanyID, EntitySet: "customers"})
	if err != nil {
		t.Fatal(err)
	}
	if !st.FullSyncDone || st.LastError != "" || len(st.Checkpoints) != 0 {
		t.Errorf("sync state after the job: done %v, error %q, checkpoints %d", st.FullSyncDone, st.LastError, len(st.Checkpoints))
	}
}

// busyQueue answers every enqueue as River does while the target's job runs elsewhere:
// absorbed by uniqueness.
type busyQueue struct{ n atomic.Int64 }

func (q *busyQueue) Enqueue(context.Context, syncer.SyncArgs, time.Time) (syncer.Enqueued, error) {
	q.n.Add(1)
	return syncer.Enqueued{JobID: 1, State: "running", Duplicate: true}, nil
}

// onClose calls fn once when a response body is closed (read to its end by the client).
type onClose struct {
	io.ReadCloser
	fn func()
}

func (b onClose) Close() error {
	err := b.ReadCloser.Close()
	b.fn()
	return err
}

// hookTransport calls hook after the first customers response has been read.
type hookTransport struct {
	base http.RoundTripper
	once sync.Once
	hook func()
}

func (h *hookTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := h.base.RoundTrip(r)
	if err == nil && strings.HasSuffix(r.URL.Path, "/customers") {
		resp.Body = onClose{resp.Body, func() { h.once.Do(h.hook) }}
	}
	return resp, err
}

// TestHintWhileAnotherInstanceRuns: instance A receives a webhook hint for a target
// whose job instance B is running (so A's enqueue is absorbed by the queue's uniqueness).
// B's job, finding the target dirty in the store when its run ends, runs again and the
// change A was told about reaches the replica; the flag is cleared.
func TestHintWhileAnotherInstanceRuns(t *testing.T) {
	t.Parallel()
	w := newWorld(t, emulator.Config{}, "", syncer.Options{})
	tg := w.target("customers")
	if _, err := w.sync.Full(t.Context(), w.client, tg, false); err != nil {
		t.Fatal(err)
	}
	queue := &busyQueue{}
	instanceA, err := syncer.NewScheduler(syncer.SchedulerOptions{Store: w.db, Queue: queue, Syncer: w.sync,
		TargetsFunc: func(context.Context, string) ([]syncer.Target, error) { return nil, nil }})
	if err != nil {
		t.Fatal(err)
	}
	// While B's first run reads customers, BC gets a new one and A hears of it.
	sbClient := w.sb.Client()
	hooked := &http.Client{Transport: &hookTransport{base: sbClient.Transport, hook: func() {
		if _, err := w.emu.Create(w.ref, "customers", map[string]any{"displayName": "Created during the run"}); err != nil {
			t.Error(err)
		}
		instanceA.Hint(context.Background(), syncer.Hint{Target: tg})
	}}, CheckRedirect: sbClient.CheckRedirect}
	cr := w.sb.Creds
	cn, err := conn.Open(store.Connection{TenantID: cr.TenantID, ClientID: cr.ClientID, Environment: cr.Environment,
		AuthorityHost: w.sb.AuthorityHost(), BCBaseURL: w.sb.BCBaseURL()}, secret.Credential{Secret: secret.Secret(cr.ClientSecret)}, conn.Options{HTTPClient: hooked, Retry: fastRetry})
	if err != nil {
		t.Fatal(err)
	}
	instanceB := &syncer.Worker{Syncer: w.sync, Clients: fixedClients{cn.BC}}
	job := &river.Job[syncer.SyncArgs]{JobRow: &rivertype.JobRow{Attempt: 1},
		Args: syncer.SyncArgs{ConnectionID: tg.ConnectionID, CompanyID: tg.CompanyID, EntitySet: tg.EntitySet}}
	if err := instanceB.Work(t.Context(), job); err != nil {
		t.Fatal(err)
	}
	if queue.n.Load() != 1 {
		t.Fatalf("instance A enqueued %d jobs, want 1 (absorbed)", queue.n.Load())
	}
	w.assertEqual("customers")
	st, err := w.db.SyncState(t.Context(), store.ReplicaKey{ConnectionID: tg.ConnectionID, CompanyID: tg.CompanyID, EntitySet: tg.EntitySet})
	if err != nil {
		t.Fatal(err)
	}
	if st.Dirty {
		t.Error("the target is still dirty after the run that read the hinted change")
	}
}

// gateClients holds every Client call of connection "slow" until open is closed (a
// customer whose BC answers slowly); other connections get an error at once.
type gateClients struct {
	entered chan string
	open    chan struct{}
}

func (g gateClients) Client(ctx context.Context, id string) (*bc.Client, error) {
	g.entered <- id
	if id == "slow" {
		<-g.open
	}
	return nil, errors.New("no client in this test")
}

// TestWorkerCapsJobsPerConnection: a slow customer holds at most MaxPerConnection of an
// instance's workers; its next job snoozes at once (no attempt burnt), while another
// customer's job runs.
func TestWorkerCapsJobsPerConnection(t *testing.T) {
	t.Parallel()
	g := gateClients{entered: make(chan string, 10), open: make(chan struct{})}
	w := &syncer.Worker{Clients: g, MaxPerConnection: 2, BusyWait: 3 * time.Second}
	job := func(conn, set string, mode syncer.Mode) *river.Job[syncer.SyncArgs] {
		return &river.Job[syncer.SyncArgs]{JobRow: &rivertype.JobRow{Attempt: 1},
			Args: syncer.SyncArgs{ConnectionID: conn, CompanyID: "co1", EntitySet: set, Mode: mode}}
	}
	var wg sync.WaitGroup
	for _, set := range []string{"customers", "vendors"} {
		wg.Go(func() { _ = w.Work(t.Context(), job("slow", set, "")) })
	}
	<-g.entered
	<-g.entered // both slow jobs are running
	err := w.Work(t.Context(), job("slow", "items", ""))
	var snooze *river.JobSnoozeError
	if !errors.As(err, &snooze) || snooze.Duration != 3*time.Second {
		t.Errorf("third job of the slow customer: %v, want a 3s snooze", err)
	}
	err = w.Work(t.Context(), job("other", "items", ""))
	if errors.As(err, &snooze) || <-g.entered != "other" {
		t.Errorf("another customer's job was held back: %v", err)
	}
	// A full re-sync asked for is never turned away (its snooze would make it incremental).
	wg.Go(func() { _ = w.Work(t.Context(), job("slow", "items", syncer.ModeFull)) })
	if id := <-g.entered; id != "slow" {
		t.Errorf("full re-sync: entered %q", id)
	}
	close(g.open)
	wg.Wait()
	// The slots are given back: the slow customer's next job runs.
	if err := w.Work(t.Context(), job("slow", "items", "")); errors.As(err, &snooze) {
		t.Errorf("after its jobs ended: %v", err)
	}
}

// TestOutcome: the metrics' outcome of a pass, with errors wrapped as the syncer returns them.
func TestOutcome(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		err  error
		want string
	}{
		{nil, "ok"},
		{fmt.Errorf("page 3: %w", syncer.ErrYielded), "yielded"},
		{fmt.Errorf("page 3: %w", &bc.Error{StatusCode: 429, Code: "Application_TooManyRequests"}), "throttled"},
		{errors.New("disk full"), "error"},
	} {
		if got := syncer.Outcome(c.err); got != c.want {
			t.Errorf("Outcome(%v) = %s, want %s", c.err, got, c.want)
		}
	}
}
