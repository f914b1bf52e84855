package emulator

import (
	"fmt"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/bizzjoiner/bcconnector/bcschema"
)

// wireCache is the wire form of a table's generated rows, made once by Prewarm: a page of
// them is copied instead of generated and encoded. It is only the emulator's CPU (BC's own
// is not the connector's to measure): every byte is what appendRow writes for the row, and
// rows the overlay shadows, $select, $expand, filters the index does not answer and a
// schema changed since (extension fields) all take the ordinary path.
type wireCache struct {
	ent    *bcschema.Entity // the entity the rows were encoded with
	ids    []string         // ids[i]: base row i's id
	chunks []wireChunk      // base row i is in chunks[i/wireChunkRows]
}

// wireChunkRows is how many rows one chunk of a wireCache holds; chunks are encoded in
// parallel.
const wireChunkRows = 4096

// wireChunk is the wire form of consecutive rows: row k of the chunk is
// buf[off[k]:off[k+1]], with its closing brace.
type wireChunk struct {
	off []int
	buf []byte
}

// row is base row i as the page writer appends it.
func (c *wireCache) row(i int) []byte {
	ch := &c.chunks[i/wireChunkRows]
	k := i % wireChunkRows
	return ch.buf[ch.off[k]:ch.off[k+1]]
}

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
		wc := &wireCache{ent: ent, ids: make([]string, n), chunks: make([]wireChunk, (n+wireChunkRows-1)/wireChunkRows)}
		next := make(chan int)
		var wg sync.WaitGroup
		for range runtime.GOMAXPROCS(0) {
			wg.Go(func() {
				for ci := range next {
					lo, hi := ci*wireChunkRows, min(n, (ci+1)*wireChunkRows)
					ch := wireChunk{off: make([]int, 0, hi-lo+1)}
					for i := lo; i < hi; i++ {
						row := tab.src.Row(i)
						id, _ := row["id"].(string)
						wc.ids[i] = strings.Clone(id) // not the generator's buffer it was cut from
						ch.off = append(ch.off, len(ch.buf))
						ch.buf = append(appendRow(ch.buf, ent, row, baseETag(id), nil), '}')
						if i == lo {
							ch.buf = slices.Grow(ch.buf, len(ch.buf)*(hi-lo)*9/8)
						}
					}
					wc.chunks[ci] = wireChunk{off: append(ch.off, len(ch.buf)), buf: ch.buf}
				}
			})
		}
		for ci := range wc.chunks {
			next <- ci
		}
		close(next)
		wg.Wait()
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
