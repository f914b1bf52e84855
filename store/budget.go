package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// BudgetStore keeps BC's per-app limits (bc-entra-facts §5: 5 requests processing at once
// and 6,000 per 5-minute sliding window, per user and environment, and every Entra app is
// its own user) as one budget that every process on the database spends: each serve
// instance and each CLI command. Package budget holds a process's share of it.
//
// Both methods run in one transaction that serialises every call of the same budget
// (SQLite: the single writer; PostgreSQL: a row lock on the budget), so two processes never
// hand out the same slot or the same requests. Times are the caller's clock: the callers
// must agree on the time to within a small fraction of the lease TTL (NTP does).
type BudgetStore interface {
	// LeaseSlots sets how many of the budget's Max processing slots lease.Holder holds,
	// until lease.Now + lease.TTL, and returns that number. It first drops the leases of
	// every holder that expired (a crashed process's slots come back after one TTL). The
	// holder gets at most Want and at most the slots no other live holder holds; while
	// other holders want slots too, it gets at most its fair share (Max divided among the
	// wants of all live holders, see AllotSlots) unless it needs more to Keep the slots it
	// is using. Want 0 gives all slots back. ErrInvalid names a bad field.
	LeaseSlots(ctx context.Context, lease SlotLease) (SlotGrant, error)
	// ReserveRequests reserves up to r.Want requests of the budget's r.Limit per r.Span,
	// counted at r.Now (rounded up to the second), and returns how many it granted. When it
	// grants fewer than asked, RetryAt says when the oldest reservation leaves the span.
	// ErrInvalid names a bad field.
	ReserveRequests(ctx context.Context, r RequestReservation) (RequestGrant, error)
	// ReturnRequests gives back n requests of a reservation granted at the grant's At that
	// were never sent, so they do not count against the budget. Returning more than was
	// reserved at At, or after At left the span, is harmless.
	ReturnRequests(ctx context.Context, key BudgetKey, at time.Time, n int) error
}

// BudgetKey names one budget: an Entra app (tenant and client ID) in one BC environment.
type BudgetKey struct {
	TenantID, ClientID, Environment string
}

// String returns the key as it is stored: tenant, client ID and environment in lower case,
// separated by "|" (GUIDs and BC's environment names are case-insensitive).
func (k BudgetKey) String() string {
	return strings.ToLower(k.TenantID + "|" + k.ClientID + "|" + k.Environment)
}

// Validate checks that every part of the key is set. Its error wraps ErrInvalid.
func (k BudgetKey) Validate() error {
	switch {
	case strings.TrimSpace(k.TenantID) == "":
		return fmt.Errorf("%w: budget key has no TenantID; use the connection's tenant", ErrInvalid)
	case strings.TrimSpace(k.ClientID) == "":
		return fmt.Errorf("%w: budget key has no ClientID; use the connection's client ID", ErrInvalid)
	case strings.TrimSpace(k.Environment) == "":
		return fmt.Errorf("%w: budget key has no Environment; use the connection's environment", ErrInvalid)
	}
	return nil
}

// SlotLease is a holder's request for processing slots of a budget.
type SlotLease struct {
	Key BudgetKey
	// Holder names the process (unique per process run, e.g. host, pid and a random part).
	Holder string
	// Keep is how many slots the holder is using (requests in flight); it keeps them even
	// above its fair share. 0 <= Keep <= Want.
	Keep int
	// Want is how many slots the holder would use now (in use plus waiting), 0..Max.
	Want int
	// Max is the budget's number of slots (BC: 5).
	Max int
	// Now is the caller's time; the lease lasts until Now + TTL.
	Now time.Time
	TTL time.Duration
}

// Validate checks the lease's fields. Its error wraps ErrInvalid and names the field.
func (l SlotLease) Validate() error {
	if err := l.Key.Validate(); err != nil {
		return err
	}
	switch {
	case strings.TrimSpace(l.Holder) == "":
		return fmt.Errorf("%w: slot lease has no Holder; name the process", ErrInvalid)
	case l.Max <= 0:
		return fmt.Errorf("%w: slot lease Max is %d; give the budget's slots (BC: 5)", ErrInvalid, l.Max)
	case l.Want < 0 || l.Want > l.Max:
		return fmt.Errorf("%w: slot lease Want is %d; it must be 0..Max (%d)", ErrInvalid, l.Want, l.Max)
	case l.Keep < 0 || l.Keep > l.Want:
		return fmt.Errorf("%w: slot lease Keep is %d; it must be 0..Want (%d)", ErrInvalid, l.Keep, l.Want)
	case l.TTL <= 0:
		return fmt.Errorf("%w: slot lease TTL is %s; give a positive duration", ErrInvalid, l.TTL)
	case l.Now.IsZero():
		return fmt.Errorf("%w: slot lease has no Now; give the caller's time", ErrInvalid)
	}
	return nil
}

