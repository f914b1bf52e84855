package main

import (
	"context"
	"log/slog"
	"strings"
)

// riverLogger is River's logger: River's routine lines (client started, leadership,
// maintenance runs) go one level down, info to debug, while its warnings and errors stay;
// its snake_case keys become the log's camelCase, and its durations milliseconds (…Ms).
func riverLogger(log *slog.Logger) *slog.Logger {
	return slog.New(&riverHandler{next: log.Handler()}).With("component", "river")
}

type riverHandler struct{ next slog.Handler }

// demote lowers River's info lines to debug.
func demote(l slog.Level) slog.Level {
	if l >= slog.LevelInfo && l < slog.LevelWarn {
		return slog.LevelDebug
	}
	return l
}

func (h *riverHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, demote(l))
}

func (h *riverHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, demote(r.Level), r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(camelAttr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h *riverHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	conv := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		conv[i] = camelAttr(a)
	}
	return &riverHandler{next: h.next.WithAttrs(conv)}
}

func (h *riverHandler) WithGroup(name string) slog.Handler {
	return &riverHandler{next: h.next.WithGroup(camelKey(name))}
}

// camelAttr renames a to camelCase (in groups too) and turns a duration into
// milliseconds under a key ending in Ms.
func camelAttr(a slog.Attr) slog.Attr {
	a.Key = camelKey(a.Key)
	switch a.Value.Kind() {
	case slog.KindDuration:
		return slog.Int64(strings.TrimSuffix(a.Key, "Ms")+"Ms", a.Value.Duration().Milliseconds())
	case slog.KindGroup:
		g := a.Value.Group()
		conv := make([]slog.Attr, len(g))
		for i, x := range g {
			conv[i] = camelAttr(x)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(conv...)}
	case slog.KindLogValuer:
		return camelAttr(slog.Attr{Key: a.Key, Value: a.Value.Resolve()})
	}
	if a.Key == "error" {
		a.Key = "err"
	}
	return a
}

// camelKey turns snake_case into camelCase: num_jobs → numJobs.
func camelKey(k string) string {
	if !strings.Contains(k, "_") {
		return k
	}
	parts := strings.Split(k, "_")
	var b strings.Builder
	b.WriteString(parts[0])
	for _, p := range parts[1:] {
		if p != "" {
			b.WriteString(strings.ToUpper(p[:1]) + p[1:])
		}
	}
	return b.String()
}
