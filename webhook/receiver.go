package webhook

import (
	"context"
	"crypto/subtle"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

const (
	// maxTokenLen bounds an echoed validationToken. BC's tokens are short (the emulator's
	// are 32 hex digits; the format is undocumented), so a longer one is not BC.
	maxTokenLen = 1024
	// maxSubscriptionIDLen bounds a subscriptionId worth a store lookup (BC's are 32 hex
	// digits, bc-entra-facts §7.1).
	maxSubscriptionIDLen = 256
	// lookupTimeout bounds the store lookups of one POST, so BC gets an answer (503: retry)
	// well within its notification timeout (§7.3).
	lookupTimeout = 10 * time.Second
)

// ServeHTTP is the webhook receiver, to be served at Options.PublicURL without
// authentication (BC sends no credentials; the clientState authenticates, §7.2):
//
//   - GET or POST with ?validationToken=… (BC's handshake on create and on every renewal,
//     §7.2) is answered 200 with the token as the text/plain body.
//   - POST {"value":[…]} carries notifications (§7.3). Each is checked against the stored
//     subscription: an unknown subscriptionId or a wrong clientState is ignored and counted
//     (Stats.Unknown, Stats.Forged) without any other effect. Verified notifications become
//     Hints, handed to HintFunc after the response is written.
//
// The answer to a notification POST is 200 whenever the body was read, even when it was
// malformed or forged: any status but 2xx, 408, 429 and 5xx makes BC delete every
// subscription on the URL (§7.4). A transient failure of our own (the store does not
// answer, the Manager is closed, the body could not be read) answers 503, which BC retries
// after a minute.
func (m *Manager) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if tokens, ok := r.URL.Query()["validationToken"]; ok {
		m.handshake(w, r, tokens)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		http.Error(w, "webhook receiver: BC notifications are POSTed", http.StatusMethodNotAllowed)
		return
	}
	m.receive(w, r)
}

// handshake answers bc-entra-facts §7.2: 200 and the token as the only content of the body.
// Any caller can have a token echoed, so it is sent as text/plain with nosniff and must be
// short and printable.
func (m *Manager) handshake(w http.ResponseWriter, r *http.Request, tokens []string) {
	// The body, if any, carries the clientState (emulator/notify [DOC 2018]); it is not
	// needed here and not read beyond a bound.
	_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 64<<10))
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "webhook receiver: the validationToken handshake uses POST or GET", http.StatusMethodNotAllowed)
		return
	}
	tok := tokens[0]
	if len(tokens) != 1 || tok == "" || len(tok) > maxTokenLen || !printable(tok) {
		// Only a create or renewal can fail this way; no subscription is deleted.
		m.log.Warn("webhook handshake refused: validationToken is empty, repeated, too long or not printable",
			"remote", r.RemoteAddr, "length", len(tok))
		http.Error(w, "webhook receiver: invalid validationToken", http.StatusBadRequest)
		return
	}
	m.count(func(st *Stats) {
		st.Handshakes++
		st.LastHandshakeAt = m.clock()
	})
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, tok)
	m.log.Debug("webhook handshake answered", "remote", r.RemoteAddr)
}

func printable(s string) bool {
	for _, c := range s {
		if c < 0x20 || c == 0x7f || c == '\uFFFD' {
			return false
		}
	}
	return true
}

