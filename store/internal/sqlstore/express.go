package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
)

// Express implements store.ExpressStore.
type Express struct{ s *Store }

var _ store.ExpressStore = Express{}

// SetOperatorApp implements store.ExpressStore.
func (x Express) SetOperatorApp(ctx context.Context, app store.OperatorApp, value secret.Secret) (store.OperatorApp, error) {
	s := x.s
	kr, done := s.Sealing()
	defer done()
	app, sealed, err := SealOperatorApp(kr, app, value, s.stamp())
	if err != nil {
		return store.OperatorApp{}, err
	}
	err = s.drv.WithTx(ctx, func(tx Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO operator_app (id, client_id, tenant_id, redirect_uri, kind, certificate, key_id, sealed, end_date, updated_at)
			VALUES (1, $1, $2, $3, $4, $5, $6, $7, $8, $9)
			ON CONFLICT (id) DO UPDATE SET client_id = excluded.client_id, tenant_id = excluded.tenant_id, redirect_uri = excluded.redirect_uri, kind = excluded.kind,
				certificate = excluded.certificate, key_id = excluded.key_id, sealed = excluded.sealed,
				end_date = excluded.end_date, updated_at = excluded.updated_at`,
			app.ClientID, app.TenantID, app.RedirectURI, string(app.Kind), app.Certificate, app.KeyID, sealed, NullTime(app.EndDate), app.UpdatedAt)
		if err != nil {
			return s.errorf("set operator app: %w", err)
		}
		// Every express connection's credential changed: the empty payload.
		return tx.Notify(ctx, store.ChannelConnection, "")
	})
	if err != nil {
		return store.OperatorApp{}, err
	}
	return app, nil
}

// OperatorApp implements store.ExpressStore.
func (x Express) OperatorApp(ctx context.Context) (store.OperatorApp, secret.Secret, error) {
	s := x.s
	var app store.OperatorApp
	var kind string
	var sealed []byte
	var end *time.Time
	err := s.drv.Read().QueryRow(ctx, `SELECT client_id, tenant_id, redirect_uri, kind, certificate, key_id, sealed, end_date, updated_at FROM operator_app WHERE id = 1`).
		Scan(&app.ClientID, &app.TenantID, &app.RedirectURI, &kind, &app.Certificate, &app.KeyID, &sealed, &end, &app.UpdatedAt)
	if isNoRows(err) {
		return app, "", fmt.Errorf("%w: no express app is configured; set Bizzjoiner's multi-tenant app with `bcconnector express-app set`", store.ErrNotFound)
	}
	if err != nil {
		return app, "", s.errorf("read operator app: %w", err)
	}
	app.Kind, app.EndDate, app.UpdatedAt = store.CredentialKind(kind), UTC(end), app.UpdatedAt.UTC()
	pt, err := s.Keyring().Open(sealed, OperatorAAD())
	if err != nil {
		return app, "", s.errorf("open the express app's credential: %w", err)
	}
	defer clear(pt)
	return app, secret.Secret(pt), nil
}

// DeleteOperatorApp implements store.ExpressStore.
func (x Express) DeleteOperatorApp(ctx context.Context) error {
	s := x.s
	return s.drv.WithTx(ctx, func(tx Tx) error {
		n, err := tx.Exec(ctx, `DELETE FROM operator_app WHERE id = 1`)
		if err != nil {
			return s.errorf("delete operator app: %w", err)
		}
		if n == 0 {
			return fmt.Errorf("%w: no express app is configured", store.ErrNotFound)
		}
		return tx.Notify(ctx, store.ChannelConnection, "")
	})
}

// SetConsent implements store.ExpressStore.
func (x Express) SetConsent(ctx context.Context, c store.Consent) (store.Consent, error) {
	s := x.s
	if err := CheckConsent(c); err != nil {
		return store.Consent{}, err
	}
	c.UpdatedAt = s.stamp()
	err := s.drv.WithTx(ctx, func(tx Tx) error {
		if err := s.LockConnection(ctx, tx, c.ConnectionID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO express_consents (connection_id, state, nonce, error, error_description, tenant, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (connection_id) DO UPDATE SET state = excluded.state, nonce = excluded.nonce, error = excluded.error,
				error_description = excluded.error_description, tenant = excluded.tenant, updated_at = excluded.updated_at`,
			c.ConnectionID, string(c.State), c.Nonce, c.Error, c.ErrorDescription, c.Tenant, c.UpdatedAt)
		if err != nil {
			return s.errorf("set consent of %s: %w", c.ConnectionID, err)
		}
		return tx.Notify(ctx, store.ChannelConnection, c.ConnectionID)
	})
	if err != nil {
		return store.Consent{}, err
	}
	return c, nil
}

const consentColumns = `connection_id, state, nonce, error, error_description, tenant, updated_at`

func scanConsent(r Row) (store.Consent, error) {
	var c store.Consent
	var state string
	if err := r.Scan(&c.ConnectionID, &state, &c.Nonce, &c.Error, &c.ErrorDescription, &c.Tenant, &c.UpdatedAt); err != nil {
		return c, err
	}
	c.State, c.UpdatedAt = store.ConsentState(state), c.UpdatedAt.UTC()
	return c, nil
}

// Consent implements store.ExpressStore.
func (x Express) Consent(ctx context.Context, connID string) (store.Consent, error) {
	c, err := scanConsent(x.s.drv.Read().QueryRow(ctx, `SELECT `+consentColumns+` FROM express_consents WHERE connection_id = $1`, connID))
	if isNoRows(err) {
		return c, fmt.Errorf("%w: connection %q is not an express connection", store.ErrNotFound, connID)
	}
	if err != nil {
		return c, x.s.errorf("read consent of %s: %w", connID, err)
	}
	return c, nil
}

// Consents implements store.ExpressStore.
func (x Express) Consents(ctx context.Context) (map[string]store.Consent, error) {
	rows, err := x.s.drv.Read().Query(ctx, `SELECT `+consentColumns+` FROM express_consents`)
	if err != nil {
		return nil, x.s.errorf("list consents: %w", err)
	}
	all, err := collect(rows, scanConsent)
	if err != nil {
		return nil, x.s.errorf("list consents: %w", err)
	}
	out := make(map[string]store.Consent, len(all))
	for _, c := range all {
		out[c.ConnectionID] = c
	}
	return out, nil
}

// LockConnection checks, in a write transaction, that connection connID exists, and
// locks its row until the transaction ends (Dialect.ForUpdate), so that what the
// transaction adds to it cannot race its deletion. ErrNotFound when it does not exist.
func (s *Store) LockConnection(ctx context.Context, q Executor, connID string) error {
	var one int
	err := q.QueryRow(ctx, `SELECT 1 FROM connections WHERE id = $1`+s.drv.ForUpdate(), connID).Scan(&one)
	if isNoRows(err) {
		return fmt.Errorf("%w: no connection with ID %q", store.ErrNotFound, connID)
	}
	if err != nil {
		return s.errorf("look up connection %s: %w", connID, err)
	}
	return nil
}
