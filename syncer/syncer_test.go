package syncer_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/emulator/emulatortest"
	"github.com/bizzjoiner/bcconnector/emulator/fault"
	"github.com/bizzjoiner/bcconnector/emulator/throttle"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/syncer"
)

var defaultSets = []string{
	"customers", "vendors", "items", "contacts", "employees", "accounts", "generalLedgerEntries",
	"salesOrders", "salesOrderLines", "salesInvoices", "salesInvoiceLines", "purchaseInvoices",
	"purchaseInvoiceLines", "currencies", "paymentTerms", "dimensions", "dimensionValues",
}

var replicated = append(defaultSets[:0:0], defaultSets...)

func (w *world) syncAll(ctx context.Context, full bool) {
	w.t.Helper()
	targets, err := w.sync.Targets(w.connID, w.ref.CompanyID, defaultSets)
	if err != nil {
		w.t.Fatal(err)
	}
	for _, tg := range targets {
		var err error
		if full {
			_, err = w.sync.Full(ctx, w.client, tg, false)
		} else {
			_, err = w.sync.Sync(ctx, w.client, tg)
			if err == nil {
				_, err = w.sync.Reconcile(ctx, w.client, tg)
			}
		}
		if err != nil {
			w.t.Fatalf("%s: %v", tg.EntitySet, err)
		}
	}
}

// TestFullThenIncremental: a full sync of the default sets equals BC row for row; after
// creates, updates and deletes in BC, an incremental run plus reconciliation makes it
// equal again, with a clean change log.
func TestFullThenIncremental(t *testing.T) {
	t.Parallel()
	w := newWorld(t, emulator.Config{}, "small,generalLedgerEntries=3000", syncer.Options{PageSize: 250})
	ctx := context.Background()
	w.syncAll(ctx, true)
	w.assertEqual(replicated...)
	firstLog := len(w.assertChangeLog())

	// Changes inside BC: master data, postings, documents and their lines.
	if err := w.emu.Mutate(300, emulator.MutatorConfig{}); err != nil {
		t.Fatal(err)
	}
	var invoice string
	for row := range w.emu.Rows(w.ref, "salesInvoices") {
		if row["status"] == "Draft" {
			invoice = row["id"].(string)
			break
		}
	}
	var line string
	for row := range w.emu.Rows(w.ref, "salesInvoiceLines") {
		if row["documentId"] == invoice {
			line = row["id"].(string)
			break
		}
	}
	if err := w.emu.Delete(w.ref, "salesInvoiceLines", line); err != nil {
		t.Fatal(err)
	}
	w.syncAll(ctx, false)
	w.assertEqual(replicated...)
	log := w.assertChangeLog()
	if len(log) <= firstLog {
		t.Errorf("no change logged for the incremental run")
	}
	// A second incremental run with nothing new applies nothing.
	before := len(log)
	w.syncAll(ctx, false)
	if after := len(w.assertChangeLog()); after != before {
		t.Errorf("an idle incremental run logged %d changes", after-before)
	}
}

// TestFaultMix: 429s, 5xx with Retry-After, connection resets mid-page, malformed JSON and
// a short token lifetime; the replica still equals BC.
func TestFaultMix(t *testing.T) {
	t.Parallel()
	rules, err := fault.Parse("429(none)@0.08:bc,503(none)@0.05:bc,502(none)@0.03:bc,reset@0.03:bc,malformed@0.03:bc")
	if err != nil {
		t.Fatal(err)
	}
	w := newWorld(t, emulator.Config{Faults: rules, TokenLifetime: 6 * time.Minute}, "small,generalLedgerEntries=2000", syncer.Options{PageSize: 200})
	w.syncAll(context.Background(), true)
	w.assertEqual(replicated...)
	w.assertChangeLog()
	inj := w.emu.Faults().Injected()
	if inj["429"] == 0 || inj["reset"] == 0 || inj["malformed"] == 0 {
		t.Errorf("faults injected: %v", inj)
	}
	if s := w.client.Stats(); s.Throttled == 0 {
		t.Errorf("client saw no 429: %+v", s)
	}
}

// TestResumeAfterInterruption: a full sync cut off after a few pages resumes from its
// checkpoints and ends equal to BC, without duplicates in the change log.
func TestResumeAfterInterruption(t *testing.T) {
	t.Parallel()
	var pages atomic.Int64
	var cancel context.CancelFunc
	w := newWorld(t, emulator.Config{}, "small,generalLedgerEntries=4000", syncer.Options{PageSize: 100, Progress: func(syncer.Progress) {
		if pages.Add(1) == 7 {
			cancel()
		}
	}})
	ctx, c := context.WithCancel(context.Background())
	cancel = c
	tg := w.target("generalLedgerEntries")
	if _, err := w.sync.Full(ctx, w.client, tg, false); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted sync: %v", err)
	}
	st, _ := w.db.SyncState(context.Background(), store.ReplicaKey{ConnectionID: tg.ConnectionID, CompanyID: tg.CompanyID, EntitySet: tg.EntitySet})
	if st.FullSyncDone || len(st.Checkpoints) == 0 {
		t.Fatalf("state after interruption: %+v", st)
	}
	requestsBefore := w.client.Stats().Requests
	if _, err := w.sync.Sync(context.Background(), w.client, tg); err != nil {
		t.Fatal(err)
	}
	w.assertEqual("generalLedgerEntries")
	log := w.assertChangeLog()
	if len(log) != w.emu.Count(w.ref, "generalLedgerEntries") {
		t.Errorf("change log has %d entries for %d rows", len(log), w.emu.Count(w.ref, "generalLedgerEntries"))
	}
	if got := w.client.Stats().Requests - requestsBefore; got >= 40+6 {
		t.Errorf("resume re-read from the start: %d requests", got)
	}
}

