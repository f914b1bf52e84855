package emulator

import (
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/bizzjoiner/bcconnector/bcschema"
	"github.com/bizzjoiner/bcconnector/emulator/odata"
)

// chunkRows is how many rows are read from a table per lock acquisition and written per
// flush, so a 20,000-row page streams out instead of being built in one buffer.
const chunkRows = 512

// serveList answers GET on a collection: filtered, ordered and server-paged (§4.2–4.4).
func (e *Emulator) serveList(w http.ResponseWriter, r *http.Request, rc *requestContext, t *target) {
	ent := t.ent
	permFilter, aerr := e.readFilter(rc, ent)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	q, aerr := e.parseListQuery(r, ent)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	if aerr := lineListGuard(ent, t, q.filter); aerr != nil {
		writeError(w, aerr)
		return
	}
	tab := e.tableOf(t.company, ent)
	keep := rowPredicate(q.filter, t.link, permFilter)
	rng := planRange(tab, ent, q.filter, t.link)
	rng.exact = permFilter == nil && len(t.link) == 0 && exactRange(tab, ent, q.filter)
	q.ent = ent // the schema now: a table keeps the entity it was made with

	writeJSONHeaders(w)
	if q.pageSize < e.cfg.MaxPageSize {
		w.Header().Set("Preference-Applied", "odata.maxpagesize="+strconv.Itoa(q.pageSize))
	}
	limit := q.pageSize
	if q.hasTop && q.top < limit {
		limit = q.top
	}
	out := &rowWriter{w: w, r: r, e: e, rc: rc, company: t.company}
	out.buf = append(out.buf, `{"@odata.context":`...)
	out.buf = appendString(out.buf, e.contextURL(rc, t, q.selList, false))
	if q.count {
		out.buf = append(out.buf, `,"@odata.count":`...)
		out.buf = strconv.AppendInt(out.buf, int64(countMatches(tab, rng, keep)), 10)
	}
	out.buf = append(out.buf, `,"value":[`...)

	var next string
	if len(q.orderBy) == 0 {
		next = e.pageByID(out, tab, rng, keep, q, limit)
	} else if n, ok := e.pageMonotonic(out, tab, rng, keep, q, limit); ok {
		next = n
	} else {
		next = e.pageSorted(out, tab, rng, keep, q, limit)
	}
	out.buf = append(out.buf, ']')
	// §4.3 / peers §0: $top suppresses nextLink, even when it cut the result short.
	if next != "" && !q.hasTop {
		out.buf = append(out.buf, `,"@odata.nextLink":`...)
		out.buf = appendString(out.buf, nextLink(r, next))
	}
	out.buf = append(out.buf, '}')
	out.flush()
}

// pageByID streams rows in id order from the skip token on and returns the continuation
// token when more rows follow.
func (e *Emulator) pageByID(out *rowWriter, tab *table, rng scanRange, keep func(map[string]any) bool, q *listQuery, limit int) string {
	if q.token != nil {
		rng.after = q.token.ID
	}
	skip := 0
	if q.token == nil {
		skip = q.skip
	}
	sent, last := 0, ""
	if wc := tab.wireFor(q); wc != nil && (keep == nil || rng.exact) {
		for sent < limit {
			want := min(chunkRows, limit-sent+skip)
			rows, lastScanned, done := tab.nextWire(wc, rng, want, keep)
			for _, ref := range rows {
				if skip > 0 {
					skip--
					continue
				}
				if ref.base >= 0 {
					out.raw(wc.row(ref.base))
				} else {
					out.row(q.entity(tab), ref.rowRef, q)
				}
				sent++
				last = ref.id
			}
			out.chunkDone(len(rows))
			if done {
				return ""
			}
			rng.after = lastScanned
		}
	}
	for sent < limit {
		want := min(chunkRows, limit-sent+skip)
		rows, lastScanned, done := tab.next(rng, want, keep)
		for _, ref := range rows {
			if skip > 0 {
				skip--
				continue
			}
			out.row(q.entity(tab), ref, q)
			sent++
			last = ref.row["id"].(string)
		}
		out.chunkDone(len(rows))
		if done {
			return ""
		}
		rng.after = lastScanned
	}
	// Peek: is there another matching row? Avoids a final empty page.
	rng.after = last
	if more, _, _ := tab.next(rng, 1, keep); len(more) == 0 {
		return ""
	}
	return encodeSkipToken(nil, last)
}

