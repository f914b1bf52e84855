package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/bizzjoiner/bcconnector/bc"
	"github.com/bizzjoiner/bcconnector/bcschema"
	"github.com/bizzjoiner/bcconnector/conn"
	"github.com/bizzjoiner/bcconnector/doctor"
	"github.com/bizzjoiner/bcconnector/entra"
	"github.com/bizzjoiner/bcconnector/guide"
	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/syncer"
)

// Errors the service returns besides the store's (store.ErrNotFound, store.ErrConflict,
// store.ErrInvalid), *guide.FieldError and *bc.Error. The web layers map them to statuses.
var (
	// ErrSetupFailed means the doctor found a wrong setup step; the report says which.
	ErrSetupFailed = errors.New("service: the setup check failed")
	// ErrIdempotencyKeyReused means an Idempotency-Key was used before for another request.
	ErrIdempotencyKeyReused = errors.New("service: the Idempotency-Key was used for a different request")
	// ErrIdempotencyInProgress means the first request with the key has not finished yet.
	ErrIdempotencyInProgress = errors.New("service: a request with this Idempotency-Key is still running")
	// ErrNoJobs means the service was built without a job queue, so it cannot sync.
	ErrNoJobs = errors.New("service: no job queue configured; syncing runs under `bcconnector serve`")
)

// JobQueue runs sync jobs (River in `bcconnector serve`).
type JobQueue interface {
	Enqueue(ctx context.Context, args syncer.SyncArgs) error
}

// Store is what the service needs persisted: *sqlite.DB implements it.
type Store interface {
	store.Store
	store.ReplicaStore
	store.IdempotencyStore
	store.DoctorStore
	store.RecordQuerier
}

// Options configures New.
type Options struct {
	// Store keeps connections, secrets, the replica and the service's own records. Required.
	Store Store
	// Syncer expands entity sets into sync targets; default one built on Store.
	Syncer *syncer.Syncer
	// Jobs runs syncs; nil makes Sync fail with ErrNoJobs.
	Jobs JobQueue
	// OpenFunc builds a connection's clients; default conn.Open with HTTPClient and a BC
	// limiter shared by every connection of one app and environment.
	OpenFunc func(ctx context.Context, c store.Connection, sec secret.Secret) (*conn.Conn, error)
	// HTTPClient reaches Entra and BC for the doctor and connections; nil means one built
	// from the connection's CA file.
	HTTPClient *http.Client
	// WrapTransport, when set, wraps the transport of every connection's HTTP client (for
	// metrics).
	WrapTransport func(http.RoundTripper) http.RoundTripper
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger receives operational logs (never secrets); default discard.
	Logger *slog.Logger
	// AllowEndpointOverrides lets callers set a connection's authority host, BC base URL and
	// CA file. Off by default: an API caller could otherwise send a customer's secret to a
	// host of their choosing or make the server read any file. The sandbox and operators
	// who need other clouds or a TLS-inspecting proxy turn it on.
	AllowEndpointOverrides bool
	// BeforeDelete, when set, is called before a connection is deleted, with its BC client
	// (nil if it cannot be opened), e.g. to remove its webhook subscriptions in BC.
	BeforeDelete func(ctx context.Context, connID string, client *bc.Client)
}

// checkEndpoints refuses endpoint overrides unless the server allows them.
func (s *Impl) checkEndpoints(in ConnectionInput) error {
	if s.allowOverrides {
		return nil
	}
	for _, f := range []struct{ name, v, def string }{
		{"authority host", in.AuthorityHost, guide.DefaultAuthorityHost},
		{"BC API base URL", in.BCBaseURL, guide.DefaultBCBaseURL},
		{"CA file", in.CAFile, ""},
	} {
		if f.v != "" && strings.TrimSuffix(f.v, "/") != strings.TrimSuffix(f.def, "/") {
			return &guide.FieldError{Field: f.name, Step: guide.ConnectionSettings,
				Problem: "endpoint overrides are turned off on this server",
				Fix:     "leave it empty to use Microsoft's public cloud, or ask the operator to start the server with --allow-endpoint-overrides"}
		}
	}
	return nil
}

