package api

import (
	"net/http"
	"time"
)

func (a *api) startSync(w http.ResponseWriter, r *http.Request) error {
	v, err := a.connection(r)
	if err != nil {
		return err
	}
	var in struct {
		Entities []string `json:"entities,omitempty"`
		Full     bool     `json:"full,omitempty"`
		Paused   *bool    `json:"paused,omitempty"`
	}
	if r.ContentLength != 0 {
		if err := decode(r, &in); err != nil {
			return err
		}
	}
	if in.Paused != nil {
		if err := a.svc.SetPaused(r.Context(), v.ID, *in.Paused); err != nil {
			return err
		}
	}
	if in.Paused == nil || !*in.Paused {
		if err := a.svc.Sync(r.Context(), v.ID, in.Entities, in.Full); err != nil {
			return err
		}
	}
	return a.writeSync(w, r, v.ID, http.StatusAccepted)
}

func (a *api) syncStatus(w http.ResponseWriter, r *http.Request) error {
	v, err := a.connection(r)
	if err != nil {
		return err
	}
	return a.writeSync(w, r, v.ID, http.StatusOK)
}

// syncSet is one entity set's sync state as the API shows it.
type syncSet struct {
	EntitySet     string    `json:"entitySet"`
	CompanyID     string    `json:"companyId"`
	CompanyName   string    `json:"companyName,omitempty"`
	Rows          int64     `json:"rows"`
	FullSyncDone  bool      `json:"fullSyncDone"`
	Watermark     time.Time `json:"watermark,omitzero"`
	LastRunAt     time.Time `json:"lastRunAt,omitzero"`
	LastSuccessAt time.Time `json:"lastSuccessAt,omitzero"`
	LastError     string    `json:"lastError,omitempty"`
	Throttled     int64     `json:"throttled"`
	Requests      int64     `json:"requests"`
	Paused        bool      `json:"paused"`
}

func (a *api) writeSync(w http.ResponseWriter, r *http.Request, id string, status int) error {
	v, err := a.svc.GetConnection(r.Context(), id)
	if err != nil {
		return err
	}
	names := map[string]string{}
	for _, co := range v.SyncCompanies() {
		names[co.ID] = co.Name
	}
	sets := make([]syncSet, 0, len(v.Sync))
	for _, st := range v.Sync {
		sets = append(sets, syncSet{EntitySet: st.Key.EntitySet, CompanyID: st.Key.CompanyID, CompanyName: names[st.Key.CompanyID], Rows: v.CompanyCounts[st.Key.CompanyID][st.Key.EntitySet],
			FullSyncDone: st.FullSyncDone, Watermark: st.Watermark, LastRunAt: st.LastRunAt, LastSuccessAt: st.LastSuccessAt,
			LastError: st.LastError, Throttled: st.Throttled, Requests: st.Requests, Paused: st.Paused})
	}
	writeJSON(w, status, map[string]any{"connectionId": v.ID, "paused": v.Paused, "sets": sets})
	return nil
}
