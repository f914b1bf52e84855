package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

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
	types, _ := json.Marshal(e.EventTypes)
	kr, done := db.sq.Sealing()
	defer done()
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO outbound_endpoints
			(id, url, event_types, connection_id, include_record, description, created_at, updated_at, after_seq)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, (SELECT last_seq FROM change_seq))`,
			e.ID, e.URL, string(types), e.ConnectionID, e.IncludeRecord, e.Description, fmtTime(e.CreatedAt), fmtTime(e.UpdatedAt)); err != nil {
			return fmt.Errorf("sqlite: create endpoint: %w", err)
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
func (db *DB) addEndpointSecret(ctx context.Context, tx *sql.Tx, kr *secret.Keyring, endpointID string, signing secret.Secret, now time.Time) error {
	id := store.NewID()
	sealed, err := kr.Seal([]byte(signing.Reveal()), sqlstore.EndpointSecretAAD(endpointID, id))
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO outbound_secrets (id, endpoint_id, key_id, sealed, created_at)
		VALUES (?, ?, ?, ?, ?)`, id, endpointID, kr.PrimaryID(), sealed, fmtTime(now)); err != nil {
		return fmt.Errorf("sqlite: add secret to endpoint %s: %w", endpointID, err)
	}
	return nil
}

const endpointColumns = `id, url, event_types, connection_id, include_record, description, created_at, updated_at, after_seq, disabled_at, disabled_reason`

func scanEndpoint(r rowScanner) (store.Endpoint, error) {
	var e store.Endpoint
	var types string
	var created, updated, disabled sql.NullString
	if err := r.Scan(&e.ID, &e.URL, &types, &e.ConnectionID, &e.IncludeRecord, &e.Description, &created, &updated, &e.AfterSeq, &disabled, &e.DisabledReason); err != nil {
		return e, err
	}
	var err error
	if e.DisabledAt, err = parseTime(disabled); err != nil {
		return e, err
	}
	e.Disabled = !e.DisabledAt.IsZero()
	if err := json.Unmarshal([]byte(types), &e.EventTypes); err != nil {
		return e, fmt.Errorf("endpoint %s event types: %w", e.ID, err)
	}
	if e.CreatedAt, err = parseTime(created); err != nil {
		return e, err
	}
	e.UpdatedAt, err = parseTime(updated)
	return e, err
}

