package store

import (
	"errors"
	"fmt"
	"time"
)

// ErrCursorExpired means changes right after a change log cursor were pruned by the
// retention policy (ReplicaStore.PruneChanges): reading on from it would skip them
// silently. The error is a *CursorExpiredError.
var ErrCursorExpired = errors.New("store: the change log was pruned past the cursor")

// CursorExpiredError is what ReplicaStore.Changes returns for a cursor older than the
// change log keeps: the caller read up to After, but the changes up to PrunedThrough are
// gone. It matches ErrCursorExpired with errors.Is.
type CursorExpiredError struct {
	// After is the cursor that was asked for.
	After int64
	// PrunedThrough is the last pruned change: the log keeps the changes after it.
	PrunedThrough int64
}

func (e *CursorExpiredError) Error() string {
	return fmt.Sprintf("store: changes after %d were asked for, but the change log keeps only those after %d (older ones were pruned)", e.After, e.PrunedThrough)
}

// Is makes errors.Is(err, ErrCursorExpired) true.
func (e *CursorExpiredError) Is(target error) bool { return target == ErrCursorExpired }

// ChangePrune says which changes PruneChanges deletes: the oldest ones, in whole
// segments (the changes of one batch), from the start of the log up to the first segment
// that a bound keeps. Zero bounds are off; with both off nothing is pruned.
type ChangePrune struct {
	// Before prunes the segments written before this time (the age bound).
	Before time.Time
	// MaxEntries prunes the segments whose changes are all older than the newest
	// MaxEntries changes (the size bound).
	MaxEntries int64
	// Floor is the last change that may be pruned: a segment holding a change after it is
	// kept whatever its age or the log's size (outbound webhooks' dispatch cursor, so no
	// change is pruned before it became deliveries).
	Floor int64
}

// ChangePruneResult is what PruneChanges did.
type ChangePruneResult struct {
	// Changes and Segments count what was deleted.
	Changes, Segments int64
	// PrunedThrough is the last pruned change after the call (also when this call pruned
	// nothing): a cursor below it is expired.
	PrunedThrough int64
}
