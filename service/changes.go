package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bizzjoiner/bcconnector/store"
)

// ErrCursorBeyondEnd means a change feed cursor is past the end of the change log: no
// change will ever follow it, so the caller must start again (from 0, or a cursor of
// this database).
var ErrCursorBeyondEnd = errors.New("service: cursor beyond the end of the change log")

// DefaultChangesLimit is the page size of Changes when none is given.
const DefaultChangesLimit = 500

// MaxChangesLimit caps a page of Changes; the API refuses larger limits.
const MaxChangesLimit = 10 * DefaultChangesLimit

// DefaultChangesRecheck is how often a waiting Changes call reads the change log when
// nothing woke it (see Options.ChangesRecheck).
const DefaultChangesRecheck = 2 * time.Second

// changesSignal returns a channel that is closed the next time the change log grows.
func (s *Impl) changesSignal() <-chan struct{} {
	s.grewMu.Lock()
	defer s.grewMu.Unlock()
	return s.grew
}

// changesGrew wakes every waiting Changes call.
func (s *Impl) changesGrew() {
	s.grewMu.Lock()
	close(s.grew)
	s.grew = make(chan struct{})
	s.grewMu.Unlock()
}

// Changes implements Service. Entries that keep rejects are skipped (keep also filters
// out other connections, so a scoped caller never learns of another customer's changes). A caller that waits
// sleeps until the store announces new changes (store.ChannelChanges), its wait ends, or
// the recheck interval passes; it does not poll the database meanwhile.
func (s *Impl) Changes(ctx context.Context, since int64, limit int, wait time.Duration, keep func(store.Change) bool) ([]store.Change, int64, error) {
	if limit <= 0 {
		limit = DefaultChangesLimit
	}
	limit = min(limit, MaxChangesLimit)
	deadline := s.now().Add(wait)
	for first := true; ; first = false {
		// Taken before reading, so growth between the read and the wait is not missed.
		grew := s.changesSignal()
		out, next, err := s.changesFrom(ctx, since, limit, keep)
		if err != nil {
			return nil, since, err
		}
		if len(out) > 0 {
			return out, next, nil
		}
		if first && next == since && since > 0 {
			// Nothing after since: it is the end of the log, or beyond it (a cursor of
			// another database, or of one that was reset), which would wait forever.
			if err := s.checkCursor(ctx, since); err != nil {
				return nil, since, err
			}
		}
		since = next
		if !s.now().Before(deadline) {
			return []store.Change{}, since, nil
		}
		t := time.NewTimer(min(s.recheck, deadline.Sub(s.now())))
		select {
		case <-ctx.Done():
			t.Stop()
			return []store.Change{}, since, nil
		case <-grew:
			t.Stop()
		case <-t.C:
		}
	}
}

// checkCursor returns ErrCursorBeyondEnd if since is past the last committed change.
func (s *Impl) checkCursor(ctx context.Context, since int64) error {
	m, err := s.st.ReadMark(ctx)
	if err != nil {
		return err
	}
	if since > m.Seq {
		return fmt.Errorf("%w: after=%d, but the change log ends at %d", ErrCursorBeyondEnd, since, m.Seq)
	}
	return nil
}

// changesFrom reads forward from since until it has kept entries or reaches the end
// of the log; next is the last seq read.
func (s *Impl) changesFrom(ctx context.Context, since int64, limit int, keep func(store.Change) bool) ([]store.Change, int64, error) {
	for {
		chunk, err := s.st.Changes(ctx, since, limit)
		if err != nil {
			return nil, since, err
		}
		out := make([]store.Change, 0, len(chunk))
		for _, c := range chunk {
			if keep == nil || keep(c) {
				out = append(out, c)
			}
		}
		if len(chunk) > 0 {
			since = chunk[len(chunk)-1].Seq
		}
		if len(out) > 0 || len(chunk) < limit {
			return out, since, nil
		}
	}
}
