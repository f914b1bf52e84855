package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/bizzjoiner/bcconnector/bcschema"
)

// ReplicaKey names one replicated entity set: a connection's company and an entity set.
type ReplicaKey struct {
	ConnectionID string
	CompanyID    string
	EntitySet    string
}

// ReplicaRow is one record of the replica: BC's id, its ETag, lastModifiedDateTime (zero
// for sets without it) and the entity's JSON exactly as BC sent it.
type ReplicaRow struct {
	ID           string
	ETag         string
	LastModified time.Time
	Raw          json.RawMessage
	// ParentID is the document id of a line (documentId), empty otherwise; it lets a
	// document's lines be replaced or deleted with it.
	ParentID string
}

// Op is what a change did to the replica.
type Op string

// Change operations.
const (
	OpInsert Op = "insert"
	OpUpdate Op = "update"
	OpDelete Op = "delete"
)

// Change is one entry of the change log: every insert, update and delete applied to the
// replica, numbered by Seq without gaps, in commit order.
type Change struct {
	Seq          int64     `json:"seq"`
	ConnectionID string    `json:"connectionId"`
	CompanyID    string    `json:"companyId"`
	EntitySet    string    `json:"entitySet"`
	ID           string    `json:"id"`
	Op           Op        `json:"op"`
	At           time.Time `json:"at"`
	ETag         string    `json:"etag,omitempty"` // the new ETag; empty for deletes
}

// ReplicaBatch is what one committed page changes: rows to upsert, ids to delete, lines
// to replace per document, and the checkpoint that says how far the sync got. ApplyBatch
// writes all of it, and the change log entries, in one transaction.
type ReplicaBatch struct {
	Key     ReplicaKey
	Upserts []ReplicaRow
	Deletes []string
	// Children replaces the lines of documents: for each child entity set, the complete
	// current lines of the listed parents (lines of those parents not listed are deleted).
	Children []ChildReplace
	// Checkpoint, when non-nil, is stored for Key under CheckpointName (e.g. a partition's
	// nextLink), replacing the previous one; CheckpointDone removes it instead.
	CheckpointName string
	Checkpoint     json.RawMessage
	CheckpointDone bool
	// Now stamps the change log; zero means time.Now.
	Now time.Time
	// Read is the change log position taken (ReplicaStore.ReadMark) before the batch's
	// upserts were read from BC. With it, the store leaves out every upsert (with its
	// lines) whose id the replica changed or deleted after the mark: that write read BC
	// later, so the batch's version may be older, or the record deleted since. The ids left
	// out are returned in ApplyResult.Stale for the caller to read again. The zero mark
	// checks nothing (writes that read nothing, tests). Deletes are always applied.
	Read ReadMark
	// Schema, when set, is the set's schema as just read from BC's $metadata. The store
	// keeps it with a version per set: the first one is version 1; one that differs from
	// the stored one becomes the next version, and the change log gets an OpSchema entry
	// for Key in the same transaction (ApplyResult.SchemaVersion, SchemaChanged).
	Schema *SetSchema
	// AssumeNew tells the store the upserts are most likely not stored yet (a full sync
	// into an empty replica), so it may insert without reading stored ETags first. If a
	// row exists after all, the store must still classify it correctly (it retries the
	// batch the careful way).
	AssumeNew bool
}

// ChildReplace is the full set of lines of some documents in a child entity set.
type ChildReplace struct {
	EntitySet string
	ParentIDs []string
	Rows      []ReplicaRow
}

// ApplyResult counts what a batch changed; unchanged rows (same ETag) write nothing.
type ApplyResult struct {
	Inserted, Updated, Deleted, Unchanged int
	LastSeq                               int64
	// Stale are the ids of upserts left out because the replica changed or deleted them
	// after the batch's Read mark (or the mark is older than MarkRetention), in batch
	// order: read them again to apply them.
	Stale []string
	// SchemaVersion is the set's schema version after a batch with a Schema (0 without);
	// SchemaChanged says the batch made a new version other than the first.
	SchemaVersion int
	SchemaChanged bool
}

// ReadMark is a position in the change log, taken before data is read from BC. Every
// batch that is not AssumeNew marks the ids of its entity set it changed or deleted (a
// document also when only its lines changed) with the change log number it committed
// under; a batch carrying a ReadMark leaves out the ids marked after it. Numbers, not
// clocks, order the writes, so instances and BC's clock skew do not matter.
type ReadMark struct {
	// Seq is the last change log number committed when the mark was taken.
	Seq int64
	// At is the store's clock when the mark was taken; zero means no mark.
	At time.Time
}

