package notify

import (
	"context"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func TestCoalescingOnePostAfterDelay(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t)
	synctest.Test(t, func(t *testing.T) {
		m := newManager(t, rc, Config{})
		sub := mustCreate(t, m, rc.url(), custRes, "secret-state")
		t0 := time.Now().UTC()
		m.Publish(Change{Resource: custChanged, Key: k1, Type: ChangeCreated, At: t0, HasLastModified: true})
		time.Sleep(10 * time.Second)
		m.Publish(Change{Resource: custChanged, Key: k2, Type: ChangeUpdated, At: t0.Add(10 * time.Second), HasLastModified: true})
		m.Publish(Change{Resource: custChanged, Key: k3, Type: ChangeDeleted, At: t0.Add(10*time.Second + 500*time.Millisecond), HasLastModified: true})

		time.Sleep(19*time.Second + 999*time.Millisecond) // just before the 30 s window closes
		synctest.Wait()
		if n := len(rc.postList()); n != 0 {
			t.Fatalf("%d POSTs before the 30 s delay elapsed, want 0", n)
		}
		time.Sleep(time.Second)
		synctest.Wait()

		posts := rc.postList()
		if len(posts) != 1 {
			t.Fatalf("%d POSTs, want 1", len(posts))
		}
		p := posts[0]
		if p.ContentType != "application/json" {
			t.Errorf("Content-Type = %q, want application/json", p.ContentType)
		}
		if p.Body[0] != '{' {
			t.Errorf("body starts with %q, want '{' (no BOM)", p.Body[:3])
		}
		got := decodePayload(t, p.Body)
		exp := formatTime(sub.ExpirationDateTime)
		want := []Notification{
			{sub.SubscriptionID, "secret-state", exp, custRes + "(" + k1 + ")", "created", formatTime(t0)},
			{sub.SubscriptionID, "secret-state", exp, custRes + "(" + k2 + ")", "updated", formatTime(t0.Add(10 * time.Second))},
			{sub.SubscriptionID, "secret-state", exp, custRes + "(" + k3 + ")", "deleted", formatTime(t0.Add(10*time.Second + 500*time.Millisecond))},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("notifications:\n got %+v\nwant %+v", got, want)
		}
		ds := m.Deliveries()
		if len(ds) != 1 || ds[0].Outcome != OutcomeDelivered || ds[0].Attempt != 1 || !ds[0].At.Equal(t0.Add(30*time.Second)) {
			t.Errorf("deliveries = %+v, want one delivered attempt 1 at t0+30s", ds)
		}
	})
}

func TestSameRecordTwiceOneNotification(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t)
	synctest.Test(t, func(t *testing.T) {
		m := newManager(t, rc, Config{})
		mustCreate(t, m, rc.url(), custRes, "")
		t0 := time.Now()
		m.Publish(Change{Resource: custChanged, Key: k1, Type: ChangeUpdated, At: t0, HasLastModified: true})
		m.Publish(Change{Resource: custChanged, Key: k1, Type: ChangeUpdated, At: t0.Add(2 * time.Second), HasLastModified: true})
		time.Sleep(31 * time.Second)
		synctest.Wait()
		posts := rc.postList()
		if len(posts) != 1 {
			t.Fatalf("%d POSTs, want 1", len(posts))
		}
		got := decodePayload(t, posts[0].Body)
		if len(got) != 1 || got[0].ChangeType != "updated" || got[0].LastModifiedDateTime != formatTime(t0.Add(2*time.Second)) {
			t.Errorf("notifications = %+v, want one updated at the later time", got)
		}
	})
}

