package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/service"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/web"
	"github.com/bizzjoiner/bcconnector/web/api"
)

// openSandbox starts the emulator with changing data in a temporary directory, which also
// holds the database unless --db is given.
func (s *Server) openSandbox() error {
	dir, err := os.MkdirTemp("", "bcconnector-sandbox-")
	if err != nil {
		return err
	}
	s.onClose(func() error { return os.RemoveAll(dir) })
	if s.g.DB == "" && s.g.DatabaseURL == "" {
		s.g.DB = filepath.Join(dir, "sandbox.db")
		if s.g.KeyFile == "" {
			// The throw-away database's master key goes with it: a demo leaves no key under
			// the user's config directory (where a later real setup would find it).
			s.g.KeyFile = filepath.Join(dir, "master.key")
		}
	}
	s.emu, err = emulator.Start(emulator.Config{Mutation: emulator.MutatorConfig{Rate: 2}, WebhookDelay: time.Second},
		emulator.StartOptions{Addr: "127.0.0.1:0", CAFile: filepath.Join(dir, "emulator-ca.pem")})
	if err != nil {
		return fmt.Errorf("start the sandbox emulator: %w", err)
	}
	s.onClose(func() error { s.emu.Close(); return nil })
	return nil
}

// sandbox creates the demo admin, token and connection, starts its sync and prints how
// to sign in.
func (s *Server) sandbox(ctx context.Context) error {
	g, a, svc, emu, url := s.g, s.app, s.svc, s.emu, s.url
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
		Secret: secret.Secret(cr.ClientSecret), SecretEndDate: cr.SecretEndDate.Format(time.DateOnly), Environment: cr.Environment, Company: cr.Company,
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
	// The scheduler runs from the start and ticks every few seconds: when creating the
	// connection took longer than a tick (a loaded machine), it has queued the first
	// pass already, and Sync answers ErrSyncQueued. That pass is the one wanted here.
	if err := svc.Sync(ctx, v.ID, nil, false); err != nil && !errors.Is(err, service.ErrSyncQueued) {
		return err
	}
	x, xerr := s.sandboxExpress(ctx)
	tw := tabwriter.NewWriter(g.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "Sandbox: emulated Entra ID + Business Central at %s, tenant %s, environment %s, company %q (data changes twice a second).\n", emu.URL, cr.TenantDomain, cr.Environment, cr.Company)
	fmt.Fprintf(tw, "  Web UI\t%s  (sign in as admin / %s; shown once)\n", url, pw)
	fmt.Fprintf(tw, "  API token\t%s  (shown once)\n", tok.Reveal())
	fmt.Fprintf(tw, "  Try\tcurl -H 'Authorization: Bearer %s' %s%s/connections\n", tok.Reveal(), url, api.Prefix)
	fmt.Fprintf(tw, "  Wizard\t%s/wizard connects the sandbox again: its values are pre-filled (tenant %s, client ID %s, the sandbox's client secret, environment %s, company %q); keep them and press Next on each step.\n",
		url, cr.TenantID, cr.ClientID, cr.Environment, cr.Company)
	if xerr != nil {
		// E.g. --listen on every address: Entra takes http redirect URIs only on localhost.
		fmt.Fprintf(tw, "  Express\tnot offered: %v\n", xerr)
		return tw.Flush()
	}
	fmt.Fprintf(tw, "  Express\t%s/wizard/express connects with Bizzjoiner's multi-tenant app (client ID %s, configured for you): tenant %s (consent on the sandbox's consent page, then Step 6 with the sandbox's button) or %s (its admin restricted user consent).\n",
		url, x.ClientID, cr.TenantDomain, emulator.RestrictedTenantDomain)
	return tw.Flush()
}

// sandboxExpress configures the emulator's multi-tenant app as the operator's express app,
// with this server's consent callback registered on it.
func (s *Server) sandboxExpress(ctx context.Context) (emulator.ExpressCredentials, error) {
	x := s.emu.Express()
	redirect := s.url + store.ExpressCallbackPath
	if err := s.emu.AllowExpressRedirect(redirect); err != nil {
		return x, err
	}
	_, err := s.app.db.SetOperatorApp(ctx, store.OperatorApp{ClientID: x.ClientID, TenantID: x.VendorTenantID, RedirectURI: redirect, EndDate: x.SecretEndDate},
		secret.Secret(x.ClientSecret))
	return x, err
}

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)[:n]
}
