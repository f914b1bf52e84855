package entra

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// attempt records what the transport saw during one token acquisition. azidentity turns
// transport errors into text, so the transport keeps the original error for Error.Err
// (errors.Is(err, context.DeadlineExceeded), x509 errors via errors.As).
type attempt struct {
	mu      sync.Mutex
	err     error  // last transport error
	host    string // host of the last request
	tokenRq int    // token requests sent
}

type attemptKey struct{}

func withAttempt(ctx context.Context, a *attempt) context.Context {
	return context.WithValue(ctx, attemptKey{}, a)
}

// transport sits between azcore's pipeline and the HTTP client: it counts token requests,
// logs each Entra request at debug level (method, host, path, status, duration; never
// bodies or headers, which carry the secret and the token) and records transport errors.
type transport struct {
	client   *http.Client
	log      *slog.Logger
	requests *atomic.Int64
}

// Do implements azcore's policy.Transporter.
func (t *transport) Do(r *http.Request) (*http.Response, error) {
	a, _ := r.Context().Value(attemptKey{}).(*attempt)
	isToken := r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/token")
	if isToken {
		t.requests.Add(1)
	}
	if a != nil {
		a.mu.Lock()
		a.host = r.URL.Host
		if isToken {
			a.tokenRq++
		}
		a.mu.Unlock()
	}
	start := time.Now()
	resp, err := t.client.Do(r)
	attrs := []slog.Attr{
		slog.String("method", r.Method),
		slog.String("host", r.URL.Host),
		slog.String("path", r.URL.Path),
		slog.Int64("durationMs", time.Since(start).Milliseconds()),
	}
	if err != nil {
		if a != nil {
			a.mu.Lock()
			a.err = err
			a.mu.Unlock()
		}
		t.log.LogAttrs(r.Context(), slog.LevelDebug, "entra request failed", append(attrs, slog.String("err", err.Error()))...)
		return resp, err
	}
	if a != nil {
		a.mu.Lock()
		a.err = nil
		a.mu.Unlock()
	}
	t.log.LogAttrs(r.Context(), slog.LevelDebug, "entra request", append(attrs, slog.Int("status", resp.StatusCode))...)
	return resp, nil
}
