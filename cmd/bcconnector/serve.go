package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"github.com/bizzjoiner/bcconnector/bc"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/service"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/store/sqlite"
	"github.com/bizzjoiner/bcconnector/syncer"
	"github.com/bizzjoiner/bcconnector/web"
	"github.com/bizzjoiner/bcconnector/web/api"
	"github.com/bizzjoiner/bcconnector/webhook"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"
	"golang.org/x/term"
	"net/http"
)

// ServeCmd runs the connector: web UI, JSON API, sync workers and the webhook receiver.
type ServeCmd struct {
	Listen    string        `default:"127.0.0.1:8080" env:"BCC_LISTEN" help:"Address of the web UI and the JSON API (http). Port 0 picks a free port."`
	PublicURL string        `name:"public-url" env:"BCC_PUBLIC_URL" placeholder:"URL" help:"Public https URL of /webhooks/bc that BC can reach, e.g. https://connector.example.com/webhooks/bc. Without it only polling runs."`
	Interval  time.Duration `default:"1m" env:"BCC_SYNC_INTERVAL" help:"How often every connection's entity sets are synced incrementally."`
	Workers   int           `default:"4" env:"BCC_SYNC_WORKERS" help:"Sync jobs run at once."`
	Sandbox   bool          `help:"Also start the emulator with a demo tenant and a demo connection that syncs (data changes by itself). Uses a temporary database unless --db is given."`
	Grace     time.Duration `default:"10s" help:"How long shutdown waits for calls and sync pages in flight."`

	SecureCookies bool `name:"secure-cookies" env:"BCC_SECURE_COOKIES" help:"Mark session cookies Secure: set it when users reach the service over https (behind a TLS proxy)."`

	AllowEndpointOverrides bool `name:"allow-endpoint-overrides" env:"BCC_ALLOW_ENDPOINT_OVERRIDES" help:"Let the UI and API set a connection's authority host, BC base URL and CA file (other clouds, proxies). Off by default: it would let an API caller send a secret to any host. On with --sandbox."`
}

// riverJobs is the service's job queue on River.
type riverJobs struct{ rc *river.Client[*sql.Tx] }

func (j riverJobs) Enqueue(ctx context.Context, a syncer.SyncArgs) error {
	_, err := j.rc.Insert(ctx, a, nil)
	return err
}

// ScheduleArgs is the periodic job that fans out incremental sync jobs for every
// connection's targets (and renews webhook subscriptions).
type ScheduleArgs struct{}

// Kind implements river.JobArgs.
func (ScheduleArgs) Kind() string { return "bcc_schedule" }

// InsertOpts keeps one schedule job waiting at a time.
func (ScheduleArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueSchedule, MaxAttempts: 1, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
		rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning, rivertype.JobStateScheduled,
	}}}
}

// QueueSchedule is the River queue of the schedule job (apart from sync jobs, so a full
// queue of long syncs never delays it).
const QueueSchedule = "bcc_schedule"

// scheduleWorker enqueues an incremental run for every target that is not paused, and
// keeps webhook subscriptions alive.
type scheduleWorker struct {
	river.WorkerDefaults[ScheduleArgs]
	svc   *service.Impl
	db    *sqlite.DB
	hooks *webhook.Manager
	log   *slog.Logger
}

func (w *scheduleWorker) Work(ctx context.Context, _ *river.Job[ScheduleArgs]) error {
	conns, err := w.db.ListConnections(ctx)
	if err != nil {
		return err
	}
	rc := river.ClientFromContext[*sql.Tx](ctx)
	for _, c := range conns {
		_, targets, err := w.svc.Targets(ctx, c.ID, nil)
		if err != nil {
			w.log.Warn("schedule: connection skipped", "connection", c.ID, "err", err)
			continue
		}
		var sets []string
		for _, t := range targets {
			st, err := w.db.SyncState(ctx, store.ReplicaKey{ConnectionID: t.ConnectionID, CompanyID: t.CompanyID, EntitySet: t.EntitySet})
			if err == nil && st.Paused {
				continue
			}
			sets = append(sets, t.EntitySet)
			if _, err := rc.Insert(ctx, syncer.SyncArgs{ConnectionID: t.ConnectionID, CompanyID: t.CompanyID, EntitySet: t.EntitySet}, nil); err != nil {
				return err
			}
		}
		if w.hooks != nil && len(sets) > 0 {
			if cl, err := w.svc.Client(ctx, c.ID); err == nil {
				if _, err := w.hooks.Ensure(ctx, cl, c.ID, c.CompanyID, sets); err != nil {
					w.log.Warn("webhook subscriptions", "connection", c.ID, "err", err)
				}
			}
		}
	}
	return nil
}

