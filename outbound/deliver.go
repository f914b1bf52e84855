package outbound

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
)

// DefaultSchedule is the wait before each retry: the Standard Webhooks example, 75 h 35 min
// over 9 retries (10 attempts), after which a delivery is dead. Each wait varies by up to
// ±10 % so retries of many deliveries spread out.
var DefaultSchedule = []time.Duration{
	5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour,
	10 * time.Hour, 14 * time.Hour, 20 * time.Hour, 24 * time.Hour,
}

// maxRetryAfter caps how far an endpoint's Retry-After can push the next attempt.
const maxRetryAfter = 24 * time.Hour

// maxResponseRead bounds how much of an endpoint's answer is read (the attempt log keeps
// the first store.MaxAttemptResponse bytes); the rest is not read, and the connection is
// closed instead of reused.
const maxResponseRead = 64 << 10

// Result is what Attempt did.
type Result struct {
	// Delivery is the delivery after the attempt (zero when Skipped).
	Delivery store.Delivery
	// Skipped: there was nothing to do (the delivery is gone or finished, or another
	// worker recorded this attempt first).
	Skipped bool
	// NotYet is set when the delivery is not due: the time it is.
	NotYet time.Time
	// Next is the delivery of the same order key that became pending when this one
	// finished; it needs a job.
	Next string
}

// NewMessageID returns a fresh webhook-id: "msg_" and 32 hex characters.
func NewMessageID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "msg_" + hex.EncodeToString(b)
}

// Attempt makes the next attempt of a pending delivery that is due: it signs the stored
// body with the endpoint's current secrets, POSTs it, logs the attempt and decides what
// follows (succeeded on 2xx; dead on 410 or after the last attempt of the schedule;
// otherwise pending until the next wait of the schedule, or Retry-After if later). A 410
// also disables the endpoint; a delivery to a disabled endpoint is not sent but logged as
// a dead attempt saying so.
func (s *Service) Attempt(ctx context.Context, id string) (Result, error) {
	d, err := s.st.Delivery(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return Result{Skipped: true}, nil
	}
	if err != nil {
		return Result{}, err
	}
	if d.State != store.DeliveryPending {
		return Result{Skipped: true, Delivery: d}, nil
	}
	now := s.now()
	if d.NextAttemptAt.After(now) {
		return Result{Delivery: d, NotYet: d.NextAttemptAt}, nil
	}
	ep, secrets, err := s.endpoint(ctx, d.EndpointID)
	if errors.Is(err, store.ErrNotFound) {
		return Result{Skipped: true}, nil
	}
	if err != nil {
		return Result{}, err
	}
	a := store.DeliveryAttempt{N: d.Attempts + 1, At: now}
	var out store.DeliveryOutcome
	if ep.Disabled {
		// Not sent: the attempt log says why, and a replay after enabling sends it.
		a.Error = "not sent: the endpoint is disabled (" + ep.DisabledReason + "); enable it and replay this delivery"
		out = store.DeliveryOutcome{State: store.DeliveryDead}
	} else {
		retryAfter := s.post(ctx, ep, d, secrets, &a)
		out = s.outcome(a, retryAfter, now)
		if a.StatusCode == http.StatusGone {
			// Standard Webhooks: 410 Gone means the receiver wants no more deliveries.
			reason := fmt.Sprintf("the endpoint answered 410 Gone to delivery %s at %s", d.ID, now.Format(time.RFC3339))
			if _, err := s.SetEndpointEnabled(ctx, ep.ID, false, reason); err != nil && !errors.Is(err, store.ErrNotFound) {
				return Result{}, err
			}
			s.log.Warn("webhook endpoint disabled: it answered 410 Gone", "endpoint", ep.ID, "delivery", d.ID)
		}
	}
	next, err := s.st.RecordAttempt(ctx, d.ID, a, out)
	if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
		return Result{Skipped: true}, nil
	}
	if err != nil {
		return Result{}, err
	}
	// Successes are routine (debug); a failure is worth a line, a delivery given up a warning.
	lvl := slog.LevelDebug
	attrs := []any{"delivery", d.ID, "endpoint", ep.ID, "event", d.EventType, "attempt", a.N, "status", a.StatusCode,
		"outcome", string(out.State), "durationMs", a.Duration.Milliseconds()}
	if a.Error != "" {
		attrs = append(attrs, "err", a.Error)
	}
	switch out.State {
	case store.DeliveryPending:
		lvl, attrs = slog.LevelInfo, append(attrs, "nextAttemptAt", out.NextAttemptAt)
	case store.DeliveryDead:
		lvl = slog.LevelWarn
	}
	s.log.Log(ctx, lvl, "webhook delivery attempt", attrs...)
	d.State, d.Attempts, d.NextAttemptAt, d.LastAttemptAt, d.LastStatus, d.LastError =
		out.State, a.N, out.NextAttemptAt, a.At, a.StatusCode, a.Error
	return Result{Delivery: d, Next: next}, nil
}

