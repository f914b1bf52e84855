package sqlstore

import (
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
