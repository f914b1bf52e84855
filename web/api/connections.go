package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/service"
	"github.com/bizzjoiner/bcconnector/store"
)

// connection resolves {id} (an ID or name) within the token's scope: a connection outside
// it is not found.
func (a *api) connection(r *http.Request) (service.ConnectionView, error) {
	return a.connectionByRef(r, r.PathValue("id"))
}

// connectionByRef is connection for a reference from elsewhere than the path.
func (a *api) connectionByRef(r *http.Request, ref string) (service.ConnectionView, error) {
	v, err := a.svc.GetConnection(r.Context(), ref)
	if err != nil {
		return v, err
	}
	if !token(r).Allows(v.ID) {
		return service.ConnectionView{}, fmt.Errorf("%w: no connection %q", store.ErrNotFound, ref)
	}
	return v, nil
}

func (a *api) listConnections(w http.ResponseWriter, r *http.Request) error {
	t := token(r)
	list, err := a.svc.ListConnections(r.Context(), t.Allows)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"connections": list})
	return nil
}

func (a *api) createConnection(w http.ResponseWriter, r *http.Request) error {
	if token(r).Connections != nil {
		return fmt.Errorf("%w: a token scoped to some connections cannot create connections; use a token for all connections", store.ErrNotFound)
	}
	var in service.ConnectionInput
	if err := decode(r, &in); err != nil {
		return err
	}
	v, rep, err := a.svc.CreateConnection(r.Context(), in)
	if errors.Is(err, service.ErrSetupFailed) {
		return &reportError{err: err, rep: rep}
	}
	if err != nil {
		return err
	}
	w.Header().Set("Location", Prefix+"/connections/"+v.ID)
	writeJSON(w, http.StatusCreated, v)
	return nil
}

func (a *api) getConnection(w http.ResponseWriter, r *http.Request) error {
	v, err := a.connection(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (a *api) updateConnection(w http.ResponseWriter, r *http.Request) error {
	v, err := a.connection(r)
	if err != nil {
		return err
	}
	var in service.ConnectionInput
	if err := decode(r, &in); err != nil {
		return err
	}
	v, err = a.svc.UpdateConnection(r.Context(), v.ID, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (a *api) deleteConnection(w http.ResponseWriter, r *http.Request) error {
	v, err := a.connection(r)
	if err != nil {
		return err
	}
	rm, err := a.svc.DeleteConnection(r.Context(), v.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rm)
	return nil
}

func (a *api) rotateSecret(w http.ResponseWriter, r *http.Request) error {
	v, err := a.connection(r)
	if err != nil {
		return err
	}
	var in struct {
		Secret        secret.Secret `json:"secret"`
		SecretEndDate string        `json:"secretEndDate,omitempty"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := a.svc.RotateSecret(r.Context(), v.ID, in.Secret, in.SecretEndDate); err != nil {
		return err
	}
	v, err = a.svc.GetConnection(r.Context(), v.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (a *api) runDoctor(w http.ResponseWriter, r *http.Request) error {
	v, err := a.connection(r)
	if err != nil {
		return err
	}
	rep, err := a.svc.RunDoctor(r.Context(), v.ID, nil)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

func (a *api) lastDoctor(w http.ResponseWriter, r *http.Request) error {
	v, err := a.connection(r)
	if err != nil {
		return err
	}
	if v.LastDoctor == nil {
		return fmt.Errorf("%w: connection %q has no doctor report yet; POST to this URL to run the doctor", store.ErrNotFound, v.Name)
	}
	writeJSON(w, http.StatusOK, v.LastDoctor)
	return nil
}

type company struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

func (a *api) companies(w http.ResponseWriter, r *http.Request) error {
	v, err := a.connection(r)
	if err != nil {
		return err
	}
	cs, err := a.svc.Companies(r.Context(), v.ID)
	if err != nil {
		return err
	}
	out := make([]company, len(cs))
	for i, c := range cs {
		out[i] = company{ID: c[0], Name: c[1]}
	}
	writeJSON(w, http.StatusOK, map[string]any{"companies": out})
	return nil
}
