package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/emulator/idp"
	"github.com/bizzjoiner/bcconnector/guide"
	"github.com/bizzjoiner/bcconnector/outbound"
	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/service"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/web/ui"
)

// uiHandler builds the web UI (mounted at "/" behind the admin sign-in); emu is the
// sandbox, or nil.
func uiHandler(svc service.Service, out *outbound.Service, audit store.AuditStore, log *slog.Logger, emu *emulator.Server) (http.Handler, error) {
	opt := ui.Options{Service: svc, Outbound: out, Audit: audit, Logger: log}
	if emu != nil {
		cr := emu.Credentials()
		opt.SandboxNote = "Sandbox: an emulated Business Central (" + cr.TenantDomain + ", " + cr.Environment + ", " + cr.Company + ") whose data changes by itself. Nothing here reaches Microsoft."
		opt.AuthorityHost = emu.AuthorityHost()
		// The wizard starts with the sandbox's values, which serve prints, so it can be
		// walked without guessing; the secret stays on the server.
		opt.SandboxInput = &service.ConnectionInput{TenantID: cr.TenantID, ClientID: cr.ClientID, Secret: secret.Secret(cr.ClientSecret),
			SecretEndDate: cr.SecretEndDate.Format(time.DateOnly), Environment: cr.Environment, Company: cr.Company}
		// New connections made in the wizard reach the sandbox, not Microsoft.
		opt.Endpoints = ui.Endpoints{AuthorityHost: emu.AuthorityHost(), BCBaseURL: emu.BCBaseURL(), CAFile: emu.CAFile}
		// The sandbox has no Entra portal: the wizard's certificate path uploads to its app.
		opt.SandboxUpload = func(der []byte) error {
			return emu.Directory().UpdateApp(cr.TenantID, cr.ClientID, func(a *idp.App) {
				a.Certificates = append(a.Certificates, idp.Certificate{DER: der, Description: "uploaded from the bcconnector wizard"})
			})
		}
		opt.SandboxRegisterBC = func(tenant, environment, clientID string) error {
			t, ok := emu.Directory().LookupTenant(tenant)
			if !ok {
				return fmt.Errorf("the sandbox has no tenant %q", tenant)
			}
			return emu.SetBCApp(t.ID, environment, emulator.BCApp{ClientID: clientID, Description: guide.BCAppDescription, Enabled: true,
				PermissionSets: []string{emulator.ConnectorPermissionSet}})
		}
	}
	return ui.New(opt)
}
