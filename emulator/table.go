package emulator

import (
	"encoding/base64"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/bizzjoiner/bcconnector/bcschema"
)

// baseSource produces the generated (seed) rows of one entity set in one company. Row i is
// computed on demand; ids strictly increase with i, so id order is index order.
type baseSource interface {
	Count() int
	Row(i int) map[string]any
	// IndexRange returns the index range [lo, hi) of rows satisfying `field op value`
	// when the field is monotonic in the index; ok is false otherwise.
	IndexRange(field, op string, value any) (lo, hi int, ok bool)
}

// emptySource is the base of an entity set that starts with no rows.
type emptySource struct{}

func (emptySource) Count() int                                      { return 0 }
func (emptySource) Row(int) map[string]any                          { return nil }
func (emptySource) IndexRange(string, string, any) (int, int, bool) { return 0, 0, true }

// record is a row in the overlay: a created or modified row, or a tombstone for a deleted one.
// Rows are never mutated in place (copy on write), so a map handed out stays valid.
type record struct {
	row     map[string]any
	etag    string
	deleted bool
}

// rowRef is one row as read from a table.
type rowRef struct {
	row  map[string]any
	etag string
}

// table is one entity set of one company: generated base rows merged with an overlay of
// writes, ordered by id (bc-entra-facts §11.11: stable order).
type table struct {
	ent *bcschema.Entity
	src baseSource

	mu      sync.RWMutex
	overlay map[string]*record
	live    []string // sorted ids of live overlay rows

	wire atomic.Pointer[wireCache] // the generated rows' wire form, once Prewarm made it
}

func newTable(ent *bcschema.Entity, src baseSource) *table {
	if src == nil {
		src = emptySource{}
	}
	return &table{ent: ent, src: src, overlay: make(map[string]*record)}
}

// baseETag is the deterministic ETag of an unmodified generated row, in BC's shape: a weak
// ETag over base64 of `'20;<number>;00;'` (bc-entra-facts §4.4; opaque to clients).
func baseETag(id string) string {
	// FNV-1a, 64 bits (hash/fnv's New64a), without a hash.Hash per row.
	h := uint64(14695981039346656037)
	for i := 0; i < len(id); i++ {
		h ^= uint64(id[i])
		h *= 1099511628211
	}
	return formatETag(h)
}

// formatETag is the ETag of version n: one allocation, the string itself.
func formatETag(n uint64) string {
	var raw, out [64]byte
	r := append(raw[:0], "'20;"...)
	r = strconv.AppendUint(r, n, 10)
	r = append(r, ";00;'"...)
	o := append(out[:0], `W/"`...)
	o = base64.StdEncoding.AppendEncode(o, r)
	return string(append(o, '"'))
}

// get returns the live row with the given id.
func (t *table) get(id string) (rowRef, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.getLocked(id)
}

func (t *table) getLocked(id string) (rowRef, bool) {
	if rec, ok := t.overlay[id]; ok {
		if rec.deleted {
			return rowRef{}, false
		}
		return rowRef{row: rec.row, etag: rec.etag}, true
	}
	lo, hi, ok := t.src.IndexRange("id", "eq", id)
	if !ok || lo >= hi {
		return rowRef{}, false
	}
	row := t.src.Row(lo)
	return rowRef{row: row, etag: baseETag(id)}, true
}

// scanRange limits a scan: rows of the base with index in [lo, hi) and, always, all live
// overlay rows; only rows with id greater than after.
type scanRange struct {
	after  string
	lo, hi int
	// exact: every base row in [lo, hi) matches the scan's predicate (the filter is an
	// index range, exactRange), so next applies it to overlay rows only.
	exact bool
}

// next returns up to max rows in id order that match keep, starting after r.after, and the
// id to continue from. The lock is held for one call only, so long pages do not block writers.
func (t *table) next(r scanRange, max int, keep func(map[string]any) bool) (rows []rowRef, last string, done bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()

	i := r.lo
	if r.after != "" {
		if lo, _, ok := t.src.IndexRange("id", "gt", r.after); ok && lo > i {
			i = lo
		}
	}
	hi := r.hi
	if n := t.src.Count(); hi > n {
		hi = n
	}
	j := sort.SearchStrings(t.live, r.after)
	if j < len(t.live) && t.live[j] == r.after {
		j++
	}
	var baseRow map[string]any
	var baseID string
	for len(rows) < max {
		// Load the next base row that the overlay does not shadow.
		for baseRow == nil && i < hi {
			row := t.src.Row(i)
			i++
			id, _ := row["id"].(string)
			if _, shadowed := t.overlay[id]; shadowed {
				continue
			}
			baseRow, baseID = row, id
		}
		if baseRow == nil && j >= len(t.live) {
			return rows, last, true
		}
		var ref rowRef
		fromBase := baseRow != nil && (j >= len(t.live) || baseID < t.live[j])
		if fromBase {
			ref = rowRef{row: baseRow, etag: baseETag(baseID)}
			last = baseID
			baseRow = nil
		} else {
			rec := t.overlay[t.live[j]]
			ref = rowRef{row: rec.row, etag: rec.etag}
			last = t.live[j]
			j++
		}
		if keep == nil || (fromBase && r.exact) || keep(ref.row) {
			rows = append(rows, ref)
		}
	}
	done = baseRow == nil && i >= hi && j >= len(t.live)
	return rows, last, done
}

