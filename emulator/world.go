package emulator

import (
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/bizzjoiner/bcconnector/bcschema"
	"github.com/bizzjoiner/bcconnector/emulator/notify"
)

// BCApp is a record on BC's "Microsoft Entra Applications" page of one environment (guide
// Step 6, bc-entra-facts §3.1).
type BCApp struct {
	ClientID       string
	Description    string
	Enabled        bool     // State = Enabled
	PermissionSets []string // names of PermissionSet
}

// Access is what a permission set grants on one BC table.
type Access struct {
	Read, Insert, Modify, Delete bool
}

// PermissionSet grants table data permissions. Tables maps a BC table name (e.g. "Customer",
// "Sales Invoice Header") to its access; the key "*" grants on every table.
type PermissionSet struct {
	Name   string
	Tables map[string]Access
}

func (p *PermissionSet) access(table string) Access {
	if a, ok := p.Tables[table]; ok {
		return a
	}
	return p.Tables["*"]
}

var (
	fullAccess = Access{Read: true, Insert: true, Modify: true, Delete: true}
	readAccess = Access{Read: true}
)

// builtinPermissionSets are the sets every environment knows. SUPER exists but cannot be
// assigned to an application (bc-entra-facts §3.1).
func builtinPermissionSets() map[string]*PermissionSet {
	sets := []*PermissionSet{
		{Name: "D365 BUS FULL ACCESS", Tables: map[string]Access{"*": fullAccess}},
		{Name: "D365 READ", Tables: map[string]Access{"*": readAccess}},
		{Name: "D365 AUTOMATION", Tables: map[string]Access{"*": fullAccess}},
		{Name: "SUPER", Tables: map[string]Access{"*": fullAccess}},
	}
	m := make(map[string]*PermissionSet, len(sets))
	for _, s := range sets {
		m[s.Name] = s
	}
	return m
}

// company is one BC company of an environment.
type company struct {
	ID, Name, DisplayName, BusinessProfileID string
	CreatedAt                                time.Time

	mu     sync.Mutex
	tables map[string]*table
	series map[string]int // next number per entity set (number series)
}

// environment is one BC environment of a tenant.
type environment struct {
	TenantID string
	Name     string
	Type     string // "Production" or "Sandbox"

	mu             sync.RWMutex
	companies      []*company
	apps           map[string]*BCApp // by lower-case client ID
	permissionSets map[string]*PermissionSet

	// writeMu serialises writes within the environment, so a transactional $batch is
	// isolated from other writers (bc-entra-facts §6).
	writeMu  sync.Mutex
	webhooks *notify.Manager
}

// bcTenant is the BC side of an Entra tenant: its environments.
type bcTenant struct {
	ID   string
	envs []*environment
	// AdminCenterAuthorized lists client IDs on the admin center's "Authorized Microsoft
	// Entra apps" page (bc-entra-facts §9).
	adminAuthorized map[string]bool
}

func (t *bcTenant) env(name string) *environment { return t.envNamed(name, false) }

// envNamed finds an environment by name: case-insensitively (bc-entra-facts §4.1: "in
// practice", UNCONFIRMED) unless exact (Config.CaseSensitiveEnvironments).
func (t *bcTenant) envNamed(name string, exact bool) *environment {
	for _, e := range t.envs {
		if e.Name == name || !exact && strings.EqualFold(e.Name, name) {
			return e
		}
	}
	return nil
}

func (e *environment) companyByID(id string) *company {
	e.mu.RLock()
	defer e.mu.RUnlock()
	for _, c := range e.companies {
		if strings.EqualFold(c.ID, id) {
			return c
		}
	}
	return nil
}

// companyByName finds a company by its exact name, or in any case with anyCase
// (Config.CaseInsensitiveCompanyNames; BC's rule is UNCONFIRMED).
func (e *environment) companyByName(name string, anyCase bool) *company {
	e.mu.RLock()
	defer e.mu.RUnlock()
	for _, c := range e.companies {
		if c.Name == name || anyCase && strings.EqualFold(c.Name, name) {
			return c
		}
	}
	return nil
}

// companyRow renders c under the environment's lock, which RenameCompany holds while it
// changes a company's name.
func (e *environment) companyRow(c *company) map[string]any {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return c.row()
}

// companyNames lists the environment's companies as (id, name) pairs, read under its lock.
func (e *environment) companyNames() [][2]string {
	e.mu.RLock()
	defer e.mu.RUnlock()
	out := make([][2]string, 0, len(e.companies))
	for _, c := range e.companies {
		out = append(out, [2]string{c.ID, c.Name})
	}
	return out
}

func (e *environment) companyList() []*company {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return append([]*company(nil), e.companies...)
}

func (e *environment) app(clientID string) (BCApp, bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	a, ok := e.apps[strings.ToLower(clientID)]
	if !ok {
		return BCApp{}, false
	}
	return *a, true
}

// grants reports the access the app's permission sets give on a BC table. SUPER is
// ignored for applications (bc-entra-facts §3.1).
func (e *environment) grants(app BCApp, tableName string) Access {
	e.mu.RLock()
	defer e.mu.RUnlock()
	var a Access
	for _, name := range app.PermissionSets {
		ps, ok := e.permissionSets[name]
		if !ok || name == "SUPER" {
			continue
		}
		g := ps.access(tableName)
		a.Read = a.Read || g.Read
		a.Insert = a.Insert || g.Insert
		a.Modify = a.Modify || g.Modify
		a.Delete = a.Delete || g.Delete
	}
	return a
}

// table returns the company's table for an entity set, creating it on first use.
func (c *company) table(ent *bcschema.Entity, mk func() baseSource) *table {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.tables[ent.EntitySet]
	if !ok {
		t = newTable(ent, mk())
		c.tables[ent.EntitySet] = t
	}
	return t
}

func (c *company) nextNumber(set string, start int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, ok := c.series[set]
	if !ok {
		n = start
	}
	c.series[set] = n + 1
	return n
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
