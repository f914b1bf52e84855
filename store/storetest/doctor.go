package storetest

import (
	"encoding/json"
	"testing"

	"github.com/bizzjoiner/bcconnector/store"
)

// RunDoctorReports runs the conformance suite of store.DoctorStore. Reports belong to a
// connection, so the stores must keep connections too.
func RunDoctorReports(t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()
	runTests(t, open, []test[store.Store]{
		{"RoundTrip", testDoctorReports},
	})
}

func testDoctorReports(t *testing.T, s store.Store) {
	ctx := t.Context()
	c := mustCreate(t, s, NewConnection("c"))
	other := mustCreate(t, s, NewConnection("other"))
	_, err := s.DoctorReport(ctx, c.ID)
	wantErr(t, "DoctorReport before any", err, store.ErrNotFound)

	// Stored as given: key order, spacing and non-ASCII kept.
	first := json.RawMessage(`{"ok":false, "steps":[{"step":3,"fix":"Ünïcode – create a new secret"}],"a":1}`)
	if err := s.SaveDoctorReport(ctx, c.ID, first); err != nil {
		t.Fatal(err)
	}
	if got, err := s.DoctorReport(ctx, c.ID); err != nil || string(got) != string(first) {
		t.Fatalf("DoctorReport = %s, %v; want %s", got, err, first)
	}
	second := json.RawMessage(`{"ok":true}`)
	if err := s.SaveDoctorReport(ctx, c.ID, second); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.DoctorReport(ctx, c.ID); string(got) != string(second) {
		t.Fatalf("DoctorReport after a second save = %s, want the last one", got)
	}
	_, err = s.DoctorReport(ctx, other.ID)
	wantErr(t, "DoctorReport of another connection", err, store.ErrNotFound)

	wantErr(t, "SaveDoctorReport(not JSON)", s.SaveDoctorReport(ctx, c.ID, json.RawMessage(`{`)), store.ErrInvalid)
	wantErr(t, "SaveDoctorReport(unknown connection)", s.SaveDoctorReport(ctx, "missing", second), store.ErrNotFound)

	if err := s.DeleteConnection(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	again := NewConnection("c")
	again.ID = c.ID
	mustCreate(t, s, again)
	_, err = s.DoctorReport(ctx, c.ID)
	wantErr(t, "DoctorReport of a re-created connection", err, store.ErrNotFound)
}
