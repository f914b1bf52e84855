package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
)

// Outbound implements store.OutboundStore: the outbound webhook endpoints and their
// sealed signing secrets.
type Outbound struct{ s *Store }

var _ store.OutboundStore = Outbound{}

// CreateEndpoint implements store.OutboundStore. The endpoint starts after the last
// change logged so far (after_seq): it is sent what happens from now on.
func (o Outbound) CreateEndpoint(ctx context.Context, e store.Endpoint, signing secret.Secret) (store.Endpoint, error) {
	s := o.s
	if err := e.Normalize(); err != nil {
		return store.Endpoint{}, err
	}
	if signing.IsZero() {
		return store.Endpoint{}, fmt.Errorf("%w: the endpoint's signing secret is empty", store.ErrInvalid)
	}
	e.ID = store.NewID()
	e.CreatedAt = s.stamp()
	e.UpdatedAt = e.CreatedAt
	kr, done := s.Sealing()
	defer done()
	err := s.drv.WithTx(ctx, func(tx Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO outbound_endpoints
			(id, url, event_types, connection_id, include_record, description, created_at, updated_at, after_seq)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, (SELECT last_seq FROM change_seq))`,
			e.ID, e.URL, e.EventTypes, e.ConnectionID, e.IncludeRecord, e.Description, e.CreatedAt, e.UpdatedAt); err != nil {
			return s.errorf("create endpoint: %w", err)
		}
		if err := s.WriteAudit(ctx, tx, store.ActorFrom(ctx), store.AuditEndpointCreated, e.ConnectionID, e.ID, e.URL+" ("+strings.Join(e.EventTypes, ", ")+")"); err != nil {
			return err
		}
		return o.addSecret(ctx, tx, kr, e.ID, signing, e.CreatedAt)
	})
	if err != nil {
		return store.Endpoint{}, err
	}
	return o.Endpoint(ctx, e.ID)
}

// addSecret seals signing with kr and stores it as the endpoint's current secret. The
// caller holds kr from Sealing.
func (o Outbound) addSecret(ctx context.Context, tx Tx, kr *secret.Keyring, endpointID string, signing secret.Secret, now time.Time) error {
	id := store.NewID()
	sealed, err := kr.Seal([]byte(signing.Reveal()), EndpointSecretAAD(endpointID, id))
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO outbound_secrets (id, endpoint_id, key_id, sealed, created_at)
		VALUES ($1, $2, $3, $4, $5)`, id, endpointID, kr.PrimaryID(), sealed, now); err != nil {
		return o.s.errorf("add secret to endpoint %s: %w", endpointID, err)
	}
	return nil
}

const endpointColumns = `id, url, event_types, connection_id, include_record, description, created_at, updated_at, after_seq, disabled_at, disabled_reason`

func scanEndpoint(r Row) (store.Endpoint, error) {
	var e store.Endpoint
	var disabled *time.Time
	if err := r.Scan(&e.ID, &e.URL, &e.EventTypes, &e.ConnectionID, &e.IncludeRecord, &e.Description, &e.CreatedAt, &e.UpdatedAt, &e.AfterSeq, &disabled, &e.DisabledReason); err != nil {
		return e, err
	}
	e.DisabledAt = UTC(disabled)
	e.Disabled = disabled != nil
	e.CreatedAt, e.UpdatedAt = e.CreatedAt.UTC(), e.UpdatedAt.UTC()
	return e, nil
}

// Endpoint implements store.OutboundStore.
func (o Outbound) Endpoint(ctx context.Context, id string) (store.Endpoint, error) {
	e, err := scanEndpoint(o.s.drv.Read().QueryRow(ctx, `SELECT `+endpointColumns+` FROM outbound_endpoints WHERE id = $1`, id))
	if isNoRows(err) {
		return store.Endpoint{}, fmt.Errorf("%w: no webhook endpoint %q", store.ErrNotFound, id)
	}
	if err != nil {
		return store.Endpoint{}, o.s.errorf("endpoint %s: %w", id, err)
	}
	infos, err := o.secretInfos(ctx, id)
	if err != nil {
		return store.Endpoint{}, err
	}
	e.Secrets = infos[id]
	return e, nil
}

