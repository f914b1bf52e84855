package api

import (
	"net/http"
	"strings"

	"github.com/bizzjoiner/bcconnector/service"
)

func (a *api) records(w http.ResponseWriter, r *http.Request) error {
	v, err := a.connection(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	limit := 0
	if s := q.Get("limit"); s != "" {
		if limit, err = parseLimit(s, service.MaxRecordsLimit); err != nil {
			return err
		}
	}
	page, err := a.svc.Records(r.Context(), v.ID, q.Get("company"), r.PathValue("set"), q.Get("filter"), q.Get("cursor"), limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

func (a *api) record(w http.ResponseWriter, r *http.Request) error {
	v, err := a.connection(r)
	if err != nil {
		return err
	}
	rec, err := a.svc.Record(r.Context(), v.ID, r.URL.Query().Get("company"), r.PathValue("set"), r.PathValue("rid"))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(rec)
	return err
}

func (a *api) write(w http.ResponseWriter, r *http.Request, op service.WriteOp) error {
	v, err := a.connection(r)
	if err != nil {
		return err
	}
	if op.Method == http.MethodPost || op.Method == http.MethodPatch {
		body, err := readJSON(r)
		if err != nil {
			return err
		}
		op.Body = body
	}
	op.ETag = r.Header.Get("If-Match")
	op.Company = r.URL.Query().Get("company")
	res, err := a.svc.Write(r.Context(), v.ID, r.PathValue("set"), op, r.Header.Get("Idempotency-Key"))
	if res.Replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	if err != nil {
		return err
	}
	if res.Status == http.StatusNoContent {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(res.Status)
	_, err = w.Write(res.Record)
	return err
}

func (a *api) createRecord(w http.ResponseWriter, r *http.Request) error {
	return a.write(w, r, service.WriteOp{Method: http.MethodPost})
}

func (a *api) updateRecord(w http.ResponseWriter, r *http.Request) error {
	return a.write(w, r, service.WriteOp{Method: http.MethodPatch, ID: r.PathValue("rid")})
}

func (a *api) deleteRecord(w http.ResponseWriter, r *http.Request) error {
	return a.write(w, r, service.WriteOp{Method: http.MethodDelete, ID: r.PathValue("rid")})
}

func (a *api) action(w http.ResponseWriter, r *http.Request) error {
	return a.write(w, r, service.WriteOp{Method: "ACTION", ID: r.PathValue("rid"), Action: r.PathValue("action")})
}

func (a *api) batch(w http.ResponseWriter, r *http.Request) error {
	v, err := a.connection(r)
	if err != nil {
		return err
	}
	body, err := readJSON(r)
	if err != nil {
		return err
	}
	atomic := strings.EqualFold(r.Header.Get("Isolation"), "snapshot") || r.URL.Query().Get("atomic") == "true"
	out, err := a.svc.Batch(r.Context(), v.ID, r.URL.Query().Get("company"), body, atomic)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	_, err = w.Write(out)
	return err
}
