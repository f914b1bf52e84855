package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/bizzjoiner/bcconnector/store/internal/sqlstore"

	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
)

const secretColumns = `id, connection_id, state, kind, certificate, key_id, end_date, created_at, verified_at, retired_at`

func scanSecret(r rowScanner, extra ...any) (store.SecretRecord, error) {
	var rec store.SecretRecord
	var state, kind string
	var end, created, verified, retired sql.NullString
	dest := append([]any{&rec.ID, &rec.ConnectionID, &state, &kind, &rec.Certificate, &rec.KeyID, &end, &created, &verified, &retired}, extra...)
	if err := r.Scan(dest...); err != nil {
		return rec, err
	}
	rec.State, rec.Kind = store.SecretState(state), store.CredentialKind(kind)
	var err error
	for _, f := range []struct {
		dst *time.Time
		src sql.NullString
	}{{&rec.EndDate, end}, {&rec.CreatedAt, created}, {&rec.VerifiedAt, verified}, {&rec.RetiredAt, retired}} {
		if *f.dst, err = parseTime(f.src); err != nil {
			return rec, err
		}
	}
	return rec, nil
}

func (db *DB) keyring() *secret.Keyring { return db.sq.Keyring() }

func connectionExists(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, connID string) error {
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM connections WHERE id = ?`, connID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: no connection with ID %q", store.ErrNotFound, connID)
	}
	if err != nil {
		return fmt.Errorf("sqlite: look up connection %s: %w", connID, err)
	}
	return nil
}

// AddSecret implements store.SecretStore.
func (db *DB) AddSecret(ctx context.Context, connID string, plaintext secret.Secret, endDate time.Time) (store.SecretRecord, error) {
	cr, err := sqlstore.SecretCredential(plaintext, endDate)
	if err != nil {
		return store.SecretRecord{}, err
	}
	return db.addCredential(ctx, connID, cr)
}

// AddCertificate implements store.SecretStore.
func (db *DB) AddCertificate(ctx context.Context, connID string, cert secret.Certificate) (store.SecretRecord, error) {
	cr, err := sqlstore.CertificateCredential(cert)
	if err != nil {
		return store.SecretRecord{}, err
	}
	return db.addCredential(ctx, connID, cr)
}

// addCredential seals the credential's value and stores it as the connection's pending one.
func (db *DB) addCredential(ctx context.Context, connID string, cr sqlstore.Credential) (store.SecretRecord, error) {
	now := db.stamp()
	rec := store.SecretRecord{
		ID:           store.NewID(),
		ConnectionID: connID,
		State:        store.SecretPending,
		Kind:         cr.Kind,
		Certificate:  cr.DER,
		CreatedAt:    now,
	}
	if !cr.EndDate.IsZero() {
		rec.EndDate = cr.EndDate.UTC().Truncate(time.Microsecond)
	}
	// The read lock keeps ReSealAll from swapping keyrings between Seal and commit.
	kr, done := db.sq.Sealing()
	defer done()
	sealed, err := kr.Seal([]byte(cr.Value.Reveal()), sqlstore.SecretAAD(connID, rec.ID))
	if err != nil {
		return store.SecretRecord{}, err
	}
	rec.KeyID = kr.PrimaryID()
	err = db.withTx(ctx, func(tx *sql.Tx) error {
		if err := connectionExists(ctx, tx, connID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE client_secrets SET state = 'retired', sealed = NULL, key_id = '', retired_at = ?
			WHERE connection_id = ? AND state = 'pending'`, fmtTime(now), connID); err != nil {
			return fmt.Errorf("sqlite: retire pending secret of %s: %w", connID, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO client_secrets (id, connection_id, state, kind, certificate, key_id, sealed, end_date, created_at)
			VALUES (?, ?, 'pending', ?, ?, ?, ?, ?, ?)`,
			rec.ID, connID, string(cr.Kind), cr.DER, rec.KeyID, sealed, nullTime(rec.EndDate), fmtTime(now)); err != nil {
			return fmt.Errorf("sqlite: add secret to %s: %w", connID, err)
		}
		return db.audit(ctx, tx, store.AuditCredentialAdded, connID, rec.ID, store.CredentialDetail(rec)+", pending until verified")
	})
	if err != nil {
		return store.SecretRecord{}, err
	}
	return rec, nil
}

// ActiveSecret implements store.SecretStore.
func (db *DB) ActiveSecret(ctx context.Context, connID string) (secret.Secret, store.SecretRecord, error) {
	return db.openSecret(ctx, connID, store.SecretActive)
}

// PendingSecret implements store.SecretStore.
func (db *DB) PendingSecret(ctx context.Context, connID string) (secret.Secret, store.SecretRecord, error) {
	return db.openSecret(ctx, connID, store.SecretPending)
}

func (db *DB) openSecret(ctx context.Context, connID string, state store.SecretState) (secret.Secret, store.SecretRecord, error) {
	var sealed []byte
	row := db.read.QueryRowContext(ctx, `SELECT `+secretColumns+`, sealed FROM client_secrets
		WHERE connection_id = ? AND state = ?`, connID, string(state))
	rec, err := scanSecret(row, &sealed)
	if errors.Is(err, sql.ErrNoRows) {
		hint := "add one, verify it and promote it"
		if state == store.SecretPending {
			hint = "add one first"
		}
		return "", store.SecretRecord{}, fmt.Errorf("%w: connection %q has no %s credential (client secret or certificate); %s", store.ErrNotFound, connID, state, hint)
	}
	if err != nil {
		return "", store.SecretRecord{}, fmt.Errorf("sqlite: read %s secret of %s: %w", state, connID, err)
	}
	pt, err := db.keyring().Open(sealed, sqlstore.SecretAAD(connID, rec.ID))
	if err != nil {
		return "", store.SecretRecord{}, fmt.Errorf("sqlite: open credential %s of connection %s: %w", rec.ID, connID, err)
	}
	return secret.Secret(pt), rec, nil
}

// ListSecrets implements store.SecretStore.
func (db *DB) ListSecrets(ctx context.Context, connID string) ([]store.SecretRecord, error) {
	if err := connectionExists(ctx, db.read, connID); err != nil {
		return nil, err
	}
	rows, err := db.read.QueryContext(ctx, `SELECT `+secretColumns+` FROM client_secrets
		WHERE connection_id = ? ORDER BY created_at, rowid`, connID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list secrets of %s: %w", connID, err)
	}
	defer rows.Close()
	var out []store.SecretRecord
	for rows.Next() {
		rec, err := scanSecret(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list secrets of %s: %w", connID, err)
		}
		out = append(out, rec)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list secrets of %s: %w", connID, err)
	}
	return out, nil
}

// getSecretTx reads one secret record inside a write transaction.
func getSecretTx(ctx context.Context, tx *sql.Tx, connID, secretID string) (store.SecretRecord, error) {
	row := tx.QueryRowContext(ctx, `SELECT `+secretColumns+` FROM client_secrets WHERE id = ? AND connection_id = ?`, secretID, connID)
	rec, err := scanSecret(row)
	if errors.Is(err, sql.ErrNoRows) {
		return rec, fmt.Errorf("%w: connection %q has no client secret %q", store.ErrNotFound, connID, secretID)
	}
	if err != nil {
		return rec, fmt.Errorf("sqlite: read secret %s: %w", secretID, err)
	}
	return rec, nil
}

// MarkSecretVerified implements store.SecretStore.
func (db *DB) MarkSecretVerified(ctx context.Context, connID, secretID string) (store.SecretRecord, error) {
	var rec store.SecretRecord
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		var err error
		if rec, err = getSecretTx(ctx, tx, connID, secretID); err != nil {
			return err
		}
		if rec.State == store.SecretRetired {
			return fmt.Errorf("%w: client secret %s is retired; add the secret again", store.ErrConflict, secretID)
		}
		rec.VerifiedAt = db.stamp()
		_, err = tx.ExecContext(ctx, `UPDATE client_secrets SET verified_at = ? WHERE id = ?`, fmtTime(rec.VerifiedAt), secretID)
		if err != nil {
			return fmt.Errorf("sqlite: mark secret %s verified: %w", secretID, err)
		}
		return nil
	})
	return rec, err
}

// PromoteSecret implements store.SecretStore.
func (db *DB) PromoteSecret(ctx context.Context, connID, secretID string) (store.SecretRecord, error) {
	var rec store.SecretRecord
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		var err error
		if rec, err = getSecretTx(ctx, tx, connID, secretID); err != nil {
			return err
		}
		switch rec.State {
		case store.SecretActive:
			return nil
		case store.SecretRetired:
			return fmt.Errorf("%w: client secret %s is retired and cannot become active; add the secret again", store.ErrConflict, secretID)
		}
		now := db.stamp()
		if _, err := tx.ExecContext(ctx, `UPDATE client_secrets SET state = 'retired', sealed = NULL, key_id = '', retired_at = ?
			WHERE connection_id = ? AND state = 'active'`, fmtTime(now), connID); err != nil {
			return fmt.Errorf("sqlite: retire active secret of %s: %w", connID, err)
		}
		if rec.VerifiedAt.IsZero() {
			rec.VerifiedAt = now
		}
		if _, err := tx.ExecContext(ctx, `UPDATE client_secrets SET state = 'active', verified_at = ? WHERE id = ?`,
			fmtTime(rec.VerifiedAt), secretID); err != nil {
			return fmt.Errorf("sqlite: promote secret %s: %w", secretID, err)
		}
		rec.State = store.SecretActive
		return db.audit(ctx, tx, store.AuditCredentialActive, connID, secretID, store.CredentialDetail(rec))
	})
	if err == nil {
		db.connectionChanged(connID)
	}
	return rec, err
}

// RetireSecret implements store.SecretStore.
func (db *DB) RetireSecret(ctx context.Context, connID, secretID string) (store.SecretRecord, error) {
	var rec store.SecretRecord
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		var err error
		if rec, err = getSecretTx(ctx, tx, connID, secretID); err != nil {
			return err
		}
		if rec.State == store.SecretRetired {
			return nil
		}
		rec.State, rec.KeyID, rec.RetiredAt = store.SecretRetired, "", db.stamp()
		if _, err := tx.ExecContext(ctx, `UPDATE client_secrets SET state = 'retired', sealed = NULL, key_id = '', retired_at = ?
			WHERE id = ?`, fmtTime(rec.RetiredAt), secretID); err != nil {
			return fmt.Errorf("sqlite: retire secret %s: %w", secretID, err)
		}
		return db.audit(ctx, tx, store.AuditCredentialRetired, connID, secretID, store.CredentialDetail(rec))
	})
	if err == nil {
		db.connectionChanged(connID)
	}
	return rec, err
}

// ReSealAll implements store.SecretStore (sqlstore.Store.ReSealAll).
func (db *DB) ReSealAll(ctx context.Context, kr *secret.Keyring) (int, error) {
	return db.sq.ReSealAll(ctx, kr)
}

// SealedKeyIDs implements store.SecretStore.
func (db *DB) SealedKeyIDs(ctx context.Context) (map[string]int, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT key_id, count(*) FROM (
		SELECT key_id FROM client_secrets WHERE sealed IS NOT NULL
		UNION ALL SELECT key_id FROM outbound_secrets
		UNION ALL SELECT key_id FROM operator_app) GROUP BY key_id`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: count sealed secrets: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, fmt.Errorf("sqlite: count sealed secrets: %w", err)
		}
		out[id] = n
	}
	return out, rows.Err()
}
