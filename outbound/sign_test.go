package outbound_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/internal/whtest"
	"github.com/bizzjoiner/bcconnector/outbound"
	"github.com/bizzjoiner/bcconnector/secret"
)

// The example of the Standard Webhooks and Svix documentation: a known secret, message,
// time and body with the signature their libraries compute.
const (
	vectorSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorUnix      = 1614265330
	vectorBody      = `{"test": 2432232314}`
	vectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func TestSignKnownVector(t *testing.T) {
	t.Parallel()
	at := time.Unix(vectorUnix, 0)
	got, err := outbound.Sign([]secret.Secret{vectorSecret}, vectorID, at, []byte(vectorBody))
	if err != nil || got != vectorSignature {
		t.Fatalf("Sign = %q, %v; want %q", got, err, vectorSignature)
	}
	hdr := http.Header{}
	hdr.Set("webhook-id", vectorID)
	hdr.Set("webhook-timestamp", "1614265330")
	hdr.Set("webhook-signature", "v1a,ignored v1,bm90IHRoaXM= "+vectorSignature)
	if err := whtest.Verify(vectorSecret, hdr, []byte(vectorBody), at.Add(time.Minute)); err != nil {
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
		if whtest.Verify(vectorSecret, h, []byte(tc.body), now) == nil {
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