// IsZero reports whether m is no mark (nothing is checked).
func (m ReadMark) IsZero() bool { return m.At.IsZero() }

// MarkRetention is how long the stores keep the marks of changed and deleted ids. A batch
// whose ReadMark is older than this cannot be checked: all its upserts come back Stale.
// Pages are read in seconds (a request times out long before), so only a batch held far
// beyond any request's life meets it.
const MarkRetention = time.Hour

// SyncState is the persistent state of one replicated entity set.
type SyncState struct {
	Key ReplicaKey
	// FullSyncDone is set when a full sync completed; until then a sync resumes it.
	FullSyncDone bool
	// FullSyncStartedAt is when the current or last full sync began (its data is at least
	// that fresh); incremental runs start from it.
	FullSyncStartedAt time.Time
	// Watermark is the lastModifiedDateTime up to which changes have been applied.
	Watermark time.Time
	// LastRunAt, LastSuccessAt and LastError describe the most recent run.
	LastRunAt, LastSuccessAt time.Time
	LastError                string
	// LastReconcileAt is when deletes were last reconciled by listing ids.
	LastReconcileAt time.Time
	// Throttled counts 429 answers absorbed; Requests counts BC requests.
	Throttled, Requests int64
	// Checkpoints are the named resume points of an unfinished run (partition → state).
	Checkpoints map[string]json.RawMessage
	// Paused stops scheduled runs.
	Paused bool
	// Dirty means a change hint (a webhook notification) arrived that no run has read yet.
	// The instance that receives the hint sets it; the sync job clears it as a run starts
	// and runs again when it finds it set at the end, so a hint received by one instance
	// while another runs the set's job is not lost to job uniqueness.
	Dirty bool
}

// ReplicaStore keeps the replica, its change log and the sync state.
type ReplicaStore interface {
	// EnsureReplica creates (or migrates) the table of an entity set: key columns, the raw
	// JSON, and one typed, queryable column per schema field.
	EnsureReplica(ctx context.Context, ent *bcschema.Entity) error
	// ApplyBatch applies a batch and its checkpoint atomically, logging each real change.
	ApplyBatch(ctx context.Context, b ReplicaBatch) (ApplyResult, error)
	// ReplicaIDs calls fn with every id and ETag of a replicated set, in id order.
	ReplicaIDs(ctx context.Context, key ReplicaKey, fn func(id, etag string) error) error
	// ReplicaGet returns one replicated row.
	ReplicaGet(ctx context.Context, key ReplicaKey, id string) (ReplicaRow, error)
	// ReplicaList returns up to limit rows with id greater than after, in id order.
	ReplicaList(ctx context.Context, key ReplicaKey, after string, limit int) ([]ReplicaRow, error)
	// ReplicaCount counts the rows of a replicated set.
	ReplicaCount(ctx context.Context, key ReplicaKey) (int64, error)
	// ReadMark returns the change log's current position, to be taken before reading the
	// data of a batch from BC (ReplicaBatch.Read).
	ReadMark(ctx context.Context) (ReadMark, error)
	// Changes returns up to limit change log entries with Seq greater than since; a
	// *CursorExpiredError when the changes right after since were pruned.
	Changes(ctx context.Context, since int64, limit int) ([]Change, error)
	// PruneChanges deletes the oldest change log segments that p's bounds let go, in
	// rounds of bounded transactions; several callers at once (instances) are safe: they
	// take turns and never prune more than p allows.
	PruneChanges(ctx context.Context, p ChangePrune) (ChangePruneResult, error)
	// ChangesPrunedThrough returns the last pruned change (0: none was).
	ChangesPrunedThrough(ctx context.Context) (int64, error)
	// SyncState returns the state of a replicated set (zero state if never synced).
	SyncState(ctx context.Context, key ReplicaKey) (SyncState, error)
	// UpdateSyncState changes the state with fn inside a transaction.
	UpdateSyncState(ctx context.Context, key ReplicaKey, fn func(*SyncState)) error
	// SyncStates lists the states of a connection's sets.
	SyncStates(ctx context.Context, connectionID string) ([]SyncState, error)
	// AllSyncStates lists the stored state of every set of every connection, without
	// checkpoints, ordered by connection, company and entity set, in one query: what the
	// metrics report, at a cost that does not grow with a query per connection.
	AllSyncStates(ctx context.Context) ([]SyncState, error)
}
