package webhook

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"
	"time"
)

// coverSlack is how much older than a change a notification's lastModifiedDateTime may be
// and still count as reporting it: BC's datetimes are rounded differently by SQL and AL, and
// BC's own webhook code allows 50 ms (bc-entra-facts §8).
const coverSlack = time.Second

// Stats are the Manager's counters since it was created, and the state of the
// subscriptions it has seen (through Ensure, a notification or polling) in this process.
// With several instances each counts what it did (sum them); what the instances must agree
// on lives in the store: the subscriptions, what notifications reported (NotifiedUpTo) and
// the missed notifications (MissedCount).
type Stats struct {
	// Posts counts notification POSTs received (handshakes excluded).
	Posts int64
	// Notifications counts the notifications in them.
	Notifications int64
	// Handshakes counts validationToken handshakes answered.
	Handshakes int64
	// Forged counts notifications for a known subscription with a wrong clientState,
	// rejected without any effect.
	Forged int64
	// Unknown counts notifications for a subscription no store knows, or one being
	// removed; acknowledged and ignored.
	Unknown int64
	// Malformed counts bodies that were not a notification payload and elements of "value"
	// that were not notifications.
	Malformed int64
	// StoreErrors counts POSTs answered 503 because the store failed.
	StoreErrors int64
	// Hints counts hints handed to HintFunc.
	Hints int64
	// Missed counts changes that polling found (ObservedChange) and that no notification
	// reported within Options.MissedAfter.
	Missed int64
	// Created, Renewed, Deleted count successful subscription operations.
	Created, Renewed, Deleted int64
	// Lost counts subscriptions BC deleted or let expire; Recreated those subscribed again.
	Lost, Recreated int64
	// LastPostAt and LastHandshakeAt are when the last notification POST and handshake
	// arrived (our clock).
	LastPostAt, LastHandshakeAt time.Time
	// Subscriptions is the state of each tracked subscription, ordered by connection,
	// company and entity set.
	Subscriptions []SubscriptionStatus
}

// SubscriptionStatus is a tracked subscription with its notification counters.
type SubscriptionStatus struct {
	// Subscription is the stored subscription (ClientStateHash left out).
	Subscription
	// Notifications counts verified notifications in this process.
	Notifications int64
	// Missed counts changes polling found that no notification reported.
	Missed int64
	// LastMissedAt is when the last missed notification was counted; zero if never.
	LastMissedAt time.Time
	// AwaitingSince is the change time (BC's clock) of the oldest change polling found that
	// no notification has reported yet; zero if none is pending.
	AwaitingSince time.Time
}

// setState is the in-process state of one subscribed entity set. It outlives a subscription
// that BC deleted and Ensure re-created, so its counters tell the set's whole story.
type setState struct {
	sub           Subscription // the current subscription; ID "" while none
	notifications int64
	missed        int64
	lastMissedAt  time.Time
	notifiedUpTo  time.Time // newest change time (BC's clock) a verified notification reported
	awaiting      time.Time // oldest change time polling found that no notification covered
}

func (m *Manager) count(f func(*Stats)) {
	m.mu.Lock()
	f(&m.stats)
	m.mu.Unlock()
}

func (m *Manager) handshakeCount() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stats.Handshakes
}

// track records s as the current subscription of its set.
func (m *Manager) track(s Subscription) {
	m.mu.Lock()
	m.trackLocked(s)
	m.mu.Unlock()
}

func (m *Manager) trackLocked(s Subscription) *setState {
	k := keyOf(s)
	st, ok := m.sets[k]
	if !ok {
		st = &setState{}
		m.sets[k] = st
	}
	if st.sub.ID != s.ID {
		if st.sub.ID != "" {
			delete(m.byID, st.sub.ID)
		}
		st.sub = s.Clone()
	} else {
		last := st.sub.LastNotificationAt
		st.sub = s.Clone()
		if last.After(st.sub.LastNotificationAt) {
			st.sub.LastNotificationAt = last
		}
	}
	st.sub.ClientStateHash = nil // not needed here; the store has it
	m.byID[s.ID] = k
	return st
}

// untrack forgets a subscription; drop also forgets its set's counters (the set is no longer
// wanted), otherwise they wait for the re-created subscription. A set whose current
// subscription is another one (a duplicate being deleted) is left alone.
func (m *Manager) untrack(id string, drop bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k, ok := m.byID[id]
	if !ok {
		return
	}
	delete(m.byID, id)
	st := m.sets[k]
	if st == nil || st.sub.ID != id {
		return
	}
	if drop {
		delete(m.sets, k)
		return
	}
	st.sub = Subscription{}
	st.awaiting = time.Time{}
}

// covers reports whether a notification up to notified reports a change at at.
func covers(notified, at time.Time) bool {
	return !notified.IsZero() && !notified.Before(at.Add(-coverSlack))
}

