package service

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/bizzjoiner/bcconnector/guide"
	"github.com/bizzjoiner/bcconnector/store"
)

// CompanyStatus is one company of a connection as the dashboard and the API show it:
// what its replica holds and whether its sets sync.
type CompanyStatus struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Rows counts the records of its replica, over every entity set.
	Rows int64 `json:"rows"`
	// Sets is how many entity sets of it have a sync state; Failing how many of those
	// ended their last run with an error.
	Sets    int `json:"sets"`
	Failing int `json:"failing"`
}

// parseCompanies reads the companies an admin listed (names or IDs, as BC lists them)
// into store companies, checked with the setup guide's rules for a company.
func parseCompanies(in []string) ([]store.Company, error) {
	var out []store.Company
	for _, v := range in {
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		v, fe := guide.CheckCompany(v)
		if fe != nil {
			fe.Field = "companies"
			return nil, fe
		}
		if guide.IsGUID(v) {
			out = append(out, store.Company{ID: v})
		} else {
			out = append(out, store.Company{Name: v})
		}
	}
	return out, nil
}

// resolveCompanies matches the companies wanted (by ID, else by name: exactly, then in
// any case) against BC's list of the environment's companies (id, name) and returns them
// with both ID and name; with all, every company BC lists, the wanted ones first. A
// company BC does not list is a field error listing the ones it does.
func resolveCompanies(want []store.Company, all bool, list [][2]string) ([]store.Company, error) {
	find := func(co store.Company) (store.Company, bool) {
		for _, l := range list {
			if co.ID != "" && strings.EqualFold(l[0], co.ID) || co.ID == "" && l[1] == co.Name {
				return store.Company{ID: strings.ToLower(l[0]), Name: l[1]}, true
			}
		}
		for _, l := range list {
			if co.ID == "" && strings.EqualFold(l[1], co.Name) {
				return store.Company{ID: strings.ToLower(l[0]), Name: l[1]}, true
			}
		}
		return store.Company{}, false
	}
	var out []store.Company
	add := func(co store.Company) {
		if !slices.ContainsFunc(out, func(o store.Company) bool { return o.ID == co.ID }) {
			out = append(out, co)
		}
	}
	for _, co := range want {
		got, ok := find(co)
		if !ok {
			names := make([]string, 0, len(list))
			for _, l := range list {
				names = append(names, fmt.Sprintf("%q", l[1]))
			}
			return nil, &guide.FieldError{Field: "companies", Step: guide.ConnectionSettings,
				Problem: fmt.Sprintf("the environment has no company %q", co.Label()),
				Fix:     "give each company's name exactly as BC lists it, or its ID; the environment has " + strings.Join(names, ", ")}
		}
		add(got)
	}
	if all {
		for _, l := range list {
			add(store.Company{ID: strings.ToLower(l[0]), Name: l[1]})
		}
	}
	return out, nil
}

// CompanyNamesEvery is how often RefreshCompanies reads BC's list of companies for a
// connection of chosen companies, to show a company renamed in BC by its new name (one of
// all companies reads it at every refresh).
const CompanyNamesEvery = 10 * time.Minute

// RefreshCompanies brings a connection's companies up to date with BC's list: with
// AllCompanies, every company the environment has now (one added since is synced from
// this run on; one removed is no longer synced, its replica stays until the connection
// is deleted); otherwise it resolves the IDs of companies stored by name only, and every
// CompanyNamesEvery takes the names BC gives the companies' IDs now. A company is its ID,
// a GUID BC never changes: a rename in BC keeps its replica, sync state and change feed
// (nothing is read again or logged), and the connection shows, and finds the company by,
// the new name from then on. The connection is stored again only when its list changed.
// The scheduler calls it at every run, so "all companies" includes companies added later.
func (s *Impl) RefreshCompanies(ctx context.Context, id string) (store.Connection, error) {
	c, err := s.st.GetConnection(ctx, id)
	if err != nil {
		return c, err
	}
	cos := c.SyncCompanies()
	unresolved := slices.ContainsFunc(cos, func(co store.Company) bool { return co.ID == "" })
	namesOnly := !c.AllCompanies && !unresolved
	if namesOnly && !s.namesDue(c.ID) {
		return c, nil
	}
	if err := s.checkActiveCredential(ctx, c); err != nil {
		if namesOnly {
			return c, nil // a draft: the names can wait for its check to pass
		}
		return c, err
	}
	list, err := s.Companies(ctx, c.ID)
	if err != nil {
		if namesOnly {
			return c, nil // the names are read again at the next due refresh
		}
		return c, fmt.Errorf("list the companies of %s: %w", c.Name, err)
	}
	var got []store.Company
	if namesOnly {
		// The names BC gives the companies' IDs now; one BC no longer lists keeps its
		// name (the doctor says it is gone).
		got = slices.Clone(cos)
		for i := range got {
			if j := slices.IndexFunc(list, func(l [2]string) bool { return strings.EqualFold(l[0], got[i].ID) }); j >= 0 {
				got[i].Name = list[j][1]
			}
		}
	} else {
		want, lost := cos, false
		if c.AllCompanies {
			// Every company BC lists, the connection's own first; its own company is kept
			// even when BC no longer lists it (the doctor says so), the others are dropped.
			want = nil
			if slices.ContainsFunc(list, func(l [2]string) bool {
				return strings.EqualFold(l[0], cos[0].ID) || cos[0].ID == "" && l[1] == cos[0].Name
			}) {
				want = cos[:1]
			} else {
				lost = true
			}
		}
		if got, err = resolveCompanies(want, c.AllCompanies, list); err != nil {
			return c, err
		}
		if lost {
			got = append([]store.Company{cos[0]}, slices.DeleteFunc(got, func(co store.Company) bool { return co.ID == cos[0].ID })...)
		}
	}
	if slices.Equal(got, cos) {
		return c, nil
	}
	c.CompanyID, c.CompanyName = got[0].ID, got[0].Name
	if len(c.Companies) > 0 || len(got) > 1 {
		c.Companies = got
	}
	updated, err := s.st.UpdateConnection(ctx, c)
	if err != nil {
		return c, err
	}
	s.log.Info("connection companies updated from BC", "connection", c.ID, "companies", len(updated.SyncCompanies()))
	return updated, nil
}

// namesDue reports whether a connection of chosen companies is due a read of BC's
// company names (CompanyNamesEvery), and if so counts it as read now.
func (s *Impl) namesDue(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if last, ok := s.namesRead[id]; ok && now.Sub(last) < CompanyNamesEvery {
		return false
	}
	if s.namesRead == nil {
		s.namesRead = map[string]time.Time{}
	}
	s.namesRead[id] = now
	return true
}

// company returns the connection's company that idOrName names ("" its own company), or
// a not-found error listing its companies.
func company(c store.Connection, idOrName string) (store.Company, error) {
	co, ok := c.FindCompany(idOrName)
	if !ok || co.ID == "" {
		if ok {
			return co, fmt.Errorf("%w: company %q of connection %q is not resolved yet; run the doctor", store.ErrConflict, co.Label(), c.Name)
		}
		return co, fmt.Errorf("%w: connection %q has no company %q; its companies are %s (give a name or ID, or leave it out for %q)",
			store.ErrNotFound, c.Name, idOrName, quoteAll(c.CompanyLabels()), c.CompanyName)
	}
	return co, nil
}

func quoteAll(l []string) string {
	q := make([]string, len(l))
	for i, s := range l {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}
