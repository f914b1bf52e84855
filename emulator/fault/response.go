package fault

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// errReset is what a handler's Write returns once a reset fault has cut its body off, so a
// streaming handler stops producing.
var errReset = errors.New("fault: connection reset injected")

// resetWriter holds the handler's body back until it has more than limit bytes, then sends
// exactly limit bytes and refuses the rest.
type resetWriter struct {
	http.ResponseWriter
	limit int
	held  []byte
	sent  bool
}

func (rw *resetWriter) Write(p []byte) (int, error) {
	if rw.sent {
		return 0, errReset
	}
	room := rw.limit - len(rw.held)
	if len(p) <= room {
		rw.held = append(rw.held, p...)
		return len(p), nil
	}
	rw.held = append(rw.held, p[:room]...)
	rw.send(len(rw.held))
	return room, errReset
}

// Flush is a no-op: the body is held back until the cut is known.
func (rw *resetWriter) Flush() {}

// Unwrap lets http.ResponseController reach the connection's other controls.
func (rw *resetWriter) Unwrap() http.ResponseWriter { return rw.ResponseWriter }

// send writes the first n held bytes and pushes them onto the wire.
func (rw *resetWriter) send(n int) {
	rw.sent = true
	if n > 0 {
		_, _ = rw.ResponseWriter.Write(rw.held[:n])
	}
	_ = http.NewResponseController(rw.ResponseWriter).Flush()
}

// serveReset lets next answer, cuts the body after limit bytes (or half of a shorter body)
// and drops the connection. panic(http.ErrAbortHandler) is net/http's documented way to
// abort a response: HTTP/1.1 closes the connection without the final chunk (or short of
// Content-Length), HTTP/2 resets the stream; net/http does not log it.
func serveReset(w http.ResponseWriter, r *http.Request, next http.Handler, limit int) {
	rw := &resetWriter{ResponseWriter: w, limit: limit}
	next.ServeHTTP(rw, r)
	if !rw.sent {
		rw.send(len(rw.held) / 2)
	}
	panic(http.ErrAbortHandler)
}

// bufferWriter collects the handler's body; with holdHeader it also keeps the status back.
type bufferWriter struct {
	http.ResponseWriter
	holdHeader  bool
	status      int
	wroteHeader bool
	body        []byte
}

func (bw *bufferWriter) WriteHeader(status int) {
	if bw.wroteHeader {
		return
	}
	if status >= 100 && status < 200 && status != http.StatusSwitchingProtocols {
		// Informational answers (103 Early Hints) go out as they come.
		bw.ResponseWriter.WriteHeader(status)
		return
	}
	bw.wroteHeader = true
	bw.status = status
	if !bw.holdHeader {
		bw.ResponseWriter.WriteHeader(status)
	}
}

func (bw *bufferWriter) Write(p []byte) (int, error) {
	if !bw.wroteHeader {
		bw.WriteHeader(http.StatusOK)
	}
	bw.body = append(bw.body, p...)
	return len(p), nil
}

// Flush is a no-op: the body goes out after the handler returns.
func (bw *bufferWriter) Flush() {}

// Unwrap lets http.ResponseController reach the connection's other controls.
func (bw *bufferWriter) Unwrap() http.ResponseWriter { return bw.ResponseWriter }

// serveSlow lets next answer, sends its headers at once and then its body in chunks pieces
// spread over delay, stopping early if the client goes away.
func serveSlow(w http.ResponseWriter, r *http.Request, next http.Handler, delay time.Duration, chunks int) {
	bw := &bufferWriter{ResponseWriter: w}
	next.ServeHTTP(bw, r)
	if !bw.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	body := bw.body
	n := max(min(chunks, len(body)), 1)
	step := delay / time.Duration(n)
	for i := range n {
		if !sleep(r.Context(), step) {
			return
		}
		piece := body[i*len(body)/n : (i+1)*len(body)/n]
		if len(piece) > 0 {
			if _, err := w.Write(piece); err != nil {
				return
			}
		}
		_ = rc.Flush()
	}
}

// serveMalformed lets next answer and sends its status and headers with a body that is cut
// short (see corrupt), with Content-Length corrected so the client reads a complete,
// unparseable body rather than an unexpected EOF.
func serveMalformed(w http.ResponseWriter, r *http.Request, next http.Handler) {
	bw := &bufferWriter{ResponseWriter: w, holdHeader: true, status: http.StatusOK}
	next.ServeHTTP(bw, r)
	body := corrupt(bw.body)
	if w.Header().Get("Content-Length") != "" {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	}
	w.WriteHeader(bw.status)
	if len(body) > 0 {
		_, _ = w.Write(body)
	}
}

