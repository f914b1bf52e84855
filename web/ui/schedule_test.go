package ui

import (
	"strings"
	"testing"

	"github.com/bizzjoiner/bcconnector/store"
)

// TestParseSetSchedule: a set's line of the schedule form, with an interval, a quiet
// window or both; a malformed line is refused quoting it with the expected form.
func TestParseSetSchedule(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		line, set string
		want      store.Schedule
	}{
		{"customers=6h", "customers", store.Schedule{Interval: "6h"}},
		{" customers = 6h quiet 22:00-06:00 Europe/Berlin ", "customers", store.Schedule{Interval: "6h", Quiet: &store.QuietWindow{Start: "22:00", End: "06:00", TimeZone: "Europe/Berlin"}}},
		{"customers=quiet 1:00-5:00 UTC", "customers", store.Schedule{Quiet: &store.QuietWindow{Start: "1:00", End: "5:00", TimeZone: "UTC"}}},
		{"customers=QUIET 1:00-5:00", "customers", store.Schedule{Quiet: &store.QuietWindow{Start: "1:00", End: "5:00"}}},
	} {
		set, got, err := parseSetSchedule(c.line)
		if err != nil || set != c.set || got.Interval != c.want.Interval || (got.Quiet == nil) != (c.want.Quiet == nil) || got.Quiet != nil && *got.Quiet != *c.want.Quiet {
			t.Errorf("%q: %q %+v %v", c.line, set, got, err)
		}
	}
	for _, line := range []string{"customers", "=6h", "customers=", "customers=6h 22:00-06:00", "customers=6h quiet", "customers=quiet 22:00 Europe/Berlin", "customers=6h quiet 1:00-2:00 UTC extra"} {
		_, _, err := parseSetSchedule(line)
		if err == nil || !strings.Contains(err.Error(), "set schedules") || !strings.Contains(err.Error(), "set=interval quiet HH:MM-HH:MM Zone") {
			t.Errorf("%q: %v, want an error with the form", line, err)
		}
	}
	f := scheduleForm{SetSchedules: "customers=6h\ncustomers=1h"}
	if _, err := f.input(); err == nil || !strings.Contains(err.Error(), "two lines") {
		t.Errorf("a set twice: %v", err)
	}
}
