package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/bizzjoiner/bcconnector/outbound"
	"github.com/bizzjoiner/bcconnector/store"
)

// Outbound webhooks: the platform registers endpoints and manages their signing secrets.
// A token scoped to some connections sees and manages only endpoints filtered to one of
// them; the others answer 404.

// endpointWithSecret is an endpoint as created or rotated: the only answers that carry
// the signing secret.
type endpointWithSecret struct {
	store.Endpoint
	Secret string `json:"secret"`
}

// errNoOutbound answers the outbound routes of a server built without them.
var errNoOutbound = fmt.Errorf("%w: outbound webhooks are not enabled on this server", store.ErrNotFound)

// endpoint resolves {eid} within the token's scope.
func (a *api) endpoint(r *http.Request) (store.Endpoint, error) {
	if a.out == nil {
		return store.Endpoint{}, errNoOutbound
	}
	e, err := a.out.Endpoint(r.Context(), r.PathValue("eid"))
	if err != nil {
		return e, err
	}
	if !endpointAllowed(token(r), e) {
		return store.Endpoint{}, fmt.Errorf("%w: no webhook endpoint %q", store.ErrNotFound, r.PathValue("eid"))
	}
	return e, nil
}

// endpointAllowed: a token for all connections sees every endpoint, a scoped one those
// filtered to a connection in its scope.
func endpointAllowed(t store.Token, e store.Endpoint) bool {
	return t.Connections == nil || (e.ConnectionID != "" && t.Allows(e.ConnectionID))
}

func (a *api) listEndpoints(w http.ResponseWriter, r *http.Request) error {
	if a.out == nil {
		return errNoOutbound
	}
	all, err := a.out.Endpoints(r.Context())
	if err != nil {
		return err
	}
	list := []store.Endpoint{}
	for _, e := range all {
		if endpointAllowed(token(r), e) {
			list = append(list, e)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"endpoints": list})
	return nil
}

