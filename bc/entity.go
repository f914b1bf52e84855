package bc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/bizzjoiner/bcconnector/guide"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strconv"
	"strings"
)

// AnyETag is the etag that makes Update and Delete overwrite or delete whatever version
// BC holds (If-Match: *). Use it only when losing a concurrent change is acceptable.
const AnyETag = "*"

// Get reads the entity with key id from ref. Query options other than Select, Expand and
// Primary are ignored. A missing entity is an error matching ErrNotFound.
//
// https://learn.microsoft.com/dynamics365/business-central/dev-itpro/api-reference/v2.0/
func (c *Client) Get(ctx context.Context, ref Ref, id string, q *Query) (Record, error) {
	if id == "" {
		return Record{}, errors.New("bc: Get: id is empty; pass the entity's id")
	}
	var opts *Query
	if q != nil {
		opts = &Query{Select: q.Select, Expand: q.Expand, SchemaVersion: q.SchemaVersion}
	}
	u, err := c.refURL(ref, id, opts)
	if err != nil {
		return Record{}, err
	}
	cl := &call{op: "get", method: http.MethodGet, url: u, class: retryIdempotent, readOnly: q == nil || !q.Primary}
	var rec Record
	err = c.do(ctx, cl, func(resp *http.Response) error {
		rec, err = readRecord(resp)
		return err
	})
	return rec, err
}

// Create inserts an entity into ref and returns it as BC stored it (201 Created). body is
// a JSON object: a map, a struct with omitempty fields, or json.RawMessage. It may include
// navigation arrays for a deep insert, for example a sales invoice with its
// "salesInvoiceLines" (bc-entra-facts §4.2).
//
// The POST is retried only when the earlier try provably did not reach BC (connection
// refused, 429, 503); after any other failure it may have been applied, so the error is
// returned. Use CreateWithID for a create that is safe to retry.
//
// https://learn.microsoft.com/dynamics365/business-central/dev-itpro/api-reference/v2.0/api/dynamics_salesinvoice_create
func (c *Client) Create(ctx context.Context, ref Ref, body any) (Record, error) {
	data, err := objectJSON(body)
	if err != nil {
		return Record{}, fmt.Errorf("bc: Create in %s: %w", ref.Path, err)
	}
	rec, _, err := c.create(ctx, ref, data, retryNotReached)
	return rec, err
}

