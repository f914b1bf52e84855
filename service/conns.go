package service

import (
	"context"
	"fmt"

	"github.com/bizzjoiner/bcconnector/bc"
	"github.com/bizzjoiner/bcconnector/conn"
	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
)

func (s *Impl) defaultOpen(_ context.Context, c store.Connection, cred secret.Credential) (*conn.Conn, error) {
	return conn.Open(c, cred, s.connOptions(c))
}

// connOptions are the options every client of connection c is built with: the BC limiter
// shared by every connection of one app and environment (and, with Options.Limiters, by
// every process on the database), the metrics wrapper, the clock and the logger.
// A failed token request is checked for an express connection's revoked consent.
func (s *Impl) connOptions(c store.Connection) conn.Options {
	return conn.Options{HTTPClient: s.hc, WrapTransport: s.wrap, Transports: &s.transports, Limiters: s.limiters, Logger: s.log, Now: s.now,
		TokenErrorFunc: func(err error) { s.tokenRefused(c.ID, err) }}
}

// Conn returns the live clients of a stored connection, opened once and shared, so every
// caller (API writes, the syncer) stays within the same BC limits.
func (s *Impl) Conn(ctx context.Context, id string) (*conn.Conn, error) {
	s.mu.Lock()
	c := s.conns[id]
	gen := s.forgets
	s.mu.Unlock()
	if c != nil {
		return c, nil
	}
	cn, err := s.st.GetConnection(ctx, id)
	if err != nil {
		return nil, err
	}
	if be := s.blocked(cn); be != nil {
		return nil, be
	}
	cred, _, err := store.ActiveCredential(ctx, s.st, cn)
	if err != nil {
		return nil, fmt.Errorf("connection %q has no usable credential: %w", cn.Name, err)
	}
	c, err = s.open(ctx, cn, cred)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if prev := s.conns[cn.ID]; prev != nil {
		return prev, nil
	}
	if s.forgets == gen {
		// Cache it only if nothing was invalidated since the store was read: a change
		// that raced with opening must not leave the old settings or secret cached.
		s.conns[cn.ID] = c
	}
	return c, nil
}

// Client implements syncer.Clients.
func (s *Impl) Client(ctx context.Context, connectionID string) (*bc.Client, error) {
	c, err := s.Conn(ctx, connectionID)
	if err != nil {
		return nil, err
	}
	return c.BC, nil
}

// Conns returns the connections opened so far (for metrics).
func (s *Impl) Conns() map[string]*conn.Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]*conn.Conn, len(s.conns))
	for k, v := range s.conns {
		out[k] = v
	}
	return out
}

// forget drops the opened connection id, so the next use opens it again from the store.
func (s *Impl) forget(id string) {
	s.mu.Lock()
	delete(s.conns, id)
	s.forgets++
	s.mu.Unlock()
}

// forgetAll drops every opened connection.
func (s *Impl) forgetAll() {
	s.mu.Lock()
	clear(s.conns)
	s.forgets++
	s.mu.Unlock()
}

func (s *Impl) openStored(ctx context.Context, c store.Connection) (*conn.Conn, error) {
	if be := s.blocked(c); be != nil {
		return nil, be
	}
	cred, _, err := store.ActiveCredential(ctx, s.st, c)
	if err != nil {
		return nil, err
	}
	return s.open(ctx, c, cred)
}