func TestAggMergeRules(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	type ch struct {
		key string
		typ ChangeType
	}
	tests := []struct {
		name    string
		changes []ch
		want    []string // "key:type"
	}{
		{"two updates merge", []ch{{k1, ChangeUpdated}, {k1, ChangeUpdated}}, []string{k1 + ":updated"}},
		{"created then updated stay apart", []ch{{k1, ChangeCreated}, {k1, ChangeUpdated}}, []string{k1 + ":created", k1 + ":updated"}},
		{"created then deleted stay apart", []ch{{k1, ChangeCreated}, {k1, ChangeDeleted}}, []string{k1 + ":created", k1 + ":deleted"}},
		{"updates merge before a delete", []ch{{k1, ChangeUpdated}, {k1, ChangeUpdated}, {k1, ChangeDeleted}}, []string{k1 + ":updated", k1 + ":deleted"}},
		{"created then two updates", []ch{{k1, ChangeCreated}, {k1, ChangeUpdated}, {k1, ChangeUpdated}}, []string{k1 + ":created", k1 + ":updated"}},
		{"interleaved records", []ch{{k1, ChangeUpdated}, {k2, ChangeUpdated}, {k1, ChangeUpdated}}, []string{k2 + ":updated", k1 + ":updated"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAgg(t0)
			for i, c := range tt.changes {
				a.apply(c.key, c.typ, t0.Add(time.Duration(i)*time.Second), true, 1000)
			}
			s := &Subscription{SubscriptionID: "s", Resource: custRes}
			var got []string
			for _, n := range a.notifications(s, t0) {
				key := strings.TrimSuffix(strings.TrimPrefix(n.Resource, custRes+"("), ")")
				got = append(got, key+":"+n.ChangeType)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCollectionAboveThreshold(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t)
	synctest.Test(t, func(t *testing.T) {
		m := newManager(t, rc, Config{MaxNotifications: 3})
		sub := mustCreate(t, m, rc.url(), custRes, "st")
		t0 := time.Now() // 2000-01-01T00:00:00Z in the bubble
		for i, k := range []string{k1, k2, k3, k4} {
			m.Publish(Change{Resource: custChanged, Key: k, Type: ChangeCreated, At: t0.Add(time.Duration(i) * time.Second), HasLastModified: true})
		}
		time.Sleep(31 * time.Second)
		synctest.Wait()
		posts := rc.postList()
		if len(posts) != 1 {
			t.Fatalf("%d POSTs, want 1", len(posts))
		}
		got := decodePayload(t, posts[0].Body)
		want := []Notification{{
			SubscriptionID:       sub.SubscriptionID,
			ClientState:          "st",
			ExpirationDateTime:   formatTime(sub.ExpirationDateTime),
			Resource:             custRes + "?$filter=lastModifiedDateTime%20gt%201999-12-31T23:59:59.95Z",
			ChangeType:           "collection",
			LastModifiedDateTime: formatTime(t0.Add(3 * time.Second)),
		}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("notifications:\n got %+v\nwant %+v", got, want)
		}
	})
}

func TestCollectionResourceForm(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 120_000_000, time.UTC)
	tests := []struct {
		name     string
		n        int // distinct changes, limit 3
		lastType ChangeType
		hasLM    bool
		want     string // resource of the only notification, "" if not a collection
	}{
		{"at the threshold: single notifications", 3, ChangeUpdated, true, ""},
		{"above: filter 50 ms before first change", 4, ChangeUpdated, true, custRes + "?$filter=lastModifiedDateTime%20gt%202026-03-01T10:00:00.07Z"},
		{"a delete in the window: bare resource", 4, ChangeDeleted, true, custRes},
		{"no lastModifiedDateTime: bare resource", 4, ChangeUpdated, false, custRes},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAgg(t0)
			keys := []string{k1, k2, k3, k4}
			for i := range tt.n {
				typ := ChangeUpdated
				if i == tt.n-1 {
					typ = tt.lastType
				}
				a.apply(keys[i], typ, t0.Add(time.Duration(i)*time.Millisecond), tt.hasLM, 3)
			}
			ns := a.notifications(&Subscription{Resource: custRes}, t0)
			if tt.want == "" {
				if len(ns) != tt.n || a.collection {
					t.Fatalf("got %d notifications (collection=%v), want %d single ones", len(ns), a.collection, tt.n)
				}
				return
			}
			if len(ns) != 1 || ns[0].ChangeType != "collection" || ns[0].Resource != tt.want {
				t.Fatalf("got %+v, want one collection with resource %s", ns, tt.want)
			}
		})
	}
}

func TestRetryOn503ThenSuccess(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t)
	rc.setStatus(func(n int) int {
		if n <= 2 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	synctest.Test(t, func(t *testing.T) {
		m := newManager(t, rc, Config{})
		sub := mustCreate(t, m, rc.url(), custRes, "")
		t0 := time.Now()
		m.Publish(Change{Resource: custChanged, Key: k1, Type: ChangeCreated, At: t0, HasLastModified: true})
		time.Sleep(40 * time.Second)
		// Joins the failed batch and goes out with its retry.
		m.Publish(Change{Resource: custChanged, Key: k2, Type: ChangeCreated, At: time.Now(), HasLastModified: true})
		time.Sleep(time.Hour)
		synctest.Wait()

		ds := m.Deliveries()
		if len(ds) != 3 {
			t.Fatalf("%d deliveries, want 3: %+v", len(ds), ds)
		}
		wantAt := []time.Duration{30 * time.Second, 90 * time.Second, 150 * time.Second}
		wantOutcome := []Outcome{OutcomeRetry, OutcomeRetry, OutcomeDelivered}
		for i, d := range ds {
			if d.Attempt != i+1 || d.Outcome != wantOutcome[i] || !d.At.Equal(t0.Add(wantAt[i])) {
				t.Errorf("delivery %d: attempt %d %s at +%s, want attempt %d %s at +%s",
					i, d.Attempt, d.Outcome, d.At.Sub(t0), i+1, wantOutcome[i], wantAt[i])
			}
		}
		if n := len(decodePayload(t, ds[0].Body)); n != 1 {
			t.Errorf("first POST has %d notifications, want 1", n)
		}
		if n := len(decodePayload(t, ds[1].Body)); n != 2 {
			t.Errorf("retry has %d notifications, want 2 (the kept one plus the new change)", n)
		}
		if _, ok := m.Get(sub.SubscriptionID); !ok {
			t.Error("subscription deleted after a successful retry")
		}
	})
}

func TestRetryOnTransportErrorAnd429(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t)
	rc.setStatus(func(n int) int {
		switch n {
		case 1:
			return -1 // connection dropped
		case 2:
			return http.StatusTooManyRequests
		case 3:
			return http.StatusRequestTimeout
		}
		return http.StatusNoContent
	})
	synctest.Test(t, func(t *testing.T) {
		m := newManager(t, rc, Config{})
		mustCreate(t, m, rc.url(), custRes, "")
		m.Publish(Change{Resource: custChanged, Key: k1, Type: ChangeUpdated, HasLastModified: true})
		time.Sleep(time.Hour)
		synctest.Wait()
		ds := m.Deliveries()
		var got []Outcome
		for _, d := range ds {
			got = append(got, d.Outcome)
		}
		want := []Outcome{OutcomeRetry, OutcomeRetry, OutcomeRetry, OutcomeDelivered}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("outcomes = %v, want %v", got, want)
		}
		if ds[0].Status != 0 || ds[0].Err == "" {
			t.Errorf("dropped connection recorded as status %d err %q, want 0 and an error", ds[0].Status, ds[0].Err)
		}
	})
}

