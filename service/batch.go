package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/bizzjoiner/bcconnector/bc"
	"github.com/bizzjoiner/bcconnector/store"
)

// BatchRequest is one operation of a JSON $batch as the API accepts it; URLs are relative
// to the batch's company (the connection's own, or one the company parameter names): "customers", "customers(GUID)",
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

// parseBatchURL splits a $batch URL relative to the company into entity set, record id
// and action; the error completes "url %q …".
func parseBatchURL(u string) (set, rid, action string, err error) {
	m := batchURL.FindStringSubmatch(u)
	if m == nil {
		return "", "", "", errors.New("must be entitySet, entitySet(id) or entitySet(id)/action, relative to the connection's company")
	}
	if strings.EqualFold(m[1], "companies") {
		return "", "", "", errors.New("names a company: $batch URLs are relative to one company of the connection (write customers, not companies(…)/customers); choose another of its companies with the company parameter (?company=NAME)")
	}
	return m[1], m[2], m[3], nil
}

// Batch implements Service: body is {"requests":[{id, method, url, headers, body}]} with
// URLs relative to one company of the connection (companyName: its ID or name; "" its own),
// so a batch can address no company the connection does not cover; the answer is
// {"responses":[{id, status, headers, body}]} in request order. Its writes are applied to
// that company's replica and change log.
func (s *Impl) Batch(ctx context.Context, id, companyName string, body json.RawMessage, atomic bool) (json.RawMessage, error) {
	c, err := s.st.GetConnection(ctx, id)
	if err != nil {
		return nil, err
	}
	if companyName != "" {
		co, err := company(c, companyName)
		if err != nil {
			return nil, err
		}
		// Everything below reads and writes in c.CompanyID: the company asked for.
		c.CompanyID, c.CompanyName = co.ID, co.Name
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
	// applied[i] is what request i writes, to apply to the replica once BC has answered.
	applied := make([]batchWrite, len(in.Requests))
	for i, r := range in.Requests {
		set, rid, action, err := parseBatchURL(r.URL)
		if err != nil {
			return nil, fmt.Errorf("%w: $batch request %d: url %q %v", store.ErrInvalid, i, r.URL, err)
		}
		method := strings.ToUpper(r.Method)
		if method == http.MethodGet && action != "" {
			return nil, fmt.Errorf("%w: $batch request %d: url %q: a GET reads entitySet or entitySet(id); %q after it is not supported", store.ErrInvalid, i, r.URL, action)
		}
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
			return nil, fmt.Errorf("$batch request %d, url %q: %w", i, r.URL, err)
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
		// A line's document is what the replica stores; find it before a delete removes it.
		applied[i] = batchWrite{set: set, id: rid, parentID: s.lineParent(ctx, c, set, rid)}
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
	// Each write BC did is applied to the replica and the change log at once, as a single
	// write-through is; the catch-up passes follow.
	for i, r := range results {
		if be != nil || i >= len(applied) {
			break // an atomic batch that failed saved nothing
		}
		w := applied[i]
		if w.set == "" || r.Status < 200 || r.Status > 299 {
			continue
		}
		id, parentID := w.id, w.parentID
		if rec, err := r.Record(); err == nil && rec.ID != "" {
			id = rec.ID
			if parentID == "" {
				parentID = s.lineParentOf(w.set, rec)
			}
		}
		s.applyWrite(ctx, cn.BC, c, w.set, id, parentID)
	}
	for set := range writes {
		s.catchUp(ctx, c, set)
	}
	return json.Marshal(out)
}

// batchWrite is a write of a $batch: its entity set, the record it names (empty for a
// create) and, for a line, its document.
type batchWrite struct{ set, id, parentID string }
