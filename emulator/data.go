package emulator

import (
	"encoding/json"
	"fmt"
	"iter"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bizzjoiner/bcconnector/bcschema"
)

// CompanyRef addresses one company of one environment of a tenant.
type CompanyRef struct {
	TenantID    string
	Environment string
	CompanyID   string
}

// DemoCompanyRef is the company of the loaded scenario's credentials (Company X in
// Production of the Contoso tenant), whatever the scenario broke in the credentials.
func (e *Emulator) DemoCompanyRef() CompanyRef {
	e.mu.RLock()
	defer e.mu.RUnlock()
	id := seededGUID(e.cfg.Seed, "tenant/contoso")
	ref := CompanyRef{TenantID: id, Environment: DemoEnvironment}
	if t := e.tenants[id]; t != nil {
		if c := t.envs[0].companyByName(DemoCompany, false); c != nil {
			ref.CompanyID = c.ID
		}
	}
	return ref
}

// Companies lists a tenant environment's companies as (id, name) pairs.
func (e *Emulator) Companies(tenantID, environment string) [][2]string {
	t := e.tenant(tenantID)
	if t == nil {
		return nil
	}
	env := t.env(environment)
	if env == nil {
		return nil
	}
	return env.companyNames()
}

// AddCompany adds a company to a tenant's environment while the emulator serves, as an
// admin creating one in BC would (it has the generated seed data of any company), and
// returns its id. Names are free text: spaces, & and ' included.
func (e *Emulator) AddCompany(tenantID, environment, name string) (string, error) {
	if strings.TrimSpace(name) == "" || utf8.RuneCountInString(name) > maxCompanyName {
		return "", fmt.Errorf("emulator: a company name must be 1 to %d characters, got %q", maxCompanyName, name)
	}
	t := e.tenant(tenantID)
	if t == nil {
		return "", fmt.Errorf("emulator: tenant %q has no Business Central", tenantID)
	}
	env := t.env(environment)
	if env == nil {
		return "", fmt.Errorf("emulator: tenant %q has no environment %q", tenantID, environment)
	}
	env.mu.Lock()
	defer env.mu.Unlock()
	for _, c := range env.companies {
		if strings.EqualFold(c.Name, name) {
			return "", fmt.Errorf("emulator: environment %q has a company %q already", environment, name)
		}
	}
	c := &company{
		ID:          seededGUID(e.cfg.Seed, "company/"+tenantID+"/"+env.Name+"/"+name),
		Name:        name,
		DisplayName: name,
		CreatedAt:   e.cfg.Now().UTC().Truncate(time.Millisecond),
		tables:      map[string]*table{},
		series:      map[string]int{},
	}
	env.companies = append(env.companies, c)
	return c.ID, nil
}

func (e *Emulator) resolveRef(ref CompanyRef, set string) (*requestContext, *company, *bcschema.Entity, error) {
	t := e.tenant(ref.TenantID)
	if t == nil {
		return nil, nil, nil, fmt.Errorf("emulator: tenant %q has no Business Central", ref.TenantID)
	}
	env := t.env(ref.Environment)
	if env == nil {
		return nil, nil, nil, fmt.Errorf("emulator: tenant %q has no environment %q", ref.TenantID, ref.Environment)
	}
	c := env.companyByID(ref.CompanyID)
	if c == nil {
		return nil, nil, nil, fmt.Errorf("emulator: environment %q has no company %q", ref.Environment, ref.CompanyID)
	}
	ent, ok := e.sch().EntitySet(set)
	var api *customAPI
	if !ok {
		ent, api = customEntity(set)
		ok = ent != nil
	}
	if !ok {
		return nil, nil, nil, fmt.Errorf("emulator: unknown entity set %q", set)
	}
	rc := &requestContext{tenant: t, env: env, now: e.cfg.Now().UTC(), prefix: "api/v2.0"}
	if api != nil {
		rc.prefix = api.prefix()
	}
	return rc, c, ent, nil
}

