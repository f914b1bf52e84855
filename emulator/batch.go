package emulator

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
)

// batchRequest is the JSON $batch body (bc-entra-facts §6).
type batchRequest struct {
	Requests []batchOp `json:"requests"`
}

type batchOp struct {
	ID      any               `json:"id"`
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body"`
}

type batchResult struct {
	ID      any               `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body,omitempty"`
}

// parseBatch reads and validates a $batch body.
func (e *Emulator) parseBatch(r io.Reader) (*batchRequest, *apiError) {
	dec := json.NewDecoder(io.LimitReader(r, maxBodyBytes))
	var b batchRequest
	if err := dec.Decode(&b); err != nil {
		return nil, errf(http.StatusBadRequest, codeBadRequest, "Invalid Request Body: a JSON batch is {\"requests\":[{\"method\",\"url\",\"headers\",\"body\"}]}: %s", jsonErrorText(err))
	}
	if len(b.Requests) == 0 {
		return nil, errf(http.StatusBadRequest, codeBadRequest, "Invalid Request Body: the batch has no requests.")
	}
	if len(b.Requests) > e.cfg.MaxBatchOperations {
		// §5: at most 100 operations (error code UNCONFIRMED).
		return nil, errf(http.StatusBadRequest, codeBadRequest, "The batch contains %d operations; the maximum is %d. Split it into several batches.", len(b.Requests), e.cfg.MaxBatchOperations)
	}
	for i, op := range b.Requests {
		switch strings.ToUpper(op.Method) {
		case http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete:
		default:
			return nil, errf(http.StatusBadRequest, codeBadRequest, "Request %d of the batch has method '%s'; use GET, POST, PATCH or DELETE.", i, op.Method)
		}
		if op.URL == "" {
			return nil, errf(http.StatusBadRequest, codeBadRequest, "Request %d of the batch has no url.", i)
		}
	}
	return &b, nil
}

// serveBatch runs a JSON $batch. With Isolation: snapshot it is all-or-nothing: the first
// failing operation rolls back every change, while earlier successes are still reported
// with their status (§6).
func (e *Emulator) serveBatch(w http.ResponseWriter, r *http.Request, rc *requestContext) {
	if rc.batch {
		writeError(w, errf(http.StatusBadRequest, codeBadRequest, "A $batch cannot contain another $batch."))
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.Contains(ct, "application/json") {
		writeError(w, errf(http.StatusUnsupportedMediaType, codeBadRequest, "Only JSON batches are supported (Content-Type: application/json); got '%s'.", ct))
		return
	}
	b, aerr := e.parseBatch(r.Body)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	inner := *rc
	inner.batch = true
	snapshot := strings.EqualFold(strings.TrimSpace(r.Header.Get("Isolation")), "snapshot")
	if snapshot {
		inner.txn = &txn{}
		rc.env.writeMu.Lock()
		defer rc.env.writeMu.Unlock()
	}
	results := make([]batchResult, 0, len(b.Requests))
	failed := false
	for _, op := range b.Requests {
		res := e.runBatchOp(r, &inner, op)
		if !*e.cfg.EchoBatchIDs {
			res.ID = nil
		}
		results = append(results, res)
		if res.Status >= 400 {
			failed = true
		}
	}
	if snapshot {
		if failed {
			for i := len(inner.txn.undo) - 1; i >= 0; i-- {
				inner.txn.undo[i].apply()
			}
		} else {
			for _, p := range inner.txn.changes {
				p.env.webhooks.Publish(p.ch)
			}
		}
	}
	writeJSONHeaders(w)
	_ = json.NewEncoder(w).Encode(map[string]any{"responses": results})
}

// runBatchOp executes one inner request through the same handlers as a top-level request.
func (e *Emulator) runBatchOp(outer *http.Request, rc *requestContext, op batchOp) batchResult {
	rel := op.URL
	if u, err := url.Parse(rel); err == nil && u.IsAbs() {
		rel = strings.TrimPrefix(u.String(), rc.baseURL)
	}
	rel = strings.TrimPrefix(rel, "/")
	rel = strings.TrimPrefix(rel, strings.TrimPrefix(rc.prefix, "api/")+"/")
	path, rawQuery, _ := strings.Cut(rel, "?")
	q, _ := url.ParseQuery(rawQuery)
	if q.Get("company") == "" && outer.URL.Query().Get("company") != "" {
		q.Set("company", outer.URL.Query().Get("company"))
	}
	var body io.Reader = http.NoBody
	if len(op.Body) > 0 && string(op.Body) != "null" {
		body = bytes.NewReader(op.Body)
	}
	req, err := http.NewRequestWithContext(outer.Context(), strings.ToUpper(op.Method), "https://"+outer.Host+"/"+path+"?"+encodeQuery(q), body)
	if err != nil {
		return batchResult{ID: op.ID, Status: http.StatusBadRequest, Headers: map[string]string{},
			Body: errorBody(codeBadRequest, "The url '"+op.URL+"' of a batch request is not valid.")}
	}
	req.Host = outer.Host
	for k, v := range op.Headers {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	e.serveOData(rec, req, rc, strings.Split(path, "/"))
	res := batchResult{ID: op.ID, Status: rec.Code, Headers: map[string]string{}}
	for _, k := range []string{"Content-Type", "OData-Version", "ETag", "Location"} {
		if v := rec.Header().Get(k); v != "" {
			res.Headers[strings.ToLower(k)] = v
		}
	}
	if data := rec.Body.Bytes(); len(bytes.TrimSpace(data)) > 0 {
		if json.Valid(data) {
			res.Body = json.RawMessage(bytes.TrimSpace(data))
		} else {
			quoted, _ := json.Marshal(string(data))
			res.Body = quoted
		}
	}
	return res
}

func errorBody(code, msg string) json.RawMessage {
	b, _ := json.Marshal(map[string]any{"error": map[string]string{"code": code, "message": msg + "  CorrelationId:  " + newGUID() + "."}})
	return b
}
