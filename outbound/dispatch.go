package outbound

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/bizzjoiner/bcconnector/store"
)

// Event is the body of every delivery (the Standard Webhooks shape): its type, when it
// happened and its data.
type Event struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      any       `json:"data"`
}

// RecordData is the data of record.created, record.updated and record.deleted.
type RecordData struct {
	ConnectionID string `json:"connectionId"`
	CompanyID    string `json:"companyId"`
	EntitySet    string `json:"entitySet"`
	ID           string `json:"id"`
	// ETag is the record's ETag after the change; empty for deletes.
	ETag string `json:"etag,omitempty"`
	// Seq is the change's sequence number in the change log (GET /changes).
	Seq int64 `json:"seq"`
	// Record is the record as BC sent it, for endpoints with includeRecord (not for
	// deletes): the replica's row when the event was made, which may be newer than the
	// change when the record changed again meanwhile (compare its @odata.etag).
	Record json.RawMessage `json:"record,omitempty"`
}

// MaxRecordBytes bounds a record carried in an event; a larger one is left out (the
// event still names it, and GET of the records has it).
const MaxRecordBytes = 64 << 10

// pageSize is how many changes one dispatch step turns into deliveries.
const pageSize = 500

var opTypes = map[store.Op]string{store.OpInsert: RecordCreated, store.OpUpdate: RecordUpdated, store.OpDelete: RecordDeleted,
	store.OpSchema: SchemaChanged}

// SchemaData is the data of a schema.changed event.
type SchemaData struct {
	ConnectionID string `json:"connectionId"`
	CompanyID    string `json:"companyId"`
	EntitySet    string `json:"entitySet"`
	// Version is the set's new schema version.
	Version int `json:"version"`
	// Seq is the change's sequence number in the change log (GET /changes).
	Seq int64 `json:"seq"`
}

// recordKey is the order key of a record's events.
func recordKey(c store.Change) string {
	return c.ConnectionID + "/" + c.CompanyID + "/" + c.EntitySet + "/" + c.ID
}

// changeMessageID is the webhook-id of a change's event for an endpoint: the same for
// every instance that makes it, so one made twice is stored once.
func changeMessageID(endpointID string, seq int64) string {
	h := sha256.Sum256([]byte(endpointID + "/" + strconv.FormatInt(seq, 10)))
	return "msg_" + hex.EncodeToString(h[:16])
}

// recordEvents builds the deliveries of changes for endpoints (after each endpoint's
// filters); newID names them.
func (s *Service) recordEvents(ctx context.Context, changes []store.Change, eps []store.Endpoint, replay bool,
	newID func(ep store.Endpoint, c store.Change) string) ([]store.Delivery, error) {
	var out []store.Delivery
	for _, c := range changes {
		typ := opTypes[c.Op]
		var record json.RawMessage
		fetched := false
		for _, ep := range eps {
			if !Wants(ep.EventTypes, typ) || (ep.ConnectionID != "" && ep.ConnectionID != c.ConnectionID) || (!replay && c.Seq <= ep.AfterSeq) {
				continue
			}
			var payload any
			data := RecordData{ConnectionID: c.ConnectionID, CompanyID: c.CompanyID, EntitySet: c.EntitySet, ID: c.ID, ETag: c.ETag, Seq: c.Seq}
			if c.Op == store.OpSchema {
				v, _ := strconv.Atoi(c.ETag) // OpSchema's ETag is the version (store.OpSchema)
				payload = SchemaData{ConnectionID: c.ConnectionID, CompanyID: c.CompanyID, EntitySet: c.EntitySet, Version: v, Seq: c.Seq}
			} else if ep.IncludeRecord && c.Op != store.OpDelete {
				if !fetched {
					row, err := s.st.ReplicaGet(ctx, store.ReplicaKey{ConnectionID: c.ConnectionID, CompanyID: c.CompanyID, EntitySet: c.EntitySet}, c.ID)
					switch {
					case errors.Is(err, store.ErrNotFound):
					case err != nil:
						return nil, fmt.Errorf("record of change %d: %w", c.Seq, err)
					case len(row.Raw) <= MaxRecordBytes:
						record = row.Raw
					}
					fetched = true
				}
				data.Record = record
			}
			if payload == nil {
				payload = data
			}
			body, err := json.Marshal(Event{Type: typ, Timestamp: c.At, Data: payload})
			if err != nil {
				return nil, err
			}
			out = append(out, store.Delivery{ID: newID(ep, c), EndpointID: ep.ID, EventType: typ, ConnectionID: c.ConnectionID,
				OrderKey: recordKey(c), Seq: c.Seq, Payload: body})
		}
	}
	return out, nil
}

