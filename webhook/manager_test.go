package webhook_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/bc"
	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/emulator/fault"
	"github.com/bizzjoiner/bcconnector/webhook"
)

func TestSubscribeAndNotify(t *testing.T) {
	t.Parallel()
	e := setup(t, envConfig{})
	res := e.ensure("customers", "vendors", "salesInvoiceLines", "noSuchSet")
	if !slices.Equal(res.Created, []string{"customers", "vendors"}) {
		t.Errorf("Created = %v, want [customers vendors]", res.Created)
	}
	if !slices.Equal(res.Skipped, []string{"salesInvoiceLines", "noSuchSet"}) {
		t.Errorf("Skipped = %v, want the set without webhooks and the unknown one", res.Skipped)
	}
	if st := e.m.Stats(); st.Handshakes != 2 || st.Created != 2 {
		t.Errorf("handshakes %d, created %d; want 2, 2 (§7.2: one handshake per create)", st.Handshakes, st.Created)
	}
	remote := e.remote()
	if len(remote) != 2 {
		t.Fatalf("BC holds %d subscriptions, want 2", len(remote))
	}
	for _, r := range remote {
		if r["notificationUrl"] != e.m.PublicURL() || !strings.HasPrefix(r["resource"].(string), "/api/v2.0/companies("+e.company+")/") {
			t.Errorf("subscription %v", r)
		}
	}
	exp := time.Now().Add(72 * time.Hour)
	if d := res.NextRenewal.Sub(exp.Add(-webhook.DefaultRenewBefore)); d < -time.Minute || d > time.Minute {
		t.Errorf("NextRenewal = %v, want about expiry − 24h (%v)", res.NextRenewal, exp.Add(-webhook.DefaultRenewBefore))
	}

	// A change inside BC becomes a hint naming the set and the record.
	id := e.ids("customers", 1)[0]
	if _, err := e.emu.Update(e.companyRef(), "customers", id, map[string]any{"displayName": "Changed in BC"}); err != nil {
		t.Fatal(err)
	}
	h := e.hint()
	if h.ConnectionID != connID || h.CompanyID != e.company || h.EntitySet != "customers" ||
		h.ChangeType != webhook.ChangeUpdated || h.ID != id || h.At.IsZero() {
		t.Errorf("hint = %+v, want an updated customers hint for %s", h, id)
	}
	v, err := e.emu.Create(e.companyRef(), "vendors", map[string]any{"displayName": "New Vendor"})
	if err != nil {
		t.Fatal(err)
	}
	if h := e.hint(); h.EntitySet != "vendors" || h.ChangeType != webhook.ChangeCreated || h.ID != v["id"] {
		t.Errorf("hint = %+v, want vendors created %v", h, v["id"])
	}
	if err := e.emu.Delete(e.companyRef(), "customers", id); err != nil {
		t.Fatal(err)
	}
	if h := e.hint(); h.EntitySet != "customers" || h.ChangeType != webhook.ChangeDeleted || h.ID != id {
		t.Errorf("hint = %+v, want customers deleted %s", h, id)
	}
	st := e.m.Stats()
	if st.Notifications != 3 || st.Hints != 3 || st.Forged != 0 || st.Unknown != 0 {
		t.Errorf("stats = %+v", st)
	}
	if len(st.Subscriptions) != 2 || st.Subscriptions[0].EntitySet != "customers" || st.Subscriptions[0].Notifications != 2 ||
		st.Subscriptions[0].LastNotificationAt.IsZero() || st.Subscriptions[0].ClientStateHash != nil {
		t.Errorf("subscription statuses = %+v", st.Subscriptions)
	}
	stored, _ := e.store.Subscriptions(context.Background(), connID)
	if len(stored) != 2 || stored[0].LastNotificationAt.IsZero() && stored[1].LastNotificationAt.IsZero() {
		t.Errorf("store did not record the notification time: %+v", stored)
	}

	// Nothing to do on the next run.
	res = e.ensure("customers", "vendors")
	if len(res.Created)+len(res.Renewed)+len(res.Recreated)+len(res.Removed) != 0 || res.OrphansDeleted != 0 {
		t.Errorf("second Ensure changed something: %+v", res)
	}
}

