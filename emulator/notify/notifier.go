package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ChangeType is a notification's changeType (bc-entra-facts §7.3).
type ChangeType string

// Change types. Publish accepts the first three; ChangeCollection only appears in
// notifications.
const (
	ChangeCreated    ChangeType = "created"
	ChangeUpdated    ChangeType = "updated"
	ChangeDeleted    ChangeType = "deleted"
	ChangeCollection ChangeType = "collection"
)

func (t ChangeType) order() int {
	switch t {
	case ChangeCreated:
		return 0
	case ChangeUpdated:
		return 1
	case ChangeDeleted:
		return 2
	}
	return 3
}

// Change is one record change the emulator reports to Publish.
type Change struct {
	// Resource is the entity set's path without a leading slash,
	// e.g. "api/v2.0/companies(<guid>)/customers". Line changes that notify the document
	// header are published by the emulator as a change of the header (bc-entra-facts §7.3).
	Resource string
	// Key is the record key as it appears in a URL: a GUID unquoted; a Code/Text key
	// single-quoted and URI-escaped (bc-entra-facts §7.3).
	Key string
	// Type is ChangeCreated, ChangeUpdated or ChangeDeleted.
	Type ChangeType
	// At is the record's lastModifiedDateTime after the change (zero: the Manager's clock).
	At time.Time
	// HasLastModified says whether the entity exposes lastModifiedDateTime; without it a
	// `collection` notification carries the bare resource URL (bc-entra-facts §7.3).
	HasLastModified bool
}

// Notification is one element of a notification POST's "value" array (bc-entra-facts §7.3).
type Notification struct {
	SubscriptionID       string `json:"subscriptionId"`
	ClientState          string `json:"clientState"`
	ExpirationDateTime   string `json:"expirationDateTime"`
	Resource             string `json:"resource"`
	ChangeType           string `json:"changeType"`
	LastModifiedDateTime string `json:"lastModifiedDateTime"`
}

// Outcome is what became of one notification POST.
type Outcome string

// Outcomes recorded in Delivery.Outcome (bc-entra-facts §7.4).
const (
	OutcomeDelivered Outcome = "delivered" // 2xx
	OutcomeRetry     Outcome = "retry"     // 408, 429, 5xx, transport error or timeout; retried later
	OutcomeGaveUp    Outcome = "gave-up"   // retryable failure after the last retry; subscriptions deleted
	OutcomeRejected  Outcome = "rejected"  // any other status; subscriptions deleted
	OutcomeCancelled Outcome = "cancelled" // Manager closed while the POST was under way
)

// Delivery records one notification POST, for tests and diagnostics.
type Delivery struct {
	URL             string
	Attempt         int       // 1 for the first POST of a batch, 2 for its first retry, …
	Status          int       // HTTP status; 0 when no response arrived
	Err             string    // transport error or timeout, if any
	Outcome         Outcome   // what the answer led to
	SubscriptionIDs []string  // subscriptions with notifications in Body, ordered
	Deleted         []string  // subscriptions deleted because of this POST
	Body            []byte    // the JSON sent
	At              time.Time // when the answer (or the failure) arrived
}

// Deliveries returns the most recent notification POSTs (up to Config.DeliveryLogSize),
// oldest first.
func (m *Manager) Deliveries() []Delivery {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Delivery(nil), m.deliveries...)
}

// item is one single-record notification being collected.
type item struct {
	key string
	typ ChangeType
	at  time.Time
}

// agg collects one subscription's changes for one window, merging them the way
// [CODE 6154] GenerateAggregateNotification does:
//   - an `updated` merges into the record's latest notification when that one is `updated`
//     too (the later time wins); [DOC 2018]: "multiple sequential updates on the same entity …
//     will be grouped into a single updated notification";
//   - every other change is its own notification, so created→updated gives two and
//     created→deleted gives two ([DOC 2018]: a client "can get the different changeType for
//     the same resource");
//   - one more distinct notification than MaxNotifications collapses the window into one
//     `collection`.
type agg struct {
	opened     time.Time // when the window's first change arrived
	items      []item
	latest     map[string]int // record key → index of its latest item
	collection bool
	first      time.Time // earliest change time
	last       time.Time // latest change time
	hasDelete  bool
	noLastMod  bool
}

