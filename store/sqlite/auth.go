package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/bizzjoiner/bcconnector/store"
)

var (
	_ store.TokenStore       = (*DB)(nil)
	_ store.UserStore        = (*DB)(nil)
	_ store.IdempotencyStore = (*DB)(nil)
	_ store.DoctorStore      = (*DB)(nil)
	_ store.RecordQuerier    = (*DB)(nil)
)

// CreateToken implements store.TokenStore.
func (db *DB) CreateToken(ctx context.Context, name string, connections []string, hash string) (store.Token, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return store.Token{}, fmt.Errorf("%w: token name is empty; give it a name that says who uses it, e.g. --name platform-prod", store.ErrInvalid)
	}
	if len(hash) != 64 {
		return store.Token{}, fmt.Errorf("%w: token hash must be a hex SHA-256 (store.HashToken)", store.ErrInvalid)
	}
	t := store.Token{ID: store.NewID(), Name: name, CreatedAt: db.stamp()}
	if connections != nil {
		t.Connections = append([]string{}, connections...)
	}
	var conns sql.NullString
	if t.Connections != nil {
		b, _ := json.Marshal(t.Connections)
		conns = sql.NullString{String: string(b), Valid: true}
	}
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO api_tokens (id, name, hash, connections, created_at) VALUES (?, ?, ?, ?, ?)`,
			t.ID, t.Name, hash, conns, fmtTime(t.CreatedAt)); err != nil {
			return err
		}
		return db.audit(ctx, tx, store.AuditTokenCreated, "", t.Name, store.TokenDetail(t.Connections))
	})
	if isUnique(err) {
		return store.Token{}, fmt.Errorf("%w: a token named %q exists; revoke it first or pick another name", store.ErrConflict, name)
	}
	if err != nil {
		return store.Token{}, fmt.Errorf("sqlite: create token: %w", err)
	}
	return t, nil
}

const tokenColumns = `id, name, connections, created_at, last_used_at, revoked_at`

func scanToken(r rowScanner) (store.Token, error) {
	var t store.Token
	var conns, created, used, revoked sql.NullString
	if err := r.Scan(&t.ID, &t.Name, &conns, &created, &used, &revoked); err != nil {
		return t, err
	}
	if conns.Valid {
		t.Connections = []string{}
		if err := json.Unmarshal([]byte(conns.String), &t.Connections); err != nil {
			return t, fmt.Errorf("token %s connections: %w", t.ID, err)
		}
	}
	var err error
	if t.CreatedAt, err = parseTime(created); err != nil {
		return t, err
	}
	if t.LastUsedAt, err = parseTime(used); err != nil {
		return t, err
	}
	t.RevokedAt, err = parseTime(revoked)
	return t, err
}

// AuthenticateToken implements store.TokenStore. LastUsedAt is stamped at most once a
// minute, so authentication does not queue a write per API call.
func (db *DB) AuthenticateToken(ctx context.Context, hash string) (store.Token, error) {
	t, err := scanToken(db.read.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE hash = ? AND revoked_at IS NULL`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Token{}, fmt.Errorf("%w: unknown or revoked token", store.ErrNotFound)
	}
	if err != nil {
		return store.Token{}, fmt.Errorf("sqlite: authenticate token: %w", err)
	}
	now := db.stamp()
	if now.Sub(t.LastUsedAt) > 60e9 {
		if _, err := db.write.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = ? WHERE id = ?`, fmtTime(now), t.ID); err == nil {
			t.LastUsedAt = now
		}
	}
	return t, nil
}

// ListTokens implements store.TokenStore.
func (db *DB) ListTokens(ctx context.Context) ([]store.Token, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens ORDER BY name, created_at`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list tokens: %w", err)
	}
	defer rows.Close()
	var out []store.Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list tokens: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken implements store.TokenStore.
