package sqlstore

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// TestAppendJSONString: what appendJSONString writes reads back, with encoding/json, as
// the string it was given, after whatever the buffer held.
func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{
		"", "plain", `W/"JzIwOzExOTU0ODgzNDEzMzc3MTQ4NTkxOzAwOyc="`, `"`, `\`, `a\"b`, "\x00\x1f\n\t",
		"end\x01", "\x02start", "ünïcödé €", `mixed "quote" and \ back` + "\x7f\u2028",
	} {
		checkJSONString(t, s)
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", `W/"x"`, "a\x00b\\c", "ü\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) { // the ids and ETags it is given are valid UTF-8
			t.Skip()
		}
		checkJSONString(t, s)
	})
}

func checkJSONString(t *testing.T, s string) {
	t.Helper()
	out := appendJSONString([]byte("[1,"), s)
	var got []any
	if err := json.Unmarshal(append(out, ']'), &got); err != nil {
		t.Fatalf("%q → %s: %v", s, out, err)
	}
	if len(got) != 2 || got[1] != s {
		t.Fatalf("%q → %s reads back as %q", s, out, got)
	}
}