// toBody turns Go values into a request body as a JSON client would send it.
func toBody(fields map[string]any) (map[string]any, error) {
	raw, err := json.Marshal(fields)
	if err != nil {
		return nil, err
	}
	body, aerr := readBody(strings.NewReader(string(raw)))
	if aerr != nil {
		return nil, aerr
	}
	return body, nil
}

// Create inserts a record as a user in BC would: through the same write path as the API
// (number series, references, totals, webhooks), without the API's permission checks.
// Fields use JSON-style values (strings, numbers, booleans).
func (e *Emulator) Create(ref CompanyRef, entitySet string, fields map[string]any) (map[string]any, error) {
	rc, c, ent, err := e.resolveRef(ref, entitySet)
	if err != nil {
		return nil, err
	}
	body, err := toBody(fields)
	if err != nil {
		return nil, err
	}
	w := &writer{e: e, rc: rc, c: c, system: true}
	defer w.lock()()
	got, aerr := w.createLocked(ent, body, nil)
	if aerr != nil {
		return nil, aerr
	}
	return publicRow(got.row), nil
}

// Update changes a record as a user in BC would (no If-Match needed).
func (e *Emulator) Update(ref CompanyRef, entitySet, id string, fields map[string]any) (map[string]any, error) {
	rc, c, ent, err := e.resolveRef(ref, entitySet)
	if err != nil {
		return nil, err
	}
	body, err := toBody(fields)
	if err != nil {
		return nil, err
	}
	w := &writer{e: e, rc: rc, c: c, system: true}
	defer w.lock()()
	tab := e.tableOf(c, ent)
	cur, ok := tab.get(strings.ToLower(id))
	if !ok {
		return nil, notFound(ent, id)
	}
	row := copyRow(cur.row)
	if _, aerr := w.applyBody(ent, row, body, false); aerr != nil {
		return nil, aerr
	}
	return publicRow(w.replace(tab, ent, strings.ToLower(id), row).row), nil
}

// Delete removes a record as a user in BC would.
func (e *Emulator) Delete(ref CompanyRef, entitySet, id string) error {
	rc, c, ent, err := e.resolveRef(ref, entitySet)
	if err != nil {
		return err
	}
	w := &writer{e: e, rc: rc, c: c, system: true}
	defer w.lock()()
	tab := e.tableOf(c, ent)
	cur, ok := tab.get(strings.ToLower(id))
	if !ok {
		return notFound(ent, id)
	}
	w.removeLocked(tab, ent, strings.ToLower(id), cur.row)
	return nil
}

// Get returns a record and its ETag.
func (e *Emulator) Get(ref CompanyRef, entitySet, id string) (map[string]any, string, bool) {
	_, c, ent, err := e.resolveRef(ref, entitySet)
	if err != nil {
		return nil, "", false
	}
	got, ok := e.tableOf(c, ent).get(strings.ToLower(id))
	if !ok {
		return nil, "", false
	}
	return publicRow(got.row), got.etag, true
}

// Rows iterates over every live record of an entity set in id order, with its ETag, as
// the API would return them; tests compare a replica against it.
func (e *Emulator) Rows(ref CompanyRef, entitySet string) iter.Seq2[map[string]any, string] {
	return func(yield func(map[string]any, string) bool) {
		_, c, ent, err := e.resolveRef(ref, entitySet)
		if err != nil {
			return
		}
		tab := e.tableOf(c, ent)
		rng := scanRange{lo: 0, hi: tab.src.Count()}
		for {
			rows, last, done := tab.next(rng, chunkRows, nil)
			for _, r := range rows {
				if !yield(publicRow(r.row), r.etag) {
					return
				}
			}
			if done {
				return
			}
			rng.after = last
		}
	}
}

