package service

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/bizzjoiner/bcconnector/bc"
	"github.com/bizzjoiner/bcconnector/doctor"
	"github.com/bizzjoiner/bcconnector/guide"
	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/syncer"
)

// endpointField is one endpoint a connection may override.
type endpointField struct{ name, v, def string }

// endpointFields lists the endpoints of a connection or input; the CA certificates show
// as the file's path, or as a note when they are PEM held with the connection.
func endpointFields(authorityHost, bcBaseURL, caFile, caPEM string) []endpointField {
	ca := caFile
	if caPEM != "" {
		ca = "(PEM stored with the connection)"
	}
	return []endpointField{
		{"authority host", authorityHost, guide.DefaultAuthorityHost},
		{"BC API base URL", bcBaseURL, guide.DefaultBCBaseURL},
		{"CA file", ca, ""},
	}
}

func (f endpointField) overridden() bool {
	return f.v != "" && strings.TrimSuffix(f.v, "/") != strings.TrimSuffix(f.def, "/")
}

// checkEndpoints refuses endpoint overrides unless the server allows them.
func (s *Impl) checkEndpoints(in ConnectionInput) error {
	if s.allowOverrides {
		return nil
	}
	for _, f := range endpointFields(in.AuthorityHost, in.BCBaseURL, in.CAFile, in.CAPEM) {
		if f.overridden() {
			return &guide.FieldError{Field: f.name, Step: guide.ConnectionSettings,
				Problem: "endpoint overrides are turned off on this server",
				Fix:     "leave it empty to use Microsoft's public cloud, or ask the operator to start the server with --allow-endpoint-overrides"}
		}
	}
	return nil
}

// BlockedError is returned for a stored connection that names its own endpoints (authority
// host, BC API base URL or CA file) on a server that does not allow endpoint overrides. A
// connection is used with its own endpoints or not at all, so nothing is sent anywhere.
// It matches ErrConnectionBlocked and store.ErrConflict with errors.Is.
type BlockedError struct {
	// Connection is the connection's name.
	Connection string
	// Endpoints describes the overridden endpoints, e.g. `authority host "https://…/"`.
	Endpoints []string
}

// ErrConnectionBlocked matches every *BlockedError.
var ErrConnectionBlocked = errors.New("service: the connection is blocked")

// Error names the connection, its endpoints, the reason and the fix.
func (e *BlockedError) Error() string {
	return fmt.Sprintf("connection %q is blocked: it uses its own endpoints (%s) and this server does not allow endpoint overrides, so nothing was sent. %s",
		e.Connection, strings.Join(e.Endpoints, ", "), e.Fix())
}

// Fix says what the operator can do.
func (e *BlockedError) Fix() string {
	return "Fix: start the server with --allow-endpoint-overrides (BCC_ALLOW_ENDPOINT_OVERRIDES=true) if these endpoints are meant, or add the connection again without them to use Microsoft's public cloud"
}

// Is matches ErrConnectionBlocked and store.ErrConflict.
func (e *BlockedError) Is(target error) bool {
	return target == ErrConnectionBlocked || target == store.ErrConflict
}

// blocked returns a *BlockedError if c names endpoints this server does not allow.
func (s *Impl) blocked(c store.Connection) *BlockedError {
	if s.allowOverrides {
		return nil
	}
	var eps []string
	for _, f := range endpointFields(c.AuthorityHost, c.BCBaseURL, c.CAFile, c.CAPEM) {
		if f.overridden() {
			eps = append(eps, fmt.Sprintf("%s %q", f.name, f.v))
		}
	}
	if eps == nil {
		return nil
	}
	return &BlockedError{Connection: c.Name, Endpoints: eps}
}

