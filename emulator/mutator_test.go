package emulator_test

import (
	"testing"

	"github.com/bizzjoiner/bcconnector/emulator"
)

// TestMutatorChangesDocumentsWithLines: on a document set the mutator creates documents
// with lines, deletes documents, changes headers and adds, changes and deletes lines; its
// counts say so, and StopMutation stops a running mutator for good.
func TestMutatorChangesDocumentsWithLines(t *testing.T) {
	t.Parallel()
	e := setup(t, emulator.Config{})
	ref := e.emu.DemoCompanyRef()
	lines := func() map[string]string {
		out := map[string]string{}
		for row, etag := range e.emu.Rows(ref, "salesOrderLines") {
			out[row["id"].(string)] = etag
		}
		return out
	}
	before := lines()
	if err := e.emu.Mutate(300, emulator.MutatorConfig{EntitySets: []string{"salesOrders"}}); err != nil {
		t.Fatal(err)
	}
	st := e.emu.MutationStats()
	if st.Inserts == 0 || st.Updates == 0 || st.Deletes == 0 || st.Lines == 0 || st.Changes() < 200 {
		t.Fatalf("mutation stats after 300 document steps: %+v", st)
	}
	after := lines()
	var added, changed, gone int
	for id, etag := range after {
		switch old, ok := before[id]; {
		case !ok:
			added++
		case old != etag:
			changed++
		}
	}
	for id := range before {
		if _, ok := after[id]; !ok {
			gone++
		}
	}
	if added == 0 || changed == 0 || gone == 0 {
		t.Errorf("lines added %d, changed %d, deleted %d: want all three", added, changed, gone)
	}

	run := setup(t, emulator.Config{Mutation: emulator.MutatorConfig{Rate: 1000}})
	stopped := run.emu.StopMutation()
	if again := run.emu.StopMutation(); again != stopped || run.emu.MutationStats() != stopped {
		t.Errorf("changes after StopMutation: %+v then %+v", stopped, again)
	}
}
