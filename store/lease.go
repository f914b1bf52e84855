package store

import (
	"context"
	"time"
)

// LeaseStore grants named leases to one holder at a time, for work that one instance
// among several should do (serve's per-connection metrics gauges). A lease that is not
// renewed lapses, so a dead holder's work is taken over within its TTL.
type LeaseStore interface {
	// TryLease makes holder the holder of the lease name until now+ttl when the lease is
	// free, has lapsed (its expiry is not after now) or is holder's already, and reports
	// whether holder holds it. now is the caller's clock: instances whose clocks differ by
	// more than a small part of ttl may overlap or leave a gap. Empty name or holder, or a
	// ttl that is not positive, yield ErrInvalid.
	TryLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error)
}
