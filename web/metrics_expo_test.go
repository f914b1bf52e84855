package web_test

import (
	"context"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/store/sqlite"
	"github.com/bizzjoiner/bcconnector/store/storetest"
	"github.com/bizzjoiner/bcconnector/web"
)

// scrapeFamilies scrapes url and parses the Prometheus text exposition.
func scrapeFamilies(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("Content-Type %q, want the text exposition", ct)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("the exposition does not parse: %v", err)
	}
	return fams
}

// labelsOf returns a metric's labels.
func labelsOf(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

// seriesKey names one series of a family.
func seriesKey(name string, m *dto.Metric) string {
	l := labelsOf(m)
	var b strings.Builder
	b.WriteString(name)
	for _, k := range slices.Sorted(maps.Keys(l)) {
		b.WriteString("," + k + "=" + l[k])
	}
	return b.String()
}

// TestMetricsExposition parses what /metrics serves and checks every bcc_ family's type and
// label names, that label values stay in bounded sets (a client-chosen HTTP method does
// not make a series), that only the database's sync figures name a connection, that the
// build, the queues and the last successful sync are reported as they are, and that no
// counter or histogram count goes down between two scrapes with traffic in between.
func TestMetricsExposition(t *testing.T) {
	t.Parallel()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "m.db"), secret.GenerateKeyring(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	c, err := db.CreateConnection(t.Context(), storetest.NewConnection("expo"))
	if err != nil {
		t.Fatal(err)
	}
	ok := time.Date(2026, 12, 3, 9, 30, 0, 500_000_000, time.UTC)
	customers := store.ReplicaKey{ConnectionID: c.ID, CompanyID: c.CompanyID, EntitySet: "customers"}
	items := store.ReplicaKey{ConnectionID: c.ID, CompanyID: c.CompanyID, EntitySet: "items"}
	if err := db.UpdateSyncState(t.Context(), customers, func(st *store.SyncState) { st.LastSuccessAt, st.Throttled = ok, 2 }); err != nil {
		t.Fatal(err)
	}
	if err := db.UpdateSyncState(t.Context(), items, func(st *store.SyncState) { st.LastError = "BC answered 500" }); err != nil {
		t.Fatal(err)
	}
	queued := int64(4)
	m := web.NewMetrics(web.MetricsOptions{Store: db, Version: "1.2.3-test",
		Queues: func(context.Context) ([]web.QueueCount, error) {
			return []web.QueueCount{{Queue: "sync", Available: queued, Running: 1}, {Queue: "deliver"}}, nil
		}})
	app := httptest.NewServer(web.New(web.Options{Metrics: m,
		API: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/api/v1/fail" {
				http.Error(w, "no", http.StatusBadRequest)
			}
		})}))
	t.Cleanup(app.Close)
	scrape := httptest.NewServer(web.MetricsServer(m, nil))
	t.Cleanup(scrape.Close)

	// BC: one set answers, one throttles; a closed server gives no answer at all.
	bcSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/vendors") {
			w.WriteHeader(http.StatusTooManyRequests)
		}
	}))
	t.Cleanup(bcSrv.Close)
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	bcClient := &http.Client{Transport: m.Transport(nil)}
	traffic := func() {
		for _, u := range []string{
			bcSrv.URL + "/v2.0/env/api/v2.0/companies(" + c.CompanyID + ")/customers",
			bcSrv.URL + "/v2.0/env/api/v2.0/companies(" + c.CompanyID + ")/vendors",
			bcSrv.URL + "/tenant/oauth2/v2.0/token",
			gone.URL + "/v2.0/env/api/v2.0/companies",
		} {
			if resp, err := bcClient.Get(u); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}
		for _, call := range []struct{ method, path string }{{"GET", "/api/v1/x"}, {"GET", "/api/v1/fail"}, {"BREW", "/api/v1/x"}, {"GET", "/healthz"}} {
			req, _ := http.NewRequest(call.method, app.URL+call.path, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
		m.SyncPass("incremental", "ok", 1500*time.Millisecond)
		m.SyncPass("full", "yielded", 30*time.Second)
		m.JobDone("sync", "completed")
		m.JobDone("sync", "snoozed")
	}
	traffic()
	first := scrapeFamilies(t, scrape.URL)

	want := map[string]struct {
		typ    dto.MetricType
		labels []string
	}{
		"bcc_build_info":                          {dto.MetricType_GAUGE, []string{"goversion", "revision", "version"}},
		"bcc_http_requests_total":                 {dto.MetricType_COUNTER, []string{"area", "method", "status"}},
		"bcc_http_request_duration_seconds":       {dto.MetricType_HISTOGRAM, []string{"area"}},
		"bcc_bc_requests_total":                   {dto.MetricType_COUNTER, []string{"entity_set", "status"}},
		"bcc_bc_request_duration_seconds":         {dto.MetricType_HISTOGRAM, []string{"outcome"}},
		"bcc_entra_token_requests_total":          {dto.MetricType_COUNTER, []string{"status"}},
		"bcc_sync_pass_duration_seconds":          {dto.MetricType_HISTOGRAM, []string{"mode", "outcome"}},
		"bcc_jobs_total":                          {dto.MetricType_COUNTER, []string{"kind", "outcome"}},
		"bcc_sync_last_success_timestamp_seconds": {dto.MetricType_GAUGE, []string{"company", "connection", "entity_set"}},
		"bcc_sync_failing":                        {dto.MetricType_GAUGE, []string{"company", "connection", "entity_set"}},
		"bcc_sync_throttled_total":                {dto.MetricType_COUNTER, []string{"company", "connection", "entity_set"}},
		"bcc_queue_jobs":                          {dto.MetricType_GAUGE, []string{"queue", "state"}},
	}
	// Every value a bounded label may take.
	bounded := map[string][]string{
		"area":    {"api", "ui", "webhooks", "ops"},
		"method":  {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other"},
		"outcome": {"ok", "client_error", "throttled", "server_error", "transport_error", "yielded", "error", "completed", "snoozed", "retryable", "discarded", "cancelled"},
		"mode":    {"full", "incremental", "reconcile"},
		"state":   {"available", "running"},
	}
	perConnection := 0
	for name, f := range first {
		if !strings.HasPrefix(name, "bcc_") {
			continue
		}
		w, known := want[name]
		if !known {
			t.Errorf("%s: not a documented metric (add it to the test and README)", name)
			continue
		}
		if f.GetType() != w.typ {
			t.Errorf("%s: type %s, want %s", name, f.GetType(), w.typ)
		}
		if (w.typ == dto.MetricType_COUNTER) != strings.HasSuffix(name, "_total") {
			t.Errorf("%s: counters, and only they, end in _total", name)
		}
		for _, s := range f.GetMetric() {
			l := labelsOf(s)
			if got := slices.Sorted(maps.Keys(l)); !slices.Equal(got, w.labels) {
				t.Errorf("%s: labels %v, want %v", name, got, w.labels)
			}
			for k, v := range l {
				if vals, ok := bounded[k]; ok && !slices.Contains(vals, v) {
					t.Errorf("%s: %s=%q is outside its bounded set %v", name, k, v, vals)
				}
			}
			if _, ok := l["connection"]; ok {
				perConnection++
			}
		}
	}
	for name := range want {
		if first[name] == nil {
			t.Errorf("%s: not reported", name)
		}
	}
	// Two sets of one connection: last success (only where one succeeded), failing and
	// throttled for each: the "3 series per set" README states, at most.
	if perConnection != 5 {
		t.Errorf("%d series name the connection, want 5 (2 sets × failing, throttled + 1 last success)", perConnection)
	}
	find := func(fams map[string]*dto.MetricFamily, name string, labels map[string]string) *dto.Metric {
		t.Helper()
		for _, s := range fams[name].GetMetric() {
			l := labelsOf(s)
			match := true
			for k, v := range labels {
				match = match && l[k] == v
			}
			if match {
				return s
			}
		}
		t.Fatalf("%s%v: no such series", name, labels)
		return nil
	}
	if b := find(first, "bcc_build_info", nil); b.GetGauge().GetValue() != 1 || labelsOf(b)["version"] != "1.2.3-test" || !strings.HasPrefix(labelsOf(b)["goversion"], "go") {
		t.Errorf("build info: %v = %v", labelsOf(b), b.GetGauge().GetValue())
	}
	if v := find(first, "bcc_sync_last_success_timestamp_seconds", map[string]string{"entity_set": "customers", "connection": c.ID}).GetGauge().GetValue(); v != float64(ok.UnixMilli())/1e3 {
		t.Errorf("last success = %v, want %v", v, float64(ok.UnixMilli())/1e3)
	}
	if f := find(first, "bcc_sync_failing", map[string]string{"entity_set": "items"}).GetGauge().GetValue(); f != 1 {
		t.Errorf("items failing = %v, want 1", f)
	}
	if f := find(first, "bcc_sync_failing", map[string]string{"entity_set": "customers"}).GetGauge().GetValue(); f != 0 {
		t.Errorf("customers failing = %v, want 0", f)
	}
	if v := find(first, "bcc_queue_jobs", map[string]string{"queue": "sync", "state": "available"}).GetGauge().GetValue(); v != 4 {
		t.Errorf("sync queue available = %v, want 4", v)
	}
	if n := find(first, "bcc_http_requests_total", map[string]string{"method": "other"}).GetCounter().GetValue(); n != 1 {
		t.Errorf("BREW counted %v times as method=other, want 1", n)
	}
	for outcome, n := range map[string]uint64{"ok": 1, "throttled": 1, "transport_error": 1} {
		if got := find(first, "bcc_bc_request_duration_seconds", map[string]string{"outcome": outcome}).GetHistogram().GetSampleCount(); got != n {
			t.Errorf("BC latency outcome=%s: %d samples, want %d", outcome, got, n)
		}
	}
	if h := find(first, "bcc_sync_pass_duration_seconds", map[string]string{"mode": "incremental", "outcome": "ok"}).GetHistogram(); h.GetSampleCount() != 1 || h.GetSampleSum() != 1.5 {
		t.Errorf("sync pass histogram: %d samples, sum %v; want 1, 1.5", h.GetSampleCount(), h.GetSampleSum())
	}
	if find(first, "bcc_entra_token_requests_total", map[string]string{"status": "200"}).GetCounter().GetValue() != 1 {
		t.Error("the token request was not counted")
	}

	// More traffic, a set throttled again, a queue drained: counters and histogram counts
	// only grow; gauges may go either way.
	traffic()
	queued = 0
	if err := db.UpdateSyncState(t.Context(), customers, func(st *store.SyncState) { st.Throttled++ }); err != nil {
		t.Fatal(err)
	}
	second := scrapeFamilies(t, scrape.URL)
	grew := 0
	for name, f := range first {
		if !strings.HasPrefix(name, "bcc_") {
			continue
		}
		after := map[string]*dto.Metric{}
		for _, s := range second[name].GetMetric() {
			after[seriesKey(name, s)] = s
		}
		for _, s := range f.GetMetric() {
			k := seriesKey(name, s)
			a := after[k]
			if a == nil {
				t.Errorf("%s: gone from the second scrape", k)
				continue
			}
			var before, now float64
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				before, now = s.GetCounter().GetValue(), a.GetCounter().GetValue()
			case dto.MetricType_HISTOGRAM:
				before, now = float64(s.GetHistogram().GetSampleCount()), float64(a.GetHistogram().GetSampleCount())
			default:
				continue
			}
			if now < before {
				t.Errorf("%s went down: %v → %v", k, before, now)
			}
			if now > before {
				grew++
			}
		}
	}
	if grew < 10 {
		t.Errorf("only %d counter or histogram series grew with the second round of traffic", grew)
	}
	if v := find(second, "bcc_queue_jobs", map[string]string{"queue": "sync", "state": "available"}).GetGauge().GetValue(); v != 0 {
		t.Errorf("drained queue reported %v", v)
	}
	if v := find(second, "bcc_sync_throttled_total", map[string]string{"entity_set": "customers"}).GetCounter().GetValue(); v != 3 {
		t.Errorf("throttled = %v, want 3", v)
	}
}

// TestMetricsStoreErrorKeepsScrape: a database that fails leaves its figures out; the
// process's own metrics are still served.
func TestMetricsStoreErrorKeepsScrape(t *testing.T) {
	t.Parallel()
	m := web.NewMetrics(web.MetricsOptions{Store: failingStates{},
		Queues: func(context.Context) ([]web.QueueCount, error) { return nil, errors.New("down") }})
	srv := httptest.NewServer(web.MetricsServer(m, nil))
	t.Cleanup(srv.Close)
	fams := scrapeFamilies(t, srv.URL)
	if fams["bcc_build_info"] == nil || fams["bcc_sync_failing"] != nil {
		t.Fatalf("got families %v", slices.Sorted(maps.Keys(fams)))
	}
}

type failingStates struct{}

func (failingStates) AllSyncStates(context.Context) ([]store.SyncState, error) {
	return nil, errors.New("database down")
}
