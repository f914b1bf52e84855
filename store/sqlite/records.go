package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/store/internal/sqlstore"
)

var filterOps = map[string]string{"eq": "=", "ne": "IS NOT", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}

// ReplicaQuery implements store.RecordQuerier. Conditions compare the field columns of
// the replica's view (see ReplicaView), so "amount gt 100" compares numbers and dates
// compare as the text BC sends, which sorts. eq with a nil Value matches NULL.
func (db *DB) ReplicaQuery(ctx context.Context, key store.ReplicaKey, filters []store.FieldFilter, after string, limit int) ([]store.ReplicaRow, error) {
	return db.ReplicaQueryOrdered(ctx, key, filters, "", after, limit)
}

// ReplicaQueryOrdered implements store.RecordQuerier: ReplicaQuery in the order of the
// field column orderBy (NULLs first, ties by id), continued after the row with id after.
// Text compares as SQLite's BINARY collation (byte order).
func (db *DB) ReplicaQueryOrdered(ctx context.Context, key store.ReplicaKey, filters []store.FieldFilter, orderBy, after string, limit int) ([]store.ReplicaRow, error) {
	if err := key.Validate(); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, fmt.Errorf("%w: ReplicaQuery limit is %d; pass a positive page size", store.ErrInvalid, limit)
	}
	rowsTable, ok, err := db.replicaTable(ctx, db.read, key.EntitySet)
	if err != nil || !ok {
		return nil, err
	}
	table, _ := ReplicaView(key.EntitySet) // the view: key columns and one column per field
	cols, err := db.columns(ctx, table)
	if err != nil {
		return nil, err
	}
	readable, err := db.readable(ctx, key)
	if err != nil {
		return nil, err
	}
	var where strings.Builder
	args := []any{key.ConnectionID, key.CompanyID, after}
	for _, f := range filters {
		col, ok := cols[strings.ToLower(f.Field)]
		if !ok || col == "raw" || !readable(col) && !isKeyColumn(col) {
			return nil, fmt.Errorf("%w: filter field %q is not a field of %s", store.ErrInvalid, f.Field, key.EntitySet)
		}
		op, ok := filterOps[f.Op]
		if !ok {
			return nil, fmt.Errorf("%w: filter operator %q: use eq, ne, gt, ge, lt or le", store.ErrInvalid, f.Op)
		}
		v := f.Value
		if b, isBool := v.(bool); isBool {
			v = 0
			if b {
				v = 1
			}
		}
		switch {
		case f.Op == "eq":
			op = "IS" // IS compares NULL too
		case f.Op == "ne":
		case v == nil:
			return nil, fmt.Errorf("%w: filter on %q: null only works with eq and ne", store.ErrInvalid, f.Field)
		}
		where.WriteString(" AND " + quoteIdent(col) + " " + op + " ?")
		args = append(args, v)
	}
	order := "id"
	if orderBy != "" {
		col, ok := cols[strings.ToLower(orderBy)]
		if !ok || col == "raw" || !readable(col) && !isKeyColumn(col) {
			return nil, fmt.Errorf("%w: order field %q is not a field of %s", store.ErrInvalid, orderBy, key.EntitySet)
		}
		if err := db.orderIndex(ctx, rowsTable, col); err != nil {
			return nil, err
		}
		c := quoteIdent(col)
		order = c + ", id" // SQLite puts NULLs first; the index has this order
		args[2] = ""       // the position below replaces "id > after"
		if after != "" {
			// The position is the previous page's last row: its value, bound as a
			// parameter so that SQLite seeks in the natural key's index.
			var v any
			err := db.read.QueryRowContext(ctx, `SELECT `+c+` FROM `+quoteIdent(table)+` WHERE connection_id = ? AND company_id = ? AND id = ?`,
				key.ConnectionID, key.CompanyID, after).Scan(&v)
			if errors.Is(err, sql.ErrNoRows) {
				return nil, fmt.Errorf("%w: the record %s, where the previous page ended, is no longer in the replica of %s; start again from the first page", store.ErrInvalid, after, key.EntitySet)
			}
			if err != nil {
				return nil, fmt.Errorf("sqlite: query %s rows: %w", key.EntitySet, err)
			}
			if v == nil {
				where.WriteString(` AND ((` + c + ` IS NULL AND id > ?3) OR ` + c + ` IS NOT NULL)`)
			} else {
				// "c >= v" lets SQLite seek in the natural key's index (a row value
				// comparison does not); NULL values (they come first) are left out.
				args = append(args, v)
				n := "?" + strconv.Itoa(len(args))
				where.WriteString(` AND ` + c + ` >= ` + n + ` AND (` + c + ` > ` + n + ` OR id > ?3)`)
			}
			args[2] = after
		}
	}
	args = append(args, limit)
	idAfter := ` AND id > ?3`
	if orderBy != "" {
		idAfter = ` AND ?3 IS NOT NULL`
	}
	rows, err := db.read.QueryContext(ctx, `SELECT `+replicaRowColumns+` FROM `+quoteIdent(table)+`
		WHERE connection_id = ?1 AND company_id = ?2`+idAfter+where.String()+` ORDER BY `+order+` LIMIT ?`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: query %s rows: %w", key.EntitySet, err)
	}
	defer rows.Close()
	var out []store.ReplicaRow
	for rows.Next() {
		r, err := scanReplicaRow(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: query %s rows: %w", key.EntitySet, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// columns returns the columns of a table or view, keyed by lower-case
// name, since SQLite's column names are case-insensitive.
func (db *DB) columns(ctx context.Context, table string) (map[string]string, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT name FROM pragma_table_xinfo(?)`, table)
	if err != nil {
		return nil, fmt.Errorf("sqlite: columns of %s: %w", table, err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out[strings.ToLower(n)] = n
	}
	return out, rows.Err()
}

// orderIndex creates, the first time a set's rows are read in the order of a field, an
// index on that field with the view's expression, so that this and every later page is a
// seek in it instead of a sort of the whole set (a page of 100,000 G/L entries: 3 s
// without, 1–4 ms with; docs/BENCHMARKS.md). It is made on first use, not with the
// replica, because it costs every write of the set (a full sync of G/L entries about 45%
// more CPU per row), which only the sets people browse should pay.
func (db *DB) orderIndex(ctx context.Context, table, col string) error {
	name := table + "_by_" + col
	if _, ok := db.indexes.Load(name); ok {
		return nil
	}
	// The field is a view column (checked by the caller): an identifier, safe in the
	// JSON path literal.
	if _, err := db.write.ExecContext(ctx, "CREATE INDEX IF NOT EXISTS "+quoteIdent(name)+" ON "+quoteIdent(table)+
		" (scope, json_extract(raw, '$."+col+"'), id)"); err != nil {
		return fmt.Errorf("sqlite: index %s by %s: %w", table, col, err)
	}
	db.indexes.Store(name, true)
	return nil
}

// isKeyColumn reports whether col is a view column that is not a field (id, etag, …):
// those every key may filter by.
func isKeyColumn(col string) bool {
	return slices.Contains(sqlstore.ReplicaKeyColumns, strings.ToLower(col))
}
