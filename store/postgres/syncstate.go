package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/bizzjoiner/bcconnector/store/internal/sqlstore"

	"github.com/jackc/pgx/v5"

	"github.com/bizzjoiner/bcconnector/store"
)

const syncStateColumns = `connection_id, company_id, entity_set, full_sync_done, full_sync_started_at, watermark,
	last_run_at, last_success_at, last_error, last_reconcile_at, throttled, requests, paused, dirty`

func scanSyncState(r pgx.Row) (store.SyncState, error) {
	var s store.SyncState
	var started, watermark, run, success, reconcile *time.Time
	if err := r.Scan(&s.Key.ConnectionID, &s.Key.CompanyID, &s.Key.EntitySet, &s.FullSyncDone, &started, &watermark,
		&run, &success, &s.LastError, &reconcile, &s.Throttled, &s.Requests, &s.Paused, &s.Dirty); err != nil {
		return s, err
	}
	s.FullSyncStartedAt, s.Watermark, s.LastRunAt, s.LastSuccessAt, s.LastReconcileAt = utc(started), utc(watermark), utc(run), utc(success), utc(reconcile)
	return s, nil
}

// readSyncState reads a set's state and checkpoints in tx; lock locks the state row.
func readSyncState(ctx context.Context, tx pgx.Tx, key store.ReplicaKey, lock bool) (store.SyncState, error) {
	q := `SELECT ` + syncStateColumns + ` FROM sync_state WHERE connection_id = $1 AND company_id = $2 AND entity_set = $3`
	if lock {
		q += ` FOR UPDATE`
	}
	st, err := scanSyncState(tx.QueryRow(ctx, q, key.ConnectionID, key.CompanyID, key.EntitySet))
	if errors.Is(err, pgx.ErrNoRows) {
		st, err = store.SyncState{}, nil
	}
	if err != nil {
		return st, fmt.Errorf("postgres: read sync state of %s: %w", key.EntitySet, err)
	}
	st.Key = key
	rows, err := tx.Query(ctx, `SELECT name, value FROM sync_checkpoints
		WHERE connection_id = $1 AND company_id = $2 AND entity_set = $3 ORDER BY name`, key.ConnectionID, key.CompanyID, key.EntitySet)
	if err != nil {
		return st, fmt.Errorf("postgres: read checkpoints of %s: %w", key.EntitySet, err)
	}
	var name, value string
	_, err = pgx.ForEachRow(rows, []any{&name, &value}, func() error {
		if st.Checkpoints == nil {
			st.Checkpoints = map[string]json.RawMessage{}
		}
		st.Checkpoints[name] = json.RawMessage(value)
		return nil
	})
	if err != nil {
		return st, fmt.Errorf("postgres: read checkpoints of %s: %w", key.EntitySet, err)
	}
	return st, nil
}

// SyncState implements store.ReplicaStore. Checkpoints is nil when there are none.
func (db *DB) SyncState(ctx context.Context, key store.ReplicaKey) (store.SyncState, error) {
	if err := key.Validate(); err != nil {
		return store.SyncState{}, err
	}
	var st store.SyncState
	err := pgx.BeginTxFunc(ctx, db.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var err error
		st, err = readSyncState(ctx, tx, key, false)
		return err
	})
	return st, err
}

// UpdateSyncState implements store.ReplicaStore. fn sees the stored state (zero if none,
// with Key set) and may change every field but Key; Checkpoints it adds, changes or
// removes are written too, and each must be valid JSON. The state row is locked for the
// transaction, so concurrent updates (from any instance) take turns and none is lost.
// fn runs inside the transaction: keep it short and do not call the store from it.
func (db *DB) UpdateSyncState(ctx context.Context, key store.ReplicaKey, fn func(*store.SyncState)) error {
	if err := key.Validate(); err != nil {
		return err
	}
	if fn == nil {
		return fmt.Errorf("%w: UpdateSyncState needs a function to call", store.ErrInvalid)
	}
	now := db.stamp()
	return db.withTx(ctx, func(tx pgx.Tx) error {
		// Make sure there is a row to lock.
		if _, err := tx.Exec(ctx, `INSERT INTO sync_state (connection_id, company_id, entity_set, updated_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (connection_id, company_id, entity_set) DO NOTHING`, key.ConnectionID, key.CompanyID, key.EntitySet, now); err != nil {
			return fmt.Errorf("postgres: write sync state of %s: %w", key.EntitySet, err)
		}
		st, err := readSyncState(ctx, tx, key, true)
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
		_, err = tx.Exec(ctx, `UPDATE sync_state SET full_sync_done = $4, full_sync_started_at = $5, watermark = $6,
			last_run_at = $7, last_success_at = $8, last_error = $9, last_reconcile_at = $10,
			throttled = $11, requests = $12, paused = $13, dirty = $14, updated_at = $15
			WHERE connection_id = $1 AND company_id = $2 AND entity_set = $3`,
			key.ConnectionID, key.CompanyID, key.EntitySet, st.FullSyncDone, nullTime(st.FullSyncStartedAt), nullTime(st.Watermark),
			nullTime(st.LastRunAt), nullTime(st.LastSuccessAt), st.LastError, nullTime(st.LastReconcileAt),
			st.Throttled, st.Requests, st.Paused, st.Dirty, now)
		if err != nil {
			return fmt.Errorf("postgres: write sync state of %s: %w", key.EntitySet, err)
		}
		for _, name := range removed {
			if _, err := tx.Exec(ctx, `DELETE FROM sync_checkpoints WHERE connection_id = $1 AND company_id = $2 AND entity_set = $3 AND name = $4`,
				key.ConnectionID, key.CompanyID, key.EntitySet, name); err != nil {
				return fmt.Errorf("postgres: remove checkpoint %q of %s: %w", name, key.EntitySet, err)
			}
		}
		for _, name := range changed {
			if err := putCheckpoint(ctx, tx, key, name, st.Checkpoints[name], now); err != nil {
				return fmt.Errorf("postgres: write checkpoint %q of %s: %w", name, key.EntitySet, err)
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
	byKey := map[store.ReplicaKey]*store.SyncState{}
	err := pgx.BeginTxFunc(ctx, db.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+syncStateColumns+` FROM sync_state WHERE connection_id = $1`, connectionID)
		if err != nil {
			return err
		}
		states, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.SyncState, error) { return scanSyncState(r) })
		if err != nil {
			return err
		}
		for i := range states {
			byKey[states[i].Key] = &states[i]
		}
		rows, err = tx.Query(ctx, `SELECT company_id, entity_set, name, value FROM sync_checkpoints WHERE connection_id = $1`, connectionID)
		if err != nil {
			return err
		}
		key := store.ReplicaKey{ConnectionID: connectionID}
		var name, value string
		_, err = pgx.ForEachRow(rows, []any{&key.CompanyID, &key.EntitySet, &name, &value}, func() error {
			st := byKey[key]
			if st == nil {
				st = &store.SyncState{Key: key}
				byKey[key] = st
			}
			if st.Checkpoints == nil {
				st.Checkpoints = map[string]json.RawMessage{}
			}
			st.Checkpoints[name] = json.RawMessage(value)
			return nil
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: list sync states: %w", err)
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
	rows, err := db.pool.Query(ctx, `SELECT `+syncStateColumns+` FROM sync_state`)
	if err != nil {
		return nil, fmt.Errorf("postgres: list all sync states: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.SyncState, error) { return scanSyncState(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: list all sync states: %w", err)
	}
	sqlstore.SortSyncStates(out)
	return out, nil
}
