package service

import (
	"context"
	"time"

	"github.com/bizzjoiner/bcconnector/store"
)

// DefaultChangesLimit is the page size of Changes when none is given.
const DefaultChangesLimit = 500

// ChangesPollInterval is how often a waiting Changes call looks at the change log.
const ChangesPollInterval = 200 * time.Millisecond

// Changes implements Service. Entries of connections that allowed rejects are skipped,
// so a scoped caller never learns of another customer's changes.
func (s *Impl) Changes(ctx context.Context, since int64, limit int, wait time.Duration, allowed func(connID string) bool) ([]store.Change, error) {
	if limit <= 0 {
		limit = DefaultChangesLimit
	}
	limit = min(limit, 10*DefaultChangesLimit)
	deadline := s.now().Add(wait)
	for {
		out, next, err := s.changesFrom(ctx, since, limit, allowed)
		if err != nil || len(out) > 0 {
			return out, err
		}
		since = next
		if !s.now().Before(deadline) {
			return []store.Change{}, nil
		}
		t := time.NewTimer(min(ChangesPollInterval, deadline.Sub(s.now())))
		select {
		case <-ctx.Done():
			t.Stop()
			return []store.Change{}, nil
		case <-t.C:
		}
	}
}

// changesFrom reads forward from since until it has allowed entries or reaches the end
// of the log; next is the last seq read.
func (s *Impl) changesFrom(ctx context.Context, since int64, limit int, allowed func(string) bool) ([]store.Change, int64, error) {
	for {
		chunk, err := s.st.Changes(ctx, since, limit)
		if err != nil {
			return nil, since, err
		}
		out := make([]store.Change, 0, len(chunk))
		for _, c := range chunk {
			if allowed == nil || allowed(c.ConnectionID) {
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
