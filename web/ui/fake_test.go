package ui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/bizzjoiner/bcconnector/doctor"
	"github.com/bizzjoiner/bcconnector/guide"
	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/service"
	"github.com/bizzjoiner/bcconnector/store"
)

// fakeService is an in-memory service.Service for handler and browser tests. Validation is
// the real guide.Validate; Diagnose runs diagnoseFunc (default: every check passes);
// Sync "replicates" rowsPerSet rows per entity set at once.
type fakeService struct {
	now          func() time.Time
	diagnoseFunc func(ctx context.Context, in service.ConnectionInput, onCheck func(doctor.Check)) *doctor.Report
	companies    [][2]string
	rowsPerSet   int64
	// leftBehind is what DeleteConnection says it left at BC.
	leftBehind []service.LeftSubscription

	mu      sync.Mutex
	conns   map[string]*service.ConnectionView
	secrets map[string]secret.Secret
	changes []store.Change
	calls   []string
	seen    []service.ConnectionInput // inputs given to Diagnose/CreateConnection
}

func newFake() *fakeService {
	return &fakeService{
		now:        func() time.Time { return time.Date(2026, 9, 1, 12, 0, 0, 0, time.UTC) },
		companies:  [][2]string{{"11111111-2222-3333-4444-555555555555", "Company X"}, {"66666666-2222-3333-4444-555555555555", "Company Y & Co"}},
		rowsPerSet: 3,
		conns:      map[string]*service.ConnectionView{},
		secrets:    map[string]secret.Secret{},
	}
}

func (f *fakeService) call(s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, s)
}

func (f *fakeService) called(prefix string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.calls {
		if strings.HasPrefix(c, prefix) {
			return true
		}
	}
	return false
}

func (f *fakeService) Validate(in service.ConnectionInput) ([]guide.Notice, error) {
	_, notices, err := guide.Validate(guide.Input{
		TenantID: in.TenantID, ClientID: in.ClientID, Secret: in.Secret, SecretEndDate: in.SecretEndDate,
		Environment: in.Environment, Company: in.Company,
	}, f.now())
	return notices, err
}

func okReport(now time.Time, company [2]string) *doctor.Report {
	rep := &doctor.Report{OK: true, Started: now, Finished: now, CompanyID: company[0], CompanyName: company[1]}
	for _, c := range checkOrder {
		rep.Checks = append(rep.Checks, doctor.Check{ID: c.ID, Title: c.Title, Status: doctor.Passed})
	}
	return rep
}

func (f *fakeService) Diagnose(ctx context.Context, in service.ConnectionInput, onCheck func(doctor.Check)) *doctor.Report {
	f.call("Diagnose")
	f.mu.Lock()
	f.seen = append(f.seen, in)
	f.mu.Unlock()
	if f.diagnoseFunc != nil {
		return f.diagnoseFunc(ctx, in, onCheck)
	}
	rep := okReport(f.now(), f.companies[0])
	for _, c := range rep.Checks {
		if onCheck != nil {
			onCheck(c)
		}
	}
	return rep
}

func (f *fakeService) CompaniesFor(ctx context.Context, in service.ConnectionInput) ([][2]string, error) {
	f.call("CompaniesFor")
	return f.companies, nil
}

