package throttle

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"
)

// Latency models BC's server time for one request: a fixed overhead plus a cost per row
// returned or written. The caller sleeps Cost(rows) while it holds a processing slot from
// [Limiter.Acquire], so that slow pages also hold back the requests queued behind them, as
// on BC. The zero value costs nothing.
type Latency struct {
	Overhead time.Duration // per request
	PerRow   time.Duration // per row in the response (or written)
}

// Latency profiles by name, for ParseLatencyProfile (PRODUCT.md "BC's limits").
var profiles = []struct {
	name string
	lat  Latency
}{
	{"off", Latency{}},
	{"reference", Latency{Overhead: 150 * time.Millisecond, PerRow: 250 * time.Microsecond}},
	{"scaled", Latency{Overhead: 15 * time.Millisecond, PerRow: 25 * time.Microsecond}},
}

// ParseLatencyProfile returns the latency model named name:
//
//	off        no latency (unit tests)
//	reference  150 ms per request + 0.25 ms per row (stands in for BC online in benchmarks)
//	scaled     15 ms + 25 µs per row: reference scaled down 10x for quick benchmarks
//
// or a custom model written "<overhead>+<per-row>/row" with Go durations, e.g.
// "50ms+0.1ms/row". Names are case-insensitive; an empty name means "off".
func ParseLatencyProfile(name string) (Latency, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	if n == "" {
		return Latency{}, nil
	}
	for _, p := range profiles {
		if n == p.name {
			return p.lat, nil
		}
	}
	if over, perRow, ok := strings.Cut(n, "+"); ok {
		if rowDur, ok := strings.CutSuffix(perRow, "/row"); ok {
			o, err1 := time.ParseDuration(strings.TrimSpace(over))
			r, err2 := time.ParseDuration(strings.TrimSpace(rowDur))
			if err1 == nil && err2 == nil && o >= 0 && r >= 0 {
				return Latency{Overhead: o, PerRow: r}, nil
			}
		}
	}
	return Latency{}, fmt.Errorf("throttle: unknown latency profile %q: use off, reference, scaled, "+
		"or <overhead>+<per-row>/row with Go durations such as 50ms+0.1ms/row", name)
}

// Cost returns the server time of a request that returns or writes rows rows (negative
// counts as zero). It saturates instead of overflowing.
func (l Latency) Cost(rows int) time.Duration {
	if rows < 0 {
		rows = 0
	}
	perRow := time.Duration(0)
	if l.PerRow > 0 && rows > 0 {
		if int64(rows) > math.MaxInt64/int64(l.PerRow) {
			return math.MaxInt64
		}
		perRow = time.Duration(rows) * l.PerRow
	}
	if l.Overhead > 0 && perRow > math.MaxInt64-l.Overhead {
		return math.MaxInt64
	}
	return max(l.Overhead, 0) + perRow
}

// Wait sleeps Cost(rows), or until ctx ends, whichever comes first; it returns ctx's error in
// the latter case. It uses time.NewTimer, so testing/synctest controls it.
func (l Latency) Wait(ctx context.Context, rows int) error {
	d := l.Cost(rows)
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// String returns the model in ParseLatencyProfile's custom syntax, or "off".
func (l Latency) String() string {
	if l == (Latency{}) {
		return "off"
	}
	return l.Overhead.String() + "+" + l.PerRow.String() + "/row"
}