func newAgg(opened time.Time) *agg {
	return &agg{opened: opened, latest: make(map[string]int)}
}

func (a *agg) apply(key string, typ ChangeType, at time.Time, hasLastModified bool, limit int) {
	if a.first.IsZero() || at.Before(a.first) {
		a.first = at
	}
	if at.After(a.last) {
		a.last = at
	}
	if typ == ChangeDeleted {
		a.hasDelete = true
	}
	if !hasLastModified {
		a.noLastMod = true
	}
	if a.collection {
		return
	}
	if i, ok := a.latest[key]; ok && typ == ChangeUpdated && a.items[i].typ == ChangeUpdated {
		if at.After(a.items[i].at) {
			a.items[i].at = at
		}
		return
	}
	if len(a.items) >= limit {
		a.collapse()
		return
	}
	a.latest[key] = len(a.items)
	a.items = append(a.items, item{key: key, typ: typ, at: at})
}

func (a *agg) collapse() {
	a.collection = true
	a.items = nil
	a.latest = nil
}

// absorb merges b (changes that arrived later) into a, e.g. when a failed POST's
// notifications are kept for the retry and new changes join them (bc-entra-facts §7.4).
func (a *agg) absorb(b *agg, limit int) {
	if b == nil {
		return
	}
	if b.opened.Before(a.opened) {
		a.opened = b.opened
	}
	if b.collection {
		a.collapse()
	} else {
		for _, it := range b.items {
			a.apply(it.key, it.typ, it.at, true, limit)
		}
	}
	if !b.first.IsZero() && (a.first.IsZero() || b.first.Before(a.first)) {
		a.first = b.first
	}
	if b.last.After(a.last) {
		a.last = b.last
	}
	a.hasDelete = a.hasDelete || b.hasDelete
	a.noLastMod = a.noLastMod || b.noLastMod
}

// notifications renders a's notifications for subscription s.
func (a *agg) notifications(s *Subscription, now time.Time) []Notification {
	base := Notification{
		SubscriptionID:     s.SubscriptionID,
		ClientState:        s.ClientState,
		ExpirationDateTime: formatTime(s.ExpirationDateTime),
	}
	resource := strings.TrimSuffix(s.Resource, "/")
	if a.collection {
		n := base
		n.ChangeType = string(ChangeCollection)
		n.Resource = resource
		// [CODE 6154] GetEntityCollectionUrl: the filter starts 50 ms before the first change
		// because SQL rounds datetimes differently; with a delete in the window ([DOC 2018]:
		// "If there were any deletes, then the client has to fetch the entire set") or without
		// a lastModifiedDateTime field the bare resource is sent.
		if !a.hasDelete && !a.noLastMod && !a.first.IsZero() {
			n.Resource += "?$filter=lastModifiedDateTime%20gt%20" + formatTime(a.first.Add(-50*time.Millisecond))
		}
		last := a.last
		if last.IsZero() {
			last = now
		}
		n.LastModifiedDateTime = formatTime(last)
		return []Notification{n}
	}
	items := append([]item(nil), a.items...)
	// [CODE 6154] orders by Last Modified Date Time, then Change Type.
	sort.SliceStable(items, func(i, j int) bool {
		if !items[i].at.Equal(items[j].at) {
			return items[i].at.Before(items[j].at)
		}
		return items[i].typ.order() < items[j].typ.order()
	})
	out := make([]Notification, 0, len(items))
	for _, it := range items {
		n := base
		n.ChangeType = string(it.typ)
		n.Resource = resource + "(" + it.key + ")"
		n.LastModifiedDateTime = formatTime(it.at)
		out = append(out, n)
	}
	return out
}

// urlQueue is the sending state of one notificationUrl: notifications for every subscription
// that shares the URL go out in one POST (bc-entra-facts §7.3).
type urlQueue struct {
	url      string
	timer    *time.Timer // coalescing delay or retry delay
	inFlight bool
	attempt  int // failed attempts of the current batch
}

