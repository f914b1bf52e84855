package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/emulator/datagen"
)

// cancelOnWrite cancels a context on the first write that contains match: a command
// interrupted at a known point of its output.
type cancelOnWrite struct {
	mu     sync.Mutex
	b      bytes.Buffer
	match  string
	cancel context.CancelFunc
}

func (w *cancelOnWrite) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if bytes.Contains(p, []byte(w.match)) {
		w.cancel()
	}
	return w.b.Write(p)
}

// TestCLISyncFullInterruptedResumesFull: a `sync --full` re-sync of a replicated set
// interrupted after its first page leaves an unfinished full pass; the next plain `sync`
// resumes that full pass (the progress line says full) instead of running incrementally,
// and the replica ends complete.
func TestCLISyncFullInterruptedResumesFull(t *testing.T) {
	sizes, err := datagen.ParseSizes("small,customers=300")
	if err != nil {
		t.Fatal(err)
	}
	e := newCLIEnvConfig(t, emulator.Config{Scenario: emulator.ScenarioOK, Sizes: sizes})
	if code, out, errOut := e.add("contoso"); code != 0 {
		t.Fatalf("add: %s %s", out, errOut)
	}
	if code, out, errOut := e.run("", "sync", "contoso", "--entities", "customers"); code != 0 {
		t.Fatalf("first sync: %s %s", out, errOut)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stderr := &cancelOnWrite{match: "rows/s", cancel: cancel} // the first progress line
	var out bytes.Buffer
	code := runWithStdin(ctx, []string{"--db", e.db, "--key-file", e.key, "sync", "contoso", "--entities", "customers", "--full", "--page-size", "10"},
		strings.NewReader(""), &out, stderr)
	if code == 0 {
		t.Fatalf("the interrupted --full sync exited 0: %s", stderr.b.String())
	}
	if msg := stderr.b.String(); !strings.Contains(msg, "without --full") {
		t.Errorf("the interruption does not say how to resume: %s", msg)
	}

	code, _, errOut := e.run("", "sync", "contoso", "--entities", "customers", "--page-size", "10")
	if code != 0 {
		t.Fatalf("resume: %d %s", code, errOut)
	}
	var line string
	for l := range strings.SplitSeq(errOut, "\n") {
		if strings.HasPrefix(l, "customers ") && strings.Contains(l, " in ") {
			line = l
		}
	}
	if f := strings.Fields(line); len(f) < 2 || f[1] != "full" {
		t.Errorf("the run after the interruption was not the full pass: %q", line)
	}
	_, status, _ := e.run("", "status", "contoso")
	if !strings.Contains(status, "300") || strings.Contains(status, "not finished") {
		t.Errorf("status after the resumed full pass:\n%s", status)
	}
}
