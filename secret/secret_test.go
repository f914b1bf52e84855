package secret

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

const testValue = "Zq8~xY2.abcDEFghiJKLmnoPQRstuVWX-0123456789"

func TestSecretRedactedEverywhere(t *testing.T) {
	t.Parallel()
	s := Secret(testValue)
	type Exported struct {
		ClientID string
		Secret   Secret
		Ptr      *Secret
	}
	e := Exported{ClientID: "c", Secret: s, Ptr: &s}

	var outputs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10s", "%T"} {
		outputs = append(outputs, fmt.Sprintf(verb, s), fmt.Sprintf(verb, e), fmt.Sprintf(verb, []Secret{s}), fmt.Sprintf(verb, map[string]Secret{"k": s}))
	}
	outputs = append(outputs, fmt.Sprint(s), fmt.Sprintln(s, e), s.String(), s.GoString())
	outputs = append(outputs, fmt.Errorf("token request with %v failed", s).Error())

	j, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	outputs = append(outputs, string(j))
	type X struct{ S Secret }
	x, err := xml.Marshal(X{s})
	if err != nil {
		t.Fatal(err)
	}
	outputs = append(outputs, string(x))

	var buf bytes.Buffer
	for _, h := range []slog.Handler{slog.NewJSONHandler(&buf, nil), slog.NewTextHandler(&buf, nil)} {
		l := slog.New(h)
		l.Info("adding secret", "secret", s, "conn", e)
		l.Info("group", slog.Group("g", slog.Any("s", s)))
		l.With("s", s).Warn("with")
	}
	outputs = append(outputs, buf.String())

	for _, o := range outputs {
		if strings.Contains(o, testValue) || strings.Contains(o, testValue[:12]) {
			t.Errorf("secret leaked: %s", o)
		}
	}
	if !strings.Contains(buf.String(), Redacted) || !strings.Contains(string(j), `"Secret":"[REDACTED]"`) {
		t.Errorf("expected redaction markers, got json %s / log %s", j, buf.String())
	}
	if s.Reveal() != testValue {
		t.Errorf("Reveal = %q", s.Reveal())
	}
}

func TestSecretDecodesFromJSON(t *testing.T) {
	t.Parallel()
	var in struct {
		ClientSecret Secret `json:"clientSecret"`
	}
	if err := json.Unmarshal([]byte(`{"clientSecret":"`+testValue+`"}`), &in); err != nil {
		t.Fatal(err)
	}
	if in.ClientSecret.Reveal() != testValue {
		t.Fatalf("decoded %q", in.ClientSecret.Reveal())
	}
	if Secret("").IsZero() != true || in.ClientSecret.IsZero() {
		t.Fatal("IsZero wrong")
	}
}

func TestKeyringNeverPrintsKeys(t *testing.T) {
	t.Parallel()
	raw := bytes.Repeat([]byte{0x42}, KeySize)
	kr, err := NewKeyring(raw)
	if err != nil {
		t.Fatal(err)
	}
	kr = kr.Rotate()
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("keys", "kr", kr)
	out := fmt.Sprintf("%v %+v %#v %s %x", kr, kr, kr, kr, kr) + buf.String() + string(must(json.Marshal(kr)))
	for _, k := range kr.keys {
		for _, enc := range encodings(k.raw) {
			if strings.Contains(out, enc) {
				t.Fatalf("key material leaked in %q", out)
			}
		}
	}
	if !strings.Contains(out, kr.PrimaryID()) {
		t.Errorf("expected key ID in %q", out)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
