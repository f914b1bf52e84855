package ui

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/bizzjoiner/bcconnector/service"
	"github.com/bizzjoiner/bcconnector/store"
)

// scheduleForm is the connection page's schedule form: the connection's interval, its
// quiet window and the sets' own intervals ("set=interval" per line), as stored or as
// posted.
type scheduleForm struct {
	Interval, QuietStart, QuietEnd, TimeZone, SetIntervals string
	// Summary words the schedule in force, e.g. "every 15m, quiet 22:00–06:00 (Europe/Berlin)".
	Summary string
	// Problem is why the posted schedule was refused, naming the field and the fix.
	Problem string
}

// scheduleFormOf fills the form from a stored connection.
func scheduleFormOf(c store.Connection) scheduleForm {
	f := scheduleForm{Interval: c.Schedule.Interval}
	if q := c.Schedule.Quiet; q != nil {
		f.QuietStart, f.QuietEnd, f.TimeZone = q.Start, q.End, q.TimeZone
	}
	var lines []string
	for _, set := range slices.Sorted(maps.Keys(c.SetSchedules)) {
		if iv := c.SetSchedules[set].Interval; iv != "" {
			lines = append(lines, set+"="+iv)
		}
	}
	f.SetIntervals = strings.Join(lines, "\n")
	f.Summary = "at serve's --interval"
	if c.Schedule.Interval != "" {
		f.Summary = "every " + c.Schedule.Interval
	}
	if q := c.Schedule.Quiet; q != nil {
		f.Summary += fmt.Sprintf(", nothing starts %s–%s (%s)", q.Start, q.End, q.TimeZone)
	}
	for _, l := range lines {
		set, iv, _ := strings.Cut(l, "=")
		f.Summary += "; " + set + " every " + iv
	}
	return f
}

// input reads the posted form into a schedule update; set lines keep other fields of a
// set's stored schedule (a set's own quiet window, from the API).
func (f scheduleForm) input(stored store.Connection) (service.ConnectionInput, error) {
	sc := store.Schedule{Interval: strings.TrimSpace(f.Interval)}
	if f.QuietStart != "" || f.QuietEnd != "" {
		sc.Quiet = &store.QuietWindow{Start: f.QuietStart, End: f.QuietEnd, TimeZone: f.TimeZone}
	} else if strings.TrimSpace(f.TimeZone) != "" {
		return service.ConnectionInput{}, errors.New("quiet window: a time zone without start and end; give both times (HH:MM) or clear the time zone")
	}
	sets := map[string]store.Schedule{}
	for set, s := range stored.SetSchedules {
		if s.Quiet != nil {
			sets[set] = store.Schedule{Quiet: s.Quiet}
		}
	}
	for line := range strings.SplitSeq(f.SetIntervals, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		set, iv, ok := strings.Cut(line, "=")
		if !ok {
			return service.ConnectionInput{}, fmt.Errorf("set intervals: %q is not set=interval; write one per line, e.g. generalLedgerEntries=6h", line)
		}
		s := sets[strings.TrimSpace(set)]
		s.Interval = strings.TrimSpace(iv)
		sets[strings.TrimSpace(set)] = s
	}
	return service.ConnectionInput{Schedule: &sc, SetSchedules: sets}, nil
}

// connectionSchedule stores the schedule posted from the connection page; a refused one
// shows the page again with the values typed and the problem.
func (h *handler) connectionSchedule(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	v, err := h.svc.GetConnection(r.Context(), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	f := scheduleForm{Interval: r.FormValue("interval"), QuietStart: r.FormValue("quietStart"), QuietEnd: r.FormValue("quietEnd"),
		TimeZone: r.FormValue("timeZone"), SetIntervals: r.FormValue("setIntervals")}
	in, err := f.input(v.Connection)
	if err == nil {
		_, err = h.svc.UpdateConnection(r.Context(), id, in)
	}
	if err != nil {
		f.Problem = err.Error()
		f.Summary = scheduleFormOf(v.Connection).Summary
		cd := h.connData(r.Context(), v)
		cd.Schedule = f
		h.render(w, r, http.StatusUnprocessableEntity, "connection", page{Title: v.Name, Nav: "connections", Data: cd})
		return
	}
	http.Redirect(w, r, "/connections/"+url.PathEscape(id)+"?done=schedule", http.StatusSeeOther)
}
