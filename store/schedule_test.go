package store

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestScheduleValidation: every bad value is refused naming the field and the fix.
func TestScheduleValidation(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		s    Schedule
		want []string
	}{
		{Schedule{Interval: "15 minutes"}, []string{"schedule.interval", "not a duration", "15m"}},
		{Schedule{Interval: "30s"}, []string{"schedule.interval", "minimum of 1m"}},
		{Schedule{Interval: "200h"}, []string{"schedule.interval", "maximum of 168h"}},
		{Schedule{Quiet: &QuietWindow{Start: "25:00", End: "06:00", TimeZone: "UTC"}}, []string{"schedule.quiet.start", "HH:MM"}},
		{Schedule{Quiet: &QuietWindow{Start: "22:00", End: "6pm", TimeZone: "UTC"}}, []string{"schedule.quiet.end", "HH:MM"}},
		{Schedule{Quiet: &QuietWindow{Start: "22:00", End: "22:00", TimeZone: "UTC"}}, []string{"schedule.quiet", "empty"}},
		{Schedule{Quiet: &QuietWindow{Start: "22:00", End: "06:00", TimeZone: "Berlin"}}, []string{"schedule.quiet.timeZone", "IANA", "Europe/Berlin"}},
		{Schedule{Quiet: &QuietWindow{Start: "22:00", End: "06:00"}}, []string{"schedule.quiet.timeZone", "IANA"}},
		{Schedule{Quiet: &QuietWindow{Start: "22:00", End: "06:00", TimeZone: "Local"}}, []string{"schedule.quiet.timeZone"}},
	} {
		c := Connection{TenantID: "contoso.onmicrosoft.com", ClientID: "0b6e3a0c-2e1a-4b55-8d55-4a8f3d5e6c7b", Environment: "Production",
			CompanyName: "Company X", Schedule: tc.s}
		err := c.Normalize()
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: %v, want ErrInvalid", tc.s, err)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%+v: %q lacks %q", tc.s, err, w)
			}
		}
	}
	c := Connection{TenantID: "contoso.onmicrosoft.com", ClientID: "0b6e3a0c-2e1a-4b55-8d55-4a8f3d5e6c7b", Environment: "Production",
		CompanyName: "Company X", Schedule: Schedule{Interval: " 1h ", Quiet: &QuietWindow{Start: "9:00", End: "17:30", TimeZone: "Europe/Berlin"}},
		SetSchedules: map[string]Schedule{"generalLedgerEntries": {Interval: "6h"}, "customers": {}}}
	if err := c.Normalize(); err != nil {
		t.Fatal(err)
	}
	if c.Schedule.Interval != "1h" || c.Schedule.Quiet.Start != "09:00" || len(c.SetSchedules) != 1 {
		t.Errorf("normalised: %+v %+v", c.Schedule, c.SetSchedules)
	}
	if s := c.ScheduleFor("generalLedgerEntries"); s.Every() != 6*time.Hour || s.Quiet == nil {
		t.Errorf("a set's schedule inherits the quiet window and overrides the interval: %+v", s)
	}
	if s := c.ScheduleFor("customers"); s.Every() != time.Hour {
		t.Errorf("a set without its own schedule has the connection's: %+v", s)
	}
	c.SetSchedules = map[string]Schedule{"bad set": {Interval: "1h"}}
	if err := c.Normalize(); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "setSchedules") {
		t.Errorf("a set name with a space: %v", err)
	}
	c.SetSchedules = map[string]Schedule{"items": {Interval: "1x"}}
	if err := c.Normalize(); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "setSchedules.items.interval") {
		t.Errorf("a set's bad interval: %v", err)
	}
}

// TestQuietWindowUntil: inside the window Until is its end, outside zero; a window over
// midnight, and one in a zone whose clocks change (Europe/Berlin, 29 March 2026: 02:00
// becomes 03:00), follow the customer's wall clock.
func TestQuietWindowUntil(t *testing.T) {
	t.Parallel()
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	day := &QuietWindow{Start: "09:00", End: "17:00", TimeZone: "Europe/Berlin"}
	night := &QuietWindow{Start: "22:00", End: "06:00", TimeZone: "Europe/Berlin"}
	at := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, berlin) }
	for _, tc := range []struct {
		q    *QuietWindow
		t    time.Time
		want time.Time
	}{
		{day, at(2026, 12, 3, 8, 59), time.Time{}},
		{day, at(2026, 12, 3, 9, 0), at(2026, 12, 3, 17, 0)},
		{day, at(2026, 12, 3, 16, 59), at(2026, 12, 3, 17, 0)},
		{day, at(2026, 12, 3, 17, 0), time.Time{}},
		{night, at(2026, 12, 3, 21, 59), time.Time{}},
		{night, at(2026, 12, 3, 22, 0), at(2026, 12, 4, 6, 0)},
		{night, at(2026, 12, 4, 3, 0), at(2026, 12, 4, 6, 0)},
		{night, at(2026, 12, 4, 6, 0), time.Time{}},
		// The night the clocks go forward the window is an hour shorter in UTC.
		{night, at(2026, 3, 28, 23, 0), at(2026, 3, 29, 6, 0)},
		{night, time.Date(2026, 3, 29, 3, 59, 0, 0, time.UTC), at(2026, 3, 29, 6, 0)},
		{night, time.Date(2026, 3, 29, 4, 0, 0, 0, time.UTC), time.Time{}}, // 06:00 CEST
		// A UTC instant is read in the customer's zone: 21:30 UTC is 22:30 in Berlin.
		{night, time.Date(2026, 12, 3, 21, 30, 0, 0, time.UTC), at(2026, 12, 4, 6, 0)},
	} {
		if got := tc.q.Until(tc.t); !got.Equal(tc.want) {
			t.Errorf("%s–%s at %v: until %v, want %v", tc.q.Start, tc.q.End, tc.t, got, tc.want)
		}
	}
}

// FuzzSchedule: any interval and window text is accepted or refused with ErrInvalid,
// never a panic; accepted ones normalise to themselves and Until stays inside a day.
func FuzzSchedule(f *testing.F) {
	f.Add("15m", "22:00", "06:00", "Europe/Berlin")
	f.Add("1h", "9:00", "17:30", "America/New_York")
	f.Add("", "24:00", "0:00", "UTC")
	f.Fuzz(func(t *testing.T, interval, start, end, zone string) {
		s := Schedule{Interval: interval, Quiet: &QuietWindow{Start: start, End: end, TimeZone: zone}}
		if err := s.normalize("schedule"); err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		once := *s.Quiet
		if err := s.normalize("schedule"); err != nil || *s.Quiet != once {
			t.Fatalf("not idempotent: %v %+v %+v", err, *s.Quiet, once)
		}
		now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
		if u := s.Quiet.Until(now); !u.IsZero() && (!u.After(now) || u.Sub(now) > 25*time.Hour) {
			t.Fatalf("until %v from %v", u, now)
		}
	})
}
