package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/bizzjoiner/bcconnector/guide"
	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/service"
	"github.com/bizzjoiner/bcconnector/store"
)

// ExpressAppCmd groups the commands of Bizzjoiner's own multi-tenant app (express setup).
type ExpressAppCmd struct {
	Set    ExpressAppSetCmd    `cmd:"" help:"Configure Bizzjoiner's own multi-tenant app and its credential (secret or generated certificate, sealed); express setup is offered once it is set."`
	Show   ExpressAppShowCmd   `cmd:"" help:"Show the express app (never its credential) and when its credential expires."`
	Remove ExpressAppRemoveCmd `cmd:"" help:"Remove the express app; express connections stop getting tokens."`
}

// ExpressAppSetCmd stores the operator's app.
type ExpressAppSetCmd struct {
	ClientID      string `name:"client-id" required:"" env:"BCC_EXPRESS_CLIENT_ID" placeholder:"GUID" help:"Application (client) ID of Bizzjoiner's multi-tenant app (Supported account types: Accounts in any organizational directory)."`
	Tenant        string `name:"tenant" env:"BCC_EXPRESS_TENANT" placeholder:"GUID|DOMAIN" help:"Directory (tenant) ID of Bizzjoiner's own directory, which holds the app (shown to operators)."`
	RedirectURI   string `name:"redirect-uri" required:"" env:"BCC_EXPRESS_REDIRECT_URI" placeholder:"URL" help:"The app's Web redirect URI: the address customers' browsers reach this server at, plus /consent/callback (e.g. https://connector.example.com/consent/callback). Register exactly this URI on the app (Authentication → Web)."`
	SecretEndDate string `name:"secret-end-date" env:"BCC_EXPRESS_SECRET_END_DATE" placeholder:"YYYY-MM-DD" help:"The secret's Expires date, so the operator is warned 30, 14 and 3 days before."`
	SecretInput
	CertificateOutput
}

// Run stores the app with its credential sealed by the master key.
func (c *ExpressAppSetCmd) Run(ctx context.Context, g *Globals) error {
	a, err := g.open(ctx)
	if err != nil {
		return err
	}
	app := store.OperatorApp{ClientID: c.ClientID, TenantID: c.Tenant, RedirectURI: c.RedirectURI}
	var value secret.Secret
	if c.Certificate != "" {
		if c.SecretEndDate != "" || c.SecretFile != "" || c.SecretStdin {
			return errors.New("--certificate generates a certificate instead of a client secret: leave out --secret-file, --secret-stdin and --secret-end-date")
		}
		if c.CertificateMonths < 1 || c.CertificateMonths > 60 {
			return fmt.Errorf("--certificate-months must be 1 to 60, got %d", c.CertificateMonths)
		}
		now := time.Now()
		cert, err := secret.GenerateCertificate(secret.CertificateOptions{Subject: "Bizzjoiner express app", NotAfter: now.AddDate(0, c.CertificateMonths, 0)})
		if err != nil {
			return err
		}
		app.Certificate, value = cert.DER, cert.Key
	} else {
		if c.SecretEndDate != "" {
			end, notice, fe := guide.CheckSecretEndDate(c.SecretEndDate, time.Now())
			if fe != nil {
				return fmt.Errorf("--secret-end-date: %s; %s", fe.Problem, fe.Fix)
			}
			if notice != nil {
				fmt.Fprintf(g.Stderr, "--secret-end-date: %s\n", notice.Message)
			}
			app.EndDate = end
		}
		if value, err = c.read(g, "Client secret Value of Bizzjoiner's multi-tenant app (input hidden): "); err != nil {
			return err
		}
	}
	saved, err := a.db.SetOperatorApp(ctx, app, value)
	if err != nil {
		return err
	}
	if c.Certificate != "" {
		cer, pemPath, err := writeCertificate(c.Certificate, saved.Certificate)
		if err != nil {
			return err
		}
		fmt.Fprintf(g.Stdout, "Certificate written to %s (and %s); thumbprint %s.\nUpload it to the app: App registrations → the app → Certificates & secrets → Certificates → Upload certificate (%s).\n",
			cer, pemPath, secret.Thumbprint(saved.Certificate), filepath.Base(cer))
	}
	fmt.Fprintf(g.Stdout, "Express app set: client ID %s, redirect URI %s, credential %s sealed with master key %s.\n", saved.ClientID, saved.RedirectURI, saved.Kind, saved.KeyID)
	printOperatorExpiry(g.Stdout, saved.EndDate)
	return nil
}

// printOperatorExpiry warns the operator about the express credential's end date.
func printOperatorExpiry(w io.Writer, end time.Time) {
	if end.IsZero() {
		fmt.Fprintln(w, "Its end date is unknown: give --secret-end-date to be warned before it expires.")
		return
	}
	level, days := guide.ExpiryLevel(end, time.Now())
	switch level {
	case guide.ExpiryExpired:
		fmt.Fprintf(w, "WARNING: the express app's credential EXPIRED on %s: every express connection fails until you set a new one.\n", end.Format(time.DateOnly))
	case guide.ExpiryNone:
		fmt.Fprintf(w, "It expires %s.\n", end.Format(time.DateOnly))
	default:
		fmt.Fprintf(w, "WARNING: the express app's credential expires in %d days (%s): create a new one and set it now.\n", days, end.Format(time.DateOnly))
	}
}

