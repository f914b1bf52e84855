package store

import (
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // IANA time zones are checked the same on every machine, with or without a zoneinfo database
)

// Schedule says when the scheduler starts a connection's passes (Connection.Schedule) or
// an entity set's (Connection.SetSchedules). Empty fields inherit: a set's from its
// connection's, a connection's from serve's --interval (and no quiet window).
type Schedule struct {
	// Interval is the time between two passes, a Go duration such as "15m" or "1h30m",
	// from MinScheduleInterval to MaxScheduleInterval; empty inherits.
	Interval string `json:"interval,omitempty"`
	// Quiet is a window of the customer's day in which no scheduled pass starts; nil
	// inherits.
	Quiet *QuietWindow `json:"quiet,omitempty"`
}

// QuietWindow is a daily window, in the customer's time zone, in which the scheduler
// starts no pass (say, BC's busiest hours or its maintenance window): a pass due inside
// it starts after its end, at the target's own moment, so targets are spread after the
// window as before it. Start after End spans midnight (22:00–06:00). Passes a person
// starts (the API's or the UI's sync, the CLI) are not held back.
type QuietWindow struct {
	// Start and End are wall-clock times "HH:MM" (24-hour) in TimeZone.
	Start string `json:"start"`
	End   string `json:"end"`
	// TimeZone is an IANA time zone name such as "Europe/Berlin" or "America/New_York";
	// daylight saving time moves the window with the customer's clock.
	TimeZone string `json:"timeZone"`
}

// The bounds of Schedule.Interval. Polling a set more often than once a minute costs BC
// requests without much gain (webhooks bring changes within seconds); a week is the
// longest a replica should go without a pass.
const (
	MinScheduleInterval = time.Minute
	MaxScheduleInterval = 7 * 24 * time.Hour
)

// Every returns the interval as a duration; zero when it inherits (or is not valid).
func (s Schedule) Every() time.Duration {
	d, err := time.ParseDuration(s.Interval)
	if err != nil {
		return 0
	}
	return d
}

// IsZero reports whether the schedule inherits everything.
func (s Schedule) IsZero() bool { return s.Interval == "" && s.Quiet == nil }

// ScheduleFor returns the schedule of an entity set of the connection: the set's own
// fields, else the connection's. An empty Interval means serve's --interval.
func (c *Connection) ScheduleFor(entitySet string) Schedule {
	s := c.Schedule
	if o, ok := c.SetSchedules[entitySet]; ok {
		if o.Interval != "" {
			s.Interval = o.Interval
		}
		if o.Quiet != nil {
			s.Quiet = o.Quiet
		}
	}
	return s
}

// normalize trims and checks the schedule; field names it in errors ("schedule",
// "setSchedules.customers").
func (s *Schedule) normalize(field string) error {
	s.Interval = strings.TrimSpace(s.Interval)
	if s.Interval != "" {
		d, err := time.ParseDuration(s.Interval)
		switch {
		case err != nil:
			return invalid("%s.interval: %q is not a duration; give one such as 15m, 1h or 24h", field, s.Interval)
		case d < MinScheduleInterval:
			return invalid("%s.interval: %s is shorter than the minimum of 1m; give 1m or more (webhooks, serve --public-url, bring changes within seconds)", field, s.Interval)
		case d > MaxScheduleInterval:
			return invalid("%s.interval: %s is longer than the maximum of 168h (a week); give 168h or less", field, s.Interval)
		}
	}
	if s.Quiet != nil {
		q := *s.Quiet // a copy: the caller's window stays as it was
		if err := q.normalize(field + ".quiet"); err != nil {
			return err
		}
		s.Quiet = &q
	}
	return nil
}

