package datagen

import (
	"crypto/rand"
	"io"
	"math"
	"strconv"
)

// golden is the 64-bit golden-ratio increment of SplitMix64.
const golden = 0x9e3779b97f4a7c15

// mix64 is the SplitMix64 finaliser: a fast bijective scrambler. Every random-looking value in
// this package is mix64 of a key built from (seed, company, entity set, row, purpose), so a row
// never depends on any other row having been generated.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// hashString is FNV-1a 64 of s, used to turn names (company IDs, entity sets, field names)
// into salts.
func hashString(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// hashLower is hashString of the ASCII-lower-cased s, without allocating: company IDs are GUIDs
// that BC accepts in either case.
func hashLower(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

// rowKey is the root hash of row i of a set whose key is setKey.
func rowKey(setKey uint64, i int) uint64 { return mix64(setKey ^ (uint64(i)+1)*golden) }

// sub derives an independent hash for one purpose (salt) from a row key.
func sub(k, salt uint64) uint64 { return mix64(k ^ mix64(salt+golden)) }

// pick returns a value in [0, n) from h (n > 0). The modulo bias is irrelevant for seed data.
func pick(h uint64, n int) int { return int((h >> 1) % uint64(n)) }

// chance reports true with probability pct/100.
func chance(h uint64, pct int) bool { return (h>>7)%100 < uint64(pct) }

// unit returns a float in [0, 1) from h.
func unit(h uint64) float64 { return float64(h>>11) / (1 << 53) }

// round2 rounds to cents the way amounts are shown in BC (half away from zero).
func round2(v float64) float64 { return math.Round(v*100) / 100 }

// money returns an amount between lo and hi, log-uniformly distributed (many small amounts,
// few large ones), rounded to cents.
func money(h uint64, lo, hi float64) float64 {
	return round2(lo * math.Pow(hi/lo, unit(h)))
}

const hexDigits = "0123456789abcdef"

// putHex writes the low 4*len(dst) bits of v as lower-case hex into dst.
func putHex(dst []byte, v uint64) {
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = hexDigits[v&0xf]
		v >>= 4
	}
}

// formatGUID renders a lower-case canonical GUID whose first 32 bits are prefix and whose other
// bits come from h1/h2, with version 4 and RFC 4122 variant bits so it looks like any GUID BC
// hands out for new records.
func formatGUID(prefix uint32, h1, h2 uint64) string {
	var b [36]byte
	putHex(b[0:8], uint64(prefix))
	b[8] = '-'
	putHex(b[9:13], h1)
	b[13] = '-'
	b[14] = '4'
	putHex(b[15:18], h1>>16)
	b[18] = '-'
	b[19] = hexDigits[8|(h1>>28)&3]
	putHex(b[20:23], h1>>30)
	b[23] = '-'
	putHex(b[24:36], h2)
	return string(b[:])
}

// derivedGUID is a random-looking GUID that is a pure function of (set, row, purpose), for GUID
// fields that are not the record's key and not a reference (e.g. jobQueueEntries.jobQueueEntryId)
// and for the few keys that a child copies from its parent.
func derivedGUID(k, salt uint64) string {
	h := sub(k, salt)
	return formatGUID(uint32(h>>32), mix64(h), mix64(h^golden))
}

// NewID returns a random lower-case GUID (version 4), as BC assigns to created records. It
// reads 16 bytes from r, or from crypto/rand when r is nil; if r fails it falls back to
// crypto/rand so that a created record always gets an id.
func NewID(r io.Reader) string {
	var b [16]byte
	if r == nil {
		r = rand.Reader
	}
	if _, err := io.ReadFull(r, b[:]); err != nil {
		_, _ = rand.Read(b[:])
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	j := 0
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out[j] = '-'
			j++
		}
		out[j] = hexDigits[c>>4]
		out[j+1] = hexDigits[c&0xf]
		j += 2
	}
	return string(out[:])
}

// series is a BC number series ("C00010", "PS-INV103001", …) with a fixed digit width for the
// whole set, so that numbers sort the same as strings and as row indexes.
type series struct {
	prefix string
	start  int64
	step   int64
	width  int
}

func newSeries(prefix string, start, step int64, n, minWidth int) series {
	last := start + step*int64(max(n-1, 0))
	w := max(len(strconv.FormatInt(last, 10)), len(strconv.FormatInt(start, 10)), minWidth)
	return series{prefix: prefix, start: start, step: step, width: w}
}

// at returns the number of row i.
func (s series) at(i int) string {
	var b [40]byte
	buf := append(b[:0], s.prefix...)
	return string(appendPadded(buf, s.start+s.step*int64(i), s.width))
}

// appendPadded appends v in decimal, zero-padded to width digits.
func appendPadded(b []byte, v int64, width int) []byte {
	var d [20]byte
	s := strconv.AppendInt(d[:0], v, 10)
	for k := len(s); k < width; k++ {
		b = append(b, '0')
	}
	return append(b, s...)
}
