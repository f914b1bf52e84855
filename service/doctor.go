package service

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/bizzjoiner/bcconnector/doctor"
	"github.com/bizzjoiner/bcconnector/guide"
	"github.com/bizzjoiner/bcconnector/store"
)

// Diagnose implements Service.
func (s *Impl) Diagnose(ctx context.Context, in ConnectionInput, onCheck func(doctor.Check)) *doctor.Report {
	if be := s.blocked(store.Connection{Name: in.Name, AuthorityHost: in.AuthorityHost, BCBaseURL: in.BCBaseURL, CAFile: in.CAFile, CAPEM: in.CAPEM}); be != nil {
		// Its own endpoints or none, as for a stored connection: nothing is sent.
		return blockedReport(s.now(), be, onCheck)
	}
	return doctor.Run(ctx, doctor.Config{Input: in.guide(), AuthorityHost: in.AuthorityHost, BCBaseURL: in.BCBaseURL, CAFile: in.CAFile, CAPEM: in.CAPEM,
		HTTPClient: s.hc, Limiters: s.limiters, Entities: in.Entities, WriteEntities: in.WriteEntities, OnCheck: onCheck, Now: s.now, Logger: s.log})
}

// blockedReport is the doctor's report on a connection this server may not use: one failed
// check with the reason and the fix, and nothing sent.
func blockedReport(now time.Time, be *BlockedError, onCheck func(doctor.Check)) *doctor.Report {
	step := guide.ConnectionSettings
	chk := doctor.Check{ID: doctor.CheckEndpoints, Title: "Endpoints allowed on this server", Step: step, Status: doctor.Failed,
		Problem: fmt.Sprintf("the connection uses its own endpoints (%s) and this server does not allow endpoint overrides; nothing was sent", strings.Join(be.Endpoints, ", ")),
		Fix:     strings.TrimPrefix(be.Fix(), "Fix: ")}
	if onCheck != nil {
		onCheck(chk)
	}
	return &doctor.Report{FailedStep: &step, Checks: []doctor.Check{chk}, Started: now, Finished: now}
}

func failedStep(r *doctor.Report) string {
	if r.FailedStep != nil {
		return r.FailedStep.String()
	}
	return "an unnamed step"
}

func (s *Impl) saveReport(ctx context.Context, id string, rep *doctor.Report) {
	b, err := encodeReport(rep)
	if err == nil {
		err = s.st.SaveDoctorReport(ctx, id, b)
	}
	if err != nil {
		s.log.Warn("could not keep the doctor report", "connection", id, "err", err)
	}
}

// RunDoctor implements Service.
func (s *Impl) RunDoctor(ctx context.Context, id string, onCheck func(doctor.Check)) (*doctor.Report, error) {
	c, err := s.st.GetConnection(ctx, id)
	if err != nil {
		return nil, err
	}
	if be := s.blocked(c); be != nil {
		rep := blockedReport(s.now(), be, onCheck)
		s.saveReport(ctx, c.ID, rep)
		return rep, nil
	}
	if cons, err := s.st.Consent(ctx, c.ID); err == nil {
		return s.runExpressDoctor(ctx, c, cons, onCheck)
	} else if !isNotFound(err) {
		return nil, err
	}
	sec, rec, err := s.st.ActiveSecret(ctx, c.ID)
	if isNotFound(err) {
		if _, _, perr := s.st.PendingSecret(ctx, c.ID); perr == nil {
			// Nothing active yet (a certificate waiting for its upload): checking the
			// connection is checking, and on success activating, its pending credential.
			rep, aerr := s.ActivateCredential(ctx, c.ID, onCheck)
			if errors.Is(aerr, ErrSetupFailed) {
				aerr = nil // the report says what failed, as for an active credential
			}
			return rep, aerr
		}
	}
	if err != nil {
		return nil, err
	}
	// The stored connection with its stored endpoints, never the server's defaults.
	cfg := doctor.ForConnection(c, rec.Credential(sec), rec.EndDate)
	cfg.HTTPClient, cfg.Limiters, cfg.OnCheck, cfg.Now, cfg.Logger = s.hc, s.limiters, onCheck, s.now, s.log
	rep := doctor.Run(ctx, cfg)
	s.saveReport(ctx, c.ID, rep)
	if rep.OK {
		_, _ = s.st.MarkSecretVerified(ctx, c.ID, rec.ID)
		if err := s.pinCompany(ctx, c, rep); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// pinCompany pins a connection stored before its first passing check (--no-check, a
// draft whose secret was rotated in, a certificate waiting for its upload) to the company
// that check found, so it can sync.
func (s *Impl) pinCompany(ctx context.Context, c store.Connection, rep *doctor.Report) error {
	if c.CompanyID != "" || rep.CompanyID == "" {
		return nil
	}
	c.CompanyID, c.CompanyName = rep.CompanyID, rep.CompanyName
	updated, err := s.st.UpdateConnection(ctx, c)
	if err != nil {
		return err
	}
	if len(updated.SyncCompanies()) > 1 || updated.AllCompanies {
		// Its other companies (an express connection's, named before consent), or every
		// company: resolved now that BC answers, else by the scheduler's next run.
		if _, err := s.RefreshCompanies(ctx, updated.ID); err != nil {
			s.log.Warn("the connection's other companies are not resolved yet", "connection", updated.ID, "err", err)
		}
	}
	return nil
}

// LastDoctor returns the connection's last doctor report; store.ErrNotFound if none.
func (s *Impl) LastDoctor(ctx context.Context, id string) (*doctor.Report, error) {
	c, err := s.st.GetConnection(ctx, id)
	if err != nil {
		return nil, err
	}
	raw, err := s.st.DoctorReport(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	rep, err := decodeReport(raw)
	if err != nil {
		return nil, fmt.Errorf("stored doctor report: %w", err)
	}
	return rep, nil
}

// runExpressDoctor diagnoses an express connection with the operator's credential; a
// passing run pins the company.
func (s *Impl) runExpressDoctor(ctx context.Context, c store.Connection, cons store.Consent, onCheck func(doctor.Check)) (*doctor.Report, error) {
	cred, info, err := store.ActiveCredential(ctx, s.st, c)
	if err != nil {
		return nil, err
	}
	cfg := s.expressDoctor(ctx, c, cons, cred, info.EndDate)
	cfg.HTTPClient, cfg.Limiters, cfg.OnCheck, cfg.Now, cfg.Logger = s.hc, s.limiters, onCheck, s.now, s.log
	rep := doctor.Run(ctx, cfg)
	s.saveReport(ctx, c.ID, rep)
	switch {
	case rep.ConsentRevoked:
		s.consentRevoked(ctx, cons, "the setup check: "+revocationSeen(rep))
	case rep.OK && cons.State == store.ConsentRevoked:
		// Granted again without the link (Enterprise applications → Permissions).
		cons.State, cons.Error, cons.ErrorDescription = store.ConsentGranted, "", ""
		if _, err := s.st.SetConsent(ctx, cons); err != nil {
			return rep, err
		}
	}
	if rep.OK {
		if err := s.pinCompany(ctx, c, rep); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// revocationSeen is the evidence of the first failed check: Entra's AADSTS code and
// message, or the token's missing role.
func revocationSeen(rep *doctor.Report) string {
	for _, c := range rep.Checks {
		if c.Status != doctor.Failed {
			continue
		}
		if c.Evidence != nil && c.Evidence.Description != "" {
			return firstLine(c.Evidence.Description)
		}
		return c.Problem
	}
	return "consent revoked"
}
