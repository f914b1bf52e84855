package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/emulator/control"
	"github.com/bizzjoiner/bcconnector/emulator/datagen"
	"github.com/bizzjoiner/bcconnector/emulator/fault"
	"github.com/bizzjoiner/bcconnector/emulator/idp"
	"github.com/bizzjoiner/bcconnector/emulator/throttle"
)

// EmulatorCmd runs the sandbox.
type EmulatorCmd struct {
	Listen              string        `default:"127.0.0.1:8443" env:"BCC_EMULATOR_LISTEN" help:"Address to listen on (HTTPS). Port 0 picks a free port."`
	Scenario            string        `default:"ok" env:"BCC_EMULATOR_SCENARIO" help:"Setup scenario to load, e.g. ok, secret-expired, permission-delegated-only; several faults at once separated by commas (secret-wrong,consent-missing). --list-scenarios shows all."`
	ListScenarios       bool          `help:"List the setup scenarios and exit."`
	Seed                int64         `default:"1" env:"BCC_EMULATOR_SEED" help:"Seed for IDs, secrets and data: the same seed gives the same tenant."`
	DataSize            string        `default:"small" env:"BCC_EMULATOR_DATA_SIZE" help:"Rows per company: small, medium, large, or per entity set such as 'medium,generalLedgerEntries=1000000'."`
	LatencyProfile      string        `default:"off" env:"BCC_EMULATOR_LATENCY" help:"Server time per request: off, scaled (15 ms + 0.025 ms/row), reference (150 ms + 0.25 ms/row)."`
	Faults              string        `env:"BCC_EMULATOR_FAULTS" help:"Faults to inject, e.g. '429@0.05,503(30s)@2%:bc,reset@0.01;seq:token=503,503,ok'."`
	CAFile              string        `env:"BCC_EMULATOR_CA_FILE" help:"Where to write the CA certificate (PEM) clients must trust. Default: ca.pem in a directory of this run's own in the temp directory (printed; removed when the emulator stops)."`
	WebhookDelay        time.Duration `default:"30s" env:"BCC_EMULATOR_WEBHOOK_DELAY" help:"Webhook coalescing delay (BC: 30s). 0 sends at once."`
	MutationRate        float64       `default:"0" env:"BCC_EMULATOR_MUTATION_RATE" help:"Changes per second the emulator makes to its own data (0 = none). On Unix, SIGUSR1 stops the changes and the faults for good and prints what was done as one line starting \"emulator quiet: \"."`
	MutationSets        []string      `name:"mutation-sets" sep:"," env:"BCC_EMULATOR_MUTATION_SETS" placeholder:"SET,..." help:"Entity sets the mutator changes (default customers,vendors,items,contacts,generalLedgerEntries): complete new records, plausible edits (phone, e-mail, address, credit limit, price) and deletions, also for employees; document sets such as salesOrders get documents with item lines created, changed and deleted."`
	TokenLifetime       time.Duration `name:"token-lifetime" default:"3599s" env:"BCC_EMULATOR_TOKEN_LIFETIME" help:"Lifetime of the access tokens Entra issues (Entra: about an hour). Shorter makes clients refresh often."`
	TokenOutage         string        `name:"token-outage" env:"BCC_EMULATOR_TOKEN_OUTAGE" placeholder:"FOR/EVERY" help:"Take the Entra token endpoint down (503) for FOR out of every EVERY, e.g. 20s/2m: the first outage starts EVERY-FOR after the start. SIGUSR1 ends outages for good."`
	Customers           int           `default:"0" env:"BCC_EMULATOR_CUSTOMERS" help:"More customer tenants to hold (0-1000), each with its own app registration (so its own BC limits), environment Production and company \"Company X\"; the banner lists their credentials."`
	MaxPageSize         int           `default:"20000" env:"BCC_EMULATOR_MAX_PAGE_SIZE" help:"Server page size cap (BC: 20000)."`
	ConflictStatus      int           `default:"409" enum:"409,412" env:"BCC_EMULATOR_CONFLICT_STATUS" help:"HTTP status of a stale If-Match: 409 or 412 (UNCONFIRMED in BC)."`
	CountBOM            bool          `name:"count-bom" env:"BCC_EMULATOR_COUNT_BOM" help:"Start /$count bodies with a UTF-8 byte order mark, as BC's sometimes do."`
	ResourceCheck       string        `name:"entra-resource-check" default:"before-client" enum:"before-client,before-secret,last" env:"BCC_EMULATOR_ENTRA_RESOURCE_CHECK" help:"Where Entra checks that the tenant has BC (AADSTS500011) among its client and secret checks (UNCONFIRMED): before-client, before-secret or last."`
	CaseSensitiveEnvs   bool          `name:"case-sensitive-environments" env:"BCC_EMULATOR_CASE_SENSITIVE_ENVIRONMENTS" help:"Environment names in URLs match only in their exact case (UNCONFIRMED; default: any case)."`
	AnyCaseCompanies    bool          `name:"case-insensitive-company-names" env:"BCC_EMULATOR_CASE_INSENSITIVE_COMPANY_NAMES" help:"?company= and the Company header find a company by its name in any case (UNCONFIRMED; default: the exact name)."`
	ExpressRedirectURIs []string      `name:"express-redirect-uri" sep:"," env:"BCC_EMULATOR_EXPRESS_REDIRECT_URIS" placeholder:"URL,..." help:"Redirect URIs registered on Bizzjoiner's multi-tenant app (express setup): admin consent returns only to one of them, e.g. the --public-base-url of serve + /consent/callback. With --admin, POST /_emulator/tenants/{vendor}/apps/{client}/redirect-uris adds more while it runs."`
	Prewarm             []string      `sep:"," env:"BCC_EMULATOR_PREWARM" placeholder:"SET,..." help:"Entity sets of the scenario's company whose generated rows are encoded at start (about 0.5 KB of memory a row), so serving their pages costs the emulator a copy: benchmarks of a client keep the emulator's CPU out of its figures."`
	Admin               bool          `env:"BCC_EMULATOR_ADMIN" help:"Serve the admin surface for test harnesses under /_emulator/ (revoke consent, disable the BC app, expire secrets, upload a certificate, rename or add a company, read BC's request counters; see package emulator/control). It has no authentication: off unless given."`
}