// Impl is the Service on a store, BC and a job queue. It is safe for concurrent use.
type Impl struct {
	st   Store
	sync *syncer.Syncer
	jobs JobQueue
	open func(ctx context.Context, c store.Connection, sec secret.Secret) (*conn.Conn, error)
	hc   *http.Client
	wrap func(http.RoundTripper) http.RoundTripper
	// allowOverrides permits endpoint overrides (Options.AllowEndpointOverrides).
	allowOverrides bool
	beforeDelete   func(ctx context.Context, connID string, client *bc.Client)
	now            func() time.Time
	log            *slog.Logger
	schema         *bcschema.Schema

	mu       sync.Mutex
	conns    map[string]*conn.Conn  // by connection ID
	limiters map[string]*bc.Limiter // by tenant|client|environment
}

var _ Service = (*Impl)(nil)

// New returns the service.
func New(opt Options) (*Impl, error) {
	if opt.Store == nil {
		return nil, errors.New("service: Options.Store is required")
	}
	s := &Impl{st: opt.Store, sync: opt.Syncer, jobs: opt.Jobs, hc: opt.HTTPClient, wrap: opt.WrapTransport, now: opt.Now, log: opt.Logger,
		conns: map[string]*conn.Conn{}, limiters: map[string]*bc.Limiter{}, allowOverrides: opt.AllowEndpointOverrides,
		beforeDelete: opt.BeforeDelete}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	var err error
	if s.schema, err = bcschema.Load(); err != nil {
		return nil, err
	}
	if s.sync == nil {
		if s.sync, err = syncer.New(syncer.Options{Store: opt.Store, Schema: s.schema, Logger: s.log, Now: opt.Now}); err != nil {
			return nil, err
		}
	}
	s.open = opt.OpenFunc
	if s.open == nil {
		s.open = s.defaultOpen
	}
	return s, nil
}

func (s *Impl) defaultOpen(_ context.Context, c store.Connection, sec secret.Secret) (*conn.Conn, error) {
	key := c.TenantID + "|" + c.ClientID + "|" + c.Environment
	s.mu.Lock()
	lim := s.limiters[key]
	if lim == nil {
		lim = bc.NewLimiter(bc.LimiterOptions{Now: s.now})
		s.limiters[key] = lim
	}
	s.mu.Unlock()
	hc, err := s.httpClient(c.CAFile)
	if err != nil {
		return nil, err
	}
	if s.wrap != nil {
		cp := *hc
		cp.Transport = s.wrap(hc.Transport)
		hc = &cp
	}
	return conn.Open(c, sec, conn.Options{HTTPClient: hc, Limiter: lim, Logger: s.log, Now: s.now})
}

// Conn returns the live clients of a stored connection, opened once and shared, so every
// caller (API writes, the syncer) stays within the same BC limits.
func (s *Impl) Conn(ctx context.Context, id string) (*conn.Conn, error) {
	s.mu.Lock()
	c := s.conns[id]
	s.mu.Unlock()
	if c != nil {
		return c, nil
	}
	cn, err := s.st.GetConnection(ctx, id)
	if err != nil {
		return nil, err
	}
	sec, _, err := s.st.ActiveSecret(ctx, cn.ID)
	if err != nil {
		return nil, fmt.Errorf("connection %q has no usable client secret: %w", cn.Name, err)
	}
	c, err = s.open(ctx, cn, sec)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if prev := s.conns[cn.ID]; prev != nil {
		return prev, nil
	}
	s.conns[cn.ID] = c
	return c, nil
}

// Client implements syncer.Clients.
func (s *Impl) Client(ctx context.Context, connectionID string) (*bc.Client, error) {
	c, err := s.Conn(ctx, connectionID)
	if err != nil {
		return nil, err
	}
	return c.BC, nil
}

// Conns returns the connections opened so far (for metrics).
func (s *Impl) Conns() map[string]*conn.Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]*conn.Conn, len(s.conns))
	for k, v := range s.conns {
		out[k] = v
	}
	return out
}

func (s *Impl) forget(id string) {
	s.mu.Lock()
	delete(s.conns, id)
	s.mu.Unlock()
}

func (s *Impl) httpClient(caFile string) (*http.Client, error) {
	if s.hc != nil {
		return s.hc, nil
	}
	return conn.HTTPClient(caFile)
}

func (in ConnectionInput) guide() guide.Input {
	return guide.Input{TenantID: in.TenantID, ClientID: in.ClientID, Secret: in.Secret, SecretEndDate: in.SecretEndDate,
		Environment: in.Environment, Company: in.Company}
}

