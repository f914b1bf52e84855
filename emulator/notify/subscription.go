package notify

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Subscription is one webhook subscription as BC's subscriptions API returns it
// (bc-entra-facts §7.1). Its JSON form (MarshalJSON) uses BC's field names and order and
// carries "@odata.etag".
type Subscription struct {
	SubscriptionID       string    // 32 lower-case hex digits
	NotificationURL      string    // as given by the subscriber
	Resource             string    // as given by the subscriber; notifications append "(key)" to it
	ClientState          string    // echoed in every notification
	ExpirationDateTime   time.Time // creation or last renewal + Config.Expiry
	UserID               string    // the creator (Create's owner)
	LastModifiedDateTime time.Time
	Timestamp            int64  // row version, grows on every write
	ETag                 string // W/"…", changes on every write; compare byte for byte
	SystemCreatedAt      time.Time
	SystemCreatedBy      string
	SystemModifiedAt     time.Time
	SystemModifiedBy     string
}

// wireSubscription fixes BC's property order (resource page dynamics_subscriptions.md).
type wireSubscription struct {
	Context              string `json:"@odata.context,omitempty"`
	ETag                 string `json:"@odata.etag"`
	SubscriptionID       string `json:"subscriptionId"`
	NotificationURL      string `json:"notificationUrl"`
	Resource             string `json:"resource"`
	Timestamp            int64  `json:"timestamp"`
	UserID               string `json:"userId"`
	LastModifiedDateTime string `json:"lastModifiedDateTime"`
	ClientState          string `json:"clientState"`
	ExpirationDateTime   string `json:"expirationDateTime"`
	SystemCreatedAt      string `json:"systemCreatedAt"`
	SystemCreatedBy      string `json:"systemCreatedBy"`
	SystemModifiedAt     string `json:"systemModifiedAt"`
	SystemModifiedBy     string `json:"systemModifiedBy"`
}

func (s *Subscription) wire(context string) wireSubscription {
	return wireSubscription{
		Context:              context,
		ETag:                 s.ETag,
		SubscriptionID:       s.SubscriptionID,
		NotificationURL:      s.NotificationURL,
		Resource:             s.Resource,
		Timestamp:            s.Timestamp,
		UserID:               s.UserID,
		LastModifiedDateTime: formatTime(s.LastModifiedDateTime),
		ClientState:          s.ClientState,
		ExpirationDateTime:   formatTime(s.ExpirationDateTime),
		SystemCreatedAt:      formatTime(s.SystemCreatedAt),
		SystemCreatedBy:      s.SystemCreatedBy,
		SystemModifiedAt:     formatTime(s.SystemModifiedAt),
		SystemModifiedBy:     s.SystemModifiedBy,
	}
}

// MarshalJSON encodes s as BC does, e.g.
//
//	{"@odata.etag":"W/\"…\"","subscriptionId":"c670ea73cacb459bb51dc1740da2f1db",
//	 "notificationUrl":"https://contoso.com/myCallbacks","resource":"/api/v2.0/companies(…)/customers",
//	 "timestamp":12,"userId":"…","lastModifiedDateTime":"2018-10-12T12:32:35Z", …}
func (s Subscription) MarshalJSON() ([]byte, error) {
	return marshalNoEscape(s.wire(""))
}

// formatTime is the Edm.DateTimeOffset wire form (ARCHITECTURE.md): UTC, millisecond
// precision, trailing zeros of the fraction dropped, as Newtonsoft writes BC's DateTime.
func formatTime(t time.Time) string {
	return t.UTC().Truncate(time.Millisecond).Format("2006-01-02T15:04:05.999Z")
}

