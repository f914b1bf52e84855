// Package service is what people and the platform can do with bcconnector, independent of
// how they reach it: the web UI (package web/ui), the JSON API (package web/api) and,
// later, the CLI call it. It validates input with package guide, diagnoses with package
// doctor, stores with package store, replicates with package syncer and writes through
// package bc.
package service

import (
	"context"
	"encoding/json"
	"time"

	"github.com/bizzjoiner/bcconnector/doctor"
	"github.com/bizzjoiner/bcconnector/guide"
	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
)

// ConnectionInput is what an admin enters: the values the setup guide produces, plus the
// connection settings. Secret is write-only: it is never returned by any method.
type ConnectionInput struct {
	Name          string        `json:"name,omitempty"`
	TenantID      string        `json:"tenantId"`
	ClientID      string        `json:"clientId"`
	Secret        secret.Secret `json:"secret,omitempty"`        // revealed only to the token request
	SecretEndDate string        `json:"secretEndDate,omitempty"` // YYYY-MM-DD
	Environment   string        `json:"environment"`
	Company       string        `json:"company,omitempty"` // name or id
	// Companies are every company the connection syncs (names or IDs, as BC lists them),
	// Company's first; Company defaults to the first of them. Empty means Company alone.
	// In an update, a non-nil list replaces the stored one.
	Companies []string `json:"companies,omitempty"`
	// AllCompanies syncs every company of the environment, also companies added later
	// (the scheduler lists BC's companies at each run); nil in an update keeps the stored
	// choice.
	AllCompanies *bool `json:"allCompanies,omitempty"`
	// Schedule is when the connection's passes run (interval, quiet window in the
	// customer's time zone); nil keeps the stored one (serve's --interval for a new
	// connection), a non-nil one replaces it.
	Schedule *store.Schedule `json:"schedule,omitempty"`
	// SetSchedules override Schedule per entity set (a document set: its lines sync with
	// it); nil keeps the stored ones, a non-nil map replaces them.
	SetSchedules  map[string]store.Schedule `json:"setSchedules,omitempty"`
	Entities      []string                  `json:"entities,omitempty"`
	WriteEntities []string                  `json:"writeEntities,omitempty"`
	AuthorityHost string                    `json:"authorityHost,omitempty"`
	BCBaseURL     string                    `json:"bcBaseUrl,omitempty"`
	// CAFile is the path of a PEM file of extra CA certificates, read where the input is
	// handled and stored as CAPEM; CAPEM is that PEM itself (it wins over CAFile).
	CAFile string `json:"caFile,omitempty"`
	CAPEM  string `json:"caPem,omitempty"`
	// Credential is "secret" (the default: Secret is the client secret's Value) or
	// "certificate": bcconnector generates a key pair and a self-signed certificate, valid
	// for CertificateMonths, which the admin uploads in Step 3 before the connection is
	// checked and activated (see Service.ActivateCredential).
	Credential string `json:"credential,omitempty"`
	// CertificateMonths is the validity of a generated certificate, 1–60 months; 0 means 12.
	CertificateMonths int `json:"certificateMonths,omitempty"`
	// Certificate is a certificate generated earlier in this process (the wizard's draft,
	// which shows it for upload before the check). Never read from or written to JSON.
	Certificate *secret.Certificate `json:"-"`
}

// The credential kinds of ConnectionInput.Credential and CredentialView.Kind.
const (
	CredentialSecret      = string(store.CredentialSecret)
	CredentialCertificate = string(store.CredentialCertificate)
)

// CredentialView describes a stored credential: a client secret or a certificate, never
// its value or private key.
type CredentialView struct {
	ID    string `json:"id"`
	Kind  string `json:"kind"`  // "secret" or "certificate"
	State string `json:"state"` // "pending", "active" or "retired"
	// Thumbprint is a certificate's SHA-1 thumbprint as the Entra portal shows it.
	Thumbprint string    `json:"thumbprint,omitempty"`
	EndDate    time.Time `json:"endDate,omitzero"`
	CreatedAt  time.Time `json:"createdAt"`
	VerifiedAt time.Time `json:"verifiedAt,omitzero"`
}