// Validate implements Service.
func (s *Impl) Validate(in ConnectionInput) ([]guide.Notice, error) {
	if err := s.checkEndpoints(in); err != nil {
		return nil, err
	}
	_, notices, err := guide.Validate(in.guide(), s.now())
	if err == nil {
		err = s.checkSets(in.Entities, in.WriteEntities)
	}
	return notices, err
}

func (s *Impl) checkSets(lists ...[]string) error {
	for _, l := range lists {
		for _, set := range l {
			if _, ok := s.schema.EntitySet(set); !ok {
				return fmt.Errorf("%w: %q is not an entity set of API v2.0 (check the spelling: entity sets are camelCase plurals such as salesInvoices)", store.ErrInvalid, set)
			}
		}
	}
	return nil
}

// Diagnose implements Service.
func (s *Impl) Diagnose(ctx context.Context, in ConnectionInput, onCheck func(doctor.Check)) *doctor.Report {
	if err := s.checkEndpoints(in); err != nil {
		in.AuthorityHost, in.BCBaseURL, in.CAFile = "", "", ""
		s.log.Warn("endpoint overrides ignored: they are turned off on this server")
	}
	cfg := doctor.Config{Input: in.guide(), AuthorityHost: in.AuthorityHost, BCBaseURL: in.BCBaseURL,
		Entities: in.Entities, WriteEntities: in.WriteEntities, OnCheck: onCheck, Now: s.now, Logger: s.log}
	hc, err := s.httpClient(in.CAFile)
	if err != nil {
		// The doctor reports an unusable CA file as a failed input check.
		now := s.now()
		step := guide.ConnectionSettings
		c := doctor.Check{ID: doctor.CheckInput, Title: "Input values", Step: step, Status: doctor.Failed, Problem: err.Error(),
			Fix: "Give the path of a PEM file with the CA certificates to trust, or leave the CA file empty."}
		if onCheck != nil {
			onCheck(c)
		}
		return &doctor.Report{FailedStep: &step, Checks: []doctor.Check{c}, Started: now, Finished: now}
	}
	cfg.HTTPClient = hc
	return doctor.Run(ctx, cfg)
}