// Endpoint implements store.OutboundStore.
func (db *DB) Endpoint(ctx context.Context, id string) (store.Endpoint, error) {
	e, err := scanEndpoint(db.read.QueryRowContext(ctx, `SELECT `+endpointColumns+` FROM outbound_endpoints WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Endpoint{}, fmt.Errorf("%w: no webhook endpoint %q", store.ErrNotFound, id)
	}
	if err != nil {
		return store.Endpoint{}, fmt.Errorf("sqlite: endpoint %s: %w", id, err)
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
	rows, err := db.read.QueryContext(ctx, `SELECT endpoint_id, id, created_at, expires_at FROM outbound_secrets
		WHERE (? = '' OR endpoint_id = ?) AND (expires_at IS NULL OR expires_at > ?)
		ORDER BY endpoint_id, expires_at IS NOT NULL, created_at DESC, id`, id, id, fmtTime(db.stamp()))
	if err != nil {
		return nil, fmt.Errorf("sqlite: endpoint secrets: %w", err)
	}
	defer rows.Close()
	out := map[string][]store.SigningSecretInfo{}
	for rows.Next() {
		var ep string
		var info store.SigningSecretInfo
		var created, expires sql.NullString
		if err := rows.Scan(&ep, &info.ID, &created, &expires); err != nil {
			return nil, fmt.Errorf("sqlite: endpoint secrets: %w", err)
		}
		if info.CreatedAt, err = parseTime(created); err != nil {
			return nil, err
		}
		if info.ExpiresAt, err = parseTime(expires); err != nil {
			return nil, err
		}
		out[ep] = append(out[ep], info)
	}
	return out, rows.Err()
}

// Endpoints implements store.OutboundStore.
func (db *DB) Endpoints(ctx context.Context) ([]store.Endpoint, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+endpointColumns+` FROM outbound_endpoints ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list endpoints: %w", err)
	}
	defer rows.Close()
	var out []store.Endpoint
	for rows.Next() {
		e, err := scanEndpoint(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list endpoints: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list endpoints: %w", err)
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
	return db.withTx(ctx, func(tx *sql.Tx) error {
		var url, connID string
		err := tx.QueryRowContext(ctx, `SELECT url, connection_id FROM outbound_endpoints WHERE id = ?`, id).Scan(&url, &connID)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: no webhook endpoint %q", store.ErrNotFound, id)
		}
		if err != nil {
			return fmt.Errorf("sqlite: delete endpoint %s: %w", id, err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM outbound_endpoints WHERE id = ?`, id); err != nil {
			return fmt.Errorf("sqlite: delete endpoint %s: %w", id, err)
		}
		return db.audit(ctx, tx, store.AuditEndpointDeleted, connID, id, url)
	})
}

// RotateEndpointSecret implements store.OutboundStore.
func (db *DB) RotateEndpointSecret(ctx context.Context, id string, signing secret.Secret, oldUntil time.Time) (store.Endpoint, error) {
	if signing.IsZero() {
		return store.Endpoint{}, fmt.Errorf("%w: the endpoint's new signing secret is empty", store.ErrInvalid)
	}
	now := db.stamp()
	kr, done := db.sq.Sealing()
	defer done()
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		var url, connID string
		err := tx.QueryRowContext(ctx, `UPDATE outbound_endpoints SET updated_at = ? WHERE id = ? RETURNING url, connection_id`, fmtTime(now), id).Scan(&url, &connID)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: no webhook endpoint %q", store.ErrNotFound, id)
		}
		if err != nil {
			return fmt.Errorf("sqlite: rotate endpoint secret: %w", err)
		}
		detail := url + ", the previous secret no longer signs"
		if oldUntil.After(now) {
			detail = url + ", the previous secret signs until " + oldUntil.UTC().Format(time.RFC3339)
		}
		if err := db.audit(ctx, tx, store.AuditEndpointSecretRot, connID, id, detail); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM outbound_secrets WHERE endpoint_id = ? AND expires_at IS NOT NULL`, id); err != nil {
			return fmt.Errorf("sqlite: rotate endpoint secret: %w", err)
		}
		if oldUntil.After(now) {
			_, err = tx.ExecContext(ctx, `UPDATE outbound_secrets SET expires_at = ? WHERE endpoint_id = ?`, fmtTime(oldUntil), id)
		} else {
			_, err = tx.ExecContext(ctx, `DELETE FROM outbound_secrets WHERE endpoint_id = ?`, id)
		}
		if err != nil {
			return fmt.Errorf("sqlite: rotate endpoint secret: %w", err)
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
	rows, err := db.read.QueryContext(ctx, `SELECT id, sealed FROM outbound_secrets
		WHERE endpoint_id = ? AND (expires_at IS NULL OR expires_at > ?)
		ORDER BY expires_at IS NOT NULL, created_at DESC, id`, endpointID, fmtTime(db.stamp()))
	if err != nil {
		return nil, fmt.Errorf("sqlite: signing secrets of endpoint %s: %w", endpointID, err)
	}
	defer rows.Close()
	kr := db.keyring()
	var out []secret.Secret
	for rows.Next() {
		var id string
		var sealed []byte
		if err := rows.Scan(&id, &sealed); err != nil {
			return nil, fmt.Errorf("sqlite: signing secrets of endpoint %s: %w", endpointID, err)
		}
		pt, err := kr.Open(sealed, sqlstore.EndpointSecretAAD(endpointID, id))
		if err != nil {
			return nil, fmt.Errorf("sqlite: open signing secret %s of endpoint %s: %w", id, endpointID, err)
		}
		out = append(out, secret.Secret(pt))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: signing secrets of endpoint %s: %w", endpointID, err)
	}
	if len(out) == 0 {
		if _, err := db.Endpoint(ctx, endpointID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// SetEndpointEnabled implements store.OutboundStore.
func (db *DB) SetEndpointEnabled(ctx context.Context, id string, enabled bool, reason string) (store.Endpoint, error) {
	if !enabled && strings.TrimSpace(reason) == "" {
		return store.Endpoint{}, fmt.Errorf("%w: disabling endpoint %s needs a reason", store.ErrInvalid, id)
	}
	now := fmtTime(db.stamp())
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		var connID, url string
		var was sql.NullString
		if err := tx.QueryRowContext(ctx, `SELECT connection_id, url, disabled_at FROM outbound_endpoints WHERE id = ?`, id).Scan(&connID, &url, &was); errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: no webhook endpoint %q", store.ErrNotFound, id)
		} else if err != nil {
			return fmt.Errorf("sqlite: enable endpoint %s: %w", id, err)
		}
		if was.Valid != enabled {
			return nil // already so: nothing changes, nothing to audit
		}
		var err error
		if enabled {
			_, err = tx.ExecContext(ctx, `UPDATE outbound_endpoints SET disabled_at = NULL, disabled_reason = '', updated_at = ? WHERE id = ?`, now, id)
		} else {
			_, err = tx.ExecContext(ctx, `UPDATE outbound_endpoints SET disabled_at = ?, disabled_reason = ?, updated_at = ? WHERE id = ?`, now, strings.TrimSpace(reason), now, id)
		}
		if err != nil {
			return fmt.Errorf("sqlite: enable endpoint %s: %w", id, err)
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