// receive handles a notification POST.
func (m *Manager) receive(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	closed := m.closed
	m.mu.Unlock()
	if closed {
		unavailable(w, "shutting down")
		return
	}
	now := m.clock()
	m.count(func(st *Stats) { st.Posts++; st.LastPostAt = now })

	body := &readErr{r: http.MaxBytesReader(w, r.Body, m.maxBody)}
	items, skipped, perr := parseNotifications(body)
	if perr != nil {
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(body.err, &tooBig):
			m.log.Error("webhook notification body exceeds MaxBodyBytes; the notifications after the cap are left to polling",
				"limit", m.maxBody, "parsed", len(items), "remote", r.RemoteAddr)
			m.count(func(st *Stats) { st.Malformed++ })
		case body.err != nil:
			// The body could not be read (the connection broke): ask BC to send it again.
			m.log.Warn("webhook notification body could not be read; answered 503 so BC retries",
				"err", body.err, "remote", r.RemoteAddr)
			unavailable(w, "could not read the body")
			return
		default:
			// The whole body arrived but is not BC's format: a forgery, or a format we do
			// not know. Answering 4xx would make BC delete the subscriptions if it ever were
			// BC (§7.4), so it is counted, logged and acknowledged.
			m.log.Warn("webhook notification body is not a BC notification payload; acknowledged and ignored",
				"err", perr, "parsed", len(items), "remote", r.RemoteAddr)
			m.count(func(st *Stats) { st.Malformed++ })
		}
	}
	if skipped > 0 {
		m.count(func(st *Stats) { st.Malformed += int64(skipped) })
		m.log.Warn("webhook notifications skipped: not notification objects", "count", skipped, "remote", r.RemoteAddr)
	}

	hints, accepted, err := m.verify(r.Context(), items, r.RemoteAddr)
	if err != nil {
		m.count(func(st *Stats) { st.StoreErrors++ })
		m.log.Error("webhook notifications not verified: the subscription store failed; answered 503 so BC retries",
			"err", err, "notifications", len(items))
		unavailable(w, "subscription store unavailable")
		return
	}
	// What the notifications reported goes to the store, where the instance that polls the
	// set (and counts missed notifications) reads it.
	upTo := make(map[string]time.Time, len(accepted))
	for _, h := range hints {
		at := h.At
		if at.IsZero() {
			at = now
		}
		if at.After(upTo[h.SubscriptionID]) {
			upTo[h.SubscriptionID] = at
		}
	}
	for _, id := range accepted {
		if err := m.store.NoteNotified(r.Context(), id, now, upTo[id]); err != nil && !errors.Is(err, ErrNotFound) {
			m.log.Warn("webhook: recording the notification failed", "subscriptionId", id, "err", err)
		}
	}
	w.WriteHeader(http.StatusOK)
	m.dispatch(hints)
}

// readErr remembers the first error of the underlying reader other than io.EOF, to tell a
// body that could not be read from one that is not JSON.
type readErr struct {
	r   io.Reader
	err error
}

func (b *readErr) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF && b.err == nil {
		b.err = err
	}
	return n, err
}

// unavailable answers 503, which BC retries (bc-entra-facts §7.4).
func unavailable(w http.ResponseWriter, why string) {
	w.Header().Set("Retry-After", "60")
	http.Error(w, "webhook receiver: temporarily unavailable: "+why, http.StatusServiceUnavailable)
}

