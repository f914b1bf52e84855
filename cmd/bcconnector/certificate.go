package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/service"
	"github.com/bizzjoiner/bcconnector/store"
)

// CertificateOutput is where a command writes a generated certificate (public): the .cer
// the admin uploads in Step 3, and a .pem beside it.
type CertificateOutput struct {
	Certificate       string `name:"certificate" placeholder:"FILE.cer" help:"Use a certificate instead of a client secret: bcconnector generates a key pair and a self-signed certificate (the private key is sealed and never leaves it) and writes the certificate to FILE.cer (DER) and FILE.pem, for upload under Certificates & secrets → Certificates (guide Step 3)."`
	CertificateMonths int    `name:"certificate-months" default:"12" help:"How many months the generated certificate is valid (1-60)."`
}

// cerAndPEM returns the paths of the DER and PEM files for path.
func cerAndPEM(path string) (string, string) {
	base := strings.TrimSuffix(path, filepath.Ext(path))
	if filepath.Ext(path) != ".cer" {
		base = path
	}
	return base + ".cer", base + ".pem"
}

// writeCertificate writes the public certificate as DER (.cer) and PEM (.pem) next to each
// other; both are public, so world-readable.
func writeCertificate(path string, der []byte) (cer, pemPath string, err error) {
	cer, pemPath = cerAndPEM(path)
	if err := os.WriteFile(cer, der, 0o644); err != nil {
		return "", "", fmt.Errorf("write the certificate: %w", err)
	}
	if err := os.WriteFile(pemPath, secret.Certificate{DER: der}.PEM(), 0o644); err != nil {
		return "", "", fmt.Errorf("write the certificate: %w", err)
	}
	return cer, pemPath, nil
}

// printUpload tells the admin what to do with a pending certificate.
func printUpload(w io.Writer, connName string, cv *service.CredentialView, cer, pemPath string) {
	fmt.Fprintf(w, "Certificate written to %s (and %s).\n  Thumbprint  %s\n  Valid until %s\n\n", cer, pemPath, cv.Thumbprint, cv.EndDate.Format(time.DateOnly))
	fmt.Fprintf(w, "Next (guide Step 3, with a certificate instead of a secret):\n"+
		"  1. In the Entra admin center open App registrations → your app → Certificates & secrets → Certificates → Upload certificate,\n"+
		"     select %s and click Add.\n"+
		"  2. Check that the portal's Thumbprint column shows %s.\n"+
		"  3. Run `bcconnector connection activate %q`: it checks the setup with the certificate and makes it active.\n",
		filepath.Base(cer), cv.Thumbprint, connName)
}

// addWithCertificate is `connection add --certificate`: the connection is stored with a
// generated certificate pending, since Entra cannot accept it before the upload.
func (c *ConnectionAddCmd) addWithCertificate(ctx context.Context, g *Globals, a *app, svc *service.Impl, in service.ConnectionInput) error {
	if c.NoCheck {
		return errors.New("--no-check has no meaning with --certificate: a connection with a new certificate is always stored first and checked by `bcconnector connection activate` after the upload")
	}
	if c.SecretFile != "" || c.SecretStdin {
		return errors.New("give either --certificate or a client secret (--secret-file, --secret-stdin), not both")
	}
	in.Credential, in.CertificateMonths = service.CredentialCertificate, c.CertificateMonths
	notices, err := svc.Validate(in)
	printNotices(g.Stderr, notices)
	if err != nil {
		return fmt.Errorf("the values cannot be right:\n%s", bulletErrors(err))
	}
	view, _, err := svc.CreateConnection(ctx, in)
	if err != nil {
		return err
	}
	if view.PendingCredential == nil {
		return fmt.Errorf("connection %q was stored without its certificate; run `bcconnector connection rotate %q --certificate FILE.cer`", view.Name, view.Name)
	}
	der, err := svc.CertificateDER(ctx, view.ID, view.PendingCredential.ID)
	if err != nil {
		return err
	}
	cer, pemPath, err := writeCertificate(c.Certificate, der)
	if err != nil {
		return fmt.Errorf("%w; the connection %q is stored with its certificate, write it elsewhere with `bcconnector connection certificate %q --out FILE.cer`", err, view.Name, view.Name)
	}
	fmt.Fprintf(g.Stdout, "Added connection %q (id %s): tenant %s, environment %s, company %s.\nIts certificate's private key is sealed with master key %s; it waits for the upload.\n\n",
		view.Name, view.ID, view.TenantID, view.Environment, companyLabel(view.Connection), a.kr.PrimaryID())
	printUpload(g.Stdout, view.Name, view.PendingCredential, cer, pemPath)
	return nil
}

