package api

import (
	"fmt"
	"net/http"
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