// Run starts the emulator and serves until the context ends.
func (c *EmulatorCmd) Run(ctx context.Context, g *Globals) error {
	if c.ListScenarios {
		tw := tabwriter.NewWriter(g.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SCENARIO\tGUIDE STEP\tWHAT THE ADMIN DID\tWHAT THE WIRE SHOWS")
		for _, s := range emulator.Scenarios() {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Name, orDash(s.GuideStep), s.AdminDid, s.WireSignal)
		}
		return tw.Flush()
	}
	cfg, err := c.config()
	if err != nil {
		return err
	}
	opt := emulator.StartOptions{Addr: c.Listen, CAFile: c.CAFile}
	if c.Admin {
		opt.Wrap = withControl
	}
	srv, err := emulator.Start(cfg, opt)
	if err != nil {
		return err
	}
	defer srv.Close()
	if err := srv.Emulator.Prewarm(srv.Emulator.DemoCompanyRef(), c.Prewarm...); err != nil {
		return fmt.Errorf("--prewarm: %w", err)
	}
	printBanner(g, srv, c)
	if c.Admin {
		fmt.Fprintf(g.Stdout, "Admin surface (no authentication; for test harnesses): %s%s\n", srv.URL, control.Prefix)
	}
	outages := &tokenOutages{}
	if c.TokenOutage != "" {
		forD, every, _ := parseOutage(c.TokenOutage) // checked by config
		outages = startTokenOutages(srv.Emulator.Faults(), forD, every)
		defer outages.stop()
	}
	quiet := make(chan os.Signal, 1)
	if sigs := quietSignals(); len(sigs) > 0 {
		signal.Notify(quiet, sigs...)
		defer signal.Stop(quiet)
	}
	for {
		select {
		case <-ctx.Done():
			fmt.Fprintln(g.Stderr, "emulator: stopping")
			return nil
		case <-quiet:
			windows := outages.stop()
			rep := goQuiet(srv.Emulator)
			rep.TokenOutages = windows
			b, _ := json.Marshal(rep)
			fmt.Fprintf(g.Stdout, "%s%s\n", QuietPrefix, b)
		}
	}
}

