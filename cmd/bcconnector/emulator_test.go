package main

import (
	"strings"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/emulator/idp"
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

// TestEmulatorConfigUnconfirmedKnobs: the flags for the emulator's unconfirmed choices that
// decide a diagnosis reach its Config, and a wrong order is refused naming the flag.
func TestEmulatorConfigUnconfirmedKnobs(t *testing.T) {
	t.Parallel()
	c := EmulatorCmd{Scenario: "ok", Seed: 1, DataSize: "small", LatencyProfile: "off", MaxPageSize: 20000,
		TokenLifetime: time.Hour, ConflictStatus: 409, ResourceCheck: "last", CaseSensitiveEnvs: true, AnyCaseCompanies: true, CountBOM: true}
	cfg, err := c.config()
	if err != nil || cfg.Entra.ResourceCheck != idp.ResourceLast || !cfg.CaseSensitiveEnvironments || !cfg.CaseInsensitiveCompanyNames || !cfg.CountBOM {
		t.Fatalf("config %+v, %v", cfg, err)
	}
	c.ResourceCheck = "first"
	if _, err := c.config(); err == nil || !strings.Contains(err.Error(), "--entra-resource-check") {
		t.Errorf("--entra-resource-check first: %v, want an error naming the flag", err)
	}
}
