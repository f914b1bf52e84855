package web

import (
	"context"
	"net/http"
	"regexp"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/webhook"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// MetricsStore is what the metrics read from the database on a scrape: one query for
// every set of every connection, so a scrape costs the same number of queries whatever
// the number of connections.
type MetricsStore interface {
	AllSyncStates(ctx context.Context) ([]store.SyncState, error)
}

// QueueCount is the depth of one job queue: jobs waiting to be worked and jobs being
// worked, on every instance.
type QueueCount struct {
	Queue              string
	Available, Running int64
}

// MetricsOptions configures NewMetrics; every source is optional.
type MetricsOptions struct {
	Store MetricsStore
	// Queues returns the job queues' depth in one query (serve: River's job table).
	Queues func(ctx context.Context) ([]QueueCount, error)
	// Webhooks returns the webhook manager's counters.
	Webhooks func() webhook.Stats
	// Version is reported in bcc_build_info; default "dev".
	Version string
	// Gauges, when set, tells on each scrape whether this process reports the figures read
	// from the database (bcc_sync_last_success_timestamp_seconds, bcc_sync_failing,
	// bcc_sync_throttled_total, bcc_queue_jobs). They are the same on every instance, so
	// with several instances only one should report them: serve passes [GaugesLease]. nil
	// means always. The process's own counters and histograms are reported by every
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

// Metrics are bcconnector's Prometheus metrics. Per process (every instance, counted as
// events happen): HTTP calls served with their latency, BC requests by status and entity
// set with their latency by outcome, token requests, sync passes with their duration by
// mode and outcome, River job outcomes, webhook receiver counters, the build. From the
// database (one instance, see MetricsOptions.Gauges): per connection, company and entity
// set the last successful sync as a timestamp, whether the last run failed and the 429s
// absorbed; the job queues' depth. README (Metrics) lists them with their labels and the
// series count per connection.
type Metrics struct {
	reg           *prometheus.Registry
	httpRequests  *prometheus.CounterVec
	httpDuration  *prometheus.HistogramVec
	bcRequests    *prometheus.CounterVec
	bcDuration    *prometheus.HistogramVec
	tokenRequests *prometheus.CounterVec
	syncPasses    *prometheus.HistogramVec
	jobs          *prometheus.CounterVec
}

// Histogram buckets, in seconds: API calls include long-polls (up to 60 s), BC requests
// BC's own timeouts, sync passes a time slice (30 s by default) or a whole CLI run.
var (
	httpBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}
	bcBuckets   = []float64{0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120}
	syncBuckets = []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600}
)

// NewMetrics registers the metrics on a new registry.
func NewMetrics(opt MetricsOptions) *Metrics {
	if opt.Version == "" {
		opt.Version = "dev"
	}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bcc_http_requests_total",
			Help: "HTTP requests served, by area (api, ui, webhooks, ops), method (other for unknown ones) and status."}, []string{"area", "method", "status"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "bcc_http_request_duration_seconds",
			Help: "Time to serve an HTTP request, by area (api, ui, webhooks, ops); long-polls and event streams count their wait.", Buckets: httpBuckets}, []string{"area"}),
		bcRequests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bcc_bc_requests_total",
			Help: "Requests sent to Business Central (retries included), by HTTP status (0 = no answer) and entity set."}, []string{"status", "entity_set"}),
		bcDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "bcc_bc_request_duration_seconds",
			Help: "Time from sending a request to Business Central to its response headers, by outcome (ok, client_error, throttled, server_error, transport_error).", Buckets: bcBuckets}, []string{"outcome"}),
		tokenRequests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bcc_entra_token_requests_total",
			Help: "Token requests sent to Entra ID, by HTTP status."}, []string{"status"}),
		syncPasses: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "bcc_sync_pass_duration_seconds",
			Help: "Duration of the sync passes this process ran, by mode (full, incremental, reconcile) and outcome (ok, yielded, throttled, error).", Buckets: syncBuckets}, []string{"mode", "outcome"}),
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bcc_jobs_total",
			Help: "River jobs this process worked, by kind and outcome (completed, snoozed, retryable, discarded, cancelled)."}, []string{"kind", "outcome"}),
	}
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "bcc_build_info",
		Help: "Always 1; the labels name the build (version, VCS revision, Go version)."}, []string{"version", "revision", "goversion"})
	build.WithLabelValues(opt.Version, revision(), runtime.Version()).Set(1)
	m.reg.MustRegister(m.httpRequests, m.httpDuration, m.bcRequests, m.bcDuration, m.tokenRequests, m.syncPasses, m.jobs, build,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&scrapeCollector{opt: opt})
	return m
}

// revision is the VCS revision the binary was built from, "unknown" when the build did
// not record it (-buildvcs=false, go test).
func revision() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && s.Value != "" {
				return s.Value
			}
		}
	}
	return "unknown"
}

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Registry returns the registry, for more metrics.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// SyncPass records a sync pass of mode (full, incremental, reconcile) that ended with
// outcome (ok, yielded, throttled, error) after d.
func (m *Metrics) SyncPass(mode, outcome string, d time.Duration) {
	m.syncPasses.WithLabelValues(mode, outcome).Observe(d.Seconds())
}