// undo restores the overlay entry of one id; writes return one so a transactional $batch
// can roll back.
type undo struct {
	t    *table
	id   string
	prev *record // nil: the id had no overlay entry
}

func (u undo) apply() {
	u.t.mu.Lock()
	defer u.t.mu.Unlock()
	u.t.setLocked(u.id, u.prev)
}

// put stores rec as the current state of id and returns how to undo it.
func (t *table) put(id string, rec *record) undo {
	t.mu.Lock()
	defer t.mu.Unlock()
	u := undo{t: t, id: id, prev: t.overlay[id]}
	t.setLocked(id, rec)
	return u
}

func (t *table) setLocked(id string, rec *record) {
	wasLive := false
	if old, ok := t.overlay[id]; ok && !old.deleted {
		wasLive = true
	}
	if rec == nil {
		delete(t.overlay, id)
	} else {
		t.overlay[id] = rec
	}
	isLive := rec != nil && !rec.deleted
	switch {
	case isLive && !wasLive:
		k := sort.SearchStrings(t.live, id)
		t.live = append(t.live, "")
		copy(t.live[k+1:], t.live[k:])
		t.live[k] = id
	case !isLive && wasLive:
		k := sort.SearchStrings(t.live, id)
		if k < len(t.live) && t.live[k] == id {
			t.live = append(t.live[:k], t.live[k+1:]...)
		}
	}
}

// count returns the number of live rows (base rows not deleted plus created rows).
func (t *table) count() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	n := t.src.Count()
	for id, rec := range t.overlay {
		inBase := false
		if lo, hi, ok := t.src.IndexRange("id", "eq", id); ok && lo < hi {
			inBase = true
		}
		switch {
		case inBase && rec.deleted:
			n--
		case !inBase && !rec.deleted:
			n++
		}
	}
	return n
}

// countRange is what next returns for r (from its start, without a predicate) counted
// without generating rows: the base rows of [lo, hi) the overlay does not shadow, plus
// every live overlay row (next always merges them all in). ok is false when the base
// cannot say whether an overlay row shadows one of its rows (no id index).
func (t *table) countRange(r scanRange) (n int, ok bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	lo, hi := r.lo, min(r.hi, t.src.Count())
	if hi < lo {
		hi = lo
	}
	n = hi - lo
	for id := range t.overlay {
		i, j, ok := t.src.IndexRange("id", "eq", id)
		if !ok {
			return 0, false
		}
		if i < j && i >= lo && i < hi {
			n-- // a base row the overlay shadows (changed or deleted)
		}
	}
	return n + len(t.live), true
}

// baseRun reads up to max live base rows (not shadowed by the overlay) that match keep,
// walking indexes from i towards end (exclusive) in steps of step (+1 or -1). It returns
// the rows and the index to continue from.
func (t *table) baseRun(i, end, step, max int, keep func(map[string]any) bool) ([]rowRef, int) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	var rows []rowRef
	for ; i != end && len(rows) < max; i += step {
		row := t.src.Row(i)
		id, _ := row["id"].(string)
		if _, shadowed := t.overlay[id]; shadowed {
			continue
		}
		if keep == nil || keep(row) {
			rows = append(rows, rowRef{row: row, etag: baseETag(id)})
		}
	}
	return rows, i
}

// overlayRows returns every live overlay row that matches keep.
func (t *table) overlayRows(keep func(map[string]any) bool) []rowRef {
	t.mu.RLock()
	defer t.mu.RUnlock()
	var rows []rowRef
	for _, id := range t.live {
		rec := t.overlay[id]
		if keep == nil || keep(rec.row) {
			rows = append(rows, rowRef{row: rec.row, etag: rec.etag})
		}
	}
	return rows
}

// monotonic reports whether base rows are ordered by field (non-decreasing with index).
func (t *table) monotonic(field string) bool {
	m, ok := t.src.(interface{ Monotonic(field string) bool })
	return ok && m.Monotonic(field)
}
