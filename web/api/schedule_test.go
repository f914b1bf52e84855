package api_test

import (
	"strings"
	"testing"

	"github.com/bizzjoiner/bcconnector/store"
)

// TestConnectionSchedule: a connection's schedule and a set's are set and read back
// over the API (the window normalised), and bad values answer 400 naming the field and
// the fix; a schedule for a line set names its document.
func TestConnectionSchedule(t *testing.T) {
	t.Parallel()
	e := setup(t)
	id := e.createConn("Scheduled")
	body := map[string]any{
		"schedule": map[string]any{"interval": "15m", "quiet": map[string]string{"start": "8:00", "end": "18:00", "timeZone": "America/New_York"}},
		"setSchedules": map[string]any{"customers": map[string]string{"interval": "6h"},
			"vendors": map[string]any{"quiet": map[string]string{"start": "1:00", "end": "5:00", "timeZone": "Asia/Tokyo"}}},
	}
	var v struct {
		Schedule     store.Schedule
		SetSchedules map[string]store.Schedule
	}
	e.do("PATCH", "/connections/"+id, e.token, body, 200, &v)
	if v.Schedule.Interval != "15m" || v.Schedule.Quiet == nil || v.Schedule.Quiet.Start != "08:00" || v.SetSchedules["customers"].Interval != "6h" {
		t.Fatalf("after PATCH: %+v %+v", v.Schedule, v.SetSchedules)
	}
	if q := v.SetSchedules["vendors"].Quiet; q == nil || *q != (store.QuietWindow{Start: "01:00", End: "05:00", TimeZone: "Asia/Tokyo"}) || v.SetSchedules["vendors"].Interval != "" {
		t.Fatalf("a set's own quiet window after PATCH: %+v", v.SetSchedules["vendors"])
	}
	v.Schedule = store.Schedule{}
	e.do("GET", "/connections/"+id, e.token, nil, 200, &v)
	if v.Schedule.Quiet == nil || v.Schedule.Quiet.TimeZone != "America/New_York" {
		t.Errorf("GET after PATCH: %+v", v.Schedule)
	}
	var perr problemBody
	for _, tc := range []struct {
		body any
		want []string
	}{
		{map[string]any{"schedule": map[string]any{"quiet": map[string]string{"start": "22:00", "end": "06:00", "timeZone": "CEST"}}}, []string{"schedule.quiet.timeZone", "Europe/Berlin"}},
		{map[string]any{"schedule": map[string]any{"interval": "10s"}}, []string{"schedule.interval", "1m"}},
		{map[string]any{"setSchedules": map[string]any{"salesInvoiceLines": map[string]string{"interval": "1h"}}}, []string{"setSchedules", "salesInvoices"}},
		{map[string]any{"setSchedules": map[string]any{"custmers": map[string]string{"interval": "1h"}}}, []string{"setSchedules", "custmers"}},
		{map[string]any{"setSchedules": map[string]any{"vendors": map[string]any{"quiet": map[string]string{"start": "1:00", "end": "5:00", "timeZone": "Tokyo"}}}}, []string{"setSchedules.vendors.quiet.timeZone", "Europe/Berlin"}},
		{map[string]any{"setSchedules": map[string]any{"vendors": map[string]any{"quiet": map[string]string{"start": "25:00", "end": "5:00", "timeZone": "UTC"}}}}, []string{"setSchedules.vendors.quiet.start", "HH:MM"}},
		{map[string]any{"setSchedules": map[string]any{"vendors": map[string]string{"interval": "30s"}}}, []string{"setSchedules.vendors.interval", "1m"}},
	} {
		e.do("PATCH", "/connections/"+id, e.token, tc.body, 400, &perr)
		for _, w := range tc.want {
			if !strings.Contains(perr.Detail, w) {
				t.Errorf("%v: %q lacks %q", tc.body, perr.Detail, w)
			}
		}
	}
	// Clearing: an empty schedule inherits serve's --interval again.
	v.Schedule, v.SetSchedules = store.Schedule{}, nil
	e.do("PATCH", "/connections/"+id, e.token, map[string]any{"schedule": map[string]any{}, "setSchedules": map[string]any{}}, 200, &v)
	if !v.Schedule.IsZero() || len(v.SetSchedules) != 0 {
		t.Errorf("after clearing: %+v %+v", v.Schedule, v.SetSchedules)
	}
}