func TestDeletionAfterRetriesExhausted(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t)
	rc.setStatus(func(int) int { return http.StatusInternalServerError })
	synctest.Test(t, func(t *testing.T) {
		m := newManager(t, rc, Config{})
		sub := mustCreate(t, m, rc.url(), custRes, "")
		t0 := time.Now()
		m.Publish(Change{Resource: custChanged, Key: k1, Type: ChangeCreated, At: t0, HasLastModified: true})
		time.Sleep(24 * time.Hour)
		synctest.Wait()

		ds := m.Deliveries()
		// 30 s delay, then 1m, 1m, 1m, 10m, 100m (bc-entra-facts §7.4).
		wantAt := []time.Duration{30 * time.Second, 90 * time.Second, 150 * time.Second, 210 * time.Second, 810 * time.Second, 6810 * time.Second}
		if len(ds) != len(wantAt) {
			t.Fatalf("%d POSTs, want %d", len(ds), len(wantAt))
		}
		for i, d := range ds {
			if !d.At.Equal(t0.Add(wantAt[i])) || d.Attempt != i+1 {
				t.Errorf("POST %d at +%s attempt %d, want +%s attempt %d", i, d.At.Sub(t0), d.Attempt, wantAt[i], i+1)
			}
		}
		last := ds[len(ds)-1]
		if last.Outcome != OutcomeGaveUp || !reflect.DeepEqual(last.Deleted, []string{sub.SubscriptionID}) {
			t.Errorf("last delivery %s deleted %v, want gave-up deleting %s", last.Outcome, last.Deleted, sub.SubscriptionID)
		}
		if _, ok := m.Get(sub.SubscriptionID); ok {
			t.Error("subscription still exists after every retry failed")
		}
	})
}