// Run serves until the context ends (SIGINT or SIGTERM), then stops taking calls, lets
// sync jobs commit their page in flight and releases them, and closes the store.
func (c *ServeCmd) Run(ctx context.Context, g *Globals) error {
	var emu *emulator.Server
	if c.Sandbox {
		dir, err := os.MkdirTemp("", "bcconnector-sandbox-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		if g.DB == "" {
			g.DB = filepath.Join(dir, "sandbox.db")
		}
		emu, err = emulator.Start(emulator.Config{Mutation: emulator.MutatorConfig{Rate: 2}, WebhookDelay: time.Second},
			emulator.StartOptions{Addr: "127.0.0.1:0", CAFile: filepath.Join(dir, "emulator-ca.pem")})
		if err != nil {
			return fmt.Errorf("start the sandbox emulator: %w", err)
		}
		defer emu.Close()
	}
	a, err := g.open(ctx)
	if err != nil {
		return err
	}
	log := a.log
	if c.Workers <= 0 {
		return fmt.Errorf("--workers must be at least 1, got %d", c.Workers)
	}
	if c.Sandbox && c.Interval == time.Minute {
		c.Interval = 5 * time.Second // the mutator changes data twice a second: show it
	}
	if c.Interval < 5*time.Second {
		return fmt.Errorf("--interval must be at least 5s, got %s", c.Interval)
	}

	// River on the same SQLite file.
	pool, err := sql.Open("sqlite", "file:"+a.db.Path()+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
	if err != nil {
		return err
	}
	defer pool.Close()
	pool.SetMaxOpenConns(1)
	driver := riversqlite.New(pool)
	mig, err := rivermigrate.New(driver, nil)
	if err != nil {
		return err
	}
	if _, err := mig.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("job queue migrations: %w", err)
	}

	// The metrics read the service and the webhook manager, built below, at scrape time.
	var svc *service.Impl
	var hooks *webhook.Manager
	metrics := web.NewMetrics(web.MetricsOptions{Store: a.db,
		Clients: func() map[string]*bc.Client {
			out := map[string]*bc.Client{}
			if svc != nil {
				for id, c := range svc.Conns() {
					out[id] = c.BC
				}
			}
			return out
		},
		Webhooks: func() webhook.Stats {
			if hooks == nil {
				return webhook.Stats{}
			}
			return hooks.Stats()
		}})
	sy, err := syncer.New(syncer.Options{Store: a.db, Logger: log})
	if err != nil {
		return err
	}
	jobs := &riverJobs{}
	svc, err = service.New(service.Options{Store: a.db, Syncer: sy, Jobs: jobs, WrapTransport: metrics.Transport, Logger: log,
		AllowEndpointOverrides: c.AllowEndpointOverrides || c.Sandbox,
		BeforeDelete: func(ctx context.Context, id string, client *bc.Client) {
			// A deleted connection's subscriptions must not keep BC calling us.
			if hooks != nil && client != nil {
				if err := hooks.Remove(ctx, client, id); err != nil {
					log.Warn("remove the webhook subscriptions of a deleted connection", "connection", id, "err", err)
				}
			}
		}})
	if err != nil {
		return err
	}
	worker := &syncer.Worker{Syncer: sy, Clients: svc, Logger: log}
	if c.PublicURL != "" {
		hooks, err = webhook.NewManager(webhook.Options{PublicURL: c.PublicURL, Store: a.db, Logger: log, Hint: func(ctx context.Context, h webhook.Hint) {
			t := syncer.Target{ConnectionID: h.ConnectionID, CompanyID: h.CompanyID, EntitySet: h.EntitySet}
			if h.ChangeType == webhook.ChangeDeleted && h.ID != "" {
				// Deletes are invisible to incremental reads: apply them now.
				if _, err := sy.Delete(ctx, t, h.ID); err != nil {
					log.Warn("webhook hint: delete from the replica", "entity_set", t.EntitySet, "err", err)
				}
				return
			}
			if worker.Hint(t) {
				return
			}
			args := syncer.SyncArgs{ConnectionID: t.ConnectionID, CompanyID: t.CompanyID, EntitySet: t.EntitySet}
			if h.ChangeType == webhook.ChangeCollection && h.Since.IsZero() {
				args.Mode = syncer.ModeReconcile
			}
			if err := jobs.Enqueue(ctx, args); err != nil {
				log.Warn("webhook hint: enqueue", "err", err)
			}
		}})
		if err != nil {
			return fmt.Errorf("--public-url: %w", err)
		}
		defer hooks.Close()
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, worker)
	river.AddWorker(workers, &scheduleWorker{svc: svc, db: a.db, hooks: hooks, log: log})
	rc, err := river.NewClient(driver, &river.Config{
		Queues:  map[string]river.QueueConfig{syncer.QueueSync: {MaxWorkers: c.Workers}, QueueSchedule: {MaxWorkers: 1}},
		Workers: workers,
		PeriodicJobs: []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(c.Interval),
			func() (river.JobArgs, *river.InsertOpts) { return ScheduleArgs{}, nil }, &river.PeriodicJobOpts{RunOnStart: true})},
		FetchCooldown:     100 * time.Millisecond,
		FetchPollInterval: 500 * time.Millisecond,
		Logger:            log.With("component", "river"),
	})
	if err != nil {
		return err
	}
	jobs.rc = rc
	if err := rc.Start(ctx); err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), c.Grace)
		defer cancel()
		if err := rc.Stop(sctx); err != nil {
			log.Warn("job queue stop", "err", err)
		}
	}()

	// The UI is served over plain http on --listen; behind a TLS proxy the browser still
	// gets HttpOnly, SameSite=Lax cookies.
	auth := web.NewAuth(web.AuthOptions{Users: a.db, Logger: log, SecureCookies: c.SecureCookies})
	uiH, err := uiHandler(svc, log, emu)
	if err != nil {
		return err
	}
	srv := web.New(web.Options{
		API:      api.New(api.Options{Service: svc, Tokens: a.db, Logger: log}),
		UI:       uiH,
		Webhooks: webhookHandler(hooks),
		Auth:     auth,
		Metrics:  metrics,
		Logger:   log,
		Ready: func() error {
			rctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			_, err := a.db.CountUsers(rctx)
			return err
		},
	})
	ln, err := net.Listen("tcp", c.Listen)
	if err != nil {
		return fmt.Errorf("--listen %s: %w", c.Listen, err)
	}
	url := "http://" + ln.Addr().String()
	if c.Sandbox {
		if err := c.sandbox(ctx, g, a, svc, emu, url); err != nil {
			ln.Close()
			return err
		}
	} else if n, err := a.db.CountUsers(ctx); err == nil && n == 0 {
		fmt.Fprintf(g.Stdout, "No admin yet: open %s/setup from this machine, or run `bcconnector admin create --name NAME`.\n", url)
	}
	fmt.Fprintf(g.Stdout, "bcconnector serving on %s (API %s%s, metrics %s/metrics). Ctrl+C stops.\n", url, url, api.Prefix, url)
	log.Info("serving", "addr", ln.Addr().String())
	err = srv.Serve(ctx, ln, c.Grace)
	log.Info("stopped serving")
	return err
}

