package guide

import (
	"strings"
	"testing"
	"time"
)

func TestCheckSecretEndDate(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want string // the date read, or "" for a refusal
		msg  string // in the notice, or in the problem of a refusal
	}{
		{"2027-02-12", "2027-02-12", "read as 12 February 2027 (2027-02-12)"},
		{"2027/2/12", "2027-02-12", "read as 12 February 2027"},
		{"12 Feb 2027", "2027-02-12", "read as 12 February 2027"},
		{"12 february 2027", "2027-02-12", "read as 12 February 2027"},
		{"Feb 12, 2027", "2027-02-12", "read as 12 February 2027"},
		{"February 12 2027", "2027-02-12", "read as 12 February 2027"},
		{"30/06/2027", "2027-06-30", "read as 30 June 2027"},
		{"6/30/2027", "2027-06-30", "read as 30 June 2027"},
		{"30.06.2027", "2027-06-30", "read as 30 June 2027"},
		{"5/5/2027", "2027-05-05", "read as 5 May 2027"},
		{"2026-12-20", "2026-12-20", "read as 20 December 2026 (2026-12-20); the secret expires in 16 days"},
		{"2/12/2027", "", `"2/12/2027" could be 12 February 2027 or 2 December 2027`},
		{"12.02.2027", "", "could be 2 December 2027 or 12 February 2027"},
		{"2027-02-30", "", "not a day of the calendar"},
		{"31/31/2027", "", "not a day of the calendar"},
		{"0/5/2027", "", "not a date"},
		{"2/12/27", "", "no four-digit year"},
		{"2027-02/12", "", "not a date"},
		{"next year", "", "not a date"},
		{"2027-02-12T00:00:00Z", "", "not a date"},
	} {
		end, n, fe := CheckSecretEndDate(tc.in, now)
		if tc.want == "" {
			if fe == nil || !strings.Contains(fe.Problem, tc.msg) || !strings.Contains(fe.Fix, EndDateForms) || fe.Field != "secret end date" {
				t.Errorf("%q: got %v %+v, want a refusal with %q naming the forms", tc.in, end, fe, tc.msg)
			}
			continue
		}
		if fe != nil || n == nil || end.Format("2006-01-02") != tc.want || !strings.Contains(n.Message, tc.msg) {
			t.Errorf("%q: got %v %+v %v, want %s and a notice with %q", tc.in, end, n, fe, tc.want, tc.msg)
		}
	}
	if _, _, fe := CheckSecretEndDate("2026-11-01", now); fe == nil || !strings.Contains(fe.Problem, "expired on 1 November 2026") {
		t.Errorf("past date: %+v", fe)
	}
}

// FuzzCheckSecretEndDate: no input panics; a date accepted is echoed in ISO form, and that
// form reads back as the same date.
func FuzzCheckSecretEndDate(f *testing.F) {
	for _, s := range []string{"2027-02-12", "2/12/2027", "30/06/2027", "Feb 12, 2027", "0.0.0", "--", "9999/99/99"} {
		f.Add(s)
	}
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		end, n, fe := CheckSecretEndDate(s, now)
		if fe != nil {
			if fe.Problem == "" || fe.Fix == "" {
				t.Fatalf("%q: refusal without problem or fix: %+v", s, fe)
			}
			return
		}
		iso := end.Format("2006-01-02")
		if n == nil || !strings.Contains(n.Message, iso) {
			t.Fatalf("%q read as %s without an echo: %+v", s, iso, n)
		}
		again, _, fe := CheckSecretEndDate(iso, now)
		if fe != nil || !again.Equal(end) {
			t.Fatalf("%q read as %s, which reads back as %v %+v", s, iso, again, fe)
		}
	})
}