// readCA puts the PEM of in's CA file into in.CAPEM (unless CAPEM is given) and clears
// CAFile: a connection keeps its CA certificates in the database, so every instance
// trusts them, and the file is read once, where the admin named it. Call it after
// checkEndpoints.
func readCA(in *ConnectionInput) error {
	if in.CAPEM == "" && in.CAFile != "" {
		b, err := os.ReadFile(in.CAFile)
		if err != nil {
			return &guide.FieldError{Field: "CA file", Step: guide.ConnectionSettings,
				Problem: fmt.Sprintf("cannot be read here: %v", err),
				Fix:     "give the path of the PEM file on the machine that runs this command, or its content as caPem"}
		}
		in.CAPEM = string(b)
	}
	in.CAFile = ""
	if in.CAPEM == "" {
		return nil
	}
	if _, err := store.CACertificates(in.CAPEM); err != nil {
		return &guide.FieldError{Field: "CA file", Step: guide.ConnectionSettings,
			Problem: strings.TrimPrefix(err.Error(), store.ErrInvalid.Error()+": "),
			Fix:     "give a PEM file of the CA certificates to trust (the emulator prints its CA file), or leave it empty for the system roots"}
	}
	return nil
}

// AdoptCAFiles moves the CA certificates of connections stored with only a CA file path
// (before CAPEM existed) into the database: every such file readable here is stored as
// the connection's CAPEM and its path dropped, so the other instances trust the same CAs.
// A file that is missing or holds no certificate here is left as it is and logged; that
// connection keeps reading its path on each instance. serve calls it when it starts.
func (s *Impl) AdoptCAFiles(ctx context.Context) error {
	conns, err := s.st.ListConnections(ctx)
	if err != nil {
		return err
	}
	for _, c := range conns {
		if c.CAFile == "" || c.CAPEM != "" {
			continue
		}
		in := ConnectionInput{CAFile: c.CAFile}
		if err := readCA(&in); err != nil {
			s.log.Warn("the connection's CA file stays a path: it cannot be read here; update the connection with --ca-file on a machine that has it",
				"connection", c.ID, "caFile", c.CAFile, "err", err)
			continue
		}
		path := c.CAFile
		c.CAPEM, c.CAFile = in.CAPEM, ""
		if _, err := s.st.UpdateConnection(ctx, c); err != nil {
			return fmt.Errorf("store the CA certificates of connection %s: %w", c.ID, err)
		}
		s.forget(c.ID)
		s.log.Info("the connection's CA certificates are now stored in the database", "connection", c.ID, "ca_file", path)
	}
	return nil
}

func (in ConnectionInput) guide() guide.Input {
	return guide.Input{TenantID: in.TenantID, ClientID: in.ClientID, Secret: in.Secret, SecretEndDate: in.SecretEndDate,
		Environment: in.Environment, Company: in.Company, Certificate: in.Certificate}
}

// Validate implements Service.
func (s *Impl) Validate(in ConnectionInput) ([]guide.Notice, error) {
	if err := s.checkEndpoints(in); err != nil {
		return nil, err
	}
	wantCert, err := in.wantsCertificate()
	if err != nil {
		return nil, err
	}
	_, notices, err := guide.Validate(in.guide(), s.now())
	if wantCert && in.Certificate == nil {
		// The certificate is generated when the connection is created: no secret is asked.
		err = withoutSecretErrors(err)
	}
	if err == nil {
		err = s.checkSets(in.Entities, in.WriteEntities)
	}
	return notices, err
}

func (s *Impl) checkSets(lists ...[]string) error {
	for _, l := range lists {
		for _, set := range l {
			if _, custom, err := syncer.ParseCustomEntry(set); custom {
				if err != nil {
					return fmt.Errorf("%w: %v", store.ErrInvalid, err)
				}
				continue
			}
			if _, ok := s.schema.EntitySet(set); !ok {
				return fmt.Errorf("%w: %q is not an entity set of API v2.0 (check the spelling: entity sets are camelCase plurals such as salesInvoices; a custom API's set is publisher/group/version/entitySet, see GET /api/v1/connections/{id}/schema)", store.ErrInvalid, set)
			}
		}
	}
	return nil
}

// checkScheduleSets refuses a schedule for a set that is not one, or for a line set,
// which is synced with its document (so its schedule would never apply).
func (s *Impl) checkScheduleSets(sets map[string]store.Schedule) error {
	for set := range sets {
		ent, ok := s.schema.EntitySet(set)
		switch {
		case !ok:
			return fmt.Errorf("%w: setSchedules: %q is not an entity set of API v2.0 (entity sets are camelCase plurals such as salesInvoices)", store.ErrInvalid, set)
		case ent.Parent != nil:
			return fmt.Errorf("%w: setSchedules: %s are synced with their documents; give the schedule to %s instead", store.ErrInvalid, set, ent.Parent.EntitySet)
		}
	}
	return nil
}

