package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/bizzjoiner/bcconnector/doctor"
	"github.com/bizzjoiner/bcconnector/guide"
	"github.com/bizzjoiner/bcconnector/service"
	"github.com/bizzjoiner/bcconnector/store"
)

// ConnectionCmd groups the connection commands.
type ConnectionCmd struct {
	Add          ConnectionAddCmd         `cmd:"" help:"Add a connection from the values the customer's admin handed over; checks the setup first."`
	List         ConnectionListCmd        `cmd:"" help:"List connections with their secret's expiry."`
	Show         ConnectionShowCmd        `cmd:"" help:"Show one connection and its secrets (never their values)."`
	Remove       ConnectionRemoveCmd      `cmd:"" help:"Remove a connection and its sealed secrets."`
	RotateSecret RotateSecretCmd          `cmd:"" name:"rotate-secret" help:"Replace the client secret without downtime: add the new one, verify it with Entra, then retire the old one."`
	Rotate       ConnectionRotateCmd      `cmd:"" help:"Replace the credential without downtime: with --certificate FILE.cer a new certificate (pending until uploaded and activated), else a new client secret (as rotate-secret)."`
	Activate     ConnectionActivateCmd    `cmd:"" help:"Check the connection with its pending credential (e.g. a certificate just uploaded) and make it active when every check passes."`
	Certificate  ConnectionCertificateCmd `cmd:"" help:"Write the connection's certificate (the pending one, else the active one) again, for the upload in guide Step 3."`
	Update       ConnectionUpdateCmd      `cmd:"" help:"Change a connection's companies, entity sets or name (not its tenant, app or secret)."`
}

// Endpoints are the optional endpoint overrides of a connection.
type Endpoints struct {
	AuthorityHost string `name:"authority-host" env:"BCC_AUTHORITY_HOST" placeholder:"URL" help:"Entra authority host (default https://login.microsoftonline.com/; the emulator prints its own)."`
	BCBaseURL     string `name:"bc-base-url" env:"BCC_BC_BASE_URL" placeholder:"URL" help:"BC API base URL (default https://api.businesscentral.dynamics.com/v2.0)."`
	CAFile        string `name:"ca-file" env:"BCC_CA_FILE" placeholder:"PATH" help:"Extra CA certificates (PEM) to trust, e.g. the emulator's CA file."`
}

// ConnectionAddCmd adds a connection.
type ConnectionAddCmd struct {
	Name          string   `help:"Display name; default 'Bizzjoiner – BC Connector – {Environment} – {Company}'."`
	Tenant        string   `required:"" env:"BCC_TENANT" placeholder:"GUID|DOMAIN" help:"Directory (tenant) ID from the app's Overview page (guide Step 2), or a verified domain."`
	ClientID      string   `name:"client-id" env:"BCC_CLIENT_ID" placeholder:"GUID" help:"Application (client) ID from the app's Overview page (guide Step 2); required unless --express."`
	Express       bool     `help:"Express setup: use Bizzjoiner's own multi-tenant app (see express-app) instead of an app of the customer's; the customer's admin only grants admin consent (a link) and registers the app in BC (Step 6). No secret is asked."`
	SecretEndDate string   `name:"secret-end-date" env:"BCC_SECRET_END_DATE" placeholder:"YYYY-MM-DD" help:"The secret's Expires date (guide Step 3), so we can warn before it expires: 2027-02-12, 12 Feb 2027 or Feb 12, 2027 (not 2/12/2027, which reads two ways)."`
	Environment   string   `default:"Production" env:"BCC_ENVIRONMENT" help:"BC environment name as the admin center lists it."`
	Company       []string `sep:"none" env:"BCC_COMPANY" help:"Company name or ID; resolved to its ID and pinned. Repeat it to sync several companies of the environment (the first is the connection's own: writes and the doctor use it)."`
	AllCompanies  bool     `name:"all-companies" help:"Sync every company of the environment, also companies added later (BC's list is read at every scheduling run); the first --company, if any, is the connection's own."`
	Entities      []string `sep:"," help:"Entity sets to read (default: the sync defaults)."`
	WriteEntities []string `name:"write-entities" sep:"," help:"Entity sets the connection may write (checked without changing data)."`
	NoCheck       bool     `name:"no-check" help:"Store without contacting Entra and BC (the company is then kept as given)."`
	ScheduleFlags
	SecretInput
	CertificateOutput
	Endpoints
}