// SlotDemand is one live holder's lease as AllotSlots sees it.
type SlotDemand struct {
	Holder string
	Slots  int // held now
	Want   int
}

// AllotSlots divides max slots among the holders' wants by water-filling: one slot at a
// time to each holder that wants more, in turns, so no holder gets more than it wants and
// the rest is divided evenly. In each turn the holder that holds more now goes first (then
// by name), so a slot left over from an uneven division stays where it is and shares do
// not flap. It returns each holder's fair share. Both SQL stores lease by it.
func AllotSlots(max int, holders []SlotDemand) map[string]int {
	hs := slices.Clone(holders)
	slices.SortFunc(hs, func(a, b SlotDemand) int {
		if c := cmp.Compare(b.Slots, a.Slots); c != 0 {
			return c
		}
		return strings.Compare(a.Holder, b.Holder)
	})
	out := make(map[string]int, len(hs))
	for _, h := range hs {
		out[h.Holder] = 0
	}
	for left := max; left > 0; {
		gave := false
		for _, h := range hs {
			if left > 0 && out[h.Holder] < h.Want {
				out[h.Holder]++
				left--
				gave = true
			}
		}
		if !gave {
			break
		}
	}
	return out
}

// SlotGrant is what LeaseSlots granted.
type SlotGrant struct {
	// Slots is how many slots the holder holds now (0..Want).
	Slots int
	// Holders is how many live holders want slots, this one included when Want > 0.
	Holders int
	// Share is the holder's fair share (see AllotSlots; 0 when Want is 0). Slots above it
	// are slots the holder keeps only because it uses them (Keep): it should give each
	// back as its request ends, so the holders that wait get theirs.
	Share int
}

// RequestReservation asks for a block of requests from a budget's rate limit.
type RequestReservation struct {
	Key BudgetKey
	// Want is how many requests to reserve (> 0).
	Want int
	// Limit is how many requests the budget allows per Span (> 0).
	Limit int
	// Span is how long a reservation counts: BC's window plus the longest time a reserved
	// request may wait before it is sent, plus a second for rounding, so a request counts
	// here at least as long as BC counts it.
	Span time.Duration
	// Now is the caller's time.
	Now time.Time
}

// Validate checks the reservation's fields. Its error wraps ErrInvalid and names the field.
func (r RequestReservation) Validate() error {
	if err := r.Key.Validate(); err != nil {
		return err
	}
	switch {
	case r.Want <= 0:
		return fmt.Errorf("%w: request reservation Want is %d; ask for at least one request", ErrInvalid, r.Want)
	case r.Limit <= 0:
		return fmt.Errorf("%w: request reservation Limit is %d; give the budget's requests per span (e.g. 5,400)", ErrInvalid, r.Limit)
	case r.Span < time.Second:
		return fmt.Errorf("%w: request reservation Span is %s; give at least a second (BC's window is 5 minutes)", ErrInvalid, r.Span)
	case r.Now.IsZero():
		return fmt.Errorf("%w: request reservation has no Now; give the caller's time", ErrInvalid)
	}
	return nil
}

// ReservationSecond is the second a reservation at now is counted in: now rounded up to
// the second, so that it counts a little longer, never shorter, than the requests it
// covers.
func ReservationSecond(now time.Time) int64 {
	s := now.Unix()
	if now.Nanosecond() > 0 {
		s++
	}
	return s
}

// RequestGrant is what ReserveRequests granted.
type RequestGrant struct {
	// Granted is how many requests were reserved (0..Want).
	Granted int
	// At is when they count (Now rounded up to the second); pass it to ReturnRequests.
	At time.Time
	// RetryAt, when Granted < Want, is when the oldest reservation leaves the span.
	RetryAt time.Time
}
