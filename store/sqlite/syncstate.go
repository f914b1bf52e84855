package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/bizzjoiner/bcconnector/store/internal/sqlstore"

	"github.com/bizzjoiner/bcconnector/store"
)

const syncStateColumns = `connection_id, company_id, entity_set, full_sync_done, full_sync_started_at, watermark,
	last_run_at, last_success_at, last_error, last_reconcile_at, throttled, requests, paused, dirty`

func scanSyncState(r rowScanner) (store.SyncState, error) {
	var s store.SyncState
	var started, watermark, run, success, reconcile sql.NullString
	if err := r.Scan(&s.Key.ConnectionID, &s.Key.CompanyID, &s.Key.EntitySet, &s.FullSyncDone, &started, &watermark,
		&run, &success, &s.LastError, &reconcile, &s.Throttled, &s.Requests, &s.Paused, &s.Dirty); err != nil {
		return s, err
	}
	var err error
	for _, f := range []struct {
		dst *time.Time
		src sql.NullString
	}{{&s.FullSyncStartedAt, started}, {&s.Watermark, watermark}, {&s.LastRunAt, run}, {&s.LastSuccessAt, success}, {&s.LastReconcileAt, reconcile}} {
		if *f.dst, err = parseTime(f.src); err != nil {
			return s, err
		}
	}
	return s, nil
}

