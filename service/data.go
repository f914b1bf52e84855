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
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bizzjoiner/bcconnector/bc"
	"github.com/bizzjoiner/bcconnector/bcschema"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/syncer"
)

// MaxRecordsLimit caps a page of Records.
const MaxRecordsLimit = 1000

// entitySet returns the schema entity of a set name, or an error naming it.
func (s *Impl) entitySet(name string) (*bcschema.Entity, error) {
	e, ok := s.schema.EntitySet(name)
	if !ok {
		return nil, fmt.Errorf("%w: %q is not an entity set of API v2.0", store.ErrNotFound, name)
	}
	return e, nil
}

// Records implements Service. cursor is the id of the last record of the previous page.
func (s *Impl) Records(ctx context.Context, id, entitySet, filter, cursor string, limit int) (RecordsPage, error) {
	c, err := s.st.GetConnection(ctx, id)
	if err != nil {
		return RecordsPage{}, err
	}
	ent, err := s.entitySet(entitySet)
	if err != nil {
		return RecordsPage{}, err
	}
	filters, err := ParseFilter(ent, filter)
	if err != nil {
		return RecordsPage{}, err
	}
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, MaxRecordsLimit)
	key := store.ReplicaKey{ConnectionID: c.ID, CompanyID: c.CompanyID, EntitySet: ent.EntitySet}
	rows, err := s.st.ReplicaQuery(ctx, key, filters, cursor, limit)
	if err != nil {
		return RecordsPage{}, err
	}
	page := RecordsPage{Records: make([]json.RawMessage, 0, len(rows))}
	for _, r := range rows {
		page.Records = append(page.Records, r.Raw)
	}
	if len(rows) == limit {
		page.NextCursor = rows[len(rows)-1].ID
	}
	return page, nil
}

var filterTerm = regexp.MustCompile(`^\s*([A-Za-z_][A-Za-z0-9_]*)\s+(eq|ne|gt|ge|lt|le)\s+('(?:[^']|'')*'|[^\s']+)\s*$`)

// ParseFilter parses a filter of the form "field op value [and field op value]…" with op
// one of eq, ne, gt, ge, lt, le and value a 'quoted string' (” for a quote), a number,
// true, false, null, or a bare GUID or date. Fields must be fields of ent; values are
// converted to the field's type.
func ParseFilter(ent *bcschema.Entity, filter string) ([]store.FieldFilter, error) {
	if strings.TrimSpace(filter) == "" {
		return nil, nil
	}
	var out []store.FieldFilter
	for _, term := range splitAnd(filter) {
		m := filterTerm.FindStringSubmatch(term)
		if m == nil {
			return nil, fmt.Errorf("%w: filter %q: write conditions as field op value joined by and, e.g. balance gt 100 and blocked eq ' '", store.ErrInvalid, strings.TrimSpace(term))
		}
		f, ok := ent.Field(m[1])
		if !ok || f.FilterOnly || f.Type == bcschema.TypeStream {
			return nil, fmt.Errorf("%w: filter field %q is not a field of %s", store.ErrInvalid, m[1], ent.EntitySet)
		}
		v, err := filterValue(f, m[3])
		if err != nil {
			return nil, err
		}
		out = append(out, store.FieldFilter{Field: f.Name, Op: m[2], Value: v})
	}
	return out, nil
}

// splitAnd splits on " and " outside quotes.
func splitAnd(s string) []string {
	var parts []string
	inQuote := false
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\'' {
			inQuote = !inQuote
			continue
		}
		if !inQuote && i+5 <= len(s) && strings.EqualFold(s[i:i+5], " and ") {
			parts = append(parts, s[start:i])
			start = i + 5
			i += 4
		}
	}
	return append(parts, s[start:])
}

