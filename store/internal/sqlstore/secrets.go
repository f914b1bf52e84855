package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
)

// Secrets implements store.SecretStore: a connection's credentials (client secrets and
// certificate keys), sealed with the connection and secret IDs as additional data.
type Secrets struct{ s *Store }

var _ store.SecretStore = Secrets{}

const secretColumns = `id, connection_id, state, kind, certificate, key_id, end_date, created_at, verified_at, retired_at`

func scanSecret(r Row, extra ...any) (store.SecretRecord, error) {
	var rec store.SecretRecord
	var state, kind string
	var end, verified, retired *time.Time
	dest := append([]any{&rec.ID, &rec.ConnectionID, &state, &kind, &rec.Certificate, &rec.KeyID, &end, &rec.CreatedAt, &verified, &retired}, extra...)
	if err := r.Scan(dest...); err != nil {
		return rec, err
	}
	rec.State, rec.Kind = store.SecretState(state), store.CredentialKind(kind)
	rec.EndDate, rec.CreatedAt, rec.VerifiedAt, rec.RetiredAt = UTC(end), rec.CreatedAt.UTC(), UTC(verified), UTC(retired)
	return rec, nil
}

// AddSecret implements store.SecretStore.
func (c Secrets) AddSecret(ctx context.Context, connID string, plaintext secret.Secret, endDate time.Time) (store.SecretRecord, error) {
	cr, err := SecretCredential(plaintext, endDate)
	if err != nil {
		return store.SecretRecord{}, err
	}
	return c.add(ctx, connID, cr)
}

// AddCertificate implements store.SecretStore.
func (c Secrets) AddCertificate(ctx context.Context, connID string, cert secret.Certificate) (store.SecretRecord, error) {
	cr, err := CertificateCredential(cert)
	if err != nil {
		return store.SecretRecord{}, err
	}
	return c.add(ctx, connID, cr)
}

// add seals the credential's value and stores it as the connection's pending one,
// retiring the pending one before it.
func (c Secrets) add(ctx context.Context, connID string, cr Credential) (store.SecretRecord, error) {
	s := c.s
	now := s.stamp()
	rec := store.SecretRecord{ID: store.NewID(), ConnectionID: connID, State: store.SecretPending, Kind: cr.Kind, Certificate: cr.DER, CreatedAt: now}
	if !cr.EndDate.IsZero() {
		rec.EndDate = cr.EndDate.UTC().Truncate(time.Microsecond)
	}
	kr, done := s.Sealing()
	defer done()
	sealed, err := kr.Seal([]byte(cr.Value.Reveal()), SecretAAD(connID, rec.ID))
	if err != nil {
		return store.SecretRecord{}, err
	}
	rec.KeyID = kr.PrimaryID()
	err = s.drv.WithTx(ctx, func(tx Tx) error {
		if err := s.LockConnection(ctx, tx, connID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE client_secrets SET state = 'retired', sealed = NULL, key_id = '', retired_at = $1
			WHERE connection_id = $2 AND state = 'pending'`, now, connID); err != nil {
			return s.errorf("retire pending secret of %s: %w", connID, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO client_secrets (id, connection_id, state, kind, certificate, key_id, sealed, end_date, created_at)
			VALUES ($1, $2, 'pending', $3, $4, $5, $6, $7, $8)`,
			rec.ID, connID, string(cr.Kind), cr.DER, rec.KeyID, sealed, NullTime(rec.EndDate), now); err != nil {
			return s.errorf("add secret to %s: %w", connID, err)
		}
		return s.WriteAudit(ctx, tx, store.ActorFrom(ctx), store.AuditCredentialAdded, connID, rec.ID, store.CredentialDetail(rec)+", pending until verified")
	})
	if err != nil {
		return store.SecretRecord{}, err
	}
	return rec, nil
}

// ActiveSecret implements store.SecretStore.
func (c Secrets) ActiveSecret(ctx context.Context, connID string) (secret.Secret, store.SecretRecord, error) {
	return c.open(ctx, connID, store.SecretActive)
}

// PendingSecret implements store.SecretStore.
func (c Secrets) PendingSecret(ctx context.Context, connID string) (secret.Secret, store.SecretRecord, error) {
	return c.open(ctx, connID, store.SecretPending)
}

