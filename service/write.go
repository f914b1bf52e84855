package service

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/bizzjoiner/bcconnector/bc"
	"github.com/bizzjoiner/bcconnector/guide"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/syncer"
)

// requestHash identifies a write for the Idempotency-Key check.
func requestHash(entitySet string, op WriteOp) string {
	var body bytes.Buffer
	if len(op.Body) > 0 {
		if err := json.Compact(&body, op.Body); err != nil {
			body.Write(op.Body)
		}
	}
	h := sha256.New()
	parts := []string{entitySet, strings.ToUpper(op.Method), op.ID, op.Action, op.ETag, body.String()}
	if op.Company != "" { // another company than the connection's own (hashes of those stay as they were)
		parts = append(parts, op.Company)
	}
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// keyID derives the GUID of a record created with an Idempotency-Key: BC accepts a
// client-chosen id (bc-entra-facts §4.7), so even a retry whose first answer was lost
// cannot create the record twice.
func keyID(connID, key string) string {
	h := sha256.Sum256([]byte("bcconnector idempotency\x00" + connID + "\x00" + key))
	h[6] = h[6]&0x0f | 0x50 // version 5 style
	h[8] = h[8]&0x3f | 0x80
	x := hex.EncodeToString(h[:16])
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}

// Write implements Service. With an idempotencyKey, the first result (success or BC's
// refusal) is stored with the request's hash: the same key with the same request returns
// it again (Replayed), with another request fails with ErrIdempotencyKeyReused.
func (s *Impl) Write(ctx context.Context, id, entitySet string, op WriteOp, idempotencyKey string) (WriteResult, error) {
	c, err := s.st.GetConnection(ctx, id)
	if err != nil {
		return WriteResult{}, err
	}
	if op.Company != "" {
		co, err := company(c, op.Company)
		if err != nil {
			return WriteResult{}, err
		}
		// Everything below writes in c.CompanyID: the company asked for, by its ID.
		op.Company = ""
		if co.ID != c.CompanyID {
			op.Company = co.ID
		}
		c.CompanyID, c.CompanyName = co.ID, co.Name
	}
	if err := s.checkWrite(c, entitySet, &op); err != nil {
		return WriteResult{}, err
	}
	if idempotencyKey == "" {
		return s.write(ctx, c, entitySet, op, "")
	}
	if len(idempotencyKey) > 200 {
		return WriteResult{}, fmt.Errorf("%w: Idempotency-Key is longer than 200 characters", store.ErrInvalid)
	}
	state, rec, err := s.st.BeginIdempotent(ctx, c.ID, idempotencyKey, requestHash(entitySet, op))
	if err != nil {
		return WriteResult{}, err
	}
	switch state {
	case store.IdempotencyMismatch:
		return WriteResult{}, ErrIdempotencyKeyReused
	case store.IdempotencyInProgress:
		return WriteResult{}, ErrIdempotencyInProgress
	case store.IdempotencyDone:
		var res WriteResult
		if err := json.Unmarshal(rec.Body, &res); err != nil {
			return WriteResult{}, fmt.Errorf("stored idempotent result: %w", err)
		}
		res.Replayed = true
		if res.Status >= 400 {
			return res, replayedError(rec.Body)
		}
		return res, nil
	}
	res, err := s.write(ctx, c, entitySet, op, keyID(c.ID, idempotencyKey))
	var be *bc.Error
	switch {
	case err == nil:
		b, _ := json.Marshal(res)
		if ferr := s.st.FinishIdempotent(context.WithoutCancel(ctx), c.ID, idempotencyKey, res.Status, b); ferr != nil {
			s.log.Error("could not store the idempotent result", "connection", c.ID, "err", ferr)
		}
	case errors.As(err, &be) && be.StatusCode >= 400 && be.StatusCode < 500 && be.StatusCode != http.StatusTooManyRequests:
		// BC refused the request: a retry would be refused again; keep the answer.
		b, _ := json.Marshal(storedError{Status: be.StatusCode, Code: string(be.Code), Message: be.Message})
		_ = s.st.FinishIdempotent(context.WithoutCancel(ctx), c.ID, idempotencyKey, be.StatusCode, b)
	default:
		// Unknown outcome: release the key; a retry re-runs the write, which is safe for
		// creates (client-chosen id), updates (If-Match) and deletes.
		_ = s.st.AbandonIdempotent(context.WithoutCancel(ctx), c.ID, idempotencyKey)
	}
	return res, err
}

type storedError struct {
	Status  int    `json:"status"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func replayedError(body []byte) error {
	var se storedError
	_ = json.Unmarshal(body, &se)
	return &bc.Error{StatusCode: se.Status, Code: bc.Code(se.Code), Message: se.Message}
}

func (s *Impl) checkWrite(c store.Connection, entitySet string, op *WriteOp) error {
	ent, err := s.entitySet(entitySet)
	if err != nil {
		return err
	}
	if c.CompanyID == "" {
		return fmt.Errorf("%w: connection %q has no resolved company; run the doctor", store.ErrConflict, c.Name)
	}
	if len(c.WriteEntities) > 0 && !slices.Contains(c.WriteEntities, entitySet) {
		return fmt.Errorf("%w: connection %q may write only %s; add %s to its write entities (and re-run the doctor)",
			store.ErrInvalid, c.Name, strings.Join(c.WriteEntities, ", "), entitySet)
	}
	op.Method = strings.ToUpper(op.Method)
	switch op.Method {
	case http.MethodPost, http.MethodPatch, http.MethodDelete:
		if !ent.Allows(op.Method) {
			return fmt.Errorf("%w: %s does not allow %s", store.ErrInvalid, entitySet, op.Method)
		}
	case "ACTION":
		if !ent.HasAction(op.Action) && !ent.HasAction("Microsoft.NAV."+op.Action) {
			return fmt.Errorf("%w: %s has no action %q (actions: %s)", store.ErrInvalid, entitySet, op.Action, strings.Join(ent.Actions, ", "))
		}
	default:
		return fmt.Errorf("%w: write method %q: use POST, PATCH, DELETE or ACTION", store.ErrInvalid, op.Method)
	}
	if op.Method != http.MethodPost && !guide.IsGUID(op.ID) {
		return fmt.Errorf("%w: record id %q is not a GUID", store.ErrInvalid, op.ID)
	}
	if (op.Method == http.MethodPost || op.Method == http.MethodPatch) && (len(op.Body) == 0 || !json.Valid(op.Body) || op.Body[0] != '{') {
		return fmt.Errorf("%w: the request body must be a JSON object of the record's fields", store.ErrInvalid)
	}
	return nil
}

func (s *Impl) write(ctx context.Context, c store.Connection, entitySet string, op WriteOp, createID string) (WriteResult, error) {
	cn, err := s.Conn(ctx, c.ID)
	if err != nil {
		return WriteResult{}, err
	}
	ref := bc.Set(c.CompanyID, entitySet)
	// A line's document is what the replica stores; find it before a delete removes it.
	parentID := s.lineParent(ctx, c, entitySet, op.ID)
	var res WriteResult
	var created bc.Record
	switch op.Method {
	case http.MethodPost:
		var rec bc.Record
		var probe struct {
			ID *string `json:"id"`
		}
		_ = json.Unmarshal(op.Body, &probe)
		if createID != "" && probe.ID == nil {
			rec, err = cn.BC.CreateWithID(ctx, ref, createID, op.Body)
		} else {
			rec, err = cn.BC.Create(ctx, ref, op.Body)
		}
		res = WriteResult{Status: http.StatusCreated, Record: rec.Raw}
		created = rec
	case http.MethodPatch:
		etag, gerr := s.etag(ctx, cn.BC, ref, op)
		if gerr != nil {
			return WriteResult{}, gerr
		}
		var rec bc.Record
		rec, err = cn.BC.Update(ctx, ref, op.ID, etag, op.Body)
		res = WriteResult{Status: http.StatusOK, Record: rec.Raw}
		created = rec
	case http.MethodDelete:
		etag, gerr := s.etag(ctx, cn.BC, ref, op)
		if gerr != nil {
			return WriteResult{}, gerr
		}
		err = cn.BC.Delete(ctx, ref, op.ID, etag)
		res = WriteResult{Status: http.StatusNoContent}
	case "ACTION":
		var body json.RawMessage
		body, err = cn.BC.Action(ctx, ref, op.ID, op.Action)
		res = WriteResult{Status: http.StatusNoContent}
		if len(body) > 0 {
			res = WriteResult{Status: http.StatusOK, Record: body}
		}
	}
	if err != nil {
		return WriteResult{}, err
	}
	id := op.ID
	if created.ID != "" {
		id = created.ID
	}
	if parentID == "" && len(created.Raw) > 0 {
		parentID = s.lineParentOf(entitySet, created)
	}
	s.applyWrite(ctx, cn.BC, c, entitySet, id, parentID)
	s.catchUp(ctx, c, entitySet)
	return res, nil
}

// lineParent returns the document id of a replicated line (empty for other sets, or a
// line the replica does not hold).
func (s *Impl) lineParent(ctx context.Context, c store.Connection, entitySet, id string) string {
	ent, err := s.entitySet(entitySet)
	if err != nil || ent.Parent == nil || id == "" {
		return ""
	}
	row, err := s.st.ReplicaGet(ctx, store.ReplicaKey{ConnectionID: c.ID, CompanyID: c.CompanyID, EntitySet: entitySet}, id)
	if err != nil {
		return ""
	}
	return row.ParentID
}

// lineParentOf reads the document id from a line BC returned.
func (s *Impl) lineParentOf(entitySet string, rec bc.Record) string {
	ent, err := s.entitySet(entitySet)
	if err != nil || ent.Parent == nil {
		return ""
	}
	raw, ok := rec.Lookup(ent.Parent.ChildField)
	if !ok {
		return ""
	}
	var id string
	_ = json.Unmarshal(raw, &id)
	return id
}

// applyWrite applies a write-through to the replica and the change log at once: the
// written record (or, for a line, its document with all its lines) is read again from BC,
// or deleted from the replica when BC no longer has it. The write itself succeeded, so a
// failure here is only logged: the scheduled passes and reconciliation repair it.
func (s *Impl) applyWrite(ctx context.Context, client *bc.Client, c store.Connection, entitySet, id, parentID string) {
	ent, err := s.entitySet(entitySet)
	if err != nil || id == "" {
		return
	}
	if ent.Parent != nil {
		if id = parentID; id == "" {
			return // the document is unknown: the catch-up pass brings it
		}
	}
	ts, err := s.sync.Targets(c.ID, c.CompanyID, []string{entitySet})
	if err != nil || len(ts) != 1 {
		return
	}
	if _, err := s.sync.Apply(context.WithoutCancel(ctx), client, ts[0], id); err != nil {
		s.log.Warn("could not apply a write-through to the replica; the next pass will", "connection", c.ID, "entitySet", entitySet, "err", err)
	}
}

// etag returns the If-Match of an update or delete: the caller's, or the current one.
func (s *Impl) etag(ctx context.Context, c *bc.Client, ref bc.Ref, op WriteOp) (string, error) {
	if op.ETag != "" {
		return op.ETag, nil
	}
	cur, err := c.Get(ctx, ref, op.ID, nil)
	if err != nil {
		return "", err
	}
	if cur.ETag == "" {
		return bc.AnyETag, nil
	}
	return cur.ETag, nil
}

// catchUp asks for an incremental run of the written set, so the replica and the change
// feed follow a write-through within seconds.
func (s *Impl) catchUp(ctx context.Context, c store.Connection, entitySet string) {
	if s.jobs == nil {
		return
	}
	ts, err := s.sync.Targets(c.ID, c.CompanyID, []string{entitySet})
	if err != nil {
		return
	}
	for _, t := range ts {
		st, err := s.st.SyncState(ctx, store.ReplicaKey{ConnectionID: t.ConnectionID, CompanyID: t.CompanyID, EntitySet: t.EntitySet})
		if err != nil || !st.FullSyncDone {
			continue // not replicated (yet): nothing to catch up
		}
		if _, err := s.jobs.Enqueue(context.WithoutCancel(ctx), syncer.SyncArgs{ConnectionID: t.ConnectionID, CompanyID: t.CompanyID, EntitySet: t.EntitySet}, time.Time{}); err != nil {
			s.log.Warn("could not enqueue a catch-up sync", "connection", c.ID, "entitySet", t.EntitySet, "err", err)
		}
	}
}
