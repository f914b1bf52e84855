package api

import (
	"fmt"
	"net/http"

	"github.com/bizzjoiner/bcconnector/service"
	"github.com/bizzjoiner/bcconnector/store"
)

// expressInput is the body of POST /connections/express: what express setup asks for.
type expressInput struct {
	Name          string   `json:"name,omitempty"`
	TenantID      string   `json:"tenantId"`
	Environment   string   `json:"environment"`
	Company       string   `json:"company"`
	Companies     []string `json:"companies,omitempty"`
	AllCompanies  *bool    `json:"allCompanies,omitempty"`
	Entities      []string `json:"entities,omitempty"`
	WriteEntities []string `json:"writeEntities,omitempty"`
	AuthorityHost string   `json:"authorityHost,omitempty"`
	BCBaseURL     string   `json:"bcBaseUrl,omitempty"`
	CAPEM         string   `json:"caPem,omitempty"`
}

// express returns the service's express side, or ErrExpressOff.
func (a *api) express() (service.ExpressService, error) {
	x, ok := a.svc.(service.ExpressService)
	if !ok {
		return nil, service.ErrExpressOff
	}
	return x, nil
}

// expressStatus is GET /express: whether express setup is offered and the operator
// app's client ID and credential expiry (never the credential).
func (a *api) expressStatus(w http.ResponseWriter, r *http.Request) error {
	x, err := a.express()
	if err != nil {
		writeJSON(w, http.StatusOK, service.ExpressStatus{})
		return nil
	}
	st, err := x.ExpressStatus(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

// createExpress is POST /connections/express: an express connection with its consent
// pending; the answer carries the consent link and the Step 6 values.
func (a *api) createExpress(w http.ResponseWriter, r *http.Request) error {
	if token(r).Connections != nil {
		return fmt.Errorf("%w: a token scoped to some connections cannot create connections; use a token for all connections", store.ErrNotFound)
	}
	x, err := a.express()
	if err != nil {
		return err
	}
	var in expressInput
	if err := decode(r, &in); err != nil {
		return err
	}
	v, err := x.CreateExpress(r.Context(), service.ConnectionInput{Name: in.Name, TenantID: in.TenantID, Environment: in.Environment,
		Company: in.Company, Companies: in.Companies, AllCompanies: in.AllCompanies, Entities: in.Entities, WriteEntities: in.WriteEntities, AuthorityHost: in.AuthorityHost,
		BCBaseURL: in.BCBaseURL, CAPEM: in.CAPEM})
	if err != nil {
		return err
	}
	w.Header().Set("Location", Prefix+"/connections/"+v.ID)
	writeJSON(w, http.StatusCreated, v)
	return nil
}
