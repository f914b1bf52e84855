package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/bizzjoiner/bcconnector/emulator"
)

// TestCLIWriteThroughAppliesAtOnce: `create`, `update` and `delete` on a replicated set
// change the local replica and the change log in the same command, not at the next sync
// (a delete never reached it before scheduled reconciliation).
func TestCLIWriteThroughAppliesAtOnce(t *testing.T) {
	e := newCLIEnv(t, emulator.ScenarioOK)
	if code, out, errOut := e.add("contoso", "--write-entities", "customers"); code != 0 {
		t.Fatalf("add: %s %s", out, errOut)
	}
	if code, out, errOut := e.run("", "sync", "contoso", "--entities", "customers"); code != 0 {
		t.Fatalf("sync: %s %s", out, errOut)
	}
	ops := func(id string) string {
		t.Helper()
		_, out, _ := e.run("", "changes", "--since", "0", "--limit", "100000")
		var got []string
		for line := range strings.SplitSeq(strings.TrimSpace(out), "\n") {
			var c struct{ ID, Op string }
			if json.Unmarshal([]byte(line), &c) == nil && c.ID == id {
				got = append(got, c.Op)
			}
		}
		return strings.Join(got, ",")
	}
	code, out, errOut := e.run("", "create", "contoso", "customers", "--data", `{"displayName":"CLI Write Through"}`)
	var rec struct{ ID string }
	if code != 0 || json.Unmarshal([]byte(out), &rec) != nil || rec.ID == "" {
		t.Fatalf("create: %d %s %s", code, out, errOut)
	}
	if got := ops(rec.ID); got != "insert" {
		t.Fatalf("after create the change log has %q for the record, want insert", got)
	}
	if code, out, errOut = e.run("", "update", "contoso", "customers", rec.ID, "--data", `{"displayName":"CLI 2"}`); code != 0 {
		t.Fatalf("update: %s %s", out, errOut)
	}
	if got := ops(rec.ID); got != "insert,update" {
		t.Fatalf("after update the change log has %q, want insert,update", got)
	}
	if code, out, errOut = e.run("", "delete", "contoso", "customers", rec.ID); code != 0 {
		t.Fatalf("delete: %s %s", out, errOut)
	}
	if got := ops(rec.ID); got != "insert,update,delete" {
		t.Fatalf("after delete the change log has %q, want insert,update,delete", got)
	}
}