func TestNoRetriesWhenScheduleEmpty(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t)
	rc.setStatus(func(int) int { return http.StatusBadGateway })
	synctest.Test(t, func(t *testing.T) {
		m := newManager(t, rc, Config{RetrySchedule: []time.Duration{}, Delay: -1})
		sub := mustCreate(t, m, rc.url(), custRes, "")
		m.Publish(Change{Resource: custChanged, Key: k1, Type: ChangeCreated, HasLastModified: true})
		synctest.Wait()
		ds := m.Deliveries()
		if len(ds) != 1 || ds[0].Outcome != OutcomeGaveUp {
			t.Fatalf("deliveries = %+v, want one gave-up", ds)
		}
		if _, ok := m.Get(sub.SubscriptionID); ok {
			t.Error("subscription kept")
		}
	})
}

func TestRejectionDeletesEverySubscriptionOfTheURL(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t)
	rc.setStatus(func(int) int { return http.StatusNotFound })
	synctest.Test(t, func(t *testing.T) {
		m := newManager(t, rc, Config{})
		a := mustCreate(t, m, rc.url(), custRes, "")
		b := mustCreate(t, m, rc.url(), vendRes, "") // same URL, nothing pending
		m.Publish(Change{Resource: custChanged, Key: k1, Type: ChangeCreated, HasLastModified: true})
		time.Sleep(time.Hour)
		synctest.Wait()

		ds := m.Deliveries()
		if len(ds) != 1 || ds[0].Outcome != OutcomeRejected || ds[0].Status != 404 {
			t.Fatalf("deliveries = %+v, want one rejected 404 and no retry", ds)
		}
		if len(m.List()) != 0 {
			t.Errorf("subscriptions left: %+v", m.List())
		}
		if len(ds[0].Deleted) != 2 || !contains(ds[0].Deleted, a.SubscriptionID) || !contains(ds[0].Deleted, b.SubscriptionID) {
			t.Errorf("deleted %v, want both %s and %s", ds[0].Deleted, a.SubscriptionID, b.SubscriptionID)
		}
		m.Publish(Change{Resource: custChanged, Key: k2, Type: ChangeCreated, HasLastModified: true})
		time.Sleep(time.Minute)
		synctest.Wait()
		if n := len(rc.postList()); n != 1 {
			t.Errorf("%d POSTs after deletion, want still 1", n)
		}
	})
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestSubscriptionsSharingURLGetOnePost(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t)
	synctest.Test(t, func(t *testing.T) {
		m := newManager(t, rc, Config{})
		a := mustCreate(t, m, rc.url(), custRes, "A")
		b := mustCreate(t, m, rc.url(), vendRes, "B")
		c := mustCreate(t, m, rc.url()+"?route=2", custRes, "C") // another URL
		m.Publish(Change{Resource: custChanged, Key: k1, Type: ChangeUpdated, HasLastModified: true})
		m.Publish(Change{Resource: vendChanged, Key: k2, Type: ChangeCreated, HasLastModified: true})
		time.Sleep(31 * time.Second)
		synctest.Wait()

		ds := m.Deliveries()
		if len(ds) != 2 {
			t.Fatalf("%d POSTs, want 2 (one per notificationUrl)", len(ds))
		}
		byURL := map[string]Delivery{}
		for _, d := range ds {
			byURL[d.URL] = d
		}
		shared := byURL[rc.url()]
		got := decodePayload(t, shared.Body)
		if len(got) != 2 {
			t.Fatalf("shared POST has %d notifications, want 2: %+v", len(got), got)
		}
		first, second := a, b
		if b.SubscriptionID < a.SubscriptionID {
			first, second = b, a
		}
		if got[0].SubscriptionID != first.SubscriptionID || got[1].SubscriptionID != second.SubscriptionID {
			t.Errorf("order %s, %s; want by subscriptionId %s, %s", got[0].SubscriptionID, got[1].SubscriptionID, first.SubscriptionID, second.SubscriptionID)
		}
		for _, n := range got {
			wantState := map[string]string{a.SubscriptionID: "A", b.SubscriptionID: "B"}[n.SubscriptionID]
			if n.ClientState != wantState {
				t.Errorf("subscription %s clientState %q, want %q", n.SubscriptionID, n.ClientState, wantState)
			}
		}
		alone := decodePayload(t, byURL[rc.url()+"?route=2"].Body)
		if len(alone) != 1 || alone[0].SubscriptionID != c.SubscriptionID {
			t.Errorf("other URL got %+v, want one notification for %s", alone, c.SubscriptionID)
		}
	})
}

