package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/bizzjoiner/bcconnector/service"
)

// schemaService is what GET /connections/{id}/schema needs of the service (service.Impl).
type schemaService interface {
	Schema(ctx context.Context, id string) (service.SchemaView, error)
}

// schema answers GET /connections/{id}/schema: the connection's discovered schema (every
// API's entity sets with their keys, fields and EDM types, read live from BC) and the
// stored schema version of each replicated set.
func (a *api) schema(w http.ResponseWriter, r *http.Request) error {
	v, err := a.connection(r)
	if err != nil {
		return err
	}
	ss, ok := a.svc.(schemaService)
	if !ok {
		return errors.New("api: the service cannot discover schemas")
	}
	out, err := ss.Schema(r.Context(), v.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
