package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/bizzjoiner/bcconnector/store/internal/sqlstore"

	"github.com/bizzjoiner/bcconnector/store"
)

// idChunk is how many ids ReplicaIDs reads per query; it bounds its memory.
const idChunk = 2000

// ReplicaIDs implements store.ReplicaStore. It reads idChunk ids at a time (by id, after
// the last one seen) and calls fn between reads, so fn may use the store and memory stays
// flat however large the set. A set without a table has no ids.
func (db *DB) ReplicaIDs(ctx context.Context, key store.ReplicaKey, fn func(id, etag string) error) error {
	if err := key.Validate(); err != nil {
		return err
	}
	if fn == nil {
		return fmt.Errorf("%w: ReplicaIDs needs a function to call", store.ErrInvalid)
	}
	table, scope, ok, err := db.replicaScope(ctx, key)
	if err != nil || !ok {
		return err
	}
	q := `SELECT id, etag FROM ` + quoteIdent(table) + ` WHERE scope = ? AND id > ? ORDER BY id LIMIT ?`
	type pair struct{ id, etag string }
	chunk := make([]pair, 0, idChunk)
	after := ""
	for {
		chunk = chunk[:0]
		rows, err := db.read.QueryContext(ctx, q, scope, after, idChunk)
		if err != nil {
			return fmt.Errorf("sqlite: list ids of %s: %w", key.EntitySet, err)
		}
		for rows.Next() {
			var p pair
			if err := rows.Scan(&p.id, &p.etag); err != nil {
				rows.Close()
				return fmt.Errorf("sqlite: list ids of %s: %w", key.EntitySet, err)
			}
			chunk = append(chunk, p)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("sqlite: list ids of %s: %w", key.EntitySet, err)
		}
		for _, p := range chunk {
			if err := fn(p.id, p.etag); err != nil {
				return err
			}
		}
		if len(chunk) < idChunk {
			return nil
		}
		after = chunk[len(chunk)-1].id
	}
}

const replicaRowColumns = `id, etag, last_modified, parent_id, raw`

func scanReplicaRow(r rowScanner) (store.ReplicaRow, error) {
	var row store.ReplicaRow
	var lm sql.NullInt64
	var parent sql.NullString
	var raw []byte
	if err := r.Scan(&row.ID, &row.ETag, &lm, &parent, &raw); err != nil {
		return row, err
	}
	if lm.Valid {
		row.LastModified = time.UnixMilli(lm.Int64).UTC()
	}
	row.ParentID = parent.String
	row.Raw = raw
	return row, nil
}

// ReplicaGet implements store.ReplicaStore. LastModified comes back with millisecond
// precision (BC's). A missing row, or a set without a table, yields store.ErrNotFound.
func (db *DB) ReplicaGet(ctx context.Context, key store.ReplicaKey, id string) (store.ReplicaRow, error) {
	if err := key.Validate(); err != nil {
		return store.ReplicaRow{}, err
	}
	notFound := fmt.Errorf("%w: no %s row with id %q in company %s of connection %s", store.ErrNotFound, key.EntitySet, id, key.CompanyID, key.ConnectionID)
	table, scope, ok, err := db.replicaScope(ctx, key)
	if err != nil {
		return store.ReplicaRow{}, err
	}
	if !ok {
		return store.ReplicaRow{}, notFound
	}
	row, err := scanReplicaRow(db.read.QueryRowContext(ctx, `SELECT `+replicaRowColumns+` FROM `+quoteIdent(table)+`
		WHERE scope = ? AND id = ?`, scope, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.ReplicaRow{}, notFound
	}
	if err != nil {
		return store.ReplicaRow{}, fmt.Errorf("sqlite: get %s row %s: %w", key.EntitySet, id, err)
	}
	return row, nil
}

// ReplicaList implements store.ReplicaStore. limit must be positive.
func (db *DB) ReplicaList(ctx context.Context, key store.ReplicaKey, after string, limit int) ([]store.ReplicaRow, error) {
	if err := key.Validate(); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, fmt.Errorf("%w: ReplicaList limit is %d; pass a positive page size", store.ErrInvalid, limit)
	}
	table, scope, ok, err := db.replicaScope(ctx, key)
	if err != nil || !ok {
		return nil, err
	}
	rows, err := db.read.QueryContext(ctx, `SELECT `+replicaRowColumns+` FROM `+quoteIdent(table)+`
		WHERE scope = ? AND id > ? ORDER BY id LIMIT ?`, scope, after, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list %s rows: %w", key.EntitySet, err)
	}
	defer rows.Close()
	var out []store.ReplicaRow
	for rows.Next() {
		r, err := scanReplicaRow(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list %s rows: %w", key.EntitySet, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list %s rows: %w", key.EntitySet, err)
	}
	return out, nil
}

// ReplicaCount implements store.ReplicaStore.
func (db *DB) ReplicaCount(ctx context.Context, key store.ReplicaKey) (int64, error) {
	if err := key.Validate(); err != nil {
		return 0, err
	}
	table, scope, ok, err := db.replicaScope(ctx, key)
	if err != nil || !ok {
		return 0, err
	}
	var n int64
	if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM `+quoteIdent(table)+` WHERE scope = ?`, scope).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: count %s rows: %w", key.EntitySet, err)
	}
	return n, nil
}

// Changes implements store.ReplicaStore. limit must be positive.
func (db *DB) Changes(ctx context.Context, since int64, limit int) ([]store.Change, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("%w: Changes limit is %d; pass a positive page size", store.ErrInvalid, limit)
	}
	since = max(since, 0)
	// Segments from the one holding since+1 on, in order.
	rows, err := db.read.QueryContext(ctx, `SELECT b.first_seq, b.at, b.changes, s.connection_id, s.company_id, s.entity_set
		FROM change_batches AS b JOIN scopes AS s ON s.scope = b.scope
		WHERE b.first_seq >= coalesce((SELECT max(first_seq) FROM change_batches WHERE first_seq <= ?1), ?1)
		ORDER BY b.first_seq`, since+1)
	if err != nil {
		return nil, fmt.Errorf("sqlite: read change log: %w", err)
	}
	defer rows.Close()
	var out []store.Change
	for len(out) < limit && rows.Next() {
		var first int64
		var at sql.NullString
		var changes []byte
		var c store.Change
		if err := rows.Scan(&first, &at, &changes, &c.ConnectionID, &c.CompanyID, &c.EntitySet); err != nil {
			return nil, fmt.Errorf("sqlite: read change log: %w", err)
		}
		if c.At, err = parseTime(at); err != nil {
			return nil, err
		}
		if out, err = sqlstore.DecodeSegment(out, first, since, limit, changes, c); err != nil {
			return nil, fmt.Errorf("sqlite: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: read change log: %w", err)
	}
	// Checked after the read: a prune before it shows here, one after it took nothing
	// this read needed.
	if sqlstore.CheckPruned(out, since) {
		through, err := db.ChangesPrunedThrough(ctx)
		if err != nil {
			return nil, err
		}
		if err := sqlstore.CursorExpired(since, through); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// replicaScope returns the table of rows and the scope of key; ok is false when either
// does not exist yet (nothing was replicated).
func (db *DB) replicaScope(ctx context.Context, key store.ReplicaKey) (table string, scope int64, ok bool, err error) {
	table, ok, err = db.replicaTable(ctx, db.read, key.EntitySet)
	if err != nil || !ok {
		return "", 0, false, err
	}
	scope, ok, err = db.scopeOf(ctx, db.read, key)
	if ok {
		db.scopes.Store(key, scope)
	}
	return table, scope, ok, err
}