// Publish tells the manager a record changed. Every live subscription on c.Resource collects
// the change; the first change for a notificationUrl starts its Delay timer. Changes for
// expired subscriptions are dropped, and the next run of the notifier deletes those
// subscriptions (bc-entra-facts §7.4).
func (m *Manager) Publish(c Change) {
	switch c.Type {
	case ChangeCreated, ChangeUpdated, ChangeDeleted:
	default:
		m.log.Warn("webhook change ignored: unknown change type", "type", c.Type, "resource", c.Resource)
		return
	}
	ref, err := parseResource(c.Resource, "")
	if err != nil {
		m.log.Warn("webhook change ignored: resource is not api/…/companies(<guid>)/<entitySet>", "resource", c.Resource)
		return
	}
	key := ref.matchKey()

	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	now := m.now()
	at := c.At
	if at.IsZero() {
		at = now
	}
	at = at.UTC()
	for _, st := range m.subs {
		if st.key != key {
			continue
		}
		q := m.queueLocked(st.sub.NotificationURL)
		if now.After(st.sub.ExpirationDateTime) {
			m.armLocked(q) // the run that follows sweeps the expired subscription
			continue
		}
		if st.pending == nil {
			st.pending = newAgg(now)
		}
		st.pending.apply(c.Key, c.Type, at, c.HasLastModified, m.cfg.MaxNotifications)
		m.armLocked(q)
	}
}

func (m *Manager) queueLocked(url string) *urlQueue {
	q, ok := m.queues[url]
	if !ok {
		q = &urlQueue{url: url}
		m.queues[url] = q
	}
	return q
}

// armLocked starts q's coalescing timer unless a POST is under way or a timer (coalescing or
// retry) is already set; in both cases new changes simply join.
func (m *Manager) armLocked(q *urlQueue) {
	if m.closed || q.inFlight || q.timer != nil {
		return
	}
	d := m.delay
	// A window opened while the previous POST was under way keeps its original deadline.
	now := m.now()
	for _, st := range m.subs {
		if st.sub.NotificationURL == q.url && st.pending != nil {
			if rem := st.pending.opened.Add(m.delay).Sub(now); rem < d {
				d = max(rem, 0)
			}
		}
	}
	m.startTimerLocked(q, d)
}

func (m *Manager) startTimerLocked(q *urlQueue, d time.Duration) {
	if m.closed {
		return
	}
	url := q.url
	q.timer = time.AfterFunc(d, func() { m.fire(url) })
}

// fire is the notifier run for one notificationUrl: sweep expired subscriptions, then POST
// everything pending for the URL.
func (m *Manager) fire(url string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	q, ok := m.queues[url]
	if !ok || m.closed {
		return
	}
	q.timer = nil
	if q.inFlight {
		return
	}
	now := m.now()
	// [CODE 6154] DeleteExpiredSubscriptions runs first in every run.
	for id, st := range m.subs {
		if now.After(st.sub.ExpirationDateTime) {
			m.deleteLocked(id, "expired")
		}
	}

	var ids, all []string
	var notes []Notification
	for _, st := range m.sortedSubsLocked() {
		if st.sub.NotificationURL != url {
			continue
		}
		all = append(all, st.sub.SubscriptionID)
		if st.pending == nil {
			continue
		}
		st.inflight, st.pending = st.pending, nil
		ids = append(ids, st.sub.SubscriptionID)
		notes = append(notes, st.inflight.notifications(&st.sub, now)...)
	}
	if len(ids) == 0 {
		q.attempt = 0
		m.dropIdleQueueLocked(q)
		return
	}
	// [CODE 6154] builds the payload with JObject.ToString(): indented JSON, no BOM
	// (bc-entra-facts §7.3).
	body, err := encodePayload(notes)
	if err != nil { // cannot happen: only strings
		m.log.Error("webhook payload encoding failed", "err", err)
		return
	}
	q.inFlight = true
	q.attempt++
	m.wg.Add(1)
	go m.deliver(q, q.attempt, body, ids, all)
}

// encodePayload writes {"value":[…]} indented and without HTML escaping, as Newtonsoft's
// JObject.ToString() does.
func encodePayload(notes []Notification) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(struct {
		Value []Notification `json:"value"`
	}{notes}); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func (m *Manager) sortedSubsLocked() []*subState {
	out := make([]*subState, 0, len(m.subs))
	for _, st := range m.subs {
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].sub.SubscriptionID < out[j].sub.SubscriptionID })
	return out
}

