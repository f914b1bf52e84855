package service

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/bizzjoiner/bcconnector/doctor"
	"github.com/bizzjoiner/bcconnector/guide"
	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
)

// Certificate validity in months: what NewCertificate and a connection created with
// Credential "certificate" accept, and the default.
const (
	DefaultCertificateMonths = 12
	MaxCertificateMonths     = 60
)

// wantsCertificate checks ConnectionInput.Credential and reports whether the connection is
// to use a certificate.
func (in ConnectionInput) wantsCertificate() (bool, error) {
	switch in.Credential {
	case "", CredentialSecret:
		return in.Certificate != nil, nil
	case CredentialCertificate:
		return true, nil
	}
	return false, &guide.FieldError{Field: "credential", Step: guide.Step3Secret,
		Problem: fmt.Sprintf("%q is not a kind of credential", in.Credential),
		Fix:     `give "secret" (a client secret's Value) or "certificate" (bcconnector generates one for you to upload)`}
}

// generateCertificate makes the certificate of a connection of the app named after
// environment and company (guide Step 1's display name is its subject).
func (s *Impl) generateCertificate(environment, company string, months int) (secret.Certificate, error) {
	if months == 0 {
		months = DefaultCertificateMonths
	}
	if months < 1 || months > MaxCertificateMonths {
		return secret.Certificate{}, &guide.FieldError{Field: "certificate validity", Step: guide.Step3Secret,
			Problem: fmt.Sprintf("%d months is not between 1 and %d", months, MaxCertificateMonths),
			Fix:     "pick how many months the certificate stays valid, e.g. 12; bcconnector warns 30 days before it ends"}
	}
	now := s.now().UTC()
	// Start a little in the past: Entra judges the key by its own clock.
	return secret.GenerateCertificate(secret.CertificateOptions{Subject: guide.DisplayName(environment, company),
		NotBefore: now.Add(-5 * time.Minute), NotAfter: now.AddDate(0, months, 0), Now: s.now})
}

