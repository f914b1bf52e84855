package emulator

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/bizzjoiner/bcconnector/emulator/datagen"
	"github.com/bizzjoiner/bcconnector/emulator/fault"
	"github.com/bizzjoiner/bcconnector/emulator/idp"
	"github.com/bizzjoiner/bcconnector/emulator/throttle"
)

// Config configures an Emulator. The zero value is usable: scenario "ok", seed 1, the
// "small" data set, BC's documented limits, latency off, no faults.
//
// Options marked UNCONFIRMED model behaviour that bc-entra-facts.md could not confirm; each
// default is the reference's best guess. docs/EMULATOR.md lists them.
type Config struct {
	// Scenario names the setup scenario to load (see Scenarios); default "ok".
	Scenario string
	// Seed makes every generated ID, secret and row deterministic; default 1.
	Seed int64
	// Sizes sets the row count per entity set and company; nil means the "small" preset.
	Sizes datagen.Sizes
	// Customers is how many more customer tenants to hold besides the scenario's, each with
	// an app registration of its own (so its own BC limits), consented and registered in BC,
	// an environment DemoEnvironment and a company DemoCompany; Customers lists them.
	// Default 0.
	Customers int
	// ExpressRedirectURIs are the redirect URIs registered on Bizzjoiner's multi-tenant app
	// (Express); admin consent returns only to one of them. AllowExpressRedirect adds more
	// while serving. Default none.
	ExpressRedirectURIs []string

	// Limits are BC's per-app request limits (bc-entra-facts §5); zero fields take BC's values.
	Limits throttle.Config
	// Latency is the server time model applied while a request holds a processing slot.
	Latency throttle.Latency
	// Faults are injected before routing (see package fault).
	Faults []fault.Rule

	// MaxPageSize caps entities per page; default 20,000 (bc-entra-facts §4.3).
	MaxPageSize int
	// MaxBatchOperations caps operations in one $batch; default 100 (§6).
	MaxBatchOperations int
	// ConflictStatus is the HTTP status of a stale If-Match (Request_EntityChanged): 409 or
	// 412. UNCONFIRMED (§4.5); default 409, the status BC's docs give for "record changed by
	// another user".
	ConflictStatus int
	// IgnoreReadOnlyWrites makes writes to read-only fields silently ignored instead of
	// rejected with BadRequest_InvalidOperation. UNCONFIRMED (§11.12); default false (reject).
	IgnoreReadOnlyWrites bool
	// PermissionErrorStatus is the HTTP status of a permission failure (code
	// Internal_ServerError). UNCONFIRMED (§3.4); default 400, as observed on BC 18.
	PermissionErrorStatus int
	// PageSizeAboveCap413 makes a Prefer: odata.maxpagesize above MaxPageSize answer 413
	// instead of being capped. UNCONFIRMED (§4.3); default false (capped).
	PageSizeAboveCap413 bool
	// LineChangeTouchesHeader makes a change to a document line update its header's
	// lastModifiedDateTime. UNCONFIRMED (§8); default true.
	LineChangeTouchesHeader *bool
	// EchoBatchIDs echoes each $batch request id in its response. UNCONFIRMED (§6: Microsoft's
	// example shows null); default true.
	EchoBatchIDs *bool

	// Entra holds the UNCONFIRMED knobs of the identity side (see idp.Config):
	// DisabledAppStatus (AADSTS7000112's status, default 400), IgnoreClientRequestID
	// (correlation_id echoes client-request-id by default), EchoResourceAsAudience (aud is
	// the resource URI by default) and AutoConsent (admin-consent page accepts at once).
	Entra EntraOptions
	// Filter holds the UNCONFIRMED knobs of $filter (see odata.Options): CaseInsensitive
	// string comparison (default false), EnumALNames accepted for enum literals (default
	// false), IgnoreFilterOnLambda dropping the whole filter when it has any/all (default
	// false: only the lambda's condition is dropped).
	Filter FilterOptions
	// WebhookHandshakeTimeout is how long a subscriber has to answer the validationToken
	// handshake. UNCONFIRMED (§7.2); default 5s.
	WebhookHandshakeTimeout time.Duration
	// WebhookHandshakeMethod is the handshake's HTTP method. UNCONFIRMED (§7.2); default POST.
	WebhookHandshakeMethod string

	// WebhookDelay is the notification coalescing delay; default 30s (§7.3). Zero means the
	// default; use a negative value for "send at once".
	WebhookDelay time.Duration
	// WebhookMaxNotifications is the per-window threshold above which one `collection`
	// notification is sent; default 1,000 (§7.3).
	WebhookMaxNotifications int
	// WebhookRetrySchedule is the delivery retry schedule; default 1m,1m,1m,10m,100m (§7.4).
	WebhookRetrySchedule []time.Duration
	// WebhookClient delivers handshakes and notifications; default http.DefaultClient.
	WebhookClient *http.Client

	// CaseSensitiveEnvironments makes the environment name in a URL match only in its exact
	// case ("production" does not find Production). UNCONFIRMED (§4.1: case-insensitive "in
	// practice"); default false.
	CaseSensitiveEnvironments bool
	// CaseInsensitiveCompanyNames makes ?company= and the Company header find a company by
	// its name in any case. UNCONFIRMED (§4.1 says nothing); default false: the exact name.
	CaseInsensitiveCompanyNames bool

	// CountBOM starts every /$count body with a UTF-8 byte order mark, as BC's sometimes
	// does (§4.2 [OBS]: a client must decode it as utf-8-sig); default false.
	CountBOM bool

	// TokenLifetime is the access-token lifetime; default 3599s (§1.2).
	TokenLifetime time.Duration

	// Mutation makes the emulator change data by itself over time (see MutatorConfig);
	// zero Rate means off.
	Mutation MutatorConfig

	// Now is the clock; default time.Now. Tests inject it to expire secrets and tokens.
	Now func() time.Time
	// Logger receives one line per request; default discards.
	Logger *slog.Logger
}

