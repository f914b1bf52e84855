package main

import (
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/emulator/datagen"
	"github.com/bizzjoiner/bcconnector/emulator/throttle"
)

// syncSet is one entity set of GET /connections/{id}/sync.
type syncSet struct {
	EntitySet    string
	Rows         int64
	FullSyncDone bool
	LastError    string
}

func getSyncSets(t *testing.T, base, token, conn string) []syncSet {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/api/v1/connections/"+conn+"/sync", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var st struct{ Sets []syncSet }
	if resp.StatusCode != 200 || json.Unmarshal(b, &st) != nil {
		t.Fatalf("GET sync: %d %s", resp.StatusCode, b)
	}
	return st.Sets
}

// TestServeKilledJobIsTakenUpAfterRestart (issue 9.2): a serve killed with SIGKILL in the
// middle of a sync job leaves the job "running" in the queue; after a restart the job is
// taken up again and the full pass completes within a minute (not after River's default
// of an hour), resumed from its checkpoints.
func TestServeKilledJobIsTakenUpAfterRestart(t *testing.T) {
	bin := buildBinary(t)
	// 1,500 customers in pages of 50 (the server's cap) at 200 ms a page: a job of about
	// six seconds, in slices of one second.
	sizes, err := datagen.ParseSizes("small,customers=1500")
	if err != nil {
		t.Fatal(err)
	}
	e := newCLIEnvConfig(t, emulator.Config{Scenario: emulator.ScenarioOK, Sizes: sizes, MaxPageSize: 50,
		Latency: throttle.Latency{Overhead: 200 * time.Millisecond}})
	if code, out, errOut := e.add("contoso", "--entities", "customers"); code != 0 {
		t.Fatalf("add: %s %s", out, errOut)
	}
	code, token, errOut := e.run("", "token", "create", "--name", "e2e")
	if code != 0 {
		t.Fatalf("token: %s", errOut)
	}
	token = strings.TrimSpace(token)
	// The connection names the emulator's endpoints, which serve uses only when allowed (9.4).
	args := []string{"--db", e.db, "--key-file", e.key, "--log-level", "info", "serve", "--listen", "127.0.0.1:0", "--sync-slice", "1s",
		"--allow-endpoint-overrides"}

	first := startServe(t, bin, args...)
	// Kill it once the full pass has committed some pages but not all.
	for deadline := time.Now().Add(30 * time.Second); ; {
		sets := getSyncSets(t, first.URL, token, "contoso")
		if len(sets) == 1 && sets[0].Rows > 0 && !sets[0].FullSyncDone {
			break
		}
		if len(sets) == 1 && sets[0].FullSyncDone {
			t.Fatal("the full pass finished before the kill; make it slower")
		}
		if time.Now().After(deadline) {
			t.Fatalf("no sync progress within 30s: %+v\n%s", sets, first.stderr.String())
		}
		time.Sleep(20 * time.Millisecond) // polling interval, not synchronisation
	}
	first.kill()

	second := startServe(t, bin, args...)
	restarted := time.Now()
	var sets []syncSet
	for {
		sets = getSyncSets(t, second.URL, token, "contoso")
		if len(sets) == 1 && sets[0].FullSyncDone {
			break
		}
		if time.Since(restarted) > time.Minute {
			t.Fatalf("the job left by the killed process was not finished within a minute of the restart: %+v\n%s", sets, second.stderr.String())
		}
		time.Sleep(100 * time.Millisecond) // polling interval
	}
	t.Logf("full pass completed %s after the restart", time.Since(restarted).Round(time.Second))
	if sets[0].Rows != 1500 || sets[0].LastError != "" {
		t.Errorf("after the rescue: %+v", sets[0])
	}
	second.stop(t)

	// The queue shows the rescue: the job that ran in the killed process completed.
	db, err := sql.Open("sqlite", "file:"+e.db+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var state, errs string
	if err := db.QueryRow(`SELECT state, errors FROM river_job WHERE kind = 'bc_sync' ORDER BY id LIMIT 1`).Scan(&state, &errs); err != nil {
		t.Fatal(err)
	}
	if state != "completed" || !strings.Contains(errs, "Stuck job rescued") {
		t.Errorf("first sync job: state %s, errors %s", state, errs)
	}
}
