package outbound

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
)

// The Standard Webhooks headers (auth-jobs-delivery-facts §5).
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// signingKey decodes a signing secret: SigningSecretPrefix and standard base64.
func signingKey(s secret.Secret) ([]byte, error) {
	b64, ok := strings.CutPrefix(s.Reveal(), store.SigningSecretPrefix)
	if !ok {
		return nil, errors.New("signing secret does not start with " + store.SigningSecretPrefix)
	}
	k, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(k) == 0 {
		return nil, errors.New("signing secret is not " + store.SigningSecretPrefix + " and standard base64")
	}
	return k, nil
}

// Sign returns the webhook-signature header for a message: "v1," and the standard base64
// of HMAC-SHA256 over "{id}.{timestamp}.{body}" with each secret's key, space-separated
// (two during a rotation's overlap). body must be the exact bytes sent.
func Sign(secrets []secret.Secret, id string, ts time.Time, body []byte) (string, error) {
	if len(secrets) == 0 {
		return "", errors.New("no signing secret")
	}
	if strings.ContainsAny(id, ". ") {
		return "", fmt.Errorf("message id %q holds '.' or a space", id)
	}
	prefix := id + "." + strconv.FormatInt(ts.Unix(), 10) + "."
	sigs := make([]string, 0, len(secrets))
	for _, s := range secrets {
		key, err := signingKey(s)
		if err != nil {
			return "", err
		}
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(prefix))
		mac.Write(body)
		sigs = append(sigs, "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
		clear(key)
	}
	return strings.Join(sigs, " "), nil
}
