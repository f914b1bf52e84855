package main

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/internal/testlog"
)

// TestRiverLogger: River's info lines drop below an info-level log, its warnings stay, with
// camelCase keys (groups and With attributes too), durations in milliseconds and err.
func TestRiverLogger(t *testing.T) {
	t.Parallel()
	var b testlog.Buffer
	log := riverLogger(slog.New(slog.NewJSONHandler(&b, &slog.HandlerOptions{Level: slog.LevelInfo}))).With("client_id", "c1")
	log.Info("River client started", "num_workers", 4)
	log.Warn("jobExecutor: job snoozed too often", "job_id", 7, "sleep_duration", 1500*time.Millisecond,
		slog.Group("queue_info", "queue_name", "bc_sync"), "error", "boom")
	got := strings.TrimSpace(b.String())
	if strings.Contains(got, "River client started") {
		t.Fatalf("an info line of River got through: %s", got)
	}
	if n := checkLogLines(t, got); n != 0 || strings.Count(got, "\n") != 0 {
		t.Fatalf("want one line, got %s", got)
	}
	for _, want := range []string{`"component":"river"`, `"clientId":"c1"`, `"jobId":7`, `"sleepDurationMs":1500`, `"queueInfo":{"queueName":"bc_sync"}`, `"err":"boom"`, `"level":"WARN"`} {
		if !strings.Contains(got, want) {
			t.Errorf("%s lacks %s", got, want)
		}
	}
}
