package odata

import (
	"math"
	"slices"
	"testing"
	"time"
)

func TestCompare(t *testing.T) {
	t.Parallel()
	t0 := time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	t1 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		a, b any
		want int
	}{
		{nil, nil, 0},
		{nil, "", -1},
		{nil, false, -1},
		{"", "a", -1},
		{"b", "a", 1},
		{"a", "a", 0},
		{"A", "a", -1}, // case-sensitive, ordinal
		{blankGUID, "5d115c9c-44e3-ea11-bb43-000d3a2feca1", -1},
		{"0001-01-01", "2024-01-31", -1},
		{"2024-02-01", "2024-01-31", 1},
		{int64(1), int64(2), -1},
		{int64(-1), int64(-1), 0},
		{1.5, 2.5, -1},
		{int64(2), 1.5, 1},
		{1.5, int64(2), -1},
		{int64(2), 2.0, 0},
		{int64(1<<53 + 1), float64(1 << 53), 1}, // exact, no rounding through float64
		{float64(1 << 53), int64(1<<53 + 1), -1},
		{int64(math.MaxInt64), math.Inf(1), -1},
		{int64(math.MinInt64), math.Inf(-1), 1},
		{int64(0), math.NaN(), 1},
		{math.NaN(), math.NaN(), 0},
		{math.NaN(), -1.0, -1},
		{5, int64(5), 0},
		{int32(5), 5.0, 0},
		{uint64(math.MaxUint64), int64(math.MaxInt64), 1},
		{uint8(3), float32(3.5), -1},
		{false, true, -1},
		{true, true, 0},
		{true, false, 1},
		{t0, t1, -1},
		{t1, t1.In(time.FixedZone("", 3600)), 0},
		// Cross-kind order: nil < bool < number < string < time < other.
		{true, int64(0), -1},
		{int64(9), "0", -1},
		{"z", t0, -1},
		{t1, []int{1}, -1},
		{struct{}{}, struct{}{}, 0},
	}
	for _, tt := range tests {
		if got := Compare(tt.a, tt.b); got != tt.want {
			t.Errorf("Compare(%#v, %#v) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := Compare(tt.b, tt.a); got != -tt.want {
			t.Errorf("Compare(%#v, %#v) = %d, want %d (antisymmetry)", tt.b, tt.a, got, -tt.want)
		}
	}
}

// TestCompareTotalOrder sorts a mixed bag and checks the order is consistent pairwise.
func TestCompareTotalOrder(t *testing.T) {
	t.Parallel()
	vals := []any{
		"b", nil, int64(3), 2.5, true, "", time.Unix(0, 0).UTC(), false, math.NaN(), int64(-7),
		"a", 3, uint16(2), time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), blankGUID, 2.5, []byte("x"),
	}
	slices.SortStableFunc(vals, Compare)
	for i := range vals {
		for j := range vals {
			c := Compare(vals[i], vals[j])
			switch {
			case i < j && c > 0, i > j && c < 0:
				t.Errorf("sorted[%d]=%#v vs sorted[%d]=%#v: Compare = %d", i, vals[i], j, vals[j], c)
			}
		}
	}
	if vals[0] != nil {
		t.Errorf("nil does not sort first: %#v", vals)
	}
}