// deliver POSTs one batch and applies bc-entra-facts §7.4 to the answer. ids are the
// subscriptions with notifications in body; all are every subscription on the URL when the
// batch was built (a rejection deletes them all, as [CODE 6154] DeleteInvalidSubscriptions
// does for the URL's subscriptions).
func (m *Manager) deliver(q *urlQueue, attempt int, body []byte, ids, all []string) {
	defer m.wg.Done()
	status, errText := m.post(q.url, body)

	m.mu.Lock()
	defer m.mu.Unlock()
	d := Delivery{URL: q.url, Attempt: attempt, Status: status, Err: errText,
		SubscriptionIDs: ids, Body: body, At: m.now()}
	q.inFlight = false

	// onURL is a subscription of the batch still registered for this URL (a PATCH may have
	// moved it elsewhere meanwhile).
	onURL := func(id string) bool {
		st, ok := m.subs[id]
		return ok && st.sub.NotificationURL == q.url
	}
	switch {
	case m.closed && status == 0:
		d.Outcome = OutcomeCancelled
	case status >= 200 && status <= 299:
		d.Outcome = OutcomeDelivered
		for _, id := range ids {
			if st, ok := m.subs[id]; ok {
				st.inflight = nil
			}
		}
		q.attempt = 0
	case status == 0 || status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || (status >= 500 && status <= 599):
		if attempt > len(m.retry) {
			d.Outcome = OutcomeGaveUp
			for _, id := range ids {
				if onURL(id) {
					m.deleteLocked(id, "notifications failed after every retry")
					d.Deleted = append(d.Deleted, id)
				}
			}
			q.attempt = 0
			break
		}
		d.Outcome = OutcomeRetry
		for _, id := range ids {
			st, ok := m.subs[id]
			if !ok {
				continue
			}
			// Keep the failed notifications; changes that arrived meanwhile join them.
			if st.inflight != nil {
				st.inflight.absorb(st.pending, m.cfg.MaxNotifications)
				st.pending, st.inflight = st.inflight, nil
			}
			if st.sub.NotificationURL != q.url {
				m.armLocked(m.queueLocked(st.sub.NotificationURL))
			}
		}
		if q.timer != nil { // cannot be set while in flight, but never leak one
			q.timer.Stop()
		}
		m.startTimerLocked(q, m.retry[attempt-1])
	default:
		d.Outcome = OutcomeRejected
		for _, id := range all {
			if onURL(id) {
				m.deleteLocked(id, "notificationUrl answered HTTP "+strconv.Itoa(status))
				d.Deleted = append(d.Deleted, id)
			}
		}
		q.attempt = 0
	}
	m.recordLocked(d)
	m.log.Info("webhook notification sent", "notificationUrl", q.url, "attempt", attempt,
		"status", status, "err", errText, "outcome", d.Outcome, "deleted", d.Deleted)

	if !m.closed && q.timer == nil {
		for _, st := range m.subs {
			if st.sub.NotificationURL == q.url && st.pending != nil {
				m.armLocked(q)
				break
			}
		}
	}
	m.dropIdleQueueLocked(q)
}

// post sends one notification POST and returns the status (0 if no response arrived) and the
// transport error text.
func (m *Manager) post(url string, body []byte) (int, string) {
	ctx, cancel := context.WithTimeout(m.ctx, m.cfg.NotificationTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err.Error()
	}
	req.Header.Set("Content-Type", "application/json") // [CODE 6154] SetContentType
	req.Header.Set("Accept", "application/json")       // [CODE 6154] SetReturnType
	resp, err := m.cfg.Client.Do(req)
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return 0, "no response within " + m.cfg.NotificationTimeout.String()
		}
		return 0, err.Error()
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode, ""
}

func (m *Manager) recordLocked(d Delivery) {
	m.deliveries = append(m.deliveries, d)
	if n := len(m.deliveries); n > m.cfg.DeliveryLogSize {
		m.deliveries = append([]Delivery(nil), m.deliveries[n-m.cfg.DeliveryLogSize:]...)
	}
}

// dropIdleQueueLocked forgets a queue with nothing scheduled, so URLs of deleted
// subscriptions do not accumulate.
func (m *Manager) dropIdleQueueLocked(q *urlQueue) {
	if q.inFlight || q.timer != nil || q.attempt != 0 {
		return
	}
	for _, st := range m.subs {
		if st.sub.NotificationURL == q.url && (st.pending != nil || st.inflight != nil) {
			return
		}
	}
	delete(m.queues, q.url)
}
