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
	var (
		raw     string
		version int
	)
	var stored *store.SetSchema
	err := w.tx.QueryRowContext(w.ctx, `SELECT schema, version FROM replica_schemas WHERE connection_id = ? AND company_id = ? AND entity_set = ?`,
		k.ConnectionID, k.CompanyID, k.EntitySet).Scan(&raw, &version)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return fmt.Errorf("sqlite: read schema of %s: %w", k.EntitySet, err)
	default:
		stored = new(store.SetSchema)
		if err := json.Unmarshal([]byte(raw), stored); err != nil {
			return fmt.Errorf("sqlite: stored schema of %s: %w", k.EntitySet, err)
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
	_, err = w.tx.ExecContext(w.ctx, `INSERT INTO replica_schemas (connection_id, company_id, entity_set, version, schema, added, removed, changed_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (connection_id, company_id, entity_set) DO UPDATE SET
		version = excluded.version, schema = excluded.schema, added = excluded.added, removed = excluded.removed, changed_at = excluded.changed_at`,
		k.ConnectionID, k.CompanyID, k.EntitySet, next, string(data), sqlstore.JSONList(added), sqlstore.JSONList(removed), w.at)
	if err != nil {
		return fmt.Errorf("sqlite: store schema of %s: %w", k.EntitySet, err)
	}
	w.res.SchemaVersion = next
	if len(removed) > 0 {
		if err := w.dropUnlisted(k.EntitySet, removed); err != nil {
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
	rows, err := db.read.QueryContext(ctx, `SELECT company_id, entity_set, version, schema, added, removed, changed_at
		FROM replica_schemas WHERE connection_id = ? ORDER BY company_id, entity_set`, connectionID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: read schemas: %w", err)
	}
	defer rows.Close()
	var out []store.StoredSchema
	for rows.Next() {
		s := store.StoredSchema{Key: store.ReplicaKey{ConnectionID: connectionID}}
		var raw, added, removed string
		var at sql.NullString
		if err := rows.Scan(&s.Key.CompanyID, &s.Key.EntitySet, &s.Version, &raw, &added, &removed, &at); err != nil {
			return nil, fmt.Errorf("sqlite: read schemas: %w", err)
		}
		if err := errors.Join(json.Unmarshal([]byte(raw), &s.Schema), json.Unmarshal([]byte(added), &s.Added), json.Unmarshal([]byte(removed), &s.Removed)); err != nil {
			return nil, fmt.Errorf("sqlite: stored schema of %s: %w", s.Key.EntitySet, err)
		}
		if s.ChangedAt, err = parseTime(at); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
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
