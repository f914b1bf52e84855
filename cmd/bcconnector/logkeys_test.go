package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

// camelKeyRE is the one key style of the log: camelCase, like the JSON API and BC.
var camelKeyRE = regexp.MustCompile(`^[a-z][a-zA-Z0-9]*$`)

// syncLine reports a line about a sync run or a BC request of one, which must name its
// connection, company and entity set.
func syncLine(msg string) bool {
	for _, p := range []string{"full sync", "incremental sync", "reconcile", "resuming full sync", "BC throttled the sync", "records still written"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// checkLogLines checks every JSON line serve wrote: camelCase keys (groups included), one
// error key ("err", never null or empty), durations in milliseconds (keys ending in Ms,
// numbers), River's routine lines below info, and sync lines naming connection, company
// and entity set. It returns how many sync lines it saw.
func checkLogLines(t *testing.T, text string) int {
	t.Helper()
	syncs := 0
	for i, line := range strings.Split(strings.TrimSpace(text), "\n") {
		if !strings.HasPrefix(line, "{") {
			continue // a command's own output, not the log
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Errorf("line %d is not JSON: %v: %s", i+1, err, line)
			continue
		}
		var walk func(prefix string, m map[string]any)
		walk = func(prefix string, m map[string]any) {
			for k, v := range m {
				if !camelKeyRE.MatchString(k) {
					t.Errorf("line %d: key %q is not camelCase: %s", i+1, prefix+k, line)
				}
				switch {
				case k == "error":
					t.Errorf("line %d: the error key is err, not error: %s", i+1, line)
				case k == "err":
					if s, ok := v.(string); !ok || s == "" {
						t.Errorf("line %d: err is %v; leave it out when there is none: %s", i+1, v, line)
					}
				case strings.HasSuffix(k, "Ms"):
					if _, ok := v.(float64); !ok {
						t.Errorf("line %d: %s is not a number of milliseconds: %s", i+1, k, line)
					}
				case strings.Contains(strings.ToLower(k), "duration") || k == "elapsed" || k == "wait" || k == "retryAfter":
					t.Errorf("line %d: duration %s has no unit; name it …Ms in milliseconds: %s", i+1, k, line)
				}
				if g, ok := v.(map[string]any); ok && k != "msg" {
					walk(prefix+k+".", g)
				}
			}
		}
		walk("", m)
		if m["component"] == "river" && (m["level"] == "INFO" || m["level"] == "DEBUG") {
			t.Errorf("line %d: River's routine line at %s: %s", i+1, m["level"], line)
		}
		if msg, _ := m["msg"].(string); syncLine(msg) {
			syncs++
			for _, k := range []string{"connection", "company", "entitySet"} {
				if s, _ := m[k].(string); s == "" {
					t.Errorf("line %d: a sync line without %s: %s", i+1, k, line)
				}
			}
		}
	}
	return syncs
}
