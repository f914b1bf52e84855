package sqlstore

import (
	"time"

	"github.com/bizzjoiner/bcconnector/store"
)

// Lease decides a store.SlotLease: others are the live leases of the other holders of the
// budget (expired ones already dropped) and mine is how many slots the holder holds now
// (0 when its lease expired). See store.BudgetStore.LeaseSlots.
func Lease(l store.SlotLease, mine int, others []store.SlotDemand) store.SlotGrant {
	held, holders := 0, 0
	all := make([]store.SlotDemand, 0, len(others)+1)
	for _, o := range others {
		held += o.Slots
		if o.Want > 0 {
			holders++
			all = append(all, o)
		}
	}
	if l.Want == 0 {
		return store.SlotGrant{Holders: holders}
	}
	holders++
	all = append(all, store.SlotDemand{Holder: l.Holder, Slots: mine, Want: l.Want})
	fair := store.AllotSlots(l.Max, all)[l.Holder]
	grant := min(l.Want, max(0, l.Max-held), max(l.Keep, fair))
	return store.SlotGrant{Slots: grant, Holders: holders, Share: fair}
}

// Reserve decides a store.RequestReservation given how many requests the live
// reservations of the span hold (used) and when the oldest of them was counted (oldest,
// Unix seconds; 0 when there is none). It returns the grant; the caller records Granted
// requests at grant.At.
func Reserve(r store.RequestReservation, used int, oldest int64) store.RequestGrant {
	at := store.ReservationSecond(r.Now)
	g := store.RequestGrant{Granted: min(r.Want, max(0, r.Limit-used)), At: unix(at)}
	if g.Granted < r.Want {
		if oldest == 0 {
			oldest = at
		}
		g.RetryAt = unix(oldest).Add(r.Span)
	}
	return g
}

// SpanStart is the first second whose reservations still count at now for a span: older
// ones have left it and are deleted.
func SpanStart(r store.RequestReservation) int64 {
	return r.Now.Add(-r.Span).Unix() + 1
}

func unix(s int64) time.Time { return time.Unix(s, 0).UTC() }
