package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/store/internal/sqlstore"
)

const connectionColumns = `id, name, tenant_id, client_id, environment, company_id, company_name,
	authority_host, bc_base_url, ca_file, ca_pem, entities, write_entities, created_at, updated_at, sync_plan`

func scanConnection(r pgx.Row) (store.Connection, error) {
	var c store.Connection
	var syncPlan string
	if err := r.Scan(&c.ID, &c.Name, &c.TenantID, &c.ClientID, &c.Environment, &c.CompanyID, &c.CompanyName,
		&c.AuthorityHost, &c.BCBaseURL, &c.CAFile, &c.CAPEM, &c.Entities, &c.WriteEntities, &c.CreatedAt, &c.UpdatedAt, &syncPlan); err != nil {
		return c, err
	}
	if len(c.Entities) == 0 {
		c.Entities = nil
	}
	if len(c.WriteEntities) == 0 {
		c.WriteEntities = nil
	}
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	if err := sqlstore.DecodePlan(syncPlan, &c); err != nil {
		return c, fmt.Errorf("postgres: %w", err)
	}
	return c, nil
}

// nullList stores an empty list as NULL.
func nullList(l []string) []string {
	if len(l) == 0 {
		return nil
	}
	return l
}

// nameTaken returns ErrConflict if another connection than id has name.
func nameTaken(ctx context.Context, tx pgx.Tx, name, id string) error {
	var other string
	err := tx.QueryRow(ctx, `SELECT id FROM connections WHERE name = $1 AND id <> $2`, name, id).Scan(&other)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil
	case err != nil:
		return fmt.Errorf("postgres: check connection name: %w", err)
	}
	return fmt.Errorf("%w: the name %q is already used by connection %s; choose another name", store.ErrConflict, name, other)
}

// nameConflict is the error for a unique violation on the name that nameTaken did not see
// (another writer committed it in the meantime).
func nameConflict(name string) error {
	return fmt.Errorf("%w: the name %q is already used by another connection; choose another name", store.ErrConflict, name)
}

