package ui

import (
	"context"
	"fmt"
	"html/template"
	"strings"
	"sync"
	"time"

	"github.com/bizzjoiner/bcconnector/service"
	"github.com/bizzjoiner/bcconnector/store"
)

// sample is a connection's totals at one moment.
type sample struct {
	At                        time.Time
	Rows, Requests, Throttled int64
}

// sampler keeps the recent totals of each connection, taken whenever a page shows it
// (the service keeps totals, not history). The dashboard's live fragment polls every few
// seconds, so a page left open draws a steady line.
type sampler struct {
	mu     sync.Mutex
	series map[string][]sample
}

const (
	maxSamples    = 360
	minSampleStep = 2 * time.Second
)

func (s *sampler) record(id string, at time.Time, rows, requests, throttled int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ser := s.series[id]
	if n := len(ser); n > 0 && at.Sub(ser[n-1].At) < minSampleStep {
		ser[n-1] = sample{At: ser[n-1].At, Rows: rows, Requests: requests, Throttled: throttled}
		return
	}
	ser = append(ser, sample{At: at, Rows: rows, Requests: requests, Throttled: throttled})
	if len(ser) > maxSamples {
		ser = append(ser[:0:0], ser[len(ser)-maxSamples:]...)
	}
	s.series[id] = ser
}

func (s *sampler) get(id string) []sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sample(nil), s.series[id]...)
}

// chart is an inline SVG, rendered server-side.
type chart struct {
	SVG     template.HTML
	Summary string
	// Empty: the window had no rows and no requests; there is no SVG.
	Empty bool
}

// renderChart draws rows synced (line, left scale) and requests and 429s per interval
// (bars, right scale) over the samples. Each bar stands inside the interval between two
// samples, so none reaches past the plot; a window with no rows and no requests gets no
// chart but a sentence saying so.
func renderChart(ss []sample) chart {
	const w, hgt, pad = 640.0, 160.0, 28.0
	if len(ss) < 2 {
		return chart{Summary: "The chart fills in while this page is open (a point every few seconds)."}
	}
	t0, t1 := ss[0].At, ss[len(ss)-1].At
	span := t1.Sub(t0).Seconds()
	if span <= 0 {
		span = 1
	}
	var maxRows, maxReq, totalReq, total429 int64
	for i, s := range ss {
		maxRows = max(maxRows, s.Rows)
		if i > 0 {
			maxReq = max(maxReq, s.Requests-ss[i-1].Requests)
			totalReq += max(0, s.Requests-ss[i-1].Requests)
			total429 += max(0, s.Throttled-ss[i-1].Throttled)
		}
	}
	window := t1.Sub(t0).Round(time.Second)
	if maxRows == 0 && totalReq == 0 {
		return chart{Empty: true, Summary: fmt.Sprintf("Nothing to draw yet: no rows replicated and no requests to Business Central in the last %s.", window)}
	}
	// The scales: at least 1, so a flat zero line or bar sits on the axis.
	rowScale, reqScale := float64(max(maxRows, 1)), float64(max(maxReq, 1))
	x := func(t time.Time) float64 { return pad + (w-2*pad)*t.Sub(t0).Seconds()/span }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %.0f %.0f" role="img" aria-label="rows synced and requests over time">`, w, hgt)
	fmt.Fprintf(&b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" class="axis"/>`, pad, hgt-pad, w-pad, hgt-pad)
	for i := 1; i < len(ss); i++ {
		req := max(0, ss[i].Requests-ss[i-1].Requests)
		thr := max(0, ss[i].Throttled-ss[i-1].Throttled)
		// The bar takes the middle 60% of its interval (at least 1 unit wide).
		x0, x1 := x(ss[i-1].At), x(ss[i].At)
		bw := max(1, (x1-x0)*0.6)
		bx := x0 + (x1-x0-bw)/2
		rh := (hgt - 2*pad) * float64(req) / reqScale
		th := (hgt - 2*pad) * float64(thr) / reqScale
		if req > 0 {
			fmt.Fprintf(&b, `<rect class="req" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s</title></rect>`, bx, hgt-pad-rh, bw, rh, plural(req, "request", "requests"))
		}
		if thr > 0 {
			fmt.Fprintf(&b, `<rect class="thr" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%d × 429</title></rect>`, bx, hgt-pad-max(th, 2), bw, max(th, 2), thr)
		}
	}
	var pts []string
	for _, s := range ss {
		y := hgt - pad - (hgt-2*pad)*float64(s.Rows)/rowScale
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(s.At), y))
	}
	fmt.Fprintf(&b, `<polyline class="rows" points="%s"/>`, strings.Join(pts, " "))
	fmt.Fprintf(&b, `<text x="%.0f" y="16" class="lbl">%s</text>`, pad, plural(maxRows, "row", "rows"))
	fmt.Fprintf(&b, `<text x="%.0f" y="16" class="lbl" text-anchor="end">%s / interval</text>`, w-pad, plural(maxReq, "request", "requests"))
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" class="lbl">%s</text>`, pad, hgt-8, t0.UTC().Format("15:04:05"))
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" class="lbl" text-anchor="end">%s UTC</text>`, w-pad, hgt-8, t1.UTC().Format("15:04:05"))
	b.WriteString(`</svg>`)
	return chart{
		// Every value written above is a number or a formatted time: nothing to escape.
		SVG: template.HTML(b.String()),
		Summary: fmt.Sprintf("%s now; %s and %d × 429 over the last %s.", plural(ss[len(ss)-1].Rows, "row", "rows"),
			plural(totalReq, "request", "requests"), total429, window),
	}
}

