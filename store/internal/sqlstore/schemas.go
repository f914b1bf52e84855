package sqlstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/bizzjoiner/bcconnector/store"
)

// SchemaPut is what PutSchema did to a set's stored schema.
type SchemaPut struct {
	// Version is the set's schema version after the put.
	Version int
	// Changed reports that a new version was written (the first one included).
	Changed bool
	// Removed lists the fields the new version no longer has.
	Removed []string
}

// PutSchema records s as the schema of k's set in replica_schemas, inside the replica
// batch's transaction ex, with a new version only when NextSchema says the fields
// changed. name prefixes errors ("sqlite", "postgres"). Both stores call it with their
// batch transaction wrapped as an Executor, so the SQL and the versioning are one text.
func PutSchema(ctx context.Context, ex Executor, name string, k store.ReplicaKey, s *store.SetSchema, at time.Time) (SchemaPut, error) {
	var (
		raw     string
		version int
		stored  *store.SetSchema
	)
	err := ex.QueryRow(ctx, `SELECT schema, version FROM replica_schemas WHERE connection_id = $1 AND company_id = $2 AND entity_set = $3`,
		k.ConnectionID, k.CompanyID, k.EntitySet).Scan(&raw, &version)
	switch {
	case isNoRows(err):
	case err != nil:
		return SchemaPut{}, fmt.Errorf("%s: read schema of %s: %w", name, k.EntitySet, err)
	default:
		stored = new(store.SetSchema)
		if err := json.Unmarshal([]byte(raw), stored); err != nil {
			return SchemaPut{}, fmt.Errorf("%s: stored schema of %s: %w", name, k.EntitySet, err)
		}
	}
	next, added, removed := NextSchema(stored, version, s)
	if next == 0 {
		return SchemaPut{Version: version}, nil
	}
	data, err := json.Marshal(s)
	if err != nil {
		return SchemaPut{}, err
	}
	if _, err := ex.Exec(ctx, `INSERT INTO replica_schemas (connection_id, company_id, entity_set, version, schema, added, removed, changed_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (connection_id, company_id, entity_set) DO UPDATE SET
		version = excluded.version, schema = excluded.schema, added = excluded.added, removed = excluded.removed, changed_at = excluded.changed_at`,
		k.ConnectionID, k.CompanyID, k.EntitySet, next, string(data), JSONList(added), JSONList(removed), at); err != nil {
		return SchemaPut{}, fmt.Errorf("%s: store schema of %s: %w", name, k.EntitySet, err)
	}
	return SchemaPut{Version: next, Changed: true, Removed: removed}, nil
}

// ReadSchemas returns every stored schema of a connection's sets, ordered by company and
// set (store.SchemaStore's ReplicaSchemas for both stores).
func ReadSchemas(ctx context.Context, ex Executor, name, connectionID string) ([]store.StoredSchema, error) {
	rows, err := ex.Query(ctx, `SELECT company_id, entity_set, version, schema, added, removed, changed_at
		FROM replica_schemas WHERE connection_id = $1 ORDER BY company_id, entity_set`, connectionID)
	if err != nil {
		return nil, fmt.Errorf("%s: read schemas: %w", name, err)
	}
	defer rows.Close()
	var out []store.StoredSchema
	for rows.Next() {
		s := store.StoredSchema{Key: store.ReplicaKey{ConnectionID: connectionID}}
		var raw, added, removed string
		if err := rows.Scan(&s.Key.CompanyID, &s.Key.EntitySet, &s.Version, &raw, &added, &removed, &s.ChangedAt); err != nil {
			return nil, fmt.Errorf("%s: read schemas: %w", name, err)
		}
		if err := errors.Join(json.Unmarshal([]byte(raw), &s.Schema), json.Unmarshal([]byte(added), &s.Added), json.Unmarshal([]byte(removed), &s.Removed)); err != nil {
			return nil, fmt.Errorf("%s: stored schema of %s: %w", name, s.Key.EntitySet, err)
		}
		s.ChangedAt = s.ChangedAt.UTC()
		out = append(out, s)
	}
	return out, rows.Err()
}