// CompaniesFor implements Service.
func (s *Impl) CompaniesFor(ctx context.Context, in ConnectionInput) ([][2]string, error) {
	if err := s.checkEndpoints(in); err != nil {
		return nil, err
	}
	if err := readCA(&in); err != nil {
		return nil, err
	}
	checked, _, err := guide.Validate(guide.Input{TenantID: in.TenantID, ClientID: in.ClientID, Secret: in.Secret, Environment: in.Environment,
		Certificate: in.Certificate}, s.now())
	if err != nil {
		return nil, err
	}
	c, err := s.open(ctx, store.Connection{TenantID: checked.TenantID, ClientID: checked.ClientID, Environment: checked.Environment,
		AuthorityHost: in.AuthorityHost, BCBaseURL: in.BCBaseURL, CAPEM: in.CAPEM}, checked.Credential())
	if err != nil {
		return nil, err
	}
	return companies(ctx, c.BC)
}

func companies(ctx context.Context, c *bc.Client) ([][2]string, error) {
	cs, err := c.Companies(ctx)
	if err != nil {
		return nil, err
	}
	out := make([][2]string, 0, len(cs))
	for _, c := range cs {
		out = append(out, [2]string{string(c.ID), c.Name})
	}
	return out, nil
}

// Companies lists the companies of a stored connection's environment.
func (s *Impl) Companies(ctx context.Context, id string) ([][2]string, error) {
	c, err := s.Conn(ctx, id)
	if err != nil {
		return nil, err
	}
	return companies(ctx, c.BC)
}

// CreateConnection implements Service. It is what `bcconnector connection add` does:
// validate, diagnose (the report is kept as the connection's last), store with the
// company pinned to its ID, and seal the secret, verified by the doctor's token request.
// With Credential "certificate" and no Certificate, there is nothing to check yet: a
// certificate is generated and stored as the pending credential of the connection, which
// the admin uploads in Step 3 before ActivateCredential checks and activates it.
func (s *Impl) CreateConnection(ctx context.Context, in ConnectionInput) (ConnectionView, *doctor.Report, error) {
	return s.createConnection(ctx, in, checkOrFail)
}

// CreateConnectionDraft is CreateConnection for the CLI, which has no wizard to hold a
// draft: when the check fails, the connection is kept as a draft instead of dropped. It
// is stored with its client secret pending, so nothing syncs it
// (checkActiveCredential), and the failing report as its last; RunDoctor re-checks it
// and, when the check passes, activates the secret and pins the company. The error then
// wraps both ErrSetupFailed and ErrDraftKept, and the view names the draft. A draft of
// the same name (no active credential, a pending client secret) is replaced, so running
// the same command again with a corrected value works.
func (s *Impl) CreateConnectionDraft(ctx context.Context, in ConnectionInput) (ConnectionView, *doctor.Report, error) {
	return s.createConnection(ctx, in, checkOrDraft)
}

// CreateConnectionUnchecked stores a connection without contacting Entra or BC (the
// CLI's --no-check): the company is kept as given.
func (s *Impl) CreateConnectionUnchecked(ctx context.Context, in ConnectionInput) (ConnectionView, error) {
	v, _, err := s.createConnection(ctx, in, noCheck)
	return v, err
}

// createMode says what createConnection does about the setup check.
type createMode int

const (
	checkOrFail  createMode = iota // check; on failure store nothing
	checkOrDraft                   // check; on failure keep a draft
	noCheck                        // store without checking
)

