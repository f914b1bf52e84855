package store

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"github.com/bizzjoiner/bcconnector/guide"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
)

// Connection is one customer's Business Central company as bcconnector reaches it: the
// three values the customer's admin hands over (tenant, client ID, and the client secret,
// kept separately as [SecretRecord]s), where the data lives (environment and company),
// and optional endpoint overrides for the sandbox, proxies and other clouds.
type Connection struct {
	// ID identifies the connection; CreateConnection sets it (16 hex characters) when empty.
	ID string `json:"id"`
	// Name is the display name, unique in the store (compared exactly). Empty means
	// [DefaultName] (the setup guide's convention for the Entra app's name).
	Name string `json:"name"`
	// TenantID is the Directory (tenant) ID: a GUID (stored lower-case) or a verified
	// domain such as contoso.onmicrosoft.com.
	TenantID string `json:"tenantId"`
	// ClientID is the Application (client) ID, a GUID (stored lower-case).
	ClientID string `json:"clientId"`
	// Environment is the BC environment name, e.g. "Production" or "Sandbox".
	Environment string `json:"environment"`
	// CompanyID is the BC company's id (GUID), resolved from the name or ID the admin
	// gave and pinned, so writes can never land in another company of the same name.
	// Empty until resolved.
	CompanyID string `json:"companyId"`
	// CompanyName is the company's name, kept for display.
	CompanyName string `json:"companyName"`
	// Companies are every company the connection syncs, its own (CompanyID) first; nil
	// means that one only (every connection stored before a connection could cover
	// several). One Entra app, consent and BC registration serve every company of an
	// environment, so the others need nothing more from the customer. Writes and the doctor
	// use CompanyID unless told another.
	Companies []Company `json:"companies,omitempty"`
	// AllCompanies syncs every company of the environment, also companies added later:
	// the scheduler lists BC's companies at each run and keeps Companies up to date.
	AllCompanies bool `json:"allCompanies,omitempty"`
	// Schedule is when the connection's passes run (interval and quiet window); its empty
	// fields inherit serve's --interval and no quiet window.
	Schedule Schedule `json:"schedule,omitzero"`
	// SetSchedules overrides Schedule for some entity sets (by name: a document set, whose
	// lines sync with it); their empty fields inherit the connection's.
	SetSchedules map[string]Schedule `json:"setSchedules,omitempty"`
	// AuthorityHost overrides the Entra authority host, e.g. "https://login.microsoftonline.us/"
	// or the emulator's URL; empty means the public cloud. Must be an https URL.
	AuthorityHost string `json:"authorityHost,omitempty"`
	// BCBaseURL overrides the BC API base URL (default
	// "https://api.businesscentral.dynamics.com"); must be an https URL.
	BCBaseURL string `json:"bcBaseUrl,omitempty"`
	// CAPEM is the PEM of extra CA certificates to trust for both hosts (the standalone
	// emulator, a TLS-inspecting proxy), kept in the database so that every instance
	// trusts the same CAs; empty means the system roots (or CAFile). See [CACertificates].
	CAPEM string `json:"caPem,omitempty"`
	// CAFile is the path of such a PEM file on the machine that stored the connection.
	// Only connections stored before CAPEM existed have it; it is read when CAPEM is empty
	// (serve moves a readable file into CAPEM when it starts). New connections keep the
	// PEM in CAPEM instead.
	CAFile string `json:"caFile,omitempty"`
	// Entities are the entity sets the connection replicates; nil means none chosen yet.
	Entities []string `json:"entities"`
	// WriteEntities are the entity sets the connection may write; nil means none.
	WriteEntities []string `json:"writeEntities"`
	// CreatedAt is set by CreateConnection.
	CreatedAt time.Time `json:"createdAt"`
	// UpdatedAt is set by CreateConnection and UpdateConnection.
	UpdatedAt time.Time `json:"updatedAt"`
}

// Company is one company of a connection: its id (a GUID; empty until resolved from the
// name) and its name as BC lists it (spaces, & and ' included: the BC client puts only the
// id in URLs).
type Company struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Label is the company's name, else its ID.
func (co Company) Label() string {
	if co.Name != "" {
		return co.Name
	}
	return co.ID
}