// QuietPrefix starts the line the emulator prints when SIGUSR1 made it quiet, followed by
// a QuietReport as JSON.
const QuietPrefix = "emulator quiet: "

// QuietReport is what the emulator did until it was made quiet.
type QuietReport struct {
	emulator.MutationStats
	// Changes is inserts + updates + deletes.
	Changes int64 `json:"changes"`
	// Faults counts the injected faults by kind.
	Faults map[fault.Kind]int64 `json:"faults"`
	// Requests counts BC API requests; TokenRequests Entra token requests.
	Requests      int64 `json:"requests"`
	TokenRequests int64 `json:"tokenRequests"`
	// TokenOutages counts the --token-outage windows that began (their 503s are in Faults).
	TokenOutages int64 `json:"tokenOutages"`
	// Apps holds BC's per-app counters by client ID (lower case).
	Apps map[string]QuietApp `json:"apps"`
}

// QuietApp is what BC's limits saw of one app (bc-entra-facts §5).
type QuietApp struct {
	// Requests counts the requests admitted (processing or queued).
	Requests int64 `json:"requests"`
	// MaxInProcess is the most requests of the app BC held at once, processing or queued:
	// a client within BC's limits keeps it at 5.
	MaxInProcess int `json:"maxInProcess"`
	// Throttled counts the 429s BC's limits sent the app (queue full or the 6,000 per 5
	// minutes used up); injected faults are not among them.
	Throttled int64 `json:"throttled"`
	// BusyMs is the processing-slot time the app's requests held, summed over its slots
	// (BC's server time of the app: the latency model's time per request, plus any of
	// the emulator's own work beyond it).
	BusyMs int64 `json:"busyMs"`
}

// tokenOutageRule is the fault rule in force during a --token-outage window.
var tokenOutageRule = fault.Rule{Kind: fault.Kind503, Probability: 1, Route: "/*/oauth2/"}

// parseOutage reads --token-outage FOR/EVERY.
func parseOutage(s string) (forD, every time.Duration, err error) {
	a, b, ok := strings.Cut(s, "/")
	if ok {
		forD, err = time.ParseDuration(strings.TrimSpace(a))
		if err == nil {
			every, err = time.ParseDuration(strings.TrimSpace(b))
		}
	}
	if !ok || err != nil || forD <= 0 || every <= forD {
		return 0, 0, fmt.Errorf("--token-outage %q: write FOR/EVERY with two durations, FOR above 0 and below EVERY, e.g. 20s/2m", s)
	}
	return forD, every, nil
}

// tokenOutages takes the token endpoint down for a while, again and again, until stopped.
type tokenOutages struct {
	stopC   chan struct{}
	done    chan struct{}
	windows atomic.Int64
	once    sync.Once
}

func startTokenOutages(in *fault.Injector, forD, every time.Duration) *tokenOutages {
	o := &tokenOutages{stopC: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(o.done)
		defer in.Remove(tokenOutageRule)
		for {
			select {
			case <-o.stopC:
				return
			case <-time.After(every - forD):
			}
			if err := in.Add(tokenOutageRule); err != nil {
				return
			}
			o.windows.Add(1)
			select {
			case <-o.stopC:
				return
			case <-time.After(forD):
			}
			in.Remove(tokenOutageRule)
		}
	}()
	return o
}