func (c Secrets) open(ctx context.Context, connID string, state store.SecretState) (secret.Secret, store.SecretRecord, error) {
	s := c.s
	var sealed []byte
	rec, err := scanSecret(s.drv.Read().QueryRow(ctx, `SELECT `+secretColumns+`, sealed FROM client_secrets
		WHERE connection_id = $1 AND state = $2`, connID, string(state)), &sealed)
	if isNoRows(err) {
		hint := "add one, verify it and promote it"
		if state == store.SecretPending {
			hint = "add one first"
		}
		return "", store.SecretRecord{}, fmt.Errorf("%w: connection %q has no %s credential (client secret or certificate); %s", store.ErrNotFound, connID, state, hint)
	}
	if err != nil {
		return "", store.SecretRecord{}, s.errorf("read %s secret of %s: %w", state, connID, err)
	}
	pt, err := s.Keyring().Open(sealed, SecretAAD(connID, rec.ID))
	if err != nil {
		return "", store.SecretRecord{}, s.errorf("open credential %s of connection %s: %w", rec.ID, connID, err)
	}
	return secret.Secret(pt), rec, nil
}

// ListSecrets implements store.SecretStore: oldest first, those added at the same time
// in the order they were added (Dialect.SecretSeq).
func (c Secrets) ListSecrets(ctx context.Context, connID string) ([]store.SecretRecord, error) {
	s := c.s
	q := s.drv.Read()
	var one int
	if err := q.QueryRow(ctx, `SELECT 1 FROM connections WHERE id = $1`, connID).Scan(&one); isNoRows(err) {
		return nil, fmt.Errorf("%w: no connection with ID %q", store.ErrNotFound, connID)
	} else if err != nil {
		return nil, s.errorf("look up connection %s: %w", connID, err)
	}
	rows, err := q.Query(ctx, `SELECT `+secretColumns+` FROM client_secrets WHERE connection_id = $1 ORDER BY created_at, `+s.drv.SecretSeq(), connID)
	if err != nil {
		return nil, s.errorf("list secrets of %s: %w", connID, err)
	}
	out, err := collect(rows, func(r Row) (store.SecretRecord, error) { return scanSecret(r) })
	if err != nil {
		return nil, s.errorf("list secrets of %s: %w", connID, err)
	}
	return out, nil
}

// get locks the connection (LockConnection) and reads one of its secret records.
func (c Secrets) get(ctx context.Context, tx Tx, connID, secretID string) (store.SecretRecord, error) {
	s := c.s
	if err := s.LockConnection(ctx, tx, connID); isNotFound(err) {
		return store.SecretRecord{}, fmt.Errorf("%w: connection %q has no client secret %q", store.ErrNotFound, connID, secretID)
	} else if err != nil {
		return store.SecretRecord{}, err
	}
	rec, err := scanSecret(tx.QueryRow(ctx, `SELECT `+secretColumns+` FROM client_secrets WHERE id = $1 AND connection_id = $2`, secretID, connID))
	if isNoRows(err) {
		return rec, fmt.Errorf("%w: connection %q has no client secret %q", store.ErrNotFound, connID, secretID)
	}
	if err != nil {
		return rec, s.errorf("read secret %s: %w", secretID, err)
	}
	return rec, nil
}

// change runs fn on secret secretID of connection connID (get) in a write transaction
// and returns the record as fn leaves it.
func (c Secrets) change(ctx context.Context, connID, secretID string, fn func(tx Tx, rec *store.SecretRecord) error) (store.SecretRecord, error) {
	var rec store.SecretRecord
	err := c.s.drv.WithTx(ctx, func(tx Tx) error {
		var err error
		if rec, err = c.get(ctx, tx, connID, secretID); err != nil {
			return err
		}
		return fn(tx, &rec)
	})
	return rec, err
}

