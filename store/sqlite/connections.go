package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/store/internal/sqlstore"
	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

const connectionColumns = `id, name, tenant_id, client_id, environment, company_id, company_name,
	authority_host, bc_base_url, ca_file, ca_pem, entities, write_entities, created_at, updated_at, sync_plan`

type rowScanner interface{ Scan(dest ...any) error }

func scanConnection(r rowScanner) (store.Connection, error) {
	var c store.Connection
	var entities, writeEntities, created, updated sql.NullString
	var syncPlan string
	if err := r.Scan(&c.ID, &c.Name, &c.TenantID, &c.ClientID, &c.Environment, &c.CompanyID, &c.CompanyName,
		&c.AuthorityHost, &c.BCBaseURL, &c.CAFile, &c.CAPEM, &entities, &writeEntities, &created, &updated, &syncPlan); err != nil {
		return c, err
	}
	var err error
	if c.Entities, err = decodeList(entities); err != nil {
		return c, fmt.Errorf("sqlite: connection %s entities: %w", c.ID, err)
	}
	if c.WriteEntities, err = decodeList(writeEntities); err != nil {
		return c, fmt.Errorf("sqlite: connection %s write entities: %w", c.ID, err)
	}
	if c.CreatedAt, err = parseTime(created); err != nil {
		return c, err
	}
	if err := sqlstore.DecodePlan(syncPlan, &c); err != nil {
		return c, fmt.Errorf("sqlite: %w", err)
	}
	if c.UpdatedAt, err = parseTime(updated); err != nil {
		return c, err
	}
	return c, nil
}

func encodeList(l []string) sql.NullString {
	if len(l) == 0 {
		return sql.NullString{}
	}
	b, _ := json.Marshal(l) // cannot fail for []string
	return sql.NullString{String: string(b), Valid: true}
}

func decodeList(s sql.NullString) ([]string, error) {
	if !s.Valid || s.String == "" {
		return nil, nil
	}
	var l []string
	if err := json.Unmarshal([]byte(s.String), &l); err != nil {
		return nil, err
	}
	if len(l) == 0 {
		return nil, nil
	}
	return l, nil
}

