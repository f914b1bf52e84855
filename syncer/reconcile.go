package syncer

import (
	"context"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/bizzjoiner/bcconnector/bc"
	"github.com/bizzjoiner/bcconnector/bcschema"
	"github.com/bizzjoiner/bcconnector/store"
)

// Reconciliation defaults (Options.ReconcileEvery, Options.ReconcileInterval).
const (
	DefaultReconcileEvery    = 10
	DefaultReconcileInterval = 15 * time.Minute
)

// verifyChunk is how many ids one `id eq … or id eq …` request re-checks before they are
// deleted: 50 GUIDs keep the URL near 3 KB.
const verifyChunk = 50

// Reconcile finds records BC deleted: it lists every id (`$select=id`, pages of up to
// 20,000) and deletes from the replica what is no longer there; documents take their lines
// with them, and every delete is written to the change log. There is no deleted-records
// API (bc-entra-facts §8), so this and webhook `deleted` notifications are the only ways
// to see deletes. Ledger entries, which BC never deletes, are skipped.
//
// It costs one request per 20,000 records plus one per 50 missing ids, and 16 bytes of
// memory per record: the listed ids are kept as sorted 16-byte GUIDs and the replica's ids
// are streamed against them. Pages are not compared range by range because SQL Server
// orders GUIDs differently from their text (bc-entra-facts §4.2 documents $orderby, not
// the order of Edm.Guid), so a range of BC's order is not a range of the replica's. An id
// missing from the listing is read again from the primary database (`id eq … or …`, 50 at
// a time) before it is deleted, so a record the listing missed (read-only replica lag, a
// key renamed during paging, a write-through applied meanwhile) is never reported deleted.
func (s *Syncer) Reconcile(ctx context.Context, c *bc.Client, t Target) (Result, error) {
	before := c.Stats()
	ent, children, err := s.entity(t)
	if err != nil {
		return Result{Target: t, Mode: ModeReconcile}, err
	}
	if isLedger(ent) {
		return Result{Target: t, Mode: ModeReconcile}, nil
	}
	res, err := s.reconcile(ctx, c, t, ent, children)
	if err == nil {
		s.resetPasses(t)
	}
	s.logRun(t, "reconcile", err, "pages", res.Pages, "deleted", res.Deleted, "elapsedMs", res.Duration.Milliseconds())
	return res, s.finish(ctx, t, c, before, err, func(st *store.SyncState) { st.LastReconcileAt = s.opt.Now().UTC() })
}

