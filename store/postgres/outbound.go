package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/store/internal/sqlstore"
)

var _ store.OutboundStore = (*DB)(nil)

// CreateEndpoint implements store.OutboundStore.
func (db *DB) CreateEndpoint(ctx context.Context, e store.Endpoint, signing secret.Secret) (store.Endpoint, error) {
	if err := e.Normalize(); err != nil {
		return store.Endpoint{}, err
	}
	if signing.IsZero() {
		return store.Endpoint{}, fmt.Errorf("%w: the endpoint's signing secret is empty", store.ErrInvalid)
	}
	e.ID = store.NewID()
	e.CreatedAt = db.stamp()
	e.UpdatedAt = e.CreatedAt
	kr, done := db.sq.Sealing()
	defer done()
	err := db.withTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO outbound_endpoints
			(id, url, event_types, connection_id, include_record, description, created_at, updated_at, after_seq)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, (SELECT last_seq FROM change_seq))`,
			e.ID, e.URL, e.EventTypes, e.ConnectionID, e.IncludeRecord, e.Description, e.CreatedAt, e.UpdatedAt); err != nil {
			return fmt.Errorf("postgres: create endpoint: %w", err)
		}
		if err := db.audit(ctx, tx, store.AuditEndpointCreated, e.ConnectionID, e.ID, e.URL+" ("+strings.Join(e.EventTypes, ", ")+")"); err != nil {
			return err
		}
		return db.addEndpointSecret(ctx, tx, kr, e.ID, signing, e.CreatedAt)
	})
	if err != nil {
		return store.Endpoint{}, err
	}
	return db.Endpoint(ctx, e.ID)
}

// addEndpointSecret seals signing with kr and stores it as the endpoint's current
// secret. The caller holds kr from db.sq.Sealing.
func (db *DB) addEndpointSecret(ctx context.Context, tx pgx.Tx, kr *secret.Keyring, endpointID string, signing secret.Secret, now time.Time) error {
	id := store.NewID()
	sealed, err := kr.Seal([]byte(signing.Reveal()), sqlstore.EndpointSecretAAD(endpointID, id))
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO outbound_secrets (id, endpoint_id, key_id, sealed, created_at)
		VALUES ($1, $2, $3, $4, $5)`, id, endpointID, kr.PrimaryID(), sealed, now); err != nil {
		return fmt.Errorf("postgres: add secret to endpoint %s: %w", endpointID, err)
	}
	return nil
}

const endpointColumns = `id, url, event_types, connection_id, include_record, description, created_at, updated_at, after_seq, disabled_at, disabled_reason`

func scanEndpoint(r pgx.Row) (store.Endpoint, error) {
	var e store.Endpoint
	var disabled *time.Time
	if err := r.Scan(&e.ID, &e.URL, &e.EventTypes, &e.ConnectionID, &e.IncludeRecord, &e.Description, &e.CreatedAt, &e.UpdatedAt, &e.AfterSeq, &disabled, &e.DisabledReason); err != nil {
		return e, err
	}
	e.DisabledAt = utc(disabled)
	e.Disabled = disabled != nil
	e.CreatedAt, e.UpdatedAt = e.CreatedAt.UTC(), e.UpdatedAt.UTC()
	return e, nil
}

