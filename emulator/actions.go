package emulator

import (
	"net/http"

	"github.com/bizzjoiner/bcconnector/bcschema"
)

// serveAction runs a bound action: POST .../{set}({id})/Microsoft.NAV.{action} → 204
// (bc-entra-facts §10.2 "Bound actions").
func (e *Emulator) serveAction(w http.ResponseWriter, r *http.Request, rc *requestContext, t *target) {
	wr := &writer{e: e, rc: rc, c: t.company}
	if aerr := wr.action(t.ent, t.key, t.action); aerr != nil {
		writeError(w, aerr)
		return
	}
	w.Header().Set("ms-correlation-x", newGUID())
	w.WriteHeader(http.StatusNoContent)
}

// action applies a bound action. Posting turns a draft document into a posted one (read
// only from then on); cancel and corrective credit memos need a posted invoice; the
// draft/posted guards use BC's messages (§10.2, CODE). Actions without a modelled effect
// (send, restart, makeInvoice …) succeed and touch the record.
func (w *writer) action(ent *bcschema.Entity, id, name string) *apiError {
	if !ent.HasAction(name) {
		return errf(http.StatusBadRequest, codeNotImplemented, "The action 'Microsoft.NAV.%s' is not supported on '%s'.", name, ent.EntitySet)
	}
	if aerr := w.e.checkWrite(w.rc, ent, "Modify"); aerr != nil {
		return aerr
	}
	defer w.lock()()
	tab := w.e.tableOf(w.c, ent)
	cur, ok := tab.get(id)
	if !ok {
		return notFound(ent, id)
	}
	_, aggregate := aggregateTables[ent.EntitySet]
	posted := aggregate && isPosted(ent, cur.row)
	draftOnly := func() *apiError {
		if aggregate && posted {
			return errf(http.StatusBadRequest, codeDialog, "The action can be applied to a draft invoice only.")
		}
		return nil
	}
	postedOnly := func() *apiError {
		if aggregate && !posted {
			return errf(http.StatusBadRequest, codeDialog, "The action can be applied to a posted invoice only.")
		}
		return nil
	}
	row := copyRow(cur.row)
	switch name {
	case "post", "postAndSend":
		if aerr := draftOnly(); aerr != nil {
			return aerr
		}
		if _, ok := ent.Field("status"); ok {
			row["status"] = "Open"
		}
		w.markLinesPosted(ent, id)
	case "cancel", "cancelAndSend":
		if aerr := postedOnly(); aerr != nil {
			return aerr
		}
		if f, ok := ent.Field("status"); ok && hasEnumValue(f, "Canceled") {
			row["status"] = "Canceled"
		}
	case "makeCorrectiveCreditMemo":
		if aerr := postedOnly(); aerr != nil {
			return aerr
		}
		if f, ok := ent.Field("status"); ok && hasEnumValue(f, "Corrective") {
			row["status"] = "Corrective"
		}
	case "shipAndInvoice":
		if f, ok := ent.Field("fullyShipped"); ok && f.Type == bcschema.TypeBoolean {
			row["fullyShipped"] = true
		}
	}
	w.replace(tab, ent, id, row)
	return nil
}

// markLinesPosted flags the lines of a document that was just posted, so permission
// filtering treats them as posted lines.
func (w *writer) markLinesPosted(ent *bcschema.Entity, id string) {
	for _, child := range w.e.sch().Children(ent) {
		ctab := w.e.tableOf(w.c, child)
		link := map[string]any{child.Parent.ChildField: id}
		rng := planRange(ctab, child, nil, link)
		for {
			rows, last, done := ctab.next(rng, chunkRows, rowPredicate(nil, link, nil))
			for _, ref := range rows {
				row := copyRow(ref.row)
				row[postedKey] = true
				w.put(ctab, row["id"].(string), &record{row: row, etag: w.e.nextETag()})
			}
			if done {
				break
			}
			rng.after = last
		}
	}
}

func hasEnumValue(f *bcschema.Field, v string) bool {
	for _, x := range f.EnumValues {
		if x == v {
			return true
		}
	}
	return false
}
