package service

import (
	"context"
	"fmt"
	"time"

	"github.com/bizzjoiner/bcconnector/doctor"
)

// Diagnose implements Service.
func (s *Impl) Diagnose(ctx context.Context, in ConnectionInput, onCheck func(doctor.Check)) *doctor.Report {
	if err := s.checkEndpoints(in); err != nil {
		in.AuthorityHost, in.BCBaseURL, in.CAFile = "", "", ""
		s.log.Warn("endpoint overrides ignored: they are turned off on this server")
	}
	return doctor.Run(ctx, doctor.Config{Input: in.guide(), AuthorityHost: in.AuthorityHost, BCBaseURL: in.BCBaseURL, CAFile: in.CAFile,
		HTTPClient: s.hc, Entities: in.Entities, WriteEntities: in.WriteEntities, OnCheck: onCheck, Now: s.now, Logger: s.log})
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
	sec, rec, err := s.st.ActiveSecret(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	in := ConnectionInput{TenantID: c.TenantID, ClientID: c.ClientID, Secret: sec.Reveal(), Environment: c.Environment,
		Company: c.CompanyID, Entities: c.Entities, WriteEntities: c.WriteEntities, AuthorityHost: c.AuthorityHost,
		BCBaseURL: c.BCBaseURL, CAFile: c.CAFile}
	if !rec.EndDate.IsZero() {
		in.SecretEndDate = rec.EndDate.Format(time.DateOnly)
	}
	if in.Company == "" {
		in.Company = c.CompanyName
	}
	rep := s.Diagnose(ctx, in, onCheck)
	s.saveReport(ctx, c.ID, rep)
	if rep.OK {
		_, _ = s.st.MarkSecretVerified(ctx, c.ID, rec.ID)
	}
	return rep, nil
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