// Endpoint implements store.OutboundStore.
func (db *DB) Endpoint(ctx context.Context, id string) (store.Endpoint, error) {
	e, err := scanEndpoint(db.pool.QueryRow(ctx, `SELECT `+endpointColumns+` FROM outbound_endpoints WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Endpoint{}, fmt.Errorf("%w: no webhook endpoint %q", store.ErrNotFound, id)
	}
	if err != nil {
		return store.Endpoint{}, fmt.Errorf("postgres: endpoint %s: %w", id, err)
	}
	infos, err := db.endpointSecretInfos(ctx, id)
	if err != nil {
		return store.Endpoint{}, err
	}
	e.Secrets = infos[id]
	return e, nil
}

// endpointSecretInfos returns the signing secrets that sign now, per endpoint (of one
// endpoint, or of all when id is ""), the current one first.
func (db *DB) endpointSecretInfos(ctx context.Context, id string) (map[string][]store.SigningSecretInfo, error) {
	rows, err := db.pool.Query(ctx, `SELECT endpoint_id, id, created_at, expires_at FROM outbound_secrets
		WHERE ($1 = '' OR endpoint_id = $1) AND (expires_at IS NULL OR expires_at > $2)
		ORDER BY endpoint_id, expires_at IS NOT NULL, created_at DESC, id`, id, db.stamp())
	if err != nil {
		return nil, fmt.Errorf("postgres: endpoint secrets: %w", err)
	}
	defer rows.Close()
	out := map[string][]store.SigningSecretInfo{}
	for rows.Next() {
		var ep string
		var info store.SigningSecretInfo
		var expires *time.Time
		if err := rows.Scan(&ep, &info.ID, &info.CreatedAt, &expires); err != nil {
			return nil, fmt.Errorf("postgres: endpoint secrets: %w", err)
		}
		info.CreatedAt, info.ExpiresAt = info.CreatedAt.UTC(), utc(expires)
		out[ep] = append(out[ep], info)
	}
	return out, rows.Err()
}

// Endpoints implements store.OutboundStore.
func (db *DB) Endpoints(ctx context.Context) ([]store.Endpoint, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+endpointColumns+` FROM outbound_endpoints ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("postgres: list endpoints: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Endpoint, error) { return scanEndpoint(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: list endpoints: %w", err)
	}
	infos, err := db.endpointSecretInfos(ctx, "")
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Secrets = infos[out[i].ID]
	}
	return out, nil
}

// DeleteEndpoint implements store.OutboundStore.
func (db *DB) DeleteEndpoint(ctx context.Context, id string) error {
	return db.withTx(ctx, func(tx pgx.Tx) error {
		var url, connID string
		err := tx.QueryRow(ctx, `DELETE FROM outbound_endpoints WHERE id = $1 RETURNING url, connection_id`, id).Scan(&url, &connID)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%w: no webhook endpoint %q", store.ErrNotFound, id)
		}
		if err != nil {
			return fmt.Errorf("postgres: delete endpoint %s: %w", id, err)
		}
		return db.audit(ctx, tx, store.AuditEndpointDeleted, connID, id, url)
	})
}

