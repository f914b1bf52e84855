package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// ActorKind says what kind of caller changed something.
type ActorKind string

// The actor kinds.
const (
	// ActorAdmin is a person signed in to the web UI; Actor.Name is the admin's name.
	ActorAdmin ActorKind = "admin"
	// ActorToken is a caller of the JSON API; Actor.Name is the API token's name (never
	// the token).
	ActorToken ActorKind = "token"
	// ActorCLI is someone running a bcconnector command on a machine with the database;
	// Actor.Name is the operating system's user name when known.
	ActorCLI ActorKind = "cli"
	// ActorSystem is serve itself (a doctor run that pins a company, a CA file adopted
	// at start), and what no caller is known for.
	ActorSystem ActorKind = "system"
)

// Actor is who the audit log names for a change.
type Actor struct {
	Kind ActorKind `json:"kind"`
	Name string    `json:"name,omitempty"`
}

// String is the actor as a person reads it: "admin alice", "token platform-prod", "cli",
// "system".
func (a Actor) String() string {
	if a.Kind == "" {
		a.Kind = ActorSystem
	}
	if a.Name == "" {
		return string(a.Kind)
	}
	return string(a.Kind) + " " + a.Name
}

type actorKey struct{}

// WithActor returns ctx naming who acts: the stores write it into the audit entry of
// every change made under ctx.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor ctx names; ActorSystem when none.
func ActorFrom(ctx context.Context) Actor {
	if a, ok := ctx.Value(actorKey{}).(Actor); ok && a.Kind != "" {
		return a
	}
	return Actor{Kind: ActorSystem}
}

type auditNoteKey struct{}

// WithAuditNote returns ctx with a note the stores append to the detail of the audit
// entries written under it, for what the change's caller knows and the store does not
// (a removed connection's BC webhook subscriptions left at BC). Never a secret.
func WithAuditNote(ctx context.Context, note string) context.Context {
	return context.WithValue(ctx, auditNoteKey{}, note)
}

// AuditDetail is detail with the note of ctx (WithAuditNote) appended; stores write it.
func AuditDetail(ctx context.Context, detail string) string {
	note, _ := ctx.Value(auditNoteKey{}).(string)
	switch {
	case note == "":
		return detail
	case detail == "":
		return note
	}
	return detail + "; " + note
}

// AuditAction names what was done.
type AuditAction string

// The audited actions. The stores write each in the transaction of the change itself, so
// a change is never without its entry, nor an entry without its change.
const (
	AuditConnectionCreated AuditAction = "connection.created"
	AuditConnectionUpdated AuditAction = "connection.updated"
	AuditConnectionDeleted AuditAction = "connection.deleted"
	AuditCredentialAdded   AuditAction = "credential.added"     // a client secret or certificate, pending until verified
	AuditCredentialActive  AuditAction = "credential.activated" // a pending credential became the active one
	AuditCredentialRetired AuditAction = "credential.retired"
	AuditEndpointCreated   AuditAction = "endpoint.created"
	AuditEndpointDeleted   AuditAction = "endpoint.deleted"
	AuditEndpointSecretRot AuditAction = "endpoint.secret_rotated"
	AuditEndpointDisabled  AuditAction = "endpoint.disabled" // by the API, the UI, or the endpoint's 410 Gone (actor system)
	AuditEndpointEnabled   AuditAction = "endpoint.enabled"
	AuditTokenCreated      AuditAction = "token.created"
	AuditTokenRevoked      AuditAction = "token.revoked"
	AuditAdminCreated      AuditAction = "admin.created"
	AuditAdminSignedIn     AuditAction = "admin.signed_in"
)

// AuditActions lists every action, for filters and their errors.
var AuditActions = []AuditAction{AuditConnectionCreated, AuditConnectionUpdated, AuditConnectionDeleted,
	AuditCredentialAdded, AuditCredentialActive, AuditCredentialRetired, AuditEndpointCreated, AuditEndpointDeleted,
	AuditEndpointSecretRot, AuditEndpointDisabled, AuditEndpointEnabled, AuditTokenCreated, AuditTokenRevoked, AuditAdminCreated, AuditAdminSignedIn}

