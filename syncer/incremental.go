package syncer

import (
	"context"
	"encoding/json"
	"time"

	"github.com/bizzjoiner/bcconnector/bc"
	"github.com/bizzjoiner/bcconnector/bcschema"
	"github.com/bizzjoiner/bcconnector/store"
)

// incrementalCheckpoint lets an interrupted incremental run continue its paging.
type incrementalCheckpoint struct {
	Since   time.Time `json:"since"`
	Next    string    `json:"next,omitempty"`
	MaxSeen time.Time `json:"maxSeen"`
}

const incrementalName = "incremental"

// Incremental applies what changed since the watermark: records with
// lastModifiedDateTime ≥ watermark − Overlap (bc-entra-facts §8: SQL and AL round times
// differently, and a record may commit after a later one), keeping only those whose ETag
// changed. Documents bring their complete lines. Sets without lastModifiedDateTime are
// read in full and reconciled.
func (s *Syncer) Incremental(ctx context.Context, c *bc.Client, t Target) (Result, error) {
	start := time.Now()
	res := Result{Target: t, Mode: ModeIncremental}
	before := c.Stats()
	ent, children, err := s.entity(t)
	if err != nil {
		return res, err
	}
	st, err := s.opt.Store.SyncState(ctx, t.key())
	if err != nil {
		return res, err
	}
	if !st.FullSyncDone {
		return res, ErrNotSynced
	}
	if !ent.HasLastModified() {
		res, err = s.reconcile(ctx, c, t, ent, children)
		res.Mode = ModeIncremental
		return res, s.finish(ctx, t, c, before, err, func(st *store.SyncState) { st.LastReconcileAt = s.opt.Now().UTC() })
	}
	cp := incrementalCheckpoint{Since: st.Watermark.Add(-s.opt.Overlap), MaxSeen: st.Watermark}
	if raw, ok := st.Checkpoints[incrementalName]; ok {
		_ = json.Unmarshal(raw, &cp)
	}
	err = s.incremental(ctx, c, t, ent, children, &cp, &res)
	res.Duration = time.Since(start)
	if err != nil || res.Inserted+res.Updated+res.Deleted > 0 {
		s.logRun(t, "incremental sync", err, "rows", res.Rows, "inserted", res.Inserted, "updated", res.Updated, "pages", res.Pages,
			"elapsedMs", res.Duration.Milliseconds())
	} else {
		s.opt.Logger.Debug("incremental sync", append(targetAttrs(t), "rows", res.Rows, "pages", res.Pages, "elapsedMs", res.Duration.Milliseconds())...)
	}
	if err == nil && s.opt.Observed != nil && res.Inserted+res.Updated > 0 {
		s.opt.Observed(t, cp.MaxSeen)
	}
	return res, s.finish(ctx, t, c, before, err, func(st *store.SyncState) {
		if cp.MaxSeen.After(st.Watermark) {
			st.Watermark = cp.MaxSeen
		}
		delete(st.Checkpoints, incrementalName)
	})
}

func (s *Syncer) incremental(ctx context.Context, c *bc.Client, t Target, ent *bcschema.Entity, children []*bcschema.Entity, cp *incrementalCheckpoint, res *Result) error {
	ref := bc.Set(t.CompanyID, t.EntitySet)
	q := s.query(children, s.opt.PageSize, bc.Ge("lastModifiedDateTime", cp.Since))
	for {
		// Taken before the request: a later write of a record on this page (write-through,
		// webhook delete, another pass) then wins over the page's older version of it.
		mark, err := s.opt.Store.ReadMark(ctx)
		if err != nil {
			return err
		}
		var page *bc.Page
		if cp.Next == "" {
			page, err = c.ListPage(ctx, ref, q)
		} else {
			page, err = c.NextPage(ctx, cp.Next, q)
		}
		if err != nil {
			return err
		}
		if s.opt.ExtensionFields && len(page.Records) > 0 {
			s.staleOnNewField(t, bc.StandardAPI, t.EntitySet, page.Records[0])
		}
		b, err := batchFromPage(t, children, page.Records)
		if err != nil {
			return err
		}
		for _, r := range page.Records {
			if r.LastModified.After(cp.MaxSeen) {
				cp.MaxSeen = r.LastModified
			}
		}
		cp.Next = page.NextLink
		if cp.Next != "" {
			b.CheckpointName = incrementalName
			b.Checkpoint, _ = json.Marshal(cp)
		}
		b.Now = s.opt.Now()
		b.Read = mark
		var ar store.ApplyResult
		// An empty last page (nothing changed, the common case of a pass) has nothing to
		// write: no write transaction is opened for it.
		if len(page.Records) > 0 || b.CheckpointName != "" {
			if ar, err = s.opt.Store.ApplyBatch(ctx, b); err != nil {
				return err
			}
		}
		if err := s.refresh(ctx, c, t, ar.Stale, res); err != nil {
			return err
		}
		res.Pages++
		res.Rows += int64(len(page.Records))
		res.Inserted += int64(ar.Inserted)
		res.Updated += int64(ar.Updated)
		res.Same += int64(ar.Unchanged)
		if s.opt.Progress != nil {
			s.opt.Progress(Progress{Target: t, Mode: ModeIncremental, Rows: res.Rows})
		}
		if cp.Next == "" {
			return nil
		}
		if yieldDue(ctx) {
			return ErrYielded
		}
	}
}

// Delete applies a webhook `deleted` notification: the record (and its lines) leave the
// replica at once, without waiting for reconciliation.
func (s *Syncer) Delete(ctx context.Context, t Target, id string) (store.ApplyResult, error) {
	_, children, err := s.entity(t)
	if err != nil {
		return store.ApplyResult{}, err
	}
	b := store.ReplicaBatch{Key: t.key(), Deletes: []string{id}, Now: s.opt.Now()}
	for _, ch := range children {
		b.Children = append(b.Children, store.ChildReplace{EntitySet: ch.EntitySet, ParentIDs: []string{id}})
	}
	return s.opt.Store.ApplyBatch(ctx, b)
}
