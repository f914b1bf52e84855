package syncer_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/syncer"
)

// deletes returns the delete entries of the change log for a set.
func (w *world) deletes(set string) map[string]bool {
	w.t.Helper()
	out := map[string]bool{}
	for _, c := range w.assertChangeLog() {
		if c.EntitySet == set && c.Op == store.OpDelete {
			out[c.ID] = true
		}
	}
	return out
}

// draftInvoice returns a sales invoice BC lets delete, with at least one line.
func (w *world) draftInvoice() string {
	w.t.Helper()
	hasLines := map[string]bool{}
	for row := range w.emu.Rows(w.ref, "salesInvoiceLines") {
		hasLines[row["documentId"].(string)] = true
	}
	for row := range w.emu.Rows(w.ref, "salesInvoices") {
		if id := row["id"].(string); row["status"] == "Draft" && hasLines[id] {
			return id
		}
	}
	w.t.Fatal("no draft sales invoice with lines")
	return ""
}

// TestSyncReconcilesEveryNPasses: with webhooks off, Sync alone (what `serve` schedules)
// makes deletes in BC reach the replica and the change log within ReconcileEvery passes,
// documents with their lines. Before scheduled reconciliation, they never did.
func TestSyncReconcilesEveryNPasses(t *testing.T) {
	t.Parallel()
	w := newWorld(t, emulator.Config{}, "", syncer.Options{ReconcileEvery: 3, ReconcileInterval: -1})
	ctx := context.Background()
	cust, inv := w.target("customers"), w.target("salesInvoices")
	for _, tg := range []syncer.Target{cust, inv} {
		if _, err := w.sync.Sync(ctx, w.client, tg); err != nil { // the full sync
			t.Fatal(err)
		}
	}
	var custID string
	for row := range w.emu.Rows(w.ref, "customers") {
		custID = row["id"].(string)
		break
	}
	invID := w.draftInvoice()
	var lineIDs []string
	for row := range w.emu.Rows(w.ref, "salesInvoiceLines") {
		if row["documentId"] == invID {
			lineIDs = append(lineIDs, row["id"].(string))
		}
	}
	if err := w.emu.Delete(w.ref, "customers", custID); err != nil {
		t.Fatal(err)
	}
	if err := w.emu.Delete(w.ref, "salesInvoices", invID); err != nil {
		t.Fatal(err)
	}
	for pass := 1; pass <= 3; pass++ {
		for _, tg := range []syncer.Target{cust, inv} {
			res, err := w.sync.Sync(ctx, w.client, tg)
			if err != nil {
				t.Fatal(err)
			}
			if pass < 3 && res.Deleted != 0 {
				t.Fatalf("pass %d of %s deleted %d rows before reconciliation was due", pass, tg.EntitySet, res.Deleted)
			}
			want := int64(1) // the customer; the invoice and its lines
			if tg == inv {
				want += int64(len(lineIDs))
			}
			if pass == 3 && res.Deleted != want {
				t.Fatalf("pass 3 of %s deleted %d rows, want %d", tg.EntitySet, res.Deleted, want)
			}
		}
	}
	w.assertEqual("customers", "salesInvoices", "salesInvoiceLines")
	if !w.deletes("customers")[custID] || !w.deletes("salesInvoices")[invID] {
		t.Fatal("the change log has no delete of the deleted customer and invoice")
	}
	for _, id := range lineIDs {
		if !w.deletes("salesInvoiceLines")[id] {
			t.Fatalf("the change log has no delete of line %s of the deleted invoice", id)
		}
	}
	st, err := w.db.SyncState(ctx, store.ReplicaKey{ConnectionID: w.connID, CompanyID: w.ref.CompanyID, EntitySet: "customers"})
	if err != nil || st.LastReconcileAt.IsZero() || st.LastError != "" {
		t.Fatalf("sync state after reconciliation: %+v %v", st, err)
	}
}

// TestSyncReconcilesAfterInterval: the time bound holds across processes (a new Syncer
// counts no passes): a pass after ReconcileInterval reconciles; ledgers are skipped.
func TestSyncReconcilesAfterInterval(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	w := newWorld(t, emulator.Config{}, "", syncer.Options{ReconcileEvery: -1, ReconcileInterval: 10 * time.Minute, Now: clock})
	ctx := context.Background()
	cust, gl := w.target("customers"), w.target("generalLedgerEntries")
	for _, tg := range []syncer.Target{cust, gl} {
		if _, err := w.sync.Sync(ctx, w.client, tg); err != nil {
			t.Fatal(err)
		}
	}
	var custID string
	for row := range w.emu.Rows(w.ref, "customers") {
		custID = row["id"].(string)
	}
	if err := w.emu.Delete(w.ref, "customers", custID); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if res, err := w.sync.Sync(ctx, w.client, cust); err != nil || res.Deleted != 0 {
			t.Fatalf("pass before the interval: %+v %v", res, err)
		}
	}
	mu.Lock()
	now = now.Add(11 * time.Minute)
	mu.Unlock()
	before := w.client.Stats().Requests
	if res, err := w.sync.Sync(ctx, w.client, gl); err != nil || res.Deleted != 0 {
		t.Fatalf("ledger pass: %+v %v", res, err)
	}
	if n := w.client.Stats().Requests - before; n != 1 {
		t.Errorf("a ledger pass after the interval made %d requests, want 1 (no reconciliation)", n)
	}
	if res, err := w.sync.Sync(ctx, w.client, cust); err != nil || res.Deleted != 1 {
		t.Fatalf("pass after the interval: %+v %v", res, err)
	}
	w.assertEqual("customers")
	if !w.deletes("customers")[custID] {
		t.Fatal("no delete change for the deleted customer")
	}
}

// TestReconcileRequestsArePerPage: reconciling a set costs one request per id page, not
// one per record, and one more per 50 missing ids to confirm them.
func TestReconcileRequestsArePerPage(t *testing.T) {
	t.Parallel()
	w := newWorld(t, emulator.Config{MaxPageSize: 100}, "small,customers=950", syncer.Options{})
	ctx := context.Background()
	tg := w.target("customers")
	if _, err := w.sync.Full(ctx, w.client, tg, false); err != nil {
		t.Fatal(err)
	}
	n := 0
	for row := range w.emu.Rows(w.ref, "customers") {
		if n%10 == 0 {
			if err := w.emu.Delete(w.ref, "customers", row["id"].(string)); err != nil {
				t.Fatal(err)
			}
		}
		n++
	}
	before := w.client.Stats().Requests
	res, err := w.sync.Reconcile(ctx, w.client, tg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Deleted != 95 {
		t.Errorf("deleted %d, want 95", res.Deleted)
	}
	// 855 live ids in pages of 100: 9 pages; 95 missing ids: 2 confirmations.
	if got := w.client.Stats().Requests - before; got != 11 {
		t.Errorf("reconciliation made %d requests, want 11", got)
	}
	w.assertEqual("customers")
}
