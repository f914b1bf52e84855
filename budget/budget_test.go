package budget_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bizzjoiner/bcconnector/budget"
	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/store/postgres"
	"github.com/bizzjoiner/bcconnector/store/postgres/pgtest"
	"github.com/bizzjoiner/bcconnector/store/sqlite"
)

var key = store.BudgetKey{TenantID: "11111111-2222-3333-4444-555555555555", ClientID: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", Environment: "Production"}

// database opens one store per "process" on one database: the same SQLite file or the
// same PostgreSQL schema. It must be called inside the synctest bubble, which the stores'
// goroutines then belong to; close closes them all.
type database func(t testing.TB, processes int) (stores []store.BudgetStore, close func())

// processes returns a database whose processes each open their own handle by open.
func processes(open func(kr *secret.Keyring) (store.Store, error)) database {
	return func(t testing.TB, n int) ([]store.BudgetStore, func()) {
		kr := secret.GenerateKeyring()
		var dbs []store.Store
		var out []store.BudgetStore
		closeAll := func() {
			for _, db := range dbs {
				db.Close()
			}
		}
		for range n {
			db, err := open(kr)
			if err != nil {
				closeAll()
				t.Fatal(err)
			}
			dbs = append(dbs, db)
			out = append(out, db)
		}
		return out, closeAll
	}
}

// sqliteFile gives each process its own handle on one SQLite file.
func sqliteFile(t testing.TB) database {
	path := filepath.Join(t.TempDir(), "bcconnector.db")
	return processes(func(kr *secret.Keyring) (store.Store, error) {
		return sqlite.Open(context.Background(), path, kr, sqlite.Options{})
	})
}

// postgresSchema gives each process its own pool on one PostgreSQL schema.
func postgresSchema(t testing.TB) database {
	url := pgtest.SchemaURL(t)
	return processes(func(kr *secret.Keyring) (store.Store, error) {
		return postgres.Open(context.Background(), url, kr, postgres.Options{MaxConns: 2})
	})
}

// databases runs fn on SQLite and PostgreSQL (skipped without BCC_TEST_DATABASE_URL).
func databases(t *testing.T, fn func(t *testing.T, open database)) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		fn(t, sqliteFile(t))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		fn(t, postgresSchema(t))
	})
}

