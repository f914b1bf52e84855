package store

import "context"

// Notifier carries small messages between the bcconnector processes on one database, so
// that state one instance keeps in memory (opened connections, waiting change-feed
// readers) follows what another instance changed. store/postgres uses LISTEN/NOTIFY:
// every process on the database (and schema) receives every message. store/sqlite
// delivers in-process only: a SQLite file is served by one process.
//
// Delivery is at most once and asynchronous; a message published inside a store
// operation is delivered after its transaction committed. A subscriber that may have
// missed messages (the listening connection was lost and re-established) receives one
// message with the empty payload, which means "anything may have changed".
type Notifier interface {
	// Publish sends payload (at most 7,000 bytes) on channel to the subscribers of every
	// process on the database, this one included.
	Publish(ctx context.Context, channel, payload string) error
	// Subscribe calls fn with the payload of each message published on channel from now
	// on, until cancel is called. fn runs on the notifier's goroutine: it must return
	// quickly and must not call Subscribe or cancel.
	Subscribe(channel string, fn func(payload string)) (cancel func())
}

// The channels the stores publish on themselves.
const (
	// ChannelConnection carries the ID of a connection whose settings or client secrets
	// changed (UpdateConnection, DeleteConnection, PromoteSecret, RetireSecret), published
	// in the same transaction, so caches of opened connections can drop it.
	ChannelConnection = "connection"
	// ChannelChanges is published (empty payload) after ApplyBatch logged changes, so
	// change-feed readers waiting for new entries wake at once.
	ChannelChanges = "changes"
)