func (a *api) createEndpoint(w http.ResponseWriter, r *http.Request) error {
	if a.out == nil {
		return errNoOutbound
	}
	var in outbound.EndpointInput
	if err := decode(r, &in); err != nil {
		return err
	}
	if t := token(r); t.Connections != nil {
		if in.ConnectionID == "" {
			return fmt.Errorf("%w: connectionId is empty; a token scoped to some connections registers endpoints for one of them only", errBadRequest)
		}
		if c, err := a.svc.GetConnection(r.Context(), in.ConnectionID); err != nil || !t.Allows(c.ID) {
			return fmt.Errorf("connectionId: %w: no connection %q", store.ErrNotFound, in.ConnectionID)
		}
	}
	e, signing, err := a.out.CreateEndpoint(r.Context(), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", Prefix+"/webhook-endpoints/"+e.ID)
	writeJSON(w, http.StatusCreated, endpointWithSecret{Endpoint: e, Secret: signing.Reveal()})
	return nil
}

func (a *api) getEndpoint(w http.ResponseWriter, r *http.Request) error {
	e, err := a.endpoint(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, e)
	return nil
}

// updateEndpoint is PATCH /webhook-endpoints/{eid}: {"enabled": false} disables the
// endpoint (no new events; pending deliveries end dead at their next attempt), true
// enables it again.
func (a *api) updateEndpoint(w http.ResponseWriter, r *http.Request) error {
	e, err := a.endpoint(r)
	if err != nil {
		return err
	}
	var in struct {
		Enabled *bool `json:"enabled"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Enabled == nil {
		return fmt.Errorf("%w: request body: enabled is missing; send {\"enabled\": false} to disable the endpoint or true to enable it", errBadRequest)
	}
	e, err = a.out.SetEndpointEnabled(r.Context(), e.ID, *in.Enabled, "disabled through the API")
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, e)
	return nil
}

func (a *api) deleteEndpoint(w http.ResponseWriter, r *http.Request) error {
	e, err := a.endpoint(r)
	if err != nil {
		return err
	}
	if err := a.out.DeleteEndpoint(r.Context(), e.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *api) rotateEndpointSecret(w http.ResponseWriter, r *http.Request) error {
	e, err := a.endpoint(r)
	if err != nil {
		return err
	}
	var in struct {
		// OverlapSeconds is how long the previous secret keeps signing; absent means a
		// day, 0 or less means not at all.
		OverlapSeconds *int64 `json:"overlapSeconds"`
	}
	if r.ContentLength != 0 {
		if err := decode(r, &in); err != nil {
			return err
		}
	}
	overlap := time.Duration(0) // the default
	if in.OverlapSeconds != nil {
		if *in.OverlapSeconds <= 0 {
			overlap = -1
		} else {
			overlap = time.Duration(min(*in.OverlapSeconds, int64(outbound.MaxOverlap/time.Second)+1)) * time.Second
		}
	}
	e, signing, err := a.out.RotateEndpointSecret(r.Context(), e.ID, overlap)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, endpointWithSecret{Endpoint: e, Secret: signing.Reveal()})
	return nil
}

// deliveryDetail is one delivery with its body and attempt log.
type deliveryDetail struct {
	store.Delivery
	Payload  json.RawMessage         `json:"payload"`
	Attempts []store.DeliveryAttempt `json:"attemptLog"`
}

// delivery resolves {did} within the token's scope (through its endpoint).
func (a *api) delivery(r *http.Request) (store.Delivery, error) {
	if a.out == nil {
		return store.Delivery{}, errNoOutbound
	}
	d, err := a.out.Delivery(r.Context(), r.PathValue("did"))
	if err != nil {
		return d, err
	}
	e, err := a.out.Endpoint(r.Context(), d.EndpointID)
	if err != nil || !endpointAllowed(token(r), e) {
		return store.Delivery{}, fmt.Errorf("%w: no webhook delivery %q", store.ErrNotFound, r.PathValue("did"))
	}
	return d, nil
}

var deliveryStates = []store.DeliveryState{store.DeliveryQueued, store.DeliveryPending, store.DeliverySucceeded, store.DeliveryDead}

func (a *api) listDeliveries(w http.ResponseWriter, r *http.Request) error {
	e, err := a.endpoint(r)
	if err != nil {
		return err
	}
	q := store.DeliveryQuery{EndpointID: e.ID}
	for k, v := range r.URL.Query() {
		val := v[0]
		switch k {
		case "state":
			q.State = store.DeliveryState(val)
			if !slices.Contains(deliveryStates, q.State) {
				return fmt.Errorf("%w: state must be one of queued, pending, succeeded, dead; got %q", errBadRequest, val)
			}
		case "before":
			q.Before = val
		case "limit":
			n, err := strconv.Atoi(val)
			if err != nil || n < 1 || n > 500 {
				return fmt.Errorf("%w: limit must be a number from 1 to 500, got %q", errBadRequest, val)
			}
			q.Limit = n
		default:
			return fmt.Errorf("%w: unknown query parameter %q; use state, before or limit", errBadRequest, k)
		}
	}
	list, err := a.out.Deliveries(r.Context(), q)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"deliveries": list})
	return nil
}

func (a *api) getDelivery(w http.ResponseWriter, r *http.Request) error {
	d, err := a.delivery(r)
	if err != nil {
		return err
	}
	log, err := a.out.DeliveryAttempts(r.Context(), d.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, deliveryDetail{Delivery: d, Payload: d.Payload, Attempts: log})
	return nil
}

func (a *api) replayDelivery(w http.ResponseWriter, r *http.Request) error {
	d, err := a.delivery(r)
	if err != nil {
		return err
	}
	n, err := a.out.ReplayDelivery(r.Context(), d.ID)
	if err != nil {
		return err
	}
	w.Header().Set("Location", Prefix+"/webhook-deliveries/"+n.ID)
	writeJSON(w, http.StatusAccepted, n)
	return nil
}

func (a *api) replayChanges(w http.ResponseWriter, r *http.Request) error {
	e, err := a.endpoint(r)
	if err != nil {
		return err
	}
	var in struct {
		After *int64 `json:"after"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.After == nil || *in.After < 0 {
		return fmt.Errorf("%w: after is missing or negative; give the change sequence to replay after (0 replays the whole change log)", errBadRequest)
	}
	added, next, done, err := a.out.ReplayChanges(r.Context(), e.ID, *in.After)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"deliveries": added, "next": next, "done": done})
	return nil
}

func (a *api) sendTestEvent(w http.ResponseWriter, r *http.Request) error {
	e, err := a.endpoint(r)
	if err != nil {
		return err
	}
	d, err := a.out.SendTest(r.Context(), e.ID)
	if err != nil {
		return err
	}
	w.Header().Set("Location", Prefix+"/webhook-deliveries/"+d.ID)
	writeJSON(w, http.StatusAccepted, d)
	return nil
}