// CreateConnection implements store.ConnectionStore.
func (db *DB) CreateConnection(ctx context.Context, c store.Connection) (store.Connection, error) {
	if err := c.Normalize(); err != nil {
		return store.Connection{}, err
	}
	if c.ID == "" {
		c.ID = store.NewID()
	}
	c.CreatedAt = db.stamp()
	c.UpdatedAt = c.CreatedAt
	err := db.withTx(ctx, func(tx pgx.Tx) error {
		if err := nameTaken(ctx, tx, c.Name, c.ID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO connections (`+connectionColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
			c.ID, c.Name, c.TenantID, c.ClientID, c.Environment, c.CompanyID, c.CompanyName,
			c.AuthorityHost, c.BCBaseURL, c.CAFile, c.CAPEM, nullList(c.Entities), nullList(c.WriteEntities),
			c.CreatedAt, c.UpdatedAt, sqlstore.EncodePlan(c))
		if isUnique(err) {
			if constraintOf(err) == "connections_name_key" {
				return nameConflict(c.Name)
			}
			return fmt.Errorf("%w: a connection with ID %q already exists", store.ErrConflict, c.ID)
		}
		if err != nil {
			return fmt.Errorf("postgres: create connection: %w", err)
		}
		return db.audit(ctx, tx, store.AuditConnectionCreated, c.ID, "", c.Name)
	})
	if err != nil {
		return store.Connection{}, err
	}
	return c, nil
}

// GetConnection implements store.ConnectionStore.
func (db *DB) GetConnection(ctx context.Context, idOrName string) (store.Connection, error) {
	c, err := scanConnection(db.pool.QueryRow(ctx, `SELECT `+connectionColumns+` FROM connections
		WHERE id = $1 OR name = $1 ORDER BY id = $1 DESC LIMIT 1`, idOrName))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Connection{}, fmt.Errorf("%w: no connection with ID or name %q", store.ErrNotFound, idOrName)
	}
	if err != nil {
		return store.Connection{}, fmt.Errorf("postgres: get connection %q: %w", idOrName, err)
	}
	return c, nil
}

// ListConnections implements store.ConnectionStore.
func (db *DB) ListConnections(ctx context.Context) ([]store.Connection, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+connectionColumns+` FROM connections ORDER BY name, id`)
	if err != nil {
		return nil, fmt.Errorf("postgres: list connections: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Connection, error) { return scanConnection(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: list connections: %w", err)
	}
	return out, nil
}

// UpdateConnection implements store.ConnectionStore.
func (db *DB) UpdateConnection(ctx context.Context, c store.Connection) (store.Connection, error) {
	if c.ID == "" {
		return store.Connection{}, fmt.Errorf("%w: UpdateConnection needs the connection's ID", store.ErrInvalid)
	}
	if err := c.Normalize(); err != nil {
		return store.Connection{}, err
	}
	c.UpdatedAt = db.stamp()
	err := db.withTx(ctx, func(tx pgx.Tx) error {
		old, err := scanConnection(tx.QueryRow(ctx, `SELECT `+connectionColumns+` FROM connections WHERE id = $1 FOR UPDATE`, c.ID))
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%w: no connection with ID %q", store.ErrNotFound, c.ID)
		}
		if err != nil {
			return fmt.Errorf("postgres: update connection %s: %w", c.ID, err)
		}
		c.CreatedAt = old.CreatedAt
		if err := nameTaken(ctx, tx, c.Name, c.ID); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE connections SET name = $1, tenant_id = $2, client_id = $3, environment = $4,
			company_id = $5, company_name = $6, authority_host = $7, bc_base_url = $8, ca_file = $9, ca_pem = $10,
			entities = $11, write_entities = $12, updated_at = $13, sync_plan = $15 WHERE id = $14`,
			c.Name, c.TenantID, c.ClientID, c.Environment, c.CompanyID, c.CompanyName,
			c.AuthorityHost, c.BCBaseURL, c.CAFile, c.CAPEM, nullList(c.Entities), nullList(c.WriteEntities),
			c.UpdatedAt, c.ID, sqlstore.EncodePlan(c))
		if isUnique(err) {
			return nameConflict(c.Name)
		}
		if err != nil {
			return fmt.Errorf("postgres: update connection %s: %w", c.ID, err)
		}
		if changed := store.ConnectionChanges(old, c); len(changed) > 0 {
			if err := db.audit(ctx, tx, store.AuditConnectionUpdated, c.ID, "", "changed "+strings.Join(changed, ", ")); err != nil {
				return err
			}
		}
		return db.notifyTx(ctx, tx, store.ChannelConnection, c.ID)
	})
	if err != nil {
		return store.Connection{}, err
	}
	return c, nil
}

// DeleteConnection implements store.ConnectionStore.
//
// It also deletes the connection's secrets, replicated rows, sync state, checkpoints,
// idempotency records and doctor report. The change log keeps its entries (ids and ETags,
// no data) so that followers see no gap in the sequence.
func (db *DB) DeleteConnection(ctx context.Context, id string) error {
	return db.withTx(ctx, func(tx pgx.Tx) error {
		var name string
		err := tx.QueryRow(ctx, `DELETE FROM connections WHERE id = $1 RETURNING name`, id).Scan(&name)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%w: no connection with ID %q", store.ErrNotFound, id)
		}
		if err != nil {
			return fmt.Errorf("postgres: delete connection %s: %w", id, err)
		}
		if err := db.audit(ctx, tx, store.AuditConnectionDeleted, id, "", name); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT table_name FROM replicas ORDER BY table_name`)
		if err != nil {
			return fmt.Errorf("postgres: list replica tables: %w", err)
		}
		tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return fmt.Errorf("postgres: list replica tables: %w", err)
		}
		for _, t := range tables {
			if _, err := tx.Exec(ctx, `DELETE FROM `+quoteIdent(t)+
				` WHERE scope IN (SELECT scope FROM scopes WHERE connection_id = $1)`, id); err != nil {
				return fmt.Errorf("postgres: delete replica rows of connection %s: %w", id, err)
			}
		}
		for _, q := range []string{`DELETE FROM sync_state WHERE connection_id = $1`, `DELETE FROM sync_checkpoints WHERE connection_id = $1`,
			`DELETE FROM replica_marks WHERE scope IN (SELECT scope FROM scopes WHERE connection_id = $1)`} {
			if _, err := tx.Exec(ctx, q, id); err != nil {
				return fmt.Errorf("postgres: delete sync state of connection %s: %w", id, err)
			}
		}
		return db.notifyTx(ctx, tx, store.ChannelConnection, id)
	})
}
