package ui

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/bizzjoiner/bcconnector/store"
)

// The audit log page: who did what to connections, credentials, outbound endpoints, API
// tokens and admins, newest first, filtered by connection and action; "Older entries"
// appends the next page in place (htmx), or loads it as a page without JavaScript.

type auditRow struct {
	store.AuditEntry
	ConnectionName string
}

type auditData struct {
	Enabled    bool
	Rows       []auditRow
	Connection string // the filter, an ID
	Action     string
	Actions    []store.AuditAction
	Conns      []connOption
	Older      string // URL of the next page; "" at the end
}

type connOption struct{ ID, Name string }

func (h *handler) auditLog(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	data := auditData{Enabled: h.audit != nil, Connection: q.Get("connection"), Action: q.Get("action"), Actions: store.AuditActions}
	p := page{Title: "Audit log", Nav: "audit"}
	names := map[string]string{}
	if conns, err := h.svc.ListConnections(r.Context(), nil); err == nil {
		for _, c := range conns {
			names[c.ID] = c.Name
			data.Conns = append(data.Conns, connOption{ID: c.ID, Name: c.Name})
		}
	}
	status := http.StatusOK
	if h.audit != nil {
		f := store.AuditFilter{ConnectionID: data.Connection, Action: store.AuditAction(data.Action)}
		var err error
		if s := q.Get("before"); s != "" {
			if f.Before, err = strconv.ParseInt(s, 10, 64); err != nil {
				err = errors.New("before must be the number of an audit entry")
			}
		}
		var entries []store.AuditEntry
		if err == nil {
			entries, err = h.audit.Audit(r.Context(), f)
		}
		if err != nil {
			if !errors.Is(err, store.ErrInvalid) && f.Before == 0 {
				h.fail(w, r, err)
				return
			}
			status, p.Error = http.StatusBadRequest, err.Error()
		}
		for _, e := range entries {
			data.Rows = append(data.Rows, auditRow{AuditEntry: e, ConnectionName: names[e.ConnectionID]})
		}
		if len(entries) == store.DefaultAuditLimit {
			v := url.Values{"before": {strconv.FormatInt(entries[len(entries)-1].ID, 10)}}
			if data.Connection != "" {
				v.Set("connection", data.Connection)
			}
			if data.Action != "" {
				v.Set("action", data.Action)
			}
			data.Older = "/audit?" + v.Encode()
		}
	}
	if r.Header.Get("HX-Request") == "true" && q.Get("before") != "" && status == http.StatusOK {
		h.fragment(w, status, "auditrows", data)
		return
	}
	p.Data = data
	h.render(w, r, status, "audit", p)
}