// EntraOptions are the identity side's UNCONFIRMED behaviours; zero values are the
// reference's best guesses.
type EntraOptions struct {
	DisabledAppStatus      int
	IgnoreClientRequestID  bool
	EchoResourceAsAudience bool
	AutoConsent            bool
	// RevokedAsAppNotFound answers a token request of a multi-tenant app whose service
	// principal was deleted (consent revoked) with AADSTS700016 instead of 7000229 (see
	// idp.Config).
	RevokedAsAppNotFound bool
	// Certificate credentials (client assertions), see idp.Config.
	AssertionClockSkew       time.Duration
	StrictAssertionAudience  bool
	RejectRS256              bool
	RejectReplayedAssertions bool
	MinCertificateKeyBits    int
	// ResourceCheck is where the token endpoint checks the resource, i.e. whether the tenant
	// has BC (AADSTS500011), among its client and secret checks; see idp.Config.
	ResourceCheck idp.ResourceCheck
}

// FilterOptions are $filter's UNCONFIRMED behaviours; zero values are the reference's best
// guesses.
type FilterOptions struct {
	CaseInsensitive      bool
	EnumALNames          bool
	IgnoreFilterOnLambda bool
}

func (c *Config) withDefaults() Config {
	out := *c
	if out.Scenario == "" {
		out.Scenario = ScenarioOK
	}
	if out.Seed == 0 {
		out.Seed = 1
	}
	if out.Sizes == nil {
		out.Sizes, _ = datagen.Preset("small")
	}
	if out.MaxPageSize <= 0 {
		out.MaxPageSize = 20000
	}
	if out.MaxBatchOperations <= 0 {
		out.MaxBatchOperations = 100
	}
	if out.ConflictStatus == 0 {
		out.ConflictStatus = http.StatusConflict
	}
	if out.PermissionErrorStatus == 0 {
		out.PermissionErrorStatus = http.StatusBadRequest
	}
	if out.LineChangeTouchesHeader == nil {
		t := true
		out.LineChangeTouchesHeader = &t
	}
	if out.EchoBatchIDs == nil {
		t := true
		out.EchoBatchIDs = &t
	}
	if out.WebhookDelay == 0 {
		out.WebhookDelay = 30 * time.Second
	}
	if out.WebhookClient == nil {
		out.WebhookClient = http.DefaultClient
	}
	if out.TokenLifetime <= 0 {
		out.TokenLifetime = 3599 * time.Second
	}
	if out.Now == nil {
		out.Now = time.Now
	}
	if out.Logger == nil {
		out.Logger = slog.New(slog.DiscardHandler)
	}
	return out
}