// stop ends the outages for good (the endpoint answers again) and returns how many began.
// It is safe to call more than once, and on a zero tokenOutages (no --token-outage).
func (o *tokenOutages) stop() int64 {
	if o.stopC == nil {
		return 0
	}
	o.once.Do(func() { close(o.stopC) })
	<-o.done
	return o.windows.Load()
}

// goQuiet stops the mutator and removes every fault, so the data stops changing and every
// request is answered normally (a soak test then waits for the replica to converge).
func goQuiet(e *emulator.Emulator) QuietReport {
	st := e.StopMutation()
	faults := e.Faults().Injected()
	e.Faults().Reset()
	apps := map[string]QuietApp{}
	for _, k := range e.LimitedApps() {
		ls := e.AppLimitStats(k)
		apps[strings.ToLower(k)] = QuietApp{Requests: ls.Admitted + int64(ls.Queued), MaxInProcess: ls.MaxOpen, Throttled: ls.Rejected429, BusyMs: ls.Busy.Milliseconds()}
	}
	return QuietReport{MutationStats: st, Changes: st.Changes(), Faults: faults, Requests: e.Stats().Requests, TokenRequests: e.TokenRequests(), Apps: apps}
}

// config turns the flags into an emulator configuration; errors name the flag.
func (c *EmulatorCmd) config() (emulator.Config, error) {
	var cfg emulator.Config
	sizes, err := datagen.ParseSizes(c.DataSize)
	if err != nil {
		return cfg, fmt.Errorf("--data-size: %w", err)
	}
	lat, err := throttle.ParseLatencyProfile(c.LatencyProfile)
	if err != nil {
		return cfg, fmt.Errorf("--latency-profile: %w", err)
	}
	var rules []fault.Rule
	if strings.TrimSpace(c.Faults) != "" {
		if rules, err = fault.Parse(c.Faults); err != nil {
			return cfg, fmt.Errorf("--faults: %w", err)
		}
	}
	if c.MaxPageSize <= 0 {
		return cfg, fmt.Errorf("--max-page-size must be a positive number of entities, got %d", c.MaxPageSize)
	}
	if c.Customers < 0 || c.Customers > 1000 {
		return cfg, fmt.Errorf("--customers must be 0 to 1000 more customer tenants, got %d", c.Customers)
	}
	if c.MutationRate < 0 {
		return cfg, fmt.Errorf("--mutation-rate must be 0 or more changes per second, got %v", c.MutationRate)
	}
	if c.TokenLifetime < time.Second {
		return cfg, fmt.Errorf("--token-lifetime must be at least 1s, got %s", c.TokenLifetime)
	}
	if c.TokenOutage != "" {
		if _, _, err := parseOutage(c.TokenOutage); err != nil {
			return cfg, err
		}
	}
	rc, err := idp.ParseResourceCheck(c.ResourceCheck)
	if err != nil {
		return cfg, fmt.Errorf("--entra-resource-check: %w", err)
	}
	delay := c.WebhookDelay
	if delay == 0 {
		delay = -1 // send at once
	}
	cfg = emulator.Config{
		Scenario:                    c.Scenario,
		Seed:                        c.Seed,
		Customers:                   c.Customers,
		ExpressRedirectURIs:         c.ExpressRedirectURIs,
		Sizes:                       sizes,
		Latency:                     lat,
		Faults:                      rules,
		MaxPageSize:                 c.MaxPageSize,
		ConflictStatus:              c.ConflictStatus,
		CountBOM:                    c.CountBOM,
		CaseSensitiveEnvironments:   c.CaseSensitiveEnvs,
		CaseInsensitiveCompanyNames: c.AnyCaseCompanies,
		Entra:                       emulator.EntraOptions{ResourceCheck: rc},
		WebhookDelay:                delay,
		TokenLifetime:               c.TokenLifetime,
		Mutation:                    emulator.MutatorConfig{Rate: c.MutationRate, EntitySets: c.MutationSets},
	}
	return cfg, nil
}

