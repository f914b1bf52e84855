package store

import (
	"maps"
	"testing"
	"time"
)

func TestAllotSlots(t *testing.T) {
	for _, tc := range []struct {
		name    string
		holders []SlotDemand
		want    map[string]int
	}{
		{"alone", []SlotDemand{{"a", 0, 5}}, map[string]int{"a": 5}},
		{"two want all; the one holding more keeps the odd slot", []SlotDemand{{"a", 0, 5}, {"b", 4, 5}}, map[string]int{"a": 2, "b": 3}},
		{"a small want is met, the rest divided", []SlotDemand{{"a", 0, 5}, {"b", 0, 1}, {"c", 0, 5}}, map[string]int{"a": 2, "b": 1, "c": 2}},
		{"wants below the budget are all met", []SlotDemand{{"a", 0, 2}, {"b", 0, 2}}, map[string]int{"a": 2, "b": 2}},
		{"more holders than slots: ties by name", []SlotDemand{{"f", 0, 1}, {"e", 0, 1}, {"d", 0, 1}, {"c", 0, 1}, {"b", 0, 1}, {"a", 0, 1}},
			map[string]int{"a": 1, "b": 1, "c": 1, "d": 1, "e": 1, "f": 0}},
	} {
		if got := AllotSlots(5, tc.holders); !maps.Equal(got, tc.want) {
			t.Errorf("%s: AllotSlots = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestReservationSecond(t *testing.T) {
	if got := ReservationSecond(budgetTime(0)); got != 1_000_000_000 {
		t.Errorf("whole second: %d", got)
	}
	if got := ReservationSecond(budgetTime(1)); got != 1_000_000_001 {
		t.Errorf("a nanosecond later rounds up: %d", got)
	}
}

func budgetTime(ns int64) time.Time { return time.Unix(1_000_000_000, ns) }
