package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/bizzjoiner/bcconnector/bc"
	"github.com/bizzjoiner/bcconnector/conn"
	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/outbound"
	"github.com/bizzjoiner/bcconnector/service"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/syncer"
	"github.com/bizzjoiner/bcconnector/web"
	"github.com/bizzjoiner/bcconnector/web/api"
	"github.com/bizzjoiner/bcconnector/web/ui"
	"github.com/bizzjoiner/bcconnector/webhook"
	"github.com/riverqueue/river"
)

// Server is `bcconnector serve` as a program: [Server.Open] opens the store, starts the
// job queue with the sync workers and the scheduler, builds the web UI, the JSON API and
// the webhook receiver and listens; [Server.Run] serves until its context ends;
// [Server.Close] stops the job queue (letting pages in flight commit) and releases
// everything. Tests start one in-process and ask it for its [Server.URL].
type Server struct {
	cfg ServeCmd
	g   *Globals

	emu     *emulator.Server
	app     *app
	svc     *service.Impl
	out     *outbound.Service
	rc      jobQueue
	web     *web.Server
	ln      net.Listener
	url     string
	metrics *web.Server    // --metrics-listen
	metLn   net.Listener   // --metrics-listen
	closers []func() error // run in reverse order by Close
}

// NewServer returns a server configured by the serve flags and the global flags (the
// database, the key file, the log level and the output streams).
func NewServer(cfg ServeCmd, g *Globals) *Server {
	return &Server{cfg: cfg, g: g}
}

// URL is the base URL of the web UI and the API, e.g. http://127.0.0.1:8080; it is set
// once Open has returned.
func (s *Server) URL() string { return s.url }

// MetricsURL is the base URL of --metrics-listen ("" without it); set by Open.
func (s *Server) MetricsURL() string {
	if s.metLn == nil {
		return ""
	}
	return "http://" + s.metLn.Addr().String()
}

// Service is the service the API and the UI run on (for tests); set by Open.
func (s *Server) Service() *service.Impl { return s.svc }

// onClose registers a cleanup that Close runs (the last registered first).
func (s *Server) onClose(f func() error) { s.closers = append(s.closers, f) }

