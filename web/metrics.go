package web

import (
	"context"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/bizzjoiner/bcconnector/bc"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/webhook"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// MetricsStore is what the metrics read on each scrape.
type MetricsStore interface {
	ListConnections(ctx context.Context) ([]store.Connection, error)
	SyncStates(ctx context.Context, connectionID string) ([]store.SyncState, error)
	ReplicaCount(ctx context.Context, key store.ReplicaKey) (int64, error)
}

// MetricsOptions configures NewMetrics; every source is optional.
type MetricsOptions struct {
	Store MetricsStore
	// Clients returns the BC clients opened so far, by connection ID.
	Clients func() map[string]*bc.Client
	// Webhooks returns the webhook manager's counters.
	Webhooks func() webhook.Stats
	// Now is the clock for sync lag; default time.Now.
	Now func() time.Time
	// Gauges, when set, tells on each scrape whether this process reports the figures read
	// from the database per connection and entity set (bcc_sync_rows, bcc_sync_lag_seconds,
	// bcc_sync_throttled_total). They are the same on every instance, so with several
	// instances only one should report them (and count the rows): serve passes
	// [GaugesLease]. nil means always. The process's own counters are reported by every
	// instance (sum them).
	Gauges func(ctx context.Context) bool
}

// GaugesLeaseName is the store.LeaseStore lease of the instance that reports the
// database's per-connection figures.
const GaugesLeaseName = "metrics-gauges"

// GaugesLease returns a MetricsOptions.Gauges that holds the lease GaugesLeaseName for
// holder: the first instance scraped takes it and keeps it while it is scraped at least
// every ttl; when it is not (it died, or is no longer scraped), the next instance scraped
// after ttl takes over. A store error means "not this one".
func GaugesLease(leases store.LeaseStore, holder string, ttl time.Duration, now func() time.Time) func(ctx context.Context) bool {
	if now == nil {
		now = time.Now
	}
	return func(ctx context.Context) bool {
		ok, err := leases.TryLease(ctx, GaugesLeaseName, holder, now(), ttl)
		return err == nil && ok
	}
}

// Metrics are bcconnector's Prometheus metrics: HTTP calls served, BC requests by status
// and entity set (429s included), token requests, per-connection client counters, rows and
// lag per synced set, and webhook deliveries.
type Metrics struct {
	reg           *prometheus.Registry
	httpRequests  *prometheus.CounterVec
	bcRequests    *prometheus.CounterVec
	tokenRequests *prometheus.CounterVec
}

// NewMetrics registers the metrics on a new registry.
func NewMetrics(opt MetricsOptions) *Metrics {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bcc_http_requests_total",
			Help: "HTTP requests served, by area (api, ui, webhooks, ops), method and status."}, []string{"area", "method", "status"}),
		bcRequests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bcc_bc_requests_total",
			Help: "Requests sent to Business Central (retries included), by HTTP status (0 = no answer) and entity set."}, []string{"status", "entity_set"}),
		tokenRequests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bcc_entra_token_requests_total",
			Help: "Token requests sent to Entra ID, by HTTP status."}, []string{"status"}),
	}
	m.reg.MustRegister(m.httpRequests, m.bcRequests, m.tokenRequests,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&scrapeCollector{opt: opt})
	return m
}

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Registry returns the registry, for more metrics.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// bcPath finds the entity set in a BC API URL path: the segment after companies(…)/.
var tokenPath = regexp.MustCompile(`/oauth2/v2\.0/token$`)

var bcPath = regexp.MustCompile(`/companies\([^)]*\)/([A-Za-z0-9_]+)`)

// Transport wraps a transport of BC and Entra clients to count their requests.
func (m *Metrics) Transport(rt http.RoundTripper) http.RoundTripper {
	if rt == nil {
		rt = http.DefaultTransport
	}
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		resp, err := rt.RoundTrip(r)
		status := "0"
		if resp != nil {
			status = strconv.Itoa(resp.StatusCode)
		}
		p := r.URL.Path
		switch {
		case tokenPath.MatchString(p):
			m.tokenRequests.WithLabelValues(status).Inc()
		case bcPath.MatchString(p):
			m.bcRequests.WithLabelValues(status, bcPath.FindStringSubmatch(p)[1]).Inc()
		default:
			set := "companies"
			if !strings.Contains(p, "/companies") {
				set = "other"
			}
			m.bcRequests.WithLabelValues(status, set).Inc()
		}
		return resp, err
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// scrapeCollector reads counters owned by others at scrape time.
type scrapeCollector struct{ opt MetricsOptions }

var (
	descClient = prometheus.NewDesc("bcc_bc_client_events_total", "BC client counters per connection: requests, throttled (429), server_errors, transport_errors.",
		[]string{"connection", "kind"}, nil)
	descRows     = prometheus.NewDesc("bcc_sync_rows", "Rows in the replica per connection and entity set.", []string{"connection", "entity_set"}, nil)
	descLag      = prometheus.NewDesc("bcc_sync_lag_seconds", "Seconds since the last successful sync run per connection and entity set.", []string{"connection", "entity_set"}, nil)
	descThrottle = prometheus.NewDesc("bcc_sync_throttled_total", "429 answers absorbed by sync runs per connection and entity set.", []string{"connection", "entity_set"}, nil)
	descHooks    = prometheus.NewDesc("bcc_webhook_events_total", "Webhook receiver and subscription counters by kind.", []string{"kind"}, nil)
)

func (c *scrapeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descClient, descRows, descLag, descThrottle, descHooks} {
		ch <- d
	}
}

func (c *scrapeCollector) Collect(ch chan<- prometheus.Metric) {
	if c.opt.Clients != nil {
		for id, cl := range c.opt.Clients() {
			s := cl.Stats()
			for kind, v := range map[string]int64{"requests": s.Requests, "throttled": s.Throttled, "server_errors": s.ServerErrors, "transport_errors": s.TransportErrors, "retries": s.Retries} {
				ch <- prometheus.MustNewConstMetric(descClient, prometheus.CounterValue, float64(v), id, kind)
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if c.opt.Store != nil && (c.opt.Gauges == nil || c.opt.Gauges(ctx)) {
		conns, _ := c.opt.Store.ListConnections(ctx)
		now := c.opt.Now()
		for _, cn := range conns {
			states, _ := c.opt.Store.SyncStates(ctx, cn.ID)
			for _, st := range states {
				n, _ := c.opt.Store.ReplicaCount(ctx, st.Key)
				ch <- prometheus.MustNewConstMetric(descRows, prometheus.GaugeValue, float64(n), cn.ID, st.Key.EntitySet)
				ch <- prometheus.MustNewConstMetric(descThrottle, prometheus.CounterValue, float64(st.Throttled), cn.ID, st.Key.EntitySet)
				if !st.LastSuccessAt.IsZero() {
					ch <- prometheus.MustNewConstMetric(descLag, prometheus.GaugeValue, now.Sub(st.LastSuccessAt).Seconds(), cn.ID, st.Key.EntitySet)
				}
			}
		}
	}
	if c.opt.Webhooks != nil {
		s := c.opt.Webhooks()
		for kind, v := range map[string]int64{"posts": s.Posts, "notifications": s.Notifications, "handshakes": s.Handshakes, "forged": s.Forged,
			"unknown": s.Unknown, "malformed": s.Malformed, "hints": s.Hints, "missed": s.Missed, "created": s.Created, "renewed": s.Renewed,
			"deleted": s.Deleted, "lost": s.Lost, "recreated": s.Recreated} {
			ch <- prometheus.MustNewConstMetric(descHooks, prometheus.CounterValue, float64(v), kind)
		}
	}
}