// post sends one attempt and fills in a; it returns the endpoint's Retry-After (0 if
// none).
func (s *Service) post(ctx context.Context, ep store.Endpoint, d store.Delivery, secrets []secret.Secret, a *store.DeliveryAttempt) time.Duration {
	start := time.Now()
	defer func() { a.Duration = time.Since(start) }()
	sig, err := Sign(secrets, d.ID, a.At, d.Payload)
	if err != nil {
		a.Error = "signing: " + err.Error()
		return 0
	}
	ctx, cancel := context.WithTimeout(ctx, AttemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(d.Payload))
	if err != nil {
		a.Error = "request: " + describe(err)
		return 0
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "bcconnector-webhooks/1")
	req.Header.Set(HeaderID, d.ID)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(a.At.Unix(), 10))
	req.Header.Set(HeaderSignature, sig)
	resp, err := s.client.Do(req)
	if err != nil {
		a.Error = describe(err)
		return 0
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseRead))
	a.StatusCode = resp.StatusCode
	a.Response = string(body[:min(len(body), store.MaxAttemptResponse)])
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		if err != nil { // the status counts; a broken body after it does not
			a.Response += " [answer cut off: " + describe(err) + "]"
		}
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		a.Error = fmt.Sprintf("HTTP %d: redirects are not followed; register the final URL", resp.StatusCode)
	default:
		a.Error = fmt.Sprintf("HTTP %d", resp.StatusCode)
	}
	return retryAfterOf(resp, a.At)
}

// describe returns an error's text without the URL (which may carry a query string the
// platform considers private).
func describe(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Sprintf("no answer within %s", AttemptTimeout)
	}
	return err.Error()
}

// retryAfterOf reads Retry-After (seconds or an HTTP date) of a 429 or 503 answer.
func retryAfterOf(resp *http.Response, now time.Time) time.Duration {
	if resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable {
		return 0
	}
	v := resp.Header.Get("Retry-After")
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 {
		return time.Duration(min(n, int64(maxRetryAfter/time.Second))) * time.Second // no overflow
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), maxRetryAfter)
	}
	return 0
}

// outcome decides what follows attempt a.
func (s *Service) outcome(a store.DeliveryAttempt, retryAfter time.Duration, now time.Time) store.DeliveryOutcome {
	switch {
	case a.StatusCode >= 200 && a.StatusCode < 300:
		return store.DeliveryOutcome{State: store.DeliverySucceeded}
	case a.StatusCode == http.StatusGone, a.N > len(s.schedule):
		return store.DeliveryOutcome{State: store.DeliveryDead}
	}
	wait := s.schedule[a.N-1]
	wait += time.Duration((mrand.Float64()*0.2 - 0.1) * float64(wait))
	return store.DeliveryOutcome{State: store.DeliveryPending, NextAttemptAt: now.Add(max(wait, retryAfter))}
}