func (s *Impl) createConnection(ctx context.Context, in ConnectionInput, mode createMode) (ConnectionView, *doctor.Report, error) {
	check := mode != noCheck
	if err := s.checkEndpoints(in); err != nil {
		return ConnectionView{}, nil, err
	}
	if err := readCA(&in); err != nil {
		return ConnectionView{}, nil, err
	}
	wantCert, err := in.wantsCertificate()
	if err != nil {
		return ConnectionView{}, nil, err
	}
	companies, err := parseCompanies(in.Companies)
	if err != nil {
		return ConnectionView{}, nil, err
	}
	if strings.TrimSpace(in.Company) == "" && len(companies) > 0 {
		in.Company = companies[0].Label() // the doctor checks the connection's own company
	}
	allCompanies := in.AllCompanies != nil && *in.AllCompanies
	if wantCert && in.Certificate == nil {
		// Generated here: Entra cannot know it before the admin uploads it, so nothing can be
		// checked now and the connection is stored with it pending.
		if in.Certificate, err = s.DraftCertificate(in); err != nil {
			return ConnectionView{}, nil, err
		}
		check = false
	}
	checked, _, err := guide.Validate(in.guide(), s.now())
	if err != nil {
		return ConnectionView{}, nil, err
	}
	if err := s.checkSets(in.Entities, in.WriteEntities); err != nil {
		return ConnectionView{}, nil, err
	}
	cn := store.Connection{
		Name: strings.TrimSpace(in.Name), TenantID: checked.TenantID, ClientID: checked.ClientID, Environment: checked.Environment,
		CompanyName: checked.Company, AuthorityHost: in.AuthorityHost, BCBaseURL: in.BCBaseURL, CAPEM: in.CAPEM,
		Entities: in.Entities, WriteEntities: in.WriteEntities, Companies: companies, AllCompanies: allCompanies,
		SetSchedules: in.SetSchedules,
	}
	if in.Schedule != nil {
		cn.Schedule = *in.Schedule
	}
	if err := s.checkScheduleSets(cn.SetSchedules); err != nil {
		return ConnectionView{}, nil, err
	}
	if guide.IsGUID(checked.Company) {
		cn.CompanyID, cn.CompanyName = checked.Company, ""
	}
	if cn.CompanyID == "" && cn.CompanyName == "" && allCompanies && check {
		// "All companies" and none named: the connection's own is the first BC lists.
		if list, err := s.CompaniesFor(ctx, in); err == nil && len(list) > 0 {
			in.Company, cn.CompanyID = list[0][0], list[0][0]
		}
	}
	var rep *doctor.Report
	draft := false
	if check {
		rep = s.Diagnose(ctx, in, nil)
		switch {
		case !rep.OK && mode == checkOrDraft && checked.Certificate == nil:
			draft = true
		case !rep.OK:
			return ConnectionView{}, rep, fmt.Errorf("%w at %s; nothing was stored: fix that step and try again", ErrSetupFailed, failedStep(rep))
		default:
			cn.CompanyID, cn.CompanyName = rep.CompanyID, rep.CompanyName
		}
		if !draft && (len(companies) > 0 || allCompanies) {
			// The other companies need nothing more from the customer: the same app reads
			// them. Each is resolved to its ID and pinned, as the doctor did for the first.
			list, err := s.CompaniesFor(ctx, in)
			if err != nil {
				return ConnectionView{}, rep, fmt.Errorf("list the environment's companies: %w", err)
			}
			if cn.Companies, err = resolveCompanies(append([]store.Company{{ID: cn.CompanyID}}, companies...), allCompanies, list); err != nil {
				return ConnectionView{}, rep, err
			}
		}
	}
	if cn.Name == "" {
		company := cn.CompanyName
		if company == "" {
			company = cn.CompanyID
		}
		cn.Name = guide.DisplayName(cn.Environment, company)
	}
	if mode == checkOrDraft {
		// The same command run again, passing or not, replaces its earlier draft.
		if err := s.dropDraft(ctx, cn.Name); err != nil {
			return ConnectionView{}, rep, err
		}
	}
	created, err := s.st.CreateConnection(ctx, cn)
	if err != nil {
		return ConnectionView{}, rep, err
	}
	var rec store.SecretRecord
	if checked.Certificate != nil {
		rec, err = s.st.AddCertificate(ctx, created.ID, *checked.Certificate)
	} else {
		rec, err = s.st.AddSecret(ctx, created.ID, checked.Secret, checked.SecretEndDate)
	}
	if err == nil && check {
		_, err = s.st.MarkSecretVerified(ctx, created.ID, rec.ID)
	}
	if err == nil && !draft && (check || checked.Certificate == nil) {
		// A certificate nobody checked stays pending: it has not been uploaded yet; so
		// does a draft's secret, which failed its check.
		_, err = s.st.PromoteSecret(ctx, created.ID, rec.ID)
	}
	if err != nil {
		_ = s.st.DeleteConnection(ctx, created.ID)
		return ConnectionView{}, rep, err
	}
	if rep != nil {
		s.saveReport(ctx, created.ID, rep)
	}
	s.log.Info("connection created", "connection", created.ID, "name", created.Name, "checked", check, "draft", draft)
	v, err := s.view(ctx, created)
	if err == nil && draft {
		err = fmt.Errorf("%w at %s; %w", ErrSetupFailed, failedStep(rep), ErrDraftKept)
	}
	return v, rep, err
}