func (f *fakeService) CreateConnection(ctx context.Context, in service.ConnectionInput) (service.ConnectionView, *doctor.Report, error) {
	f.call("CreateConnection")
	if rep := f.Diagnose(ctx, in, nil); !rep.OK {
		return service.ConnectionView{}, rep, fmt.Errorf("the setup fails at %v", rep.FailedStep)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seen = append(f.seen, in)
	id := fmt.Sprintf("c%015d", len(f.conns)+1)
	v := &service.ConnectionView{
		Connection: store.Connection{ID: id, Name: in.Name, TenantID: in.TenantID, ClientID: in.ClientID,
			Environment: in.Environment, CompanyID: in.Company, Entities: in.Entities},
		Counts:     map[string]int64{},
		Credential: &service.CredentialView{ID: "s" + id, Kind: service.CredentialSecret, State: "active"},
	}
	for _, c := range f.companies {
		if c[0] == in.Company {
			v.CompanyName = c[1]
		}
	}
	if in.SecretEndDate != "" {
		v.SecretEndDate, _ = time.Parse("2006-01-02", in.SecretEndDate)
		v.SecretExpiry, v.SecretDays = guide.ExpiryLevel(v.SecretEndDate, f.now())
	}
	rep := okReport(f.now(), [2]string{in.Company, v.CompanyName})
	v.LastDoctor = rep
	f.conns[id] = v
	f.secrets[id] = in.Secret
	return *v, rep, nil
}

func (f *fakeService) ListConnections(ctx context.Context, allowed func(string) bool) ([]service.ConnectionView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []service.ConnectionView
	for _, v := range f.conns {
		out = append(out, *v)
	}
	return out, nil
}

func (f *fakeService) GetConnection(ctx context.Context, id string) (service.ConnectionView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.conns[id]
	if !ok {
		return service.ConnectionView{}, fmt.Errorf("connection %q: %w", id, store.ErrNotFound)
	}
	return *v, nil
}

func (f *fakeService) UpdateConnection(ctx context.Context, id string, in service.ConnectionInput) (service.ConnectionView, error) {
	return service.ConnectionView{}, fmt.Errorf("not used")
}

func (f *fakeService) DeleteConnection(ctx context.Context, id string) (service.Removal, error) {
	f.call("DeleteConnection " + id)
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.conns[id]
	if !ok {
		return service.Removal{}, fmt.Errorf("connection %q: %w", id, store.ErrNotFound)
	}
	delete(f.conns, id)
	delete(f.secrets, id)
	rm := service.Removal{ID: id, Name: c.Name, WebhooksLeft: f.leftBehind}
	if len(rm.WebhooksLeft) > 0 {
		rm.Problem = "BC did not answer within 30s"
	}
	return rm, nil
}

func (f *fakeService) RotateSecret(ctx context.Context, id string, newSecret secret.Secret, endDate string) error {
	f.call("RotateSecret")
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.conns[id]; !ok {
		return store.ErrNotFound
	}
	if newSecret == "rejected-by-entra-secret-value~abc" {
		return fmt.Errorf("Step 3: Entra ID rejected the new secret (AADSTS7000215); the old one stays in use")
	}
	f.secrets[id] = newSecret
	return nil
}

func (f *fakeService) NewCertificate(ctx context.Context, id string, months int) (service.CredentialView, error) {
	f.call("NewCertificate")
	return service.CredentialView{}, errors.New("fake: no certificates")
}

func (f *fakeService) DraftCertificate(in service.ConnectionInput) (*secret.Certificate, error) {
	f.call("DraftCertificate")
	c, err := secret.GenerateCertificate(secret.CertificateOptions{Subject: "fake", NotAfter: time.Now().AddDate(1, 0, 0), Bits: 2048})
	return &c, err
}

func (f *fakeService) CertificateDER(ctx context.Context, id, credentialID string) ([]byte, error) {
	return nil, store.ErrNotFound
}

func (f *fakeService) ActivateCredential(ctx context.Context, id string, onCheck func(doctor.Check)) (*doctor.Report, error) {
	f.call("ActivateCredential")
	return nil, store.ErrNotFound
}

func (f *fakeService) RunDoctor(ctx context.Context, id string, onCheck func(doctor.Check)) (*doctor.Report, error) {
	f.call("RunDoctor")
	rep := f.Diagnose(ctx, service.ConnectionInput{}, onCheck)
	f.mu.Lock()
	defer f.mu.Unlock()
	if v, ok := f.conns[id]; ok {
		v.LastDoctor = rep
	}
	return rep, nil
}

func (f *fakeService) Sync(ctx context.Context, id string, entitySets []string, full bool) error {
	f.call(fmt.Sprintf("Sync %s %v %v", id, entitySets, full))
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.conns[id]
	if !ok {
		return store.ErrNotFound
	}
	if entitySets == nil {
		entitySets = v.Entities
	}
	now := f.now()
	for _, set := range entitySets {
		v.Counts[set] = f.rowsPerSet
		if v.CompanyCounts == nil {
			v.CompanyCounts = map[string]map[string]int64{v.CompanyID: {}}
		}
		v.CompanyCounts[v.CompanyID][set] = f.rowsPerSet
		v.Sync = append(v.Sync, store.SyncState{Key: store.ReplicaKey{ConnectionID: id, CompanyID: v.CompanyID, EntitySet: set},
			FullSyncDone: true, LastRunAt: now, LastSuccessAt: now, Requests: 2, Throttled: 1})
		for i := range f.rowsPerSet {
			f.changes = append(f.changes, store.Change{Seq: int64(len(f.changes) + 1), ConnectionID: id, CompanyID: v.CompanyID,
				EntitySet: set, ID: fmt.Sprintf("%s-%d", set, i), Op: store.OpInsert, At: now})
		}
	}
	return nil
}

func (f *fakeService) SetPaused(ctx context.Context, id string, paused bool) error {
	f.call(fmt.Sprintf("SetPaused %v", paused))
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.conns[id]
	if !ok {
		return store.ErrNotFound
	}
	v.Paused = paused
	return nil
}

func (f *fakeService) Records(ctx context.Context, id, company, entitySet, filter, cursor string, limit int) (service.RecordsPage, error) {
	if filter == "bad" {
		return service.RecordsPage{}, fmt.Errorf("filter %q: expected \"field op value\"", filter)
	}
	start := 0
	if cursor != "" {
		fmt.Sscan(cursor, &start)
	}
	var p service.RecordsPage
	for i := start; i < start+limit && i < 120; i++ {
		b, _ := json.Marshal(struct {
			ID          string  `json:"id"`
			Number      string  `json:"number"`
			DisplayName string  `json:"displayName"`
			Balance     float64 `json:"balance"`
		}{fmt.Sprintf("r%03d", i), fmt.Sprint(10000 + i), "<b>Adatum & Co</b>", 1.5 * float64(i)})
		p.Records = append(p.Records, b)
	}
	if start+limit < 120 {
		p.NextCursor = fmt.Sprint(start + limit)
	}
	return p, nil
}

// Browse is Records, whose rows come in number order already.
func (f *fakeService) Browse(ctx context.Context, id, company, entitySet, filter, cursor string, limit int) (service.RecordsPage, error) {
	p, err := f.Records(ctx, id, company, entitySet, filter, cursor, limit)
	p.OrderBy = "number"
	return p, err
}

func (f *fakeService) Changes(ctx context.Context, since int64, limit int, wait time.Duration, keep func(store.Change) bool) ([]store.Change, int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []store.Change
	next := since
	for _, c := range f.changes {
		if c.Seq > since && len(out) < limit && (keep == nil || keep(c)) {
			out = append(out, c)
			next = c.Seq
		}
	}
	return out, next, nil
}

func (f *fakeService) Record(ctx context.Context, id, company, entitySet, recordID string) (json.RawMessage, error) {
	return nil, fmt.Errorf("not used")
}

func (f *fakeService) Write(ctx context.Context, id, entitySet string, op service.WriteOp, key string) (service.WriteResult, error) {
	return service.WriteResult{}, fmt.Errorf("not used")
}

func (f *fakeService) Batch(ctx context.Context, id, company string, body json.RawMessage, atomic bool) (json.RawMessage, error) {
	return nil, fmt.Errorf("not used")
}

var _ service.Service = (*fakeService)(nil)

func storeChange(seq int64, conn string) store.Change {
	return store.Change{Seq: seq, ConnectionID: conn, EntitySet: "customers", ID: fmt.Sprint(seq), Op: store.OpInsert}
}

func (f *fakeService) Companies(ctx context.Context, id string) ([][2]string, error) {
	return f.companies, nil
}
