package emulator

import (
	"fmt"
	"sort"
	"strings"

	"github.com/bizzjoiner/bcconnector/bcschema"
)

// wireCache is the wire form of a table's generated rows, made once by Prewarm: a page of
// them is copied instead of generated and encoded. It is only the emulator's CPU (BC's own
// is not the connector's to measure): every byte is what appendRow writes for the row, and
// rows the overlay shadows, $select, $expand, filters the index does not answer and a
// schema changed since (extension fields) all take the ordinary path.
type wireCache struct {
	ent *bcschema.Entity // the entity the rows were encoded with
	ids []string         // ids[i]: base row i's id
	off []int            // base row i is buf[off[i]:off[i+1]], with its closing brace
	buf []byte
}

// row is base row i as the page writer appends it.
func (c *wireCache) row(i int) []byte { return c.buf[c.off[i]:c.off[i+1]] }

// Prewarm encodes the generated rows of entity sets in a company once, so that pages of
// them cost the emulator a copy (about 0.5 KB of memory per row). A benchmark of a
// client uses it to keep the emulator's CPU out of the client's figures.
func (e *Emulator) Prewarm(ref CompanyRef, entitySets ...string) error {
	for _, set := range entitySets {
		_, c, ent, err := e.resolveRef(ref, set)
		if err != nil {
			return err
		}
		if ent.Parent != nil {
			return fmt.Errorf("emulator: prewarm %s: a line set is read through its documents; prewarm a set of its own", set)
		}
		tab := e.tableOf(c, ent)
		n := tab.src.Count()
		wc := &wireCache{ent: ent, ids: make([]string, n), off: make([]int, 0, n+1)}
		for i := range n {
			row := tab.src.Row(i)
			id, _ := row["id"].(string)
			wc.ids[i] = strings.Clone(id) // not the generator's buffer it was cut from
			wc.off = append(wc.off, len(wc.buf))
			wc.buf = append(appendRow(wc.buf, ent, row, baseETag(id), nil), '}')
		}
		wc.off = append(wc.off, len(wc.buf))
		if !sort.StringsAreSorted(wc.ids) {
			return fmt.Errorf("emulator: prewarm %s: generated ids are not in index order", set)
		}
		tab.wire.Store(wc)
	}
	return nil
}

// wireFor returns the table's wire cache when a page for q may use it: the rows as the
// cache encoded them (no $select or $expand, the same schema).
func (t *table) wireFor(q *listQuery) *wireCache {
	wc := t.wire.Load()
	if wc == nil || q.sel != nil || len(q.expand) > 0 || q.entity(t) != wc.ent {
		return nil
	}
	return wc
}

// wireRef is one row of nextWire: a base row by index (base ≥ 0), or an overlay row.
type wireRef struct {
	rowRef
	base int
	id   string
}

// nextWire is next for a scan whose base rows need no predicate (rng.exact, or keep nil):
// base rows come as indexes into wc, not generated, and overlay rows as next gives them.
func (t *table) nextWire(wc *wireCache, r scanRange, limit int, keep func(map[string]any) bool) (rows []wireRef, last string, done bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	i := r.lo
	if r.after != "" {
		if k := sort.SearchStrings(wc.ids, r.after); k < len(wc.ids) && wc.ids[k] == r.after {
			i = max(i, k+1)
		} else {
			i = max(i, k)
		}
	}
	hi := min(r.hi, len(wc.ids))
	j := sort.SearchStrings(t.live, r.after)
	if j < len(t.live) && t.live[j] == r.after {
		j++
	}
	for len(rows) < limit {
		for i < hi {
			if _, shadowed := t.overlay[wc.ids[i]]; !shadowed {
				break
			}
			i++
		}
		base := i < hi
		if !base && j >= len(t.live) {
			return rows, last, true
		}
		if base && (j >= len(t.live) || wc.ids[i] < t.live[j]) {
			last = wc.ids[i]
			rows = append(rows, wireRef{base: i, id: last})
			i++
			continue
		}
		rec := t.overlay[t.live[j]]
		last = t.live[j]
		j++
		if keep == nil || keep(rec.row) {
			rows = append(rows, wireRef{rowRef: rowRef{row: rec.row, etag: rec.etag}, base: -1, id: last})
		}
	}
	for i < hi {
		if _, shadowed := t.overlay[wc.ids[i]]; !shadowed {
			break
		}
		i++
	}
	return rows, last, i >= hi && j >= len(t.live)
}
