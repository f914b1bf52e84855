package service

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/bizzjoiner/bcconnector/conn"
	"github.com/bizzjoiner/bcconnector/entra"
	"github.com/bizzjoiner/bcconnector/guide"
	"github.com/bizzjoiner/bcconnector/store"
)

// tenantLookupTimeout bounds one tenant discovery request.
const tenantLookupTimeout = 15 * time.Second

// resolveTenant is the tenant ID of c's tenant as typed (a GUID or a domain), from Entra's
// discovery document (bc-entra-facts §1.5), through c's endpoints and CA certificates.
func (s *Impl) resolveTenant(ctx context.Context, c store.Connection) (string, error) {
	if guide.IsGUID(c.TenantID) {
		return strings.ToLower(c.TenantID), nil
	}
	hc := s.hc
	if hc == nil {
		var err error
		if hc, err = conn.HTTPClient(c); err != nil {
			return "", err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, tenantLookupTimeout)
	defer cancel()
	return entra.TenantID(ctx, hc, c.AuthorityHost, c.TenantID)
}

// checkExpressDuplicate refuses a new express connection to a tenant, environment and
// company an express connection already reads, comparing tenants by their ID: typed once
// as contoso.onmicrosoft.com and once as its GUID they are one tenant. The new tenant is
// resolved by discovery (an unknown one is refused naming the field); a stored one is its
// GUID, the tenant the consent callback named, or resolved the same way. When Entra cannot
// be asked, tenants are compared as typed.
func (s *Impl) checkExpressDuplicate(ctx context.Context, cn store.Connection) error {
	tid, err := s.resolveTenant(ctx, cn)
	var ee *entra.Error
	switch {
	case errors.As(err, &ee) && (ee.Scenario == entra.ScenarioTenantUnknown || ee.Scenario == entra.ScenarioTenantMalformed):
		return &guide.FieldError{Field: "tenant ID", Step: guide.ConnectionSettings,
			Problem: fmt.Sprintf("Entra does not know the tenant %q (%s)", cn.TenantID, firstLine(ee.Description)),
			Fix:     "give the customer's Directory (tenant) ID (Entra admin center → Overview) or a verified domain such as contoso.onmicrosoft.com"}
	case err != nil:
		s.log.Warn("express: tenant not resolved; compared as typed for the duplicate check", "tenant", cn.TenantID, "err", err)
		tid = strings.ToLower(cn.TenantID)
	}
	consents, err := s.st.Consents(ctx)
	if err != nil {
		return err
	}
	for id, cons := range consents {
		old, err := s.st.GetConnection(ctx, id)
		if err != nil {
			if isNotFound(err) {
				continue
			}
			return err
		}
		if !strings.EqualFold(old.Environment, cn.Environment) || !sameCompany(old, cn) {
			continue
		}
		if s.storedTenant(ctx, old, cons) != tid {
			continue
		}
		same := ""
		if !strings.EqualFold(old.TenantID, cn.TenantID) {
			same = fmt.Sprintf(" (the same tenant, typed there as %s)", old.TenantID)
		}
		return &guide.FieldError{Field: "tenant ID", Step: guide.ConnectionSettings,
			Problem: fmt.Sprintf("express connection %q already reads tenant %s%s, environment %s, company %s", old.Name, cn.TenantID, same, old.Environment, companyOf(cn)),
			Fix:     fmt.Sprintf("use connection %q (its consent link: bcconnector consent-url %s, or its page), or remove it first", old.Name, old.Name)}
	}
	return nil
}

// storedTenant is a stored express connection's tenant ID, lower case: its GUID, the
// tenant the consent callback named, or resolved; as typed when Entra cannot be asked.
func (s *Impl) storedTenant(ctx context.Context, c store.Connection, cons store.Consent) string {
	switch {
	case guide.IsGUID(c.TenantID):
		return strings.ToLower(c.TenantID)
	case guide.IsGUID(cons.Tenant):
		return strings.ToLower(cons.Tenant)
	}
	if tid, err := s.resolveTenant(ctx, c); err == nil {
		return tid
	}
	return strings.ToLower(c.TenantID)
}

// sameCompany reports whether two connections of one environment read a company in
// common (by ID or name, without case); a connection of all companies reads every one.
func sameCompany(a, b store.Connection) bool {
	if a.AllCompanies || b.AllCompanies {
		return true
	}
	keys := func(c store.Connection) []string {
		out := []string{c.CompanyID, c.CompanyName}
		for _, co := range c.Companies {
			out = append(out, co.ID, co.Name)
		}
		return out
	}
	for _, x := range keys(a) {
		for _, y := range keys(b) {
			if x != "" && strings.EqualFold(x, y) {
				return true
			}
		}
	}
	return false
}

// companyOf names a connection's company as given.
func companyOf(c store.Connection) string {
	if c.CompanyName != "" {
		return c.CompanyName
	}
	return c.CompanyID
}