func (db *DB) RevokeToken(ctx context.Context, idOrName string) error {
	return db.withTx(ctx, func(tx *sql.Tx) error {
		var id, name string
		err := tx.QueryRowContext(ctx, `SELECT id, name FROM api_tokens WHERE id = ?`, idOrName).Scan(&id, &name)
		if errors.Is(err, sql.ErrNoRows) {
			err = tx.QueryRowContext(ctx, `SELECT id, name FROM api_tokens WHERE name = ? AND revoked_at IS NULL`, idOrName).Scan(&id, &name)
		}
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: no token %q; `bcconnector token list` shows them", store.ErrNotFound, idOrName)
		}
		if err != nil {
			return fmt.Errorf("sqlite: revoke token: %w", err)
		}
		res, err := tx.ExecContext(ctx, `UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, fmtTime(db.stamp()), id)
		if err != nil {
			return fmt.Errorf("sqlite: revoke token: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // revoked before: nothing changed
		}
		return db.audit(ctx, tx, store.AuditTokenRevoked, "", name, "")
	})
}

// CreateUser implements store.UserStore.
func (db *DB) CreateUser(ctx context.Context, name, passwordHash string) error {
	if strings.TrimSpace(name) == "" || passwordHash == "" {
		return fmt.Errorf("%w: an admin needs a name and a password", store.ErrInvalid)
	}
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO admin_users (name, password_hash, created_at) VALUES (?, ?, ?)`,
			name, passwordHash, fmtTime(db.stamp())); err != nil {
			return err
		}
		return db.audit(ctx, tx, store.AuditAdminCreated, "", name, "")
	})
	if isUnique(err) {
		return fmt.Errorf("%w: an admin named %q exists", store.ErrConflict, name)
	}
	if err != nil {
		return fmt.Errorf("sqlite: create admin: %w", err)
	}
	return nil
}

// UserPasswordHash implements store.UserStore.
func (db *DB) UserPasswordHash(ctx context.Context, name string) (string, error) {
	var h string
	err := db.read.QueryRowContext(ctx, `SELECT password_hash FROM admin_users WHERE name = ?`, name).Scan(&h)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("%w: no admin %q", store.ErrNotFound, name)
	}
	if err != nil {
		return "", fmt.Errorf("sqlite: read admin: %w", err)
	}
	return h, nil
}

// CountUsers implements store.UserStore.
func (db *DB) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM admin_users`).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: count admins: %w", err)
	}
	return n, nil
}

// CreateSession implements store.UserStore; it also drops expired sessions.
func (db *DB) CreateSession(ctx context.Context, s store.Session) error {
	return db.withTx(ctx, func(tx *sql.Tx) error {
		now := db.stamp()
		if _, err := tx.ExecContext(ctx, `DELETE FROM admin_sessions WHERE expires_at < ?`, fmtTime(now)); err != nil {
			return fmt.Errorf("sqlite: expire sessions: %w", err)
		}
		if s.CreatedAt.IsZero() {
			s.CreatedAt = now
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO admin_sessions (hash, user_name, created_at, expires_at) VALUES (?, ?, ?, ?)`,
			s.Hash, s.User, fmtTime(s.CreatedAt), fmtTime(s.ExpiresAt)); err != nil {
			return fmt.Errorf("sqlite: create session: %w", err)
		}
		return db.auditAs(ctx, tx, store.Actor{Kind: store.ActorAdmin, Name: s.User}, store.AuditAdminSignedIn, "", s.User, "")
	})
}

// GetSession implements store.UserStore.
func (db *DB) GetSession(ctx context.Context, hash string) (store.Session, error) {
	var s store.Session
	var created, expires sql.NullString
	err := db.read.QueryRowContext(ctx, `SELECT hash, user_name, created_at, expires_at FROM admin_sessions WHERE hash = ? AND expires_at > ?`,
		hash, fmtTime(db.stamp())).Scan(&s.Hash, &s.User, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return s, fmt.Errorf("%w: no such session", store.ErrNotFound)
	}
	if err != nil {
		return s, fmt.Errorf("sqlite: read session: %w", err)
	}
	if s.CreatedAt, err = parseTime(created); err != nil {
		return s, err
	}
	s.ExpiresAt, err = parseTime(expires)
	return s, err
}

// DeleteSession implements store.UserStore.
func (db *DB) DeleteSession(ctx context.Context, hash string) error {
	if _, err := db.write.ExecContext(ctx, `DELETE FROM admin_sessions WHERE hash = ?`, hash); err != nil {
		return fmt.Errorf("sqlite: delete session: %w", err)
	}
	return nil
}

