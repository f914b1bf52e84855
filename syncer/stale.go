package syncer

import (
	"context"
	"strings"

	"github.com/bizzjoiner/bcconnector/bc"
)

// refreshRounds bounds how often refresh reads a record again that keeps being written
// meanwhile; what is still contested after that is left to the writer that won (its own
// read is the later one) or to the next pass.
const refreshRounds = 3

// refresh applies again the records a batch left out because the replica got a later
// write of them (store.ApplyResult.Stale): the batch's version may be older than the
// replica's, or the record deleted since, and neither read says which is newer. So they
// are read again, by id from BC's primary database (50 per request, documents with their
// lines), under a new read mark, and applied; those BC no longer has are deleted (except
// ledger entries, which BC never deletes). A race costs one request per 50 contested ids;
// a pass without one costs nothing.
func (s *Syncer) refresh(ctx context.Context, c *bc.Client, t Target, ids []string, res *Result) error {
	if len(ids) == 0 {
		return nil
	}
	ent, children, err := s.entity(t)
	if err != nil {
		return err
	}
	ref := bc.Set(t.CompanyID, t.EntitySet)
	for round := 0; len(ids) > 0; round++ {
		if round == refreshRounds {
			s.opt.Logger.Info("records still written by others while re-read; left to them and the next pass",
				append(targetAttrs(t), "ids", len(ids))...)
			return nil
		}
		var again []string
		for len(ids) > 0 {
			n := min(len(ids), verifyChunk)
			chunk := ids[:n]
			ids = ids[n:]
			mark, err := s.opt.Store.ReadMark(ctx)
			if err != nil {
				return err
			}
			terms := make([]bc.Expr, len(chunk))
			for i, id := range chunk {
				terms[i] = bc.Eq("id", bc.GUID(id))
			}
			q := s.query(children, 0, bc.Or(terms...))
			q.Primary = true
			var recs []bc.Record
			for page, err := range c.Pages(ctx, ref, q) {
				if err != nil {
					return err
				}
				recs = append(recs, page.Records...)
			}
			b, err := batchFromPage(t, children, recs)
			if err != nil {
				return err
			}
			found := make(map[string]bool, len(recs))
			for _, r := range recs {
				found[strings.ToLower(r.ID)] = true
			}
			if !isLedger(ent) {
				for _, id := range chunk {
					if !found[strings.ToLower(id)] {
						b.Deletes = append(b.Deletes, id)
					}
				}
			}
			for i := range b.Children { // one per line set: a deleted document takes its lines
				b.Children[i].ParentIDs = append(b.Children[i].ParentIDs, b.Deletes...)
			}
			b.Read = mark
			b.Now = s.opt.Now()
			ar, err := s.opt.Store.ApplyBatch(ctx, b)
			if err != nil {
				return err
			}
			res.Inserted += int64(ar.Inserted)
			res.Updated += int64(ar.Updated)
			res.Deleted += int64(ar.Deleted)
			res.Same += int64(ar.Unchanged)
			again = append(again, ar.Stale...)
		}
		ids = again
	}
	return nil
}