// CompaniesFor implements Service.
func (s *Impl) CompaniesFor(ctx context.Context, in ConnectionInput) ([][2]string, error) {
	if err := s.checkEndpoints(in); err != nil {
		return nil, err
	}
	checked, _, err := guide.Validate(guide.Input{TenantID: in.TenantID, ClientID: in.ClientID, Secret: in.Secret, Environment: in.Environment}, s.now())
	if err != nil {
		return nil, err
	}
	c, err := s.open(ctx, store.Connection{TenantID: checked.TenantID, ClientID: checked.ClientID, Environment: checked.Environment,
		AuthorityHost: in.AuthorityHost, BCBaseURL: in.BCBaseURL, CAFile: in.CAFile}, secret.Secret(checked.Secret))
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
func (s *Impl) CreateConnection(ctx context.Context, in ConnectionInput) (ConnectionView, *doctor.Report, error) {
	return s.createConnection(ctx, in, true)
}

// CreateConnectionUnchecked stores a connection without contacting Entra or BC (the
// CLI's --no-check): the company is kept as given.
func (s *Impl) CreateConnectionUnchecked(ctx context.Context, in ConnectionInput) (ConnectionView, error) {
	v, _, err := s.createConnection(ctx, in, false)
	return v, err
}

func (s *Impl) createConnection(ctx context.Context, in ConnectionInput, check bool) (ConnectionView, *doctor.Report, error) {
	if err := s.checkEndpoints(in); err != nil {
		return ConnectionView{}, nil, err
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
		CompanyName: checked.Company, AuthorityHost: in.AuthorityHost, BCBaseURL: in.BCBaseURL, CAFile: in.CAFile,
		Entities: in.Entities, WriteEntities: in.WriteEntities,
	}
	if guide.IsGUID(checked.Company) {
		cn.CompanyID, cn.CompanyName = checked.Company, ""
	}
	var rep *doctor.Report
	if check {
		rep = s.Diagnose(ctx, in, nil)
		if !rep.OK {
			return ConnectionView{}, rep, fmt.Errorf("%w at %s; nothing was stored: fix that step and try again", ErrSetupFailed, failedStep(rep))
		}
		cn.CompanyID, cn.CompanyName = rep.CompanyID, rep.CompanyName
	}
	if cn.Name == "" {
		company := cn.CompanyName
		if company == "" {
			company = cn.CompanyID
		}
		cn.Name = guide.DisplayName(cn.Environment, company)
	}
	created, err := s.st.CreateConnection(ctx, cn)
	if err != nil {
		return ConnectionView{}, rep, err
	}
	rec, err := s.st.AddSecret(ctx, created.ID, secret.Secret(checked.Secret), checked.SecretEndDate)
	if err == nil && check {
		_, err = s.st.MarkSecretVerified(ctx, created.ID, rec.ID)
	}
	if err == nil {
		_, err = s.st.PromoteSecret(ctx, created.ID, rec.ID)
	}
	if err != nil {
		_ = s.st.DeleteConnection(ctx, created.ID)
		return ConnectionView{}, rep, err
	}
	if rep != nil {
		s.saveReport(ctx, created.ID, rep)
	}
	s.log.Info("connection created", "connection", created.ID, "name", created.Name, "checked", check)
	v, err := s.view(ctx, created)
	return v, rep, err
}

func failedStep(r *doctor.Report) string {
	if r.FailedStep != nil {
		return r.FailedStep.String()
	}
	return "an unnamed step"
}

func (s *Impl) saveReport(ctx context.Context, id string, rep *doctor.Report) {
	b, err := encodeReport(rep)
	if err == nil {
		err = s.st.SaveDoctorReport(ctx, id, b)
	}
	if err != nil {
		s.log.Warn("could not keep the doctor report", "connection", id, "err", err)
	}
}

// view builds what people see of a connection: never the secret.
func (s *Impl) view(ctx context.Context, c store.Connection) (ConnectionView, error) {
	v := ConnectionView{Connection: c}
	secrets, err := s.st.ListSecrets(ctx, c.ID)
	if err != nil {
		return v, err
	}
	for _, r := range secrets {
		if r.State == store.SecretActive {
			v.SecretEndDate = r.EndDate
			v.SecretExpiry, v.SecretDays = guide.ExpiryLevel(r.EndDate, s.now())
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
	if err := s.checkEndpoints(in); err != nil {
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
		set(&c.TenantID, in.TenantID, guide.CheckTenant),
		set(&c.ClientID, in.ClientID, guide.CheckClientID),
		set(&c.Environment, in.Environment, guide.CheckEnvironment),
		set(&c.AuthorityHost, in.AuthorityHost, nil),
		set(&c.BCBaseURL, in.BCBaseURL, nil),
		set(&c.CAFile, in.CAFile, nil),
	); err != nil {
		return ConnectionView{}, err
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
					return ConnectionView{}, &guide.FieldError{Field: "company", Step: guide.ConnectionSettings, Problem: err.Error(),
						Fix: "give the company's name exactly as BC lists it, or its ID"}
				}
			}
		}
	}
	updated, err := s.st.UpdateConnection(ctx, c)
	if err != nil {
		return ConnectionView{}, err
	}
	return s.view(ctx, updated)
}

