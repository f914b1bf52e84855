package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/bizzjoiner/bcconnector/web/api"
	"github.com/bizzjoiner/bcconnector/webhook"
)

// ServeCmd runs the connector: web UI, JSON API, sync workers and the webhook receiver.
type ServeCmd struct {
	Listen         string        `default:"127.0.0.1:8080" env:"BCC_LISTEN" help:"Address of the web UI and the JSON API (http). Port 0 picks a free port."`
	PublicURL      string        `name:"public-url" env:"BCC_PUBLIC_URL" placeholder:"URL" help:"Public https URL of /webhooks/bc that BC can reach, e.g. https://connector.example.com/webhooks/bc. Without it only polling runs."`
	Interval       time.Duration `default:"1m" env:"BCC_SYNC_INTERVAL" help:"How often a connection's entity sets are synced incrementally unless the connection or the set has its own schedule (connection update --interval)."`
	Workers        int           `default:"4" env:"BCC_SYNC_WORKERS" help:"Sync jobs run at once."`
	WebhookWorkers int           `name:"webhook-workers" default:"8" env:"BCC_WEBHOOK_WORKERS" help:"Outbound webhook deliveries attempted at once by this instance."`

	ReconcileEvery         int           `name:"reconcile-every" default:"10" env:"BCC_RECONCILE_EVERY" help:"Reconcile a set's ids (find records deleted in BC) after this many incremental passes; 0 turns the count off (both 0: the defaults)."`
	ReconcileInterval      time.Duration `name:"reconcile-interval" default:"15m" env:"BCC_RECONCILE_INTERVAL" help:"Reconcile a set's ids when the last reconciliation is this old; 0 turns the age off. With webhooks off this bounds how long a delete in BC takes to reach the replica."`
	SchemaRefresh          time.Duration `name:"schema-refresh" default:"10m" env:"BCC_SCHEMA_REFRESH" help:"How long a connection's $metadata of an API (the standard API's, for fields table extensions add, and each custom API's) is reused before a pass reads it again; a record with a field it does not list makes the next pass read it at once. Passes in between cost no extra request."`
	Sandbox                bool          `help:"Also start the emulator with a demo tenant and a demo connection that syncs (data changes by itself). Uses a temporary database unless --db is given."`
	Grace                  time.Duration `default:"10s" help:"How long shutdown waits for calls and sync pages in flight."`
	ChangeRetention        time.Duration `name:"change-retention" default:"720h" env:"BCC_CHANGE_RETENTION" help:"Prune changes older than this from the change log (GET /changes; a cursor before what is kept answers 410 cursor_expired). 0 turns the age bound off."`
	ChangeRetentionEntries int64         `name:"change-retention-entries" default:"10000000" env:"BCC_CHANGE_RETENTION_ENTRIES" help:"Keep about this many of the newest changes in the change log (whole batches go). 0 turns the size bound off. Neither bound prunes a change outbound webhooks have not yet turned into deliveries."`
	Slice                  time.Duration `name:"sync-slice" default:"15s" env:"BCC_SYNC_SLICE" help:"How long a sync job reads before it commits and continues as a new run. A job left running by a killed process is taken up again twice this long after it started (River checks every 30s). Keep it well above the time BC takes for one page."`

	SecureCookies  bool     `name:"secure-cookies" env:"BCC_SECURE_COOKIES" help:"Mark session cookies Secure: set it when users reach the service over https (behind a TLS proxy)."`
	TrustedProxies []string `name:"trusted-proxy" env:"BCC_TRUSTED_PROXIES" sep:"," placeholder:"CIDR" help:"Reverse proxies (addresses or CIDR ranges) whose X-Forwarded-For names the client for the sign-in throttle (per client address). Without it the peer address is the client: behind a proxy, set it."`
	MetricsListen  string   `name:"metrics-listen" env:"BCC_METRICS_LISTEN" placeholder:"ADDR" help:"Also serve /metrics without a token on this address, for a Prometheus on a private network (e.g. 127.0.0.1:9090). On --listen, /metrics needs an API token for all connections."`

	AllowPrivateWebhookTargets bool `name:"allow-private-webhook-targets" env:"BCC_ALLOW_PRIVATE_WEBHOOK_TARGETS" help:"Let outbound webhook endpoints be on loopback, private and link-local addresses (and plain http). Off by default: an API caller could otherwise make the server call inside its network. On with --sandbox."`
	AllowEndpointOverrides     bool `name:"allow-endpoint-overrides" env:"BCC_ALLOW_ENDPOINT_OVERRIDES" help:"Let the UI and API set a connection's authority host, BC base URL and CA file (other clouds, proxies). Off by default: it would let an API caller send a secret to any host. On with --sandbox."`
}

// ServeAddressPrefix starts the line serve prints once it listens: the rest of the line
// is the base URL of the web UI and the API, e.g. "bcconnector serving on
// http://127.0.0.1:8080". Scripts (and tests that run the binary) read the address from
// it, which matters with --listen 127.0.0.1:0.
const ServeAddressPrefix = "bcconnector serving on "

// Run serves until the context ends (SIGINT or SIGTERM), then stops taking calls, lets
// sync jobs commit their page in flight and releases them, and closes the store.
func (c *ServeCmd) Run(ctx context.Context, g *Globals) error {
	s := NewServer(*c, g)
	if err := s.Open(ctx); err != nil {
		return err
	}
	defer s.Close()
	fmt.Fprintf(g.Stdout, "%s%s\n", ServeAddressPrefix, s.URL())
	fmt.Fprintf(g.Stdout, "API %s%s, metrics %s/metrics (with an API token for all connections). Ctrl+C stops.\n", s.URL(), api.Prefix, s.URL())
	if u := s.MetricsURL(); u != "" {
		fmt.Fprintf(g.Stdout, "Metrics without a token on %s/metrics.\n", u)
	}
	err := s.Run(ctx)
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	return err
}

func webhookHandler(m *webhook.Manager) http.Handler {
	if m == nil {
		return nil
	}
	return m
}