// ConnectionView is a connection as shown to people and the platform: never the secret.
type ConnectionView struct {
	store.Connection
	SecretEndDate time.Time         `json:"secretEndDate,omitempty"`
	SecretExpiry  string            `json:"secretExpiry"` // guide.Expiry* level
	SecretDays    int               `json:"secretDaysLeft"`
	LastDoctor    *doctor.Report    `json:"lastDoctor,omitempty"`
	Sync          []store.SyncState `json:"sync,omitempty"`
	Paused        bool              `json:"paused"`
	Counts        map[string]int64  `json:"counts,omitempty"` // rows per replicated set (all companies)
	// CompanyCounts are the rows per company ID and entity set.
	CompanyCounts map[string]map[string]int64 `json:"companyCounts,omitempty"`
	// CompanyStatus is the replica and sync state per company, in the connection's order.
	CompanyStatus []CompanyStatus `json:"companyStatus,omitempty"`
	// Blocked, when set, says why the connection is not used on this server and the fix
	// (its own endpoints on a server without --allow-endpoint-overrides).
	Blocked string `json:"blocked,omitempty"`
	// Credential is the active credential (the one in use); nil while a new connection's
	// certificate waits for its upload and check.
	Credential *CredentialView `json:"credential,omitempty"`
	// PendingCredential is a credential added but not yet proven (a rotation, or a
	// certificate waiting for its upload); ActivateCredential checks and promotes it.
	PendingCredential *CredentialView `json:"pendingCredential,omitempty"`
	// Kind is "own-app" (the customer's own app and secret or certificate) or "express"
	// (Bizzjoiner's multi-tenant app; Express says where its consent stands).
	Kind    store.ConnectionKind `json:"kind"`
	Express *ExpressView         `json:"express,omitempty"`
}

// RecordsPage is a page of replicated records, with a cursor for the next.
type RecordsPage struct {
	Records    []json.RawMessage `json:"records"`
	NextCursor string            `json:"nextCursor,omitempty"`
	// FullSyncDone is false while the set's first full sync runs: the replica may still
	// lack records BC has. (A set never synced is ErrNotSynced, not an empty page.)
	FullSyncDone bool `json:"fullSyncDone"`
	// OrderBy is the field Browse ordered the page by ("" for id order).
	OrderBy string `json:"-"`
}

// WriteOp is a write-through to BC.
type WriteOp struct {
	Method string          `json:"method"` // POST, PATCH, DELETE, or ACTION
	ID     string          `json:"id,omitempty"`
	Action string          `json:"action,omitempty"`
	ETag   string          `json:"etag,omitempty"` // If-Match; "" = read the current one first; "*" = overwrite
	Body   json.RawMessage `json:"body,omitempty"`
	// Company is the connection's company to write in (its ID or name); "" is the
	// connection's own. A company the connection does not have is not found: a write never
	// lands in a company nobody chose.
	Company string `json:"company,omitempty"`
}

// WriteResult is BC's answer to a write-through.
type WriteResult struct {
	Status int             `json:"status"`
	Record json.RawMessage `json:"record,omitempty"`
	// Replayed is true when the Idempotency-Key was seen before and the stored result is
	// returned instead of writing again.
	Replayed bool `json:"replayed,omitempty"`
}

