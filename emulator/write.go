package emulator

import (
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/bizzjoiner/bcconnector/bcschema"
	"github.com/bizzjoiner/bcconnector/emulator/notify"
)

// txn collects what a transactional $batch changed, to roll it back or publish it.
type txn struct {
	undo    []undo
	changes []pendingChange
}

type pendingChange struct {
	env *environment
	ch  notify.Change
}

// writer performs writes on one company with the caller's permissions and transaction.
type writer struct {
	e  *Emulator
	rc *requestContext
	c  *company
	// system writes come from inside BC (a user, a posting routine, the mutator): they skip
	// the API's method, read-only and permission checks but follow the same write path.
	system bool
}

// lock takes the environment's write lock unless a transactional batch already holds it.
func (w *writer) lock() func() {
	if w.rc.txn != nil {
		return func() {}
	}
	w.rc.env.writeMu.Lock()
	return w.rc.env.writeMu.Unlock
}

func (w *writer) put(tab *table, id string, rec *record) {
	u := tab.put(id, rec)
	if w.rc.txn != nil {
		w.rc.txn.undo = append(w.rc.txn.undo, u)
	}
}

// publish sends a change to the environment's webhooks, or holds it until the batch commits.
func (w *writer) publish(ent *bcschema.Entity, id string, typ notify.ChangeType) {
	ch := notify.Change{
		Resource:        w.rc.prefixOrDefault() + "/companies(" + w.c.ID + ")/" + ent.EntitySet,
		Key:             id,
		Type:            typ,
		At:              w.rc.now,
		HasLastModified: ent.HasLastModified(),
	}
	if w.rc.txn != nil {
		w.rc.txn.changes = append(w.rc.txn.changes, pendingChange{env: w.rc.env, ch: ch})
		return
	}
	w.rc.env.webhooks.Publish(ch)
}

func (rc *requestContext) prefixOrDefault() string {
	if rc.prefix == "" {
		return "api/v2.0"
	}
	return rc.prefix
}

// applyBody validates body fields against the entity and copies them into row. Navigation
// properties are returned separately for deep insert.
func (w *writer) applyBody(ent *bcschema.Entity, row, body map[string]any, creating bool) (map[string][]any, *apiError) {
	nested := map[string][]any{}
	keys := make([]string, 0, len(body))
	for k := range body {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := body[k]
		if strings.HasPrefix(k, "@odata.") {
			continue // §4.5: an etag in the body does not count as If-Match
		}
		f, ok := ent.Field(k)
		if !ok || f.FilterOnly {
			if hasNavigation(ent, k) {
				if !creating {
					// §4.2: deep update is not supported.
					return nil, errf(http.StatusBadRequest, codeBadRequest, "Deep update is not supported: the navigation property '%s' cannot be changed with PATCH; change its entities through their own URL.", k)
				}
				list, ok := v.([]any)
				if !ok {
					return nil, errf(http.StatusBadRequest, codeBadRequest, "The navigation property '%s' must be a JSON array of entities for a deep insert.", k)
				}
				nested[k] = list
				continue
			}
			return nil, errf(http.StatusBadRequest, codeBadRequest,
				"The property '%s' does not exist on type '%s'. Make sure to only use property names that are defined by the type.", k, ent.EdmTypeName())
		}
		if f.ReadOnly && !(creating && k == "id") && !w.system {
			if w.e.cfg.IgnoreReadOnlyWrites {
				continue
			}
			return nil, errf(http.StatusBadRequest, codeInvalidOperation, "Control '%s' is read-only.", caption(k))
		}
		val, aerr := convertValue(ent, f, v)
		if aerr != nil {
			return nil, aerr
		}
		row[k] = val
	}
	return nested, nil
}

// create inserts one entity (and, for a deep insert, its lines).
func (w *writer) create(ent *bcschema.Entity, body map[string]any, link map[string]any) (rowRef, *apiError) {
	if !ent.Allows(http.MethodPost) {
		return rowRef{}, methodNotAllowed(http.MethodPost, ent.EntitySet, "Collection")
	}
	if aerr := w.e.checkWrite(w.rc, ent, "Insert"); aerr != nil {
		return rowRef{}, aerr
	}
	defer w.lock()()
	return w.createLocked(ent, body, link)
}