// ExpressAppShowCmd shows the operator's app.
type ExpressAppShowCmd struct{}

// Run prints the app and its credential's expiry, never the credential.
func (c *ExpressAppShowCmd) Run(ctx context.Context, g *Globals) error {
	a, err := g.open(ctx)
	if err != nil {
		return err
	}
	svc, err := a.service()
	if err != nil {
		return err
	}
	st, err := svc.ExpressStatus(ctx)
	if err != nil {
		return err
	}
	if !st.Offered {
		fmt.Fprintln(g.Stdout, "No express app is set: express setup is not offered. Set Bizzjoiner's multi-tenant app with `bcconnector express-app set`.")
		return nil
	}
	tw := tabwriter.NewWriter(g.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "Client ID\t%s\nTenant\t%s\nRedirect URI\t%s\nCredential\t%s %s\n", st.ClientID, orDash(st.TenantID), st.RedirectURI, st.Credential, st.Thumbprint)
	_ = tw.Flush()
	printOperatorExpiry(g.Stdout, st.EndDate)
	return nil
}

// ExpressAppRemoveCmd removes the operator's app.
type ExpressAppRemoveCmd struct{}

// Run deletes the app and its sealed credential.
func (c *ExpressAppRemoveCmd) Run(ctx context.Context, g *Globals) error {
	a, err := g.open(ctx)
	if err != nil {
		return err
	}
	if err := a.db.DeleteOperatorApp(ctx); err != nil {
		return err
	}
	fmt.Fprintln(g.Stdout, "Express app removed: express setup is no longer offered, and express connections get no tokens until it is set again.")
	return nil
}

// addExpress is `connection add --express`: the connection is stored with its consent
// pending, and the two things the customer's admin does are printed.
func (c *ConnectionAddCmd) addExpress(ctx context.Context, g *Globals, svc *service.Impl) error {
	if c.ClientID != "" || c.SecretEndDate != "" || c.SecretFile != "" || c.SecretStdin || c.Certificate != "" || c.NoCheck {
		return errors.New("--express uses Bizzjoiner's own app and the operator's credential: leave out --client-id, the secret flags, --certificate and --no-check")
	}
	if len(c.Company) == 0 {
		return errors.New("--express needs --company: the company's name as BC lists it (or its ID), the connection's own; repeat --company for several, and add --all-companies for every company of the environment (BC's list is read after the admin's consent)")
	}
	in := service.ConnectionInput{Name: c.Name, TenantID: c.Tenant, Environment: c.Environment, Company: c.Company[0],
		Entities: c.Entities, WriteEntities: c.WriteEntities, AuthorityHost: c.AuthorityHost, BCBaseURL: c.BCBaseURL, CAFile: c.CAFile}
	if err := c.companiesAndSchedule(&in); err != nil {
		return err
	}
	v, err := svc.CreateExpress(ctx, in)
	if err != nil {
		if errors.Is(err, service.ErrExpressOff) {
			return err
		}
		return fmt.Errorf("the values cannot be right:\n%s", bulletErrors(err))
	}
	fmt.Fprintf(g.Stdout, "Added express connection %q (id %s): tenant %s, environment %s, company %s, with Bizzjoiner's app %s.\n\n",
		v.Name, v.ID, v.TenantID, v.Environment, companyLabel(v.Connection), v.ClientID)
	printExpressSteps(g.Stdout, v)
	return nil
}

// printExpressSteps prints what the customer's admin does for an express connection.
func printExpressSteps(w io.Writer, v service.ConnectionView) {
	x := v.Express
	fmt.Fprintf(w, "Step 5 – the customer's admin (Global Administrator, Privileged Role Administrator or Cloud Application Administrator) opens this link and accepts; the answer comes back to this server:\n  %s\n\n", x.ConsentURL)
	fmt.Fprintf(w, "Step 6 – in Business Central (environment %s) → %s → New:\n", x.Step6.Environment, x.Step6.Page)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "  Client ID\t%s\n  Description\t%s\n  State\t%s\n  Permission set\t%s (`bcconnector permission-set` writes it; or D365 BUS FULL ACCESS)\n", x.Step6.ClientID, x.Step6.Description, x.Step6.State, x.Step6.PermissionSet)
	_ = tw.Flush()
	fmt.Fprintf(w, "\nThen check it: bcconnector doctor %s\n", shellQuote(v.Name))
}

// warnExpressExpiry logs, at serve's start, that the express app's credential expires
// within 30 days or has expired: the operator's to renew (the dashboard says so too).
func warnExpressExpiry(ctx context.Context, svc *service.Impl, log *slog.Logger) {
	st, err := svc.ExpressStatus(ctx)
	switch {
	case err != nil:
		log.Warn("express app: status not read", "err", err)
	case !st.Offered:
		log.Info("express setup not offered: no express app is configured (bcconnector express-app set)")
	case st.Expiry == guide.ExpiryExpired:
		log.Error("the express app's credential has expired: every express connection fails; set a new one with `bcconnector express-app set`",
			"client_id", st.ClientID, "end_date", st.EndDate.Format(time.DateOnly))
	case st.Expiry != guide.ExpiryNone:
		log.Warn("the express app's credential expires soon; set a new one with `bcconnector express-app set`",
			"client_id", st.ClientID, "end_date", st.EndDate.Format(time.DateOnly), "days_left", st.DaysLeft)
	}
}