func TestCollectionNotification(t *testing.T) {
	t.Parallel()
	// §7.3: more changes in one window than the threshold collapse into one `collection`.
	e := setup(t, envConfig{emu: emulator.Config{WebhookMaxNotifications: 2, WebhookDelay: 200 * time.Millisecond}})
	e.ensure("customers")
	var first time.Time // the first change's lastModifiedDateTime, as BC stamped it
	for _, id := range e.ids("customers", 3) {
		row, err := e.emu.Update(e.companyRef(), "customers", id, map[string]any{"displayName": "Bulk " + id[:8]})
		if err != nil {
			t.Fatal(err)
		}
		if first.IsZero() {
			first, _ = row["lastModifiedDateTime"].(time.Time)
		}
	}
	h := e.hint()
	if h.ChangeType != webhook.ChangeCollection || h.EntitySet != "customers" || h.ID != "" {
		t.Fatalf("hint = %+v, want one collection hint for customers", h)
	}
	// BC's filter starts 50 ms before the first change (§7.3).
	if h.Since.IsZero() || h.Since.After(first) || first.Sub(h.Since) > 2*time.Second {
		t.Errorf("Since = %v, want just before the first change at %v", h.Since, first)
	}
	e.noHint(400 * time.Millisecond)
	if st := e.m.Stats(); st.Notifications != 1 || st.Hints != 1 {
		t.Errorf("stats = %+v, want one notification and one hint", st)
	}
}

