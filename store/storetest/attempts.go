package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/store"
)

// RunAttempts runs the conformance suite of store.AttemptStore: the sign-in throttle's
// records by source, updated atomically.
func RunAttempts(t *testing.T, open func(t *testing.T) store.AttemptStore) {
	t.Helper()
	runTests(t, open, []test[store.AttemptStore]{
		{"RoundTrip", testAttemptsRoundTrip},
		{"Concurrent", testAttemptsConcurrent},
		{"OldForgotten", testAttemptsOldForgotten},
	})
}

// readAttempts returns key's record without changing it.
func readAttempts(t *testing.T, s store.AttemptStore, key string) store.LoginAttempts {
	t.Helper()
	var got store.LoginAttempts
	if err := s.UpdateAttempts(t.Context(), key, func(a store.LoginAttempts) store.LoginAttempts { got = a; return a }); err != nil {
		t.Fatal(err)
	}
	return got
}

func testAttemptsRoundTrip(t *testing.T, s store.AttemptStore) {
	ctx := t.Context()
	if got := readAttempts(t, s, "ip:192.0.2.1"); got != (store.LoginAttempts{}) {
		t.Fatalf("unknown source = %+v, want the zero record", got)
	}
	at := time.Date(2026, 12, 1, 9, 0, 0, 123456789, time.UTC)
	want := store.LoginAttempts{Failures: 3, Last: at.Truncate(time.Microsecond)}
	if err := s.UpdateAttempts(ctx, "ip:192.0.2.1", func(a store.LoginAttempts) store.LoginAttempts {
		return store.LoginAttempts{Failures: 3, Last: at}
	}); err != nil {
		t.Fatal(err)
	}
	if got := readAttempts(t, s, "ip:192.0.2.1"); got.Failures != want.Failures || !got.Last.Equal(want.Last) || got.Last.Location() != time.UTC {
		t.Fatalf("stored %+v, read %+v", want, got)
	}
	if got := readAttempts(t, s, "ip:2001:db8::/64"); got != (store.LoginAttempts{}) {
		t.Fatalf("another source sees %+v", got)
	}
	// The zero record clears the source.
	if err := s.UpdateAttempts(ctx, "ip:192.0.2.1", func(store.LoginAttempts) store.LoginAttempts { return store.LoginAttempts{} }); err != nil {
		t.Fatal(err)
	}
	if got := readAttempts(t, s, "ip:192.0.2.1"); got != (store.LoginAttempts{}) {
		t.Fatalf("cleared source = %+v", got)
	}
	wantErr(t, "UpdateAttempts(empty key)", s.UpdateAttempts(ctx, "", func(a store.LoginAttempts) store.LoginAttempts { return a }), store.ErrInvalid)
}

// testAttemptsConcurrent: increments of one source from many callers (instances) are
// never lost, also while another caller clears and re-creates the record.
func testAttemptsConcurrent(t *testing.T, s store.AttemptStore) {
	const writers, each = 8, 10
	at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	errs := make(chan error, writers+1)
	for range writers {
		wg.Go(func() {
			for range each {
				if err := s.UpdateAttempts(t.Context(), "ip:198.51.100.7", func(a store.LoginAttempts) store.LoginAttempts {
					a.Failures++
					a.Last = at
					return a
				}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Go(func() {
		for i := range each {
			key := fmt.Sprint("ip:203.0.113.", i)
			for _, f := range []func(store.LoginAttempts) store.LoginAttempts{
				func(store.LoginAttempts) store.LoginAttempts { return store.LoginAttempts{Failures: 1, Last: at} },
				func(store.LoginAttempts) store.LoginAttempts { return store.LoginAttempts{} },
			} {
				if err := s.UpdateAttempts(t.Context(), key, f); err != nil {
					errs <- err
					return
				}
			}
		}
	})
	wg.Wait()
	collect(t, errs)
	if got := readAttempts(t, s, "ip:198.51.100.7"); got.Failures != writers*each {
		t.Fatalf("failures = %d after %d concurrent increments", got.Failures, writers*each)
	}
}

// testAttemptsOldForgotten: a record untouched for longer than store.AttemptsKeptFor is
// removed once another source is added; a younger one stays.
func testAttemptsOldForgotten(t *testing.T, s store.AttemptStore) {
	ctx := t.Context()
	now := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	put := func(key string, last time.Time) {
		t.Helper()
		if err := s.UpdateAttempts(ctx, key, func(store.LoginAttempts) store.LoginAttempts {
			return store.LoginAttempts{Failures: 7, Last: last}
		}); err != nil {
			t.Fatal(err)
		}
	}
	put("ip:192.0.2.10", now.Add(-store.AttemptsKeptFor-time.Minute))
	put("ip:192.0.2.11", now.Add(-store.AttemptsKeptFor+time.Minute))
	put("ip:192.0.2.12", now)
	if got := readAttempts(t, s, "ip:192.0.2.10"); got != (store.LoginAttempts{}) {
		t.Errorf("a record older than AttemptsKeptFor survived: %+v", got)
	}
	if got := readAttempts(t, s, "ip:192.0.2.11"); got.Failures != 7 {
		t.Errorf("a younger record was forgotten: %+v", got)
	}
}
