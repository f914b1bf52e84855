package syncer_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/bizzjoiner/bcconnector/conn"
	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/syncer"
)

// holdPage is a transport that, once armed, reads the next incremental page of an entity
// set in full (BC's data as of that moment), reports it on read and hands it to the
// syncer only when release is closed: the page stays in flight, as a slow one would,
// while the test writes in BC and applies the write-through.
type holdPage struct {
	next    http.RoundTripper
	set     string
	armed   atomic.Bool
	read    chan struct{}
	release chan struct{}
}

func (h *holdPage) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := h.next.RoundTrip(r)
	if err != nil || !strings.Contains(r.URL.Path, "/"+h.set) || !strings.Contains(r.URL.RawQuery, "lastModifiedDateTime") ||
		!h.armed.CompareAndSwap(true, false) {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	close(h.read)
	<-h.release
	return resp, nil
}

// TestPassNeverUndoesLaterWrite: an incremental pass whose page was read before a
// write-through (or a webhook delete) and is applied after it must not put the older
// version back, nor bring back a deleted record or line. The page is held in flight on
// purpose until the later write is in the replica. The test loop found this as
// web/api TestWriteThroughAppliesAtOnce failing 1 run in 4 under load.
func TestPassNeverUndoesLaterWrite(t *testing.T) {
	t.Parallel()
	w := newWorld(t, emulator.Config{}, "small", syncer.Options{PageSize: 250})
	ctx := context.Background()
	targets, err := w.sync.Targets(w.connID, w.ref.CompanyID, []string{"customers", "salesInvoices"})
	if err != nil {
		t.Fatal(err)
	}
	tg := map[string]syncer.Target{}
	for _, x := range targets {
		if _, err := w.sync.Full(ctx, w.client, x, false); err != nil {
			t.Fatal(err)
		}
		tg[x.EntitySet] = x
	}
	key := func(set string) store.ReplicaKey {
		return store.ReplicaKey{ConnectionID: w.connID, CompanyID: w.ref.CompanyID, EntitySet: set}
	}
	var customers, invoices []string
	for row := range w.emu.Rows(w.ref, "customers") {
		customers = append(customers, row["id"].(string))
	}
	lines := map[string][]string{}
	for row := range w.emu.Rows(w.ref, "salesInvoiceLines") {
		doc := row["documentId"].(string)
		lines[doc] = append(lines[doc], row["id"].(string))
	}
	for row := range w.emu.Rows(w.ref, "salesInvoices") {
		if id := row["id"].(string); len(lines[id]) >= 2 {
			invoices = append(invoices, id)
		}
	}
	if len(customers) < 3 || len(invoices) < 2 {
		t.Fatalf("seed has %d customers and %d invoices with 2 lines", len(customers), len(invoices))
	}

	// race runs an incremental pass of set whose page is read after touch (which puts id in
	// the pass's window) and applied only after later (the write in BC and its write-through).
	race := func(set, id string, later func()) {
		t.Helper()
		touch := map[string]any{"displayName": "In the pass"}
		if set == "salesInvoices" {
			touch = map[string]any{"externalDocumentNumber": "IN-PASS"}
		}
		if _, err := w.emu.Update(w.ref, set, id, touch); err != nil {
			t.Fatal(err)
		}
		h := &holdPage{next: w.sb.Client().Transport, set: set, read: make(chan struct{}), release: make(chan struct{})}
		h.armed.Store(true)
		held := w.open(conn.Options{Retry: fastRetry, HTTPClient: &http.Client{Transport: h}}).BC
		done := make(chan error, 1)
		go func() {
			_, err := w.sync.Incremental(ctx, held, tg[set])
			done <- err
		}()
		select {
		case <-h.read:
		case err := <-done:
			t.Fatalf("the pass ended (%v) without reading a page of %s", err, set)
		}
		later()
		close(h.release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	// lastOp is the last change the log holds for id.
	lastOp := func(set, id string) store.Change {
		t.Helper()
		var last store.Change
		for since := int64(0); ; {
			page, err := w.db.Changes(ctx, since, 5000)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				return last
			}
			for _, c := range page {
				if c.EntitySet == set && c.ID == id {
					last = c
				}
			}
			since = page[len(page)-1].Seq
		}
	}
	gone := func(set, id string) {
		t.Helper()
		if _, err := w.db.ReplicaGet(ctx, key(set), id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s %s was deleted, but the replica has it again (err %v)", set, id, err)
		}
		if c := lastOp(set, id); c.Op != store.OpDelete {
			t.Errorf("%s %s: the change log ends with %+v after its delete", set, id, c)
		}
	}
	current := func(set, id string) {
		t.Helper()
		row, err := w.db.ReplicaGet(ctx, key(set), id)
		if err != nil {
			t.Fatal(err)
		}
		if src, _ := w.emu.RowJSON(w.ref, set, id); !bytes.Equal(src, row.Raw) {
			t.Errorf("%s %s: the replica went back to an older version:\n BC:      %s\n replica: %s", set, id, src, row.Raw)
		}
		if c := lastOp(set, id); c.ETag != row.ETag {
			t.Errorf("%s %s: the change log ends with %+v, not the current ETag %s", set, id, c, row.ETag)
		}
	}
	apply := func(set, id string) {
		t.Helper()
		if _, err := w.sync.Apply(ctx, w.client, tg[set], id); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("update", func(t *testing.T) {
		id := customers[0]
		race("customers", id, func() {
			if _, err := w.emu.Update(w.ref, "customers", id, map[string]any{"displayName": "Written through"}); err != nil {
				t.Fatal(err)
			}
			apply("customers", id)
		})
		current("customers", id)
	})
	t.Run("delete", func(t *testing.T) {
		id := customers[1]
		race("customers", id, func() {
			if err := w.emu.Delete(w.ref, "customers", id); err != nil {
				t.Fatal(err)
			}
			apply("customers", id)
		})
		gone("customers", id)
	})
	t.Run("webhook delete", func(t *testing.T) {
		id := customers[2]
		race("customers", id, func() {
			if err := w.emu.Delete(w.ref, "customers", id); err != nil {
				t.Fatal(err)
			}
			if _, err := w.sync.Delete(ctx, tg["customers"], id); err != nil {
				t.Fatal(err)
			}
		})
		gone("customers", id)
	})
	t.Run("line deleted", func(t *testing.T) {
		doc, line := invoices[0], lines[invoices[0]][0]
		race("salesInvoices", doc, func() {
			if err := w.emu.Delete(w.ref, "salesInvoiceLines", line); err != nil {
				t.Fatal(err)
			}
			apply("salesInvoices", doc)
		})
		current("salesInvoices", doc)
		gone("salesInvoiceLines", line)
	})
	t.Run("document deleted", func(t *testing.T) {
		doc := invoices[1]
		race("salesInvoices", doc, func() {
			if err := w.emu.Delete(w.ref, "salesInvoices", doc); err != nil {
				t.Fatal(err)
			}
			apply("salesInvoices", doc)
		})
		gone("salesInvoices", doc)
		for _, l := range lines[doc] {
			gone("salesInvoiceLines", l)
		}
	})
	w.assertEqual("customers", "salesInvoices", "salesInvoiceLines")
	w.assertChangeLog()
}
