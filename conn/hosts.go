package conn

import (
	"log/slog"
	"net/http"
	"sync"
)

// OutboundHostMsg is the message of the log line [LogHosts] writes for each new host.
const OutboundHostMsg = "outbound host"

// LogHosts returns a transport wrapper (for [Options.WrapTransport]) that logs one Info
// line the first time a request goes to a host (host:port, and the scheme) in this
// process, over all the transports it wraps. An operator (or a test) reading the log sees
// every host the process sent anything to, and can check each against the hosts the
// connections name; the line carries no path, query or header, so never a credential.
func LogHosts(log *slog.Logger) func(http.RoundTripper) http.RoundTripper {
	var seen sync.Map // scheme://host -> struct{}
	return func(rt http.RoundTripper) http.RoundTripper {
		if rt == nil {
			rt = http.DefaultTransport
		}
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			key := r.URL.Scheme + "://" + r.URL.Host
			if _, loaded := seen.LoadOrStore(key, struct{}{}); !loaded {
				log.LogAttrs(r.Context(), slog.LevelInfo, OutboundHostMsg,
					slog.String("host", r.URL.Host), slog.String("scheme", r.URL.Scheme))
			}
			return rt.RoundTrip(r)
		})
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