// dropDraft deletes the connection called name if it is a draft (CreateConnectionDraft):
// no active credential and a pending client secret. Any other connection of that name
// stays, and creating the new one then fails with the store's name conflict.
func (s *Impl) dropDraft(ctx context.Context, name string) error {
	c, err := s.st.GetConnection(ctx, name)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	recs, err := s.st.ListSecrets(ctx, c.ID)
	if err != nil {
		return err
	}
	pendingSecret := false
	for _, r := range recs {
		if r.State == store.SecretActive {
			return nil
		}
		if r.State == store.SecretPending && r.Kind != store.CredentialCertificate {
			pendingSecret = true
		}
	}
	if !pendingSecret {
		return nil
	}
	s.forget(c.ID)
	return s.st.DeleteConnection(ctx, c.ID)
}

// view builds what people see of a connection: never the secret.
func (s *Impl) view(ctx context.Context, c store.Connection) (ConnectionView, error) {
	v := ConnectionView{Connection: c, Kind: store.KindOwnApp}
	if cons, err := s.st.Consent(ctx, c.ID); err == nil {
		s.expressView(ctx, &v, cons)
	} else if !isNotFound(err) {
		return v, err
	}
	if be := s.blocked(c); be != nil {
		v.Blocked = be.Error()
	}
	secrets, err := s.st.ListSecrets(ctx, c.ID)
	if err != nil {
		return v, err
	}
	for _, r := range secrets {
		switch r.State {
		case store.SecretActive:
			v.SecretEndDate = r.EndDate
			v.SecretExpiry, v.SecretDays = guide.ExpiryLevel(r.EndDate, s.now())
			v.Credential = credentialView(r)
		case store.SecretPending:
			v.PendingCredential = credentialView(r)
		}
	}
	if raw, err := s.st.DoctorReport(ctx, c.ID); err == nil {
		if rep, err := decodeReport(raw); err == nil {
			v.LastDoctor = rep
		}
	}
	states, err := s.st.SyncStates(ctx, c.ID)
	if err != nil {
		return v, err
	}
	v.Sync = states
	v.Paused = len(states) > 0
	cos := c.SyncCompanies()
	for _, co := range cos {
		v.CompanyStatus = append(v.CompanyStatus, CompanyStatus{ID: co.ID, Name: co.Name})
	}
	for _, st := range states {
		v.Paused = v.Paused && st.Paused
		n, err := s.st.ReplicaCount(ctx, st.Key)
		if err != nil {
			return v, err
		}
		if v.Counts == nil {
			v.Counts = map[string]int64{}
		}
		v.Counts[st.Key.EntitySet] += n
		if v.CompanyCounts[st.Key.CompanyID] == nil {
			if v.CompanyCounts == nil {
				v.CompanyCounts = map[string]map[string]int64{}
			}
			v.CompanyCounts[st.Key.CompanyID] = map[string]int64{}
		}
		v.CompanyCounts[st.Key.CompanyID][st.Key.EntitySet] = n
		i := slices.IndexFunc(v.CompanyStatus, func(cs CompanyStatus) bool { return cs.ID == st.Key.CompanyID })
		if i < 0 {
			// A company the connection no longer syncs whose replica is still kept.
			v.CompanyStatus = append(v.CompanyStatus, CompanyStatus{ID: st.Key.CompanyID})
			i = len(v.CompanyStatus) - 1
		}
		cs := &v.CompanyStatus[i]
		cs.Rows += n
		cs.Sets++
		if st.LastError != "" {
			cs.Failing++
		}
	}
	return v, nil
}

