package bc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
)

// ClientRequestIDHeader is the request header that carries the client request id. BC
// records it in its web service telemetry (httpHeaders dimension) and uses it as the
// operation id in Application Insights, so a customer can find our calls in BC's telemetry:
//
// https://learn.microsoft.com/dynamics365/business-central/dev-itpro/webservices/web-service-telemetry
const ClientRequestIDHeader = "client-request-id"

type requestIDKey struct{}

// WithClientRequestID returns a context whose calls carry id as their client-request-id,
// for callers that want one id across several calls (for example one sync run). Without
// it, each call gets a fresh UUID; either way retries of a call keep its id.
func WithClientRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// clientRequestID returns the context's id or a new one.
func clientRequestID(ctx context.Context) string {
	if id, ok := ctx.Value(requestIDKey{}).(string); ok && id != "" {
		return id
	}
	return newUUID()
}

// newUUID returns a random (version 4) UUID in lower-case canonical form.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}