// marshalNoEscape encodes v without HTML escaping (BC writes '&' in URLs as is).
func marshalNoEscape(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// subState is a subscription plus the notifier's per-subscription state.
type subState struct {
	sub      Subscription
	ref      resourceRef
	key      string // ref.matchKey()
	pending  *agg   // changes not yet handed to a POST
	inflight *agg   // changes in the POST under way, if any
}

// Patch lists the properties a PATCH may change; nil leaves a property as it is
// (bc-entra-facts §7.1: the PATCH body may carry notificationUrl, resource and clientState).
type Patch struct {
	NotificationURL *string
	Resource        *string
	ClientState     *string
}

// Create registers a subscription after a successful handshake with notificationURL and
// returns it (the HTTP layer answers 201). owner is the creating user: the app's BC user id or
// client id, stored as userId. A resource without an API route ("companies(…)/customers") is
// taken as relative to api/v2.0.
//
// Errors are *Error: 400 for an invalid notificationUrl, resource or clientState, for a failed
// handshake and when MaxSubscriptions are reached.
func (m *Manager) Create(ctx context.Context, owner, notificationURL, resource, clientState string) (*Subscription, error) {
	return m.create(ctx, owner, "", notificationURL, resource, clientState)
}

// create implements Create; apiPrefix is the subscriptions endpoint's API route ("" when
// called without one), which a resource must share (bc-entra-facts §7.1, custom APIs).
func (m *Manager) create(ctx context.Context, owner, apiPrefix, notificationURL, resource, clientState string) (*Subscription, error) {
	ref, err := m.validate(apiPrefix, notificationURL, resource, clientState)
	if err != nil {
		return nil, err
	}
	if err := m.checkCapacity(); err != nil {
		return nil, err
	}
	if err := m.handshake(ctx, "created", notificationURL, clientState); err != nil {
		return nil, err
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.checkCapacityLocked(); err != nil { // another create may have won meanwhile
		return nil, err
	}
	now := m.now()
	st := &subState{ref: ref, key: ref.matchKey(), sub: Subscription{
		SubscriptionID:       newHexID(),
		NotificationURL:      notificationURL,
		Resource:             resource,
		ClientState:          clientState,
		ExpirationDateTime:   now.Add(m.cfg.Expiry),
		UserID:               owner,
		LastModifiedDateTime: now,
		SystemCreatedAt:      now,
		SystemCreatedBy:      owner,
		SystemModifiedAt:     now,
		SystemModifiedBy:     owner,
	}}
	m.bumpLocked(&st.sub)
	m.subs[st.sub.SubscriptionID] = st
	m.log.Info("webhook subscription created", "subscriptionId", st.sub.SubscriptionID,
		"resource", resource, "notificationUrl", notificationURL, "expires", st.sub.ExpirationDateTime)
	out := st.sub
	return &out, nil
}

// validate checks a subscription's properties and returns the parsed resource.
func (m *Manager) validate(apiPrefix, notificationURL, resource, clientState string) (resourceRef, error) {
	if err := validateNotificationURL(notificationURL); err != nil {
		return resourceRef{}, err
	}
	prefix := strings.Trim(apiPrefix, "/")
	def := prefix
	if def == "" {
		def = defaultAPIPrefix
	}
	ref, err := parseResource(resource, def)
	if err != nil {
		return resourceRef{}, err
	}
	// bc-entra-facts §7.1: the subscriptions URL and the resource share the API route.
	if prefix != "" && !strings.EqualFold(ref.prefix, prefix) {
		return resourceRef{}, errBadRequest("The resource '%s' uses the API route '%s' but the subscription was posted to '%s/subscriptions'. Post subscriptions for custom APIs to api/{publisher}/{group}/{version}/subscriptions with a resource under the same route.",
			clip(resource), ref.prefix, prefix)
	}
	if n := utf8.RuneCountInString(clientState); n > m.cfg.ClientStateMaxLength {
		// bc-entra-facts §3.3 Application_StringExceededLength wording.
		return resourceRef{}, &Error{Status: http.StatusBadRequest, Code: CodeStringExceededLength, Message: fmt.Sprintf(
			"The length of the string is %d, but it must be less than or equal to %d characters. Value: %s",
			n, m.cfg.ClientStateMaxLength, clip(clientState))}
	}
	if m.cfg.ValidateResource != nil {
		if err := m.cfg.ValidateResource(ref.canonical()); err != nil {
			var e *Error
			if errors.As(err, &e) {
				return resourceRef{}, e
			}
			return resourceRef{}, errBadRequest("%s", err.Error())
		}
	}
	return ref, nil
}

func (m *Manager) checkCapacity() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.checkCapacityLocked()
}

// checkCapacityLocked enforces MaxSubscriptions (bc-entra-facts §7.1). BC's code and message
// for the 201st subscription are UNCONFIRMED; this answers 400 BadRequest.
func (m *Manager) checkCapacityLocked() error {
	if len(m.subs) >= m.cfg.MaxSubscriptions {
		return errBadRequest("The maximum number of subscriptions (%d) for this environment has been reached. Delete subscriptions you no longer need with DELETE …/subscriptions('{subscriptionId}'), then try again.",
			m.cfg.MaxSubscriptions)
	}
	return nil
}

// Renew is PATCH without property changes: it repeats the handshake and extends the
// expiration to now + Expiry (bc-entra-facts §7.1). ifMatch follows bc-entra-facts §4.5.
func (m *Manager) Renew(ctx context.Context, id, ifMatch string) (*Subscription, error) {
	return m.Update(ctx, "", id, ifMatch, Patch{})
}

// Update applies a PATCH: it validates the changed properties, repeats the handshake against
// the (new) notificationUrl with the (new) clientState, then stores them, extends the
// expiration to now + Expiry and changes the ETag. owner is recorded as systemModifiedBy ("" =
// the creator).
//
// Errors are *Error: 404 BadRequest_NotFound for an unknown id, 400 BadRequest_InvalidToken
// without If-Match, Request_EntityChanged (Config.ConflictStatus) for a stale one, 400 for
// invalid properties or a failed handshake.
func (m *Manager) Update(ctx context.Context, owner, id, ifMatch string, p Patch) (*Subscription, error) {
	return m.update(ctx, owner, "", id, ifMatch, p)
}

func (m *Manager) update(ctx context.Context, owner, apiPrefix, id, ifMatch string, p Patch) (*Subscription, error) {
	m.mu.Lock()
	st, ok := m.subs[id]
	if !ok {
		m.mu.Unlock()
		return nil, errNotFound(id)
	}
	if err := m.checkIfMatch(st, ifMatch); err != nil {
		m.mu.Unlock()
		return nil, err
	}
	cur := st.sub
	// A relative resource keeps resolving against the route the subscription was made on.
	prefix := apiPrefix
	if prefix == "" {
		prefix = st.ref.prefix
	}
	m.mu.Unlock()

	next := cur
	if p.NotificationURL != nil {
		next.NotificationURL = *p.NotificationURL
	}
	if p.Resource != nil {
		next.Resource = *p.Resource
	}
	if p.ClientState != nil {
		next.ClientState = *p.ClientState
	}
	ref, err := m.validate(prefix, next.NotificationURL, next.Resource, next.ClientState)
	if err != nil {
		return nil, err
	}
	if err := m.handshake(ctx, "renewed", next.NotificationURL, next.ClientState); err != nil {
		return nil, err
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	st, ok = m.subs[id]
	if !ok {
		return nil, errNotFound(id)
	}
	if st.sub.ETag != cur.ETag && strings.TrimSpace(ifMatch) != "*" {
		return nil, m.errEntityChanged() // changed while the handshake ran
	}
	now := m.now()
	if owner == "" {
		owner = st.sub.UserID
	}
	oldURL := st.sub.NotificationURL
	st.sub.NotificationURL = next.NotificationURL
	st.sub.Resource = next.Resource
	st.sub.ClientState = next.ClientState
	st.sub.ExpirationDateTime = now.Add(m.cfg.Expiry)
	st.sub.LastModifiedDateTime = now
	st.sub.SystemModifiedAt = now
	st.sub.SystemModifiedBy = owner
	st.ref, st.key = ref, ref.matchKey()
	m.bumpLocked(&st.sub)
	if oldURL != st.sub.NotificationURL && st.pending != nil {
		m.armLocked(m.queueLocked(st.sub.NotificationURL)) // pending changes follow the subscription
	}
	m.log.Info("webhook subscription renewed", "subscriptionId", id, "expires", st.sub.ExpirationDateTime)
	out := st.sub
	return &out, nil
}

// Delete removes a subscription (the HTTP layer answers 204). ifMatch follows
// bc-entra-facts §4.5: required, "*" or the current ETag. Pending notifications are dropped.
func (m *Manager) Delete(id, ifMatch string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	st, ok := m.subs[id]
	if !ok {
		return errNotFound(id)
	}
	if err := m.checkIfMatch(st, ifMatch); err != nil {
		return err
	}
	m.deleteLocked(id, "deleted by the subscriber")
	return nil
}

// Get returns a copy of the subscription with that id. Expired subscriptions stay visible until
// the notifier sweeps them, as in BC (bc-entra-facts §7.4).
func (m *Manager) Get(id string) (*Subscription, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st, ok := m.subs[id]
	if !ok {
		return nil, false
	}
	out := st.sub
	return &out, true
}

// List returns copies of every subscription of the environment, whoever created it, ordered
// by subscriptionId (the table's key). Whether BC shows a caller other users' subscriptions is
// UNCONFIRMED.
func (m *Manager) List() []*Subscription {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*Subscription, 0, len(m.subs))
	for _, st := range m.subs {
		s := st.sub
		out = append(out, &s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].SubscriptionID < out[j].SubscriptionID })
	return out
}