func newBudget(t *testing.T, st store.BudgetStore, holder string, opt budget.Options) *budget.Budget {
	t.Helper()
	opt.Holder = holder
	b, err := budget.New(st, key, opt)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func closeBudget(t *testing.T, b *budget.Budget) {
	t.Helper()
	if err := b.Close(context.Background()); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// TestInFlightNeverAboveMax runs three processes, each with more workers than BC has
// slots, on one database: at no moment are more than 5 requests in flight across them,
// all their requests get through, and each process gets slots while the others are busy.
func TestInFlightNeverAboveMax(t *testing.T) {
	t.Parallel()
	databases(t, func(t *testing.T, open database) {
		synctest.Test(t, func(t *testing.T) {
			const processes, workers, requests = 3, 4, 12
			stores, closeStores := open(t, processes)
			defer closeStores()
			var inFlight, most atomic.Int64
			var mu sync.Mutex
			servedBy := map[int]int{} // process -> requests
			var wg sync.WaitGroup
			budgets := make([]*budget.Budget, processes)
			for p := range processes {
				budgets[p] = newBudget(t, stores[p], fmt.Sprintf("process-%d", p), budget.Options{Block: 7})
				for w := range workers {
					wg.Go(func() {
						for r := range requests {
							release, err := budgets[p].Acquire(t.Context())
							if err != nil {
								t.Errorf("process %d: Acquire: %v", p, err)
								return
							}
							n := inFlight.Add(1)
							for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
							}
							// A BC request takes 50-350 ms of (fake) time.
							time.Sleep(time.Duration(50+((p*7+w*13+r*29)%7)*50) * time.Millisecond)
							inFlight.Add(-1)
							release()
							mu.Lock()
							servedBy[p]++
							mu.Unlock()
						}
					})
				}
			}
			wg.Wait()
			for _, b := range budgets {
				closeBudget(t, b)
			}
			if m := most.Load(); m > 5 {
				t.Errorf("%d requests were in flight at once across the processes; BC allows 5", m)
			} else if m < 4 {
				t.Errorf("at most %d requests were in flight at once; the budget should use its 5 slots", m)
			}
			for p := range processes {
				if servedBy[p] != workers*requests {
					t.Errorf("process %d sent %d requests, want %d", p, servedBy[p], workers*requests)
				}
			}
			// Closed budgets hold nothing: a new holder gets all 5 slots at once.
			g, err := stores[0].LeaseSlots(context.Background(), store.SlotLease{Key: key, Holder: "after", Want: 5, Max: 5, Now: time.Now(), TTL: time.Second})
			if err != nil || g.Slots != 5 {
				t.Errorf("after Close a new holder got %+v, %v; want all 5 slots", g, err)
			}
		})
	})
}

// dyingStore is a process's store that stops reaching the database once killed, as when
// the process is killed: nothing is given back.
type dyingStore struct {
	store.BudgetStore
	dead atomic.Bool
}

var errKilled = errors.New("the process was killed")

func (d *dyingStore) LeaseSlots(ctx context.Context, l store.SlotLease) (store.SlotGrant, error) {
	if d.dead.Load() {
		return store.SlotGrant{}, errKilled
	}
	return d.BudgetStore.LeaseSlots(ctx, l)
}

func (d *dyingStore) ReserveRequests(ctx context.Context, r store.RequestReservation) (store.RequestGrant, error) {
	if d.dead.Load() {
		return store.RequestGrant{}, errKilled
	}
	return d.BudgetStore.ReserveRequests(ctx, r)
}

func (d *dyingStore) ReturnRequests(ctx context.Context, k store.BudgetKey, at time.Time, n int) error {
	if d.dead.Load() {
		return errKilled
	}
	return d.BudgetStore.ReturnRequests(ctx, k, at, n)
}

// TestDeadHoldersSlotsComeBack kills a process that uses all 5 slots: another process
// waits while the dead one's lease lives and gets the slots within one TTL of the kill.
func TestDeadHoldersSlotsComeBack(t *testing.T) {
	t.Parallel()
	databases(t, func(t *testing.T, open database) {
		synctest.Test(t, func(t *testing.T) {
			stores, closeStores := open(t, 2)
			defer closeStores()
			opt := budget.Options{TTL: 9 * time.Second, Poll: 100 * time.Millisecond}
			dying := &dyingStore{BudgetStore: stores[0]}
			a := newBudget(t, dying, "a", opt)
			for range 5 {
				if _, err := a.Acquire(t.Context()); err != nil {
					t.Fatal(err)
				}
			}
			// a keeps its 5 slots by its heartbeat while its requests run.
			time.Sleep(20 * time.Second)
			b := newBudget(t, stores[1], "b", opt)
			defer closeBudget(t, b)
			got := make(chan time.Duration, 1)
			start := time.Now()
			go func() {
				release, err := b.Acquire(t.Context())
				if err != nil {
					t.Errorf("b: Acquire: %v", err)
					got <- 0
					return
				}
				got <- time.Since(start)
				release()
			}()
			time.Sleep(15 * time.Second)
			synctest.Wait()
			select {
			case d := <-got:
				t.Fatalf("b got a slot after %v while a was alive and used all 5", d)
			default:
			}
			dying.dead.Store(true)
			killed := time.Since(start)
			d := <-got - killed
			// a's last renewal was at most TTL/3 before the kill; b asks every Poll.
			if d < opt.TTL*2/3 || d > opt.TTL+opt.Poll {
				t.Errorf("b got a slot %v after a was killed; want it once a's lease expired (%v to %v)", d, opt.TTL*2/3, opt.TTL+opt.Poll)
			}
			if s := b.Stats(); s.InUse != 0 {
				t.Errorf("b after its release: %+v", s)
			}
			_ = a.Close(context.Background()) // its store is dead: nothing reaches the database
		})
	})
}

// TestIdleBudgetGivesBack checks that a process gives its slots back once idle for a
// heartbeat, and its unsent requests back when it closes.
func TestIdleBudgetGivesBack(t *testing.T) {
	t.Parallel()
	databases(t, func(t *testing.T, open database) {
		synctest.Test(t, func(t *testing.T) {
			stores, closeStores := open(t, 2)
			defer closeStores()
			opt := budget.Options{TTL: 9 * time.Second, Block: 10, RateLimit: 100, Window: time.Minute}
			a := newBudget(t, stores[0], "a", opt)
			for range 3 {
				release, err := a.Acquire(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				release()
			}
			if s := a.Stats(); s.Held == 0 || s.Permits != 7 {
				t.Fatalf("a after 3 requests: %+v, want slots held and 7 of its block of 10 left", s)
			}
			// Idle for two heartbeats: the slots go back, the requests stay until Hold.
			time.Sleep(opt.TTL*2/3 + time.Second)
			synctest.Wait()
			if s := a.Stats(); s.Held != 0 {
				t.Errorf("a idle for two heartbeats still holds %d slots", s.Held)
			}
			g, err := stores[1].LeaseSlots(context.Background(), store.SlotLease{Key: key, Holder: "other", Want: 5, Max: 5, Now: time.Now(), TTL: time.Second})
			if err != nil || g.Slots != 5 {
				t.Errorf("another holder after a went idle: %+v, %v; want 5 slots", g, err)
			}
			closeBudget(t, a)
			// a sent 3 of its 10: the window has 97 left for the others.
			rg, err := stores[1].ReserveRequests(context.Background(), store.RequestReservation{Key: key, Want: 100, Limit: 100, Span: time.Minute + budget.DefaultHold + time.Second, Now: time.Now()})
			if err != nil || rg.Granted != 97 {
				t.Errorf("after a closed: reserve 100 of 100 granted %+v, %v; want 97", rg, err)
			}
		})
	})
}

// TestRateWindowAcrossProcesses sends more than the window allows from two processes: no
// window of Window holds more than RateLimit starts, and the later requests wait.
func TestRateWindowAcrossProcesses(t *testing.T) {
	t.Parallel()
	databases(t, func(t *testing.T, open database) {
		synctest.Test(t, func(t *testing.T) {
			stores, closeStores := open(t, 2)
			defer closeStores()
			opt := budget.Options{Block: 8, RateLimit: 40, Window: time.Minute}
			var mu sync.Mutex
			var starts []time.Time
			var wg sync.WaitGroup
			for p := range 2 {
				b := newBudget(t, stores[p], fmt.Sprint("p", p), opt)
				defer closeBudget(t, b)
				for range 2 {
					wg.Go(func() {
						for range 25 {
							release, err := b.Acquire(t.Context())
							if err != nil {
								t.Error(err)
								return
							}
							mu.Lock()
							starts = append(starts, time.Now())
							mu.Unlock()
							time.Sleep(100 * time.Millisecond)
							release()
						}
					})
				}
			}
			wg.Wait()
			slices.SortFunc(starts, time.Time.Compare)
			span := opt.Window + budget.DefaultHold + time.Second
			for i, s := range starts {
				n := 0
				for _, o := range starts[i:] {
					if o.Sub(s) < opt.Window {
						n++
					}
				}
				if n > opt.RateLimit {
					t.Fatalf("%d requests started within %v of the one at +%v; the limit is %d", n, opt.Window, s.Sub(starts[0]), opt.RateLimit)
				}
			}
			if last := starts[len(starts)-1].Sub(starts[0]); last < 2*opt.Window || last > 3*span {
				t.Errorf("100 requests at 40 per %v took %v; want them to wait for two windows, not longer than three spans (%v)", opt.Window, last, 3*span)
			}
		})
	})
}

func TestAcquireFailsWithTheStore(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		down := &dyingStore{}
		down.dead.Store(true)
		b := newBudget(t, down, "a", budget.Options{})
		if _, err := b.Acquire(t.Context()); !errors.Is(err, errKilled) {
			t.Errorf("Acquire with the database down = %v, want it to say so", err)
		}
		closeBudget(t, b)
		if _, err := b.Acquire(t.Context()); !errors.Is(err, budget.ErrClosed) {
			t.Errorf("Acquire after Close = %v, want ErrClosed", err)
		}
	})
}