func (s *Impl) openStored(ctx context.Context, c store.Connection) (*conn.Conn, error) {
	sec, _, err := s.st.ActiveSecret(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	return s.open(ctx, c, sec)
}

// DeleteConnection implements Service.
func (s *Impl) DeleteConnection(ctx context.Context, id string) error {
	c, err := s.st.GetConnection(ctx, id)
	if err != nil {
		return err
	}
	if s.beforeDelete != nil {
		client, _ := s.Client(ctx, c.ID)
		s.beforeDelete(ctx, c.ID, client)
	}
	s.forget(c.ID)
	if err := s.st.DeleteConnection(ctx, c.ID); err != nil {
		return err
	}
	s.log.Info("connection deleted", "connection", c.ID)
	return nil
}

// RotateSecret implements Service: the new secret is added as pending, proven with a
// token request and only then promoted; the old one keeps working until that moment.
func (s *Impl) RotateSecret(ctx context.Context, id, newSecret, endDate string) error {
	c, err := s.st.GetConnection(ctx, id)
	if err != nil {
		return err
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
	rec, err := s.st.AddSecret(ctx, c.ID, secret.Secret(sec), end)
	if err != nil {
		return err
	}
	hc, err := s.httpClient(c.CAFile)
	if err != nil {
		_, _ = s.st.RetireSecret(ctx, c.ID, rec.ID)
		return err
	}
	src, err := entra.NewSource(entra.Config{TenantID: c.TenantID, ClientID: c.ClientID, Secret: sec, AuthorityHost: c.AuthorityHost,
		HTTPClient: hc, Logger: s.log, Now: s.now})
	if err == nil {
		_, err = src.Token(ctx)
	}
	if err != nil {
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

// RunDoctor implements Service.
func (s *Impl) RunDoctor(ctx context.Context, id string, onCheck func(doctor.Check)) (*doctor.Report, error) {
	c, err := s.st.GetConnection(ctx, id)
	if err != nil {
		return nil, err
	}
	sec, rec, err := s.st.ActiveSecret(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	in := ConnectionInput{TenantID: c.TenantID, ClientID: c.ClientID, Secret: sec.Reveal(), Environment: c.Environment,
		Company: c.CompanyID, Entities: c.Entities, WriteEntities: c.WriteEntities, AuthorityHost: c.AuthorityHost,
		BCBaseURL: c.BCBaseURL, CAFile: c.CAFile}
	if !rec.EndDate.IsZero() {
		in.SecretEndDate = rec.EndDate.Format(time.DateOnly)
	}
	if in.Company == "" {
		in.Company = c.CompanyName
	}
	rep := s.Diagnose(ctx, in, onCheck)
	s.saveReport(ctx, c.ID, rep)
	if rep.OK {
		_, _ = s.st.MarkSecretVerified(ctx, c.ID, rec.ID)
	}
	return rep, nil
}

// LastDoctor returns the connection's last doctor report; store.ErrNotFound if none.
func (s *Impl) LastDoctor(ctx context.Context, id string) (*doctor.Report, error) {
	c, err := s.st.GetConnection(ctx, id)
	if err != nil {
		return nil, err
	}
	raw, err := s.st.DoctorReport(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	rep, err := decodeReport(raw)
	if err != nil {
		return nil, fmt.Errorf("stored doctor report: %w", err)
	}
	return rep, nil
}

// Targets returns the sync targets of a connection (entitySets nil = the connection's,
// else the sync defaults).
func (s *Impl) Targets(ctx context.Context, id string, entitySets []string) (store.Connection, []syncer.Target, error) {
	c, err := s.st.GetConnection(ctx, id)
	if err != nil {
		return c, nil, err
	}
	if c.CompanyID == "" {
		return c, nil, fmt.Errorf("%w: connection %q has no resolved company; run the doctor", store.ErrConflict, c.Name)
	}
	sets := entitySets
	if len(sets) == 0 {
		sets = c.Entities
	}
	if len(sets) == 0 {
		sets = doctor.DefaultEntities
	}
	if err := s.checkSets(sets); err != nil {
		return c, nil, err
	}
	ts, err := s.sync.Targets(c.ID, c.CompanyID, sets)
	return c, ts, err
}

// Sync implements Service: one job per target; a job already waiting for a target
// absorbs the new one (River uniqueness).
func (s *Impl) Sync(ctx context.Context, id string, entitySets []string, full bool) error {
	if s.jobs == nil {
		return ErrNoJobs
	}
	_, ts, err := s.Targets(ctx, id, entitySets)
	if err != nil {
		return err
	}
	for _, t := range ts {
		args := syncer.SyncArgs{ConnectionID: t.ConnectionID, CompanyID: t.CompanyID, EntitySet: t.EntitySet}
		if full {
			args.Mode = syncer.ModeFull
		}
		if err := s.jobs.Enqueue(ctx, args); err != nil {
			return fmt.Errorf("enqueue sync of %s: %w", t.EntitySet, err)
		}
	}
	return nil
}

// SetPaused implements Service: paused sets are skipped by scheduled runs.
func (s *Impl) SetPaused(ctx context.Context, id string, paused bool) error {
	c, ts, err := s.Targets(ctx, id, nil)
	if err != nil {
		return err
	}
	for _, t := range ts {
		key := store.ReplicaKey{ConnectionID: c.ID, CompanyID: t.CompanyID, EntitySet: t.EntitySet}
		if err := s.st.UpdateSyncState(ctx, key, func(st *store.SyncState) { st.Paused = paused }); err != nil {
			return err
		}
	}
	return nil
}