// checkIfMatch applies bc-entra-facts §4.5 to a PATCH or DELETE.
func (m *Manager) checkIfMatch(st *subState, ifMatch string) error {
	v := strings.TrimSpace(ifMatch)
	if v == "" {
		return errMissingIfMatch()
	}
	if v == "*" {
		return nil
	}
	for part := range strings.SplitSeq(v, ",") {
		if strings.TrimSpace(part) == st.sub.ETag {
			return nil
		}
	}
	return m.errEntityChanged()
}

// deleteLocked removes a subscription and whatever it had pending.
func (m *Manager) deleteLocked(id, reason string) {
	st, ok := m.subs[id]
	if !ok {
		return
	}
	delete(m.subs, id)
	m.log.Info("webhook subscription deleted", "subscriptionId", id, "reason", reason,
		"notificationUrl", st.sub.NotificationURL)
}

// bumpLocked gives s a new row version and ETag. The ETag mimics BC's shape, W/"<base64 of
// '<n>;<digits>;00;'>" (bc-entra-facts §4.4); it is opaque.
func (m *Manager) bumpLocked(s *Subscription) {
	m.rowVersion++
	s.Timestamp = m.rowVersion
	digits := strconv.FormatInt(s.Timestamp, 10) + "1"
	inner := fmt.Sprintf("'%d;%s;00;'", len(digits)-1, digits)
	s.ETag = `W/"` + base64.StdEncoding.EncodeToString([]byte(inner)) + `"`
}