// Dispatch turns the change log past the change cursor into deliveries, page by page,
// until it is caught up, and gives the new pending deliveries jobs. Instances may run it
// at once: the cursor moves only from where a page was read, so each page is turned into
// deliveries once. It returns how many deliveries it added.
func (s *Service) Dispatch(ctx context.Context) (int, error) {
	total := 0
	for ctx.Err() == nil {
		cur, err := s.st.ChangeCursor(ctx)
		if err != nil {
			return total, err
		}
		changes, err := s.st.Changes(ctx, cur, pageSize)
		var ce *store.CursorExpiredError
		if errors.As(err, &ce) {
			// The retention never prunes past this cursor; a log pruned all the same (a
			// store restored from elsewhere, an older instance) must not stop dispatch
			// for good: say what was lost and go on after it.
			s.log.Error("outbound webhooks: changes were pruned before they became deliveries; their record events are lost",
				"from_seq", cur+1, "through_seq", ce.PrunedThrough)
			if _, err := s.st.AddDeliveries(ctx, &store.ChangeCursor{From: cur, To: ce.PrunedThrough}, nil); err != nil && !errors.Is(err, store.ErrConflict) {
				return total, err
			}
			continue
		}
		if err != nil || len(changes) == 0 {
			return total, err
		}
		eps, err := s.st.Endpoints(ctx)
		if err != nil {
			return total, err
		}
		eps = enabledOnly(eps)
		ds, err := s.recordEvents(ctx, changes, eps, false, func(ep store.Endpoint, c store.Change) string { return changeMessageID(ep.ID, c.Seq) })
		if err != nil {
			return total, err
		}
		pending, err := s.st.AddDeliveries(ctx, &store.ChangeCursor{From: cur, To: changes[len(changes)-1].Seq}, ds)
		if errors.Is(err, store.ErrConflict) {
			continue // another instance did this page; read from where it left the cursor
		}
		if err != nil {
			return total, err
		}
		total += len(ds)
		if err := s.enqueue(ctx, idsOf(pending)...); err != nil {
			return total, err
		}
	}
	return total, ctx.Err()
}

func idsOf(ds []store.Delivery) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	return out
}

// MaxReplay bounds how many changes one ReplayChanges call replays.
const MaxReplay = 10000

// ReplayChanges sends the record events of the changes after seq again to one endpoint
// (after its event types and connection filter, whatever its AfterSeq), as new messages
// with new webhook-ids, behind what is queued for the same records. It replays at most
// MaxReplay changes and never past what the dispatcher has reached; next is the sequence
// to continue from, done whether it reached that point.
func (s *Service) ReplayChanges(ctx context.Context, endpointID string, after int64) (added int, next int64, done bool, err error) {
	ep, err := s.st.Endpoint(ctx, endpointID)
	if err != nil {
		return 0, after, false, err
	}
	if err := checkEnabled(ep); err != nil {
		return 0, after, false, err
	}
	if after < 0 {
		return 0, after, false, fmt.Errorf("%w: after must be a change sequence number (0 or more), got %d", store.ErrInvalid, after)
	}
	upTo, err := s.st.ChangeCursor(ctx)
	if err != nil {
		return 0, after, false, err
	}
	next = after
	for read := 0; read < MaxReplay && next < upTo; {
		changes, err := s.st.Changes(ctx, next, min(pageSize, MaxReplay-read))
		if err != nil {
			return added, next, false, err
		}
		for len(changes) > 0 && changes[len(changes)-1].Seq > upTo {
			changes = changes[:len(changes)-1]
		}
		if len(changes) == 0 {
			break
		}
		read += len(changes)
		ds, err := s.recordEvents(ctx, changes, []store.Endpoint{ep}, true, func(store.Endpoint, store.Change) string { return NewMessageID() })
		if err != nil {
			return added, next, false, err
		}
		pending, err := s.st.AddDeliveries(ctx, nil, ds)
		if err != nil {
			return added, next, false, err
		}
		added += len(ds)
		next = changes[len(changes)-1].Seq
		if err := s.enqueue(ctx, idsOf(pending)...); err != nil {
			return added, next, false, err
		}
	}
	return added, next, next >= upTo, nil
}

