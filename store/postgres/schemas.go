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
	put, err := sqlstore.PutSchema(w.ctx, executor{w.tx}, "postgres", k, s, at)
	w.res.SchemaVersion = put.Version
	if err != nil || !put.Changed {
		return err
	}
	if len(put.Removed) > 0 {
		if err := w.dropUnlisted(k.EntitySet, put.Removed, at); err != nil {
			return err
		}
	}
	if put.Version > 1 {
		w.res.SchemaChanged = true
		w.log.Add(scope, store.OpSchema, "", strconv.Itoa(put.Version))
	}
	return nil
}

// ReplicaSchemas implements store.SchemaStore.
func (db *DB) ReplicaSchemas(ctx context.Context, connectionID string) ([]store.StoredSchema, error) {
	return sqlstore.ReadSchemas(ctx, executor{db.pool}, "postgres", connectionID)
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
