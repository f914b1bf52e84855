package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/store/internal/sqlstore"
)

var _ store.SchemaStore = (*DB)(nil)

// putSchema stores a batch's schema inside its transaction (under the batch's row lock of
// the set): a new version when it differs from the stored one, logged as an OpSchema
// change of scope.
func (w *batchTx) putSchema(k store.ReplicaKey, scope int64, s *store.SetSchema, at time.Time) error {
	var (
		raw     string
		version int
	)
	var stored *store.SetSchema
	err := w.tx.QueryRow(w.ctx, `SELECT schema, version FROM replica_schemas WHERE connection_id = $1 AND company_id = $2 AND entity_set = $3`,
		k.ConnectionID, k.CompanyID, k.EntitySet).Scan(&raw, &version)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		return fmt.Errorf("postgres: read schema of %s: %w", k.EntitySet, err)
	default:
		stored = new(store.SetSchema)
		if err := json.Unmarshal([]byte(raw), stored); err != nil {
			return fmt.Errorf("postgres: stored schema of %s: %w", k.EntitySet, err)
		}
	}
	next, added, removed := sqlstore.NextSchema(stored, version, s)
	if next == 0 {
		w.res.SchemaVersion = version
		return nil
	}
	data, err := json.Marshal(s)
	if err != nil {
		return err
	}
	_, err = w.tx.Exec(w.ctx, `INSERT INTO replica_schemas (connection_id, company_id, entity_set, version, schema, added, removed, changed_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (connection_id, company_id, entity_set) DO UPDATE SET
		version = excluded.version, schema = excluded.schema, added = excluded.added, removed = excluded.removed, changed_at = excluded.changed_at`,
		k.ConnectionID, k.CompanyID, k.EntitySet, next, string(data), sqlstore.JSONList(added), sqlstore.JSONList(removed), at)
	if err != nil {
		return fmt.Errorf("postgres: store schema of %s: %w", k.EntitySet, err)
	}
	w.res.SchemaVersion = next
	if next > 1 {
		w.res.SchemaChanged = true
		w.log.Add(scope, store.OpSchema, "", strconv.Itoa(next))
	}
	return nil
}

// ReplicaSchemas implements store.SchemaStore.
func (db *DB) ReplicaSchemas(ctx context.Context, connectionID string) ([]store.StoredSchema, error) {
	rows, err := db.pool.Query(ctx, `SELECT company_id, entity_set, version, schema, added, removed, changed_at
		FROM replica_schemas WHERE connection_id = $1 ORDER BY company_id, entity_set`, connectionID)
	if err != nil {
		return nil, fmt.Errorf("postgres: read schemas: %w", err)
	}
	defer rows.Close()
	var out []store.StoredSchema
	for rows.Next() {
		s := store.StoredSchema{Key: store.ReplicaKey{ConnectionID: connectionID}}
		var raw, added, removed string
		if err := rows.Scan(&s.Key.CompanyID, &s.Key.EntitySet, &s.Version, &raw, &added, &removed, &s.ChangedAt); err != nil {
			return nil, fmt.Errorf("postgres: read schemas: %w", err)
		}
		if err := errors.Join(json.Unmarshal([]byte(raw), &s.Schema), json.Unmarshal([]byte(added), &s.Added), json.Unmarshal([]byte(removed), &s.Removed)); err != nil {
			return nil, fmt.Errorf("postgres: stored schema of %s: %w", s.Key.EntitySet, err)
		}
		s.ChangedAt = s.ChangedAt.UTC()
		out = append(out, s)
	}
	return out, rows.Err()
}
