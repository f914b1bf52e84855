package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/store/internal/sqlstore"
)

var _ store.SchemaStore = (*DB)(nil)

// putSchema stores a batch's schema inside its transaction: a new version when it
// differs from the stored one, logged as an OpSchema change of scope.
func (w *batchTx) putSchema(k store.ReplicaKey, scope int64, s *store.SetSchema) error {
	put, err := sqlstore.PutSchema(w.ctx, executor{w.tx}, "sqlite", k, s, w.now)
	w.res.SchemaVersion = put.Version
	if err != nil || !put.Changed {
		return err
	}
	if len(put.Removed) > 0 {
		if err := w.dropUnlisted(k.EntitySet, put.Removed); err != nil {
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
	return sqlstore.ReadSchemas(ctx, executor{db.read}, "sqlite", connectionID)
}

// dropUnlisted takes the columns of fields a schema just lost out of the set's view, each
// only when no stored schema of the set lists it any more (see sqlstore.MergeViewFields).
func (w *batchTx) dropUnlisted(set string, removed []string) error {
	view := "replica_" + set
	current, err := viewFieldNames(w.ctx, w.tx, view)
	if err != nil {
		return err
	}
	drop := map[string]bool{}
	for _, name := range removed {
		var listed bool
		if err := w.tx.QueryRowContext(w.ctx, `SELECT EXISTS (SELECT 1 FROM replica_schemas AS s, json_each(s.schema, '$.fields') AS f
			WHERE s.entity_set = ? AND lower(json_extract(f.value, '$.name')) = lower(?))`, set, name).Scan(&listed); err != nil {
			return fmt.Errorf("sqlite: schemas listing %s.%s: %w", set, name, err)
		}
		if !listed {
			drop[strings.ToLower(name)] = true
		}
	}
	kept := slices.DeleteFunc(slices.Clone(current), func(n string) bool { return drop[strings.ToLower(n)] })
	if len(kept) == len(current) {
		return nil
	}
	return recreateView(w.ctx, w.tx, w.db, set, kept, w.at)
}

// readable returns which view columns key may filter and order by (sqlstore.Readable).
func (db *DB) readable(ctx context.Context, key store.ReplicaKey) (func(string) bool, error) {
	var raw string
	err := db.read.QueryRowContext(ctx, `SELECT schema FROM replica_schemas WHERE connection_id = ? AND company_id = ? AND entity_set = ?`,
		key.ConnectionID, key.CompanyID, key.EntitySet).Scan(&raw)
	switch {
	case err == nil:
		var own store.SetSchema
		if err := json.Unmarshal([]byte(raw), &own); err != nil {
			return nil, fmt.Errorf("sqlite: stored schema of %s: %w", key.EntitySet, err)
		}
		return sqlstore.Readable(&own, nil, true), nil
	case !errors.Is(err, sql.ErrNoRows):
		return nil, fmt.Errorf("sqlite: read schema of %s: %w", key.EntitySet, err)
	}
	rows, err := db.read.QueryContext(ctx, `SELECT DISTINCT lower(json_extract(f.value, '$.name')) FROM replica_schemas AS s, json_each(s.schema, '$.fields') AS f
		WHERE s.entity_set = ? AND json_extract(f.value, '$.extension') = 1`, key.EntitySet)
	if err != nil {
		return nil, fmt.Errorf("sqlite: extension fields of %s: %w", key.EntitySet, err)
	}
	defer rows.Close()
	foreign := map[string]bool{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("sqlite: extension fields of %s: %w", key.EntitySet, err)
		}
		foreign[n] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: extension fields of %s: %w", key.EntitySet, err)
	}
	return sqlstore.Readable(nil, foreign, true), nil
}