func (q *QuietWindow) normalize(field string) error {
	q.Start, q.End, q.TimeZone = strings.TrimSpace(q.Start), strings.TrimSpace(q.End), strings.TrimSpace(q.TimeZone)
	for _, f := range []struct {
		name string
		v    *string
	}{{"start", &q.Start}, {"end", &q.End}} {
		m, ok := clockMinutes(*f.v)
		if !ok {
			return invalid("%s.%s: %q is not a time of day; give it as HH:MM on a 24-hour clock, e.g. 22:00", field, f.name, *f.v)
		}
		*f.v = fmt.Sprintf("%02d:%02d", m/60, m%60)
	}
	if q.Start == q.End {
		return invalid("%s: start and end are both %s, so the window is empty; give an end other than the start (an end before the start spans midnight)", field, q.Start)
	}
	if _, err := q.Location(); err != nil {
		return invalid("%s.timeZone: %v", field, err)
	}
	return nil
}

// Location loads the window's time zone; its error says how to name one.
func (q *QuietWindow) Location() (*time.Location, error) {
	if q.TimeZone == "" || strings.EqualFold(q.TimeZone, "Local") {
		return nil, fmt.Errorf("%q is not an IANA time zone name; give the customer's, such as Europe/Berlin, America/New_York or UTC", q.TimeZone)
	}
	loc, err := time.LoadLocation(q.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("%q is not an IANA time zone name; give the customer's, such as Europe/Berlin, America/New_York or UTC (names are case-sensitive)", q.TimeZone)
	}
	return loc, nil
}

// clockMinutes reads "H:MM" or "HH:MM" (00:00–23:59) as minutes after midnight.
func clockMinutes(s string) (int, bool) {
	h, m, ok := strings.Cut(s, ":")
	if !ok || len(h) < 1 || len(h) > 2 || len(m) != 2 {
		return 0, false
	}
	var hh, mm int
	for _, c := range h {
		if c < '0' || c > '9' {
			return 0, false
		}
		hh = hh*10 + int(c-'0')
	}
	for _, c := range m {
		if c < '0' || c > '9' {
			return 0, false
		}
		mm = mm*10 + int(c-'0')
	}
	if hh > 23 || mm > 59 {
		return 0, false
	}
	return hh*60 + mm, true
}

// parsed returns the window's time zone and its start and end in minutes after midnight;
// false when it is not valid.
func (q *QuietWindow) parsed() (loc *time.Location, start, end int, ok bool) {
	loc, err := q.Location()
	if err != nil {
		return nil, 0, 0, false
	}
	start, ok1 := clockMinutes(q.Start)
	end, ok2 := clockMinutes(q.End)
	return loc, start, end, ok1 && ok2 && start != end
}

// Until returns the end of the window when t is inside it, else the zero time. The
// window's times are read on t's day in the window's time zone (a wall-clock time that
// daylight saving skips counts as the moment after the jump).
func (q *QuietWindow) Until(t time.Time) time.Time {
	loc, start, end, ok := q.parsed()
	if !ok {
		return time.Time{}
	}
	lt := t.In(loc)
	at := func(day, minutes int) time.Time {
		return time.Date(lt.Year(), lt.Month(), lt.Day()+day, minutes/60, minutes%60, 0, 0, loc)
	}
	if start < end { // 09:00–17:00
		if s, e := at(0, start), at(0, end); !t.Before(s) && t.Before(e) {
			return e
		}
		return time.Time{}
	}
	// 22:00–06:00: from today's start to tomorrow's end, or from yesterday's start to today's end.
	if !t.Before(at(0, start)) {
		return at(1, end)
	}
	if e := at(0, end); t.Before(e) {
		return e
	}
	return time.Time{}
}

// NextStart returns the first start of the window after t (on t's day or the next, in
// the window's time zone), or the zero time when the window is not valid. A pass running
// then stops at its next page boundary (syncer.Worker).
func (q *QuietWindow) NextStart(t time.Time) time.Time {
	loc, start, _, ok := q.parsed()
	if !ok {
		return time.Time{}
	}
	lt := t.In(loc)
	for day := range 3 { // a day that daylight saving shortens may put tomorrow's start first
		if s := time.Date(lt.Year(), lt.Month(), lt.Day()+day, start/60, start%60, 0, 0, loc); s.After(t) {
			return s
		}
	}
	return time.Time{}
}
