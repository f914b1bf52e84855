package emulator

import (
	"fmt"

	"github.com/bizzjoiner/bcconnector/bcschema"
)

// aggregateTables lists the real BC tables behind API pages whose source is a buffer or
// aggregate table: drafts live in one table, posted documents in another. The API pages
// read both and silently drop the rows of a table the caller may not read
// (bc-entra-facts §3.4, APIV2 Sales Invoices SetPermissionFilters).
var aggregateTables = map[string]struct{ draft, posted string }{
	"salesInvoices":        {"Sales Header", "Sales Invoice Header"},
	"salesInvoiceLines":    {"Sales Line", "Sales Invoice Line"},
	"salesCreditMemos":     {"Sales Header", "Sales Cr.Memo Header"},
	"salesCreditMemoLines": {"Sales Line", "Sales Cr.Memo Line"},
	"purchaseInvoices":     {"Purchase Header", "Purch. Inv. Header"},
	"purchaseInvoiceLines": {"Purchase Line", "Purch. Inv. Line"},
	"purchaseCreditMemos":  {"Purchase Header", "Purch. Cr. Memo Hdr."},
}

// bufferTables maps API pages over temporary/buffer tables to the real table they write.
var bufferTables = map[string]string{
	"salesOrders":        "Sales Header",
	"salesOrderLines":    "Sales Line",
	"salesQuotes":        "Sales Header",
	"salesQuoteLines":    "Sales Line",
	"purchaseOrders":     "Purchase Header",
	"purchaseOrderLines": "Purchase Line",
}

// PermissionTables returns the BC tables an entity set reads: one for plain pages, the
// draft and posted tables for aggregates.
func PermissionTables(ent *bcschema.Entity) []string {
	if a, ok := aggregateTables[ent.EntitySet]; ok {
		return []string{a.draft, a.posted}
	}
	if t, ok := bufferTables[ent.EntitySet]; ok {
		return []string{t}
	}
	if ent.AL.SourceTable != "" {
		return []string{ent.AL.SourceTable}
	}
	return []string{ent.Entity}
}

// writeTable is the table that inserts, modifications and deletes go to (drafts for
// aggregates).
func writeTable(ent *bcschema.Entity) string {
	return PermissionTables(ent)[0]
}

// permissionError is BC20+'s permission failure (bc-entra-facts §3.4): code
// Internal_ServerError, status configurable (UNCONFIRMED).
func (e *Emulator) permissionError(table, verb, appName string) *apiError {
	return &apiError{
		Status:  e.cfg.PermissionErrorStatus,
		Code:    codeServerError,
		Message: fmt.Sprintf("Sorry, the current permissions prevented the action. (TableData %s %s: %s)", table, verb, appName),
	}
}

// readFilter decides what the caller may read of an entity set. It returns an error when
// the caller may read none of it, and otherwise a row filter (nil = all rows) that silently
// drops posted or draft documents the caller may not read.
func (e *Emulator) readFilter(rc *requestContext, ent *bcschema.Entity) (func(map[string]any) bool, *apiError) {
	if rc.app == nil { // internal calls
		return nil, nil
	}
	if a, ok := aggregateTables[ent.EntitySet]; ok {
		draft := rc.env.grants(*rc.app, a.draft).Read
		posted := rc.env.grants(*rc.app, a.posted).Read
		switch {
		case draft && posted:
			return nil, nil
		case !draft && !posted:
			return nil, e.permissionError(a.draft, "Read", rc.app.Description)
		}
		return func(row map[string]any) bool { return isPosted(ent, row) == posted }, nil
	}
	for _, t := range PermissionTables(ent) {
		if !rc.env.grants(*rc.app, t).Read {
			return nil, e.permissionError(t, "Read", rc.app.Description)
		}
	}
	return nil, nil
}

// checkWrite verifies the caller may perform verb ("Insert", "Modify", "Delete") on the set.
func (e *Emulator) checkWrite(rc *requestContext, ent *bcschema.Entity, verb string) *apiError {
	if rc.app == nil {
		return nil
	}
	t := writeTable(ent)
	g := rc.env.grants(*rc.app, t)
	ok := map[string]bool{"Insert": g.Insert, "Modify": g.Modify, "Delete": g.Delete}[verb]
	if !ok {
		return e.permissionError(t, verb, rc.app.Description)
	}
	return nil
}

// isPosted reports whether a document row (header or line) is a posted document. Lines
// carry no status; their posted flag is kept in an unexported field by the emulator.
func isPosted(ent *bcschema.Entity, row map[string]any) bool {
	if p, ok := row[postedKey].(bool); ok {
		return p
	}
	switch s, _ := row["status"].(string); s {
	case "Draft", "In_x0020_Review", "":
		return false
	default:
		return true
	}
}

// postedKey marks line rows that belong to a posted document; fields starting with "_" are
// never written to the wire.
const postedKey = "_posted"
