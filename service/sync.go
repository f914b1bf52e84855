package service

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/bizzjoiner/bcconnector/doctor"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/syncer"
)

// Targets returns the sync targets of a connection: each entity set (entitySets nil = the
// connection's, else the sync defaults) in each of its companies whose ID is known.
func (s *Impl) Targets(ctx context.Context, id string, entitySets []string) (store.Connection, []syncer.Target, error) {
	c, err := s.st.GetConnection(ctx, id)
	if err != nil {
		return c, nil, err
	}
	if err := s.checkActiveCredential(ctx, c); err != nil {
		return c, nil, err
	}
	var companies []store.Company
	for _, co := range c.SyncCompanies() {
		if co.ID != "" { // a company stored by name only is resolved by the scheduler's next run
			companies = append(companies, co)
		}
	}
	if len(companies) == 0 {
		return c, nil, fmt.Errorf("%w: connection %q has no resolved company; run the doctor", store.ErrConflict, c.Name)
	}
	sets := entitySets
	if len(sets) == 0 {
		sets = c.Entities
	}
	if len(sets) == 0 {
		sets = doctor.DefaultEntities
	}
	if err := s.checkSets(sets); err != nil {
		return c, nil, err
	}
	var ts []syncer.Target
	for _, co := range companies {
		t, err := s.sync.Targets(c.ID, co.ID, sets)
		if err != nil {
			return c, nil, err
		}
		ts = append(ts, t...)
	}
	return c, ts, nil
}

// Sync implements Service: one job per target; a job already waiting or running for a
// target absorbs the new one (River uniqueness). When that happens for every target,
// nothing will run because of this request, and Sync says so with ErrSyncQueued.
func (s *Impl) Sync(ctx context.Context, id string, entitySets []string, full bool) error {
	if s.jobs == nil {
		return ErrNoJobs
	}
	_, ts, err := s.Targets(ctx, id, entitySets)
	if err != nil {
		return err
	}
	var absorbed []string
	for _, t := range ts {
		args := syncer.SyncArgs{ConnectionID: t.ConnectionID, CompanyID: t.CompanyID, EntitySet: t.EntitySet}
		if full {
			args.Mode = syncer.ModeFull
		}
		res, err := s.jobs.Enqueue(ctx, args, time.Time{})
		if err != nil {
			return fmt.Errorf("enqueue sync of %s: %w", t.EntitySet, err)
		}
		if res.Duplicate {
			absorbed = append(absorbed, fmt.Sprintf("%s (job %d, %s)", t.EntitySet, res.JobID, res.State))
		}
	}
	if len(ts) > 0 && len(absorbed) == len(ts) {
		return fmt.Errorf("%w for %s: this request started nothing; ask again when it has finished (GET the sync status)",
			ErrSyncQueued, strings.Join(absorbed, ", "))
	}
	return nil
}

// SetPaused implements Service: paused sets are skipped by scheduled runs.
func (s *Impl) SetPaused(ctx context.Context, id string, paused bool) error {
	c, ts, err := s.Targets(ctx, id, nil)
	if err != nil {
		return err
	}
	for _, t := range ts {
		key := store.ReplicaKey{ConnectionID: c.ID, CompanyID: t.CompanyID, EntitySet: t.EntitySet}
		if err := s.st.UpdateSyncState(ctx, key, func(st *store.SyncState) { st.Paused = paused }); err != nil {
			return err
		}
	}
	return nil
}
