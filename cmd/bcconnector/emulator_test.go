package main

import (
	"strings"
	"testing"
	"time"
)

func TestEmulatorConfigCustomers(t *testing.T) {
	t.Parallel()
	c := EmulatorCmd{Scenario: "ok", Seed: 1, DataSize: "small", LatencyProfile: "off", MaxPageSize: 20000,
		TokenLifetime: time.Hour, ConflictStatus: 409, Customers: 4}
	cfg, err := c.config()
	if err != nil || cfg.Customers != 4 {
		t.Fatalf("--customers 4: %+v, %v", cfg.Customers, err)
	}
	for _, n := range []int{-1, 1001} {
		c.Customers = n
		if _, err := c.config(); err == nil || !strings.Contains(err.Error(), "--customers") {
			t.Errorf("--customers %d: %v, want an error naming the flag", n, err)
		}
	}
}