// DraftCertificate implements Service.
func (s *Impl) DraftCertificate(in ConnectionInput) (*secret.Certificate, error) {
	env, fe := guide.CheckEnvironment(strings.TrimSpace(in.Environment))
	if fe != nil {
		return nil, fe
	}
	c, err := s.generateCertificate(env, strings.TrimSpace(in.Company), in.CertificateMonths)
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// credentialView describes a stored credential.
func credentialView(r store.SecretRecord) *CredentialView {
	kind := r.Kind
	if kind == "" {
		kind = store.CredentialSecret
	}
	return &CredentialView{ID: r.ID, Kind: string(kind), State: string(r.State), Thumbprint: r.Thumbprint(),
		EndDate: r.EndDate, CreatedAt: r.CreatedAt, VerifiedAt: r.VerifiedAt}
}

// NewCertificate implements Service.
func (s *Impl) NewCertificate(ctx context.Context, id string, months int) (CredentialView, error) {
	c, err := s.st.GetConnection(ctx, id)
	if err != nil {
		return CredentialView{}, err
	}
	if err := s.refuseExpress(ctx, c); err != nil {
		return CredentialView{}, err
	}
	company := c.CompanyName
	if company == "" {
		company = c.CompanyID
	}
	cert, err := s.generateCertificate(c.Environment, company, months)
	if err != nil {
		return CredentialView{}, err
	}
	rec, err := s.st.AddCertificate(ctx, c.ID, cert)
	if err != nil {
		return CredentialView{}, err
	}
	s.log.Info("certificate generated", "connection", c.ID, "thumbprint", rec.Thumbprint(), "end", rec.EndDate)
	return *credentialView(rec), nil
}

// CertificateDER implements Service.
func (s *Impl) CertificateDER(ctx context.Context, id, credentialID string) ([]byte, error) {
	c, err := s.st.GetConnection(ctx, id)
	if err != nil {
		return nil, err
	}
	recs, err := s.st.ListSecrets(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		if (r.ID == credentialID || r.Thumbprint() == credentialID) && r.Kind == store.CredentialCertificate {
			return r.Certificate, nil
		}
	}
	return nil, fmt.Errorf("%w: connection %q has no certificate %q; generate one first", store.ErrNotFound, c.Name, credentialID)
}

// ActivateCredential implements Service.
func (s *Impl) ActivateCredential(ctx context.Context, id string, onCheck func(doctor.Check)) (*doctor.Report, error) {
	c, err := s.st.GetConnection(ctx, id)
	if err != nil {
		return nil, err
	}
	if be := s.blocked(c); be != nil {
		return blockedReport(s.now(), be, onCheck), be
	}
	sec, rec, err := s.st.PendingSecret(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	cfg := doctor.ForConnection(c, rec.Credential(sec), rec.EndDate)
	cfg.HTTPClient, cfg.Limiters, cfg.OnCheck, cfg.Now, cfg.Logger = s.hc, s.limiters, onCheck, s.now, s.log
	rep := doctor.Run(ctx, cfg)
	if !rep.OK {
		if _, _, aerr := s.st.ActiveSecret(ctx, c.ID); isNotFound(aerr) {
			// The connection's only credential: this report is the connection's state. During
			// a rotation the active credential's last report stays.
			s.saveReport(ctx, c.ID, rep)
		}
		return rep, fmt.Errorf("%w at %s; the new %s stays pending and the current one (if any) stays in use: fix that step, then activate again",
			ErrSetupFailed, failedStep(rep), kindName(rec.Kind))
	}
	if err := s.pinCompany(ctx, c, rep); err != nil {
		return rep, err
	}
	if _, err := s.st.MarkSecretVerified(ctx, c.ID, rec.ID); err != nil {
		return rep, err
	}
	if _, err := s.st.PromoteSecret(ctx, c.ID, rec.ID); err != nil {
		return rep, err
	}
	s.forget(c.ID)
	s.saveReport(ctx, c.ID, rep)
	s.log.Info("credential activated", "connection", c.ID, "kind", rec.Kind, "thumbprint", rec.Thumbprint())
	return rep, nil
}

// checkActiveCredential refuses to sync a connection that has no active credential yet (a
// certificate waiting for its upload): its jobs could only fail. It reads the records
// only, nothing is unsealed.
func (s *Impl) checkActiveCredential(ctx context.Context, c store.Connection) error {
	if _, err := s.st.Consent(ctx, c.ID); err == nil {
		// An express connection uses the operator's credential.
		if _, _, err := s.st.OperatorApp(ctx); err != nil {
			return fmt.Errorf("%w: express connection %q has no credential: %v", store.ErrConflict, c.Name, err)
		}
		return nil
	} else if !isNotFound(err) {
		return err
	}
	recs, err := s.st.ListSecrets(ctx, c.ID)
	if err != nil {
		return err
	}
	for _, r := range recs {
		if r.State == store.SecretActive {
			return nil
		}
	}
	for _, r := range recs {
		if r.State == store.SecretPending && r.Kind == store.CredentialCertificate {
			return fmt.Errorf("%w: connection %q has no active credential yet: its certificate %s waits for the upload in Entra (guide Step 3) and the activation (POST …/activate, or `bcconnector connection activate`)",
				store.ErrConflict, c.Name, r.Thumbprint())
		}
	}
	return fmt.Errorf("%w: connection %q has no active credential; rotate in a client secret or a certificate", store.ErrConflict, c.Name)
}

// withoutSecretErrors drops the client secret's field errors from guide.Validate's.
func withoutSecretErrors(err error) error {
	var keep []error
	for _, e := range unjoinErr(err) {
		var fe *guide.FieldError
		if errors.As(e, &fe) && (fe.Field == "client secret" || fe.Field == "secret end date") {
			continue
		}
		keep = append(keep, e)
	}
	return errors.Join(keep...)
}

func unjoinErr(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	if err == nil {
		return nil
	}
	return []error{err}
}

func kindName(k store.CredentialKind) string {
	if k == store.CredentialCertificate {
		return "certificate"
	}
	return "client secret"
}

// isNotFound reports a missing connection or credential.
func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
