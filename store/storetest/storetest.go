// Package storetest is the conformance suite every store.Store implementation runs, in
// the manner of River's riverdrivertest: one set of behaviours, one test per dialect.
// Each interface of package store has its suite in a file of its own (connection.go,
// secret.go, replica.go, changelog.go, retention.go, syncstate.go, webhook.go, token.go, user.go, attempts.go, lease.go,
// idempotency.go, doctor.go, records.go, budget.go, notify.go, outbound.go, delivery.go, health.go) with a Run… function that stores implementing
// only that interface can call (webhook.MemoryStore runs RunWebhooks); [Run] runs them all.
// RunMarksPruned (marks.go) needs the store's clock and its marks, so each store calls it.
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T, kr *secret.Keyring) store.Store {
//			db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "t.db"), kr, sqlite.Options{})
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { db.Close() })
//			return db
//		})
//	}
//
// Every test opens its own, empty store and runs in parallel with the others, so the
// suite also checks that stores in one process (one database server) do not interfere.
package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
)

// Opener returns a new, empty store that seals with kr. It registers its own cleanup.
type Opener func(t *testing.T, kr *secret.Keyring) store.Store

// Run runs the conformance suite of every store interface against the stores open
// returns: RunConnections, RunSecrets, RunReplica, RunChangeLog, RunSyncState,
// RunWebhooks, RunTokens, RunUsers, RunAttempts, RunLeases, RunIdempotency, RunDoctorReports, RunRecords, RunBudget, RunNotifier,
// RunOutbound, RunDeliveries, RunHealth, RunChangeRetention, RunExpress, RunSchemas and
// RunSchemaViews.
// Subtests run in parallel, each on its own store.
func Run(t *testing.T, open Opener) {
	t.Helper()
	one := func(t *testing.T) store.Store { return open(t, secret.GenerateKeyring()) }
	suites := []struct {
		name string
		run  func(*testing.T)
	}{
		{"Connections", func(t *testing.T) { RunConnections(t, open) }},
		{"Secrets", func(t *testing.T) { RunSecrets(t, open) }},
		{"Replica", func(t *testing.T) { RunReplica(t, func(t *testing.T) store.ReplicaStore { return one(t) }) }},
		{"ChangeLog", func(t *testing.T) { RunChangeLog(t, func(t *testing.T) store.ReplicaStore { return one(t) }) }},
		{"ChangeRetention", func(t *testing.T) { RunChangeRetention(t, func(t *testing.T) store.ReplicaStore { return one(t) }) }},
		{"SyncState", func(t *testing.T) { RunSyncState(t, func(t *testing.T) store.ReplicaStore { return one(t) }) }},
		{"Webhooks", func(t *testing.T) { RunWebhooks(t, func(t *testing.T) store.WebhookStore { return one(t) }) }},
		{"Tokens", func(t *testing.T) { RunTokens(t, func(t *testing.T) store.TokenStore { return one(t) }) }},
		{"Users", func(t *testing.T) { RunUsers(t, func(t *testing.T) store.UserStore { return one(t) }) }},
		{"Attempts", func(t *testing.T) { RunAttempts(t, func(t *testing.T) store.AttemptStore { return one(t) }) }},
		{"Leases", func(t *testing.T) { RunLeases(t, func(t *testing.T) store.LeaseStore { return one(t) }) }},
		{"Idempotency", func(t *testing.T) { RunIdempotency(t, one) }},
		{"DoctorReports", func(t *testing.T) { RunDoctorReports(t, one) }},
		{"Records", func(t *testing.T) { RunRecords(t, one) }},
		{"Budget", func(t *testing.T) { RunBudget(t, func(t *testing.T) store.BudgetStore { return one(t) }) }},
		{"Notifier", func(t *testing.T) { RunNotifier(t, open) }},
		{"Outbound", func(t *testing.T) { RunOutbound(t, open) }},
		{"Deliveries", func(t *testing.T) { RunDeliveries(t, one) }},
		{"Health", func(t *testing.T) { RunHealth(t, one) }},
		{"Express", func(t *testing.T) { RunExpress(t, open) }},
		{"Audit", func(t *testing.T) { RunAudit(t, open) }},
		{"Schemas", func(t *testing.T) { RunSchemas(t, one) }},
		{"SchemaViews", func(t *testing.T) { RunSchemaViews(t, one) }},
	}
	for _, s := range suites {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			s.run(t)
		})
	}
}

// test is one conformance test on a store of type S.
type test[S any] struct {
	name string
	fn   func(*testing.T, S)
}

// runTests runs tests in parallel, each on its own store from open.
func runTests[S any](t *testing.T, open func(*testing.T) S, tests []test[S]) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

