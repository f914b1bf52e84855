package ui

import (
	"context"
	"strings"

	"github.com/bizzjoiner/bcconnector/service"
)

// existing is a stored connection that already reads a company the wizard offers.
type existing struct {
	ID, Name string
}

// allCompanies is the key of connectedCompanies' answer for a connection that reads every
// company of the environment, also those added later.
const allCompanies = "*"

// connectedCompanies returns, by company ID, the stored connections that reach the same
// data as the draft would: the same tenant, app registration and environment (compared as
// BC and Entra do, without case), and the company. A connection of all companies is
// entered under allCompanies and under each of comps (the companies the wizard lists). A
// second connection to one of those companies replicates the same data again and spends
// the same app's BC budget, so the wizard warns before it creates one. A tenant typed once
// as a GUID and once as its domain is not recognised as the same.
func (h *handler) connectedCompanies(ctx context.Context, in service.ConnectionInput, comps [][2]string) map[string]*existing {
	views, err := h.svc.ListConnections(ctx, nil)
	if err != nil {
		h.log.Warn("ui: list connections for the duplicate check", "err", err)
		return nil
	}
	out := map[string]*existing{}
	add := func(id string, e *existing) {
		if _, ok := out[id]; !ok && id != "" {
			out[id] = e
		}
	}
	for _, v := range views {
		if !strings.EqualFold(v.TenantID, in.TenantID) || !strings.EqualFold(v.ClientID, in.ClientID) ||
			!strings.EqualFold(v.Environment, in.Environment) {
			continue
		}
		e := &existing{ID: v.ID, Name: v.Name}
		for _, co := range v.SyncCompanies() {
			add(co.ID, e)
		}
		if v.AllCompanies {
			add(allCompanies, e)
			for _, c := range comps {
				add(c[0], e)
			}
		}
	}
	return out
}

// overlap returns a stored connection that reads one of the companies (every company
// when all), or nil.
func overlap(connected map[string]*existing, companies []string, all bool) *existing {
	if e := connected[allCompanies]; e != nil && (all || len(companies) > 0) {
		return e
	}
	for _, c := range companies {
		if e := connected[c]; e != nil {
			return e
		}
	}
	if all {
		for _, e := range connected {
			return e
		}
	}
	return nil
}
