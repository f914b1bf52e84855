package guide

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// EndDateForms names the forms CheckSecretEndDate reads, for messages and help texts.
const EndDateForms = "2027-02-12 (year-month-day), 12 Feb 2027 or Feb 12, 2027"

// namedForms are the layouts with the month's name; time.Parse matches names regardless
// of case.
var namedForms = []string{
	"2 Jan 2006", "2 January 2006", "2 Jan, 2006", "2 January, 2006",
	"Jan 2 2006", "January 2 2006", "Jan 2, 2006", "January 2, 2006",
}

// CheckSecretEndDate reads the secret's end date (the Expires column under Certificates &
// secrets) in a form that cannot be misread: year-month-day (2027-02-12, 2027/2/12), the
// month by name (12 Feb 2027, February 12, 2027), or day and month in either order when
// only one reading is a date (30/06/2027, 6/30/2027). 2/12/2027 is refused: it is
// 12 February to an American admin and 2 December to a European one, and the portal shows
// the date in the browser's locale. The Notice always echoes the date as read (and warns
// when it is near), so a misreading shows at once.
func CheckSecretEndDate(v string, now time.Time) (time.Time, *Notice, *FieldError) {
	end, problem := parseEndDate(strings.TrimSpace(v))
	if problem != "" {
		return time.Time{}, nil, &FieldError{Field: "secret end date", Step: Step3Secret, Problem: problem,
			Fix: "type the date from the Expires column under Certificates & secrets as " + EndDateForms}
	}
	read := "read as " + end.Format("2 January 2006") + " (" + end.Format("2006-01-02") + ")"
	switch level, days := ExpiryLevel(end, now); level {
	case ExpiryExpired:
		return end, nil, &FieldError{Field: "secret end date", Step: Step3Secret,
			Problem: "the secret expired on " + end.Format("2 January 2006") + " (" + end.Format("2006-01-02") + ")",
			Fix:     "create a new client secret under Certificates & secrets (12–24 months) and paste its Value"}
	case ExpiryNone:
		return end, &Notice{Field: "secret end date", Message: read}, nil
	default:
		return end, &Notice{Field: "secret end date", Message: fmt.Sprintf("%s; the secret expires in %d days; plan a rotation (add a new secret, verify, then remove the old one)", read, days)}, nil
	}
}

// parseEndDate returns the date, or a problem that names what was typed.
func parseEndDate(v string) (time.Time, string) {
	if v == "" {
		return time.Time{}, "it is empty"
	}
	for _, layout := range namedForms {
		if t, err := time.Parse(layout, v); err == nil {
			return t, ""
		}
	}
	sep := strings.IndexAny(v, "-/.")
	if sep < 0 {
		return time.Time{}, fmt.Sprintf("%q is not a date in a form we read", v)
	}
	parts := strings.Split(v, v[sep:sep+1])
	if len(parts) != 3 {
		return time.Time{}, fmt.Sprintf("%q is not a date in a form we read", v)
	}
	var n [3]int
	for i, p := range parts {
		x, err := strconv.Atoi(p)
		if err != nil || x < 1 || len(p) > 4 || strings.ContainsAny(p, "+-") {
			return time.Time{}, fmt.Sprintf("%q is not a date in a form we read", v)
		}
		n[i] = x
	}
	var y, m, d int
	switch {
	case len(parts[0]) == 4: // year first: always year-month-day (ISO 8601)
		y, m, d = n[0], n[1], n[2]
	case len(parts[2]) == 4: // year last: day and month in an order we must infer
		y = n[2]
		switch a, b := n[0], n[1]; {
		case a == b || b > 12:
			m, d = a, b
		case a > 12:
			d, m = a, b
		default:
			return time.Time{}, fmt.Sprintf("%q could be %s or %s", v, dayName(y, a, b), dayName(y, b, a))
		}
	default:
		return time.Time{}, fmt.Sprintf("%q has no four-digit year", v)
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if m < 1 || m > 12 || d < 1 || t.Day() != d || y < 1000 {
		return time.Time{}, fmt.Sprintf("%q is not a day of the calendar", v)
	}
	return t, ""
}

// dayName spells month m, day d of year y, or "" when it is not a date.
func dayName(y, m, d int) string {
	return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC).Format("2 January 2006")
}