func TestExpiryStopsNotificationsAndSweeps(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t)
	synctest.Test(t, func(t *testing.T) {
		m := newManager(t, rc, Config{})
		t0 := time.Now()
		sub := mustCreate(t, m, rc.url(), custRes, "")
		if !sub.ExpirationDateTime.Equal(t0.Add(72 * time.Hour)) {
			t.Fatalf("expirationDateTime = %s, want created + 72h (%s)", sub.ExpirationDateTime, t0.Add(72*time.Hour))
		}
		time.Sleep(72*time.Hour + time.Second)
		if _, ok := m.Get(sub.SubscriptionID); !ok {
			t.Fatal("expired subscription vanished before the notifier ran; BC sweeps it in the sending job")
		}
		m.Publish(Change{Resource: custChanged, Key: k1, Type: ChangeCreated, HasLastModified: true})
		time.Sleep(31 * time.Second)
		synctest.Wait()
		if n := len(rc.postList()); n != 0 {
			t.Errorf("%d POSTs for an expired subscription, want 0", n)
		}
		if _, ok := m.Get(sub.SubscriptionID); ok {
			t.Error("expired subscription not deleted by the notifier run")
		}
	})
}

func TestRenewBeforeExpiryKeepsNotifying(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t)
	synctest.Test(t, func(t *testing.T) {
		m := newManager(t, rc, Config{})
		t0 := time.Now()
		sub := mustCreate(t, m, rc.url(), custRes, "")
		time.Sleep(71 * time.Hour)
		r, err := m.Renew(context.Background(), sub.SubscriptionID, sub.ETag)
		if err != nil {
			t.Fatal(err)
		}
		if want := t0.Add(143 * time.Hour); !r.ExpirationDateTime.Equal(want) {
			t.Fatalf("renewed expiration %s, want %s", r.ExpirationDateTime, want)
		}
		time.Sleep(2 * time.Hour) // past the original expiry
		m.Publish(Change{Resource: custChanged, Key: k1, Type: ChangeCreated, HasLastModified: true})
		time.Sleep(31 * time.Second)
		synctest.Wait()
		if n := len(rc.postList()); n != 1 {
			t.Errorf("%d POSTs, want 1", n)
		}
	})
}