// Service is everything the web layers need.
type Service interface {
	// Validate checks the input as typed (same messages as the CLI), without contacting anyone.
	Validate(in ConnectionInput) ([]guide.Notice, error)
	// Diagnose runs the doctor on input (not stored yet), reporting checks as they complete.
	Diagnose(ctx context.Context, in ConnectionInput, onCheck func(doctor.Check)) *doctor.Report
	// Companies lists the companies the input's credentials can see (for the wizard's pick list).
	CompaniesFor(ctx context.Context, in ConnectionInput) ([][2]string, error) // (id, name)
	// Companies lists the companies a stored connection's environment has (id, name).
	Companies(ctx context.Context, id string) ([][2]string, error)
	// CreateConnection validates, diagnoses and stores; the secret is sealed. It fails with
	// the doctor's report when the setup is not right.
	CreateConnection(ctx context.Context, in ConnectionInput) (ConnectionView, *doctor.Report, error)
	ListConnections(ctx context.Context, allowed func(connID string) bool) ([]ConnectionView, error)
	GetConnection(ctx context.Context, idOrName string) (ConnectionView, error)
	UpdateConnection(ctx context.Context, id string, in ConnectionInput) (ConnectionView, error) // not the secret
	// DeleteConnection removes a connection: its BC webhook subscriptions at BC (within a
	// bounded time), then the connection, its sealed credentials, replica and sync state;
	// the Removal says what was left at BC.
	DeleteConnection(ctx context.Context, id string) (Removal, error)
	// RotateSecret adds the new secret, verifies it with Entra, then retires the old one.
	RotateSecret(ctx context.Context, id string, newSecret secret.Secret, endDate string) error
	// RunDoctor diagnoses a stored connection and keeps the report as its last result. A
	// connection with no active credential yet is diagnosed (and activated) with its pending
	// one, as ActivateCredential does.
	RunDoctor(ctx context.Context, id string, onCheck func(doctor.Check)) (*doctor.Report, error)
	// NewCertificate generates a key pair and a self-signed certificate valid for months
	// (0: 12) and adds it as the connection's pending credential; the active one keeps
	// working until ActivateCredential promotes the new one.
	NewCertificate(ctx context.Context, id string, months int) (CredentialView, error)
	// DraftCertificate generates a certificate for a connection not stored yet (the wizard
	// holds it, as it holds a typed secret, and shows it for upload before the check):
	// named after in's environment and company, valid for in.CertificateMonths (0: 12).
	DraftCertificate(in ConnectionInput) (*secret.Certificate, error)
	// CertificateDER returns the public certificate (DER) of one of the connection's
	// certificate credentials, for the admin to upload in Step 3.
	CertificateDER(ctx context.Context, id, credentialID string) ([]byte, error)
	// ActivateCredential diagnoses the connection with its pending credential and, when
	// every check passes, makes it active (retiring the previous one). Otherwise it stays
	// pending and the error wraps ErrSetupFailed, with the report.
	ActivateCredential(ctx context.Context, id string, onCheck func(doctor.Check)) (*doctor.Report, error)
	// Sync starts syncing (entitySets nil = the connection's); full restarts from scratch.
	Sync(ctx context.Context, id string, entitySets []string, full bool) error
	SetPaused(ctx context.Context, id string, paused bool) error
	// Records pages through the replica of an entity set in one of the connection's
	// companies (its ID or name; "" is the connection's own); filter is a simple
	// "field op value" list applied to the typed columns.
	Records(ctx context.Context, id, company, entitySet, filter, cursor string, limit int) (RecordsPage, error)
	// Browse is Records for people (the data browser): the records in the order of the
	// set's natural key (bcschema.Entity.NaturalKey: number, entryNumber, code,
	// displayName, ...), ties by id, which RecordsPage.OrderBy names; cursor is the id of
	// the previous page's last record, as for Records (the API keeps id order, which a
	// renamed record cannot disturb).
	Browse(ctx context.Context, id, company, entitySet, filter, cursor string, limit int) (RecordsPage, error)
	// Record returns one replicated record as BC sent it (store.ErrNotFound if the replica
	// has no such id or the connection no such company; ErrNotSynced if the set was never
	// synced), company as for Records.
	Record(ctx context.Context, id, company, entitySet, recordID string) (json.RawMessage, error)
	// Changes returns change log entries after since that keep accepts (nil: all),
	// waiting up to wait for new ones, and next: the position to read on from (the last
	// entry read, kept or skipped), so a filtered reader does not read skipped ones again.
	Changes(ctx context.Context, since int64, limit int, wait time.Duration, keep func(store.Change) bool) (changes []store.Change, next int64, err error)
	// Write sends a write-through to BC; a repeated idempotencyKey returns the first result.
	Write(ctx context.Context, id, entitySet string, op WriteOp, idempotencyKey string) (WriteResult, error)
	// Batch passes a JSON $batch through to BC, in the connection's company that company
	// names ("": its own; one it does not cover is not found).
	Batch(ctx context.Context, id, company string, body json.RawMessage, atomic bool) (json.RawMessage, error)
}
