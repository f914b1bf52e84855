package throttle

import (
	"context"
	"math"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func TestParseLatencyProfile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    Latency
		wantErr bool
	}{
		{in: "off", want: Latency{}},
		{in: "", want: Latency{}},
		{in: "reference", want: Latency{150 * time.Millisecond, 250 * time.Microsecond}},
		{in: " Reference ", want: Latency{150 * time.Millisecond, 250 * time.Microsecond}},
		{in: "scaled", want: Latency{15 * time.Millisecond, 25 * time.Microsecond}},
		{in: "50ms+0.1ms/row", want: Latency{50 * time.Millisecond, 100 * time.Microsecond}},
		{in: "0s+1us/row", want: Latency{0, time.Microsecond}},
		{in: "fast", wantErr: true},
		{in: "50ms", wantErr: true},
		{in: "50ms+1ms", wantErr: true},
		{in: "-5ms+1ms/row", wantErr: true},
		{in: "x+1ms/row", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseLatencyProfile(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseLatencyProfile(%q) = %v, want error", tt.in, got)
				}
				for _, name := range []string{"off", "reference", "scaled", tt.in} {
					if !strings.Contains(err.Error(), name) {
						t.Errorf("error %q does not mention %q", err, name)
					}
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseLatencyProfile(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
			back, err := ParseLatencyProfile(got.String())
			if err != nil || back != got {
				t.Errorf("round trip via %q = %v, %v", got.String(), back, err)
			}
		})
	}
}

func TestLatencyCost(t *testing.T) {
	t.Parallel()
	ref, _ := ParseLatencyProfile("reference")
	scaled, _ := ParseLatencyProfile("scaled")
	tests := []struct {
		lat  Latency
		rows int
		want time.Duration
	}{
		{ref, 0, 150 * time.Millisecond},
		{ref, 20000, 150*time.Millisecond + 5*time.Second},
		{ref, -3, 150 * time.Millisecond},
		{scaled, 20000, 15*time.Millisecond + 500*time.Millisecond},
		{Latency{}, 1000, 0},
		{Latency{PerRow: time.Hour}, math.MaxInt, math.MaxInt64},
		{Latency{Overhead: math.MaxInt64 - 1, PerRow: time.Second}, 1, math.MaxInt64},
	}
	for _, tt := range tests {
		if got := tt.lat.Cost(tt.rows); got != tt.want {
			t.Errorf("%v.Cost(%d) = %v, want %v", tt.lat, tt.rows, got, tt.want)
		}
	}
}

func TestLatencyWait(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		lat := Latency{Overhead: 150 * time.Millisecond, PerRow: time.Millisecond}
		start := time.Now()
		if err := lat.Wait(t.Context(), 100); err != nil {
			t.Fatal(err)
		}
		if got := time.Since(start); got != 250*time.Millisecond {
			t.Errorf("waited %v, want 250ms", got)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
		defer cancel()
		if err := lat.Wait(ctx, 100); err != context.DeadlineExceeded {
			t.Errorf("Wait with a 10ms deadline = %v, want DeadlineExceeded", err)
		}
	})
}
