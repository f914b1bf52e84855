package sqlstore

import (
	"time"

	"github.com/bizzjoiner/bcconnector/store"
)

// PruneEvery is how often a store deletes the marks older than store.MarkRetention.
const PruneEvery = 10 * time.Minute

// Expired reports whether a batch's read mark is too old to be checked at now: marks
// written after it may have been pruned already. PruneEvery is kept as a margin for the
// clocks of other instances that prune.
func Expired(read store.ReadMark, now time.Time) bool {
	return !read.IsZero() && now.Sub(read.At) > store.MarkRetention-PruneEvery
}

// DropStale leaves out of b the upserts whose ids the replica changed after b.Read
// (marked), or all of them when the mark expired, with those documents' lines. It
// returns the batch to apply and the ids left out, in batch order, each once. b's slices
// are not modified.
func DropStale(b store.ReplicaBatch, marked map[string]bool, expired bool) (store.ReplicaBatch, []string) {
	if !expired && len(marked) == 0 || len(b.Upserts) == 0 {
		return b, nil
	}
	var stale []string
	drop := map[string]bool{}
	keep := make([]store.ReplicaRow, 0, len(b.Upserts))
	for _, r := range b.Upserts {
		if !expired && !marked[r.ID] {
			keep = append(keep, r)
			continue
		}
		if !drop[r.ID] {
			drop[r.ID] = true
			stale = append(stale, r.ID)
		}
	}
	if len(stale) == 0 {
		return b, nil
	}
	b.Upserts = keep
	children := make([]store.ChildReplace, len(b.Children))
	for i, c := range b.Children {
		children[i].EntitySet = c.EntitySet
		for _, p := range c.ParentIDs {
			if !drop[p] {
				children[i].ParentIDs = append(children[i].ParentIDs, p)
			}
		}
		for _, r := range c.Rows {
			if !drop[r.ParentID] {
				children[i].Rows = append(children[i].Rows, r)
			}
		}
	}
	b.Children = children
	return b, stale
}

// Marks collects the ids of a batch's entity set that it changed: rows inserted, updated
// or deleted, and documents whose lines changed. The store writes them with the change
// log number the batch commits under. Only batches that are not AssumeNew mark (On).
type Marks struct {
	On    bool
	Scope int64 // the scope of the batch's entity set
	IDs   []string
	seen  map[string]bool
}

// Note marks what a change of scope changed: id itself in the batch's set, or the document
// parent of a line.
func (m *Marks) Note(scope int64, id, parent string) {
	switch {
	case !m.On:
	case scope == m.Scope:
		m.add(id)
	case parent != "":
		m.add(parent)
	}
}

// Parents maps the ids of lines (rows of another scope) to their documents when the
// batch marks; nil otherwise.
func (m *Marks) Parents(scope int64, rows []store.ReplicaRow) map[string]string {
	if !m.On || scope == m.Scope {
		return nil
	}
	p := make(map[string]string, len(rows))
	for _, r := range rows {
		p[r.ID] = r.ParentID
	}
	return p
}

func (m *Marks) add(id string) {
	if m.seen[id] {
		return
	}
	if m.seen == nil {
		m.seen = map[string]bool{}
	}
	m.seen[id] = true
	m.IDs = append(m.IDs, id)
}

// RowIDs returns the ids of rows, in order.
func RowIDs(rows []store.ReplicaRow) []string {
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	return ids
}