// Open builds and starts everything but the HTTP serving loop. On error, what was opened
// is closed again.
func (s *Server) Open(ctx context.Context) (err error) {
	// What serve changes on its own (jobs, start-up) is the system's in the audit log; a
	// call names its admin or API token.
	ctx = store.WithActor(ctx, store.Actor{Kind: store.ActorSystem})
	defer func() {
		if err != nil {
			_ = s.Close()
		}
	}()
	c := &s.cfg
	if c.Workers <= 0 {
		return fmt.Errorf("--workers must be at least 1, got %d", c.Workers)
	}
	if c.WebhookWorkers == 0 {
		c.WebhookWorkers = 8 // a ServeCmd built in code
	}
	if c.WebhookWorkers < 0 {
		return fmt.Errorf("--webhook-workers must be at least 1, got %d", c.WebhookWorkers)
	}
	if c.Sandbox && c.Interval == time.Minute {
		c.Interval = 5 * time.Second // the mutator changes data twice a second: show it
	}
	if c.Interval < 5*time.Second {
		return fmt.Errorf("--interval must be at least 5s, got %s", c.Interval)
	}
	if c.ReconcileEvery < 0 || c.ReconcileInterval < 0 {
		return fmt.Errorf("--reconcile-every %d and --reconcile-interval %s must not be negative (0 turns one of them off)", c.ReconcileEvery, c.ReconcileInterval)
	}
	if c.ReconcileEvery == 0 && c.ReconcileInterval == 0 {
		// Never reconciling would keep deleted records forever: both off means the defaults.
		c.ReconcileEvery, c.ReconcileInterval = syncer.DefaultReconcileEvery, syncer.DefaultReconcileInterval
	}
	if c.Slice == 0 {
		c.Slice = syncer.DefaultRunFor // a ServeCmd built in code
	}
	if c.Slice < time.Second {
		return fmt.Errorf("--sync-slice must be at least 1s, got %s", c.Slice)
	}
	if c.Sandbox {
		if err := s.openSandbox(); err != nil {
			return err
		}
	}
	a, err := s.g.open(ctx)
	if err != nil {
		return err
	}
	s.app = a
	s.onClose(func() error { s.g.close(); return nil })
	log := a.log

	// The metrics read the service and the webhook manager, built below, at scrape time.
	var hooks *webhook.Manager
	// The figures read from the database per connection are the same on every instance:
	// the one holding the gauges lease reports them (and counts the rows), not all of them.
	metrics := web.NewMetrics(web.MetricsOptions{Store: a.db, Gauges: web.GaugesLease(a.db, instanceName(), 2*time.Minute, nil),
		Version: version,
		Queues: func(ctx context.Context) ([]web.QueueCount, error) {
			if s.rc == nil {
				return nil, nil
			}
			return queueCounts(ctx, s.rc, []string{syncer.QueueSync, syncer.QueueSchedule, outbound.QueueDeliver})
		},
		Webhooks: func() webhook.Stats {
			if hooks == nil {
				return webhook.Stats{}
			}
			return hooks.Stats()
		}})
	if c.SchemaRefresh == 0 {
		c.SchemaRefresh = 10 * time.Minute // a ServeCmd built in code
	}
	if c.SchemaRefresh < 0 {
		return fmt.Errorf("--schema-refresh must be positive (e.g. 10m), got %s", c.SchemaRefresh)
	}
	// Extension fields are always followed: a field a table extension adds is the
	// customer's data, and a cached $metadata makes it cost about nothing (see
	// syncer/discovered.go, "The $metadata cache").
	sy, err := syncer.New(syncer.Options{Store: a.db, Logger: log, ReconcileEvery: orNever(c.ReconcileEvery), ReconcileInterval: orNever(c.ReconcileInterval),
		ExtensionFields: true, SchemaMaxAge: c.SchemaRefresh})
	if err != nil {
		return err
	}
	jobs := &riverJobs{}
	// Every connection's requests are counted for the metrics, and the first one to each
	// host is logged, so the log shows every host this process sent anything to.
	logHosts := conn.LogHosts(log)
	wrap := func(rt http.RoundTripper) http.RoundTripper { return logHosts(metrics.Transport(rt)) }
	s.svc, err = service.New(service.Options{Store: a.db, Syncer: sy, Jobs: jobs, WrapTransport: wrap, Limiters: a.limits, Logger: log,
		AllowEndpointOverrides: c.AllowEndpointOverrides || c.Sandbox,
		RemoveWebhooksFunc: func(ctx context.Context, client *bc.Client, id string) (webhook.RemoveResult, error) {
			// A deleted connection's subscriptions must not keep BC calling us; the manager
			// also stops tracking them. Without --public-url there is none, and the service
			// deletes what the store holds (an earlier serve's) itself.
			if hooks != nil {
				return hooks.Remove(ctx, client, id)
			}
			return webhook.Remove(ctx, a.db, client, id, log)
		}})
	if err != nil {
		return err
	}
	if err := s.svc.AdoptCAFiles(ctx); err != nil {
		return err
	}
	warnExpressExpiry(ctx, s.svc, log)
	s.onClose(func() error { s.svc.Close(); return nil })
	s.out = outbound.New(outbound.Options{Store: a.db, AllowPrivate: c.AllowPrivateWebhookTargets || c.Sandbox, Logger: log})
	worker := &syncer.Worker{Syncer: sy, Clients: s.svc, Logger: log, RunFor: c.Slice, Schedules: a.db, Interval: c.Interval,
		PassFunc: func(mode syncer.Mode, outcome string, d time.Duration) { metrics.SyncPass(string(mode), outcome, d) }}
	schedOpt := syncer.SchedulerOptions{Store: a.db, Queue: jobs, Interval: c.Interval, Clients: s.svc, Syncer: sy, Logger: log,
		TargetsFunc: func(ctx context.Context, id string) ([]syncer.Target, error) {
			// "All companies" includes companies added later: BC's list is read at every run
			// (a failure leaves the companies known so far syncing).
			_, rerr := s.svc.RefreshCompanies(ctx, id)
			_, ts, err := s.svc.Targets(ctx, id, nil)
			if err != nil {
				return nil, err // the scheduler logs a skipped connection once per reason
			}
			if rerr != nil {
				log.Warn("schedule: companies not refreshed", "connection", id, "err", rerr)
			}
			return ts, nil
		}}
	var sched *syncer.Scheduler
	if c.PublicURL != "" {
		hooks, err = webhook.NewManager(webhook.Options{PublicURL: c.PublicURL, Store: a.db, Logger: log, Hint: func(ctx context.Context, h webhook.Hint) {
			sched.Hint(ctx, syncHint(h))
			if h.Lost {
				if _, err := s.out.SubscriptionLost(ctx, outbound.SubscriptionData{ConnectionID: h.ConnectionID, CompanyID: h.CompanyID,
					EntitySet: h.EntitySet, SubscriptionID: h.SubscriptionID}); err != nil {
					log.Warn("outbound webhooks: connection.webhook.lost", "connection", h.ConnectionID, "err", err)
				}
			}
		}})
		if err != nil {
			return fmt.Errorf("--public-url: %w", err)
		}
		s.onClose(hooks.Close)
		schedOpt.EnsureFunc = func(ctx context.Context, cl *bc.Client, id, companyID string, sets []string) error {
			_, err := hooks.Ensure(ctx, cl, id, companyID, sets)
			return err
		}
	}
	if sched, err = syncer.NewScheduler(schedOpt); err != nil {
		return err
	}
	if c.ChangeRetention < 0 || c.ChangeRetentionEntries < 0 {
		return fmt.Errorf("--change-retention %s and --change-retention-entries %d must not be negative (0 turns one of them off)", c.ChangeRetention, c.ChangeRetentionEntries)
	}
	retention, err := syncer.NewRetention(syncer.RetentionOptions{Store: a.db, Logger: log,
		MaxAge: orNever(c.ChangeRetention), MaxEntries: orNever(c.ChangeRetentionEntries)})
	if err != nil {
		return err
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, worker)
	river.AddWorker(workers, sched)
	river.AddWorker(workers, retention)
	river.AddWorker(workers, &outbound.DeliverWorker{Service: s.out})
	river.AddWorker(workers, &outbound.DeliverBatchWorker{Service: s.out})
	s.rc, err = newJobQueue(ctx, a.db, &river.Config{
		Queues: map[string]river.QueueConfig{syncer.QueueSync: {MaxWorkers: c.Workers}, syncer.QueueSchedule: {MaxWorkers: 1}, syncer.QueueMaintenance: {MaxWorkers: 1},
			outbound.QueueDeliver: {MaxWorkers: c.WebhookWorkers}},
		Workers:           workers,
		PeriodicJobs:      []*river.PeriodicJob{sched.PeriodicJob(), retention.PeriodicJob()},
		FetchCooldown:     100 * time.Millisecond,
		FetchPollInterval: 500 * time.Millisecond,
		// Sync jobs run in slices of --sync-slice, so a job still "running" after two
		// slices was left by a dead process: River's leader makes it available again
		// (its rescuer runs every 30 s), instead of after River's default of an hour.
		JobTimeout:           worker.RescueAfter(),
		RescueStuckJobsAfter: worker.RescueAfter(),
		Logger:               riverLogger(log),
	}, s.onClose)
	if err != nil {
		return err
	}
	jobs.rc = s.rc
	countJobs(s.rc, metrics, s.onClose)
	s.out.SetQueue(outbound.RiverQueue{Client: s.rc})
	// River lives until Close, not until the context of Open ends.
	if err := s.rc.Start(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	s.onClose(func() error {
		sctx, cancel := context.WithTimeout(context.Background(), c.Grace)
		defer cancel()
		if err := s.rc.Stop(sctx); err != nil {
			return fmt.Errorf("job queue stop: %w", err)
		}
		return nil
	})
	// Every instance turns the change log into outbound webhook deliveries (the store
	// lets one of them do each page) and gives overdue deliveries jobs again.
	outCtx, stopOut := context.WithCancel(context.WithoutCancel(ctx))
	outDone := make(chan struct{})
	go func() { defer close(outDone); s.out.Run(outCtx, 0) }()
	s.onClose(func() error { stopOut(); <-outDone; return nil })

	// The UI is served over plain http on --listen; behind a TLS proxy the browser still
	// gets HttpOnly, SameSite=Lax cookies.
	proxies, err := parsePrefixes(c.TrustedProxies)
	if err != nil {
		return fmt.Errorf("--trusted-proxy: %w", err)
	}
	auth := web.NewAuth(web.AuthOptions{Users: a.db, Attempts: a.db, Logger: log, SecureCookies: c.SecureCookies, TrustedProxies: proxies})
	uiH, err := uiHandler(s.svc, s.out, a.db, log, s.emu)
	if err != nil {
		return err
	}
	consentH, err := ui.ConsentCallback(s.svc, log)
	if err != nil {
		return err
	}
	s.web = web.New(web.Options{
		API:      api.New(api.Options{Service: s.svc, Tokens: a.db, Logger: log, Outbound: s.out, Audit: a.db}),
		UI:       uiH,
		Webhooks: webhookHandler(hooks),
		Consent:  consentH,
		Auth:     auth,
		Metrics:  metrics,
		// /metrics names every connection: on --listen only with an API token for all.
		MetricsTokens: a.db,
		Logger:        log,
		Ready:         s.ready,
	})
	if s.ln, err = net.Listen("tcp", c.Listen); err != nil {
		return fmt.Errorf("--listen %s: %w", c.Listen, err)
	}
	if c.MetricsListen != "" {
		if s.metLn, err = net.Listen("tcp", c.MetricsListen); err != nil {
			s.ln.Close()
			return fmt.Errorf("--metrics-listen %s: %w", c.MetricsListen, err)
		}
		s.metrics = web.MetricsServer(metrics, log)
	}
	s.onClose(func() error {
		var errs []error
		for _, ln := range []net.Listener{s.ln, s.metLn} {
			if ln == nil {
				continue
			}
			if err := ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	})
	s.url = "http://" + s.ln.Addr().String()
	if c.Sandbox {
		return s.sandbox(ctx)
	}
	// The setup token goes to the operator's terminal only, never to the log.
	if tok, err := auth.SetupToken(ctx); err == nil && tok != "" {
		fmt.Fprintf(s.g.Stdout, "No admin yet: open %s/setup and enter the one-time setup token %s, or run `bcconnector admin create --name NAME`.\n", s.url, tok)
	}
	return nil
}

// ready is /readyz: the store answers and every sealed secret is under a key of the
// keyring (another process may have rotated the master key since start).
func (s *Server) ready() error {
	rctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := s.app.db.CountUsers(rctx); err != nil {
		return err
	}
	return checkSealedKeys(rctx, s.app.db, s.g.databaseName(), s.app.kr)
}

// Run serves HTTP until ctx ends, then stops taking calls and waits up to --grace for
// calls in flight. Call Close afterwards.
func (s *Server) Run(ctx context.Context) error {
	if s.ln == nil {
		return errors.New("server: Run before Open")
	}
	ctx = store.WithActor(ctx, store.Actor{Kind: store.ActorSystem})
	s.app.log.Info("serving", "addr", s.ln.Addr().String())
	metricsDone := make(chan error, 1)
	if s.metLn != nil {
		s.app.log.Info("serving metrics", "addr", s.metLn.Addr().String())
		go func() { metricsDone <- s.metrics.Serve(ctx, s.metLn, s.cfg.Grace) }()
	} else {
		metricsDone <- nil
	}
	err := s.web.Serve(ctx, s.ln, s.cfg.Grace)
	if merr := <-metricsDone; merr != nil && err == nil {
		err = fmt.Errorf("--metrics-listen: %w", merr)
	}
	s.app.log.Info("stopped serving")
	return err
}

// Close stops the job queue (sync jobs commit their page in flight and are released),
// closes the webhook manager, the store and the sandbox. It is safe to call more than
// once.
func (s *Server) Close() error {
	var errs []error
	for i := len(s.closers) - 1; i >= 0; i-- {
		errs = append(errs, s.closers[i]())
	}
	s.closers = nil
	return errors.Join(errs...)
}

// riverJobs is the service's job queue on River.
type riverJobs struct{ rc jobQueue }

// Enqueue inserts a sync job to run at at (zero: now); River's uniqueness absorbs it when
// one for the same target is waiting or running, and the result names that job.
func (j *riverJobs) Enqueue(ctx context.Context, a syncer.SyncArgs, at time.Time) (syncer.Enqueued, error) {
	var opts *river.InsertOpts
	if !at.IsZero() {
		opts = &river.InsertOpts{ScheduledAt: at}
	}
	res, err := j.rc.Insert(ctx, a, opts)
	if err != nil {
		return syncer.Enqueued{}, err
	}
	return syncer.Enqueued{JobID: res.Job.ID, State: string(res.Job.State), Duplicate: res.UniqueSkippedAsDuplicate}, nil
}

// syncHint turns a webhook notification into what it means for the replica.
func syncHint(h webhook.Hint) syncer.Hint {
	out := syncer.Hint{Target: syncer.Target{ConnectionID: h.ConnectionID, CompanyID: h.CompanyID, EntitySet: h.EntitySet}}
	switch {
	case h.ChangeType == webhook.ChangeDeleted && h.ID != "":
		out.DeletedID = h.ID
	case h.ChangeType == webhook.ChangeCollection && h.Since.IsZero():
		out.Reconcile = true
	}
	return out
}

// orNever maps a flag's 0 ("off") to the syncer's negative "never" (its 0 is the default).
func orNever[T int | int64 | time.Duration](v T) T {
	if v == 0 {
		return -1
	}
	return v
}

// instanceName names this process among the instances on one database (for leases): the
// host name, the process ID and a random part, so a restarted process is a new holder.
func instanceName() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), store.NewID()[:8])
}