// ReplayDelivery sends a delivery's event again as a new message (a new webhook-id, the
// same body), behind what is queued for the same record.
func (s *Service) ReplayDelivery(ctx context.Context, id string) (store.Delivery, error) {
	if d, err := s.st.Delivery(ctx, id); err == nil {
		ep, err := s.st.Endpoint(ctx, d.EndpointID)
		if err != nil {
			return store.Delivery{}, err
		}
		if err := checkEnabled(ep); err != nil {
			return store.Delivery{}, err
		}
	}
	d, err := s.st.ReplayDelivery(ctx, id, NewMessageID())
	if err != nil {
		return d, err
	}
	if d.State == store.DeliveryPending {
		err = s.enqueueEach(ctx, d.ID)
	}
	return d, err
}

// TestData is the data of a webhook.test event.
type TestData struct {
	EndpointID string `json:"endpointId"`
	Message    string `json:"message"`
}

// SendTest sends a webhook.test event to the endpoint, whatever event types it lists.
func (s *Service) SendTest(ctx context.Context, endpointID string) (store.Delivery, error) {
	ep, err := s.st.Endpoint(ctx, endpointID)
	if err != nil {
		return store.Delivery{}, err
	}
	if err := checkEnabled(ep); err != nil {
		return store.Delivery{}, err
	}
	body, err := json.Marshal(Event{Type: Test, Timestamp: s.now(), Data: TestData{EndpointID: ep.ID,
		Message: "Test event from bcconnector: the endpoint is reachable and this signature verifies with its signing secret."}})
	if err != nil {
		return store.Delivery{}, err
	}
	d := store.Delivery{ID: NewMessageID(), EndpointID: ep.ID, EventType: Test, Payload: body}
	pending, err := s.st.AddDeliveries(ctx, nil, []store.Delivery{d})
	if err != nil {
		return store.Delivery{}, err
	}
	if err := s.enqueue(ctx, idsOf(pending)...); err != nil {
		return store.Delivery{}, err
	}
	return s.st.Delivery(ctx, d.ID)
}

// sweepAfter is how long a pending delivery may be overdue before the sweep gives it a
// job again (a crash between adding it and enqueueing its job). It is long enough that
// a delivery waiting in a backlog of first attempts is not given a second job.
const sweepAfter = 2 * time.Minute

// sweepEvery is how often Run sweeps.
const sweepEvery = 30 * time.Second

// Sweep gives a job of its own to each pending delivery overdue by more than sweepAfter;
// River's uniqueness drops those that still have one.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	ids, err := s.st.DueDeliveries(ctx, s.now().Add(-sweepAfter), 1000)
	if err != nil {
		return 0, err
	}
	return len(ids), s.enqueueEach(ctx, ids...)
}

// healthEvery is how often Run checks connection health.
const healthEvery = time.Minute

// DeliveryRetention is how long finished deliveries (and their attempt logs) are kept;
// pruneEvery how often Run deletes older ones.
const (
	DeliveryRetention = 30 * 24 * time.Hour
	pruneEvery        = time.Hour
)

// Prune deletes finished deliveries older than DeliveryRetention, in rounds of 1,000.
func (s *Service) Prune(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := s.st.PruneDeliveries(ctx, s.now().Add(-DeliveryRetention), 1000)
		total += n
		if err != nil || n < 1000 {
			return total, err
		}
	}
}

// Run dispatches the change log whenever it grows (store.ChannelChanges) and at least
// every interval (0 means 5 s), sweeps every 30 s, checks connection health every minute
// and prunes old deliveries every hour, until ctx ends. Every instance runs it.
func (s *Service) Run(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = 5 * time.Second
	}
	wake := make(chan struct{}, 1)
	cancel := s.st.Subscribe(store.ChannelChanges, func(string) {
		select {
		case wake <- struct{}{}:
		default:
		}
	})
	defer cancel()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	var lastSweep, lastHealth, lastPrune time.Time
	for {
		if _, err := s.Dispatch(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("outbound webhooks: dispatch", "err", err)
		}
		if time.Since(lastSweep) >= sweepEvery {
			if _, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("outbound webhooks: sweep", "err", err)
			}
			lastSweep = time.Now()
		}
		if time.Since(lastPrune) >= pruneEvery {
			if n, err := s.Prune(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("outbound webhooks: prune deliveries", "err", err)
			} else if n > 0 {
				s.log.Info("outbound webhooks: pruned finished deliveries", "count", n, "olderThanDays", int(DeliveryRetention.Hours()/24))
			}
			lastPrune = time.Now()
		}
		if time.Since(lastHealth) >= healthEvery {
			if _, err := s.CheckHealth(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("outbound webhooks: connection health", "err", err)
			}
			lastHealth = time.Now()
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-tick.C:
		}
	}
}
