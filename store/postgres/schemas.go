package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bizzjoiner/bcconnector/bcschema"
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
	if len(removed) > 0 {
		if err := w.dropUnlisted(k.EntitySet, removed, at); err != nil {
			return err
		}
	}
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

// dropUnlisted takes the columns of fields a schema just lost out of the set's view, each
// only when no stored schema of the set lists it any more (see sqlstore.MergeViewFields),
// under the lock EnsureReplica takes.
func (w *batchTx) dropUnlisted(set string, removed []string, at time.Time) error {
	if err := lockReplica(w.ctx, w.tx, set); err != nil {
		return err
	}
	current, err := viewFieldsOf(w.ctx, w.tx, "replica_"+set)
	if err != nil {
		return err
	}
	drop := map[string]bool{}
	for _, name := range removed {
		var listed bool
		if err := w.tx.QueryRow(w.ctx, `SELECT EXISTS (SELECT 1 FROM replica_schemas
			WHERE entity_set = $1 AND schema::jsonb -> 'fields' @> jsonb_build_array(jsonb_build_object('name', $2::text)))`, set, name).Scan(&listed); err != nil {
			return fmt.Errorf("postgres: schemas listing %s.%s: %w", set, name, err)
		}
		if !listed {
			drop[name] = true
		}
	}
	kept := slices.DeleteFunc(slices.Clone(current), func(f *bcschema.Field) bool { return drop[f.Name] })
	if len(kept) == len(current) {
		return nil
	}
	return w.db.recreateView(w.ctx, w.tx, set, kept, at)
}

// readable returns which view columns key may filter and order by (sqlstore.Readable).
func (db *DB) readable(ctx context.Context, key store.ReplicaKey) (func(string) bool, error) {
	var raw string
	err := db.pool.QueryRow(ctx, `SELECT schema FROM replica_schemas WHERE connection_id = $1 AND company_id = $2 AND entity_set = $3`,
		key.ConnectionID, key.CompanyID, key.EntitySet).Scan(&raw)
	switch {
	case err == nil:
		var own store.SetSchema
		if err := json.Unmarshal([]byte(raw), &own); err != nil {
			return nil, fmt.Errorf("postgres: stored schema of %s: %w", key.EntitySet, err)
		}
		return sqlstore.Readable(&own, nil, false), nil
	case !errors.Is(err, pgx.ErrNoRows):
		return nil, fmt.Errorf("postgres: read schema of %s: %w", key.EntitySet, err)
	}
	rows, err := db.pool.Query(ctx, `SELECT DISTINCT f ->> 'name' FROM replica_schemas AS s, jsonb_array_elements(s.schema::jsonb -> 'fields') AS f
		WHERE s.entity_set = $1 AND (f ->> 'extension')::boolean`, key.EntitySet)
	if err != nil {
		return nil, fmt.Errorf("postgres: extension fields of %s: %w", key.EntitySet, err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("postgres: extension fields of %s: %w", key.EntitySet, err)
	}
	foreign := make(map[string]bool, len(names))
	for _, n := range names {
		foreign[n] = true
	}
	return sqlstore.Readable(nil, foreign, false), nil
}