func TestAcquireEndsWithContext(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		stores, closeStores := sqliteFile(t)(t, 1)
		defer closeStores()
		b := newBudget(t, stores[0], "a", budget.Options{MaxInFlight: 1})
		defer closeBudget(t, b)
		release, err := b.Acquire(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		defer release()
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		if _, err := b.Acquire(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Acquire of a second slot of one = %v, want the context's deadline", err)
		}
		if s := b.Stats(); s.Waiting != 0 || s.InUse != 1 {
			t.Errorf("after the timed-out wait: %+v", s)
		}
	})
}

func TestNewRefusesBadKey(t *testing.T) {
	t.Parallel()
	if _, err := budget.New(&dyingStore{}, store.BudgetKey{TenantID: "t", ClientID: "c"}, budget.Options{}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("New without an environment = %v, want ErrInvalid", err)
	}
}

// TestWaitingProcessGetsItsShare keeps one process busy on all 5 slots and starts a
// second: it gets slots as the first one's requests end, within a heartbeat and a
// request's time, not only when the first has nothing more to send.
func TestWaitingProcessGetsItsShare(t *testing.T) {
	t.Parallel()
	databases(t, func(t *testing.T, open database) {
		synctest.Test(t, func(t *testing.T) {
			stores, closeStores := open(t, 2)
			defer closeStores()
			opt := budget.Options{TTL: 9 * time.Second}
			a := newBudget(t, stores[0], "a", opt)
			defer closeBudget(t, a)
			ctx, stop := context.WithCancel(t.Context())
			var wg sync.WaitGroup
			for range 5 {
				wg.Go(func() {
					for ctx.Err() == nil {
						release, err := a.Acquire(ctx)
						if err != nil {
							return
						}
						time.Sleep(time.Second)
						release()
					}
				})
			}
			time.Sleep(5 * time.Second)
			b := newBudget(t, stores[1], "b", opt)
			defer closeBudget(t, b)
			start := time.Now()
			var inUse, most atomic.Int64
			var bw sync.WaitGroup
			for range 5 {
				bw.Go(func() {
					release, err := b.Acquire(t.Context())
					if err != nil {
						t.Error(err)
						return
					}
					n := inUse.Add(1)
					for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
					}
					time.Sleep(10 * time.Second)
					inUse.Add(-1)
					release()
				})
			}
			bw.Wait()
			stop()
			wg.Wait()
			// a learns at its next heartbeat (TTL/3) that b waits, then gives back a slot
			// per ending request down to its share (3 of 5 while b wants 5: b gets 2).
			if most.Load() < 2 {
				t.Errorf("b had at most %d requests in flight while a was busy; its share is 2", most.Load())
			}
			// b waits up to a heartbeat and one of a's requests, then runs its 5 in 3 rounds
			// of 2 slots.
			if took, bound := time.Since(start), opt.TTL/3+time.Second+3*10*time.Second+2*budget.DefaultPoll; took > bound {
				t.Errorf("b's 5 requests of 10 s took %v while a was busy; with its share of 2 slots they take at most %v", took, bound)
			}
		})
	})
}