// sandbox creates the demo admin, token and connection and starts its sync.
func (c *ServeCmd) sandbox(ctx context.Context, g *Globals, a *app, svc *service.Impl, emu *emulator.Server, url string) error {
	pw := randomString(18)
	hash, err := web.HashPassword(pw)
	if err != nil {
		return err
	}
	if err := a.db.CreateUser(ctx, "admin", hash); err != nil && !errors.Is(err, store.ErrConflict) {
		return err
	}
	tok := store.NewToken()
	if _, err := a.db.CreateToken(ctx, "sandbox-"+randomString(4), nil, store.HashToken(tok.Reveal())); err != nil {
		return err
	}
	cr := emu.Credentials()
	v, rep, err := svc.CreateConnection(ctx, service.ConnectionInput{Name: "Sandbox – " + cr.Company, TenantID: cr.TenantID, ClientID: cr.ClientID,
		Secret: cr.ClientSecret, SecretEndDate: cr.SecretEndDate.Format(time.DateOnly), Environment: cr.Environment, Company: cr.Company,
		AuthorityHost: emu.AuthorityHost(), BCBaseURL: emu.BCBaseURL(), CAFile: emu.CAFile})
	if errors.Is(err, store.ErrConflict) {
		v, err = svc.GetConnection(ctx, "Sandbox – "+cr.Company)
	}
	if err != nil {
		if rep != nil {
			_ = rep.WriteText(g.Stderr)
		}
		return fmt.Errorf("sandbox connection: %w", err)
	}
	if err := svc.Sync(ctx, v.ID, nil, false); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(g.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "Sandbox: emulated Entra ID + Business Central at %s, tenant %s, environment %s, company %q (data changes twice a second).\n", emu.URL, cr.TenantDomain, cr.Environment, cr.Company)
	fmt.Fprintf(tw, "  Web UI\t%s  (sign in as admin / %s; shown once)\n", url, pw)
	fmt.Fprintf(tw, "  API token\t%s  (shown once)\n", tok.Reveal())
	fmt.Fprintf(tw, "  Try\tcurl -H 'Authorization: Bearer %s' %s%s/connections\n", tok.Reveal(), url, api.Prefix)
	return tw.Flush()
}

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)[:n]
}