// ListConnections implements Service.
func (s *Impl) ListConnections(ctx context.Context, allowed func(connID string) bool) ([]ConnectionView, error) {
	all, err := s.st.ListConnections(ctx)
	if err != nil {
		return nil, err
	}
	out := []ConnectionView{}
	for _, c := range all {
		if allowed != nil && !allowed(c.ID) {
			continue
		}
		v, err := s.view(ctx, c)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// GetConnection implements Service.
func (s *Impl) GetConnection(ctx context.Context, idOrName string) (ConnectionView, error) {
	c, err := s.st.GetConnection(ctx, idOrName)
	if err != nil {
		return ConnectionView{}, err
	}
	return s.view(ctx, c)
}

// UpdateConnection implements Service: empty fields of in keep their stored value; the
// secret cannot be changed here (RotateSecret). A changed company is resolved again.
func (s *Impl) UpdateConnection(ctx context.Context, id string, in ConnectionInput) (ConnectionView, error) {
	if in.Secret != "" {
		return ConnectionView{}, &guide.FieldError{Field: "client secret", Step: guide.Step3Secret,
			Problem: "a secret cannot be changed by an update", Fix: "rotate it (rotate-secret), which verifies the new one before retiring the old one"}
	}
	if in.Credential != "" || in.CertificateMonths != 0 || in.Certificate != nil {
		return ConnectionView{}, &guide.FieldError{Field: "credential", Step: guide.Step3Secret,
			Problem: "the credential cannot be changed by an update",
			Fix:     "generate a certificate for the connection (POST …/certificates, `bcconnector connection rotate NAME --certificate FILE.cer`) or rotate the secret; the new one is activated only after a passing check"}
	}
	if err := s.checkEndpoints(in); err != nil {
		return ConnectionView{}, err
	}
	caGiven := in.CAFile != "" || in.CAPEM != ""
	if err := readCA(&in); err != nil {
		return ConnectionView{}, err
	}
	c, err := s.st.GetConnection(ctx, id)
	if err != nil {
		return ConnectionView{}, err
	}
	set := func(dst *string, v string, check func(string) (string, *guide.FieldError)) error {
		if v == "" {
			return nil
		}
		if check != nil {
			var fe *guide.FieldError
			if v, fe = check(v); fe != nil {
				return fe
			}
		}
		*dst = v
		return nil
	}
	if err := errors.Join(
		set(&c.Name, strings.TrimSpace(in.Name), nil),
		set(&c.TenantID, in.TenantID, keep("tenant ID", c.TenantID, guide.CheckTenant)),
		set(&c.ClientID, in.ClientID, keep("client ID", c.ClientID, guide.CheckClientID)),
		set(&c.Environment, in.Environment, guide.CheckEnvironment),
		set(&c.AuthorityHost, in.AuthorityHost, nil),
		set(&c.BCBaseURL, in.BCBaseURL, nil),
	); err != nil {
		return ConnectionView{}, err
	}
	if caGiven {
		c.CAPEM, c.CAFile = in.CAPEM, ""
	}
	if in.Company != "" {
		company, fe := guide.CheckCompany(in.Company)
		if fe != nil {
			return ConnectionView{}, fe
		}
		if guide.IsGUID(company) {
			c.CompanyID, c.CompanyName = company, ""
		} else if company != c.CompanyName {
			c.CompanyID, c.CompanyName = "", company
		}
	}
	if in.Companies != nil {
		cos, err := parseCompanies(in.Companies)
		if err != nil {
			return ConnectionView{}, err
		}
		if in.Company == "" && len(cos) > 0 {
			// The list replaces the stored one: the connection's own company stays when
			// listed, else the first listed becomes it.
			own := c
			own.Companies = cos
			if _, ok := own.FindCompany(c.CompanyID); !ok {
				if _, ok := own.FindCompany(c.CompanyName); !ok || c.CompanyName == "" {
					c.CompanyID, c.CompanyName = cos[0].ID, cos[0].Name
				}
			}
		}
		c.Companies = cos
	}
	if in.AllCompanies != nil {
		c.AllCompanies = *in.AllCompanies
	}
	if in.Schedule != nil {
		c.Schedule = *in.Schedule
	}
	if in.SetSchedules != nil {
		c.SetSchedules = in.SetSchedules
	}
	if err := s.checkScheduleSets(c.SetSchedules); err != nil {
		return ConnectionView{}, err
	}
	if in.Entities != nil {
		c.Entities = in.Entities
	}
	if in.WriteEntities != nil {
		c.WriteEntities = in.WriteEntities
	}
	if err := s.checkSets(c.Entities, c.WriteEntities); err != nil {
		return ConnectionView{}, err
	}
	s.forget(c.ID)
	if c.CompanyID == "" || c.CompanyName == "" {
		// Resolve (or name) the company with the stored secret, so writes stay pinned.
		if cn, err := s.openStored(ctx, c); err == nil {
			if c.CompanyID == "" {
				if co, err := cn.BC.CompanyByName(ctx, c.CompanyName); err == nil {
					c.CompanyID, c.CompanyName = string(co.ID), co.Name
				} else {
					field := "company"
					if in.Company == "" && in.Companies != nil {
						field = "companies" // the first listed became the connection's own
					}
					return ConnectionView{}, &guide.FieldError{Field: field, Step: guide.ConnectionSettings, Problem: err.Error(),
						Fix: "give the company's name exactly as BC lists it, or its ID"}
				}
			}
		}
	}
	if in.Companies != nil || c.AllCompanies {
		if cn, err := s.openStored(ctx, c); err == nil {
			list, err := companies(ctx, cn.BC)
			if err != nil {
				return ConnectionView{}, fmt.Errorf("list the environment's companies: %w", err)
			}
			own := store.Company{ID: c.CompanyID, Name: c.CompanyName}
			if c.Companies, err = resolveCompanies(append([]store.Company{own}, c.Companies...), c.AllCompanies, list); err != nil {
				return ConnectionView{}, err
			}
			c.CompanyID, c.CompanyName = c.Companies[0].ID, c.Companies[0].Name
		}
	}
	updated, err := s.st.UpdateConnection(ctx, c)
	if err != nil {
		return ConnectionView{}, err
	}
	return s.view(ctx, updated)
}

// keep wraps a field check so that an update may repeat the stored value but not change
// it: the stored secret belongs to that tenant's app registration, and another tenant or
// app needs its own secret and a passing check, which is what creating a connection does.
func keep(field, stored string, check func(string) (string, *guide.FieldError)) func(string) (string, *guide.FieldError) {
	return func(v string) (string, *guide.FieldError) {
		v, fe := check(v)
		if fe != nil || strings.EqualFold(v, stored) {
			return v, fe
		}
		return "", &guide.FieldError{Field: field, Step: guide.Step2IDs,
			Problem: "an update cannot move a connection to another tenant or app registration: the stored secret belongs to the current one",
			Fix:     "add a new connection with the new tenant ID, client ID and that app's secret (it is checked before it is stored), then delete this one"}
	}
}

// RotateSecret implements Service: the new secret is added as pending, proven with a
// token request and only then promoted; the old one keeps working until that moment.
func (s *Impl) RotateSecret(ctx context.Context, id string, newSecret secret.Secret, endDate string) error {
	c, err := s.st.GetConnection(ctx, id)
	if err != nil {
		return err
	}
	if err := s.refuseExpress(ctx, c); err != nil {
		return err
	}
	if be := s.blocked(c); be != nil {
		return be
	}
	sec, fe := guide.CheckSecret(newSecret)
	if fe != nil {
		return fe
	}
	var end time.Time
	if endDate != "" {
		if end, _, fe = guide.CheckSecretEndDate(endDate, s.now()); fe != nil {
			return fe
		}
	}
	rec, err := s.st.AddSecret(ctx, c.ID, sec, end)
	if err != nil {
		return err
	}
	// The pending secret is proved with the connection's own endpoints and CA, by a token
	// source of its own (the live one keeps the current secret until the promotion).
	cn, err := s.open(ctx, c, secret.Credential{Secret: sec})
	if err != nil {
		_, _ = s.st.RetireSecret(ctx, c.ID, rec.ID)
		return err
	}
	if _, err = cn.Tokens.Token(ctx); err != nil {
		_, _ = s.st.RetireSecret(ctx, c.ID, rec.ID)
		return &guide.FieldError{Field: "client secret", Step: guide.Step3Secret,
			Problem: "the new secret does not work, so the current one stays active: " + err.Error(),
			Fix:     "paste the new secret's Value (not its Secret ID) from Certificates & secrets"}
	}
	if _, err := s.st.PromoteSecret(ctx, c.ID, rec.ID); err != nil {
		return err
	}
	s.forget(c.ID)
	s.log.Info("client secret rotated", "connection", c.ID)
	return nil
}
