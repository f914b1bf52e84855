package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/bizzjoiner/bcconnector/store/internal/sqlstore"

	"github.com/jackc/pgx/v5"

	"github.com/bizzjoiner/bcconnector/store"
)

// idChunk is how many ids ReplicaIDs reads per query; it bounds its memory.
const idChunk = 2000

// replicaScope returns the table of rows and the scope of key; ok is false when either
// does not exist yet (nothing was replicated).
func (db *DB) replicaScope(ctx context.Context, key store.ReplicaKey) (table string, scope int64, ok bool, err error) {
	if err := key.Validate(); err != nil {
		return "", 0, false, err
	}
	table, ok, err = db.replicaTable(ctx, key.EntitySet)
	if err != nil || !ok {
		return "", 0, false, err
	}
	scope, ok, err = db.scopeOf(ctx, key, false)
	return table, scope, ok, err
}

// ReplicaIDs implements store.ReplicaStore. It reads idChunk ids at a time (by id, after
// the last one seen) and calls fn between reads, so fn may use the store and memory stays
// flat however large the set. A set without a table has no ids.
func (db *DB) ReplicaIDs(ctx context.Context, key store.ReplicaKey, fn func(id, etag string) error) error {
	if fn == nil {
		return fmt.Errorf("%w: ReplicaIDs needs a function to call", store.ErrInvalid)
	}
	table, scope, ok, err := db.replicaScope(ctx, key)
	if err != nil || !ok {
		return err
	}
	q := `SELECT id, etag FROM ` + quoteIdent(table) + ` WHERE scope = $1 AND id > $2 ORDER BY id LIMIT $3`
	type pair struct{ id, etag string }
	after := ""
	for {
		rows, err := db.pool.Query(ctx, q, scope, after, idChunk)
		if err != nil {
			return fmt.Errorf("postgres: list ids of %s: %w", key.EntitySet, err)
		}
		chunk, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (pair, error) {
			var p pair
			return p, r.Scan(&p.id, &p.etag)
		})
		if err != nil {
			return fmt.Errorf("postgres: list ids of %s: %w", key.EntitySet, err)
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

func scanReplicaRow(r pgx.Row) (store.ReplicaRow, error) {
	var row store.ReplicaRow
	var lm *time.Time
	var parent *string
	var raw string
	if err := r.Scan(&row.ID, &row.ETag, &lm, &parent, &raw); err != nil {
		return row, err
	}
	row.LastModified = utc(lm)
	if parent != nil {
		row.ParentID = *parent
	}
	row.Raw = json.RawMessage(raw)
	return row, nil
}

func collectReplicaRows(rows pgx.Rows) ([]store.ReplicaRow, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.ReplicaRow, error) { return scanReplicaRow(r) })
}

// ReplicaGet implements store.ReplicaStore. A missing row, or a set without a table,
// yields store.ErrNotFound.
func (db *DB) ReplicaGet(ctx context.Context, key store.ReplicaKey, id string) (store.ReplicaRow, error) {
	table, scope, ok, err := db.replicaScope(ctx, key)
	if err != nil {
		return store.ReplicaRow{}, err
	}
	notFound := fmt.Errorf("%w: no %s row with id %q in company %s of connection %s", store.ErrNotFound, key.EntitySet, id, key.CompanyID, key.ConnectionID)
	if !ok {
		return store.ReplicaRow{}, notFound
	}
	row, err := scanReplicaRow(db.pool.QueryRow(ctx, `SELECT `+replicaRowColumns+` FROM `+quoteIdent(table)+`
		WHERE scope = $1 AND id = $2`, scope, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ReplicaRow{}, notFound
	}
	if err != nil {
		return store.ReplicaRow{}, fmt.Errorf("postgres: get %s row %s: %w", key.EntitySet, id, err)
	}
	return row, nil
}

// ReplicaList implements store.ReplicaStore. limit must be positive.
func (db *DB) ReplicaList(ctx context.Context, key store.ReplicaKey, after string, limit int) ([]store.ReplicaRow, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("%w: ReplicaList limit is %d; pass a positive page size", store.ErrInvalid, limit)
	}
	table, scope, ok, err := db.replicaScope(ctx, key)
	if err != nil || !ok {
		return nil, err
	}
	rows, err := db.pool.Query(ctx, `SELECT `+replicaRowColumns+` FROM `+quoteIdent(table)+`
		WHERE scope = $1 AND id > $2 ORDER BY id LIMIT $3`, scope, after, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: list %s rows: %w", key.EntitySet, err)
	}
	out, err := collectReplicaRows(rows)
	if err != nil {
		return nil, fmt.Errorf("postgres: list %s rows: %w", key.EntitySet, err)
	}
	return out, nil
}

// ReplicaCount implements store.ReplicaStore.
func (db *DB) ReplicaCount(ctx context.Context, key store.ReplicaKey) (int64, error) {
	table, scope, ok, err := db.replicaScope(ctx, key)
	if err != nil || !ok {
		return 0, err
	}
	var n int64
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM `+quoteIdent(table)+` WHERE scope = $1`, scope).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres: count %s rows: %w", key.EntitySet, err)
	}
	return n, nil
}

// Changes implements store.ReplicaStore. limit must be positive. A change is visible only
// once every change with a smaller Seq is (see ApplyBatch), so a follower that continues
// from the last Seq it read misses nothing.
func (db *DB) Changes(ctx context.Context, since int64, limit int) ([]store.Change, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("%w: Changes limit is %d; pass a positive page size", store.ErrInvalid, limit)
	}
	since = max(since, 0)
	// From the segment holding since+1 on (found through the primary key: segments are
	// contiguous); each holds at least one change, so limit segments are enough.
	rows, err := db.pool.Query(ctx, `SELECT b.first_seq, b.at, b.changes, s.connection_id, s.company_id, s.entity_set
		FROM change_batches AS b JOIN scopes AS s ON s.scope = b.scope
		WHERE b.first_seq >= coalesce((SELECT max(first_seq) FROM change_batches WHERE first_seq <= $1::bigint + 1), 0)
		ORDER BY b.first_seq LIMIT $2`, since, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: read change log: %w", err)
	}
	var out []store.Change
	var first int64
	var changes string
	var c store.Change
	_, err = pgx.ForEachRow(rows, []any{&first, &c.At, &changes, &c.ConnectionID, &c.CompanyID, &c.EntitySet}, func() error {
		c.At = c.At.UTC()
		var err error
		out, err = sqlstore.DecodeSegment(out, first, since, limit, []byte(changes), c)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: read change log: %w", err)
	}
	// Checked after the read: a prune committed before it shows here, one after it took
	// nothing this read needed.
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