func filterValue(f *bcschema.Field, lit string) (any, error) {
	if lit == "null" {
		return nil, nil
	}
	str := lit
	quoted := strings.HasPrefix(lit, "'")
	if quoted {
		str = strings.ReplaceAll(lit[1:len(lit)-1], "''", "'")
	}
	bad := func(want string) error {
		return fmt.Errorf("%w: filter value %s for %s: want %s", store.ErrInvalid, lit, f.Name, want)
	}
	switch f.Type {
	case bcschema.TypeDecimal, "Edm.Double", "Edm.Single":
		v, err := strconv.ParseFloat(str, 64)
		if err != nil || quoted {
			return nil, bad("a number")
		}
		return v, nil
	case bcschema.TypeInt32, bcschema.TypeInt64, "Edm.Int16", "Edm.Byte", "Edm.SByte":
		v, err := strconv.ParseInt(str, 10, 64)
		if err != nil || quoted {
			return nil, bad("an integer")
		}
		return v, nil
	case bcschema.TypeBoolean:
		switch str {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return nil, bad("true or false")
	case bcschema.TypeGuid:
		return strings.ToLower(str), nil
	}
	return str, nil
}

// DefaultChangesLimit is the page size of Changes when none is given.
const DefaultChangesLimit = 500

// ChangesPollInterval is how often a waiting Changes call looks at the change log.
const ChangesPollInterval = 200 * time.Millisecond

// Changes implements Service. Entries of connections that allowed rejects are skipped,
// so a scoped caller never learns of another customer's changes.
func (s *Impl) Changes(ctx context.Context, since int64, limit int, wait time.Duration, allowed func(connID string) bool) ([]store.Change, error) {
	if limit <= 0 {
		limit = DefaultChangesLimit
	}
	limit = min(limit, 10*DefaultChangesLimit)
	deadline := s.now().Add(wait)
	for {
		out, next, err := s.changesFrom(ctx, since, limit, allowed)
		if err != nil || len(out) > 0 {
			return out, err
		}
		since = next
		if !s.now().Before(deadline) {
			return []store.Change{}, nil
		}
		t := time.NewTimer(min(ChangesPollInterval, deadline.Sub(s.now())))
		select {
		case <-ctx.Done():
			t.Stop()
			return []store.Change{}, nil
		case <-t.C:
		}
	}
}

// changesFrom reads forward from since until it has allowed entries or reaches the end
// of the log; next is the last seq read.
func (s *Impl) changesFrom(ctx context.Context, since int64, limit int, allowed func(string) bool) ([]store.Change, int64, error) {
	for {
		chunk, err := s.st.Changes(ctx, since, limit)
		if err != nil {
			return nil, since, err
		}
		out := make([]store.Change, 0, len(chunk))
		for _, c := range chunk {
			if allowed == nil || allowed(c.ConnectionID) {
				out = append(out, c)
			}
		}
		if len(chunk) > 0 {
			since = chunk[len(chunk)-1].Seq
		}
		if len(out) > 0 || len(chunk) < limit {
			return out, since, nil
		}
	}
}

// requestHash identifies a write for the Idempotency-Key check.
func requestHash(entitySet string, op WriteOp) string {
	var body bytes.Buffer
	if len(op.Body) > 0 {
		if err := json.Compact(&body, op.Body); err != nil {
			body.Write(op.Body)
		}
	}
	h := sha256.New()
	for _, p := range []string{entitySet, strings.ToUpper(op.Method), op.ID, op.Action, op.ETag, body.String()} {
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
	if op.Method != http.MethodPost && !guideGUID(op.ID) {
		return fmt.Errorf("%w: record id %q is not a GUID", store.ErrInvalid, op.ID)
	}
	if (op.Method == http.MethodPost || op.Method == http.MethodPatch) && (len(op.Body) == 0 || !json.Valid(op.Body) || op.Body[0] != '{') {
		return fmt.Errorf("%w: the request body must be a JSON object of the record's fields", store.ErrInvalid)
	}
	return nil
}

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func guideGUID(s string) bool { return guidRE.MatchString(s) }

func (s *Impl) write(ctx context.Context, c store.Connection, entitySet string, op WriteOp, createID string) (WriteResult, error) {
	cn, err := s.Conn(ctx, c.ID)
	if err != nil {
		return WriteResult{}, err
	}
	ref := bc.Set(c.CompanyID, entitySet)
	var res WriteResult
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
	case http.MethodPatch:
		etag, gerr := s.etag(ctx, cn.BC, ref, op)
		if gerr != nil {
			return WriteResult{}, gerr
		}
		var rec bc.Record
		rec, err = cn.BC.Update(ctx, ref, op.ID, etag, op.Body)
		res = WriteResult{Status: http.StatusOK, Record: rec.Raw}
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
	s.catchUp(ctx, c, entitySet)
	return res, nil
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
		if err := s.jobs.Enqueue(context.WithoutCancel(ctx), syncer.SyncArgs{ConnectionID: t.ConnectionID, CompanyID: t.CompanyID, EntitySet: t.EntitySet}); err != nil {
			s.log.Warn("could not enqueue a catch-up sync", "connection", c.ID, "entitySet", t.EntitySet, "err", err)
		}
	}
}

// BatchRequest is one operation of a JSON $batch as the API accepts it; URLs are relative
// to the connection's company: "customers", "customers(GUID)",
// "salesInvoices(GUID)/Microsoft.NAV.post".
type BatchRequest struct {
	ID      string            `json:"id"`
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    json.RawMessage   `json:"body,omitempty"`
}

// BatchResponse is one operation's answer.
type BatchResponse struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    json.RawMessage   `json:"body,omitempty"`
}