// TestOverlapCatchesLateCommits: a record committed with a timestamp older than the
// watermark (a long transaction) is still picked up thanks to the overlap window.
func TestOverlapCatchesLateCommits(t *testing.T) {
	t.Parallel()
	clock := emulatortest.NewClock(time.Now())
	w := newWorld(t, emulator.Config{Now: clock.Now}, "", syncer.Options{Overlap: time.Minute})
	ctx := context.Background()
	tg := w.target("customers")
	if _, err := w.sync.Full(ctx, w.client, tg, false); err != nil {
		t.Fatal(err)
	}
	clock.Advance(10 * time.Second)
	if _, err := w.emu.Create(w.ref, "customers", map[string]any{"displayName": "Fresh"}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.sync.Incremental(ctx, w.client, tg); err != nil {
		t.Fatal(err)
	}
	// A transaction that started earlier commits now, stamped 20 s before the watermark.
	clock.Advance(-20 * time.Second) // 10 s before the start
	if _, err := w.emu.Create(w.ref, "customers", map[string]any{"displayName": "Late commit"}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(30 * time.Second) // 20 s after the start
	if _, err := w.sync.Incremental(ctx, w.client, tg); err != nil {
		t.Fatal(err)
	}
	w.assertEqual("customers")
}

// TestWebhookDeleteAndObserved: a `deleted` notification removes the record from the
// replica at once; an incremental run that finds changes reports them to the webhook
// manager's safety net.
func TestWebhookDeleteAndObserved(t *testing.T) {
	t.Parallel()
	var observed atomic.Int64
	w := newWorld(t, emulator.Config{}, "", syncer.Options{Observed: func(syncer.Target, time.Time) { observed.Add(1) }})
	ctx := context.Background()
	tg := w.target("salesInvoices")
	if _, err := w.sync.Full(ctx, w.client, tg, false); err != nil {
		t.Fatal(err)
	}
	var id string
	for row := range w.emu.Rows(w.ref, "salesInvoices") {
		if row["status"] == "Draft" {
			id = row["id"].(string)
			break
		}
	}
	if err := w.emu.Delete(w.ref, "salesInvoices", id); err != nil {
		t.Fatal(err)
	}
	// What the webhook hint of changeType "deleted" does.
	if res, err := w.sync.Delete(ctx, tg, id); err != nil || res.Deleted == 0 {
		t.Fatalf("delete: %+v %v", res, err)
	}
	w.assertEqual("salesInvoices", "salesInvoiceLines")
	if _, err := w.emu.Create(w.ref, "salesInvoices", map[string]any{"customerNumber": firstNumber(w, "customers")}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.sync.Incremental(ctx, w.client, tg); err != nil {
		t.Fatal(err)
	}
	if observed.Load() != 1 {
		t.Errorf("observed %d change reports, want 1", observed.Load())
	}
	w.assertEqual("salesInvoices", "salesInvoiceLines")
}

func firstNumber(w *world, set string) string {
	for row := range w.emu.Rows(w.ref, set) {
		return row["number"].(string)
	}
	return ""
}

// TestLedgerPagePerRange: a ledger's full sync reads each entryNumber range in one
// request (2 probes and one request per page, no nextLink), keeps all of BC's 5 slots
// busy with its 6 workers, and never has more than 5 requests at BC: the sixth waits in
// the client's limiter, not in BC's queue.
func TestLedgerPagePerRange(t *testing.T) {
	t.Parallel()
	w := newWorld(t, emulator.Config{Latency: throttle.Latency{Overhead: 20 * time.Millisecond, PerRow: 250 * time.Microsecond}},
		"small,generalLedgerEntries=2100", syncer.Options{PageSize: 200})
	before := w.emu.AppLimitStats(w.sb.Creds.ClientID)
	res, err := w.sync.Full(context.Background(), w.client, w.target("generalLedgerEntries"), false)
	if err != nil {
		t.Fatal(err)
	}
	w.assertEqual("generalLedgerEntries")
	after := w.emu.AppLimitStats(w.sb.Creds.ClientID)
	// 10 ranges of 200 and the last of 100 (ranges of two pages each would be 12 pages).
	if got := after.Admitted - before.Admitted; res.Pages != 11 || got != 2+11 {
		t.Errorf("%d pages in %d requests, want 11 pages in 13 (2 probes, one request per range)", res.Pages, got)
	}
	if after.MaxOpen != 5 {
		t.Errorf("BC held at most %d requests of the app at once, want 5 (all its slots, none queued)", after.MaxOpen)
	}
}