// readSyncState reads a set's state and checkpoints with q (a transaction, so both come
// from one snapshot).
func readSyncState(ctx context.Context, q queryer, key store.ReplicaKey) (store.SyncState, error) {
	st, err := scanSyncState(q.QueryRowContext(ctx, `SELECT `+syncStateColumns+` FROM sync_state
		WHERE connection_id = ? AND company_id = ? AND entity_set = ?`, key.ConnectionID, key.CompanyID, key.EntitySet))
	if errors.Is(err, sql.ErrNoRows) {
		st, err = store.SyncState{}, nil
	}
	if err != nil {
		return st, fmt.Errorf("sqlite: read sync state of %s: %w", key.EntitySet, err)
	}
	st.Key = key
	rows, err := q.QueryContext(ctx, `SELECT name, value FROM sync_checkpoints
		WHERE connection_id = ? AND company_id = ? AND entity_set = ? ORDER BY name`, key.ConnectionID, key.CompanyID, key.EntitySet)
	if err != nil {
		return st, fmt.Errorf("sqlite: read checkpoints of %s: %w", key.EntitySet, err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var value []byte
		if err := rows.Scan(&name, &value); err != nil {
			return st, fmt.Errorf("sqlite: read checkpoints of %s: %w", key.EntitySet, err)
		}
		if st.Checkpoints == nil {
			st.Checkpoints = map[string]json.RawMessage{}
		}
		st.Checkpoints[name] = value
	}
	if err := rows.Err(); err != nil {
		return st, fmt.Errorf("sqlite: read checkpoints of %s: %w", key.EntitySet, err)
	}
	return st, nil
}

// SyncState implements store.ReplicaStore. Checkpoints is nil when there are none.
func (db *DB) SyncState(ctx context.Context, key store.ReplicaKey) (store.SyncState, error) {
	if err := key.Validate(); err != nil {
		return store.SyncState{}, err
	}
	tx, err := db.read.BeginTx(ctx, nil)
	if err != nil {
		return store.SyncState{}, fmt.Errorf("sqlite: read sync state: %w", err)
	}
	defer tx.Rollback()
	return readSyncState(ctx, tx, key)
}

// UpdateSyncState implements store.ReplicaStore. fn sees the stored state (zero if none,
// with Key set) and may change every field but Key; Checkpoints it adds, changes or
// removes are written too, and each must be valid JSON. fn runs inside the write
// transaction: keep it short and do not call the store from it.
func (db *DB) UpdateSyncState(ctx context.Context, key store.ReplicaKey, fn func(*store.SyncState)) error {
	if err := key.Validate(); err != nil {
		return err
	}
	if fn == nil {
		return fmt.Errorf("%w: UpdateSyncState needs a function to call", store.ErrInvalid)
	}
	now := fmtTime(db.stamp())
	return db.withTx(ctx, func(tx *sql.Tx) error {
		st, err := readSyncState(ctx, tx, key)
		if err != nil {
			return err
		}
		old := st.Checkpoints
		st.Checkpoints = make(map[string]json.RawMessage, len(old))
		for k, v := range old {
			st.Checkpoints[k] = v
		}
		fn(&st)
		st.Key = key
		removed, changed, err := sqlstore.CheckpointChanges(key.EntitySet, old, st.Checkpoints)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO sync_state (`+syncStateColumns+`, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (connection_id, company_id, entity_set) DO UPDATE SET
			full_sync_done = excluded.full_sync_done, full_sync_started_at = excluded.full_sync_started_at,
			watermark = excluded.watermark, last_run_at = excluded.last_run_at, last_success_at = excluded.last_success_at,
			last_error = excluded.last_error, last_reconcile_at = excluded.last_reconcile_at,
			throttled = excluded.throttled, requests = excluded.requests, paused = excluded.paused, dirty = excluded.dirty,
			updated_at = excluded.updated_at`,
			key.ConnectionID, key.CompanyID, key.EntitySet, st.FullSyncDone, nullTime(st.FullSyncStartedAt), nullTime(st.Watermark),
			nullTime(st.LastRunAt), nullTime(st.LastSuccessAt), st.LastError, nullTime(st.LastReconcileAt),
			st.Throttled, st.Requests, st.Paused, st.Dirty, now)
		if err != nil {
			return fmt.Errorf("sqlite: write sync state of %s: %w", key.EntitySet, err)
		}
		for _, name := range removed {
			if _, err := tx.ExecContext(ctx, `DELETE FROM sync_checkpoints WHERE connection_id = ? AND company_id = ? AND entity_set = ? AND name = ?`,
				key.ConnectionID, key.CompanyID, key.EntitySet, name); err != nil {
				return fmt.Errorf("sqlite: remove checkpoint %q of %s: %w", name, key.EntitySet, err)
			}
		}
		for _, name := range changed {
			if err := putCheckpoint(ctx, tx, key, name, st.Checkpoints[name], now); err != nil {
				return fmt.Errorf("sqlite: write checkpoint %q of %s: %w", name, key.EntitySet, err)
			}
		}
		return nil
	})
}

// SyncStates implements store.ReplicaStore: every set of the connection that has a state
// or a checkpoint, ordered by company and entity set.
func (db *DB) SyncStates(ctx context.Context, connectionID string) ([]store.SyncState, error) {
	if connectionID == "" {
		return nil, fmt.Errorf("%w: SyncStates needs a connection ID", store.ErrInvalid)
	}
	tx, err := db.read.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list sync states: %w", err)
	}
	defer tx.Rollback()
	byKey := map[store.ReplicaKey]*store.SyncState{}
	rows, err := tx.QueryContext(ctx, `SELECT `+syncStateColumns+` FROM sync_state WHERE connection_id = ?`, connectionID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list sync states: %w", err)
	}
	for rows.Next() {
		st, err := scanSyncState(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("sqlite: list sync states: %w", err)
		}
		byKey[st.Key] = &st
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list sync states: %w", err)
	}
	rows, err = tx.QueryContext(ctx, `SELECT company_id, entity_set, name, value FROM sync_checkpoints WHERE connection_id = ?`, connectionID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list checkpoints: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		key := store.ReplicaKey{ConnectionID: connectionID}
		var name string
		var value []byte
		if err := rows.Scan(&key.CompanyID, &key.EntitySet, &name, &value); err != nil {
			return nil, fmt.Errorf("sqlite: list checkpoints: %w", err)
		}
		st := byKey[key]
		if st == nil {
			st = &store.SyncState{Key: key}
			byKey[key] = st
		}
		if st.Checkpoints == nil {
			st.Checkpoints = map[string]json.RawMessage{}
		}
		st.Checkpoints[name] = value
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list checkpoints: %w", err)
	}
	out := make([]store.SyncState, 0, len(byKey))
	for _, st := range byKey {
		out = append(out, *st)
	}
	sqlstore.SortSyncStates(out)
	return out, nil
}

// AllSyncStates implements store.ReplicaStore.
func (db *DB) AllSyncStates(ctx context.Context) ([]store.SyncState, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+syncStateColumns+` FROM sync_state`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list all sync states: %w", err)
	}
	defer rows.Close()
	var out []store.SyncState
	for rows.Next() {
		st, err := scanSyncState(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list all sync states: %w", err)
		}
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list all sync states: %w", err)
	}
	sqlstore.SortSyncStates(out)
	return out, nil
}
