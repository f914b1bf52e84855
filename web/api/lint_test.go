package api_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// redoclyCLI is the pinned Redocly CLI that lints openapi.json (npm registry).
const redoclyCLI = "@redocly/cli@2.77.0"

// TestOpenAPIRedoclyLint: openapi.json passes Redocly's recommended rules without an
// error or a warning. It needs npx (Node.js) and the npm registry: without npx it is
// skipped, unless CI=true (.ci/run installs Node.js).
func TestOpenAPIRedoclyLint(t *testing.T) {
	t.Parallel()
	npx, err := exec.LookPath("npx")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("npx (Node.js) is missing; .ci/run installs it")
		}
		t.Skip("npx (Node.js) is not installed")
	}
	doc, err := filepath.Abs("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npx, "--yes", redoclyCLI, "lint", "--format=json", doc)
	cmd.Dir = t.TempDir() // no redocly.yaml around: the built-in recommended rules
	cmd.Env = append(os.Environ(), "REDOCLY_TELEMETRY=off", "REDOCLY_SUPPRESS_UPDATE_NOTICE=true", "NO_UPDATE_NOTIFIER=1")
	out, err := cmd.Output()
	var res struct {
		Totals   struct{ Errors, Warnings int }
		Problems []struct {
			RuleID   string `json:"ruleId"`
			Severity string
			Message  string
			Location []struct{ Pointer string }
		}
	}
	if jerr := json.Unmarshal(out, &res); jerr != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("redocly lint: %v; output %q\n%s", err, out, stderr)
	}
	for _, p := range res.Problems {
		where := ""
		if len(p.Location) > 0 {
			where = p.Location[0].Pointer
		}
		t.Errorf("%s %s at %s: %s", p.Severity, p.RuleID, where, p.Message)
	}
	if res.Totals.Errors+res.Totals.Warnings != 0 {
		t.Errorf("redocly: %d errors, %d warnings", res.Totals.Errors, res.Totals.Warnings)
	}
}