func TestSubscriptionDeletedByBCIsRecreated(t *testing.T) {
	t.Parallel()
	e := setup(t, envConfig{})
	e.ensure("customers")
	old := e.remote()[0]["subscriptionId"].(string)

	// The receiver (say, a misconfigured proxy in front of it) answers one notification
	// with 404: BC deletes the subscription without telling anyone (§7.4).
	e.rejectPosts.Store(1)
	ids := e.ids("customers", 2)
	if _, err := e.emu.Update(e.companyRef(), "customers", ids[0], map[string]any{"displayName": "Lost"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "BC to delete the subscription", func() bool { return len(e.remote()) == 0 })
	e.noHint(50 * time.Millisecond)

	res := e.ensure("customers")
	if !slices.Equal(res.Recreated, []string{"customers"}) || len(res.Created) != 0 {
		t.Fatalf("Ensure = %+v, want customers re-created", res)
	}
	// The gap may have hidden changes, deletions included: a full-set hint.
	if h := e.hint(); h.ChangeType != webhook.ChangeCollection || !h.Since.IsZero() || h.EntitySet != "customers" || !h.Lost || h.SubscriptionID != old {
		t.Errorf("hint after re-creation = %+v, want collection with zero Since", h)
	}
	remote := e.remote()
	if len(remote) != 1 || remote[0]["subscriptionId"] == old {
		t.Fatalf("BC holds %v, want one new subscription", remote)
	}
	stored, _ := e.store.Subscriptions(context.Background(), connID)
	if len(stored) != 1 || stored[0].ID != remote[0]["subscriptionId"] {
		t.Errorf("store holds %+v", stored)
	}
	// The new subscription works.
	if _, err := e.emu.Update(e.companyRef(), "customers", ids[1], map[string]any{"displayName": "Back"}); err != nil {
		t.Fatal(err)
	}
	if h := e.hint(); h.ID != ids[1] || h.SubscriptionID != stored[0].ID {
		t.Errorf("hint = %+v, want %s through the new subscription", h, ids[1])
	}
	if st := e.m.Stats(); st.Lost != 1 || st.Recreated != 1 {
		t.Errorf("Lost %d, Recreated %d; want 1, 1", st.Lost, st.Recreated)
	}
	if !strings.Contains(e.logs.String(), "subscription lost") {
		t.Error("the lost subscription was not logged")
	}
}

func TestForgedNotificationRejected(t *testing.T) {
	t.Parallel()
	e := setup(t, envConfig{})
	e.ensure("customers")
	before, _ := e.store.Subscriptions(context.Background(), connID)
	sub := before[0]
	id := e.ids("customers", 1)[0]
	note := func(subID, state string) string {
		return fmt.Sprintf(`{"value":[{"subscriptionId":%q,"clientState":%q,"expirationDateTime":"2026-05-07T09:00:00Z",`+
			`"resource":"api/v2.0/companies(%s)/customers(%s)","changeType":"deleted","lastModifiedDateTime":"2026-05-04T09:00:00Z"}]}`,
			subID, state, e.company, id)
	}

	// A known subscription id with a wrong clientState: acknowledged, counted, no effect.
	for _, state := range []string{"guess", "", strings.Repeat("x", 43)} {
		if code := e.post(note(sub.ID, state)); code != http.StatusOK {
			t.Errorf("forged POST answered %d, want 200", code)
		}
	}
	// An unknown subscription id: never a 4xx, which would make BC delete the subscriptions
	// that share the URL (§7.4).
	if code := e.post(note("0123456789abcdef0123456789abcdef", "whatever")); code != http.StatusOK {
		t.Errorf("unknown subscription answered %d, want 200", code)
	}
	e.noHint(100 * time.Millisecond)
	st := e.m.Stats()
	if st.Forged != 3 || st.Unknown != 1 || st.Hints != 0 {
		t.Errorf("stats: forged %d, unknown %d, hints %d; want 3, 1, 0", st.Forged, st.Unknown, st.Hints)
	}
	after, _ := e.store.Subscriptions(context.Background(), connID)
	if len(after) != 1 || !after[0].LastNotificationAt.IsZero() || after[0].ETag != sub.ETag {
		t.Errorf("a forged notification changed the store: %+v", after)
	}
	if len(st.Subscriptions) != 1 || st.Subscriptions[0].Notifications != 0 {
		t.Errorf("a forged notification was counted as received: %+v", st.Subscriptions)
	}
	if !strings.Contains(e.logs.String(), "wrong clientState") {
		t.Error("the forgery was not logged")
	}

	// The real clientState (BC shows it in its subscription list) passes.
	state := e.remote()[0]["clientState"].(string)
	if code := e.post(note(sub.ID, state)); code != http.StatusOK {
		t.Fatalf("genuine POST answered %d", code)
	}
	if h := e.hint(); h.ChangeType != webhook.ChangeDeleted || h.ID != id {
		t.Errorf("hint = %+v", h)
	}
}

func TestRenewalBeforeExpiry(t *testing.T) {
	t.Parallel()
	e := setup(t, envConfig{clock: true})
	t0 := e.clock.Now()
	e.ensure("customers")
	expiry := func() time.Time {
		exp, err := time.Parse(time.RFC3339Nano, e.remote()[0]["expirationDateTime"].(string))
		if err != nil {
			t.Fatal(err)
		}
		return exp
	}
	if got := expiry(); !got.Equal(t0.Add(72 * time.Hour)) {
		t.Fatalf("expiry %v, want 3 days after %v", got, t0)
	}

	e.clock.Advance(47 * time.Hour) // 25 h left: not yet
	if res := e.ensure("customers"); len(res.Renewed) != 0 {
		t.Errorf("renewed with 25h left: %+v", res)
	}
	e.clock.Advance(2 * time.Hour) // 23 h left: renew
	hs := e.m.Stats().Handshakes
	res := e.ensure("customers")
	if !slices.Equal(res.Renewed, []string{"customers"}) {
		t.Fatalf("Ensure = %+v, want customers renewed", res)
	}
	if got := e.m.Stats().Handshakes; got != hs+1 {
		t.Errorf("handshakes %d → %d; BC repeats the handshake on renewal (§7.2)", hs, got)
	}
	want := t0.Add(49 * time.Hour).Add(72 * time.Hour)
	if got := expiry(); !got.Equal(want) {
		t.Errorf("expiry after renewal %v, want %v", got, want)
	}
	if !res.NextRenewal.Equal(want.Add(-webhook.DefaultRenewBefore)) {
		t.Errorf("NextRenewal = %v, want %v", res.NextRenewal, want.Add(-webhook.DefaultRenewBefore))
	}
	stored, _ := e.store.Subscriptions(context.Background(), connID)
	if !stored[0].ExpiresAt.Equal(want) || stored[0].RenewedAt.IsZero() {
		t.Errorf("stored after renewal: %+v", stored[0])
	}

	// Nobody ran Ensure for four days: BC let it expire; the next run replaces it.
	e.clock.Advance(96 * time.Hour)
	res = e.ensure("customers")
	if !slices.Equal(res.Recreated, []string{"customers"}) || res.OrphansDeleted != 0 {
		t.Errorf("after expiry Ensure = %+v, want customers re-created and no orphans", res)
	}
	if h := e.hint(); h.ChangeType != webhook.ChangeCollection || !h.Since.IsZero() {
		t.Errorf("hint = %+v", h)
	}
	if r := e.remote(); len(r) != 1 || r[0]["subscriptionId"] == stored[0].ID {
		t.Errorf("BC holds %v, want only the new subscription", r)
	}
}

func TestRemoveAndUnwanted(t *testing.T) {
	t.Parallel()
	e := setup(t, envConfig{})
	e.ensure("customers", "vendors", "items")
	res := e.ensure("customers", "items")
	if !slices.Equal(res.Removed, []string{"vendors"}) {
		t.Errorf("Removed = %v, want [vendors]", res.Removed)
	}
	if n := len(e.remote()); n != 2 {
		t.Errorf("BC holds %d subscriptions, want 2", n)
	}
	if res, err := e.m.Remove(context.Background(), e.client, connID); err != nil || len(res.Deleted) != 2 || len(res.Left) != 0 {
		t.Fatalf("Remove = %d deleted, %d left, %v; want 2, 0, nil", len(res.Deleted), len(res.Left), err)
	}
	if n := len(e.remote()); n != 0 {
		t.Errorf("after Remove BC holds %d subscriptions", n)
	}
	if all, _ := e.store.Subscriptions(context.Background(), ""); len(all) != 0 {
		t.Errorf("after Remove the store holds %d", len(all))
	}
	if st := e.m.Stats(); st.Deleted != 3 || len(st.Subscriptions) != 0 {
		t.Errorf("Deleted %d, tracked %d; want 3, 0", st.Deleted, len(st.Subscriptions))
	}
}

// TestRemoveWithoutManager: removing a connection's subscriptions is a DELETE of each at BC
// and needs no public URL, so the CLI does it with webhook.Remove; when BC cannot be
// reached, removal ends with the context and says what it left, stored as removing.
func TestRemoveWithoutManager(t *testing.T) {
	t.Parallel()
	e := setup(t, envConfig{})
	e.ensure("customers", "vendors")
	ctx := context.Background()
	res, err := webhook.Remove(ctx, e.store, e.client, connID, nil)
	if err != nil || len(res.Deleted) != 2 || len(res.Left) != 0 {
		t.Fatalf("Remove = %d deleted, %d left, %v; want 2, 0, nil", len(res.Deleted), len(res.Left), err)
	}
	if n := len(e.remote()); n != 0 {
		t.Errorf("after Remove BC holds %d subscriptions", n)
	}

	e.ensure("items")
	e.sb.AddFaults("503:bc")
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	res, err = webhook.Remove(short, e.store, e.client, connID, nil)
	if err == nil || len(res.Left) != 1 || res.Left[0].EntitySet != "items" || res.Left[0].State != webhook.StateRemoving {
		t.Fatalf("Remove with BC down = %+v, %v; want items left, removing, and an error", res, err)
	}
	stored, _ := e.store.Subscriptions(ctx, connID)
	if len(stored) != 1 || stored[0].State != webhook.StateRemoving || stored[0].LastError == "" {
		t.Errorf("stored after a failed Remove: %+v; want one, removing, with its error", stored)
	}
}

func TestOrphansDeleted(t *testing.T) {
	t.Parallel()
	e := setup(t, envConfig{clock: true})
	ctx := context.Background()
	mk := func(url, set string) {
		_, err := e.client.Create(ctx, bc.Ref{Path: "subscriptions"}, map[string]string{
			"notificationUrl": url, "resource": "/api/v2.0/companies(" + e.company + ")/" + set, "clientState": "lost"})
		if err != nil {
			t.Fatal(err)
		}
	}
	mk(e.m.PublicURL(), "customers")          // ours, but its answer was lost
	mk(e.m.PublicURL()+"/other", "customers") // someone else's URL: not ours to delete
	if res := e.ensure("customers"); res.OrphansDeleted != 0 {
		t.Errorf("a fresh orphan was deleted (another process may be storing it): %+v", res)
	}
	e.clock.Advance(webhook.DefaultOrphanGrace + time.Minute)
	res := e.ensure("customers")
	if res.OrphansDeleted != 1 {
		t.Errorf("OrphansDeleted = %d, want 1", res.OrphansDeleted)
	}
	var urls []string
	for _, r := range e.remote() {
		urls = append(urls, r["notificationUrl"].(string))
	}
	slices.Sort(urls)
	if !slices.Equal(urls, []string{e.m.PublicURL(), e.m.PublicURL() + "/other"}) {
		t.Errorf("BC holds subscriptions for %v, want ours and the other URL's", urls)
	}
}

func TestEnsureReportsUnreachableReceiver(t *testing.T) {
	t.Parallel()
	e := setup(t, envConfig{})
	e.rejectHandshakes.Store(true)
	_, err := e.m.Ensure(context.Background(), e.client, connID, e.company, []string{"customers"})
	if err == nil || !strings.Contains(err.Error(), "no validationToken handshake") || !strings.Contains(err.Error(), e.m.PublicURL()) {
		t.Fatalf("Ensure error = %v, want one that says the handshake did not arrive", err)
	}
	if all, _ := e.store.Subscriptions(context.Background(), ""); len(all) != 0 {
		t.Errorf("a failed create was stored: %+v", all)
	}
	e.rejectHandshakes.Store(false)
	if res := e.ensure("customers"); !slices.Equal(res.Created, []string{"customers"}) {
		t.Errorf("after the receiver came back: %+v", res)
	}
}

func TestMissedNotifications(t *testing.T) {
	t.Parallel()
	e := setup(t, envConfig{clock: true})
	e.ensure("customers", "vendors")
	now := e.clock.Now()

	// A change BC notified is not missed.
	id := e.ids("customers", 1)[0]
	if _, err := e.emu.Update(e.companyRef(), "customers", id, map[string]any{"displayName": "Notified"}); err != nil {
		t.Fatal(err)
	}
	h := e.hint()
	e.m.ObservedChange(connID, e.company, "customers", h.At)
	// A change polling found in vendors that BC never notified.
	e.m.ObservedChange(connID, strings.ToUpper(e.company), "Vendors", now)
	// A change from before the subscription existed is not BC's to notify.
	e.m.ObservedChange(connID, e.company, "vendors", now.Add(-time.Hour))

	if st := e.m.Stats(); st.Missed != 0 {
		t.Fatalf("missed %d before MissedAfter passed", st.Missed)
	}
	e.clock.Advance(webhook.DefaultMissedAfter + time.Second)
	st := e.m.Stats()
	if st.Missed != 1 {
		t.Fatalf("Missed = %d, want 1", st.Missed)
	}
	silent := e.m.Silent(time.Hour)
	if len(silent) != 1 || silent[0].EntitySet != "vendors" || silent[0].Missed != 1 || silent[0].LastMissedAt.IsZero() {
		t.Errorf("Silent = %+v, want vendors", silent)
	}
	e.clock.Advance(2 * time.Hour)
	if s := e.m.Silent(time.Hour); len(s) != 0 {
		t.Errorf("Silent(1h) two hours later = %+v, want none", s)
	}
	if !strings.Contains(e.logs.String(), "notification missed") {
		t.Error("the missed notification was not logged")
	}
}

func TestSecretsNeverLogged(t *testing.T) {
	t.Parallel()
	e := setup(t, envConfig{})
	e.ensure("customers", "vendors")
	var states []string
	for _, r := range e.remote() {
		state := r["clientState"].(string)
		if len(state) < 40 {
			t.Errorf("clientState %q is too short to be a 256-bit secret", state)
		}
		states = append(states, state)
	}
	if _, err := e.emu.Update(e.companyRef(), "customers", e.ids("customers", 1)[0], map[string]any{"displayName": "x"}); err != nil {
		t.Fatal(err)
	}
	e.hint()
	e.post(`{"value":[{"subscriptionId":"` + e.remote()[0]["subscriptionId"].(string) + `","clientState":"forged"}]}`)
	e.rejectHandshakes.Store(true)
	_, err := e.m.Ensure(context.Background(), e.client, connID, e.company, []string{"customers", "vendors", "items"})
	if err == nil {
		t.Fatal("Ensure with an unreachable receiver succeeded")
	}
	logs := e.logs.String()
	for _, state := range states {
		if strings.Contains(logs, state) || strings.Contains(err.Error(), state) {
			t.Errorf("a clientState appears in the logs or an error")
		}
	}
	if !strings.Contains(logs, `"level":"WARN"`) {
		t.Error("expected warnings in the captured logs; is the logger wired?")
	}
}

func TestDuplicateSubscriptionDeleted(t *testing.T) {
	t.Parallel()
	e := setup(t, envConfig{})
	ctx := context.Background()
	e.ensure("customers")
	// A second stored subscription for the same set (say, two processes raced).
	rec, err := e.client.Create(ctx, bc.Ref{Path: "subscriptions"}, map[string]string{
		"notificationUrl": e.m.PublicURL(), "resource": "/api/v2.0/companies(" + e.company + ")/customers", "clientState": "dup-state"})
	if err != nil {
		t.Fatal(err)
	}
	var dup struct {
		ID string `json:"subscriptionId"`
	}
	if err := rec.Decode(&dup); err != nil {
		t.Fatal(err)
	}
	stored, _ := e.store.Subscriptions(ctx, connID)
	d := stored[0]
	d.ID, d.ClientStateHash = dup.ID, sha256Of("dup-state")
	if err := e.store.PutSubscription(ctx, d); err != nil {
		t.Fatal(err)
	}
	res := e.ensure("customers")
	if len(res.Removed)+len(res.Created)+len(res.Recreated) != 0 {
		t.Errorf("Ensure = %+v, want only the duplicate dropped", res)
	}
	if r := e.remote(); len(r) != 1 {
		t.Fatalf("BC holds %d subscriptions, want 1", len(r))
	}
	after, _ := e.store.Subscriptions(ctx, connID)
	if len(after) != 1 {
		t.Fatalf("store holds %d subscriptions, want 1", len(after))
	}
	// The survivor still notifies and is still tracked.
	id := e.ids("customers", 1)[0]
	if _, err := e.emu.Update(e.companyRef(), "customers", id, map[string]any{"displayName": "after dedup"}); err != nil {
		t.Fatal(err)
	}
	if h := e.hint(); h.ID != id || h.SubscriptionID != after[0].ID {
		t.Errorf("hint = %+v", h)
	}
	if st := e.m.Stats(); len(st.Subscriptions) != 1 || st.Subscriptions[0].ID != after[0].ID {
		t.Errorf("tracked = %+v", st.Subscriptions)
	}
}

func sha256Of(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func TestFailedDeletionRetried(t *testing.T) {
	t.Parallel()
	e := setup(t, envConfig{})
	ctx := context.Background()
	e.ensure("customers", "vendors")
	rules, err := fault.Parse("500:/v2.0/**/subscriptions(")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.emu.Faults().Add(rules[0]); err != nil {
		t.Fatal(err)
	}
	res, err := e.m.Ensure(ctx, e.client, connID, e.company, []string{"customers"})
	if err == nil || !strings.Contains(err.Error(), "deleting the subscription to vendors") {
		t.Fatalf("Ensure with BC failing deletes: %v", err)
	}
	if len(res.Removed) != 0 {
		t.Errorf("Removed = %v although the delete failed", res.Removed)
	}
	var removing webhook.Subscription
	stored, _ := e.store.Subscriptions(ctx, connID)
	for _, s := range stored {
		if s.EntitySet == "vendors" {
			removing = s
		}
	}
	if removing.State != webhook.StateRemoving || removing.LastError == "" {
		t.Fatalf("vendors subscription after the failed delete: %+v", removing)
	}
	// Its notifications still arrive; they are acknowledged and ignored.
	if _, err := e.emu.Update(e.companyRef(), "vendors", e.ids("vendors", 1)[0], map[string]any{"displayName": "x"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the vendors notification", func() bool { return e.m.Stats().Unknown == 1 })
	e.noHint(50 * time.Millisecond)

	e.emu.Faults().Reset()
	res = e.ensure("customers")
	if !slices.Equal(res.Removed, []string{"vendors"}) {
		t.Errorf("Removed = %v, want [vendors] once BC deletes again", res.Removed)
	}
	if r := e.remote(); len(r) != 1 {
		t.Errorf("BC holds %d subscriptions, want 1", len(r))
	}
}

// TestMissedAcrossInstances: instance A makes the subscriptions and receives the
// notifications; instance B (another Manager on the same store) polls the sets. A change
// BC notified to A is not missed at B; a change nobody notified is counted by B, in its
// stats and in the stored subscription every instance reads.
func TestMissedAcrossInstances(t *testing.T) {
	t.Parallel()
	e := setup(t, envConfig{clock: true})
	e.ensure("customers", "vendors")
	now := e.clock.Now()
	b, err := webhook.NewManager(webhook.Options{PublicURL: e.m.PublicURL(), Store: e.store, Now: e.clock.Now,
		Hint: func(context.Context, webhook.Hint) {}, Logger: e.logs.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })

	id := e.ids("customers", 1)[0]
	if _, err := e.emu.Update(e.companyRef(), "customers", id, map[string]any{"displayName": "Notified to A"}); err != nil {
		t.Fatal(err)
	}
	h := e.hint() // A received it
	b.ObservedChange(connID, e.company, "customers", h.At)
	b.ObservedChange(connID, e.company, "vendors", now.Add(time.Second))
	e.clock.Advance(webhook.DefaultMissedAfter + 2*time.Second)
	if st := b.Stats(); st.Missed != 1 {
		t.Fatalf("instance B: Missed = %d, want 1 (vendors only: A was notified of the customer)", st.Missed)
	}
	if st := e.m.Stats(); st.Missed != 0 {
		t.Errorf("instance A: Missed = %d, want 0", st.Missed)
	}
	subs, err := e.store.Subscriptions(context.Background(), connID)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range subs {
		want := int64(0)
		if s.EntitySet == "vendors" {
			want = 1
		}
		if s.MissedCount != want {
			t.Errorf("stored %s: MissedCount %d, want %d", s.EntitySet, s.MissedCount, want)
		}
		if s.EntitySet == "customers" && s.NotifiedUpTo.Before(h.At) {
			t.Errorf("stored customers: NotifiedUpTo %v, before the notification's %v", s.NotifiedUpTo, h.At)
		}
	}
}