// SyncCompanies returns the companies the connection syncs: Companies, else its own
// company alone (none while neither its ID nor its name is known).
func (c *Connection) SyncCompanies() []Company {
	if len(c.Companies) > 0 {
		return c.Companies
	}
	if c.CompanyID == "" && c.CompanyName == "" {
		return nil
	}
	return []Company{{ID: c.CompanyID, Name: c.CompanyName}}
}

// FindCompany returns the connection's company with that ID (any case) or name (exact,
// else any case); "" is the connection's own company.
func (c *Connection) FindCompany(idOrName string) (Company, bool) {
	idOrName = strings.TrimSpace(idOrName)
	cs := c.SyncCompanies()
	if idOrName == "" {
		if len(cs) == 0 {
			return Company{}, false
		}
		return cs[0], true
	}
	for _, co := range cs {
		if co.ID != "" && strings.EqualFold(co.ID, idOrName) || co.Name == idOrName {
			return co, true
		}
	}
	for _, co := range cs {
		if strings.EqualFold(co.Name, idOrName) {
			return co, true
		}
	}
	return Company{}, false
}

// CompanyLabels lists the connection's companies by name (else ID), for messages.
func (c *Connection) CompanyLabels() []string {
	var out []string
	for _, co := range c.SyncCompanies() {
		out = append(out, co.Label())
	}
	return out
}

// normalizeCompanies checks Companies and puts the connection's own company first: it is
// taken from the first entry when CompanyID and CompanyName are empty, and added in front
// when the list does not hold it. A list of that company alone is nil.
func (c *Connection) normalizeCompanies() error {
	if len(c.Companies) == 0 {
		c.Companies = nil
		return nil
	}
	out := make([]Company, 0, len(c.Companies)+1)
	for _, co := range c.Companies {
		co.ID, co.Name = strings.ToLower(strings.TrimSpace(co.ID)), strings.TrimSpace(co.Name)
		switch {
		case co.ID == "" && co.Name == "":
			return invalid("companies: an entry has neither an ID nor a name; give each company's name as BC lists it, or its ID")
		case co.ID != "" && !guide.IsGUID(co.ID):
			return invalid("companies: company ID %q is not a GUID; give the company's name instead, it is resolved to the ID", co.ID)
		case len(co.Name) > 250 || strings.ContainsFunc(co.Name, unicode.IsControl):
			return invalid("companies: company name %q must be at most 250 bytes without control characters", co.Name)
		}
		for _, o := range out {
			if co.ID != "" && o.ID == co.ID || co.ID == "" && o.ID == "" && o.Name == co.Name {
				return invalid("companies: %q is listed twice; list each company once", co.Label())
			}
		}
		out = append(out, co)
	}
	if c.CompanyID == "" && c.CompanyName == "" {
		c.CompanyID, c.CompanyName = out[0].ID, out[0].Name
	}
	own := -1
	for i, co := range out {
		if c.CompanyID != "" && co.ID == c.CompanyID || c.CompanyName != "" && co.Name == c.CompanyName && (co.ID == "" || c.CompanyID == "") {
			own = i
			break
		}
	}
	if own >= 0 {
		if c.CompanyID == "" {
			c.CompanyID = out[own].ID
		}
		if c.CompanyName == "" {
			c.CompanyName = out[own].Name
		}
		out = append(out[:own], out[own+1:]...)
	}
	first := Company{ID: c.CompanyID, Name: c.CompanyName}
	out = append([]Company{first}, out...)
	if len(out) == 1 && !c.AllCompanies {
		out = nil
	}
	c.Companies = out
	return nil
}

// DefaultName returns the setup guide's name for the Entra app of a connection (guide
// Step 1): "Bizzjoiner – BC Connector – {environment} – {company}", with en dashes.
func DefaultName(environment, company string) string {
	return guide.DisplayName(environment, company)
}

// NewID returns a random identifier of 16 lower-case hex characters.
func NewID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (it aborts the program instead).
	return hex.EncodeToString(b[:])
}