// verify checks every notification against its stored subscription and returns the hints
// of the verified ones and the subscriptions they came through. Nothing is changed until
// every lookup has succeeded, so a store failure (answered 503, and BC sends the whole POST
// again) leaves no partial effects.
func (m *Manager) verify(ctx context.Context, items []notification, remote string) ([]Hint, []string, error) {
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	subs := make(map[string]*Subscription)
	for _, n := range items {
		if _, done := subs[n.SubscriptionID]; done {
			continue
		}
		if len(n.SubscriptionID) > maxSubscriptionIDLen {
			subs[n.SubscriptionID] = nil
			continue
		}
		s, err := m.store.Subscription(ctx, n.SubscriptionID)
		switch {
		case errors.Is(err, ErrNotFound):
			subs[n.SubscriptionID] = nil
		case err != nil:
			return nil, nil, err
		default:
			subs[n.SubscriptionID] = &s
		}
	}

	var hints []Hint
	var accepted []string
	var unknown, forged, removing int
	var unknownIDs, forgedIDs []string
	now := m.clock()
	m.mu.Lock()
	for _, n := range items {
		s := subs[n.SubscriptionID]
		switch {
		case s == nil:
			unknown++
			if len(unknownIDs) < 5 {
				unknownIDs = append(unknownIDs, clip(n.SubscriptionID))
			}
			continue
		case subtle.ConstantTimeCompare(hashClientState(n.ClientState), s.ClientStateHash) != 1:
			forged++
			if len(forgedIDs) < 5 {
				forgedIDs = append(forgedIDs, s.ID)
			}
			continue
		case s.State != StateActive:
			removing++
			continue
		}
		h := m.hintFor(s, n)
		st := m.trackLocked(*s)
		if st.sub.LastNotificationAt.Before(now) {
			st.sub.LastNotificationAt = now
		}
		st.notifications++
		at := h.At
		if at.IsZero() {
			at = now
		}
		if at.After(st.notifiedUpTo) {
			st.notifiedUpTo = at
		}
		if !st.awaiting.IsZero() && covers(st.notifiedUpTo, st.awaiting) {
			st.awaiting = time.Time{}
		}
		hints = append(hints, h)
		accepted = appendUnique(accepted, s.ID)
	}
	m.stats.Notifications += int64(len(items))
	m.stats.Unknown += int64(unknown + removing)
	m.stats.Forged += int64(forged)
	m.mu.Unlock()

	if unknown > 0 {
		// A subscription we deleted whose last notifications were already queued, or one
		// created by another installation on the same URL. 200 regardless: a 4xx would make
		// BC delete the other subscriptions on the URL (§7.4).
		m.log.Warn("webhook notifications for unknown subscriptions ignored", "count", unknown,
			"subscriptionIds", unknownIDs, "remote", remote)
	}
	if forged > 0 {
		m.log.Warn("webhook notifications with a wrong clientState rejected (forged or stale)", "count", forged,
			"subscriptionIds", forgedIDs, "remote", remote)
	}
	if removing > 0 {
		m.log.Debug("webhook notifications for subscriptions being removed ignored", "count", removing)
	}
	return hints, accepted, nil
}

func appendUnique(ids []string, id string) []string {
	for _, x := range ids {
		if x == id {
			return ids
		}
	}
	return append(ids, id)
}

// hintFor turns a verified notification into a Hint. The set and company come from our
// subscription, not from the notification's resource, which only supplies the record key
// and a collection's bound.
func (m *Manager) hintFor(s *Subscription, n notification) Hint {
	h := Hint{
		ConnectionID:   s.ConnectionID,
		CompanyID:      s.CompanyID,
		EntitySet:      s.EntitySet,
		SubscriptionID: s.ID,
		ChangeType:     ChangeType(strings.ToLower(n.ChangeType)),
		At:             parseTime(n.LastModifiedDateTime),
	}
	res, err := parseResource(n.Resource)
	if err != nil {
		m.log.Warn("webhook notification resource not understood; hinting the whole set",
			"subscriptionId", s.ID, "err", err)
	} else if res.EntitySet != "" && !strings.EqualFold(res.EntitySet, s.EntitySet) {
		m.log.Warn("webhook notification names another entity set than its subscription; hinting the subscribed set",
			"subscriptionId", s.ID, "entitySet", s.EntitySet, "notified", clip(res.EntitySet))
	}
	switch h.ChangeType {
	case ChangeCreated, ChangeUpdated, ChangeDeleted:
		if err == nil && res.Key != "" {
			h.ID = res.Key
			break
		}
		h.ChangeType = ChangeCollection // no usable key: the set as a whole
	case ChangeCollection:
		if err == nil {
			h.Since = res.Since
		}
	default:
		m.log.Warn("webhook notification with an unknown changeType; hinting the whole set",
			"subscriptionId", s.ID, "changeType", clip(n.ChangeType))
		h.ChangeType = ChangeCollection
	}
	return h
}

// dispatch hands hints to HintFunc from a goroutine, in order, after the response.
func (m *Manager) dispatch(hints []Hint) {
	if len(hints) == 0 {
		return
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.wg.Add(1)
	m.mu.Unlock()
	go func() {
		defer m.wg.Done()
		for _, h := range hints {
			if m.ctx.Err() != nil {
				return
			}
			m.hint(m.ctx, h)
			m.count(func(st *Stats) { st.Hints++ })
			m.log.LogAttrs(m.ctx, slog.LevelDebug, "webhook hint",
				slog.String("connection", h.ConnectionID), slog.String("entitySet", h.EntitySet),
				slog.String("changeType", string(h.ChangeType)), slog.String("id", h.ID))
		}
	}()
}