// secretInfos returns the signing secrets that sign now, per endpoint (of one endpoint,
// or of all when id is ""), the current one first.
func (o Outbound) secretInfos(ctx context.Context, id string) (map[string][]store.SigningSecretInfo, error) {
	rows, err := o.s.drv.Read().Query(ctx, `SELECT endpoint_id, id, created_at, expires_at FROM outbound_secrets
		WHERE ($1 = '' OR endpoint_id = $1) AND (expires_at IS NULL OR expires_at > $2)
		ORDER BY endpoint_id, expires_at IS NOT NULL, created_at DESC, id`, id, o.s.stamp())
	if err != nil {
		return nil, o.s.errorf("endpoint secrets: %w", err)
	}
	defer rows.Close()
	out := map[string][]store.SigningSecretInfo{}
	for rows.Next() {
		var ep string
		var info store.SigningSecretInfo
		var expires *time.Time
		if err := rows.Scan(&ep, &info.ID, &info.CreatedAt, &expires); err != nil {
			return nil, o.s.errorf("endpoint secrets: %w", err)
		}
		info.CreatedAt, info.ExpiresAt = info.CreatedAt.UTC(), UTC(expires)
		out[ep] = append(out[ep], info)
	}
	if err := rows.Err(); err != nil {
		return nil, o.s.errorf("endpoint secrets: %w", err)
	}
	return out, nil
}

// Endpoints implements store.OutboundStore.
func (o Outbound) Endpoints(ctx context.Context) ([]store.Endpoint, error) {
	rows, err := o.s.drv.Read().Query(ctx, `SELECT `+endpointColumns+` FROM outbound_endpoints ORDER BY created_at, id`)
	if err != nil {
		return nil, o.s.errorf("list endpoints: %w", err)
	}
	out, err := collect(rows, scanEndpoint)
	if err != nil {
		return nil, o.s.errorf("list endpoints: %w", err)
	}
	infos, err := o.secretInfos(ctx, "")
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Secrets = infos[out[i].ID]
	}
	return out, nil
}

// DeleteEndpoint implements store.OutboundStore.
func (o Outbound) DeleteEndpoint(ctx context.Context, id string) error {
	s := o.s
	return s.drv.WithTx(ctx, func(tx Tx) error {
		var url, connID string
		err := tx.QueryRow(ctx, `DELETE FROM outbound_endpoints WHERE id = $1 RETURNING url, connection_id`, id).Scan(&url, &connID)
		if isNoRows(err) {
			return fmt.Errorf("%w: no webhook endpoint %q", store.ErrNotFound, id)
		}
		if err != nil {
			return s.errorf("delete endpoint %s: %w", id, err)
		}
		return s.WriteAudit(ctx, tx, store.ActorFrom(ctx), store.AuditEndpointDeleted, connID, id, url)
	})
}