// collect drains errs after the writers are done and fails t with each error.
func collect(t *testing.T, errs chan error) {
	t.Helper()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// Fixed GUIDs for tests.
const (
	Tenant  = "72F988BF-86F1-41AF-91AB-2D7CD011DB47"
	Client  = "0B6E3A0C-2E1A-4B55-8D55-4A8F3D5E6C7B"
	Company = "5D115C9C-44E3-EA11-BB43-000D3A2FEEF8"
)

// NewConnection returns a valid connection to create in tests, named name.
func NewConnection(name string) store.Connection {
	return store.Connection{
		Name:        name,
		TenantID:    Tenant,
		ClientID:    Client,
		Environment: "Production",
		CompanyID:   Company,
		CompanyName: "Company X",
	}
}

// Certificate returns a certificate credential valid until end, with a 2048-bit key (the
// smallest Entra accepts, quick to generate).
func Certificate(t testing.TB, end time.Time) secret.Certificate {
	t.Helper()
	c, err := secret.GenerateCertificate(secret.CertificateOptions{Subject: "storetest", NotBefore: end.AddDate(-1, 0, 0), NotAfter: end, Bits: 2048})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newKeyring(t *testing.T) *secret.Keyring {
	t.Helper()
	return secret.GenerateKeyring()
}

func mustCreate(t *testing.T, s store.Store, c store.Connection) store.Connection {
	t.Helper()
	got, err := s.CreateConnection(t.Context(), c)
	if err != nil {
		t.Fatalf("CreateConnection(%q): %v", c.Name, err)
	}
	return got
}

func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: err = %v, want %v", what, err, target)
	}
}

func sameTime(a, b time.Time) bool { return a.Equal(b) }

func equalConnections(a, b store.Connection) string {
	var diffs []string
	add := func(field string, x, y any) { diffs = append(diffs, fmt.Sprintf("%s: %v != %v", field, x, y)) }
	if a.ID != b.ID {
		add("ID", a.ID, b.ID)
	}
	for _, f := range []struct {
		name string
		x, y string
	}{
		{"Name", a.Name, b.Name}, {"TenantID", a.TenantID, b.TenantID}, {"ClientID", a.ClientID, b.ClientID},
		{"Environment", a.Environment, b.Environment}, {"CompanyID", a.CompanyID, b.CompanyID},
		{"CompanyName", a.CompanyName, b.CompanyName}, {"AuthorityHost", a.AuthorityHost, b.AuthorityHost},
		{"BCBaseURL", a.BCBaseURL, b.BCBaseURL}, {"CAFile", a.CAFile, b.CAFile}, {"CAPEM", a.CAPEM, b.CAPEM},
	} {
		if f.x != f.y {
			add(f.name, f.x, f.y)
		}
	}
	if !slices.Equal(a.Entities, b.Entities) || (a.Entities == nil) != (b.Entities == nil) {
		add("Entities", a.Entities, b.Entities)
	}
	if !slices.Equal(a.Companies, b.Companies) || a.AllCompanies != b.AllCompanies {
		add("Companies", fmt.Sprint(a.Companies, a.AllCompanies), fmt.Sprint(b.Companies, b.AllCompanies))
	}
	if !reflect.DeepEqual(a.Schedule, b.Schedule) || !reflect.DeepEqual(a.SetSchedules, b.SetSchedules) {
		add("Schedule", fmt.Sprintf("%+v %+v", a.Schedule, a.SetSchedules), fmt.Sprintf("%+v %+v", b.Schedule, b.SetSchedules))
	}
	if !slices.Equal(a.WriteEntities, b.WriteEntities) || (a.WriteEntities == nil) != (b.WriteEntities == nil) {
		add("WriteEntities", a.WriteEntities, b.WriteEntities)
	}
	if !sameTime(a.CreatedAt, b.CreatedAt) {
		add("CreatedAt", a.CreatedAt, b.CreatedAt)
	}
	if !sameTime(a.UpdatedAt, b.UpdatedAt) {
		add("UpdatedAt", a.UpdatedAt, b.UpdatedAt)
	}
	return strings.Join(diffs, "; ")
}

// raceForOne runs fn by n writers at once, all competing for one unique thing (a name),
// and fails t unless exactly one wins and every other gets store.ErrConflict.
func raceForOne(t *testing.T, n int, what string, fn func(i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			switch err := fn(i); {
			case err == nil:
				mu.Lock()
				won++
				mu.Unlock()
			case !errors.Is(err, store.ErrConflict):
				errs <- fmt.Errorf("%s lost the race with %v, want ErrConflict", what, err)
			}
		})
	}
	wg.Wait()
	collect(t, errs)
	if won != 1 {
		t.Fatalf("%d concurrent %s calls succeeded, want exactly 1", won, what)
	}
}
