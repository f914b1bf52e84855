package ui

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/service"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/chromedp/chromedp"
)

// TestBrowserSchedule: on a connection's page in Chromium, the schedule form refuses a
// time zone that is not an IANA name with the field and the fix, keeps what was typed,
// and saves a corrected one, which the page and the service then show: interval, quiet
// window in the customer's time zone and a set's own interval.
func TestBrowserSchedule(t *testing.T) {
	bctx := browser(t)
	watchConsole(t, bctx)
	svc, sb := sandboxServiceOf(t, emulator.ScenarioOK)
	cr := sb.Creds
	v, _, err := svc.CreateConnection(t.Context(), service.ConnectionInput{Name: "Scheduled", TenantID: cr.TenantID, ClientID: cr.ClientID,
		Secret: secret.Secret(cr.ClientSecret), Environment: cr.Environment, Company: cr.Company, Entities: []string{"currencies"},
		AuthorityHost: sb.AuthorityHost(), BCBaseURL: sb.BCBaseURL(), CAPEM: string(sb.CAPEM)})
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(Options{Service: svc})
	if err != nil {
		t.Fatal(err)
	}
	ui := httptest.NewServer(h)
	t.Cleanup(ui.Close)
	ctx, cancel := context.WithTimeout(bctx, 60*time.Second)
	defer cancel()
	dir := artifacts(t)
	fill := func(zone string) []chromedp.Action[chromedp.Void] {
		return []chromedp.Action[chromedp.Void]{
			chromedp.SetValue(chromedp.CSS("#f-interval"), "15m"),
			chromedp.SetValue(chromedp.CSS("#f-quiet-start"), "22:00"),
			chromedp.SetValue(chromedp.CSS("#f-quiet-end"), "06:00"),
			chromedp.SetValue(chromedp.CSS("#f-time-zone"), zone),
			chromedp.SetValue(chromedp.CSS("#f-set-schedules"), "currencies=6h"),
			chromedp.Click(chromedp.CSS("#save-schedule")),
		}
	}
	err = chromedp.Do(ctx, append(append([]chromedp.Action[chromedp.Void]{
		chromedp.Navigate(ui.URL + "/connections/" + v.ID),
		chromedp.WaitVisible(chromedp.CSS("#schedule-summary"))},
		fill("Berlin")...), chromedp.WaitVisible(chromedp.CSS("#schedule-problem")))...)
	if err != nil {
		shoot(t, ctx, dir, "schedule-error")
		t.Fatal(err)
	}
	problem, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#schedule-problem")))
	typed, _ := chromedp.Run(ctx, chromedp.Value(chromedp.CSS("#f-time-zone")))
	if !strings.Contains(problem, "schedule.quiet.timeZone") || !strings.Contains(problem, "Europe/Berlin") || typed != "Berlin" {
		t.Errorf("a bad time zone: problem %q, field kept %q", problem, typed)
	}
	shoot(t, ctx, dir, "schedule-refused")
	err = chromedp.Do(ctx, append(fill("Europe/Berlin"), chromedp.WaitVisible(chromedp.CSS(".flash")))...)
	if err != nil {
		shoot(t, ctx, dir, "schedule-error")
		t.Fatal(err)
	}
	summary, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#schedule-summary")))
	if want := "every 15m, nothing starts 22:00–06:00 (Europe/Berlin); currencies every 6h"; summary != want {
		t.Errorf("summary %q, want %q", summary, want)
	}
	shoot(t, ctx, dir, "schedule-saved")
	got, err := svc.GetConnection(t.Context(), v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Schedule.Every() != 15*time.Minute || got.Schedule.Quiet == nil || got.Schedule.Quiet.TimeZone != "Europe/Berlin" || got.SetSchedules["currencies"].Interval != "6h" {
		t.Errorf("stored schedule %+v %+v", got.Schedule, got.SetSchedules)
	}

	// A set's own quiet window: a bad time zone is refused naming the set's field, a good
	// one is saved and shown, and the line reads back as typed.
	setLine := func(line string) []chromedp.Action[chromedp.Void] {
		return []chromedp.Action[chromedp.Void]{
			chromedp.SetValue(chromedp.CSS("#f-set-schedules"), line),
			chromedp.Click(chromedp.CSS("#save-schedule")),
		}
	}
	err = chromedp.Do(ctx, append(setLine("currencies=2h quiet 1:00-05:00 Tokyo"), chromedp.WaitVisible(chromedp.CSS("#schedule-problem")))...)
	if err != nil {
		shoot(t, ctx, dir, "set-schedule-error")
		t.Fatal(err)
	}
	problem, _ = chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#schedule-problem")))
	if !strings.Contains(problem, "setSchedules.currencies.quiet.timeZone") || !strings.Contains(problem, "Europe/Berlin") {
		t.Errorf("a set's bad time zone: problem %q, want the field setSchedules.currencies.quiet.timeZone and an example", problem)
	}
	err = chromedp.Do(ctx, append(setLine("currencies=2h quiet 1:00-05:00 Asia/Tokyo"), chromedp.WaitVisible(chromedp.CSS(".flash")))...)
	if err != nil {
		shoot(t, ctx, dir, "set-schedule-error")
		t.Fatal(err)
	}
	summary, _ = chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#schedule-summary")))
	line, _ := chromedp.Run(ctx, chromedp.Value(chromedp.CSS("#f-set-schedules")))
	if want := "every 15m, nothing starts 22:00–06:00 (Europe/Berlin); currencies every 2h, nothing starts 01:00–05:00 (Asia/Tokyo)"; summary != want || line != "currencies=2h quiet 01:00-05:00 Asia/Tokyo" {
		t.Errorf("summary %q, want %q; the set's line reads %q", summary, want, line)
	}
	shoot(t, ctx, dir, "set-schedule-saved")
	got, err = svc.GetConnection(t.Context(), v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if sc := got.SetSchedules["currencies"]; sc.Interval != "2h" || sc.Quiet == nil || *sc.Quiet != (store.QuietWindow{Start: "01:00", End: "05:00", TimeZone: "Asia/Tokyo"}) {
		t.Errorf("stored set schedule %+v", sc)
	}
}
