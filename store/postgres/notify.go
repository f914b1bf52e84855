package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/store/internal/sqlstore"
)

var _ store.Notifier = (*DB)(nil)

// listener is the LISTEN side of the store's Notifier: one connection of its own
// (outside the pool, which must not lose a connection to waiting), opened by the first
// Subscribe and re-opened when it breaks.
type listener struct {
	hub     sqlstore.Hub
	channel string          // the PostgreSQL channel of this database schema
	cfg     *pgx.ConnConfig // for the listening connection

	mu      sync.Mutex
	started bool
	stop    context.CancelFunc
	done    chan struct{}
}

// pgChannel is the one PostgreSQL channel a store uses: every logical channel travels in
// the payload ("channel payload"), so stores of different schemas in one database (tests,
// or two deployments) never hear each other and a long schema name never overflows
// PostgreSQL's 63-byte channel names.
func pgChannel(schema string) string {
	sum := sha256.Sum256([]byte(schema))
	return "bcc_" + hex.EncodeToString(sum[:8])
}

// Publish implements store.Notifier with NOTIFY: every process listening on the same
// database and schema receives it, this one included.
func (db *DB) Publish(ctx context.Context, channel, payload string) error {
	if err := sqlstore.CheckMessage(channel, payload); err != nil {
		return err
	}
	if _, err := db.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, db.listen.channel, channel+" "+payload); err != nil {
		return err
	}
	return nil
}

// notifyTx publishes inside tx: PostgreSQL delivers it when tx commits, and never if it
// rolls back.
func (db *DB) notifyTx(ctx context.Context, tx pgx.Tx, channel, payload string) error {
	_, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, db.listen.channel, channel+" "+payload)
	return err
}

// Subscribe implements store.Notifier. The first call opens the listening connection and
// waits (up to 10 seconds) until it listens, so a message published after Subscribe
// returns is not missed; if the database cannot be reached, it keeps trying in the
// background and delivers the empty payload once it listens.
func (db *DB) Subscribe(channel string, fn func(payload string)) (cancel func()) {
	cancel = db.listen.hub.Subscribe(channel, fn)
	db.listen.start(db.log.Warn)
	return cancel
}

func (l *listener) start(warn func(msg string, args ...any)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.started {
		return
	}
	l.started = true
	ctx, stop := context.WithCancel(context.Background())
	l.stop, l.done = stop, make(chan struct{})
	ready := make(chan struct{})
	go l.run(ctx, ready, warn)
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
	}
}

// close stops listening and waits for the listening goroutine.
func (l *listener) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.started {
		l.stop()
		<-l.done
	}
}

// run listens until ctx ends, reconnecting after a failure (1 s, doubling to 30 s);
// after a reconnection every subscriber gets the empty payload.
func (l *listener) run(ctx context.Context, ready chan struct{}, warn func(msg string, args ...any)) {
	defer close(l.done)
	wait := time.Second
	first := true
	for ctx.Err() == nil {
		err := l.listenOnce(ctx, func() {
			if first {
				close(ready)
				first = false
			} else {
				l.hub.DeliverAll()
			}
			wait = time.Second
		})
		if ctx.Err() != nil {
			return
		}
		warn("postgres: listening for notifications failed; reconnecting", "err", redact(err), "after", wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, 30*time.Second)
	}
}

func (l *listener) listenOnce(ctx context.Context, listening func()) error {
	conn, err := pgx.ConnectConfig(ctx, l.cfg)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, `LISTEN `+quoteIdent(l.channel)); err != nil {
		return err
	}
	listening()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		channel, payload, _ := strings.Cut(n.Payload, " ")
		l.hub.Deliver(channel, payload)
	}
}