func (s *Syncer) reconcile(ctx context.Context, c *bc.Client, t Target, ent *bcschema.Entity, children []*bcschema.Entity) (Result, error) {
	start := time.Now()
	res := Result{Target: t, Mode: ModeReconcile}
	if err := s.ensure(ctx, ent, children); err != nil {
		return res, err
	}
	var live idSet
	q := &bc.Query{Select: []string{"id"}, PageSize: bc.MaxPageSize}
	if !ent.HasLastModified() {
		// Without timestamps the set is small and read whole: apply it, then delete the rest.
		q = s.query(children, bc.MaxPageSize, bc.Expr{})
	}
	// The read mark of the next page, taken before the iterator requests it.
	mark, err := s.opt.Store.ReadMark(ctx)
	if err != nil {
		return res, err
	}
	for page, err := range c.Pages(ctx, bc.Set(t.CompanyID, t.EntitySet), q) {
		if err != nil {
			return res, err
		}
		for _, r := range page.Records {
			live.add(r.ID)
		}
		res.Pages++
		if !ent.HasLastModified() {
			b, err := batchFromPage(t, children, page.Records)
			if err != nil {
				return res, err
			}
			b.Now = s.opt.Now()
			b.Read = mark
			ar, err := s.opt.Store.ApplyBatch(ctx, b)
			if err != nil {
				return res, err
			}
			if err := s.refresh(ctx, c, t, ar.Stale, &res); err != nil {
				return res, err
			}
			if mark, err = s.opt.Store.ReadMark(ctx); err != nil {
				return res, err
			}
			res.Rows += int64(len(page.Records))
			res.Inserted += int64(ar.Inserted)
			res.Updated += int64(ar.Updated)
			res.Same += int64(ar.Unchanged)
		}
	}
	live.seal()
	var missing []string
	err = s.opt.Store.ReplicaIDs(ctx, t.key(), func(id, _ string) error {
		if !live.has(id) {
			missing = append(missing, id)
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	for len(missing) > 0 {
		n := min(len(missing), verifyChunk)
		gone, err := s.stillGone(ctx, c, t, missing[:n])
		if err != nil {
			return res, err
		}
		missing = missing[n:]
		if len(gone) == 0 {
			continue
		}
		ar, err := s.deleteRows(ctx, t, children, gone)
		if err != nil {
			return res, err
		}
		res.Deleted += int64(ar.Deleted)
	}
	res.Duration = time.Since(start)
	return res, nil
}

// stillGone reads ids again from BC's primary database and returns those that do not exist.
func (s *Syncer) stillGone(ctx context.Context, c *bc.Client, t Target, ids []string) ([]string, error) {
	terms := make([]bc.Expr, len(ids))
	for i, id := range ids {
		terms[i] = bc.Eq("id", bc.GUID(id))
	}
	exists := map[string]bool{}
	q := &bc.Query{Select: []string{"id"}, Filter: bc.Or(terms...), Primary: true}
	for page, err := range c.Pages(ctx, bc.Set(t.CompanyID, t.EntitySet), q) {
		if err != nil {
			return nil, err
		}
		for _, r := range page.Records {
			exists[strings.ToLower(r.ID)] = true
		}
	}
	var gone []string
	for _, id := range ids {
		if !exists[strings.ToLower(id)] {
			gone = append(gone, id)
		}
	}
	return gone, nil
}

// deleteRows removes records and their lines from the replica in one batch, logging each
// delete.
func (s *Syncer) deleteRows(ctx context.Context, t Target, children []*bcschema.Entity, ids []string) (store.ApplyResult, error) {
	b := store.ReplicaBatch{Key: t.key(), Deletes: ids, Now: s.opt.Now()}
	for _, ch := range children {
		b.Children = append(b.Children, store.ChildReplace{EntitySet: ch.EntitySet, ParentIDs: ids})
	}
	return s.opt.Store.ApplyBatch(ctx, b)
}

// reconcileDue reports whether a scheduled reconciliation should follow an incremental
// pass of t: after Options.ReconcileEvery passes since the last one (counted in this
// process), or when the last one is older than Options.ReconcileInterval.
func (s *Syncer) reconcileDue(t Target, ent *bcschema.Entity, st store.SyncState) bool {
	if isLedger(ent) || !ent.HasLastModified() {
		return false // never deleted, or already reconciled by every incremental pass
	}
	s.mu.Lock()
	if s.passes == nil {
		s.passes = map[Target]int{}
	}
	s.passes[t]++
	n := s.passes[t]
	s.mu.Unlock()
	if s.opt.ReconcileEvery > 0 && n >= s.opt.ReconcileEvery {
		return true
	}
	return s.opt.ReconcileInterval > 0 && s.opt.Now().Sub(st.LastReconcileAt) >= s.opt.ReconcileInterval
}

func (s *Syncer) resetPasses(t Target) {
	s.mu.Lock()
	delete(s.passes, t)
	s.mu.Unlock()
}

// idSet is a compact set of GUIDs: 16 bytes each, sorted once for binary search. Ids that
// are not GUIDs (never seen in BC's API v2.0) go to a map.
type idSet struct {
	guids []guid
	other map[string]struct{}
}

type guid [16]byte

func parseGUID(s string) (guid, bool) {
	var g guid
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return g, false
	}
	h := s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:36]
	if _, err := hex.Decode(g[:], []byte(h)); err != nil {
		return g, false
	}
	return g, true
}

func (m *idSet) add(id string) {
	if g, ok := parseGUID(id); ok {
		m.guids = append(m.guids, g)
		return
	}
	if m.other == nil {
		m.other = map[string]struct{}{}
	}
	m.other[strings.ToLower(id)] = struct{}{}
}

func (m *idSet) seal() {
	slices.SortFunc(m.guids, func(a, b guid) int { return strings.Compare(string(a[:]), string(b[:])) })
}

func (m *idSet) has(id string) bool {
	if g, ok := parseGUID(id); ok {
		_, found := slices.BinarySearchFunc(m.guids, g, func(a, b guid) int { return strings.Compare(string(a[:]), string(b[:])) })
		return found
	}
	_, ok := m.other[strings.ToLower(id)]
	return ok
}

// Apply brings one record of a target up to date after a write-through: it reads the
// record (a document with its lines) from BC's primary database and stores it, or deletes
// it (and its lines) from the replica when BC no longer has it. The change log records
// what changed, so the replica and the change feed follow a write at once instead of at
// the next pass. t is the document's target for a write to a line (Targets maps line sets
// to their document), and id the document's id. Sets never fully synced are left alone.
func (s *Syncer) Apply(ctx context.Context, c *bc.Client, t Target, id string) (store.ApplyResult, error) {
	ent, children, err := s.entity(t)
	if err != nil {
		return store.ApplyResult{}, err
	}
	st, err := s.opt.Store.SyncState(ctx, t.key())
	if err != nil || !st.FullSyncDone {
		return store.ApplyResult{}, err
	}
	q := s.query(children, 0, bc.Expr{})
	q.Primary = true
	mark, err := s.opt.Store.ReadMark(ctx)
	if err != nil {
		return store.ApplyResult{}, err
	}
	rec, err := c.Get(ctx, bc.Set(t.CompanyID, t.EntitySet), id, q)
	if errors.Is(err, bc.ErrNotFound) {
		if isLedger(ent) {
			return store.ApplyResult{}, nil
		}
		return s.deleteRows(ctx, t, children, []string{id})
	}
	if err != nil {
		return store.ApplyResult{}, err
	}
	b, err := batchFromPage(t, children, []bc.Record{rec})
	if err != nil {
		return store.ApplyResult{}, err
	}
	b.Now = s.opt.Now()
	b.Read = mark
	ar, err := s.opt.Store.ApplyBatch(ctx, b)
	if err != nil || len(ar.Stale) == 0 {
		return ar, err
	}
	// Another write of the record committed while it was read: read it again.
	var fixed Result
	err = s.refresh(ctx, c, t, ar.Stale, &fixed)
	ar.Inserted += int(fixed.Inserted)
	ar.Updated += int(fixed.Updated)
	ar.Deleted += int(fixed.Deleted)
	ar.Unchanged += int(fixed.Same)
	ar.Stale = nil
	return ar, err
}