func webhookHandler(m *webhook.Manager) http.Handler {
	if m == nil {
		return nil
	}
	return m
}

// TokenCmd manages API tokens.
type TokenCmd struct {
	Create TokenCreateCmd `cmd:"" help:"Create an API token (shown once; only its hash is stored)."`
	List   TokenListCmd   `cmd:"" help:"List API tokens (never their values)."`
	Revoke TokenRevokeCmd `cmd:"" help:"Revoke an API token by name or ID."`
}

// TokenCreateCmd creates a token.
type TokenCreateCmd struct {
	Name        string   `required:"" help:"Who uses the token, e.g. platform-prod."`
	Connections []string `sep:"," placeholder:"ID,..." help:"Connection IDs or names the token may use (default: all connections)."`
}

// Run creates the token and prints it once.
func (c *TokenCreateCmd) Run(ctx context.Context, g *Globals) error {
	a, err := g.open(ctx)
	if err != nil {
		return err
	}
	var ids []string
	for _, n := range c.Connections {
		cn, err := a.connection(ctx, n)
		if err != nil {
			return err
		}
		ids = append(ids, cn.ID)
	}
	tok := store.NewToken()
	t, err := a.db.CreateToken(ctx, c.Name, ids, store.HashToken(tok.Reveal()))
	if err != nil {
		return err
	}
	scope := "all connections"
	if ids != nil {
		scope = "connections " + strings.Join(ids, ", ")
	}
	fmt.Fprintf(g.Stderr, "Token %q (id %s) for %s. Copy it now: it is not stored and cannot be shown again.\n", t.Name, t.ID, scope)
	_, err = fmt.Fprintln(g.Stdout, tok.Reveal())
	return err
}

// TokenListCmd lists tokens.
type TokenListCmd struct{}

// Run prints the tokens.
func (TokenListCmd) Run(ctx context.Context, g *Globals) error {
	a, err := g.open(ctx)
	if err != nil {
		return err
	}
	ts, err := a.db.ListTokens(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(g.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tID\tSCOPE\tCREATED\tLAST USED\tREVOKED")
	for _, t := range ts {
		scope := "all"
		if t.Connections != nil {
			scope = strings.Join(t.Connections, ",")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.Name, t.ID, scope, stamp(t.CreatedAt), stamp(t.LastUsedAt), stamp(t.RevokedAt))
	}
	return tw.Flush()
}

// TokenRevokeCmd revokes a token.
type TokenRevokeCmd struct {
	Token string `arg:"" help:"Token name or ID."`
}

// Run revokes the token.
func (c *TokenRevokeCmd) Run(ctx context.Context, g *Globals) error {
	a, err := g.open(ctx)
	if err != nil {
		return err
	}
	if err := a.db.RevokeToken(ctx, c.Token); err != nil {
		return err
	}
	_, err = fmt.Fprintf(g.Stdout, "Revoked token %q.\n", c.Token)
	return err
}

// AdminCmd manages web UI admins.
type AdminCmd struct {
	Create AdminCreateCmd `cmd:"" help:"Create a web UI admin (password from a prompt or standard input)."`
}

// AdminCreateCmd creates an admin.
type AdminCreateCmd struct {
	Name string `required:"" help:"The admin's sign-in name."`
}

// Run reads the password and stores its Argon2id hash.
func (c *AdminCreateCmd) Run(ctx context.Context, g *Globals) error {
	a, err := g.open(ctx)
	if err != nil {
		return err
	}
	var pw string
	if f, ok := g.Stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(g.Stderr, "Password (at least 12 characters, input hidden): ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(g.Stderr)
		if err != nil {
			return err
		}
		pw = string(b)
	} else {
		line, err := bufio.NewReader(g.Stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		pw = strings.TrimRight(line, "\r\n")
	}
	hash, err := web.HashPassword(pw)
	if err != nil {
		return err
	}
	if err := a.db.CreateUser(ctx, c.Name, hash); err != nil {
		return err
	}
	_, err = fmt.Fprintf(g.Stdout, "Admin %q created; sign in at the web UI.\n", c.Name)
	return err
}
