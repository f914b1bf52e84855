package api

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

func (a *api) changes(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
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
		if limit, err = strconv.Atoi(s); err != nil || limit <= 0 {
			return fmt.Errorf("%w: limit must be a positive number, got %q", errBadRequest, s)
		}
	}
	var wait time.Duration
	if s := q.Get("wait"); s != "" {
		if wait, err = time.ParseDuration(s); err != nil || wait < 0 {
			return fmt.Errorf("%w: wait must be a duration such as 30s, got %q", errBadRequest, s)
		}
	}
	wait = min(wait, a.maxWait)
	allowed := token(r).Allows
	if strings.Contains(r.Header.Get("Accept"), "text/event-stream") {
		return a.stream(w, r, after, limit, allowed)
	}
	changes, err := a.svc.Changes(r.Context(), after, limit, wait, allowed)
	if err != nil {
		return err
	}
	next := after
	if len(changes) > 0 {
		next = changes[len(changes)-1].Seq
	}
	writeJSON(w, http.StatusOK, map[string]any{"changes": changes, "next": next})
	return nil
}

// stream sends changes as server-sent events (event "change", id = seq) until the client
// goes away, with a comment every 15 s to keep proxies from closing the stream.
func (a *api) stream(w http.ResponseWriter, r *http.Request, after int64, limit int, allowed func(string) bool) error {
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	if err := rc.Flush(); err != nil {
		return nil
	}
	for r.Context().Err() == nil {
		changes, err := a.svc.Changes(r.Context(), after, limit, 15*time.Second, allowed)
		if err != nil {
			a.log.Error("change feed", "err", err)
			return nil
		}
		if len(changes) == 0 {
			_, _ = io.WriteString(w, ": keep-alive\n\n")
		}
		for _, c := range changes {
			b, _ := json.Marshal(c)
			fmt.Fprintf(w, "id: %d\nevent: change\ndata: %s\n\n", c.Seq, b)
			after = c.Seq
		}
		if err := rc.Flush(); err != nil {
			return nil
		}
	}
	return nil
}