// BeginIdempotent implements store.IdempotencyStore.
func (db *DB) BeginIdempotent(ctx context.Context, connID, key, requestHash string) (store.IdempotencyState, store.IdempotencyRecord, error) {
	var state store.IdempotencyState
	var rec store.IdempotencyRecord
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		var body []byte
		var created sql.NullString
		err := tx.QueryRowContext(ctx, `SELECT request_hash, status, body, created_at FROM idempotency_keys WHERE connection_id = ? AND key = ?`,
			connID, key).Scan(&rec.RequestHash, &rec.Status, &body, &created)
		if errors.Is(err, sql.ErrNoRows) {
			if err := db.sq.LockConnection(ctx, executor{tx}, connID); err != nil {
				return err
			}
			now := db.stamp()
			rec = store.IdempotencyRecord{ConnectionID: connID, Key: key, RequestHash: requestHash, CreatedAt: now}
			state = store.IdempotencyNew
			_, err = tx.ExecContext(ctx, `INSERT INTO idempotency_keys (connection_id, key, request_hash, created_at) VALUES (?, ?, ?, ?)`,
				connID, key, requestHash, fmtTime(now))
			return err
		}
		if err != nil {
			return err
		}
		rec.ConnectionID, rec.Key, rec.Body = connID, key, body
		rec.CreatedAt, _ = parseTime(created)
		switch {
		case rec.RequestHash != requestHash:
			state = store.IdempotencyMismatch
		case rec.Status == 0:
			state = store.IdempotencyInProgress
		default:
			state = store.IdempotencyDone
		}
		return nil
	})
	if err != nil {
		return 0, store.IdempotencyRecord{}, fmt.Errorf("sqlite: idempotency key: %w", err)
	}
	return state, rec, nil
}

// FinishIdempotent implements store.IdempotencyStore.
func (db *DB) FinishIdempotent(ctx context.Context, connID, key string, status int, body json.RawMessage) error {
	if status <= 0 {
		return fmt.Errorf("%w: idempotent result needs an HTTP status", store.ErrInvalid)
	}
	_, err := db.write.ExecContext(ctx, `UPDATE idempotency_keys SET status = ?, body = ? WHERE connection_id = ? AND key = ?`,
		status, []byte(body), connID, key)
	if err != nil {
		return fmt.Errorf("sqlite: finish idempotency key: %w", err)
	}
	return nil
}

// AbandonIdempotent implements store.IdempotencyStore.
func (db *DB) AbandonIdempotent(ctx context.Context, connID, key string) error {
	_, err := db.write.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE connection_id = ? AND key = ? AND status = 0`, connID, key)
	if err != nil {
		return fmt.Errorf("sqlite: abandon idempotency key: %w", err)
	}
	return nil
}

// SaveDoctorReport implements store.DoctorStore.
func (db *DB) SaveDoctorReport(ctx context.Context, connID string, report json.RawMessage) error {
	if !json.Valid(report) {
		return fmt.Errorf("%w: doctor report is not JSON", store.ErrInvalid)
	}
	_, err := db.write.ExecContext(ctx, `INSERT INTO doctor_reports (connection_id, report, created_at) VALUES (?, ?, ?)
		ON CONFLICT (connection_id) DO UPDATE SET report = excluded.report, created_at = excluded.created_at`,
		connID, string(report), fmtTime(db.stamp()))
	if err != nil && strings.Contains(err.Error(), "FOREIGN KEY") {
		return fmt.Errorf("%w: no connection %q", store.ErrNotFound, connID)
	}
	if err != nil {
		return fmt.Errorf("sqlite: save doctor report: %w", err)
	}
	return nil
}

// DoctorReport implements store.DoctorStore.
func (db *DB) DoctorReport(ctx context.Context, connID string) (json.RawMessage, error) {
	var s string
	err := db.read.QueryRowContext(ctx, `SELECT report FROM doctor_reports WHERE connection_id = ?`, connID).Scan(&s)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: connection %q has no doctor report yet; run the doctor", store.ErrNotFound, connID)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: read doctor report: %w", err)
	}
	return json.RawMessage(s), nil
}
