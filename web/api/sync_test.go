package api_test

import (
	"strings"
	"testing"

	"github.com/bizzjoiner/bcconnector/syncer"
)

// TestSyncTriggerAbsorbedSaysSo: when every entity set already has a job waiting or
// running, POST /sync started nothing and answers 409 naming the job and its state,
// not 202.
func TestSyncTriggerAbsorbedSaysSo(t *testing.T) {
	e := setup(t)
	id := e.createConn("busy")
	c, err := e.svc.GetConnection(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	busy := syncer.Target{ConnectionID: id, CompanyID: c.CompanyID, EntitySet: "currencies"}
	e.jobs.mu.Lock()
	e.jobs.busy[busy] = true
	e.jobs.mu.Unlock()

	var body problemBody
	e.do("POST", "/connections/"+id+"/sync", e.token, map[string]any{"entities": []string{"currencies"}}, 409, &body)
	if body.Code != "sync_already_queued" || !strings.Contains(body.Detail, "currencies") || !strings.Contains(body.Detail, "running") {
		t.Errorf("409 body: %+v", body)
	}
	// One set free: the request queued something, so it is accepted.
	e.do("POST", "/connections/"+id+"/sync", e.token, map[string]any{"entities": []string{"currencies", "paymentTerms"}}, 202, nil)

	e.jobs.mu.Lock()
	delete(e.jobs.busy, busy)
	e.jobs.mu.Unlock()
}
