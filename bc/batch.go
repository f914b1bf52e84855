package bc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// MaxBatchOperations is BC's limit of operations in one $batch (bc-entra-facts §5, §6).
const MaxBatchOperations = 100

// Batch collects operations for one JSON $batch request (bc-entra-facts §6). Add
// operations with Get, Create, Update, Delete and Action, each of which returns the
// operation's index in the results; then send it with Client.Batch. All operations must
// use the same API. A mistake in an operation (an empty etag, a bad Ref) is kept and
// reported by Client.Batch, before anything is sent. The zero Batch is ready to use.
type Batch struct {
	api    API
	hasAPI bool
	ops    []batchOp
	err    error
}

type batchOp struct {
	ID      string            `json:"id"`
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    json.RawMessage   `json:"body,omitempty"`
}

// Len returns the number of operations.
func (b *Batch) Len() int { return len(b.ops) }

// Err returns the first mistake made while adding operations.
func (b *Batch) Err() error { return b.err }

// reject records a mistaken operation: it keeps its index, and Client.Batch reports err.
func (b *Batch) reject(method string, ref Ref, err error) int {
	idx := len(b.ops)
	if b.err == nil {
		b.err = fmt.Errorf("bc: batch operation %d (%s %s): %w", idx, method, ref.Path, err)
	}
	b.ops = append(b.ops, batchOp{ID: strconv.Itoa(idx + 1), Method: method})
	return idx
}

func (b *Batch) add(ref Ref, method, key string, q *Query, body any, headers map[string]string, extra ...string) int {
	idx := len(b.ops)
	fail := func(err error) int { return b.reject(method, ref, err) }
	if !b.hasAPI {
		b.api, b.hasAPI = ref.API, true
	} else if ref.API.path() != b.api.path() {
		return fail(fmt.Errorf("the batch goes to %s, this operation to %s; send one batch per API", b.api.path(), ref.API.path()))
	}
	rel, err := ref.relPath(key, extra...)
	if err != nil {
		return fail(err)
	}
	qs, err := q.encode()
	if err != nil {
		return fail(err)
	}
	if qs != "" {
		rel += "?" + qs
	}
	op := batchOp{ID: strconv.Itoa(idx + 1), Method: method, URL: rel, Headers: headers}
	if body != nil {
		data, err := objectJSON(body)
		if err != nil {
			return fail(err)
		}
		op.Body = data
		if op.Headers == nil {
			op.Headers = map[string]string{}
		}
		op.Headers["Content-Type"] = "application/json"
	}
	b.ops = append(b.ops, op)
	return idx
}

// Get adds a read of the entity with key id (or of the set's first page when id is "").
func (b *Batch) Get(ref Ref, id string, q *Query) int {
	var h map[string]string
	if q != nil && q.PageSize > 0 {
		h = map[string]string{"Prefer": "odata.maxpagesize=" + strconv.Itoa(q.PageSize)}
	}
	return b.add(ref, http.MethodGet, id, q, nil, h)
}

// Create adds an insert (a deep insert when body holds navigation arrays).
func (b *Batch) Create(ref Ref, body any) int {
	if body == nil {
		return b.reject(http.MethodPost, ref, errors.New("the body is nil; pass the fields to send"))
	}
	return b.add(ref, http.MethodPost, "", nil, body, nil)
}

// Update adds a PATCH of the entity with key id; etag is its ETag or AnyETag.
func (b *Batch) Update(ref Ref, id, etag string, body any) int {
	switch {
	case id == "":
		return b.reject(http.MethodPatch, ref, errors.New("id is empty; pass the entity's id"))
	case etag == "":
		return b.reject(http.MethodPatch, ref, errors.New("etag is empty: pass the entity's ETag as read, or bc.AnyETag"))
	case body == nil:
		return b.reject(http.MethodPatch, ref, errors.New("the body is nil; pass the fields to change"))
	}
	return b.add(ref, http.MethodPatch, id, nil, body, map[string]string{"If-Match": etag})
}

// Delete adds a DELETE of the entity with key id; etag is its ETag or AnyETag.
func (b *Batch) Delete(ref Ref, id, etag string) int {
	switch {
	case id == "":
		return b.reject(http.MethodDelete, ref, errors.New("id is empty; pass the entity's id"))
	case etag == "":
		return b.reject(http.MethodDelete, ref, errors.New("etag is empty: pass the entity's ETag as read, or bc.AnyETag"))
	}
	return b.add(ref, http.MethodDelete, id, nil, nil, map[string]string{"If-Match": etag})
}

// Action adds a bound action, e.g. "Microsoft.NAV.post", on the entity with key id.
func (b *Batch) Action(ref Ref, id, action string) int {
	name, err := actionName(action)
	if err != nil {
		return b.reject(http.MethodPost, ref, err)
	}
	if id == "" {
		return b.reject(http.MethodPost, ref, errors.New("id is empty; pass the entity's id"))
	}
	return b.add(ref, http.MethodPost, id, nil, nil, nil, name)
}

// BatchOptions configures Client.Batch; nil means the defaults.
type BatchOptions struct {
	// Atomic sends Isolation: snapshot: the batch runs as one transaction and any failed
	// operation rolls back all of them (bc-entra-facts §6). Client.Batch then returns a
	// *BatchError. Default false: operations are independent.
	Atomic bool
}

