package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

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
	err = db.withTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO operator_app (id, client_id, tenant_id, redirect_uri, kind, certificate, key_id, sealed, end_date, updated_at)
			VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET client_id = excluded.client_id, tenant_id = excluded.tenant_id, redirect_uri = excluded.redirect_uri, kind = excluded.kind,
				certificate = excluded.certificate, key_id = excluded.key_id, sealed = excluded.sealed,
				end_date = excluded.end_date, updated_at = excluded.updated_at`,
			app.ClientID, app.TenantID, app.RedirectURI, string(app.Kind), app.Certificate, app.KeyID, sealed, nullTime(app.EndDate), fmtTime(app.UpdatedAt))
		if err != nil {
			return fmt.Errorf("sqlite: set operator app: %w", err)
		}
		return nil
	})
	if err != nil {
		return store.OperatorApp{}, err
	}
	db.connectionChanged("") // every express connection's credential changed
	return app, nil
}

// OperatorApp implements store.ExpressStore.
func (db *DB) OperatorApp(ctx context.Context) (store.OperatorApp, secret.Secret, error) {
	var app store.OperatorApp
	var kind string
	var sealed []byte
	var end, updated sql.NullString
	err := db.read.QueryRowContext(ctx, `SELECT client_id, tenant_id, redirect_uri, kind, certificate, key_id, sealed, end_date, updated_at FROM operator_app WHERE id = 1`).
		Scan(&app.ClientID, &app.TenantID, &app.RedirectURI, &kind, &app.Certificate, &app.KeyID, &sealed, &end, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return app, "", fmt.Errorf("%w: no express app is configured; set Bizzjoiner's multi-tenant app with `bcconnector express-app set`", store.ErrNotFound)
	}
	if err != nil {
		return app, "", fmt.Errorf("sqlite: read operator app: %w", err)
	}
	app.Kind = store.CredentialKind(kind)
	if app.EndDate, err = parseTime(end); err != nil {
		return app, "", err
	}
	if app.UpdatedAt, err = parseTime(updated); err != nil {
		return app, "", err
	}
	pt, err := db.keyring().Open(sealed, sqlstore.OperatorAAD())
	if err != nil {
		return app, "", fmt.Errorf("sqlite: open the express app's credential: %w", err)
	}
	defer clear(pt)
	return app, secret.Secret(pt), nil
}

// DeleteOperatorApp implements store.ExpressStore.
func (db *DB) DeleteOperatorApp(ctx context.Context) error {
	res, err := db.write.ExecContext(ctx, `DELETE FROM operator_app WHERE id = 1`)
	if err != nil {
		return fmt.Errorf("sqlite: delete operator app: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: no express app is configured", store.ErrNotFound)
	}
	db.connectionChanged("")
	return nil
}

// SetConsent implements store.ExpressStore.
func (db *DB) SetConsent(ctx context.Context, c store.Consent) (store.Consent, error) {
	if err := sqlstore.CheckConsent(c); err != nil {
		return store.Consent{}, err
	}
	c.UpdatedAt = db.stamp()
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		if err := connectionExists(ctx, tx, c.ConnectionID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO express_consents (connection_id, state, nonce, error, error_description, tenant, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (connection_id) DO UPDATE SET state = excluded.state, nonce = excluded.nonce, error = excluded.error,
				error_description = excluded.error_description, tenant = excluded.tenant, updated_at = excluded.updated_at`,
			c.ConnectionID, string(c.State), c.Nonce, c.Error, c.ErrorDescription, c.Tenant, fmtTime(c.UpdatedAt))
		if err != nil {
			return fmt.Errorf("sqlite: set consent of %s: %w", c.ConnectionID, err)
		}
		return nil
	})
	if err != nil {
		return store.Consent{}, err
	}
	db.connectionChanged(c.ConnectionID)
	return c, nil
}

const consentColumns = `connection_id, state, nonce, error, error_description, tenant, updated_at`

func scanConsent(r rowScanner) (store.Consent, error) {
	var c store.Consent
	var state string
	var updated sql.NullString
	if err := r.Scan(&c.ConnectionID, &state, &c.Nonce, &c.Error, &c.ErrorDescription, &c.Tenant, &updated); err != nil {
		return c, err
	}
	c.State = store.ConsentState(state)
	var err error
	c.UpdatedAt, err = parseTime(updated)
	return c, err
}

// Consent implements store.ExpressStore.
func (db *DB) Consent(ctx context.Context, connID string) (store.Consent, error) {
	c, err := scanConsent(db.read.QueryRowContext(ctx, `SELECT `+consentColumns+` FROM express_consents WHERE connection_id = ?`, connID))
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("%w: connection %q is not an express connection", store.ErrNotFound, connID)
	}
	if err != nil {
		return c, fmt.Errorf("sqlite: read consent of %s: %w", connID, err)
	}
	return c, nil
}

// Consents implements store.ExpressStore.
func (db *DB) Consents(ctx context.Context) (map[string]store.Consent, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+consentColumns+` FROM express_consents`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list consents: %w", err)
	}
	defer rows.Close()
	out := map[string]store.Consent{}
	for rows.Next() {
		c, err := scanConsent(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list consents: %w", err)
		}
		out[c.ConnectionID] = c
	}
	return out, rows.Err()
}

// resealOperatorApp re-seals, inside ReSealAll's transaction, the operator app's credential
// if it is not sealed with kr's primary key; it returns 1 if it did.
func resealOperatorApp(ctx context.Context, tx *sql.Tx, kr *secret.Keyring) (int, error) {
	var sealed []byte
	err := tx.QueryRowContext(ctx, `SELECT sealed FROM operator_app WHERE id = 1`).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("sqlite: re-seal the express app's credential: %w", err)
	}
	resealed, ok, err := sqlstore.ResealAAD(kr, sqlstore.OperatorAAD(), sealed)
	if err != nil || !ok {
		if err != nil {
			err = fmt.Errorf("sqlite: re-seal the express app's credential: %w", err)
		}
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE operator_app SET sealed = ?, key_id = ? WHERE id = 1`, resealed, kr.PrimaryID()); err != nil {
		return 0, fmt.Errorf("sqlite: re-seal the express app's credential: %w", err)
	}
	return 1, nil
}