// plural is n with the singular or the plural noun: "1 row", "0 rows", "2 rows".
func plural[N int | int64](n N, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

// changeTail finds the newest entries of the change log, which the service pages
// oldest-first: it remembers the highest sequence number seen and searches upward from it
// (exponentially, then by bisection) with one-entry probes.
type changeTail struct {
	mu  sync.Mutex
	top int64
}

// recentProbeLimit bounds the probes of one search.
const recentProbeLimit = 80

func (t *changeTail) recent(ctx context.Context, svc service.Service, n int, connID string) []store.Change {
	t.mu.Lock()
	defer t.mu.Unlock()
	probe := func(since int64) (int64, bool) {
		cs, _, err := svc.Changes(ctx, since, 1, 0, nil)
		if err != nil || len(cs) == 0 {
			return 0, false
		}
		return cs[0].Seq, true
	}
	lo := t.top
	if s, ok := probe(lo); ok {
		lo = s
		hi := int64(-1)
		probes := 1
		for step := int64(1); probes < recentProbeLimit; step *= 2 {
			probes++
			s, ok := probe(lo + step)
			if !ok {
				hi = lo + step
				break
			}
			lo = s
		}
		for hi > lo && probes < recentProbeLimit {
			probes++
			mid := lo + (hi-lo)/2
			if s, ok := probe(mid); ok {
				lo = s
			} else {
				hi = mid
			}
		}
		t.top = lo
	}
	// Read back a window below the top, widening it while sequence gaps or other
	// connections' entries leave too few.
	var out []store.Change
	for window := int64(n) * 4; ; window *= 4 {
		from := max(0, t.top-window)
		cs, _, err := svc.Changes(ctx, from, int(window), 0, nil)
		if err != nil {
			return nil
		}
		out = out[:0]
		for i := len(cs) - 1; i >= 0 && len(out) < n; i-- {
			if connID == "" || cs[i].ConnectionID == connID {
				out = append(out, cs[i])
			}
		}
		if len(out) >= n || from == 0 || window >= maxTailWindow {
			return out
		}
	}
}

// maxTailWindow bounds how far back recent looks for a connection's changes.
const maxTailWindow = 20000