// BatchResult is the answer to one operation.
type BatchResult struct {
	ID      string
	Status  int
	Headers map[string]string
	// Body is the operation's JSON body (an entity, a page, or BC's error); nil for 204.
	Body json.RawMessage
	// Err is BC's error for a status of 400 or more, else nil.
	Err *Error
}

// Record returns the body as a Record (for a Get of one entity, a Create or an Update).
func (r BatchResult) Record() (Record, error) {
	if r.Err != nil {
		return Record{}, r.Err
	}
	if len(r.Body) == 0 {
		return Record{}, fmt.Errorf("bc: batch operation %s answered %d without a body", r.ID, r.Status)
	}
	raw, err := withoutKey(r.Body, "@odata.context")
	if err != nil {
		return Record{}, err
	}
	return newRecord(raw)
}

// Batch sends the operations as one JSON $batch and returns one result per operation, in
// the order they were added (matched by id when BC echoes ids, else by position). An
// operation's failure is in its result; Batch itself fails for a failure of the whole
// request, and in Atomic mode for any failed operation (*BatchError: nothing was saved).
//
// A batch that only reads is retried like a GET; one that writes is retried only when BC
// provably did not receive it.
//
// https://learn.microsoft.com/dynamics365/business-central/dev-itpro/webservices/use-odata-batch
func (c *Client) Batch(ctx context.Context, b *Batch, opt *BatchOptions) ([]BatchResult, error) {
	if b == nil || len(b.ops) == 0 {
		return nil, errors.New("bc: Batch: the batch has no operations")
	}
	if b.err != nil {
		return nil, b.err
	}
	if len(b.ops) > MaxBatchOperations {
		return nil, fmt.Errorf("bc: Batch: %d operations; BC accepts at most %d per $batch, split it", len(b.ops), MaxBatchOperations)
	}
	if err := b.api.validate(); err != nil {
		return nil, err
	}
	body, err := json.Marshal(map[string]any{"requests": b.ops})
	if err != nil {
		return nil, err
	}
	class := retryIdempotent
	for _, op := range b.ops {
		if op.Method != http.MethodGet {
			class = retryNotReached
		}
	}
	cl := &call{op: "batch", method: http.MethodPost, url: c.APIRoot(b.api) + "/$batch", body: body, class: class}
	atomic := opt != nil && opt.Atomic
	if atomic {
		cl.header = http.Header{"Isolation": {"snapshot"}}
	}
	var results []BatchResult
	err = c.do(ctx, cl, func(resp *http.Response) error {
		data, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		results, err = parseBatchResponse(data, b.ops, cl.requestID, c)
		return err
	})
	if err != nil {
		return nil, err
	}
	if atomic {
		for i, r := range results {
			if r.Err != nil {
				return results, &BatchError{Index: i, ID: r.ID, Err: r.Err}
			}
		}
	}
	return results, nil
}

func parseBatchResponse(data []byte, ops []batchOp, requestID string, c *Client) ([]BatchResult, error) {
	var wire struct {
		Responses []struct {
			ID      json.RawMessage   `json:"id"`
			Status  int               `json:"status"`
			Headers map[string]string `json:"headers"`
			Body    json.RawMessage   `json:"body"`
		} `json:"responses"`
	}
	if err := json.Unmarshal(data, &wire); err != nil {
		return nil, malformed("$batch response: %v", err)
	}
	byID := make(map[string]int, len(ops))
	for i, op := range ops {
		byID[op.ID] = i
	}
	results := make([]BatchResult, len(ops))
	filled := make([]bool, len(ops))
	useIDs := true
	for _, r := range wire.Responses {
		id := batchID(r.ID)
		i, ok := byID[id]
		if !ok || filled[i] {
			useIDs = false // Microsoft's example shows "id": null (§6): match by position
			break
		}
		filled[i] = true
	}
	if !useIDs && len(wire.Responses) != len(ops) {
		return nil, malformed("$batch answered %d responses to %d operations without usable ids", len(wire.Responses), len(ops))
	}
	for n, r := range wire.Responses {
		i := n
		if useIDs {
			i = byID[batchID(r.ID)]
		}
		res := BatchResult{ID: ops[i].ID, Status: r.Status, Headers: r.Headers}
		if len(r.Body) > 0 && string(r.Body) != "null" {
			res.Body = r.Body
		}
		if r.Status >= 400 {
			h := http.Header{}
			for k, v := range r.Headers {
				h.Set(k, v)
			}
			body := []byte(r.Body)
			var s string
			if json.Unmarshal(r.Body, &s) == nil {
				body = []byte(s) // a non-JSON body arrives as a JSON string
			}
			res.Err = parseError(r.Status, h, body, c.now)
			res.Err.ClientRequestID = requestID
			res.Err.Method = ops[i].Method
			res.Err.Path, _, _ = strings.Cut(ops[i].URL, "?")
		}
		results[i] = res
	}
	if useIDs {
		for i, ok := range filled {
			if !ok {
				return nil, malformed("$batch answered no response for operation %s", ops[i].ID)
			}
		}
	}
	return results, nil
}

// batchID renders a response id (a string, a number or null) as a string.
func batchID(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}