// RowJSON renders a record exactly as the API sends it (with @odata.etag).
func (e *Emulator) RowJSON(ref CompanyRef, entitySet, id string) (json.RawMessage, bool) {
	_, c, ent, err := e.resolveRef(ref, entitySet)
	if err != nil {
		return nil, false
	}
	got, ok := e.tableOf(c, ent).get(strings.ToLower(id))
	if !ok {
		return nil, false
	}
	return rowJSON(ent, got), true
}

// Count returns the number of live records of an entity set.
func (e *Emulator) Count(ref CompanyRef, entitySet string) int {
	_, c, ent, err := e.resolveRef(ref, entitySet)
	if err != nil {
		return 0
	}
	return e.tableOf(c, ent).count()
}

// SetBCApp creates or replaces a record on an environment's Microsoft Entra Applications
// page (guide Step 6).
func (e *Emulator) SetBCApp(tenantID, environment string, app BCApp) error {
	env, err := e.environment(tenantID, environment)
	if err != nil {
		return err
	}
	env.mu.Lock()
	defer env.mu.Unlock()
	for _, ps := range app.PermissionSets {
		if _, ok := env.permissionSets[ps]; !ok {
			return fmt.Errorf("emulator: permission set %q does not exist in %s", ps, environment)
		}
	}
	a := app
	env.apps[strings.ToLower(app.ClientID)] = &a
	return nil
}

// environment finds a tenant's BC environment by name.
func (e *Emulator) environment(tenantID, name string) (*environment, error) {
	t := e.tenant(tenantID)
	if t == nil {
		return nil, fmt.Errorf("emulator: tenant %q has no Business Central", tenantID)
	}
	env := t.env(name)
	if env == nil {
		return nil, fmt.Errorf("emulator: tenant %q has no environment %q", tenantID, name)
	}
	return env, nil
}

// UpdateBCApp changes an app's record on an environment's Microsoft Entra Applications
// page in place (set State to Disabled, change its permission sets); an error when there
// is no such record.
func (e *Emulator) UpdateBCApp(tenantID, environment, clientID string, fn func(*BCApp)) error {
	env, err := e.environment(tenantID, environment)
	if err != nil {
		return err
	}
	env.mu.Lock()
	defer env.mu.Unlock()
	a, ok := env.apps[strings.ToLower(clientID)]
	if !ok {
		return fmt.Errorf("emulator: environment %q has no record for client ID %s on its Microsoft Entra Applications page", environment, clientID)
	}
	fn(a)
	return nil
}

// RemoveBCApp deletes an app's record from an environment's Microsoft Entra Applications.
func (e *Emulator) RemoveBCApp(tenantID, environment, clientID string) {
	if env, err := e.environment(tenantID, environment); err == nil {
		env.mu.Lock()
		delete(env.apps, strings.ToLower(clientID))
		env.mu.Unlock()
	}
}

// DefinePermissionSet adds or replaces a permission set in an environment.
func (e *Emulator) DefinePermissionSet(tenantID, environment string, ps PermissionSet) error {
	env, err := e.environment(tenantID, environment)
	if err != nil {
		return err
	}
	env.mu.Lock()
	defer env.mu.Unlock()
	p := ps
	env.permissionSets[ps.Name] = &p
	return nil
}

// AuthorizeAdminApp puts an app on the admin center's "Authorized Microsoft Entra apps"
// list of a tenant (needed, with AdminCenter.ReadWrite.All, for the Admin Center API).
func (e *Emulator) AuthorizeAdminApp(tenantID, clientID string) {
	if t := e.tenant(tenantID); t != nil {
		e.mu.Lock()
		t.adminAuthorized[strings.ToLower(clientID)] = true
		e.mu.Unlock()
	}
}

// publicRow drops the emulator's private fields.
func publicRow(row map[string]any) map[string]any {
	out := make(map[string]any, len(row))
	for k, v := range row {
		if !strings.HasPrefix(k, "_") {
			out[k] = v
		}
	}
	return out
}
