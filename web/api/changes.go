package api

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bizzjoiner/bcconnector/guide"
	"github.com/bizzjoiner/bcconnector/service"
	"github.com/bizzjoiner/bcconnector/store"
)

// changesParams are the query parameters GET /changes accepts; any other is refused, so
// a misspelt cursor (say ?since=) is not silently read as "from the start".
var changesParams = []string{"after", "limit", "wait", "connection", "company", "entitySet"}

// checkParams refuses a query parameter that is not in accepted, naming it and the
// accepted ones.
func checkParams(q url.Values, accepted []string) error {
	var unknown []string
	for k := range q {
		if !slices.Contains(accepted, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	slices.Sort(unknown)
	return fmt.Errorf("%w: unknown query parameter %s; accepted: %s", errBadRequest, strings.Join(unknown, ", "), strings.Join(accepted, ", "))
}

// parseLimit reads a limit query parameter: a whole number from 1 to max.
func parseLimit(s string, max int) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 || n > max {
		return 0, fmt.Errorf("%w: limit must be a whole number from 1 to %d, got %q", errBadRequest, max, s)
	}
	return n, nil
}

func (a *api) changes(w http.ResponseWriter, r *http.Request) error {
	return a.feed(w, r, strings.Contains(r.Header.Get("Accept"), "text/event-stream"))
}

// changesStream is GET /changes/stream: the change feed as server-sent events, whatever
// the Accept header says (GET /changes with Accept: text/event-stream is the same, kept
// for clients written before the stream was an operation of its own).
func (a *api) changesStream(w http.ResponseWriter, r *http.Request) error {
	if r.URL.Query().Has("wait") {
		return fmt.Errorf("%w: wait is a parameter of the long-poll GET /changes; a stream waits by itself, drop it", errBadRequest)
	}
	return a.feed(w, r, true)
}

// feed answers the change feed: a JSON page (long-poll) or a stream of events.
func (a *api) feed(w http.ResponseWriter, r *http.Request, sse bool) error {
	q := r.URL.Query()
	if err := checkParams(q, changesParams); err != nil {
		return err
	}
	var after int64
	var err error
	if s := q.Get("after"); s != "" {
		if after, err = strconv.ParseInt(s, 10, 64); err != nil || after < 0 {
			return fmt.Errorf("%w: after must be a change sequence number (0 or more), got %q", errBadRequest, s)
		}
	}
	if s := r.Header.Get("Last-Event-ID"); s != "" {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > after {
			after = n
		}
	}
	limit := 0
	if s := q.Get("limit"); s != "" {
		if limit, err = parseLimit(s, service.MaxChangesLimit); err != nil {
			return err
		}
	}
	// Durations in the API are seconds, everywhere (durationSeconds, overlapSeconds).
	var wait time.Duration
	if s := q.Get("wait"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("%w: wait is a whole number of seconds (0 or more; more than %d is cut to %d), got %q; e.g. wait=30", errBadRequest,
				int64(a.maxWait.Seconds()), int64(a.maxWait.Seconds()), s)
		}
		wait = time.Duration(min(n, 1<<20)) * time.Second
	}
	wait = min(wait, a.maxWait)
	keep, err := a.changesFilter(r, q)
	if err != nil {
		return err
	}
	if sse {
		return a.stream(w, r, after, limit, keep)
	}
	changes, next, err := a.svc.Changes(r.Context(), after, limit, wait, keep)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"changes": changes, "next": next})
	return nil
}

// changesFilter keeps the changes the token may see, of the connection (ID or name),
// company (ID; or name, with connection) and entity set the query names, if it does.
func (a *api) changesFilter(r *http.Request, q url.Values) (func(store.Change) bool, error) {
	tok := token(r)
	connID, companyID := "", strings.ToLower(q.Get("company"))
	if ref := q.Get("connection"); ref != "" {
		v, err := a.connectionByRef(r, ref)
		if err != nil {
			return nil, fmt.Errorf("connection=%s: %w", ref, err)
		}
		connID = v.ID
		if ref := q.Get("company"); ref != "" {
			co, ok := v.FindCompany(ref)
			if !ok {
				return nil, fmt.Errorf("%w: company=%s: connection %q has no such company; its companies are %s", errBadRequest, ref, v.Name, strings.Join(v.CompanyLabels(), ", "))
			}
			companyID = co.ID
		}
	} else if companyID != "" && !guide.IsGUID(companyID) {
		return nil, fmt.Errorf("%w: company=%s: without connection= give the company's ID (a GUID); a company name needs connection= too", errBadRequest, q.Get("company"))
	}
	set := q.Get("entitySet")
	return func(c store.Change) bool {
		return tok.Allows(c.ConnectionID) && (connID == "" || c.ConnectionID == connID) &&
			(companyID == "" || c.CompanyID == companyID) && (set == "" || c.EntitySet == set)
	}, nil
}

// stream sends changes as server-sent events (event "change", id = seq) until the client
// goes away, with a comment every 15 s to keep proxies from closing the stream. An error
// after the stream started ends it with an event "error" carrying the error's JSON body.
func (a *api) stream(w http.ResponseWriter, r *http.Request, after int64, limit int, keep func(store.Change) bool) error {
	rc := http.NewResponseController(w)
	// The first read does not wait, so a bad cursor answers an error, not a stream.
	for wait := time.Duration(0); r.Context().Err() == nil; wait = 15 * time.Second {
		changes, next, err := a.svc.Changes(r.Context(), after, limit, wait, keep)
		if err != nil && wait == 0 {
			return err
		}
		if err != nil {
			// The stream has started: the error goes as an event of its own, with the body
			// a JSON call would get, and the stream ends (a reader whose cursor the
			// retention overtook gets cursor_expired).
			status, body := statusOf(err)
			lvl := slog.LevelInfo
			if status >= 500 {
				lvl = slog.LevelError
			}
			a.log.Log(r.Context(), lvl, "change feed stream ended", "status", status, "err", err)
			b, _ := json.Marshal(errorBody(status, body))
			fmt.Fprintf(w, "event: error\ndata: %s\n\n", b)
			_ = rc.Flush()
			return nil
		}
		if wait == 0 {
			w.Header().Set("Content-Type", "text/event-stream")
			w.Header().Set("Cache-Control", "no-cache")
			w.WriteHeader(http.StatusOK)
		}
		if len(changes) == 0 {
			_, _ = io.WriteString(w, ": keep-alive\n\n")
		}
		for _, c := range changes {
			b, _ := json.Marshal(c)
			fmt.Fprintf(w, "id: %d\nevent: change\ndata: %s\n\n", c.Seq, b)
		}
		after = max(after, next)
		if err := rc.Flush(); err != nil {
			return nil
		}
	}
	return nil
}
