package sqlstore

import (
	"context"
	"time"

	"github.com/bizzjoiner/bcconnector/store"
)

// PruneRound is how many change log segments one transaction of PruneChanges looks at
// (and deletes at most), so a large backlog is pruned in short transactions that let
// writers in between.
const PruneRound = 1000

// SegmentSpan is what pruning needs to know of a change log segment: its numbers and
// when it was written.
type SegmentSpan struct {
	First, Last int64
	At          time.Time
}

// Prunable returns how many of segs, the oldest segments in order, p lets go when the
// log ends at head: the longest prefix whose every segment ends at or before p.Floor and
// is old enough (p.Before) or out of the newest p.MaxEntries changes. Pruning a prefix
// only keeps the log contiguous, so "pruned through" is one number.
func Prunable(segs []SegmentSpan, head int64, p store.ChangePrune) int {
	n := 0
	for _, s := range segs {
		old := !p.Before.IsZero() && s.At.Before(p.Before)
		big := p.MaxEntries > 0 && s.Last <= head-p.MaxEntries
		if s.Last > p.Floor || !(old || big) {
			break
		}
		n++
	}
	return n
}

// CheckPruned says whether a Changes read after since that returned out must check the
// pruned position: only when out does not start right after since (the log has no gaps,
// so a page that does missed nothing).
func CheckPruned(out []store.Change, since int64) bool {
	return len(out) == 0 || out[0].Seq != since+1
}

// CursorExpired returns the error of Changes for a cursor since when the log is pruned through
// through, nil when nothing after since was pruned.
func CursorExpired(since, through int64) error {
	if since < through {
		return &store.CursorExpiredError{After: since, PrunedThrough: through}
	}
	return nil
}

// Retention implements the change log's retention of store.ReplicaStore: PruneChanges
// and ChangesPrunedThrough.
type Retention struct{ s *Store }

// PruneChanges implements store.ReplicaStore: rounds of at most PruneRound segments,
// each one write transaction, until a round prunes less than a full round. Each round
// locks change_pruned's row first (Dialect.ForUpdate), so instances pruning at once take
// turns and each starts from where the other stopped; writers lock change_seq and are
// not held up.
func (r Retention) PruneChanges(ctx context.Context, p store.ChangePrune) (store.ChangePruneResult, error) {
	s := r.s
	var res store.ChangePruneResult
	for {
		full := false
		err := s.drv.WithTx(ctx, func(tx Tx) error {
			var head int64
			if err := tx.QueryRow(ctx, `SELECT through, (SELECT last_seq FROM change_seq WHERE one = 1) FROM change_pruned WHERE one = 1`+s.drv.ForUpdate()).
				Scan(&res.PrunedThrough, &head); err != nil {
				return s.errorf("prune change log: %w", err)
			}
			rows, err := tx.Query(ctx, `SELECT first_seq, last_seq, at FROM change_batches WHERE first_seq > $1 ORDER BY first_seq LIMIT $2`,
				res.PrunedThrough, PruneRound)
			if err != nil {
				return s.errorf("prune change log: %w", err)
			}
			segs, err := collect(rows, func(r Row) (SegmentSpan, error) {
				var seg SegmentSpan
				return seg, r.Scan(&seg.First, &seg.Last, &seg.At)
			})
			if err != nil {
				return s.errorf("prune change log: %w", err)
			}
			n := Prunable(segs, head, p)
			if n == 0 {
				return nil
			}
			through := segs[n-1].Last
			if _, err := tx.Exec(ctx, `DELETE FROM change_batches WHERE first_seq <= $1`, segs[n-1].First); err != nil {
				return s.errorf("prune change log: %w", err)
			}
			if _, err := tx.Exec(ctx, `UPDATE change_pruned SET through = $1 WHERE one = 1`, through); err != nil {
				return s.errorf("prune change log: %w", err)
			}
			res.Changes += through - res.PrunedThrough
			res.Segments += int64(n)
			res.PrunedThrough = through
			full = n == PruneRound
			return nil
		})
		if err != nil || !full {
			return res, err
		}
	}
}

// ChangesPrunedThrough implements store.ReplicaStore.
func (r Retention) ChangesPrunedThrough(ctx context.Context) (int64, error) {
	var through int64
	if err := r.s.drv.Read().QueryRow(ctx, `SELECT through FROM change_pruned WHERE one = 1`).Scan(&through); err != nil {
		return 0, r.s.errorf("read change log retention: %w", err)
	}
	return through, nil
}
