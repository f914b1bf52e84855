package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/bizzjoiner/bcconnector/store"
)

// auditParams are the query parameters GET /audit accepts.
var auditParams = []string{"connection", "action", "actor", "before", "limit"}

// auditPage is GET /audit's answer: entries newest first and, when more may follow, the
// before= of the next page.
type auditPage struct {
	Entries    []store.AuditEntry `json:"entries"`
	NextBefore int64              `json:"nextBefore,omitempty"`
}

// errNoAudit answers GET /audit on a server built without an audit store.
var errNoAudit = fmt.Errorf("%w: the audit log is not served here", store.ErrNotFound)

func (a *api) audit(w http.ResponseWriter, r *http.Request) error {
	if a.auditLog == nil {
		return errNoAudit
	}
	q := r.URL.Query()
	if err := checkParams(q, auditParams); err != nil {
		return err
	}
	tok := token(r)
	var f store.AuditFilter
	if ref := q.Get("connection"); ref != "" {
		// A deleted connection's entries stay: its ID is taken as given when no live
		// connection has it (and the token may see it).
		v, err := a.connectionByRef(r, ref)
		switch {
		case err == nil:
			f.ConnectionID = v.ID
		case errors.Is(err, store.ErrNotFound) && tok.Allows(ref):
			f.ConnectionID = ref
		default:
			return fmt.Errorf("connection=%s: %w", ref, err)
		}
	} else if tok.Connections != nil {
		return fmt.Errorf("%w: this token is for some connections only, and the audit log also holds tokens, admins and endpoints of all: add connection=<ID or name> of one of its connections", errBadRequest)
	}
	f.Action = store.AuditAction(q.Get("action"))
	if s := q.Get("actor"); s != "" {
		kind, name, _ := strings.Cut(s, ":")
		f.ActorKind, f.ActorName = store.ActorKind(kind), name
		if name == "" && strings.Contains(s, ":") {
			return fmt.Errorf("%w: actor %q has an empty name; give kind (admin, token, cli, system) or kind:name, e.g. token:platform-prod", errBadRequest, s)
		}
	}
	var err error
	if s := q.Get("before"); s != "" {
		if f.Before, err = strconv.ParseInt(s, 10, 64); err != nil || f.Before <= 0 {
			return fmt.Errorf("%w: before must be the id of an audit entry (a whole number above 0), got %q", errBadRequest, s)
		}
	}
	if s := q.Get("limit"); s != "" {
		if f.Limit, err = parseLimit(s, store.MaxAuditLimit); err != nil {
			return err
		}
	}
	entries, err := a.auditLog.Audit(r.Context(), f)
	if err != nil {
		return err
	}
	page := auditPage{Entries: entries}
	if page.Entries == nil {
		page.Entries = []store.AuditEntry{}
	}
	if f.Limit == 0 {
		f.Limit = store.DefaultAuditLimit
	}
	if len(entries) == f.Limit {
		page.NextBefore = entries[len(entries)-1].ID
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}
