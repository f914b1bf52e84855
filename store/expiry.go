package store

import (
	"math"
	"time"
)

// ExpiryLevel is how urgently a client secret needs replacing.
type ExpiryLevel string

// The expiry levels, from none to expired. The numbered levels mean "within that many
// days"; warn once per level change (at 30, 14 and 3 days).
const (
	ExpiryNone    ExpiryLevel = ""
	Expiry30      ExpiryLevel = "30"
	Expiry14      ExpiryLevel = "14"
	Expiry3       ExpiryLevel = "3"
	ExpiryExpired ExpiryLevel = "expired"
)

// ExpiryWarning returns the warning level for a secret ending at end, seen at now, and
// the whole days left (rounded down; negative once expired, e.g. -1 on the first day
// after). A zero end (unknown) yields ExpiryNone and 0. A secret is expired from its end
// instant on; it is at level "3" when at most 3×24 hours remain, "14" at most 14 days,
// "30" at most 30 days.
func ExpiryWarning(end, now time.Time) (level ExpiryLevel, daysLeft int) {
	if end.IsZero() {
		return ExpiryNone, 0
	}
	left := end.Sub(now)
	days := int(math.Floor(left.Hours() / 24))
	const day = 24 * time.Hour
	switch {
	case left <= 0:
		return ExpiryExpired, min(days, -1)
	case left <= 3*day:
		return Expiry3, days
	case left <= 14*day:
		return Expiry14, days
	case left <= 30*day:
		return Expiry30, days
	}
	return ExpiryNone, days
}