// ObservedChange tells the Manager that polling found changes in an entity set; at is the
// lastModifiedDateTime (BC's clock) of the newest change found. If the set has an active
// subscription that existed at that time and no notification reports the change within
// Options.MissedAfter, the change counts as a missed notification (Stats.Missed, Silent,
// and the subscription's MissedCount in the store): the sign of a subscription that is
// dying silently or of BC not notifying (job queue, permissions; peers-and-user-pain §3).
// Several instances share the work: the subscription may have been made by another
// instance (it is read from the store), and a notification another instance received
// counts (the store's NotifiedUpTo). Sets without a subscription are ignored.
func (m *Manager) ObservedChange(connectionID, companyID, entitySet string, at time.Time) {
	if at.IsZero() {
		return
	}
	at = at.UTC()
	k := setKey{connectionID, strings.ToLower(companyID), strings.ToLower(entitySet)}
	m.mu.Lock()
	_, known := m.sets[k]
	m.mu.Unlock()
	if !known {
		m.adopt(k)
	}
	m.mu.Lock()
	st, ok := m.sets[k]
	if ok && st.sub.ID != "" && st.sub.State == StateActive && !at.Before(st.sub.CreatedAt) && !covers(st.notifiedUpTo, at) {
		if st.awaiting.IsZero() || at.Before(st.awaiting) {
			st.awaiting = at
		}
	}
	m.mu.Unlock()
	m.sweep()
}

// adopt tracks the stored active subscription of a set that this process has not seen
// (another instance created it, or received its notifications).
func (m *Manager) adopt(k setKey) {
	ctx, cancel := context.WithTimeout(m.ctx, 10*time.Second)
	defer cancel()
	subs, err := m.store.Subscriptions(ctx, k.conn)
	if err != nil {
		m.log.Warn("webhook: reading stored subscriptions failed", "connection", k.conn, "err", err)
		return
	}
	for _, s := range subs {
		if keyOf(s) == k && s.State == StateActive {
			m.mu.Lock()
			st := m.trackLocked(s)
			if s.NotifiedUpTo.After(st.notifiedUpTo) {
				st.notifiedUpTo = s.NotifiedUpTo
			}
			m.mu.Unlock()
			return
		}
	}
}

// overdue is an awaited change whose notification is late.
type overdue struct {
	k        setKey
	id       string
	awaiting time.Time
}

// sweep counts the awaited changes whose notification is overdue as missed, unless the
// store shows that a notification covering them reached another instance.
func (m *Manager) sweep() {
	now := m.clock()
	var due []overdue
	m.mu.Lock()
	for k, st := range m.sets {
		if !st.awaiting.IsZero() && now.Sub(st.awaiting) > m.missedAfter {
			due = append(due, overdue{k, st.sub.ID, st.awaiting})
		}
	}
	m.mu.Unlock()
	for _, d := range due {
		ctx, cancel := context.WithTimeout(m.ctx, 10*time.Second)
		stored, err := m.store.Subscription(ctx, d.id)
		cancel()
		if err != nil && !errors.Is(err, ErrNotFound) {
			m.log.Warn("webhook: reading a stored subscription failed; the missed check waits", "subscriptionId", d.id, "err", err)
			continue
		}
		missed := false
		m.mu.Lock()
		st := m.sets[d.k]
		if st != nil && st.sub.ID == d.id && st.awaiting.Equal(d.awaiting) {
			switch {
			case err != nil: // deleted meanwhile
				st.awaiting = time.Time{}
			case covers(stored.NotifiedUpTo, d.awaiting): // another instance was notified
				st.notifiedUpTo = stored.NotifiedUpTo
				st.awaiting = time.Time{}
			default:
				missed = true
				st.missed++
				st.lastMissedAt = now
				m.stats.Missed++
				m.log.Warn("webhook notification missed: polling found a change that BC did not notify",
					"connection", d.k.conn, "company", d.k.company, "entitySet", st.sub.EntitySet,
					"subscriptionId", st.sub.ID, "changedAt", st.awaiting, "lastNotificationAt", stored.LastNotificationAt)
				st.awaiting = time.Time{}
			}
		}
		m.mu.Unlock()
		if missed {
			ctx, cancel := context.WithTimeout(m.ctx, 10*time.Second)
			if err := m.store.NoteMissed(ctx, d.id, now); err != nil && !errors.Is(err, ErrNotFound) {
				m.log.Warn("webhook: recording a missed notification failed", "subscriptionId", d.id, "err", err)
			}
			cancel()
		}
	}
}

// Stats returns a snapshot of the counters and of the tracked subscriptions.
func (m *Manager) Stats() Stats {
	m.sweep()
	m.mu.Lock()
	defer m.mu.Unlock()
	out := m.stats
	out.Subscriptions = m.statusesLocked(func(*setState) bool { return true })
	return out
}

// Silent returns the tracked subscriptions that missed a notification within the last
// window: polling found a change that BC never notified. Such a subscription may have been
// deleted by BC, or BC may not notify the changes of some users (§7.3); polling keeps the
// data right, and the report says to look.
func (m *Manager) Silent(window time.Duration) []SubscriptionStatus {
	m.sweep()
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.clock()
	return m.statusesLocked(func(st *setState) bool {
		return !st.lastMissedAt.IsZero() && now.Sub(st.lastMissedAt) <= window
	})
}

func (m *Manager) statusesLocked(keep func(*setState) bool) []SubscriptionStatus {
	var out []SubscriptionStatus
	for _, st := range m.sets {
		if st.sub.ID == "" || !keep(st) {
			continue
		}
		out = append(out, SubscriptionStatus{
			Subscription:  st.sub.Clone(),
			Notifications: st.notifications,
			Missed:        st.missed,
			LastMissedAt:  st.lastMissedAt,
			AwaitingSince: st.awaiting,
		})
	}
	slices.SortFunc(out, func(a, b SubscriptionStatus) int {
		return cmp.Or(cmp.Compare(a.ConnectionID, b.ConnectionID), cmp.Compare(a.CompanyID, b.CompanyID),
			cmp.Compare(a.EntitySet, b.EntitySet))
	})
	return out
}
