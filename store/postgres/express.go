package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/store/internal/sqlstore"
)

var _ store.ExpressStore = (*DB)(nil)

// SetOperatorApp implements store.ExpressStore.
func (db *DB) SetOperatorApp(ctx context.Context, app store.OperatorApp, value secret.Secret) (store.OperatorApp, error) {
	// The read lock keeps ReSealAll from swapping keyrings between Seal and commit.
	db.krMu.RLock()
	defer db.krMu.RUnlock()
	app, sealed, err := sqlstore.SealOperatorApp(db.kr, app, value, db.stamp())
	if err != nil {
		return store.OperatorApp{}, err
	}
	var end *time.Time
	if !app.EndDate.IsZero() {
		end = &app.EndDate
	}
	err = db.withTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO operator_app (id, client_id, tenant_id, redirect_uri, kind, certificate, key_id, sealed, end_date, updated_at)
			VALUES (1, $1, $2, $3, $4, $5, $6, $7, $8, $9)
			ON CONFLICT (id) DO UPDATE SET client_id = excluded.client_id, tenant_id = excluded.tenant_id, redirect_uri = excluded.redirect_uri, kind = excluded.kind,
				certificate = excluded.certificate, key_id = excluded.key_id, sealed = excluded.sealed,
				end_date = excluded.end_date, updated_at = excluded.updated_at`,
			app.ClientID, app.TenantID, app.RedirectURI, string(app.Kind), app.Certificate, app.KeyID, sealed, end, app.UpdatedAt)
		if err != nil {
			return fmt.Errorf("postgres: set operator app: %w", err)
		}
		// Every express connection's credential changed: the empty payload.
		return db.notifyTx(ctx, tx, store.ChannelConnection, "")
	})
	if err != nil {
		return store.OperatorApp{}, err
	}
	return app, nil
}

// OperatorApp implements store.ExpressStore.
func (db *DB) OperatorApp(ctx context.Context) (store.OperatorApp, secret.Secret, error) {
	var app store.OperatorApp
	var kind string
	var sealed []byte
	var end *time.Time
	err := db.pool.QueryRow(ctx, `SELECT client_id, tenant_id, redirect_uri, kind, certificate, key_id, sealed, end_date, updated_at FROM operator_app WHERE id = 1`).
		Scan(&app.ClientID, &app.TenantID, &app.RedirectURI, &kind, &app.Certificate, &app.KeyID, &sealed, &end, &app.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return app, "", fmt.Errorf("%w: no express app is configured; set Bizzjoiner's multi-tenant app with `bcconnector express-app set`", store.ErrNotFound)
	}
	if err != nil {
		return app, "", fmt.Errorf("postgres: read operator app: %w", err)
	}
	app.Kind, app.EndDate, app.UpdatedAt = store.CredentialKind(kind), utc(end), app.UpdatedAt.UTC()
	pt, err := db.keyring().Open(sealed, sqlstore.OperatorAAD())
	if err != nil {
		return app, "", fmt.Errorf("postgres: open the express app's credential: %w", err)
	}
	defer clear(pt)
	return app, secret.Secret(pt), nil
}

// DeleteOperatorApp implements store.ExpressStore.
func (db *DB) DeleteOperatorApp(ctx context.Context) error {
	return db.withTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM operator_app WHERE id = 1`)
		if err != nil {
			return fmt.Errorf("postgres: delete operator app: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("%w: no express app is configured", store.ErrNotFound)
		}
		return db.notifyTx(ctx, tx, store.ChannelConnection, "")
	})
}

// SetConsent implements store.ExpressStore.
func (db *DB) SetConsent(ctx context.Context, c store.Consent) (store.Consent, error) {
	if err := sqlstore.CheckConsent(c); err != nil {
		return store.Consent{}, err
	}
	c.UpdatedAt = db.stamp()
	err := db.withTx(ctx, func(tx pgx.Tx) error {
		if err := lockConnection(ctx, tx, c.ConnectionID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO express_consents (connection_id, state, nonce, error, error_description, tenant, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (connection_id) DO UPDATE SET state = excluded.state, nonce = excluded.nonce, error = excluded.error,
				error_description = excluded.error_description, tenant = excluded.tenant, updated_at = excluded.updated_at`,
			c.ConnectionID, string(c.State), c.Nonce, c.Error, c.ErrorDescription, c.Tenant, c.UpdatedAt)
		if err != nil {
			return fmt.Errorf("postgres: set consent of %s: %w", c.ConnectionID, err)
		}
		return db.notifyTx(ctx, tx, store.ChannelConnection, c.ConnectionID)
	})
	if err != nil {
		return store.Consent{}, err
	}
	return c, nil
}

const consentColumns = `connection_id, state, nonce, error, error_description, tenant, updated_at`

func scanConsent(r pgx.Row) (store.Consent, error) {
	var c store.Consent
	var state string
	if err := r.Scan(&c.ConnectionID, &state, &c.Nonce, &c.Error, &c.ErrorDescription, &c.Tenant, &c.UpdatedAt); err != nil {
		return c, err
	}
	c.State, c.UpdatedAt = store.ConsentState(state), c.UpdatedAt.UTC()
	return c, nil
}

// Consent implements store.ExpressStore.
func (db *DB) Consent(ctx context.Context, connID string) (store.Consent, error) {
	c, err := scanConsent(db.pool.QueryRow(ctx, `SELECT `+consentColumns+` FROM express_consents WHERE connection_id = $1`, connID))
	if errors.Is(err, pgx.ErrNoRows) {
		return c, fmt.Errorf("%w: connection %q is not an express connection", store.ErrNotFound, connID)
	}
	if err != nil {
		return c, fmt.Errorf("postgres: read consent of %s: %w", connID, err)
	}
	return c, nil
}

// Consents implements store.ExpressStore.
func (db *DB) Consents(ctx context.Context) (map[string]store.Consent, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+consentColumns+` FROM express_consents`)
	if err != nil {
		return nil, fmt.Errorf("postgres: list consents: %w", err)
	}
	all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Consent, error) { return scanConsent(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: list consents: %w", err)
	}
	out := make(map[string]store.Consent, len(all))
	for _, c := range all {
		out[c.ConnectionID] = c
	}
	return out, nil
}

// resealOperatorApp re-seals, inside ReSealAll's transaction, the operator app's credential
// if it is not sealed with kr's primary key; it returns 1 if it did.
func resealOperatorApp(ctx context.Context, tx pgx.Tx, kr *secret.Keyring) (int, error) {
	var sealed []byte
	err := tx.QueryRow(ctx, `SELECT sealed FROM operator_app WHERE id = 1 FOR UPDATE`).Scan(&sealed)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("postgres: re-seal the express app's credential: %w", err)
	}
	resealed, ok, err := sqlstore.ResealAAD(kr, sqlstore.OperatorAAD(), sealed)
	if err != nil {
		return 0, fmt.Errorf("postgres: re-seal the express app's credential: %w", err)
	}
	if !ok {
		return 0, nil
	}
	if _, err := tx.Exec(ctx, `UPDATE operator_app SET sealed = $1, key_id = $2 WHERE id = 1`, resealed, kr.PrimaryID()); err != nil {
		return 0, fmt.Errorf("postgres: re-seal the express app's credential: %w", err)
	}
	return 1, nil
}