// handshake performs bc-entra-facts §7.2: call notificationUrl?validationToken=<token> and
// require 200 with the token as the body. BC's error code and text for a failed handshake are
// UNCONFIRMED; this answers 400 BadRequest naming what the endpoint did wrong.
func (m *Manager) handshake(ctx context.Context, op, notificationURL, clientState string) error {
	token := newHexID()
	target := withQuery(notificationURL, "validationToken="+token)
	fail := func(why string) error {
		m.log.Info("webhook handshake failed", "notificationUrl", notificationURL, "reason", why)
		return errBadRequest("The subscription could not be %s: the handshake with the notificationUrl '%s' failed (%s). The endpoint must answer the validation request (%s %s?validationToken=…) within %s with HTTP 200 and the validationToken value as the only content of the response body.",
			op, clip(notificationURL), why, m.cfg.HandshakeMethod, clip(notificationURL), m.cfg.HandshakeTimeout)
	}

	ctx, cancel := context.WithTimeout(ctx, m.cfg.HandshakeTimeout)
	defer cancel()
	var body io.Reader
	method := m.cfg.HandshakeMethod
	if method != http.MethodGet && method != http.MethodHead {
		// [DOC 2018]: "The body will contain the Client State that was provided".
		body = strings.NewReader(clientState)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return fail("the URL cannot be requested: " + err.Error())
	}
	if body != nil {
		req.Header.Set("Content-Type", "text/plain; charset=utf-8") // UNCONFIRMED
	}
	resp, err := m.cfg.Client.Do(req)
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fail("no response within " + m.cfg.HandshakeTimeout.String())
		}
		return fail("the endpoint could not be reached: " + err.Error())
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return fail("reading the response failed: " + err.Error())
	}
	if resp.StatusCode != http.StatusOK {
		return fail(fmt.Sprintf("it answered HTTP %d instead of 200", resp.StatusCode))
	}
	got := string(data)
	if m.cfg.HandshakeTrimSpace {
		got = strings.TrimSpace(got)
	}
	if got != token {
		return fail(fmt.Sprintf("the response body was %q instead of the validationToken %q", clip(string(data)), token))
	}
	return nil
}

// newHexID returns 32 random lower-case hex digits, the shape of BC's subscriptionId
// (bc-entra-facts §7.1).
func newHexID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}