func (w *writer) createLocked(ent *bcschema.Entity, body map[string]any, link map[string]any) (rowRef, *apiError) {
	row := make(map[string]any, len(ent.Fields))
	for _, f := range ent.Fields {
		if f.Type != bcschema.TypeStream && !f.FilterOnly {
			row[f.Name] = blankValue(f)
		}
	}
	nested, aerr := w.applyBody(ent, row, body, true)
	if aerr != nil {
		return rowRef{}, aerr
	}
	for k, v := range link {
		row[k] = v
	}
	tab := w.e.tableOf(w.c, ent)
	id, _ := row["id"].(string)
	if id == "" || id == bcschema.BlankGUID {
		id = newGUID()
		row["id"] = id
	} else if _, exists := tab.get(id); exists {
		return rowRef{}, errf(http.StatusBadRequest, codeSameKeyExists, "The %s already exists. Identification fields and values: Id='%s'", ent.Caption, id)
	}
	if aerr := w.e.businessRules(w, ent, row, body, true); aerr != nil {
		return rowRef{}, aerr
	}
	if _, ok := ent.Field("lastModifiedDateTime"); ok {
		row["lastModifiedDateTime"] = w.rc.now
	}
	rec := &record{row: row, etag: w.e.nextETag()}
	w.put(tab, id, rec)
	w.publish(ent, id, notify.ChangeCreated)
	// Deep insert of document lines (§4.2).
	for _, navName := range sortedKeys(nested) {
		nav, child, ok := w.e.navigation(w.rc, ent, navName)
		if !ok || !nav.Collection {
			return rowRef{}, errf(http.StatusBadRequest, codeBadRequest, "The navigation property '%s' cannot be used for a deep insert.", navName)
		}
		childLink := containmentLink(child, ent, navName, row)
		for i, item := range nested[navName] {
			obj, ok := item.(map[string]any)
			if !ok {
				return rowRef{}, errf(http.StatusBadRequest, codeBadRequest, "Item %d of '%s' is not a JSON object.", i, navName)
			}
			if _, aerr := w.createLocked(child, obj, childLink); aerr != nil {
				return rowRef{}, aerr
			}
		}
	}
	if ent.Parent != nil {
		w.touchParent(ent, row)
	}
	ref, _ := tab.get(id)
	return ref, nil
}

// update applies a PATCH with If-Match (§4.5).
func (w *writer) update(ent *bcschema.Entity, id, ifMatch string, body map[string]any) (rowRef, *apiError) {
	if !ent.Allows(http.MethodPatch) {
		return rowRef{}, methodNotAllowed(http.MethodPatch, ent.EntitySet, "Entity")
	}
	if aerr := w.e.checkWrite(w.rc, ent, "Modify"); aerr != nil {
		return rowRef{}, aerr
	}
	defer w.lock()()
	tab := w.e.tableOf(w.c, ent)
	cur, aerr := w.current(tab, ent, id, ifMatch)
	if aerr != nil {
		return rowRef{}, aerr
	}
	if aerr := postedGuard(ent, cur.row, "modify"); aerr != nil {
		return rowRef{}, aerr
	}
	row := copyRow(cur.row)
	if _, aerr := w.applyBody(ent, row, body, false); aerr != nil {
		return rowRef{}, aerr
	}
	if aerr := w.e.businessRules(w, ent, row, body, false); aerr != nil {
		return rowRef{}, aerr
	}
	return w.replace(tab, ent, id, row), nil
}

// replace stores a new version of an existing row: new ETag, lastModifiedDateTime, change.
func (w *writer) replace(tab *table, ent *bcschema.Entity, id string, row map[string]any) rowRef {
	if _, ok := ent.Field("lastModifiedDateTime"); ok {
		row["lastModifiedDateTime"] = w.rc.now
	}
	rec := &record{row: row, etag: w.e.nextETag()}
	w.put(tab, id, rec)
	w.publish(ent, id, notify.ChangeUpdated)
	if ent.Parent != nil {
		w.touchParent(ent, row)
	}
	return rowRef{row: row, etag: rec.etag}
}

// current loads a row and checks If-Match: required, `*` or the current ETag (§4.5).
func (w *writer) current(tab *table, ent *bcschema.Entity, id, ifMatch string) (rowRef, *apiError) {
	if ifMatch == "" && w.rc.app != nil {
		return rowRef{}, errf(http.StatusBadRequest, codeInvalidToken, msgMissingIfMatch)
	}
	cur, ok := tab.get(id)
	if !ok {
		return rowRef{}, notFound(ent, id)
	}
	if ifMatch != "" && ifMatch != "*" && ifMatch != cur.etag {
		return rowRef{}, &apiError{Status: w.e.cfg.ConflictStatus, Code: codeEntityChanged, Message: msgEntityChanged}
	}
	return cur, nil
}

// remove deletes a row with If-Match; document lines go with their document.
func (w *writer) remove(ent *bcschema.Entity, id, ifMatch string) *apiError {
	if !ent.Allows(http.MethodDelete) {
		return methodNotAllowed(http.MethodDelete, ent.EntitySet, "Entity")
	}
	if aerr := w.e.checkWrite(w.rc, ent, "Delete"); aerr != nil {
		return aerr
	}
	defer w.lock()()
	tab := w.e.tableOf(w.c, ent)
	cur, aerr := w.current(tab, ent, id, ifMatch)
	if aerr != nil {
		return aerr
	}
	if aerr := postedGuard(ent, cur.row, "delete"); aerr != nil {
		return aerr
	}
	w.removeLocked(tab, ent, id, cur.row)
	return nil
}