// companiesAndSchedule puts the companies after the first (--company repeated), the
// choice of all companies and the schedule flags into in.
func (c *ConnectionAddCmd) companiesAndSchedule(in *service.ConnectionInput) error {
	if len(c.Company) > 1 {
		in.Companies = c.Company
	}
	if c.AllCompanies {
		in.AllCompanies = &c.AllCompanies
	}
	return c.ScheduleFlags.apply(in, store.Connection{})
}

// Run validates, diagnoses, and stores the connection with its secret sealed (through
// the same service the wizard and the API use).
func (c *ConnectionAddCmd) Run(ctx context.Context, g *Globals) error {
	a, err := g.open(ctx)
	if err != nil {
		return err
	}
	svc, err := a.service()
	if err != nil {
		return err
	}
	if c.Express {
		return c.addExpress(ctx, g, svc)
	}
	if c.ClientID == "" {
		return errors.New("--client-id is required: the Application (client) ID from the app's Overview page (guide Step 2); or add --express to use Bizzjoiner's own app (admin consent and the BC registration only)")
	}
	if len(c.Company) == 0 && !c.AllCompanies {
		return errors.New("--company is missing: give the company's name as BC lists it (or its ID); repeat --company for several, or use --all-companies for every company of the environment")
	}
	in := service.ConnectionInput{Name: c.Name, TenantID: c.Tenant, ClientID: c.ClientID,
		SecretEndDate: c.SecretEndDate, Environment: c.Environment,
		Entities: c.Entities, WriteEntities: c.WriteEntities,
		AuthorityHost: c.AuthorityHost, BCBaseURL: c.BCBaseURL, CAFile: c.CAFile}
	if len(c.Company) > 0 {
		in.Company = c.Company[0]
	}
	if err := c.companiesAndSchedule(&in); err != nil {
		return err
	}
	if c.Certificate != "" {
		return c.addWithCertificate(ctx, g, a, svc, in)
	}
	if in.Secret, err = c.read(g, "Client secret Value (guide Step 3; input hidden): "); err != nil {
		return err
	}
	notices, err := svc.Validate(in)
	printNotices(g.Stderr, notices)
	if err != nil {
		return fmt.Errorf("the values cannot be right:\n%s", bulletErrors(err))
	}
	var view service.ConnectionView
	if c.NoCheck {
		view, err = svc.CreateConnectionUnchecked(ctx, in)
	} else {
		var rep *doctor.Report
		view, rep, err = svc.CreateConnectionDraft(ctx, in)
		if rep != nil {
			_ = rep.WriteText(g.Stdout)
		}
		if errors.Is(err, service.ErrDraftKept) {
			return draftAdvice(view.Name, rep)
		}
		if errors.Is(err, service.ErrSetupFailed) {
			return errors.New("the setup check failed; nothing was stored. Fix the step above and run the command again (or add --no-check to store it anyway)")
		}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(g.Stdout, "\nAdded connection %q (id %s): tenant %s, environment %s, company %s.\nThe client secret is sealed with master key %s.\n",
		view.Name, view.ID, view.TenantID, view.Environment, companyLabel(view.Connection), a.kr.PrimaryID())
	return nil
}

// draftAdvice says what to do with a connection kept as a draft after a failed check,
// in the terms of what failed: a value typed wrong is given again, a portal fix is
// re-checked.
func draftAdvice(name string, rep *doctor.Report) error {
	q := shellQuote(name)
	var b strings.Builder
	fmt.Fprintf(&b, "the setup check failed; the connection is kept as draft %q (its secret stays pending and nothing syncs until a check passes).\n", name)
	retype := rep.Retype()
	switch {
	case slices.Equal(retype, []string{"client secret"}):
		fmt.Fprintf(&b, "  Give the right client secret (it is checked, then activated): bcconnector connection rotate-secret %s --secret-stdin\n", q)
		fmt.Fprintf(&b, "  then check the whole setup: bcconnector doctor %s\n", q)
	case len(retype) > 0:
		fmt.Fprintf(&b, "  Run this command again with the right %s: it replaces the draft.\n", strings.Join(retype, " and "))
	default:
		fmt.Fprintf(&b, "  Fix the step above, then re-check the draft: bcconnector doctor %s (it activates the secret when the check passes).\n", q)
	}
	fmt.Fprintf(&b, "  To drop the draft: bcconnector connection remove %s", q)
	return errors.New(b.String())
}

// shellQuote quotes s for a POSIX shell when it is not a plain word.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r == '-' || r == '_' || r == '.' || r == '/' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func companyLabel(c store.Connection) string {
	cos := c.SyncCompanies()
	if len(cos) <= 1 && !c.AllCompanies {
		return oneCompanyLabel(c)
	}
	var l []string
	for _, co := range cos {
		if co.ID == "" {
			l = append(l, co.Name+" (not resolved yet)")
		} else {
			l = append(l, fmt.Sprintf("%s (%s)", co.Name, co.ID))
		}
	}
	if c.AllCompanies {
		return "all companies, including companies added later: " + strings.Join(l, "; ")
	}
	return strings.Join(l, "; ")
}

