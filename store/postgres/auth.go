package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

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
	err := db.withTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO api_tokens (id, name, hash, connections, created_at) VALUES ($1, $2, $3, $4, $5)`,
			t.ID, t.Name, hash, t.Connections, t.CreatedAt); err != nil {
			return err
		}
		return db.audit(ctx, tx, store.AuditTokenCreated, "", t.Name, store.TokenDetail(t.Connections))
	})
	if isUnique(err) {
		if constraintOf(err) == "api_tokens_hash_key" {
			return store.Token{}, fmt.Errorf("%w: a token with this value exists; create a new token", store.ErrConflict)
		}
		return store.Token{}, fmt.Errorf("%w: a token named %q exists; revoke it first or pick another name", store.ErrConflict, name)
	}
	if err != nil {
		return store.Token{}, fmt.Errorf("postgres: create token: %w", err)
	}
	return t, nil
}

const tokenColumns = `id, name, connections, created_at, last_used_at, revoked_at`

func scanToken(r pgx.Row) (store.Token, error) {
	var t store.Token
	var used, revoked *time.Time
	if err := r.Scan(&t.ID, &t.Name, &t.Connections, &t.CreatedAt, &used, &revoked); err != nil {
		return t, err
	}
	t.CreatedAt, t.LastUsedAt, t.RevokedAt = t.CreatedAt.UTC(), utc(used), utc(revoked)
	return t, nil
}

// AuthenticateToken implements store.TokenStore. LastUsedAt is stamped at most once a
// minute, so authentication does not write per API call.
func (db *DB) AuthenticateToken(ctx context.Context, hash string) (store.Token, error) {
	t, err := scanToken(db.pool.QueryRow(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE hash = $1 AND revoked_at IS NULL`, hash))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Token{}, fmt.Errorf("%w: unknown or revoked token", store.ErrNotFound)
	}
	if err != nil {
		return store.Token{}, fmt.Errorf("postgres: authenticate token: %w", err)
	}
	now := db.stamp()
	if now.Sub(t.LastUsedAt) > time.Minute {
		if _, err := db.pool.Exec(ctx, `UPDATE api_tokens SET last_used_at = $1 WHERE id = $2`, now, t.ID); err == nil {
			t.LastUsedAt = now
		}
	}
	return t, nil
}

// ListTokens implements store.TokenStore.
func (db *DB) ListTokens(ctx context.Context) ([]store.Token, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+tokenColumns+` FROM api_tokens ORDER BY name, created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("postgres: list tokens: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Token, error) { return scanToken(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: list tokens: %w", err)
	}
	return out, nil
}

// RevokeToken implements store.TokenStore.
func (db *DB) RevokeToken(ctx context.Context, idOrName string) error {
	return db.withTx(ctx, func(tx pgx.Tx) error {
		var id, name string
		err := tx.QueryRow(ctx, `SELECT id, name FROM api_tokens WHERE id = $1
			UNION ALL (SELECT id, name FROM api_tokens WHERE name = $1 AND revoked_at IS NULL) LIMIT 1`, idOrName).Scan(&id, &name)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%w: no token %q; `bcconnector token list` shows them", store.ErrNotFound, idOrName)
		}
		if err != nil {
			return fmt.Errorf("postgres: revoke token: %w", err)
		}
		tag, err := tx.Exec(ctx, `UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL`, db.stamp(), id)
		if err != nil {
			return fmt.Errorf("postgres: revoke token: %w", err)
		}
		if tag.RowsAffected() == 0 {
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
	err := db.withTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO admin_users (name, password_hash, created_at) VALUES ($1, $2, $3)`,
			name, passwordHash, db.stamp()); err != nil {
			return err
		}
		return db.audit(ctx, tx, store.AuditAdminCreated, "", name, "")
	})
	if isUnique(err) {
		return fmt.Errorf("%w: an admin named %q exists", store.ErrConflict, name)
	}
	if err != nil {
		return fmt.Errorf("postgres: create admin: %w", err)
	}
	return nil
}

// UserPasswordHash implements store.UserStore.
func (db *DB) UserPasswordHash(ctx context.Context, name string) (string, error) {
	var h string
	err := db.pool.QueryRow(ctx, `SELECT password_hash FROM admin_users WHERE name = $1`, name).Scan(&h)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("%w: no admin %q", store.ErrNotFound, name)
	}
	if err != nil {
		return "", fmt.Errorf("postgres: read admin: %w", err)
	}
	return h, nil
}

// CountUsers implements store.UserStore.
func (db *DB) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM admin_users`).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres: count admins: %w", err)
	}
	return n, nil
}

// CreateSession implements store.UserStore; it also drops expired sessions.
func (db *DB) CreateSession(ctx context.Context, s store.Session) error {
	now := db.stamp()
	if s.CreatedAt.IsZero() {
		s.CreatedAt = now
	}
	return db.withTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM admin_sessions WHERE expires_at < $1`, now); err != nil {
			return fmt.Errorf("postgres: expire sessions: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO admin_sessions (hash, user_name, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
			s.Hash, s.User, s.CreatedAt.UTC(), s.ExpiresAt.UTC()); err != nil {
			return fmt.Errorf("postgres: create session: %w", err)
		}
		return db.auditAs(ctx, tx, store.Actor{Kind: store.ActorAdmin, Name: s.User}, store.AuditAdminSignedIn, "", s.User, "")
	})
}