// withControl serves the admin surface (package emulator/control) next to the emulator.
func withControl(h http.Handler) http.Handler {
	emu, ok := h.(*emulator.Emulator)
	if !ok {
		return h
	}
	mux := http.NewServeMux()
	mux.Handle(control.Prefix, control.Handler(emu, nil))
	mux.Handle("/", emu)
	return mux
}

func printBanner(g *Globals, srv *emulator.Server, c *EmulatorCmd) {
	cr := srv.Credentials()
	fmt.Fprintf(g.Stdout, "bcconnector emulator: Entra ID + Business Central sandbox, scenario %q\n\n", c.Scenario)
	tw := tabwriter.NewWriter(g.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "  Authority host\t%s\n", srv.AuthorityHost())
	fmt.Fprintf(tw, "  BC API base URL\t%s\n", srv.BCBaseURL())
	fmt.Fprintf(tw, "  CA file\t%s\n", srv.CAFile)
	_ = tw.Flush()
	fmt.Fprintln(g.Stdout)
	fmt.Fprintf(tw, "  Tenant ID\t%s  (%s)\n", cr.TenantID, cr.TenantDomain)
	fmt.Fprintf(tw, "  Client ID\t%s\n", cr.ClientID)
	fmt.Fprintf(tw, "  Client secret\t%s  (sandbox only; expires %s)\n", cr.ClientSecret, cr.SecretEndDate.Format("2006-01-02"))
	fmt.Fprintf(tw, "  Environment\t%s\n", cr.Environment)
	fmt.Fprintf(tw, "  Company\t%s\n", cr.Company)
	_ = tw.Flush()
	if cs := srv.Emulator.Customers(); len(cs) > 0 {
		fmt.Fprintf(g.Stdout, "\nMore customers (sandbox secrets, each its own app and BC limits):\n")
		for i, cu := range cs {
			fmt.Fprintf(g.Stdout, "  Customer %d  tenant %s  client %s  secret %s  expires %s  environment %s  company %s\n",
				i+1, cu.TenantID, cu.ClientID, cu.ClientSecret, cu.SecretEndDate.Format("2006-01-02"), cu.Environment, cu.Company)
		}
	}
	x := srv.Emulator.Express()
	fmt.Fprintf(g.Stdout, "\nExpress setup: Bizzjoiner's multi-tenant app (in tenant %s, %s), for `bcconnector express-app set`:\n", x.VendorTenantID, emulator.VendorTenantDomain)
	fmt.Fprintf(g.Stdout, "  Express app: client ID %s, secret %s (sandbox only; expires %s)\n", x.ClientID, x.ClientSecret, x.SecretEndDate.Format("2006-01-02"))
	fmt.Fprintf(g.Stdout, "  Customer tenants: %s (consent, then Step 6 in BC), %s (user consent restricted by its admin)\n", cr.TenantDomain, emulator.RestrictedTenantDomain)
	fmt.Fprintf(g.Stdout, "\nGet a token:\n  curl --cacert %s -d grant_type=client_credentials -d client_id=%s --data-urlencode 'client_secret=%s' --data-urlencode scope=https://api.businesscentral.dynamics.com/.default %s/%s/oauth2/v2.0/token\n",
		srv.CAFile, cr.ClientID, cr.ClientSecret, srv.URL, cr.TenantID)
	fmt.Fprintf(g.Stdout, "List companies:\n  curl --cacert %s -H \"Authorization: Bearer $TOKEN\" %s/%s/%s/api/v2.0/companies\n\nPress Ctrl+C to stop.\n",
		srv.CAFile, srv.BCBaseURL(), cr.TenantID, cr.Environment)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