// Normalize trims surrounding spaces, lower-cases the GUIDs, fills an empty Name with
// [DefaultName] (company name, else company ID), turns empty entity lists into nil and
// validates every field. Its error wraps [ErrInvalid] and names the field and the fix.
// Store implementations call it on create and update.
func (c *Connection) Normalize() error {
	for _, f := range []*string{&c.ID, &c.Name, &c.TenantID, &c.ClientID, &c.Environment, &c.CompanyID,
		&c.CompanyName, &c.AuthorityHost, &c.BCBaseURL, &c.CAFile} {
		*f = strings.TrimSpace(*f)
	}
	if guide.IsGUID(c.TenantID) {
		c.TenantID = strings.ToLower(c.TenantID)
	}
	c.ClientID = strings.ToLower(c.ClientID)
	c.CompanyID = strings.ToLower(c.CompanyID)

	// The tenant and client rules are the setup guide's (package guide), with its wording.
	if _, fe := guide.CheckTenant(c.TenantID); fe != nil {
		return invalid("%s", fe.Error())
	}
	if _, fe := guide.CheckClientID(c.ClientID); fe != nil {
		return invalid("%s", fe.Error())
	}
	switch {
	case c.Environment == "":
		return invalid("environment is empty; give the BC environment name shown in the Business Central admin center, e.g. Production")
	case strings.ContainsFunc(c.Environment, func(r rune) bool { return unicode.IsSpace(r) || strings.ContainsRune("/?#%\\", r) }):
		return invalid("environment %q contains spaces or one of / ? # %% \\; give the environment name exactly as the BC admin center shows it", c.Environment)
	case c.CompanyID != "" && !guide.IsGUID(c.CompanyID):
		return invalid("company ID %q is not a GUID; leave it empty and give the company name, it is resolved to the ID", c.CompanyID)
	case c.CompanyID == "" && c.CompanyName == "" && len(c.Companies) == 0:
		return invalid("company is missing; give the company name or ID as BC lists it")
	case c.ID != "" && !validID(c.ID):
		return invalid("connection ID %q must be 1-64 letters, digits, '-' or '_'", c.ID)
	}
	if err := c.normalizeCompanies(); err != nil {
		return err
	}
	if err := c.Schedule.normalize("schedule"); err != nil {
		return err
	}
	var sets map[string]Schedule // a new map: the caller's stays as it was
	for set, sc := range c.SetSchedules {
		if set == "" || strings.ContainsFunc(set, func(r rune) bool { return unicode.IsSpace(r) || r == '?' || r == '#' }) {
			return invalid("setSchedules: %q is not an entity set name (e.g. customers)", set)
		}
		if err := sc.normalize("setSchedules." + set); err != nil {
			return err
		}
		if !sc.IsZero() {
			if sets == nil {
				sets = map[string]Schedule{}
			}
			sets[set] = sc
		}
	}
	c.SetSchedules = sets
	if err := checkHTTPS("authority host", c.AuthorityHost); err != nil {
		return err
	}
	if err := checkHTTPS("BC base URL", c.BCBaseURL); err != nil {
		return err
	}
	if c.CAPEM != "" {
		if _, err := CACertificates(c.CAPEM); err != nil {
			return err
		}
	}
	if c.Name == "" {
		company := c.CompanyName
		if company == "" {
			company = c.CompanyID
		}
		c.Name = DefaultName(c.Environment, company)
	}
	if len(c.Name) > 200 || strings.ContainsFunc(c.Name, unicode.IsControl) {
		return invalid("name must be at most 200 bytes without control characters")
	}
	var err error
	if c.Entities, err = normalizeEntities("entities", c.Entities); err != nil {
		return err
	}
	if c.WriteEntities, err = normalizeEntities("write entities", c.WriteEntities); err != nil {
		return err
	}
	return nil
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

func checkHTTPS(field, s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return invalid("%s %q must be an absolute https URL without credentials or query, e.g. https://login.microsoftonline.us/", field, s)
	}
	return nil
}

func normalizeEntities(field string, in []string) ([]string, error) {
	if len(in) == 0 {
		return nil, nil
	}
	out := make([]string, 0, len(in))
	for _, e := range in {
		e = strings.TrimSpace(e)
		if e == "" || strings.ContainsFunc(e, func(r rune) bool { return unicode.IsSpace(r) || r == '?' || r == '#' }) {
			return nil, invalid("%s: %q is not an entity set name (e.g. customers, or publisher/group/v1.0/entitySet for a custom API)", field, e)
		}
		if slices.Contains(out, e) {
			return nil, invalid("%s: %q is listed twice", field, e)
		}
		out = append(out, e)
	}
	return out, nil
}

func validID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
