package bc

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/emulator"
)

func TestGetDecodesTypedAndRaw(t *testing.T) {
	t.Parallel()
	e := setup(t, emulator.Config{})
	c := e.client(Options{})
	ref := e.set("customers")
	p, err := c.ListPage(t.Context(), ref, &Query{Top: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Records) != 2 || p.NextLink != "" {
		t.Fatalf("Top 2: %d records, next %q", len(p.Records), p.NextLink)
	}
	id := p.Records[0].ID
	rec, err := c.Get(t.Context(), ref, id, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, etag, ok := e.emu.Get(e.emu.DemoCompanyRef(), "customers", id)
	if !ok {
		t.Fatal("emulator lost the customer")
	}
	var cu Customer
	if err := rec.Decode(&cu); err != nil {
		t.Fatal(err)
	}
	if rec.ID != id || rec.ETag != etag || cu.ETag != etag || cu.Number != want["number"] || cu.DisplayName != want["displayName"] {
		t.Errorf("Get = %+v / %+v, emulator has %v %q", rec, cu, want, etag)
	}
	if lm, _ := want["lastModifiedDateTime"].(time.Time); !rec.LastModified.Equal(lm) || !cu.LastModifiedDateTime.Equal(lm) {
		t.Errorf("LastModified = %v / %v, want %v", rec.LastModified, cu.LastModifiedDateTime, lm)
	}
	// The raw form of an entity read alone equals its form in a page.
	if _, ok := rec.Lookup("@odata.context"); ok {
		t.Error("Get kept @odata.context in the raw entity")
	}
	if string(rec.Raw) != string(p.Records[0].Raw) {
		t.Errorf("raw forms differ:\nget  %s\npage %s", rec.Raw, p.Records[0].Raw)
	}
	_, err = c.Get(t.Context(), ref, "00000000-0000-0000-0000-00000000abcd", nil)
	if !IsNotFound(err) {
		t.Errorf("Get of a missing id: %v", err)
	}
	sel, err := c.Get(t.Context(), ref, id, &Query{Select: []string{"id", "number"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := sel.Lookup("displayName"); ok {
		t.Errorf("$select ignored: %s", sel.Raw)
	}
}

func TestWritesWithETags(t *testing.T) {
	t.Parallel()
	e := setup(t, emulator.Config{})
	c := e.client(Options{})
	ref := e.set("customers")
	created, err := c.Create(t.Context(), ref, map[string]any{"displayName": "O'Brien & Söhne", "creditLimit": 1000})
	if err != nil {
		t.Fatal(err)
	}
	var cu Customer
	if err := created.Decode(&cu); err != nil || cu.DisplayName != "O'Brien & Söhne" || cu.CreditLimit != 1000 {
		t.Fatalf("created %+v, %v", cu, err)
	}
	updated, err := c.Update(t.Context(), ref, created.ID, created.ETag, map[string]any{"creditLimit": 2500.5})
	if err != nil {
		t.Fatal(err)
	}
	if updated.ETag == created.ETag || updated.ETag == "" {
		t.Errorf("etag did not change: %q", updated.ETag)
	}
	// The old ETag is stale now: a clear conflict error.
	_, err = c.Update(t.Context(), ref, created.ID, created.ETag, map[string]any{"creditLimit": 1})
	if !errors.Is(err, ErrConflict) || !IsConflict(err) {
		t.Fatalf("stale etag: err = %v, want ErrConflict", err)
	}
	var be *Error
	if !errors.As(err, &be) || be.Code != CodeEntityChanged || be.CorrelationID == "" || be.ClientRequestID == "" ||
		!strings.Contains(err.Error(), "read it again") {
		t.Errorf("conflict error lacks detail: %v", err)
	}
	if err := c.Delete(t.Context(), ref, created.ID, created.ETag); !IsConflict(err) {
		t.Errorf("Delete with a stale etag: %v", err)
	}
	// Missing ETags are refused before anything is sent.
	sent := e.bcRequests.Load()
	if _, err := c.Update(t.Context(), ref, created.ID, "", map[string]any{"creditLimit": 1}); err == nil || !strings.Contains(err.Error(), "AnyETag") {
		t.Errorf("Update without etag: %v", err)
	}
	if err := c.Delete(t.Context(), ref, created.ID, ""); err == nil {
		t.Error("Delete without etag was accepted")
	}
	if _, err := c.Create(t.Context(), ref, []string{"not", "an", "object"}); err == nil {
		t.Error("Create with a JSON array was accepted")
	}
	if e.bcRequests.Load() != sent {
		t.Error("invalid writes reached BC")
	}
	// "*" only when asked for.
	if _, err := c.Update(t.Context(), ref, created.ID, AnyETag, map[string]any{"creditLimit": 7}); err != nil {
		t.Errorf("Update with AnyETag: %v", err)
	}
	cur, err := c.Get(t.Context(), ref, created.ID, &Query{Primary: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(t.Context(), ref, created.ID, cur.ETag); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(t.Context(), ref, created.ID, nil); !IsNotFound(err) {
		t.Errorf("after Delete: %v", err)
	}
	// Headers: reads go to the replica, writes do not; writes carry If-Match.
	for _, r := range e.requests() {
		intent := r.Header.Get("Data-Access-Intent")
		if (r.Method == http.MethodGet) != (intent == "ReadOnly") && !(r.Method == http.MethodGet && intent == "") {
			t.Errorf("%s %s: Data-Access-Intent %q", r.Method, r.RequestURI, intent)
		}
		if (r.Method == http.MethodPatch || r.Method == http.MethodDelete) && r.Header.Get("If-Match") == "" {
			t.Errorf("%s without If-Match", r.Method)
		}
		if r.Header.Get("User-Agent") != "bcconnector" || len(r.Header.Get(ClientRequestIDHeader)) != 36 {
			t.Errorf("%s: headers %v", r.Method, r.Header)
		}
	}
}

func TestDeepInsertChildAndAction(t *testing.T) {
	t.Parallel()
	e := setup(t, emulator.Config{})
	c := e.client(Options{})
	invoices := e.set("salesInvoices")
	var cust Customer
	for cu, err := range As[Customer](c.List(t.Context(), e.set("customers"), &Query{PageSize: 5})) {
		if err != nil {
			t.Fatal(err)
		}
		cust = cu
		break
	}
	var item Item
	for it, err := range As[Item](c.List(t.Context(), e.set("items"), nil)) {
		if err != nil {
			t.Fatal(err)
		}
		item = it
		break
	}
	inv, err := c.Create(t.Context(), invoices, map[string]any{
		"customerNumber": cust.Number,
		"salesInvoiceLines": []map[string]any{
			{"lineType": "Item", "lineObjectNumber": item.Number, "quantity": 2},
			{"lineType": "Item", "lineObjectNumber": item.Number, "quantity": 3},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	lines := collect(t, c.List(t.Context(), invoices.Child(inv.ID, "salesInvoiceLines"), nil))
	if len(lines) != 2 {
		t.Fatalf("deep insert made %d lines", len(lines))
	}
	var qty float64
	for _, rec := range lines {
		var l SalesInvoiceLine
		if err := rec.Decode(&l); err != nil || l.DocumentID != inv.ID {
			t.Errorf("line %s: document %q, %v", rec.ID, l.DocumentID, err)
		}
		qty += l.Quantity
	}
	if qty != 5 {
		t.Errorf("line quantities add up to %v, want 5", qty)
	}
	out, err := c.Action(t.Context(), invoices, inv.ID, "post")
	if err != nil || out != nil {
		t.Fatalf("post: %s, %v", out, err)
	}
	var posted SalesInvoice
	got, err := c.Get(t.Context(), invoices, inv.ID, &Query{Primary: true})
	if err == nil {
		err = got.Decode(&posted)
	}
	if err != nil || posted.Status == "Draft" {
		t.Errorf("after post: status %q, %v", posted.Status, err)
	}
	// Posting twice is BC's business error, not retried.
	if _, err := c.Action(t.Context(), invoices, inv.ID, "Microsoft.NAV.post"); err == nil {
		t.Error("posting a posted invoice succeeded")
	}
	if _, err := c.Action(t.Context(), invoices, inv.ID, "post;$batch"); err == nil {
		t.Error("an invalid action name was sent")
	}
	n, err := c.Count(t.Context(), invoices, &Query{Filter: Eq("customerNumber", cust.Number)})
	if err != nil || n < 1 {
		t.Errorf("Count = %d, %v", n, err)
	}
	all, err := c.Count(t.Context(), e.set("customers"), nil)
	if want := e.emu.Count(e.emu.DemoCompanyRef(), "customers"); err != nil || all != int64(want) {
		t.Errorf("Count(customers) = %d, %v; want %d", all, err, want)
	}
}

func TestRetriedWritesResolveLostAnswers(t *testing.T) {
	t.Parallel()
	e := setup(t, emulator.Config{})
	c := e.client(Options{})
	ref := e.set("customers")
	id := newUUID()

	// CreateWithID: the first answer is lost after BC created the record; the retry finds
	// the id taken and returns the stored record.
	e.loseAnswers(http.MethodPost, 1)
	rec, err := c.CreateWithID(t.Context(), ref, id, map[string]any{"displayName": "Idempotent"})
	if err != nil {
		t.Fatalf("CreateWithID after a lost answer: %v", err)
	}
	if rec.ID != id {
		t.Errorf("resolved record id %q, want %q", rec.ID, id)
	}
	// Running the same work again is idempotent too.
	again, err := c.CreateWithID(t.Context(), ref, id, map[string]any{"displayName": "Idempotent"})
	if err != nil || again.ID != id {
		t.Errorf("second CreateWithID: %v", err)
	}
	n := 0
	for row := range e.emu.Rows(e.emu.DemoCompanyRef(), "customers") {
		if row["id"] == id {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d customers with the id, want 1", n)
	}
	if _, err := c.CreateWithID(t.Context(), ref, "not-a-guid", map[string]any{}); err == nil {
		t.Error("CreateWithID accepted an id that is not a GUID")
	}
	if _, err := c.CreateWithID(t.Context(), ref, id, map[string]any{"id": newUUID()}); err == nil {
		t.Error("CreateWithID accepted a body with another id")
	}

	// Update: the PATCH went through, its answer was lost; the retry meets a stale ETag,
	// sees the values in place and reports success.
	e.loseAnswers(http.MethodPatch, 1)
	up, err := c.Update(t.Context(), ref, id, rec.ETag, map[string]any{"displayName": "Renamed", "creditLimit": 10})
	if err != nil {
		t.Fatalf("Update after a lost answer: %v", err)
	}
	var cu Customer
	if err := up.Decode(&cu); err != nil || cu.DisplayName != "Renamed" || up.ETag == rec.ETag {
		t.Errorf("resolved update %+v, %v", cu, err)
	}
	// A real conflict stays a conflict even after a lost answer.
	e.loseAnswers(http.MethodPatch, 1)
	if _, err := c.Update(t.Context(), ref, id, up.ETag, map[string]any{"displayName": "Mine"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Update(t.Context(), ref, id, up.ETag, map[string]any{"displayName": "Theirs"}); !IsConflict(err) {
		t.Errorf("stale update: %v", err)
	}

	// Delete: gone after the lost answer; the retry's 404 means done.
	cur, _ := c.Get(t.Context(), ref, id, &Query{Primary: true})
	e.loseAnswers(http.MethodDelete, 1)
	if err := c.Delete(t.Context(), ref, id, cur.ETag); err != nil {
		t.Fatalf("Delete after a lost answer: %v", err)
	}
	if err := c.Delete(t.Context(), ref, id, AnyETag); !IsNotFound(err) {
		t.Errorf("a plain Delete of a missing record: %v", err)
	}
}

// TestCountWithByteOrderMark: BC's /$count body may start with a UTF-8 byte order mark
// (bc-entra-facts §4.2); Count reads the number behind it, and a line set counted without
// its document fails with BC's error, as listing it does.
func TestCountWithByteOrderMark(t *testing.T) {
	t.Parallel()
	e := setup(t, emulator.Config{CountBOM: true})
	c := e.client(Options{})
	n, err := c.Count(t.Context(), e.set("customers"), nil)
	if want := e.emu.Count(e.emu.DemoCompanyRef(), "customers"); err != nil || n != int64(want) {
		t.Errorf("Count(customers) behind a BOM = %d, %v; want %d", n, err, want)
	}
	_, err = c.Count(t.Context(), e.set("salesOrderLines"), nil)
	var be *Error
	if !errors.As(err, &be) || be.StatusCode != http.StatusBadRequest {
		t.Errorf("Count(salesOrderLines) without a document: %v, want BC's 400", err)
	}
}
