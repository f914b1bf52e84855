package emulator

import (
	"encoding/base64"
	"hash/fnv"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"
)

// TestAppendDateTime: the allocation-free form of a timestamp is formatDateTime's, for
// whole seconds, every millisecond pattern, sub-millisecond parts, other zones and the
// years outside 0–9999.
func TestAppendDateTime(t *testing.T) {
	t.Parallel()
	times := []time.Time{
		{},
		time.Date(2026, 12, 3, 14, 5, 9, 0, time.UTC),
		time.Date(2026, 1, 2, 3, 4, 5, 120_000_000, time.UTC),
		time.Date(2026, 1, 2, 3, 4, 5, 100_000_000, time.UTC),
		time.Date(2026, 1, 2, 3, 4, 5, 7_999_999, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 1_000_000, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 6, 1, 0, 30, 0, 5_000_000, time.FixedZone("X", 5*3600+1800)),
	}
	r := rand.New(rand.NewPCG(14, 14))
	for range 2000 {
		times = append(times, time.Unix(r.Int64N(4e10)-1e10, r.Int64N(1e9)))
	}
	for _, tm := range times {
		want := `"` + formatDateTime(tm) + `"`
		if got := string(appendDateTime(nil, tm)); got != want {
			t.Errorf("appendDateTime(%v) = %s, want %s", tm, got, want)
		}
	}
}

// TestBaseETag: a generated row's ETag is BC's shape over the FNV-1a hash of its id,
// unchanged by the allocation-free form (ETags a client stored stay valid).
func TestBaseETag(t *testing.T) {
	t.Parallel()
	for _, id := range []string{"", "1f8a365d-b2fb-43c2-a52c-1cb50d09fb7e", "x/company", "ü"} {
		h := fnv.New64a()
		_, _ = h.Write([]byte(id))
		want := `W/"` + base64.StdEncoding.EncodeToString([]byte("'20;"+strconv.FormatUint(h.Sum64(), 10)+";00;'")) + `"`
		if got := baseETag(id); got != want {
			t.Errorf("baseETag(%q) = %s, want %s", id, got, want)
		}
	}
}