var batchURL = regexp.MustCompile(`^/?([A-Za-z][A-Za-z0-9]*)(?:\(([0-9a-fA-F-]{36})\))?(?:/(?:Microsoft\.NAV\.)?([A-Za-z][A-Za-z0-9]*))?$`)

// Batch implements Service: body is {"requests":[{id, method, url, headers, body}]} with
// URLs relative to the connection's company (it can address no other company); the
// answer is {"responses":[{id, status, headers, body}]} in request order.
func (s *Impl) Batch(ctx context.Context, id string, body json.RawMessage, atomic bool) (json.RawMessage, error) {
	c, err := s.st.GetConnection(ctx, id)
	if err != nil {
		return nil, err
	}
	if c.CompanyID == "" {
		return nil, fmt.Errorf("%w: connection %q has no resolved company; run the doctor", store.ErrConflict, c.Name)
	}
	var in struct {
		Requests []BatchRequest `json:"requests"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, fmt.Errorf("%w: $batch body: %v; send {\"requests\":[{\"id\",\"method\",\"url\",\"body\"}]}", store.ErrInvalid, err)
	}
	if len(in.Requests) == 0 || len(in.Requests) > bc.MaxBatchOperations {
		return nil, fmt.Errorf("%w: a $batch holds 1 to %d requests, got %d", store.ErrInvalid, bc.MaxBatchOperations, len(in.Requests))
	}
	var b bc.Batch
	writes := map[string]bool{}
	for i, r := range in.Requests {
		m := batchURL.FindStringSubmatch(r.URL)
		if m == nil {
			return nil, fmt.Errorf("%w: $batch request %d: url %q must be entitySet, entitySet(id) or entitySet(id)/action, relative to the company", store.ErrInvalid, i, r.URL)
		}
		set, rid, action := m[1], m[2], m[3]
		method := strings.ToUpper(r.Method)
		op := WriteOp{Method: method, ID: rid, Action: action, ETag: r.Headers["If-Match"], Body: r.Body}
		if action != "" {
			op.Method = "ACTION"
		}
		ref := bc.Set(c.CompanyID, set)
		if method == http.MethodGet {
			if _, err := s.entitySet(set); err != nil {
				return nil, err
			}
			b.Get(ref, rid, nil)
			continue
		}
		if err := s.checkWrite(c, set, &op); err != nil {
			return nil, fmt.Errorf("$batch request %d: %w", i, err)
		}
		etag := op.ETag
		if etag == "" {
			etag = bc.AnyETag
		}
		switch op.Method {
		case http.MethodPost:
			b.Create(ref, op.Body)
		case http.MethodPatch:
			b.Update(ref, rid, etag, op.Body)
		case http.MethodDelete:
			b.Delete(ref, rid, etag)
		case "ACTION":
			b.Action(ref, rid, action)
		}
		writes[set] = true
	}
	cn, err := s.Conn(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	results, err := cn.BC.Batch(ctx, &b, &bc.BatchOptions{Atomic: atomic})
	var be *bc.BatchError
	if err != nil && !errors.As(err, &be) {
		return nil, err
	}
	out := struct {
		Responses []BatchResponse `json:"responses"`
	}{Responses: make([]BatchResponse, 0, len(results))}
	for i, r := range results {
		rid := r.ID
		if i < len(in.Requests) && in.Requests[i].ID != "" {
			rid = in.Requests[i].ID
		}
		out.Responses = append(out.Responses, BatchResponse{ID: rid, Status: r.Status, Headers: r.Headers, Body: r.Body})
	}
	for set := range writes {
		s.catchUp(ctx, c, set)
	}
	return json.Marshal(out)
}
