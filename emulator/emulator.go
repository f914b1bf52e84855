// Package emulator is a faithful local sandbox of Microsoft Entra ID and Dynamics 365
// Business Central online, like Azurite is for Azure Storage. It speaks the real wire
// formats (tokens, AADSTS errors, BC API v2.0 OData, $batch, webhooks) with BC's limits and
// failure modes, so the connector can be built, tested, demonstrated and benchmarked
// without reaching Microsoft.
//
// New returns an http.Handler that serves both services on one HTTPS host (use it with
// httptest.NewTLSServer); Start runs it on a real TLS listener with a freshly generated CA.
// The source of truth for its behaviour is bc-entra-facts.md; section numbers in comments
// refer to it. It imports nothing of the connector: it is the other side of the wire.
package emulator

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bizzjoiner/bcconnector/bcschema"
	"github.com/bizzjoiner/bcconnector/emulator/datagen"
	"github.com/bizzjoiner/bcconnector/emulator/fault"
	"github.com/bizzjoiner/bcconnector/emulator/idp"
	"github.com/bizzjoiner/bcconnector/emulator/throttle"
)

// Emulator serves Entra ID and Business Central. It is safe for concurrent use.
type Emulator struct {
	cfg     Config
	schemaP atomic.Pointer[bcschema.Schema] // API v2.0, with extension fields (AddExtensionField)
	gen     *datagen.Generator
	idp     *idp.Server
	dir     *idp.Directory
	idpMux  *http.ServeMux
	limiter *throttle.Limiter
	faults  *fault.Injector
	handler http.Handler

	mu        sync.RWMutex
	tenants   map[string]*bcTenant // by tenant GUID
	creds     Credentials
	customers []Credentials // Config.Customers
	express   ExpressCredentials

	etagSeq    uint64
	etagMu     sync.Mutex
	mutator    *mutator
	mutations  mutationCounts
	manualOnce sync.Once
	manual     *mutator // Mutate's, its stream going on from call to call
	closeOne   sync.Once

	tokenMu    sync.Mutex
	tokenCache map[string]*idp.Claims

	metadataMu  sync.Mutex
	metadata    []byte           // API v2.0's $metadata, rendered for metadataFor
	metadataFor *bcschema.Schema // the schema metadata was rendered from
	extMu       sync.Mutex       // serialises AddExtensionField
	stats       requestStats
}

// Credentials are the values a customer's admin hands over at the end of the setup guide
// for the loaded scenario (for "secret-wrong" the secret is the wrong one, for
// "tenant-unknown" the tenant is, and so on), plus where the emulator serves.
type Credentials struct {
	TenantID      string
	TenantDomain  string
	ClientID      string
	ClientSecret  string
	SecretID      string
	SecretEndDate time.Time
	Environment   string
	Company       string // company name
	CompanyID     string
}

// New builds an emulator with the scenario of cfg loaded.
func New(cfg Config) (*Emulator, error) {
	c := cfg.withDefaults()
	schema, err := bcschema.Load()
	if err != nil {
		return nil, err
	}
	e := &Emulator{
		cfg:     c,
		gen:     datagen.New(c.Seed, c.Sizes),
		dir:     idp.NewDirectory(),
		tenants: make(map[string]*bcTenant),

		tokenCache: make(map[string]*idp.Claims),
	}
	e.schemaP.Store(schema)
	e.idp, err = idp.NewServer(idp.Config{
		Directory:     e.dir,
		Now:           c.Now,
		TokenLifetime: c.TokenLifetime,
		Logger:        c.Logger,
		AutoConsent:   c.Entra.AutoConsent,

		RevokedAsAppNotFound: c.Entra.RevokedAsAppNotFound,

		DisabledAppStatus:      c.Entra.DisabledAppStatus,
		IgnoreClientRequestID:  c.Entra.IgnoreClientRequestID,
		EchoResourceAsAudience: c.Entra.EchoResourceAsAudience,

		AssertionClockSkew:       c.Entra.AssertionClockSkew,
		StrictAssertionAudience:  c.Entra.StrictAssertionAudience,
		RejectRS256:              c.Entra.RejectRS256,
		RejectReplayedAssertions: c.Entra.RejectReplayedAssertions,
		MinCertificateKeyBits:    c.Entra.MinCertificateKeyBits,
		ResourceCheck:            c.Entra.ResourceCheck,
	})
	if err != nil {
		return nil, err
	}
	e.idpMux = http.NewServeMux()
	e.idp.Register(e.idpMux)
	limits := c.Limits
	limits.Now = c.Now
	e.limiter = throttle.New(limits)
	if e.faults, err = fault.New(c.Faults, fault.Options{Seed: c.Seed, Logger: c.Logger}); err != nil {
		return nil, err
	}
	if err := e.loadScenario(c.Scenario); err != nil {
		return nil, err
	}
	e.handler = e.faults.Middleware(http.HandlerFunc(e.route))
	if c.Mutation.Rate > 0 {
		e.mutator = e.startMutator(c.Mutation)
	}
	return e, nil
}

// ServeHTTP implements http.Handler.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.handler.ServeHTTP(w, r)
}

// Close stops the mutator and the webhook senders.
func (e *Emulator) Close() error {
	e.closeOne.Do(func() {
		if e.mutator != nil {
			e.mutator.stop()
		}
		e.mu.RLock()
		defer e.mu.RUnlock()
		for _, t := range e.tenants {
			for _, env := range t.envs {
				env.webhooks.Close()
			}
		}
	})
	return nil
}

// Credentials returns the values the admin hands over for the loaded scenario.
func (e *Emulator) Credentials() Credentials {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.creds
}

// Directory returns the Entra directory, for tests that change app registrations, secrets
// or consent at run time.
func (e *Emulator) Directory() *idp.Directory { return e.dir }

// Faults returns the fault injector, for tests that script faults at run time.
func (e *Emulator) Faults() *fault.Injector { return e.faults }

// Limiter returns BC's per-app limiter, for tests and metrics.
func (e *Emulator) Limiter() *throttle.Limiter { return e.limiter }

// TokenRequests returns how many token requests Entra has answered.
func (e *Emulator) TokenRequests() int64 { return e.idp.TokenRequests() }

// route sends Entra paths to the identity provider and BC paths to the BC API. The two
// services share one host, so the split is by path: BC owns /v2.0/ and /admin/.
func (e *Emulator) route(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.HasPrefix(r.URL.Path, "/v2.0/"):
		e.serveBC(w, r)
	case strings.HasPrefix(r.URL.Path, "/admin/"):
		e.serveAdmin(w, r)
	default:
		e.idpMux.ServeHTTP(w, r)
	}
}

// nextETag returns a fresh ETag for a written row.
func (e *Emulator) nextETag() string {
	e.etagMu.Lock()
	e.etagSeq++
	n := e.etagSeq
	e.etagMu.Unlock()
	return formatETag(uint64(e.cfg.Seed)<<40 ^ n<<8 ^ 0x5a)
}

// seededGUID derives a stable GUID from the seed and a label, so the same seed always
// produces the same tenant, client and company IDs.
func seededGUID(seed int64, label string) string {
	var s [8]byte
	binary.BigEndian.PutUint64(s[:], uint64(seed))
	h := sha256.Sum256(append(s[:], label...))
	b := h[:16]
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// tenant returns the BC side of a tenant by GUID.
func (e *Emulator) tenant(id string) *bcTenant {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.tenants[strings.ToLower(id)]
}