// JobDone counts a River job of kind that this process worked, by outcome (completed,
// snoozed, retryable, discarded, cancelled).
func (m *Metrics) JobDone(kind, outcome string) {
	m.jobs.WithLabelValues(kind, outcome).Inc()
}

// served records an HTTP call of area.
func (m *Metrics) served(area, method string, status int, d time.Duration) {
	m.httpRequests.WithLabelValues(area, knownMethod(method), itoa(status)).Inc()
	m.httpDuration.WithLabelValues(area).Observe(d.Seconds())
}

// knownMethod keeps the method label bounded: a caller may send any token as a method.
func knownMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}

var tokenPath = regexp.MustCompile(`/oauth2/v2\.0/token$`)

// bcPath finds the entity set in a BC API URL path: the segment after companies(…)/.
var bcPath = regexp.MustCompile(`/companies\([^)]*\)/([A-Za-z0-9_]+)`)

// Transport wraps a transport of BC and Entra clients to count their requests and time
// BC's answers.
func (m *Metrics) Transport(rt http.RoundTripper) http.RoundTripper {
	if rt == nil {
		rt = http.DefaultTransport
	}
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		start := time.Now()
		resp, err := rt.RoundTrip(r)
		d := time.Since(start)
		status, outcome := "0", "transport_error"
		if resp != nil {
			status = strconv.Itoa(resp.StatusCode)
			outcome = bcOutcome(resp.StatusCode)
		}
		p := r.URL.Path
		if tokenPath.MatchString(p) {
			m.tokenRequests.WithLabelValues(status).Inc()
			return resp, err
		}
		set := "other"
		if sm := bcPath.FindStringSubmatch(p); sm != nil {
			set = sm[1]
		} else if strings.Contains(p, "/companies") {
			set = "companies"
		}
		m.bcRequests.WithLabelValues(status, set).Inc()
		m.bcDuration.WithLabelValues(outcome).Observe(d.Seconds())
		return resp, err
	})
}

// bcOutcome classes a BC answer for the latency histogram.
func bcOutcome(code int) string {
	switch {
	case code == http.StatusTooManyRequests:
		return "throttled"
	case code >= 500:
		return "server_error"
	case code >= 400:
		return "client_error"
	}
	return "ok"
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// scrapeCollector reads, at scrape time, counters owned by others and the database's
// figures: two queries per scrape (sync states, queue depth) whatever the number of
// connections.
type scrapeCollector struct{ opt MetricsOptions }

var (
	setLabels   = []string{"connection", "company", "entity_set"}
	descSuccess = prometheus.NewDesc("bcc_sync_last_success_timestamp_seconds",
		"Unix time of the last successful sync run per connection, company and entity set (absent until one succeeded); alert on time() minus it.", setLabels, nil)
	descFailing = prometheus.NewDesc("bcc_sync_failing",
		"1 when the last sync run of the set failed, else 0.", setLabels, nil)
	descThrottle = prometheus.NewDesc("bcc_sync_throttled_total",
		"429 answers absorbed by sync runs per connection, company and entity set.", setLabels, nil)
	descQueue = prometheus.NewDesc("bcc_queue_jobs",
		"Jobs in River's queues on every instance, by queue and state (available: waiting for a worker; running).", []string{"queue", "state"}, nil)
	descHooks = prometheus.NewDesc("bcc_webhook_events_total", "Webhook receiver and subscription counters by kind.", []string{"kind"}, nil)
)

func (c *scrapeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descSuccess, descFailing, descThrottle, descQueue, descHooks} {
		ch <- d
	}
}

func (c *scrapeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if c.opt.Gauges == nil || c.opt.Gauges(ctx) {
		if c.opt.Store != nil {
			states, _ := c.opt.Store.AllSyncStates(ctx)
			for _, st := range states {
				k := st.Key
				if !st.LastSuccessAt.IsZero() {
					ch <- prometheus.MustNewConstMetric(descSuccess, prometheus.GaugeValue, float64(st.LastSuccessAt.UnixMilli())/1e3, k.ConnectionID, k.CompanyID, k.EntitySet)
				}
				failing := 0.0
				if st.LastError != "" {
					failing = 1
				}
				ch <- prometheus.MustNewConstMetric(descFailing, prometheus.GaugeValue, failing, k.ConnectionID, k.CompanyID, k.EntitySet)
				ch <- prometheus.MustNewConstMetric(descThrottle, prometheus.CounterValue, float64(st.Throttled), k.ConnectionID, k.CompanyID, k.EntitySet)
			}
		}
		if c.opt.Queues != nil {
			qs, _ := c.opt.Queues(ctx)
			for _, q := range qs {
				ch <- prometheus.MustNewConstMetric(descQueue, prometheus.GaugeValue, float64(q.Available), q.Queue, "available")
				ch <- prometheus.MustNewConstMetric(descQueue, prometheus.GaugeValue, float64(q.Running), q.Queue, "running")
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
