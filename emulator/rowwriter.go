package emulator

import (
	"net/http"
	"time"

	"github.com/bizzjoiner/bcconnector/bcschema"
	"github.com/bizzjoiner/bcconnector/emulator/odata"
)

// flushBytes is the buffer size at which rows are written to the connection.
const flushBytes = 64 << 10

// rowWriter streams entities to a response: it buffers up to flushBytes, applies the
// per-row latency cost, and renders $expand.
type rowWriter struct {
	w  http.ResponseWriter
	r  *http.Request
	e  *Emulator
	rc *requestContext
	// company is the request's company: expansion never leaves it.
	company *company
	buf     []byte
	n       int
}

func (o *rowWriter) row(ent *bcschema.Entity, ref rowRef, q *listQuery) {
	if o.n > 0 {
		o.buf = append(o.buf, ',')
	}
	o.n++
	o.buf = o.appendEntity(o.buf, ent, ref, q.sel, q.expand, q.schemaVersion)
	if len(o.buf) >= flushBytes {
		o.flush()
	}
}

// raw writes one entity already in its wire form (wireCache).
func (o *rowWriter) raw(entity []byte) {
	if o.n > 0 {
		o.buf = append(o.buf, ',')
	}
	o.n++
	o.buf = append(o.buf, entity...)
	if len(o.buf) >= flushBytes {
		o.flush()
	}
}

// entity writes a single-entity response body.
func (o *rowWriter) entity(context string, ent *bcschema.Entity, ref rowRef, q *listQuery) {
	o.buf = append(o.buf, `{"@odata.context":`...)
	o.buf = appendString(o.buf, context)
	o.buf = append(o.buf, ',')
	body := o.appendEntity(nil, ent, ref, q.sel, q.expand, q.schemaVersion)
	o.buf = append(o.buf, body[1:]...) // merge into the object opened above
	o.e.stats.rows.Add(1)
}

// chunkDone accounts for n rows streamed: the latency model's per-row cost is spent while
// the request still holds its processing slot (§5).
func (o *rowWriter) chunkDone(n int) {
	if n <= 0 {
		return
	}
	o.e.stats.rows.Add(int64(n))
	cost := o.e.cfg.Latency.PerRow * time.Duration(n)
	if clk, ok := o.r.Context().Value(serverClockKey{}).(*serverClock); ok {
		clk.due = clk.due.Add(cost)
		o.e.spendUntil(o.r.Context(), clk.due)
		return
	}
	o.e.spend(o.r.Context(), cost)
}

func (o *rowWriter) flush() {
	if len(o.buf) == 0 {
		return
	}
	_, _ = o.w.Write(o.buf)
	o.buf = o.buf[:0]
	if f, ok := o.w.(http.Flusher); ok {
		f.Flush()
	}
}

// appendEntity renders one entity with its expanded navigations.
func (o *rowWriter) appendEntity(b []byte, ent *bcschema.Entity, ref rowRef, sel map[string]bool, expand []odata.ExpandItem, schemaVersion string) []byte {
	b = appendRow(b, ent, ref.row, ref.etag, sel)
	for _, x := range expand {
		b = append(b, ',', '"')
		b = append(b, x.Navigation...)
		b = append(b, '"', ':')
		b = o.appendExpanded(b, ent, ref.row, x, schemaVersion)
	}
	return append(b, '}')
}

// appendExpanded renders one $expand item of a row: a collection for containment, an
// object (or null) for single navigations. Nested options are parsed against the child.
func (o *rowWriter) appendExpanded(b []byte, parent *bcschema.Entity, row map[string]any, x odata.ExpandItem, schemaVersion string) []byte {
	nav, child, ok := o.e.navigation(o.rc, parent, x.Navigation)
	if !ok {
		return append(b, "null"...)
	}
	c := o.company
	if c == nil {
		return append(b, "null"...)
	}
	tab := o.e.tableOf(c, child)
	sub := &listQuery{schemaVersion: schemaVersion}
	opt := o.e.filterOptions(child, schemaVersion)
	fields := odata.FieldsOf(child)
	if x.Select != "" {
		if sel, err := odata.ParseSelect(x.Select, fields, opt); err == nil {
			sub.sel = map[string]bool{}
			for _, s := range sel {
				sub.sel[s] = true
			}
		}
	}
	if x.Expand != "" {
		sub.expand, _ = odata.ParseExpand(x.Expand)
	}
	perm, aerr := o.e.readFilter(o.rc, child)
	if aerr != nil {
		return append(b, "null"...)
	}
	if nav.Kind == "lookup" || !nav.Collection {
		id := lookupID(parent, nav, row)
		ref, found := tab.get(id)
		if !found || (perm != nil && !perm(ref.row)) {
			return append(b, "null"...)
		}
		return o.appendEntity(b, child, ref, sub.sel, sub.expand, schemaVersion)
	}
	if x.Filter != "" {
		sub.filter, _ = odata.ParseFilter(x.Filter, fields, opt)
	}
	link := containmentLink(child, parent, x.Navigation, row)
	keep := rowPredicate(sub.filter, link, perm)
	rng := planRange(tab, child, sub.filter, link)
	b = append(b, '[')
	n := 0
	limit := -1
	if x.Top != nil {
		limit = *x.Top
	}
	for limit != 0 {
		want := chunkRows
		if limit > 0 {
			want = min(want, limit-n)
		}
		rows, last, done := tab.next(rng, want, keep)
		for _, ref := range rows {
			if n > 0 {
				b = append(b, ',')
			}
			b = o.appendEntity(b, child, ref, sub.sel, sub.expand, schemaVersion)
			n++
		}
		if done || (limit > 0 && n >= limit) {
			break
		}
		rng.after = last
	}
	return append(b, ']')
}