// CreateWithID inserts an entity with a client-chosen id (a GUID the caller generates and
// keeps, bc-entra-facts §4.7), which makes the create idempotent: it is retried after any
// transient failure, and when BC answers that the id already exists (a retry after a lost
// response, or a rerun of the same work) the stored entity is read and returned instead.
// body must not hold a different "id".
func (c *Client) CreateWithID(ctx context.Context, ref Ref, id string, body any) (Record, error) {
	if !guide.IsGUID(id) {
		return Record{}, fmt.Errorf("bc: CreateWithID: id %q is not a GUID; generate one per new record and keep it with the work item", id)
	}
	data, err := objectJSON(body)
	if err != nil {
		return Record{}, fmt.Errorf("bc: CreateWithID in %s: %w", ref.Path, err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return Record{}, fmt.Errorf("bc: CreateWithID in %s: %w", ref.Path, err)
	}
	if raw, ok := fields["id"]; ok {
		var have string
		if json.Unmarshal(raw, &have) != nil || !strings.EqualFold(have, id) {
			return Record{}, fmt.Errorf("bc: CreateWithID: body has id %s but the id argument is %s; pass one id", raw, id)
		}
	}
	fields["id"], _ = json.Marshal(id)
	data, err = json.Marshal(fields)
	if err != nil {
		return Record{}, err
	}
	rec, cl, err := c.create(ctx, ref, data, retryIdempotent)
	if err == nil || !errors.Is(err, ErrExists) {
		return rec, err
	}
	// The id is the idempotency key: if an entity with it exists, it is ours. (The same
	// code also reports other duplicate keys, such as a taken number; then the id is not
	// found and the original error stands.)
	got, gerr := c.Get(ctx, ref, id, &Query{Primary: true})
	if IsNotFound(gerr) {
		return Record{}, err
	}
	if gerr != nil {
		return Record{}, fmt.Errorf("%w (reading the record with id %s failed: %v)", err, id, gerr)
	}
	c.log.LogAttrs(ctx, slog.LevelInfo, "bc create resolved: the entity with this id already exists",
		slog.String("path", ref.Path), slog.String("id", id), slog.String("clientRequestId", cl.requestID),
		slog.Bool("afterRetry", cl.maybeApplied))
	return got, nil
}

func (c *Client) create(ctx context.Context, ref Ref, data []byte, class retryClass) (Record, *call, error) {
	u, err := c.refURL(ref, "", nil)
	if err != nil {
		return Record{}, nil, err
	}
	cl := &call{op: "create", method: http.MethodPost, url: u, body: data, class: class}
	var rec Record
	err = c.do(ctx, cl, func(resp *http.Response) error {
		rec, err = readRecord(resp)
		return err
	})
	return rec, cl, err
}

// Update changes the fields in body of the entity with key id (PATCH) and returns the
// entity as stored. etag is the entity's Record.ETag as read, or AnyETag; a stale one
// fails with an error matching ErrConflict (bc-entra-facts §4.5). Navigation properties
// cannot be updated in one request (no deep update, §4.2).
//
// Retries are safe: if a retry meets a conflict after an earlier try whose answer was
// lost, the entity is read again, and when it already holds every value of body the
// update counts as done.
func (c *Client) Update(ctx context.Context, ref Ref, id, etag string, body any) (Record, error) {
	if id == "" {
		return Record{}, errors.New("bc: Update: id is empty; pass the entity's id")
	}
	if etag == "" {
		return Record{}, errors.New("bc: Update: etag is empty: pass the entity's ETag as read (Record.ETag), or bc.AnyETag to overwrite unconditionally")
	}
	data, err := objectJSON(body)
	if err != nil {
		return Record{}, fmt.Errorf("bc: Update of %s(%s): %w", ref.Path, id, err)
	}
	u, err := c.refURL(ref, id, nil)
	if err != nil {
		return Record{}, err
	}
	cl := &call{op: "update", method: http.MethodPatch, url: u, body: data, class: retryIdempotent,
		header: http.Header{"If-Match": {etag}}}
	var rec Record
	err = c.do(ctx, cl, func(resp *http.Response) error {
		rec, err = readRecord(resp)
		return err
	})
	if err != nil && cl.maybeApplied && errors.Is(err, ErrConflict) {
		cur, gerr := c.Get(ctx, ref, id, &Query{Primary: true})
		if gerr == nil && holdsValues(cur, data) {
			c.log.LogAttrs(ctx, slog.LevelInfo, "bc update resolved: an earlier try was applied",
				slog.String("path", ref.Path), slog.String("id", id), slog.String("clientRequestId", cl.requestID))
			return cur, nil
		}
	}
	return rec, err
}

// holdsValues reports whether every top-level field of the JSON object body has the same
// value in rec (numbers compared by value).
func holdsValues(rec Record, body []byte) bool {
	var want, have map[string]any
	if json.Unmarshal(body, &want) != nil || json.Unmarshal(rec.Raw, &have) != nil {
		return false
	}
	for k, v := range want {
		if strings.HasPrefix(k, "@odata.") {
			continue
		}
		if !reflect.DeepEqual(v, have[k]) {
			return false
		}
	}
	return true
}

// Delete deletes the entity with key id. etag is its Record.ETag, or AnyETag. A retry
// that finds the entity gone after an earlier try whose answer was lost counts as done.
func (c *Client) Delete(ctx context.Context, ref Ref, id, etag string) error {
	if id == "" {
		return errors.New("bc: Delete: id is empty; pass the entity's id")
	}
	if etag == "" {
		return errors.New("bc: Delete: etag is empty: pass the entity's ETag as read (Record.ETag), or bc.AnyETag to delete unconditionally")
	}
	u, err := c.refURL(ref, id, nil)
	if err != nil {
		return err
	}
	cl := &call{op: "delete", method: http.MethodDelete, url: u, class: retryIdempotent,
		header: http.Header{"If-Match": {etag}}}
	err = c.do(ctx, cl, nil)
	if err != nil && cl.maybeApplied && cl.attempts > 1 && errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// Action runs a bound action on the entity with key id, for example
// c.Action(ctx, invoices, id, "Microsoft.NAV.post") (a short "post" is completed to
// Microsoft.NAV.post). It returns the response body, nil for BC's usual 204. Like every
// non-idempotent POST it is retried only when BC provably did not receive it.
//
// https://learn.microsoft.com/dynamics365/business-central/dev-itpro/api-reference/v2.0/api/dynamics_salesinvoice_post
func (c *Client) Action(ctx context.Context, ref Ref, id, action string) (json.RawMessage, error) {
	if id == "" {
		return nil, errors.New("bc: Action: id is empty; pass the entity's id")
	}
	name, err := actionName(action)
	if err != nil {
		return nil, err
	}
	u, err := c.refURL(ref, id, nil, name)
	if err != nil {
		return nil, err
	}
	cl := &call{op: "action", method: http.MethodPost, url: u, class: retryNotReached}
	var out json.RawMessage
	err = c.do(ctx, cl, func(resp *http.Response) error {
		data, err := io.ReadAll(resp.Body)
		if len(bytes.TrimSpace(data)) > 0 {
			out = data
		}
		return err
	})
	return out, err
}

func actionName(a string) (string, error) {
	if !strings.Contains(a, ".") {
		a = "Microsoft.NAV." + a
	}
	for _, part := range strings.Split(a, ".") {
		if !isIdent(part) {
			return "", fmt.Errorf("bc: action %q: want a name such as Microsoft.NAV.post", a)
		}
	}
	return a, nil
}

// Count returns the number of entities in ref that match q's Filter (GET …/$count).
func (c *Client) Count(ctx context.Context, ref Ref, q *Query) (int64, error) {
	var opts *Query
	if q != nil {
		opts = &Query{Filter: q.Filter, SchemaVersion: q.SchemaVersion}
	}
	u, err := c.refURL(ref, "", opts, "$count")
	if err != nil {
		return 0, err
	}
	cl := &call{op: "count", method: http.MethodGet, url: u, class: retryIdempotent, readOnly: q == nil || !q.Primary}
	var n int64
	err = c.do(ctx, cl, func(resp *http.Response) error {
		data, err := io.ReadAll(io.LimitReader(resp.Body, 64))
		if err != nil {
			return err
		}
		n, err = parseCount(data)
		return err
	})
	return n, err
}

// parseCount reads a /$count body: a bare non-negative number, possibly after a UTF-8 byte
// order mark (bc-entra-facts §4.2 [OBS]: BC's sometimes carries one) and around white space.
func parseCount(data []byte) (int64, error) {
	text := strings.TrimSpace(strings.TrimPrefix(string(data), "\ufeff"))
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil || n < 0 || (len(text) > 0 && (text[0] == '+' || text[0] == '-')) {
		return 0, malformed("$count answered %q, not a number", shorten(text))
	}
	return n, nil
}

// objectJSON marshals a request body and checks that it is a JSON object.
func objectJSON(body any) ([]byte, error) {
	var data []byte
	switch b := body.(type) {
	case nil:
		return nil, errors.New("the body is nil; pass the fields to send")
	case json.RawMessage:
		data = b
	case []byte:
		data = b
	default:
		var err error
		if data, err = json.Marshal(body); err != nil {
			return nil, fmt.Errorf("encoding the body: %w", err)
		}
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' || !json.Valid(data) {
		return nil, errors.New("the body must be a JSON object")
	}
	return data, nil
}