// gatedStore holds LeaseSlots calls while gate is set, until the test opens it.
type gatedStore struct {
	store.BudgetStore
	gate atomic.Pointer[chan struct{}]
}

func (g *gatedStore) LeaseSlots(ctx context.Context, l store.SlotLease) (store.SlotGrant, error) {
	if ch := g.gate.Load(); ch != nil {
		<-*ch
	}
	return g.BudgetStore.LeaseSlots(ctx, l)
}

// TestNoStartWhileLeasing: a heartbeat gives back slots the process no longer uses
// (Keep is the requests in flight when it asks); a request must not start on those slots
// while the store is deciding, or the process would use more slots than it holds.
func TestNoStartWhileLeasing(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		stores, closeStores := sqliteFile(t)(t, 1)
		defer closeStores()
		gated := &gatedStore{BudgetStore: stores[0]}
		opt := budget.Options{TTL: 9 * time.Second}
		b := newBudget(t, gated, "a", opt)
		defer closeBudget(t, b)
		var releases []func()
		for range 3 {
			r, err := b.Acquire(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			releases = append(releases, r)
		}
		releases[1]()
		releases[2]()
		// The first heartbeat keeps the 3 slots used since the lease; the second asks for
		// the 1 in use. Hold that call.
		time.Sleep(opt.TTL / 3)
		synctest.Wait()
		gate := make(chan struct{})
		gated.gate.Store(&gate)
		time.Sleep(opt.TTL / 3)
		synctest.Wait()
		got := make(chan func(), 2)
		for range 2 {
			go func() {
				r, err := b.Acquire(t.Context())
				if err != nil {
					t.Error(err)
					r = func() {}
				}
				got <- r
			}()
		}
		synctest.Wait()
		if s := b.Stats(); s.InUse != 1 {
			t.Errorf("while the lease is decided: %+v; want no request started on slots it may give back", s)
		}
		gated.gate.Store(nil)
		close(gate)
		r1, r2 := <-got, <-got
		if s := b.Stats(); s.InUse > s.Held {
			t.Errorf("after the lease: %+v; more in use than held", s)
		}
		r1()
		r2()
		releases[0]()
	})
}