func TestNegativeDelaySendsAtOnce(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t)
	synctest.Test(t, func(t *testing.T) {
		m := newManager(t, rc, Config{Delay: -1})
		mustCreate(t, m, rc.url(), custRes, "")
		t0 := time.Now()
		m.Publish(Change{Resource: custChanged, Key: k1, Type: ChangeCreated, HasLastModified: true})
		synctest.Wait()
		ds := m.Deliveries()
		if len(ds) != 1 || !ds[0].At.Equal(t0) {
			t.Fatalf("deliveries = %+v, want one at once", ds)
		}
	})
}

func TestChangesDuringFlightWaitTheirOwnWindow(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t)
	synctest.Test(t, func(t *testing.T) {
		m := newManager(t, rc, Config{})
		mustCreate(t, m, rc.url(), custRes, "")
		t0 := time.Now()
		m.Publish(Change{Resource: custChanged, Key: k1, Type: ChangeUpdated, HasLastModified: true})
		time.Sleep(45 * time.Second)
		m.Publish(Change{Resource: custChanged, Key: k1, Type: ChangeUpdated, HasLastModified: true})
		time.Sleep(time.Minute)
		synctest.Wait()
		ds := m.Deliveries()
		if len(ds) != 2 || !ds[0].At.Equal(t0.Add(30*time.Second)) || !ds[1].At.Equal(t0.Add(75*time.Second)) {
			for _, d := range ds {
				t.Logf("delivery at +%s", d.At.Sub(t0))
			}
			t.Fatalf("want POSTs at +30s and +75s")
		}
	})
}

func TestPublishIgnoresOtherResourcesAndBadInput(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t)
	synctest.Test(t, func(t *testing.T) {
		m := newManager(t, rc, Config{Delay: -1})
		mustCreate(t, m, rc.url(), custRes, "")
		m.Publish(Change{Resource: vendChanged, Key: k1, Type: ChangeCreated})
		m.Publish(Change{Resource: "api/v2.0/companies(" + strings.Repeat("0", 8) + ")/customers", Key: k1, Type: ChangeCreated})
		m.Publish(Change{Resource: custChanged, Key: k1, Type: "touched"})
		m.Publish(Change{Resource: "api/v2.0/companies(" + strings.ToUpper(company) + ")/Customers", Key: k2, Type: ChangeCreated, HasLastModified: true})
		synctest.Wait()
		ds := m.Deliveries()
		if len(ds) != 1 {
			t.Fatalf("%d POSTs, want 1 (only the case-insensitive match)", len(ds))
		}
		if got := decodePayload(t, ds[0].Body); len(got) != 1 || got[0].Resource != custRes+"("+k2+")" {
			t.Errorf("notifications = %+v", got)
		}
	})
}

func TestCloseCancelsInFlightDelivery(t *testing.T) {
	t.Parallel()
	block := make(chan struct{})
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tok := r.URL.Query().Get("validationToken"); tok != "" {
			_, _ = w.Write([]byte(tok))
			return
		}
		select {
		case <-r.Context().Done():
		case <-block:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(block) })
	m := NewManager(Config{Client: srv.Client(), Delay: -1})
	mustCreate(t, m, srv.URL, custRes, "")
	m.Publish(Change{Resource: custChanged, Key: k1, Type: ChangeCreated})
	deadline := time.Now().Add(5 * time.Second)
	for {
		m.mu.Lock()
		q := m.queues[srv.URL]
		inFlight := q != nil && q.inFlight
		m.mu.Unlock()
		if inFlight {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("delivery never started")
		}
		time.Sleep(5 * time.Millisecond)
	}
	done := make(chan struct{})
	go func() { m.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return while a POST was blocked")
	}
	ds := m.Deliveries()
	if len(ds) != 1 || ds[0].Outcome != OutcomeCancelled {
		t.Errorf("deliveries = %+v, want one cancelled", ds)
	}
	m.Publish(Change{Resource: custChanged, Key: k2, Type: ChangeCreated}) // no panic, no effect
}
