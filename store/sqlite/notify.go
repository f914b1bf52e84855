package sqlite

import (
	"context"

	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/store/internal/sqlstore"
)

var _ store.Notifier = (*DB)(nil)

// Publish implements store.Notifier, in this process only: a SQLite file is served by
// one process, and other processes on it (the CLI) only read or make changes that the
// server picks up on its own.
func (db *DB) Publish(_ context.Context, channel, payload string) error {
	if err := sqlstore.CheckMessage(channel, payload); err != nil {
		return err
	}
	db.hub.Deliver(channel, payload)
	return nil
}

// Subscribe implements store.Notifier.
func (db *DB) Subscribe(channel string, fn func(payload string)) (cancel func()) {
	return db.hub.Subscribe(channel, fn)
}

// connectionChanged tells subscribers that connection id changed; call it after the
// transaction that changed it committed.
func (db *DB) connectionChanged(id string) { db.hub.Deliver(store.ChannelConnection, id) }