// AuditEntry is one change and who made it. Detail names what changed in words (a
// connection's name, a credential's kind and thumbprint, an endpoint's URL, a token's
// scope), never a secret.
type AuditEntry struct {
	ID           int64       `json:"id"`
	At           time.Time   `json:"at"`
	Actor        Actor       `json:"actor"`
	Action       AuditAction `json:"action"`
	ConnectionID string      `json:"connectionId,omitempty"`
	// Target is the ID or name of what the action was on when it is not the connection
	// itself: a credential's ID, an endpoint's ID, a token's name, an admin's name.
	Target string `json:"target,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// Audit log page sizes.
const (
	DefaultAuditLimit = 50
	MaxAuditLimit     = 500
)

// AuditFilter selects audit entries, newest first. Zero fields select everything.
type AuditFilter struct {
	ConnectionID string
	Action       AuditAction
	// ActorKind and ActorName select by who: the kind alone, or both.
	ActorKind ActorKind
	ActorName string
	// Before returns entries with an ID below it (the ID of the last entry of the previous
	// page); 0 starts at the newest.
	Before int64
	// Limit is the page size: 0 means DefaultAuditLimit; at most MaxAuditLimit.
	Limit int
}

// Validate checks f and fills the default limit.
func (f *AuditFilter) Validate() error {
	switch {
	case f.Limit < 0 || f.Limit > MaxAuditLimit:
		return fmt.Errorf("%w: limit %d is out of range; give 1 to %d", ErrInvalid, f.Limit, MaxAuditLimit)
	case f.Before < 0:
		return fmt.Errorf("%w: before %d is negative; give the id of the last entry of the previous page", ErrInvalid, f.Before)
	case f.Action != "" && !validAction(f.Action):
		return fmt.Errorf("%w: unknown action %q; one of %s", ErrInvalid, f.Action, joinActions())
	case f.ActorKind != "" && f.ActorKind != ActorAdmin && f.ActorKind != ActorToken && f.ActorKind != ActorCLI && f.ActorKind != ActorSystem:
		return fmt.Errorf("%w: unknown actor kind %q; one of admin, token, cli, system", ErrInvalid, f.ActorKind)
	case f.ActorName != "" && f.ActorKind == "":
		return fmt.Errorf("%w: an actor name needs its kind (admin, token, cli or system)", ErrInvalid)
	}
	if f.Limit == 0 {
		f.Limit = DefaultAuditLimit
	}
	return nil
}

func validAction(a AuditAction) bool { return slices.Contains(AuditActions, a) }

func joinActions() string {
	s := make([]string, len(AuditActions))
	for i, a := range AuditActions {
		s[i] = string(a)
	}
	return strings.Join(s, ", ")
}

// AuditStore reads the audit log. It is written by the stores' own changes (connections,
// credentials, endpoints, tokens, admins, sign-ins), each in the change's transaction,
// with the actor of the change's context ([WithActor]).
type AuditStore interface {
	// Audit returns the entries f selects, newest first. ErrInvalid for a bad filter.
	Audit(ctx context.Context, f AuditFilter) ([]AuditEntry, error)
}

// ConnectionChanges names the fields of a connection that differ between old and new,
// for the detail of a connection.updated entry (values left out: a CA certificate or a
// list of entity sets does not fit a line).
func ConnectionChanges(old, new Connection) []string {
	var out []string
	for _, f := range []struct {
		name     string
		was, now string
	}{
		{"name", old.Name, new.Name}, {"tenantId", old.TenantID, new.TenantID}, {"clientId", old.ClientID, new.ClientID},
		{"environment", old.Environment, new.Environment}, {"companyId", old.CompanyID, new.CompanyID},
		{"companyName", old.CompanyName, new.CompanyName}, {"authorityHost", old.AuthorityHost, new.AuthorityHost},
		{"bcBaseUrl", old.BCBaseURL, new.BCBaseURL}, {"caFile", old.CAFile, new.CAFile}, {"caPem", old.CAPEM, new.CAPEM},
		{"entities", strings.Join(old.Entities, ","), strings.Join(new.Entities, ",")},
		{"writeEntities", strings.Join(old.WriteEntities, ","), strings.Join(new.WriteEntities, ",")},
	} {
		if f.was != f.now {
			out = append(out, f.name)
		}
	}
	return out
}

// CredentialDetail describes a credential for the audit log: its kind, a certificate's
// thumbprint, the end date. Never its value.
func CredentialDetail(r SecretRecord) string {
	d := "client secret"
	if r.Kind == CredentialCertificate {
		d = "certificate " + r.Thumbprint()
	}
	if !r.EndDate.IsZero() {
		d += ", expires " + r.EndDate.UTC().Format(time.DateOnly)
	}
	return d
}

// TokenDetail describes an API token's scope for the audit log.
func TokenDetail(connections []string) string {
	if connections == nil {
		return "all connections"
	}
	return "connections " + strings.Join(connections, ", ")
}
