package ui

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/bizzjoiner/bcconnector/store"
)

// The outbound webhooks page: the platform's endpoints (registered through the API, which
// shows the signing secret once), each with its recent deliveries and their status, a
// "Send test event" button, a replay button for dead deliveries, and Disable / Enable
// (an endpoint that answered 410 Gone shows disabled, with the reason).

// recentDeliveries is how many deliveries the page shows per endpoint.
const recentDeliveries = 10

type endpointRow struct {
	store.Endpoint
	ConnectionName string
	Deliveries     []store.Delivery
}

type webhooksData struct {
	Enabled   bool
	Endpoints []endpointRow
}

func (h *handler) webhooks(w http.ResponseWriter, r *http.Request) {
	data := webhooksData{Enabled: h.out != nil}
	if h.out != nil {
		eps, err := h.out.Endpoints(r.Context())
		if err != nil {
			h.fail(w, r, err)
			return
		}
		names := map[string]string{}
		if conns, err := h.svc.ListConnections(r.Context(), nil); err == nil {
			for _, c := range conns {
				names[c.ID] = c.Name
			}
		}
		for _, ep := range eps {
			ds, err := h.out.Deliveries(r.Context(), store.DeliveryQuery{EndpointID: ep.ID, Limit: recentDeliveries})
			if err != nil {
				h.fail(w, r, err)
				return
			}
			data.Endpoints = append(data.Endpoints, endpointRow{Endpoint: ep, ConnectionName: names[ep.ConnectionID], Deliveries: ds})
		}
	}
	p := page{Title: "Webhooks", Nav: "webhooks", Data: data}
	switch r.URL.Query().Get("done") {
	case "test":
		p.Flash = "Test event queued; its delivery shows below within seconds (reload)."
	case "replay":
		p.Flash = "Delivery queued again under a new webhook-id."
	case "disabled":
		p.Flash = "Endpoint disabled: it gets no new events until it is enabled."
	case "enabled":
		p.Flash = "Endpoint enabled: new events go to it again; replay what it missed."
	}
	h.render(w, r, http.StatusOK, "webhooks", p)
}

func (h *handler) webhookTest(w http.ResponseWriter, r *http.Request) {
	if h.out == nil {
		h.fail(w, r, errNoOutbound)
		return
	}
	if _, err := h.out.SendTest(r.Context(), r.PathValue("eid")); err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/webhooks?done=test", http.StatusSeeOther)
}

func (h *handler) webhookEnable(w http.ResponseWriter, r *http.Request) {
	h.webhookSetEnabled(w, r, true)
}

func (h *handler) webhookDisable(w http.ResponseWriter, r *http.Request) {
	h.webhookSetEnabled(w, r, false)
}

// webhookSetEnabled enables or disables an endpoint (the API's PATCH {"enabled": …}).
func (h *handler) webhookSetEnabled(w http.ResponseWriter, r *http.Request, enabled bool) {
	if h.out == nil {
		h.fail(w, r, errNoOutbound)
		return
	}
	id := r.PathValue("eid")
	if _, err := h.out.SetEndpointEnabled(r.Context(), id, enabled, "disabled in the web UI"); err != nil {
		h.fail(w, r, err)
		return
	}
	done := "disabled"
	if enabled {
		done = "enabled"
	}
	http.Redirect(w, r, "/webhooks?done="+done+"#"+url.QueryEscape(id), http.StatusSeeOther)
}

func (h *handler) webhookReplay(w http.ResponseWriter, r *http.Request) {
	if h.out == nil {
		h.fail(w, r, errNoOutbound)
		return
	}
	if _, err := h.out.ReplayDelivery(r.Context(), r.PathValue("did")); err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/webhooks?done=replay#"+url.QueryEscape(r.FormValue("endpoint")), http.StatusSeeOther)
}

var errNoOutbound = errors.New("outbound webhooks are not enabled on this server")