// RotateEndpointSecret implements store.OutboundStore. The endpoint's row is updated
// first, so rotations of one endpoint by several instances queue on it.
func (o Outbound) RotateEndpointSecret(ctx context.Context, id string, signing secret.Secret, oldUntil time.Time) (store.Endpoint, error) {
	s := o.s
	if signing.IsZero() {
		return store.Endpoint{}, fmt.Errorf("%w: the endpoint's new signing secret is empty", store.ErrInvalid)
	}
	now := s.stamp()
	kr, done := s.Sealing()
	defer done()
	err := s.drv.WithTx(ctx, func(tx Tx) error {
		var url, connID string
		err := tx.QueryRow(ctx, `UPDATE outbound_endpoints SET updated_at = $1 WHERE id = $2 RETURNING url, connection_id`, now, id).Scan(&url, &connID)
		if isNoRows(err) {
			return fmt.Errorf("%w: no webhook endpoint %q", store.ErrNotFound, id)
		}
		if err != nil {
			return s.errorf("rotate endpoint secret: %w", err)
		}
		detail := url + ", the previous secret no longer signs"
		if oldUntil.After(now) {
			detail = url + ", the previous secret signs until " + oldUntil.UTC().Format(time.RFC3339)
		}
		if err := s.WriteAudit(ctx, tx, store.ActorFrom(ctx), store.AuditEndpointSecretRot, connID, id, detail); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM outbound_secrets WHERE endpoint_id = $1 AND expires_at IS NOT NULL`, id); err != nil {
			return s.errorf("rotate endpoint secret: %w", err)
		}
		if oldUntil.After(now) {
			_, err = tx.Exec(ctx, `UPDATE outbound_secrets SET expires_at = $1 WHERE endpoint_id = $2`, oldUntil.UTC().Truncate(time.Microsecond), id)
		} else {
			_, err = tx.Exec(ctx, `DELETE FROM outbound_secrets WHERE endpoint_id = $1`, id)
		}
		if err != nil {
			return s.errorf("rotate endpoint secret: %w", err)
		}
		return o.addSecret(ctx, tx, kr, id, signing, now)
	})
	if err != nil {
		return store.Endpoint{}, err
	}
	return o.Endpoint(ctx, id)
}

// SigningSecrets implements store.OutboundStore.
func (o Outbound) SigningSecrets(ctx context.Context, endpointID string) ([]secret.Secret, error) {
	s := o.s
	rows, err := s.drv.Read().Query(ctx, `SELECT id, endpoint_id, sealed FROM outbound_secrets
		WHERE endpoint_id = $1 AND (expires_at IS NULL OR expires_at > $2)
		ORDER BY expires_at IS NOT NULL, created_at DESC, id`, endpointID, s.stamp())
	if err != nil {
		return nil, s.errorf("signing secrets of endpoint %s: %w", endpointID, err)
	}
	items, err := collect(rows, scanSealed)
	if err != nil {
		return nil, s.errorf("signing secrets of endpoint %s: %w", endpointID, err)
	}
	if len(items) == 0 {
		if _, err := o.Endpoint(ctx, endpointID); err != nil {
			return nil, err
		}
	}
	kr := s.Keyring()
	out := make([]secret.Secret, 0, len(items))
	for _, it := range items {
		pt, err := kr.Open(it.sealed, EndpointSecretAAD(endpointID, it.id))
		if err != nil {
			return nil, s.errorf("open signing secret %s of endpoint %s: %w", it.id, endpointID, err)
		}
		out = append(out, secret.Secret(pt))
	}
	return out, nil
}

// SetEndpointEnabled implements store.OutboundStore. Nothing changes and nothing is
// audited when the endpoint is so already.
func (o Outbound) SetEndpointEnabled(ctx context.Context, id string, enabled bool, reason string) (store.Endpoint, error) {
	s := o.s
	if !enabled && strings.TrimSpace(reason) == "" {
		return store.Endpoint{}, fmt.Errorf("%w: disabling endpoint %s needs a reason", store.ErrInvalid, id)
	}
	now := s.stamp()
	err := s.drv.WithTx(ctx, func(tx Tx) error {
		var connID, url string
		var was *time.Time
		if err := tx.QueryRow(ctx, `SELECT connection_id, url, disabled_at FROM outbound_endpoints WHERE id = $1`+s.drv.ForUpdate(), id).Scan(&connID, &url, &was); isNoRows(err) {
			return fmt.Errorf("%w: no webhook endpoint %q", store.ErrNotFound, id)
		} else if err != nil {
			return s.errorf("enable endpoint %s: %w", id, err)
		}
		if (was != nil) != enabled {
			return nil // already so
		}
		var err error
		if enabled {
			_, err = tx.Exec(ctx, `UPDATE outbound_endpoints SET disabled_at = NULL, disabled_reason = '', updated_at = $1 WHERE id = $2`, now, id)
		} else {
			_, err = tx.Exec(ctx, `UPDATE outbound_endpoints SET disabled_at = $1, disabled_reason = $2, updated_at = $1 WHERE id = $3`, now, strings.TrimSpace(reason), id)
		}
		if err != nil {
			return s.errorf("enable endpoint %s: %w", id, err)
		}
		if enabled {
			return s.WriteAudit(ctx, tx, store.ActorFrom(ctx), store.AuditEndpointEnabled, connID, id, url)
		}
		return s.WriteAudit(ctx, tx, store.ActorFrom(ctx), store.AuditEndpointDisabled, connID, id, url+": "+strings.TrimSpace(reason))
	})
	if err != nil {
		return store.Endpoint{}, err
	}
	return o.Endpoint(ctx, id)
}
