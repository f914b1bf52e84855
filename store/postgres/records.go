package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/bizzjoiner/bcconnector/bcschema"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/store/internal/sqlstore"
)

var filterOps = map[string]string{"eq": "IS NOT DISTINCT FROM", "ne": "IS DISTINCT FROM", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}

// ReplicaQuery implements store.RecordQuerier. Conditions compare the typed field columns
// of the replica's view (see ReplicaView): numbers as numbers, booleans as booleans, and
// strings, GUIDs and dates as the text BC sends, which sorts. eq and ne with a nil Value
// match NULL and not NULL.
func (db *DB) ReplicaQuery(ctx context.Context, key store.ReplicaKey, filters []store.FieldFilter, after string, limit int) ([]store.ReplicaRow, error) {
	return db.ReplicaQueryOrdered(ctx, key, filters, "", after, limit)
}

// ReplicaQueryOrdered implements store.RecordQuerier: ReplicaQuery in the order of the
// field column orderBy (NULLs first, ties by id), continued after the row with id after.
// Text compares in byte order (COLLATE "C"), as SQLite does, whatever the database's
// locale.
func (db *DB) ReplicaQueryOrdered(ctx context.Context, key store.ReplicaKey, filters []store.FieldFilter, orderBy, after string, limit int) ([]store.ReplicaRow, error) {
	if err := key.Validate(); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, fmt.Errorf("%w: ReplicaQuery limit is %d; pass a positive page size", store.ErrInvalid, limit)
	}
	_, ok, err := db.replicaTable(ctx, key.EntitySet)
	if err != nil || !ok {
		return nil, err
	}
	view, _ := ReplicaView(key.EntitySet)
	cols, err := db.viewColumnTypes(ctx, view)
	if err != nil {
		return nil, err
	}
	readable, err := db.readable(ctx, key)
	if err != nil {
		return nil, err
	}
	usable := func(field string) bool {
		_, ok := cols[field]
		return ok && field != "raw" && (readable(field) || slices.Contains(sqlstore.ReplicaKeyColumns, field))
	}
	var where strings.Builder
	args := []any{key.ConnectionID, key.CompanyID, after}
	for _, f := range filters {
		if !usable(f.Field) {
			return nil, fmt.Errorf("%w: filter field %q is not a field of %s", store.ErrInvalid, f.Field, key.EntitySet)
		}
		op, ok := filterOps[f.Op]
		if !ok {
			return nil, fmt.Errorf("%w: filter operator %q: use eq, ne, gt, ge, lt or le", store.ErrInvalid, f.Op)
		}
		if f.Value == nil && f.Op != "eq" && f.Op != "ne" {
			return nil, fmt.Errorf("%w: filter on %q: null only works with eq and ne", store.ErrInvalid, f.Field)
		}
		args = append(args, f.Value)
		where.WriteString(" AND " + quoteIdent(f.Field) + " " + op + " $" + strconv.Itoa(len(args)))
	}
	order, idAfter := "id", " AND id > $3"
	if orderBy != "" {
		if !usable(orderBy) {
			return nil, fmt.Errorf("%w: order field %q is not a field of %s", store.ErrInvalid, orderBy, key.EntitySet)
		}
		c := naturalKeyExpr(&bcschema.Field{Name: orderBy, Type: edmOfColumn(cols[orderBy])}, quoteIdent(orderBy))
		order, idAfter = c+" NULLS FIRST, id", " AND $3::text IS NOT NULL"
		if after != "" {
			// The position is the previous page's last row: its value, bound as a
			// parameter.
			var v any
			err := db.pool.QueryRow(ctx, `SELECT `+quoteIdent(orderBy)+` FROM `+quoteIdent(view)+` WHERE connection_id = $1 AND company_id = $2 AND id = $3`,
				key.ConnectionID, key.CompanyID, after).Scan(&v)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil, fmt.Errorf("%w: the record %s, where the previous page ended, is no longer in the replica of %s; start again from the first page", store.ErrInvalid, after, key.EntitySet)
			}
			if err != nil {
				return nil, fmt.Errorf("postgres: query %s rows: %w", key.EntitySet, err)
			}
			if v == nil {
				where.WriteString(` AND ((` + c + ` IS NULL AND id > $3) OR ` + c + ` IS NOT NULL)`)
			} else {
				// NULL values (they come first) are left out.
				args = append(args, v)
				n := "$" + strconv.Itoa(len(args))
				where.WriteString(` AND ` + c + ` >= ` + n + ` AND (` + c + ` > ` + n + ` OR id > $3)`)
			}
		}
	}
	args = append(args, limit)
	rows, err := db.pool.Query(ctx, `SELECT `+replicaRowColumns+` FROM `+quoteIdent(view)+`
		WHERE connection_id = $1 AND company_id = $2`+idAfter+where.String()+` ORDER BY `+order+` LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: query %s rows: %w", key.EntitySet, err)
	}
	out, err := collectReplicaRows(rows)
	if err != nil {
		return nil, fmt.Errorf("postgres: query %s rows: %w", key.EntitySet, err)
	}
	return out, nil
}

// viewColumnTypes returns the columns of a view in the current schema with their SQL
// types (data_type).
func (db *DB) viewColumnTypes(ctx context.Context, view string) (map[string]string, error) {
	rows, err := db.pool.Query(ctx, `SELECT column_name, data_type FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = $1`, view)
	if err != nil {
		return nil, fmt.Errorf("postgres: columns of %s: %w", view, err)
	}
	out := map[string]string{}
	var name, typ string
	if _, err := pgx.ForEachRow(rows, []any{&name, &typ}, func() error {
		out[name] = typ
		return nil
	}); err != nil {
		return nil, fmt.Errorf("postgres: columns of %s: %w", view, err)
	}
	return out, nil
}