// MarkSecretVerified implements store.SecretStore.
func (c Secrets) MarkSecretVerified(ctx context.Context, connID, secretID string) (store.SecretRecord, error) {
	s := c.s
	return c.change(ctx, connID, secretID, func(tx Tx, rec *store.SecretRecord) error {
		if rec.State == store.SecretRetired {
			return fmt.Errorf("%w: client secret %s is retired; add the secret again", store.ErrConflict, secretID)
		}
		rec.VerifiedAt = s.stamp()
		if _, err := tx.Exec(ctx, `UPDATE client_secrets SET verified_at = $1 WHERE id = $2`, rec.VerifiedAt, secretID); err != nil {
			return s.errorf("mark secret %s verified: %w", secretID, err)
		}
		return nil
	})
}

// PromoteSecret implements store.SecretStore. It publishes the connection's ID when the
// secret was not active already.
func (c Secrets) PromoteSecret(ctx context.Context, connID, secretID string) (store.SecretRecord, error) {
	s := c.s
	return c.change(ctx, connID, secretID, func(tx Tx, rec *store.SecretRecord) error {
		switch rec.State {
		case store.SecretActive:
			return nil
		case store.SecretRetired:
			return fmt.Errorf("%w: client secret %s is retired and cannot become active; add the secret again", store.ErrConflict, secretID)
		}
		now := s.stamp()
		if _, err := tx.Exec(ctx, `UPDATE client_secrets SET state = 'retired', sealed = NULL, key_id = '', retired_at = $1
			WHERE connection_id = $2 AND state = 'active'`, now, connID); err != nil {
			return s.errorf("retire active secret of %s: %w", connID, err)
		}
		if rec.VerifiedAt.IsZero() {
			rec.VerifiedAt = now
		}
		if _, err := tx.Exec(ctx, `UPDATE client_secrets SET state = 'active', verified_at = $1 WHERE id = $2`, rec.VerifiedAt, secretID); err != nil {
			return s.errorf("promote secret %s: %w", secretID, err)
		}
		rec.State = store.SecretActive
		if err := s.WriteAudit(ctx, tx, store.ActorFrom(ctx), store.AuditCredentialActive, connID, secretID, store.CredentialDetail(*rec)); err != nil {
			return err
		}
		return tx.Notify(ctx, store.ChannelConnection, connID)
	})
}

// RetireSecret implements store.SecretStore. It publishes the connection's ID when the
// secret was not retired already.
func (c Secrets) RetireSecret(ctx context.Context, connID, secretID string) (store.SecretRecord, error) {
	s := c.s
	return c.change(ctx, connID, secretID, func(tx Tx, rec *store.SecretRecord) error {
		if rec.State == store.SecretRetired {
			return nil
		}
		rec.State, rec.KeyID, rec.RetiredAt = store.SecretRetired, "", s.stamp()
		if _, err := tx.Exec(ctx, `UPDATE client_secrets SET state = 'retired', sealed = NULL, key_id = '', retired_at = $1
			WHERE id = $2`, rec.RetiredAt, secretID); err != nil {
			return s.errorf("retire secret %s: %w", secretID, err)
		}
		if err := s.WriteAudit(ctx, tx, store.ActorFrom(ctx), store.AuditCredentialRetired, connID, secretID, store.CredentialDetail(*rec)); err != nil {
			return err
		}
		return tx.Notify(ctx, store.ChannelConnection, connID)
	})
}

// ReSealAll implements store.SecretStore (Store.ReSealAll).
func (c Secrets) ReSealAll(ctx context.Context, kr *secret.Keyring) (int, error) {
	return c.s.ReSealAll(ctx, kr)
}

// SealedKeyIDs implements store.SecretStore.
func (c Secrets) SealedKeyIDs(ctx context.Context) (map[string]int, error) {
	rows, err := c.s.drv.Read().Query(ctx, `SELECT key_id, count(*) FROM (
		SELECT key_id FROM client_secrets WHERE sealed IS NOT NULL
		UNION ALL SELECT key_id FROM outbound_secrets
		UNION ALL SELECT key_id FROM operator_app) s GROUP BY key_id`)
	if err != nil {
		return nil, c.s.errorf("count sealed secrets: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, c.s.errorf("count sealed secrets: %w", err)
		}
		out[id] = n
	}
	if err := rows.Err(); err != nil {
		return nil, c.s.errorf("count sealed secrets: %w", err)
	}
	return out, nil
}
