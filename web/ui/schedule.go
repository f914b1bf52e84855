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
// quiet window and the sets' own schedules, one line per set (setScheduleForm), as stored
// or as posted.
type scheduleForm struct {
	Interval, QuietStart, QuietEnd, TimeZone, SetSchedules string
	// Summary words the schedule in force, e.g. "every 15m, nothing starts 22:00–06:00
	// (Europe/Berlin); generalLedgerEntries every 6h".
	Summary string
	// Problem is why the posted schedule was refused, naming the field and the fix.
	Problem string
}

// setScheduleForm is the form of a set's line: "set=interval", "set=interval quiet
// HH:MM-HH:MM Zone" or "set=quiet HH:MM-HH:MM Zone" (its own quiet window, in place of
// the connection's).
const setScheduleForm = "set=interval, set=interval quiet HH:MM-HH:MM Zone or set=quiet HH:MM-HH:MM Zone, one per line, e.g. generalLedgerEntries=6h quiet 01:00-05:00 Europe/Berlin"

// scheduleFormOf fills the form from a stored connection.
func scheduleFormOf(c store.Connection) scheduleForm {
	f := scheduleForm{Interval: c.Schedule.Interval}
	if q := c.Schedule.Quiet; q != nil {
		f.QuietStart, f.QuietEnd, f.TimeZone = q.Start, q.End, q.TimeZone
	}
	f.Summary = "at serve's --interval"
	if c.Schedule.Interval != "" {
		f.Summary = "every " + c.Schedule.Interval
	}
	if q := c.Schedule.Quiet; q != nil {
		f.Summary += fmt.Sprintf(", nothing starts %s–%s (%s)", q.Start, q.End, q.TimeZone)
	}
	var lines []string
	for _, set := range slices.Sorted(maps.Keys(c.SetSchedules)) {
		sc := c.SetSchedules[set]
		var words, said []string
		if sc.Interval != "" {
			words = append(words, sc.Interval)
			said = append(said, "every "+sc.Interval)
		}
		if q := sc.Quiet; q != nil {
			words = append(words, "quiet", q.Start+"-"+q.End, q.TimeZone)
			said = append(said, fmt.Sprintf("nothing starts %s–%s (%s)", q.Start, q.End, q.TimeZone))
		}
		if len(words) == 0 {
			continue
		}
		lines = append(lines, set+"="+strings.Join(words, " "))
		f.Summary += "; " + set + " " + strings.Join(said, ", ")
	}
	f.SetSchedules = strings.Join(lines, "\n")
	return f
}

// input reads the posted form into a schedule update; a set not listed has no schedule
// of its own.
func (f scheduleForm) input() (service.ConnectionInput, error) {
	sc := store.Schedule{Interval: strings.TrimSpace(f.Interval)}
	if f.QuietStart != "" || f.QuietEnd != "" {
		sc.Quiet = &store.QuietWindow{Start: f.QuietStart, End: f.QuietEnd, TimeZone: f.TimeZone}
	} else if strings.TrimSpace(f.TimeZone) != "" {
		return service.ConnectionInput{}, errors.New("quiet window: a time zone without start and end; give both times (HH:MM) or clear the time zone")
	}
	sets := map[string]store.Schedule{}
	for line := range strings.SplitSeq(f.SetSchedules, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		set, s, err := parseSetSchedule(line)
		if err != nil {
			return service.ConnectionInput{}, err
		}
		if _, dup := sets[set]; dup {
			return service.ConnectionInput{}, fmt.Errorf("set schedules: %s has two lines; give each set one line (%s)", set, setScheduleForm)
		}
		sets[set] = s
	}
	return service.ConnectionInput{Schedule: &sc, SetSchedules: sets}, nil
}

// parseSetSchedule reads one line of the sets' schedules (setScheduleForm). The values
// themselves (duration, times, time zone) are checked by the store, whose errors name the
// field (setSchedules.SET.quiet.timeZone …).
func parseSetSchedule(line string) (string, store.Schedule, error) {
	bad := func(why string) error {
		return fmt.Errorf("set schedules: %q %s; write %s", line, why, setScheduleForm)
	}
	set, rest, ok := strings.Cut(line, "=")
	set = strings.TrimSpace(set)
	if !ok || set == "" {
		return "", store.Schedule{}, bad("is not set=schedule")
	}
	words := strings.Fields(rest)
	var s store.Schedule
	if len(words) > 0 && !strings.EqualFold(words[0], "quiet") {
		s.Interval, words = words[0], words[1:]
	}
	switch {
	case len(words) == 0 && s.Interval == "":
		return "", store.Schedule{}, bad("gives no interval and no quiet window")
	case len(words) == 0:
	case !strings.EqualFold(words[0], "quiet") || len(words) < 2 || len(words) > 3:
		return "", store.Schedule{}, bad("is not understood after the interval")
	default:
		start, end, ok := strings.Cut(words[1], "-")
		if !ok {
			return "", store.Schedule{}, bad(fmt.Sprintf("has the quiet window %q, not HH:MM-HH:MM", words[1]))
		}
		s.Quiet = &store.QuietWindow{Start: start, End: end}
		if len(words) == 3 {
			s.Quiet.TimeZone = words[2]
		}
	}
	return set, s, nil
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
		TimeZone: r.FormValue("timeZone"), SetSchedules: r.FormValue("setSchedules")}
	in, err := f.input()
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
