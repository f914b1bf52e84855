package sqlstore

import (
	"fmt"
	"sync"
)

// MaxPayload is the longest payload a store.Notifier carries (PostgreSQL's NOTIFY takes
// just under 8,000 bytes, the channel name included).
const MaxPayload = 7000

// Hub is the in-process half of a store.Notifier: the subscribers by channel and the
// delivery to them. The zero value is ready.
type Hub struct {
	mu   sync.Mutex
	next int
	subs map[string]map[int]func(string)
}

// Subscribe implements store.Notifier.Subscribe.
func (h *Hub) Subscribe(channel string, fn func(string)) (cancel func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.subs == nil {
		h.subs = map[string]map[int]func(string){}
	}
	if h.subs[channel] == nil {
		h.subs[channel] = map[int]func(string){}
	}
	h.next++
	id := h.next
	h.subs[channel][id] = fn
	var once sync.Once
	return func() {
		once.Do(func() {
			h.mu.Lock()
			defer h.mu.Unlock()
			delete(h.subs[channel], id)
			if len(h.subs[channel]) == 0 {
				delete(h.subs, channel)
			}
		})
	}
}

// Subscribers counts the subscriptions of every channel.
func (h *Hub) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, s := range h.subs {
		n += len(s)
	}
	return n
}

// Deliver calls the subscribers of channel with payload, outside the hub's lock.
func (h *Hub) Deliver(channel, payload string) {
	for _, fn := range h.subscribers(channel) {
		fn(payload)
	}
}

// DeliverAll calls every subscriber of every channel with the empty payload: messages
// may have been lost.
func (h *Hub) DeliverAll() {
	h.mu.Lock()
	var fns []func(string)
	for _, s := range h.subs {
		for _, fn := range s {
			fns = append(fns, fn)
		}
	}
	h.mu.Unlock()
	for _, fn := range fns {
		fn("")
	}
}

func (h *Hub) subscribers(channel string) []func(string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	fns := make([]func(string), 0, len(h.subs[channel]))
	for _, fn := range h.subs[channel] {
		fns = append(fns, fn)
	}
	return fns
}

// CheckMessage validates a channel and payload for Publish.
func CheckMessage(channel, payload string) error {
	switch {
	case channel == "" || len(channel) > 60:
		return fmt.Errorf("notify: channel must be 1-60 bytes, got %d", len(channel))
	case len(payload) > MaxPayload:
		return fmt.Errorf("notify: payload of %d bytes is longer than %d", len(payload), MaxPayload)
	}
	for _, r := range channel {
		if r == ' ' || r < 0x20 {
			return fmt.Errorf("notify: channel %q must not contain spaces or control characters", channel)
		}
	}
	return nil
}