func oneCompanyLabel(c store.Connection) string {
	switch {
	case c.CompanyName != "" && c.CompanyID != "":
		return fmt.Sprintf("%s (%s)", c.CompanyName, c.CompanyID)
	case c.CompanyID != "":
		return c.CompanyID
	}
	return c.CompanyName + " (not resolved yet)"
}

func bulletErrors(err error) string {
	var lines []string
	for _, e := range unjoin(err) {
		lines = append(lines, "  - "+e.Error())
	}
	return strings.Join(lines, "\n")
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// ConnectionListCmd lists connections.
type ConnectionListCmd struct {
	JSON bool `help:"Print JSON."`
}

// Run prints one line per connection with the secret's expiry.
func (c *ConnectionListCmd) Run(ctx context.Context, g *Globals) error {
	a, err := g.open(ctx)
	if err != nil {
		return err
	}
	all, err := a.db.ListConnections(ctx)
	if err != nil {
		return err
	}
	if c.JSON {
		return json.NewEncoder(g.Stdout).Encode(all)
	}
	if len(all) == 0 {
		fmt.Fprintln(g.Stdout, "No connections yet. Add one with `bcconnector connection add` (try it against `bcconnector emulator`).")
		return nil
	}
	tw := tabwriter.NewWriter(g.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tKIND\tTENANT\tENVIRONMENT\tCOMPANY\tSECRET")
	for _, cn := range all {
		kind, summary := a.kindSummary(ctx, cn.ID)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", cn.Name, kind, cn.TenantID, cn.Environment, companyLabel(cn), summary)
	}
	return tw.Flush()
}

// kindSummary is a connection's kind and what stands for its secret: the consent of an
// express connection (which has no secret of the customer's), else secretSummary.
func (a *app) kindSummary(ctx context.Context, connID string) (store.ConnectionKind, string) {
	if cons, err := a.db.Consent(ctx, connID); err == nil {
		s := "Bizzjoiner's app; consent " + string(cons.State)
		switch cons.State {
		case store.ConsentRefused:
			s += " (" + cons.ErrorDescription + ")"
		case store.ConsentRevoked:
			s += " " + cons.UpdatedAt.UTC().Format("2006-01-02 15:04") + " UTC (seen by " + cons.ErrorDescription + "); grant it again: bcconnector consent-url NAME"
		}
		return store.KindExpress, s
	}
	return store.KindOwnApp, a.secretSummary(ctx, connID)
}

// secretSummary describes the active secret's expiry, with the warning levels of the guide.
func (a *app) secretSummary(ctx context.Context, connID string) string {
	_, rec, err := a.db.ActiveSecret(ctx, connID)
	if err != nil {
		if _, p, perr := a.db.PendingSecret(ctx, connID); perr == nil && p.Kind == store.CredentialCertificate {
			return "certificate " + p.Thumbprint() + " waits for its upload and `bcconnector connection activate`"
		}
		return "none"
	}
	what := ""
	if rec.Kind == store.CredentialCertificate {
		what = "certificate " + rec.Thumbprint() + " "
	}
	if rec.EndDate.IsZero() {
		return what + "end date unknown"
	}
	level, days := guide.ExpiryLevel(rec.EndDate, time.Now())
	switch level {
	case guide.ExpiryExpired:
		return what + "EXPIRED " + rec.EndDate.Format("2006-01-02") + ": rotate it now"
	case guide.ExpiryNone:
		return what + "expires " + rec.EndDate.Format("2006-01-02")
	}
	return fmt.Sprintf("%sexpires in %d days (%s): rotate it", what, days, rec.EndDate.Format("2006-01-02"))
}

// ConnectionShowCmd shows one connection.
type ConnectionShowCmd struct {
	Connection string `arg:"" help:"Connection name or ID."`
	JSON       bool   `help:"Print JSON."`
}

// Run prints the connection and its secret records.
func (c *ConnectionShowCmd) Run(ctx context.Context, g *Globals) error {
	a, cn, err := g.connection(ctx, c.Connection)
	if err != nil {
		return err
	}
	secrets, err := a.db.ListSecrets(ctx, cn.ID)
	if err != nil {
		return err
	}
	kind, summary := a.kindSummary(ctx, cn.ID)
	if c.JSON {
		return json.NewEncoder(g.Stdout).Encode(map[string]any{"connection": cn, "kind": kind, "secrets": secrets})
	}
	tw := tabwriter.NewWriter(g.Stdout, 0, 4, 2, ' ', 0)
	for _, kv := range [][2]string{
		{"Name", cn.Name}, {"ID", cn.ID}, {"Tenant", cn.TenantID}, {"Client ID", cn.ClientID},
		{"Environment", cn.Environment}, {"Company", companyLabel(cn)}, {"Schedule", scheduleLabel(cn)},
		{"Entities", strings.Join(cn.Entities, ", ")}, {"Write entities", strings.Join(cn.WriteEntities, ", ")},
		{"Authority host", orDefault(cn.AuthorityHost, guide.DefaultAuthorityHost)},
		{"BC API base URL", orDefault(cn.BCBaseURL, guide.DefaultBCBaseURL)}, {"CA certificates", caLabel(cn)},
		{"Kind", string(kind)}, {"Secret", summary},
	} {
		fmt.Fprintf(tw, "%s\t%s\n", kv[0], kv[1])
	}
	_ = tw.Flush()
	fmt.Fprintln(g.Stdout, "\nCredentials (secret values and private keys are sealed and never shown):")
	tw = tabwriter.NewWriter(g.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  ID\tKIND\tSTATE\tEND DATE\tVERIFIED\tKEY\tTHUMBPRINT")
	for _, s := range secrets {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, orSecret(s.Kind), s.State, dateOrDash(s.EndDate), dateOrDash(s.VerifiedAt), orDash(s.KeyID), orDash(s.Thumbprint()))
	}
	return tw.Flush()
}

func orSecret(k store.CredentialKind) string {
	if k == "" {
		return string(store.CredentialSecret)
	}
	return string(k)
}

func orDefault(v, def string) string {
	if v == "" {
		return def + " (default)"
	}
	return v
}

func dateOrDash(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format("2006-01-02")
}

// ConnectionRemoveCmd removes a connection.
type ConnectionRemoveCmd struct {
	Connection string        `arg:"" help:"Connection name or ID."`
	BCTimeout  time.Duration `name:"bc-timeout" default:"30s" help:"How long BC gets to delete the connection's webhook subscriptions; the connection is removed anyway, and what BC still has is named."`
}

// Run removes the connection through the service: its BC webhook subscriptions at BC
// first, then it and its secrets, replica and sync state.
func (c *ConnectionRemoveCmd) Run(ctx context.Context, g *Globals) error {
	a, cn, err := g.connection(ctx, c.Connection)
	if err != nil {
		return err
	}
	if c.BCTimeout <= 0 {
		return fmt.Errorf("--bc-timeout must be positive, got %s", c.BCTimeout)
	}
	svc, err := a.service(func(o *service.Options) { o.RemoveTimeout = c.BCTimeout })
	if err != nil {
		return err
	}
	defer svc.Close()
	rm, err := svc.DeleteConnection(ctx, cn.ID)
	if err != nil {
		return err
	}
	fmt.Fprintf(g.Stdout, "Removed connection %q and its sealed secrets. Delete the client secret in Entra too if it is no longer used.\n", cn.Name)
	if rm.WebhooksDeleted > 0 {
		fmt.Fprintf(g.Stdout, "Deleted its %d webhook subscriptions in Business Central.\n", rm.WebhooksDeleted)
	}
	if left := rm.LeftBehind(); left != "" {
		fmt.Fprintf(g.Stdout, "warning: %s.\n", left)
		for _, l := range rm.WebhooksLeft {
			fmt.Fprintf(g.Stdout, "  left at BC: %s of company %s (subscription %s), expires %s\n", l.EntitySet, l.CompanyID, l.ID, l.ExpiresAt.UTC().Format(time.RFC3339))
		}
	}
	return nil
}

// printNotices writes what validation noticed (values trimmed, the end date as read), one
// "note:" line each.
func printNotices(w io.Writer, notices []guide.Notice) {
	for _, n := range notices {
		fmt.Fprintf(w, "note: %s: %s\n", n.Field, n.Message)
	}
}

// RotateSecretCmd replaces a connection's secret with zero downtime.
type RotateSecretCmd struct {
	Connection    string `arg:"" help:"Connection name or ID."`
	SecretEndDate string `name:"secret-end-date" placeholder:"YYYY-MM-DD" help:"The new secret's Expires date: 2027-02-12, 12 Feb 2027 or Feb 12, 2027 (not 2/12/2027, which reads two ways)."`
	SecretInput
}

// Run adds the new secret as pending, proves it with a token request, then promotes it;
// the old one keeps working until that moment.
func (c *RotateSecretCmd) Run(ctx context.Context, g *Globals) error {
	if c.SecretEndDate != "" {
		// Read and echoed before the secret is asked for (the service reads it the same way).
		_, n, fe := guide.CheckSecretEndDate(c.SecretEndDate, time.Now())
		if fe != nil {
			return fe
		}
		printNotices(g.Stderr, []guide.Notice{*n})
	}
	a, cn, err := g.connection(ctx, c.Connection)
	if err != nil {
		return err
	}
	sec, err := c.read(g, "New client secret Value (input hidden): ")
	if err != nil {
		return err
	}
	svc, err := a.service()
	if err != nil {
		return err
	}
	if err := svc.RotateSecret(ctx, cn.ID, sec, c.SecretEndDate); err != nil {
		return err
	}
	fmt.Fprintf(g.Stdout, "The new secret works and is now active; the old one is retired here. Delete the old secret in Entra (Certificates & secrets) once no other system uses it.\n")
	return nil
}

// caLabel describes a connection's extra CA certificates: the stored PEM's certificates,
// or the path of a connection stored before they were kept in the database.
func caLabel(cn store.Connection) string {
	if cn.CAPEM == "" {
		if cn.CAFile != "" {
			return cn.CAFile + " (a path on the machine that stored it)"
		}
		return ""
	}
	certs, err := store.CACertificates(cn.CAPEM)
	if err != nil {
		return "stored, unreadable: " + err.Error()
	}
	names := make([]string, len(certs))
	for i, c := range certs {
		names[i] = c.Subject.String()
	}
	return "stored in the database: " + strings.Join(names, "; ")
}

// ConnectionUpdateCmd changes what a connection syncs (through the same service the API
// uses); flags left out keep their stored value.
type ConnectionUpdateCmd struct {
	Connection    string   `arg:"" help:"Connection name or ID."`
	Name          string   `help:"New display name."`
	Company       []string `sep:"none" help:"The companies to sync (names or IDs, as BC lists them), replacing the stored list; repeat it for several. The connection's own company stays when listed, else the first becomes it."`
	AllCompanies  *bool    `name:"all-companies" negatable:"" help:"Sync every company of the environment, also companies added later (--no-all-companies: only the listed ones)."`
	Entities      []string `sep:"," help:"Entity sets to read, replacing the stored list."`
	WriteEntities []string `name:"write-entities" sep:"," help:"Entity sets the connection may write, replacing the stored list."`
	ScheduleFlags
}

// Run updates the connection and prints what it syncs now.
func (c *ConnectionUpdateCmd) Run(ctx context.Context, g *Globals) error {
	a, cn, err := g.connection(ctx, c.Connection)
	if err != nil {
		return err
	}
	svc, err := a.service()
	if err != nil {
		return err
	}
	in := service.ConnectionInput{Name: c.Name, Companies: c.Company, AllCompanies: c.AllCompanies,
		Entities: c.Entities, WriteEntities: c.WriteEntities}
	if err := c.ScheduleFlags.apply(&in, cn); err != nil {
		return err
	}
	v, err := svc.UpdateConnection(ctx, cn.ID, in)
	if err != nil {
		return err
	}
	fmt.Fprintf(g.Stdout, "Updated connection %q (id %s): companies %s; schedule %s.\n", v.Name, v.ID, companyLabel(v.Connection), scheduleLabel(v.Connection))
	return nil
}

// ScheduleFlags set a connection's schedule (store.Schedule) on add and update.
type ScheduleFlags struct {
	Interval    string   `placeholder:"DURATION" help:"Time between two passes of the connection's sets, e.g. 15m or 1h (1m to 168h; default: serve's --interval; 'default' goes back to it)."`
	Quiet       string   `placeholder:"HH:MM-HH:MM" help:"A daily window in the customer's time zone (--time-zone) in which no scheduled pass starts, e.g. 22:00-06:00 ('none' removes it)."`
	TimeZone    string   `name:"time-zone" placeholder:"IANA" help:"The customer's time zone for --quiet, an IANA name such as Europe/Berlin or America/New_York."`
	SetInterval []string `name:"set-interval" placeholder:"SET=DURATION" help:"An entity set's own interval, e.g. generalLedgerEntries=6h ('SET=default' removes it); repeat for several."`
	SetQuiet    []string `name:"set-quiet" sep:"none" placeholder:"SET=HH:MM-HH:MM ZONE" help:"An entity set's own quiet window, in place of the connection's, e.g. generalLedgerEntries='01:00-05:00 Europe/Berlin' ('SET=none' removes it); repeat for several."`
}

// apply puts the flags given into in, on top of the stored connection's schedule.
func (f ScheduleFlags) apply(in *service.ConnectionInput, stored store.Connection) error {
	if f.Interval == "" && f.Quiet == "" && f.TimeZone == "" && len(f.SetInterval) == 0 && len(f.SetQuiet) == 0 {
		return nil
	}
	sc := stored.Schedule
	switch f.Interval {
	case "":
	case "default":
		sc.Interval = ""
	default:
		sc.Interval = f.Interval
	}
	switch {
	case f.Quiet == "none":
		sc.Quiet = nil
	case f.Quiet != "":
		start, end, ok := strings.Cut(f.Quiet, "-")
		if !ok {
			return fmt.Errorf("--quiet %q: give the window as HH:MM-HH:MM, e.g. 22:00-06:00", f.Quiet)
		}
		q := store.QuietWindow{Start: start, End: end, TimeZone: f.TimeZone}
		if q.TimeZone == "" && sc.Quiet != nil {
			q.TimeZone = sc.Quiet.TimeZone
		}
		if q.TimeZone == "" {
			return fmt.Errorf("--quiet needs --time-zone: the customer's IANA time zone, such as Europe/Berlin")
		}
		sc.Quiet = &q
	case f.TimeZone != "":
		if sc.Quiet == nil {
			return fmt.Errorf("--time-zone is the zone of the quiet window: give --quiet HH:MM-HH:MM with it")
		}
		q := *sc.Quiet
		q.TimeZone = f.TimeZone
		sc.Quiet = &q
	}
	in.Schedule = &sc
	if len(f.SetInterval) > 0 || len(f.SetQuiet) > 0 {
		sets := map[string]store.Schedule{}
		for k, v := range stored.SetSchedules {
			sets[k] = v
		}
		for _, kv := range f.SetQuiet {
			set, w, ok := strings.Cut(kv, "=")
			window, zone, _ := strings.Cut(strings.TrimSpace(w), " ")
			start, end, okw := strings.Cut(window, "-")
			if set = strings.TrimSpace(set); !ok || set == "" || (w != "none" && (!okw || strings.TrimSpace(zone) == "")) {
				return fmt.Errorf("--set-quiet %q: give SET='HH:MM-HH:MM ZONE' with an IANA time zone, e.g. generalLedgerEntries='01:00-05:00 Europe/Berlin' (SET=none removes it)", kv)
			}
			o := sets[set]
			o.Quiet = nil
			if w != "none" {
				o.Quiet = &store.QuietWindow{Start: start, End: end, TimeZone: strings.TrimSpace(zone)}
			}
			sets[set] = o
		}
		for _, kv := range f.SetInterval {
			set, d, ok := strings.Cut(kv, "=")
			if !ok || set == "" || d == "" {
				return fmt.Errorf("--set-interval %q: give SET=DURATION, e.g. generalLedgerEntries=6h", kv)
			}
			o := sets[set]
			if o.Interval = d; d == "default" {
				o.Interval = ""
			}
			sets[set] = o
		}
		in.SetSchedules = sets
	}
	return nil
}

// scheduleLabel words a connection's schedule, e.g. "every 15m, quiet 22:00–06:00
// Europe/Berlin; generalLedgerEntries every 6h".
func scheduleLabel(c store.Connection) string {
	one := func(s store.Schedule) string {
		var parts []string
		if s.Interval != "" {
			parts = append(parts, "every "+s.Interval)
		}
		if q := s.Quiet; q != nil {
			parts = append(parts, fmt.Sprintf("quiet %s–%s %s", q.Start, q.End, q.TimeZone))
		}
		return strings.Join(parts, ", ")
	}
	out := one(c.Schedule)
	if out == "" {
		out = "serve's --interval"
	}
	sets := slices.Sorted(maps.Keys(c.SetSchedules))
	for _, set := range sets {
		out += "; " + set + " " + one(c.SetSchedules[set])
	}
	return out
}