// isUnique reports whether err is a UNIQUE or PRIMARY KEY constraint violation.
func isUnique(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// nameTaken returns ErrConflict if another connection than id has name.
func nameTaken(ctx context.Context, tx *sql.Tx, name, id string) error {
	var other string
	err := tx.QueryRowContext(ctx, `SELECT id FROM connections WHERE name = ? AND id <> ?`, name, id).Scan(&other)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return fmt.Errorf("sqlite: check connection name: %w", err)
	}
	return fmt.Errorf("%w: the name %q is already used by connection %s; choose another name", store.ErrConflict, name, other)
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
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		if err := nameTaken(ctx, tx, c.Name, c.ID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO connections (`+connectionColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.ID, c.Name, c.TenantID, c.ClientID, c.Environment, c.CompanyID, c.CompanyName,
			c.AuthorityHost, c.BCBaseURL, c.CAFile, c.CAPEM, encodeList(c.Entities), encodeList(c.WriteEntities),
			fmtTime(c.CreatedAt), fmtTime(c.UpdatedAt), sqlstore.EncodePlan(c))
		if isUnique(err) {
			return fmt.Errorf("%w: a connection with ID %q already exists", store.ErrConflict, c.ID)
		}
		if err != nil {
			return fmt.Errorf("sqlite: create connection: %w", err)
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
	row := db.read.QueryRowContext(ctx, `SELECT `+connectionColumns+` FROM connections
		WHERE id = ?1 OR name = ?1 ORDER BY id = ?1 DESC LIMIT 1`, idOrName)
	c, err := scanConnection(row)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Connection{}, fmt.Errorf("%w: no connection with ID or name %q", store.ErrNotFound, idOrName)
	}
	if err != nil {
		return store.Connection{}, fmt.Errorf("sqlite: get connection %q: %w", idOrName, err)
	}
	return c, nil
}

// ListConnections implements store.ConnectionStore.
func (db *DB) ListConnections(ctx context.Context) ([]store.Connection, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+connectionColumns+` FROM connections ORDER BY name, id`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list connections: %w", err)
	}
	defer rows.Close()
	var out []store.Connection
	for rows.Next() {
		c, err := scanConnection(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list connections: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list connections: %w", err)
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
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		old, err := scanConnection(tx.QueryRowContext(ctx, `SELECT `+connectionColumns+` FROM connections WHERE id = ?`, c.ID))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: no connection with ID %q", store.ErrNotFound, c.ID)
		}
		if err != nil {
			return fmt.Errorf("sqlite: update connection %s: %w", c.ID, err)
		}
		c.CreatedAt = old.CreatedAt
		if err := nameTaken(ctx, tx, c.Name, c.ID); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE connections SET name = ?, tenant_id = ?, client_id = ?, environment = ?,
			company_id = ?, company_name = ?, authority_host = ?, bc_base_url = ?, ca_file = ?, ca_pem = ?,
			entities = ?, write_entities = ?, updated_at = ?, sync_plan = ? WHERE id = ?`,
			c.Name, c.TenantID, c.ClientID, c.Environment, c.CompanyID, c.CompanyName,
			c.AuthorityHost, c.BCBaseURL, c.CAFile, c.CAPEM, encodeList(c.Entities), encodeList(c.WriteEntities),
			fmtTime(c.UpdatedAt), sqlstore.EncodePlan(c), c.ID)
		if isUnique(err) {
			return fmt.Errorf("%w: the name %q is already used by another connection; choose another name", store.ErrConflict, c.Name)
		}
		if err != nil {
			return fmt.Errorf("sqlite: update connection %s: %w", c.ID, err)
		}
		if changed := store.ConnectionChanges(old, c); len(changed) > 0 {
			return db.audit(ctx, tx, store.AuditConnectionUpdated, c.ID, "", "changed "+strings.Join(changed, ", "))
		}
		return nil
	})
	if err != nil {
		return store.Connection{}, err
	}
	db.connectionChanged(c.ID)
	return c, nil
}

// DeleteConnection implements store.ConnectionStore.
//
// It also deletes the connection's replicated rows, sync state and checkpoints: a removed
// customer's data does not stay behind. The change log keeps its entries (ids and ETags,
// no data) so that followers see no gap in the sequence.
func (db *DB) DeleteConnection(ctx context.Context, id string) error {
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		var name string
		err := tx.QueryRowContext(ctx, `SELECT name FROM connections WHERE id = ?`, id).Scan(&name)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: no connection with ID %q", store.ErrNotFound, id)
		}
		if err != nil {
			return fmt.Errorf("sqlite: delete connection %s: %w", id, err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM connections WHERE id = ?`, id); err != nil {
			return fmt.Errorf("sqlite: delete connection %s: %w", id, err)
		}
		if err := db.audit(ctx, tx, store.AuditConnectionDeleted, id, "", name); err != nil {
			return err
		}
		tables, err := replicaTables(ctx, tx)
		if err != nil {
			return err
		}
		for _, t := range tables {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+quoteIdent(t)+
				` WHERE scope IN (SELECT scope FROM scopes WHERE connection_id = ?)`, id); err != nil {
				return fmt.Errorf("sqlite: delete replica rows of connection %s: %w", id, err)
			}
		}
		for _, q := range []string{`DELETE FROM sync_state WHERE connection_id = ?`, `DELETE FROM sync_checkpoints WHERE connection_id = ?`,
			`DELETE FROM replica_marks WHERE scope IN (SELECT scope FROM scopes WHERE connection_id = ?)`} {
			if _, err := tx.ExecContext(ctx, q, id); err != nil {
				return fmt.Errorf("sqlite: delete sync state of connection %s: %w", id, err)
			}
		}
		return nil
	})
	if err == nil {
		db.connectionChanged(id)
	}
	return err
}

// replicaTables lists the replica row tables.
func replicaTables(ctx context.Context, tx *sql.Tx) ([]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT table_name FROM replicas ORDER BY table_name`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list replica tables: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}