// GetSession implements store.UserStore.
func (db *DB) GetSession(ctx context.Context, hash string) (store.Session, error) {
	var s store.Session
	err := db.pool.QueryRow(ctx, `SELECT hash, user_name, created_at, expires_at FROM admin_sessions WHERE hash = $1 AND expires_at > $2`,
		hash, db.stamp()).Scan(&s.Hash, &s.User, &s.CreatedAt, &s.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return s, fmt.Errorf("%w: no such session", store.ErrNotFound)
	}
	if err != nil {
		return s, fmt.Errorf("postgres: read session: %w", err)
	}
	s.CreatedAt, s.ExpiresAt = s.CreatedAt.UTC(), s.ExpiresAt.UTC()
	return s, nil
}

// DeleteSession implements store.UserStore.
func (db *DB) DeleteSession(ctx context.Context, hash string) error {
	if _, err := db.pool.Exec(ctx, `DELETE FROM admin_sessions WHERE hash = $1`, hash); err != nil {
		return fmt.Errorf("postgres: delete session: %w", err)
	}
	return nil
}

// BeginIdempotent implements store.IdempotencyStore. The reservation is one INSERT … ON
// CONFLICT DO NOTHING, so of concurrent calls with the same key exactly one gets
// IdempotencyNew; the others read the reservation in a statement of their own (a new
// snapshot, which sees the winner's commit).
func (db *DB) BeginIdempotent(ctx context.Context, connID, key, requestHash string) (store.IdempotencyState, store.IdempotencyRecord, error) {
	rec := store.IdempotencyRecord{ConnectionID: connID, Key: key, RequestHash: requestHash, CreatedAt: db.stamp()}
	for range 3 {
		err := db.pool.QueryRow(ctx, `INSERT INTO idempotency_keys (connection_id, key, request_hash, created_at)
			SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM connections WHERE id = $1)
			ON CONFLICT (connection_id, key) DO NOTHING RETURNING created_at`,
			connID, key, requestHash, rec.CreatedAt).Scan(&rec.CreatedAt)
		if err == nil {
			rec.CreatedAt = rec.CreatedAt.UTC()
			return store.IdempotencyNew, rec, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return 0, store.IdempotencyRecord{}, fmt.Errorf("postgres: idempotency key: %w", err)
		}
		var prev store.IdempotencyRecord
		var body []byte
		err = db.pool.QueryRow(ctx, `SELECT request_hash, status, body, created_at FROM idempotency_keys
			WHERE connection_id = $1 AND key = $2`, connID, key).Scan(&prev.RequestHash, &prev.Status, &body, &prev.CreatedAt)
		if err == nil {
			prev.ConnectionID, prev.Key, prev.Body, prev.CreatedAt = connID, key, body, prev.CreatedAt.UTC()
			switch {
			case prev.RequestHash != requestHash:
				return store.IdempotencyMismatch, prev, nil
			case prev.Status == 0:
				return store.IdempotencyInProgress, prev, nil
			}
			return store.IdempotencyDone, prev, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return 0, store.IdempotencyRecord{}, fmt.Errorf("postgres: idempotency key: %w", err)
		}
		// Neither inserted nor found: no such connection, or the key was abandoned in
		// between (then try again).
		var exists bool
		if err := db.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM connections WHERE id = $1)`, connID).Scan(&exists); err != nil {
			return 0, store.IdempotencyRecord{}, fmt.Errorf("postgres: idempotency key: %w", err)
		}
		if !exists {
			return 0, store.IdempotencyRecord{}, fmt.Errorf("postgres: idempotency key: %w: no connection with ID %q", store.ErrNotFound, connID)
		}
	}
	return 0, store.IdempotencyRecord{}, fmt.Errorf("postgres: idempotency key %q of connection %s keeps being reserved and abandoned; retry the request", key, connID)
}

// FinishIdempotent implements store.IdempotencyStore.
func (db *DB) FinishIdempotent(ctx context.Context, connID, key string, status int, body json.RawMessage) error {
	if status <= 0 {
		return fmt.Errorf("%w: idempotent result needs an HTTP status", store.ErrInvalid)
	}
	if _, err := db.pool.Exec(ctx, `UPDATE idempotency_keys SET status = $1, body = $2 WHERE connection_id = $3 AND key = $4`,
		status, []byte(body), connID, key); err != nil {
		return fmt.Errorf("postgres: finish idempotency key: %w", err)
	}
	return nil
}

// AbandonIdempotent implements store.IdempotencyStore.
func (db *DB) AbandonIdempotent(ctx context.Context, connID, key string) error {
	if _, err := db.pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE connection_id = $1 AND key = $2 AND status = 0`, connID, key); err != nil {
		return fmt.Errorf("postgres: abandon idempotency key: %w", err)
	}
	return nil
}

// SaveDoctorReport implements store.DoctorStore. The report is kept as given (text).
func (db *DB) SaveDoctorReport(ctx context.Context, connID string, report json.RawMessage) error {
	if !json.Valid(report) {
		return fmt.Errorf("%w: doctor report is not JSON", store.ErrInvalid)
	}
	_, err := db.pool.Exec(ctx, `INSERT INTO doctor_reports (connection_id, report, created_at) VALUES ($1, $2, $3)
		ON CONFLICT (connection_id) DO UPDATE SET report = excluded.report, created_at = excluded.created_at`,
		connID, string(report), db.stamp())
	if isCode(err, codeForeignKeyViolation) {
		return fmt.Errorf("%w: no connection %q", store.ErrNotFound, connID)
	}
	if err != nil {
		return fmt.Errorf("postgres: save doctor report: %w", err)
	}
	return nil
}

// DoctorReport implements store.DoctorStore.
func (db *DB) DoctorReport(ctx context.Context, connID string) (json.RawMessage, error) {
	var s string
	err := db.pool.QueryRow(ctx, `SELECT report FROM doctor_reports WHERE connection_id = $1`, connID).Scan(&s)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("%w: connection %q has no doctor report yet; run the doctor", store.ErrNotFound, connID)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: read doctor report: %w", err)
	}
	return json.RawMessage(s), nil
}