func (w *writer) removeLocked(tab *table, ent *bcschema.Entity, id string, row map[string]any) {
	for _, child := range w.e.sch().Children(ent) {
		ctab := w.e.tableOf(w.c, child)
		link := map[string]any{child.Parent.ChildField: id}
		rng := planRange(ctab, child, nil, link)
		keep := rowPredicate(nil, link, nil)
		for {
			rows, last, done := ctab.next(rng, chunkRows, keep)
			for _, ref := range rows {
				cid := ref.row["id"].(string)
				w.put(ctab, cid, &record{deleted: true})
			}
			if done {
				break
			}
			rng.after = last
		}
	}
	w.put(tab, id, &record{deleted: true})
	w.publish(ent, id, notify.ChangeDeleted)
	if ent.Parent != nil {
		w.touchParent(ent, row)
	}
}

// touchParent reflects a line change on its document: totals are recomputed and, unless
// configured off, the header's lastModifiedDateTime moves (§8, UNCONFIRMED); the webhook
// notification goes to the header (§7.3).
func (w *writer) touchParent(child *bcschema.Entity, line map[string]any) {
	parent, ok := w.e.sch().EntitySet(child.Parent.EntitySet)
	if !ok {
		return
	}
	pid, _ := line[child.Parent.ChildField].(string)
	ptab := w.e.tableOf(w.c, parent)
	cur, ok := ptab.get(pid)
	if !ok {
		return
	}
	row := copyRow(cur.row)
	w.e.recomputeTotals(w.c, parent, child, row)
	if *w.e.cfg.LineChangeTouchesHeader {
		if _, ok := parent.Field("lastModifiedDateTime"); ok {
			row["lastModifiedDateTime"] = w.rc.now
		}
	}
	rec := &record{row: row, etag: w.e.nextETag()}
	w.put(ptab, pid, rec)
	w.publish(parent, pid, notify.ChangeUpdated)
}

// postedGuard refuses changes to posted documents, which are read-only in BC.
func postedGuard(ent *bcschema.Entity, row map[string]any, verb string) *apiError {
	if _, agg := aggregateTables[ent.EntitySet]; !agg {
		return nil
	}
	if isPosted(ent, row) {
		return errf(http.StatusBadRequest, codeDialog, "You cannot %s a posted document (%s %v).", verb, ent.Caption, row["number"])
	}
	return nil
}

// serveCreate handles POST on a collection.
func (e *Emulator) serveCreate(w http.ResponseWriter, r *http.Request, rc *requestContext, t *target) {
	body, aerr := readBody(r.Body)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	wr := &writer{e: e, rc: rc, c: t.company}
	ref, aerr := wr.create(t.ent, body, t.link)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	e.writeEntity(w, rc, t, ref, http.StatusCreated)
}

// servePatch handles PATCH on an entity.
func (e *Emulator) servePatch(w http.ResponseWriter, r *http.Request, rc *requestContext, t *target) {
	body, aerr := readBody(r.Body)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	wr := &writer{e: e, rc: rc, c: t.company}
	ref, aerr := wr.update(t.ent, t.key, r.Header.Get("If-Match"), body)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	e.writeEntity(w, rc, t, ref, http.StatusOK)
}

// serveDelete handles DELETE on an entity: 204 (§4.4).
func (e *Emulator) serveDelete(w http.ResponseWriter, r *http.Request, rc *requestContext, t *target) {
	wr := &writer{e: e, rc: rc, c: t.company}
	if aerr := wr.remove(t.ent, t.key, r.Header.Get("If-Match")); aerr != nil {
		writeError(w, aerr)
		return
	}
	w.Header().Set("ms-correlation-x", newGUID())
	w.WriteHeader(http.StatusNoContent)
}

func (e *Emulator) writeEntity(w http.ResponseWriter, rc *requestContext, t *target, ref rowRef, status int) {
	writeJSONHeaders(w)
	w.Header().Set("ETag", ref.etag)
	if status == http.StatusCreated {
		w.Header().Set("Location", fmt.Sprintf("%s/companies(%s)/%s(%s)", rc.baseURL, t.company.ID, t.ent.EntitySet, ref.row["id"]))
	}
	w.WriteHeader(status)
	out := &rowWriter{w: w, e: e, rc: rc, company: t.company}
	single := *t
	single.single = true
	out.entity(e.contextURL(rc, &single, nil, true), t.ent, ref, &listQuery{})
	out.flush()
}