// RotateEndpointSecret implements store.OutboundStore. The endpoint's row is locked for
// the transaction, so rotations of one endpoint by several instances queue.
func (db *DB) RotateEndpointSecret(ctx context.Context, id string, signing secret.Secret, oldUntil time.Time) (store.Endpoint, error) {
	if signing.IsZero() {
		return store.Endpoint{}, fmt.Errorf("%w: the endpoint's new signing secret is empty", store.ErrInvalid)
	}
	now := db.stamp()
	kr, done := db.sq.Sealing()
	defer done()
	err := db.withTx(ctx, func(tx pgx.Tx) error {
		var url, connID string
		err := tx.QueryRow(ctx, `UPDATE outbound_endpoints SET updated_at = $1 WHERE id = $2 RETURNING url, connection_id`, now, id).Scan(&url, &connID)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%w: no webhook endpoint %q", store.ErrNotFound, id)
		}
		if err != nil {
			return fmt.Errorf("postgres: rotate endpoint secret: %w", err)
		}
		detail := url + ", the previous secret no longer signs"
		if oldUntil.After(now) {
			detail = url + ", the previous secret signs until " + oldUntil.UTC().Format(time.RFC3339)
		}
		if err := db.audit(ctx, tx, store.AuditEndpointSecretRot, connID, id, detail); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM outbound_secrets WHERE endpoint_id = $1 AND expires_at IS NOT NULL`, id); err != nil {
			return fmt.Errorf("postgres: rotate endpoint secret: %w", err)
		}
		if oldUntil.After(now) {
			_, err = tx.Exec(ctx, `UPDATE outbound_secrets SET expires_at = $1 WHERE endpoint_id = $2`, oldUntil.UTC(), id)
		} else {
			_, err = tx.Exec(ctx, `DELETE FROM outbound_secrets WHERE endpoint_id = $1`, id)
		}
		if err != nil {
			return fmt.Errorf("postgres: rotate endpoint secret: %w", err)
		}
		return db.addEndpointSecret(ctx, tx, kr, id, signing, now)
	})
	if err != nil {
		return store.Endpoint{}, err
	}
	return db.Endpoint(ctx, id)
}

// SigningSecrets implements store.OutboundStore.
func (db *DB) SigningSecrets(ctx context.Context, endpointID string) ([]secret.Secret, error) {
	rows, err := db.pool.Query(ctx, `SELECT id, sealed FROM outbound_secrets
		WHERE endpoint_id = $1 AND (expires_at IS NULL OR expires_at > $2)
		ORDER BY expires_at IS NOT NULL, created_at DESC, id`, endpointID, db.stamp())
	if err != nil {
		return nil, fmt.Errorf("postgres: signing secrets of endpoint %s: %w", endpointID, err)
	}
	type item struct {
		id     string
		sealed []byte
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (item, error) {
		var it item
		return it, r.Scan(&it.id, &it.sealed)
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: signing secrets of endpoint %s: %w", endpointID, err)
	}
	if len(items) == 0 {
		if _, err := db.Endpoint(ctx, endpointID); err != nil {
			return nil, err
		}
	}
	kr := db.keyring()
	out := make([]secret.Secret, 0, len(items))
	for _, it := range items {
		pt, err := kr.Open(it.sealed, sqlstore.EndpointSecretAAD(endpointID, it.id))
		if err != nil {
			return nil, fmt.Errorf("postgres: open signing secret %s of endpoint %s: %w", it.id, endpointID, err)
		}
		out = append(out, secret.Secret(pt))
	}
	return out, nil
}

// SetEndpointEnabled implements store.OutboundStore.
func (db *DB) SetEndpointEnabled(ctx context.Context, id string, enabled bool, reason string) (store.Endpoint, error) {
	if !enabled && strings.TrimSpace(reason) == "" {
		return store.Endpoint{}, fmt.Errorf("%w: disabling endpoint %s needs a reason", store.ErrInvalid, id)
	}
	now := db.stamp()
	err := db.withTx(ctx, func(tx pgx.Tx) error {
		var connID, url string
		var was *time.Time
		if err := tx.QueryRow(ctx, `SELECT connection_id, url, disabled_at FROM outbound_endpoints WHERE id = $1 FOR UPDATE`, id).Scan(&connID, &url, &was); errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%w: no webhook endpoint %q", store.ErrNotFound, id)
		} else if err != nil {
			return fmt.Errorf("postgres: enable endpoint %s: %w", id, err)
		}
		if (was != nil) != enabled {
			return nil // already so: nothing changes, nothing to audit
		}
		var err error
		if enabled {
			_, err = tx.Exec(ctx, `UPDATE outbound_endpoints SET disabled_at = NULL, disabled_reason = '', updated_at = $1 WHERE id = $2`, now, id)
		} else {
			_, err = tx.Exec(ctx, `UPDATE outbound_endpoints SET disabled_at = $1, disabled_reason = $2, updated_at = $1 WHERE id = $3`, now, strings.TrimSpace(reason), id)
		}
		if err != nil {
			return fmt.Errorf("postgres: enable endpoint %s: %w", id, err)
		}
		if enabled {
			return db.audit(ctx, tx, store.AuditEndpointEnabled, connID, id, url)
		}
		return db.audit(ctx, tx, store.AuditEndpointDisabled, connID, id, url+": "+strings.TrimSpace(reason))
	})
	if err != nil {
		return store.Endpoint{}, err
	}
	return db.Endpoint(ctx, id)
}
