// Package whtest is a test helper: a receiver's check of Standard Webhooks signatures,
// written from the specification (auth-jobs-delivery-facts §5) independently of package
// outbound, so tests of the sender do not check it against itself.
package whtest

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Tolerance is how far webhook-timestamp may be from now (the reference libraries' 5 min).
const Tolerance = 5 * time.Minute

// Verify checks a delivery as a receiver does: the webhook-id, webhook-timestamp and
// webhook-signature headers are present, the timestamp is within Tolerance of now, and
// one "v1,<base64>" entry of the space-separated signature list equals HMAC-SHA256 over
// "{id}.{timestamp}.{body}" keyed with the bytes after "whsec_" (standard base64),
// compared in constant time.
func Verify(whsec string, hdr http.Header, body []byte, now time.Time) error {
	id, ts, sigs := hdr.Get("webhook-id"), hdr.Get("webhook-timestamp"), hdr.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return errors.New("missing required headers")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errors.New("invalid timestamp")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > Tolerance || d < -Tolerance {
		return errors.New("timestamp outside the tolerance")
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(whsec, "whsec_"))
	if err != nil || !strings.HasPrefix(whsec, "whsec_") {
		return errors.New("the secret is not whsec_ and base64")
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	want := mac.Sum(nil)
	for _, s := range strings.Split(sigs, " ") {
		version, b64, ok := strings.Cut(s, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(b64)
		if err == nil && subtle.ConstantTimeCompare(got, want) == 1 {
			return nil
		}
	}
	return errors.New("no matching signature")
}
