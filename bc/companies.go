package bc

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrCompanyNotFound is returned by CompanyByName when no company has the name.
var ErrCompanyNotFound = errors.New("bc: company not found")

// Company is an entity of the companies set (API v2.0).
//
// https://learn.microsoft.com/dynamics365/business-central/dev-itpro/api-reference/v2.0/resources/dynamics_company
type Company struct {
	ID                string    `json:"id"`
	SystemVersion     string    `json:"systemVersion"`
	Timestamp         int64     `json:"timestamp"`
	Name              string    `json:"name"`
	DisplayName       string    `json:"displayName"`
	BusinessProfileID string    `json:"businessProfileId"`
	SystemCreatedAt   time.Time `json:"systemCreatedAt"`
	SystemCreatedBy   string    `json:"systemCreatedBy"`
	SystemModifiedAt  time.Time `json:"systemModifiedAt"`
	SystemModifiedBy  string    `json:"systemModifiedBy"`
}

// Companies lists the environment's companies (at most 300 online, bc-entra-facts §5).
func (c *Client) Companies(ctx context.Context) ([]Company, error) {
	var out []Company
	for co, err := range As[Company](c.List(ctx, Ref{Path: "companies"}, nil)) {
		if err != nil {
			return nil, err
		}
		out = append(out, co)
	}
	return out, nil
}

// CompanyByName finds a company by its name, for setup: the name never goes into a URL
// (names with spaces, '&', quotes or accents break naive URLs, peers-and-user-pain §3);
// the companies are listed and compared here. An exact match wins; otherwise a unique
// case-insensitive match is accepted. Use the returned ID for every later request.
func (c *Client) CompanyByName(ctx context.Context, name string) (Company, error) {
	all, err := c.Companies(ctx)
	if err != nil {
		return Company{}, err
	}
	var folded []Company
	for _, co := range all {
		if co.Name == name {
			return co, nil
		}
		if strings.EqualFold(co.Name, name) {
			folded = append(folded, co)
		}
	}
	if len(folded) == 1 {
		return folded[0], nil
	}
	names := make([]string, len(all))
	for i, co := range all {
		names[i] = fmt.Sprintf("%q", co.Name)
	}
	if len(folded) > 1 {
		return Company{}, fmt.Errorf("%w: %q matches %d companies when case is ignored; give the exact name (one of %s)", ErrCompanyNotFound, name, len(folded), strings.Join(names, ", "))
	}
	return Company{}, fmt.Errorf("%w: no company is named %q in environment %s; the environment has %s", ErrCompanyNotFound, name, c.env, strings.Join(names, ", "))
}