// connectionService loads a connection and the service over the store.
func (g *Globals) connectionService(ctx context.Context, nameOrID string) (*service.Impl, store.Connection, error) {
	a, cn, err := g.connection(ctx, nameOrID)
	if err != nil {
		return nil, cn, err
	}
	svc, err := a.service()
	return svc, cn, err
}

// ConnectionRotateCmd replaces a connection's credential without downtime, with a new
// certificate or a new client secret.
type ConnectionRotateCmd struct {
	Connection    string `arg:"" help:"Connection name or ID."`
	SecretEndDate string `name:"secret-end-date" placeholder:"YYYY-MM-DD" help:"A new secret's Expires date: 2027-02-12, 12 Feb 2027 or Feb 12, 2027."`
	CertificateOutput
	SecretInput
}

// Run generates a certificate (pending until activated) or rotates to a new secret.
func (c *ConnectionRotateCmd) Run(ctx context.Context, g *Globals) error {
	if c.Certificate == "" {
		return (&RotateSecretCmd{Connection: c.Connection, SecretEndDate: c.SecretEndDate, SecretInput: c.SecretInput}).Run(ctx, g)
	}
	if c.SecretFile != "" || c.SecretStdin {
		return errors.New("give either --certificate or a new client secret (--secret-file, --secret-stdin), not both")
	}
	svc, cn, err := g.connectionService(ctx, c.Connection)
	if err != nil {
		return err
	}
	cv, err := svc.NewCertificate(ctx, cn.ID, c.CertificateMonths)
	if err != nil {
		return err
	}
	der, err := svc.CertificateDER(ctx, cn.ID, cv.ID)
	if err != nil {
		return err
	}
	cer, pemPath, err := writeCertificate(c.Certificate, der)
	if err != nil {
		return err
	}
	fmt.Fprintf(g.Stdout, "A new certificate is pending for %q; the current credential stays in use until the new one passes the check.\n\n", cn.Name)
	printUpload(g.Stdout, cn.Name, &cv, cer, pemPath)
	return nil
}

// ConnectionActivateCmd checks a connection with its pending credential and activates it.
type ConnectionActivateCmd struct {
	Connection string `arg:"" help:"Connection name or ID."`
}

// Run runs the doctor with the pending credential; on success it becomes active.
func (c *ConnectionActivateCmd) Run(ctx context.Context, g *Globals) error {
	svc, cn, err := g.connectionService(ctx, c.Connection)
	if err != nil {
		return err
	}
	rep, err := svc.ActivateCredential(ctx, cn.ID, nil)
	if rep != nil {
		_ = rep.WriteText(g.Stdout)
	}
	if errors.Is(err, service.ErrSetupFailed) {
		return fmt.Errorf("the check with the new credential failed, so it stays pending and nothing changed; fix the step above and run `bcconnector connection activate %q` again", cn.Name)
	}
	if err != nil {
		return err
	}
	v, err := svc.GetConnection(ctx, cn.ID)
	if err != nil {
		return err
	}
	what := "client secret"
	if v.Credential != nil && v.Credential.Kind == service.CredentialCertificate {
		what = "certificate " + v.Credential.Thumbprint
	}
	fmt.Fprintf(g.Stdout, "\nThe %s is now active for %q; the previous credential (if any) is retired here. Delete it in Entra (Certificates & secrets) once no other system uses it.\n", what, v.Name)
	return nil
}

// ConnectionCertificateCmd writes a connection's certificate again (for the upload).
type ConnectionCertificateCmd struct {
	Connection string `arg:"" help:"Connection name or ID."`
	Out        string `required:"" placeholder:"FILE.cer" help:"Write the certificate to FILE.cer (DER) and FILE.pem."`
}

// Run writes the pending certificate, or else the active one.
func (c *ConnectionCertificateCmd) Run(ctx context.Context, g *Globals) error {
	svc, cn, err := g.connectionService(ctx, c.Connection)
	if err != nil {
		return err
	}
	v, err := svc.GetConnection(ctx, cn.ID)
	if err != nil {
		return err
	}
	cv := v.PendingCredential
	if cv == nil || cv.Kind != service.CredentialCertificate {
		cv = v.Credential
	}
	if cv == nil || cv.Kind != service.CredentialCertificate {
		return fmt.Errorf("connection %q has no certificate; generate one with `bcconnector connection rotate %q --certificate FILE.cer`", cn.Name, cn.Name)
	}
	der, err := svc.CertificateDER(ctx, cn.ID, cv.ID)
	if err != nil {
		return err
	}
	cer, pemPath, err := writeCertificate(c.Out, der)
	if err != nil {
		return err
	}
	fmt.Fprintf(g.Stdout, "The %s certificate %s (valid until %s) is in %s and %s.\n", cv.State, cv.Thumbprint, cv.EndDate.Format(time.DateOnly), cer, pemPath)
	return nil
}
