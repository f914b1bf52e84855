package syncer

import (
	"encoding/json"
	"testing"
)

func TestStripMember(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, name, want string }{
		{`{"a":1,"lines":[{"x":1}],"b":2}`, "lines", `{"a":1,"b":2}`},
		{`{"a":1,"lines":[{"x":"],"}]}`, "lines", `{"a":1}`},
		{`{"lines":[],"a":1}`, "lines", `{"a":1}`},
		{`{"lines":[]}`, "lines", `{}`},
		{`{"a":"lines","b":{"lines":1}}`, "lines", `{"a":"lines","b":{"lines":1}}`},
		{`{ "a" : 1 , "lines" : [ 1 ] }`, "lines", `{ "a" : 1  }`},
	} {
		got, err := stripMember(json.RawMessage(tc.in), tc.name)
		if err != nil || string(got) != tc.want {
			t.Errorf("stripMember(%s) = %s, %v; want %s", tc.in, got, err, tc.want)
		}
		if !json.Valid(got) {
			t.Errorf("invalid JSON %s", got)
		}
	}
}

func FuzzStripMember(f *testing.F) {
	f.Add(`{"a":1,"lines":[{"x":1}],"b":2}`, "lines")
	f.Fuzz(func(t *testing.T, in, name string) {
		if !json.Valid([]byte(in)) {
			return
		}
		got, err := stripMember(json.RawMessage(in), name)
		if err == nil && !json.Valid(got) {
			t.Fatalf("stripMember(%q, %q) = %q: invalid JSON", in, name, got)
		}
	})
}