type sortEntry struct {
	keys []any
	id   string
}

// pageSorted serves a page under $orderby: it sorts the keys and ids of all matching rows
// (not the rows), then streams the page. The token carries the last row's keys and id.
func (e *Emulator) pageSorted(out *rowWriter, tab *table, rng scanRange, keep func(map[string]any) bool, q *listQuery, limit int) string {
	var entries []sortEntry
	scan := rng
	for {
		rows, last, done := tab.next(scan, chunkRows, keep)
		for _, ref := range rows {
			keys := make([]any, len(q.orderBy))
			for i, o := range q.orderBy {
				keys[i] = ref.row[o.Field]
			}
			entries = append(entries, sortEntry{keys: keys, id: ref.row["id"].(string)})
		}
		if done {
			break
		}
		scan.after = last
	}
	less := func(a, b sortEntry) int {
		for i, o := range q.orderBy {
			c := odata.Compare(a.keys[i], b.keys[i])
			if o.Desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return strings.Compare(a.id, b.id)
	}
	sort.Slice(entries, func(i, j int) bool { return less(entries[i], entries[j]) < 0 })
	start := 0
	if q.token != nil {
		keys := make([]any, len(q.token.Keys))
		for i, k := range q.token.Keys {
			keys[i], _ = fromTokenValue(k)
		}
		if len(keys) != len(q.orderBy) {
			return ""
		}
		pivot := sortEntry{keys: keys, id: q.token.ID}
		start = sort.Search(len(entries), func(i int) bool { return less(entries[i], pivot) > 0 })
	} else {
		start = min(q.skip, len(entries))
	}
	end := min(start+limit, len(entries))
	for i := start; i < end; i++ {
		ref, ok := tab.get(entries[i].id)
		if !ok {
			continue
		}
		out.row(q.entity(tab), ref, q)
		if (i-start+1)%chunkRows == 0 {
			out.chunkDone(chunkRows)
		}
	}
	out.chunkDone((end - start) % chunkRows)
	if end < len(entries) && end > start {
		last := entries[end-1]
		return encodeSkipToken(last.keys, last.id)
	}
	return ""
}

// planRange narrows the base rows to scan using comparisons on monotonic fields (id,
// entryNumber, lastModifiedDateTime, the parent link of lines …), so incremental and
// partitioned reads of 1,000,000 rows do not scan them all.
func planRange(tab *table, ent *bcschema.Entity, f *odata.Filter, link map[string]any) scanRange {
	rng := scanRange{lo: 0, hi: tab.src.Count()}
	narrow := func(field, op string, v any) {
		if lo, hi, ok := tab.src.IndexRange(field, op, v); ok {
			rng.lo, rng.hi = max(rng.lo, lo), min(rng.hi, hi)
		}
	}
	for field, v := range link {
		narrow(field, "eq", v)
	}
	if f != nil {
		for _, fl := range ent.Fields {
			for _, c := range f.Constraints(fl.Name) {
				narrow(fl.Name, c.Op, c.Value)
			}
		}
	}
	if rng.hi < rng.lo {
		rng.hi = rng.lo
	}
	return rng
}

// exactRange reports whether planRange's index range of f is exactly the base rows f
// matches: f is nothing but comparisons (odata.Filter.OnlyConstraints) and each narrowed
// the range through the base's index. A full sync's page of a ledger's entryNumber range
// is one; its rows then need no evaluation of the filter.
func exactRange(tab *table, ent *bcschema.Entity, f *odata.Filter) bool {
	if !f.OnlyConstraints() {
		return false
	}
	for _, fl := range ent.Fields {
		for _, c := range f.Constraints(fl.Name) {
			if _, _, ok := tab.src.IndexRange(fl.Name, c.Op, c.Value); !ok {
				return false
			}
		}
	}
	return true
}

// rowPredicate combines the $filter, a containment link and the permission filter.
func rowPredicate(f *odata.Filter, link map[string]any, perm func(map[string]any) bool) func(map[string]any) bool {
	if f == nil && len(link) == 0 && perm == nil {
		return nil
	}
	return func(row map[string]any) bool {
		for k, v := range link {
			if odata.Compare(row[k], v) != 0 {
				return false
			}
		}
		if perm != nil && !perm(row) {
			return false
		}
		return f == nil || f.Match(row)
	}
}

// countMatches counts the rows a listing of rng under keep returns. Without a predicate
// it counts without generating a row (table.countRange): BC answers a whole set's
// $count=true from its index, in the request's overhead (bc-entra-facts §4.2), and
// generating 200,000 G/L entries only to count them made the plan's probe take a second
// of the emulator's CPU.
func countMatches(tab *table, rng scanRange, keep func(map[string]any) bool) int {
	if keep == nil && rng.after == "" {
		if n, ok := tab.countRange(rng); ok {
			return n
		}
	}
	n := 0
	for {
		rows, last, done := tab.next(rng, 4096, keep)
		n += len(rows)
		if done {
			return n
		}
		rng.after = last
	}
}

var lineGuardMessage = regexp.MustCompile(`fails with: '(.+)'$`)

// lineListGuard reproduces BC's refusal to list document lines without their document
// (schema notes: "You must specify an Id or a Document Id to get the lines.").
func lineListGuard(ent *bcschema.Entity, t *target, f *odata.Filter) *apiError {
	if ent.Parent == nil || len(t.link) > 0 {
		return nil
	}
	var msg string
	for _, n := range ent.Notes {
		if m := lineGuardMessage.FindStringSubmatch(n); m != nil {
			msg = m[1]
		}
	}
	if msg == "" {
		return nil
	}
	if f != nil {
		for _, field := range []string{ent.Parent.ChildField, "id"} {
			for _, c := range f.Constraints(field) {
				if c.Op == "eq" {
					return nil
				}
			}
		}
	}
	return errf(http.StatusBadRequest, codeDialog, "%s", msg)
}

// serveGetOne answers GET on one entity, with $select and $expand.
func (e *Emulator) serveGetOne(w http.ResponseWriter, r *http.Request, rc *requestContext, t *target) {
	permFilter, aerr := e.readFilter(rc, t.ent)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	q, aerr := e.parseListQuery(r, t.ent)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	ref, ok := e.tableOf(t.company, t.ent).get(t.key)
	if ok && !rowPredicateOK(t.link, permFilter, ref.row) {
		ok = false
	}
	if !ok {
		writeError(w, notFound(t.ent, t.key))
		return
	}
	writeJSONHeaders(w)
	w.Header().Set("ETag", ref.etag)
	out := &rowWriter{w: w, r: r, e: e, rc: rc, company: t.company}
	out.entity(e.contextURL(rc, t, q.selList, true), t.ent, ref, q)
	out.flush()
}

func rowPredicateOK(link map[string]any, perm func(map[string]any) bool, row map[string]any) bool {
	p := rowPredicate(nil, link, perm)
	return p == nil || p(row)
}

// serveCount answers GET .../$count with a bare integer (§4.2, OBS).
func (e *Emulator) serveCount(w http.ResponseWriter, r *http.Request, rc *requestContext, t *target) {
	permFilter, aerr := e.readFilter(rc, t.ent)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	q, aerr := e.parseListQuery(r, t.ent)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	// A line set counted without its document is refused as listing it is: BC runs the
	// same page (and its guard) for both.
	if aerr := lineListGuard(t.ent, t, q.filter); aerr != nil {
		writeError(w, aerr)
		return
	}
	tab := e.tableOf(t.company, t.ent)
	keep := rowPredicate(q.filter, t.link, permFilter)
	n := countMatches(tab, planRange(tab, t.ent, q.filter, t.link), keep)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("OData-Version", "4.0")
	body := strconv.AppendInt(nil, int64(n), 10)
	if e.cfg.CountBOM {
		// §4.2: BC's /$count body may start with a UTF-8 byte order mark [OBS].
		body = append([]byte("\ufeff"), body...)
	}
	_, _ = w.Write(body)
}

// contextURL builds @odata.context (§4.4).
func (e *Emulator) contextURL(rc *requestContext, t *target, sel []string, single bool) string {
	var b strings.Builder
	b.WriteString(rc.baseURL)
	b.WriteString("/$metadata#")
	if t.company != nil {
		b.WriteString("companies(")
		b.WriteString(t.company.ID)
		b.WriteString(")/")
	}
	if t.ent != nil {
		b.WriteString(t.ent.EntitySet)
	} else {
		b.WriteString("companies")
	}
	if len(sel) > 0 {
		b.WriteString("(" + strings.Join(sel, ",") + ")")
	}
	if single {
		b.WriteString("/$entity")
	}
	return b.String()
}

// pageMonotonic serves $orderby on one field that base rows are already ordered by
// (entryNumber, lastModifiedDateTime, …): it merges the base rows, walked in index order,
// with the few overlay rows sorted, so a page costs its own rows instead of a sort of the
// whole set. Ties are broken by id in the direction of the order. ok is false when the
// query does not qualify.
func (e *Emulator) pageMonotonic(out *rowWriter, tab *table, rng scanRange, keep func(map[string]any) bool, q *listQuery, limit int) (next string, ok bool) {
	if len(q.orderBy) != 1 || !tab.monotonic(q.orderBy[0].Field) {
		return "", false
	}
	field, desc := q.orderBy[0].Field, q.orderBy[0].Desc
	cmp := func(a, b rowRef) int {
		c := odata.Compare(a.row[field], b.row[field])
		if c == 0 {
			c = strings.Compare(a.row["id"].(string), b.row["id"].(string))
		}
		if desc {
			c = -c
		}
		return c
	}
	var after *rowRef
	if q.token != nil {
		if len(q.token.Keys) != 1 {
			return "", true
		}
		k, _ := fromTokenValue(q.token.Keys[0])
		after = &rowRef{row: map[string]any{field: k, "id": q.token.ID}}
	}
	// Where the base walk starts: just before the token's key, or at the range's end.
	i, end, step := rng.lo, rng.hi, 1
	if desc {
		i, end, step = rng.hi-1, rng.lo-1, -1
	}
	if after != nil {
		if lo, hi, ok := tab.src.IndexRange(field, "eq", after.row[field]); ok {
			if desc {
				i = min(i, hi-1)
			} else {
				i = max(i, lo)
			}
		}
	}
	over := tab.overlayRows(keep)
	sort.Slice(over, func(a, b int) bool { return cmp(over[a], over[b]) < 0 })
	skip := 0
	if q.token == nil {
		skip = q.skip
	}
	var base []rowRef
	bi, sent := 0, 0
	var last rowRef
	for sent < limit {
		if bi >= len(base) && i != end {
			base, i = tab.baseRun(i, end, step, chunkRows, keep)
			bi = 0
		}
		var pick rowRef
		switch {
		case bi < len(base) && (len(over) == 0 || cmp(base[bi], over[0]) <= 0):
			pick = base[bi]
			bi++
		case len(over) > 0:
			pick, over = over[0], over[1:]
		default:
			return "", true
		}
		if after != nil && cmp(pick, *after) <= 0 {
			continue
		}
		if skip > 0 {
			skip--
			continue
		}
		out.row(q.entity(tab), pick, q)
		sent++
		last = pick
		if sent%chunkRows == 0 {
			out.chunkDone(chunkRows)
		}
	}
	out.chunkDone(sent % chunkRows)
	// More rows follow if the base walk or the overlay has any left.
	more := bi < len(base) || len(over) > 0
	if !more && i != end {
		rest, _ := tab.baseRun(i, end, step, 1, keep)
		more = len(rest) > 0
	}
	if !more {
		return "", true
	}
	return encodeSkipToken([]any{last.row[field]}, last.row["id"].(string)), true
}