// corrupt cuts body to two thirds of its length. A JSON object or array has no proper prefix
// that is valid JSON; for the rare body whose prefix still parses (a bare number, trailing
// white space) a stray quote is added. An empty body stays empty.
func corrupt(body []byte) []byte {
	if len(body) == 0 {
		return body
	}
	out := body[: len(body)*2/3 : len(body)*2/3]
	if json.Valid(out) {
		out = append(out, '"')
	}
	return out
}

// isEntraPath reports whether path is served by the Entra side of the emulator: the token
// endpoint /{tenant}/oauth2/v2.0/token, OIDC discovery, JWKS and instance discovery
// (bc-entra-facts §1.1, §1.5). BC paths start with /v2.0/ or /admin/ and contain none of these.
func isEntraPath(path string) bool {
	return strings.Contains(path, "/oauth2/") || strings.Contains(path, "/discovery/") ||
		strings.Contains(path, "/.well-known/")
}

// bcError holds BC's code and message per injected status. Only Internal_ServerError is a
// documented BC code (bc-entra-facts §3.3); 429's body is the shape seen for BC's older
// limits, and the gateway codes follow the gateway's "Unauthorized" style (§3.4): UNCONFIRMED.
var bcErrors = map[int][2]string{
	http.StatusTooManyRequests:     {"Application_TooManyRequests", "Too many requests reached. Actual (101). Maximum (100)."},
	http.StatusInternalServerError: {"Internal_ServerError", "An unexpected error occurred on the server. Retry the request; if it keeps failing, check the service health."},
	http.StatusBadGateway:          {"BadGateway", "The gateway got an invalid answer from the Business Central service. Retry after the Retry-After interval."},
	http.StatusServiceUnavailable:  {"ServiceUnavailable", "The Business Central service is temporarily unavailable. Retry after the Retry-After interval."},
	http.StatusGatewayTimeout:      {"GatewayTimeout", "The request took longer than the gateway allows. Split it into smaller requests (for example smaller pages) and retry."},
}

// entraErrors holds Entra's error, AADSTS code and message per injected status
// (bc-entra-facts §1.3 shape; the codes are UNCONFIRMED for these statuses).
var entraErrors = map[int]struct {
	err  string
	code int
	msg  string
}{
	http.StatusTooManyRequests:     {"temporarily_unavailable", 90055, "There are too many incoming requests. Retry after the Retry-After interval."},
	http.StatusInternalServerError: {"server_error", 50000, "There was an error issuing a token or an issue with our sign-in service."},
	http.StatusBadGateway:          {"temporarily_unavailable", 90033, "A transient error has occurred. Please try again."},
	http.StatusServiceUnavailable:  {"temporarily_unavailable", 90033, "A transient error has occurred. Please try again."},
	http.StatusGatewayTimeout:      {"temporarily_unavailable", 90033, "A transient error has occurred. Please try again."},
}

// writeError is the default ErrorWriter: Entra's error body on Entra paths, BC's
// elsewhere.
func (in *Injector) writeError(w http.ResponseWriter, r *http.Request, status int, retryAfter time.Duration) {
	h := w.Header()
	if retryAfter > 0 {
		h.Set("Retry-After", strconv.FormatInt(int64((retryAfter+time.Second-1)/time.Second), 10))
	}
	h.Set("Content-Type", "application/json; charset=utf-8")
	var body any
	if isEntraPath(r.URL.Path) {
		e, ok := entraErrors[status]
		if !ok {
			e = entraErrors[http.StatusServiceUnavailable]
		}
		trace, corr := newGUID(), newGUID()
		ts := in.opt.Now().UTC().Format("2006-01-02 15:04:05Z")
		h.Set("Cache-Control", "no-store, no-cache")
		h.Set("x-ms-request-id", trace)
		body = map[string]any{
			"error": e.err,
			"error_description": fmt.Sprintf("AADSTS%d: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s",
				e.code, e.msg, trace, corr, ts),
			"error_codes":    []int{e.code},
			"timestamp":      ts,
			"trace_id":       trace,
			"correlation_id": corr,
			"error_uri":      fmt.Sprintf("https://login.microsoftonline.com/error?code=%d", e.code),
		}
	} else {
		e, ok := bcErrors[status]
		if !ok {
			e = [2]string{"Unknown", http.StatusText(status)}
		}
		corr := newGUID()
		h.Set("ms-correlation-x", corr)
		body = map[string]any{"error": map[string]string{
			"code":    e[0],
			"message": e[1] + "  CorrelationId:  " + corr + ".", // bc-entra-facts §3.2
		}}
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// newGUID returns a random lower-case version 4 GUID.
func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
