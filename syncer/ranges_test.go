package syncer

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
)

// TestPageRanges: a ledger's entry numbers are split into ranges of one page each: as
// wide as a page on dense numbers, wider in proportion to gaps, at most max ranges, the
// last open-ended.
func TestPageRanges(t *testing.T) {
	t.Parallel()
	num := func(n int64) json.RawMessage { return json.RawMessage(fmt.Sprint(n)) }
	rng := func(from, to int64) string {
		return fmt.Sprintf("entryNumber ge %d and entryNumber lt %d", from, to)
	}
	for _, tc := range []struct {
		name          string
		lo, hi, count int64
		size, max     int
		want          []string
	}{
		{"dense", 1, 20, 20, 5, 100, []string{rng(1, 6), rng(6, 11), rng(11, 16), "entryNumber ge 16"}},
		{"dense, not a multiple", 1, 22, 22, 5, 100, []string{rng(1, 6), rng(6, 11), rng(11, 16), rng(16, 21), "entryNumber ge 21"}},
		{"half the numbers used", 101, 140, 20, 5, 100, []string{rng(101, 111), rng(111, 121), rng(121, 131), "entryNumber ge 131"}},
		{"capped", 1, 20, 20, 5, 2, []string{rng(1, 11), "entryNumber ge 11"}},
		{"nothing to split", 7, 7, 1, 5, 100, nil},
		{"no rows", 1, 20, 0, 5, 100, nil},
	} {
		got := pageRanges("entryNumber", num(tc.lo), num(tc.hi), tc.count, tc.size, tc.max)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: pageRanges(%d..%d, %d rows, size %d, max %d) =\n  %q\nwant\n  %q", tc.name, tc.lo, tc.hi, tc.count, tc.size, tc.max, got, tc.want)
		}
	}
	// 200,000 dense entries at 5,000-row pages: 40 ranges of exactly one page.
	if got := pageRanges("entryNumber", num(1), num(200_000), 200_000, 5000, maxPageRanges); len(got) != 40 || got[39] != "entryNumber ge 195001" {
		t.Errorf("200,000 entries: %d ranges, last %q", len(got), got[len(got)-1])
	}
}
